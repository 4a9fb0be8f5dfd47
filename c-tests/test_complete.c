/*
 * test_complete.c — bg_job_complete per the two seed pages and spec §2.4: all files done →
 * S_OK; Complete while file 3 of 5 transfers keeps files 1–2 (BG_S_PARTIAL_COMPLETE); Complete
 * with nothing transferred; an empty job; a rename that fails (the job stays TRANSFERRED, the
 * files renamed so far stay, Complete again once fixed); an existing destination replaced
 * atomically; a symlink planted at the destination replaced, not followed; Complete in the
 * final states refused.
 */
#include "job_helpers.h"

#include <dirent.h>
#include <signal.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static int file_completed(bg_job job, uint32_t i)
{
    bg_file_progress fp;
    if (bg_job_get_file_progress(job, i, &fp) != S_OK) return -1;
    return fp.completed;
}

/* ---- 1. everything transferred → S_OK ---------------------------------------------------- */

static void test_all_done(bg_manager m)
{
    section("all files transferred -> S_OK");
    struct fixture fx;
    const uint64_t sizes[3] = {2 * MIB + 1, 0, 3 * MIB - 1};
    fixture_make(&fx, m, "all-done", 3, sizes, 10);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    for (int i = 0; i < fx.nfiles; i++) CHECK(!file_exists(fx.dst[i]));
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < fx.nfiles; i++) {
        CHECK_MSG(dst_ok(&fx, i), "file %d differs", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 1);
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    bg_guid id;
    bg_job h = 0;
    CHECK_OK(bg_job_get_id(fx.job, &id));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &h));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 2. Complete while file 3 of 5 transfers ---------------------------------------------- */

static void test_partial_mid_transfer(bg_manager m)
{
    section("complete while file 3 of 5 transfers -> BG_S_PARTIAL_COMPLETE");
    struct fixture fx;
    const uint64_t sizes[5] = {2 * MIB + 3, MIB + 5, 4 * MIB + 7, 2 * MIB, MIB - 9};
    fixture_make(&fx, m, "partial", 5, sizes, 20);
    const uint64_t hold_at = MIB + 4099;
    CHECK_OK(bg_test_hold(fx.job, 2, hold_at));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 2, hold_at));
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRING);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(fx.job, &jp));
    CHECK_EQ_INT(jp.files_total, 5);
    CHECK_EQ_INT(jp.files_transferred, 2);
    CHECK_EQ_U64(jp.bytes_transferred, sizes[0] + sizes[1] + hold_at);
    for (uint32_t i = 0; i < 2; i++) {
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(fx.job, i, &fp));
        CHECK_EQ_U64(fp.bytes_transferred, sizes[i]);
        CHECK_EQ_U64(fp.bytes_total, sizes[i]);
    }
    char temp2[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 2, temp2, sizeof temp2, &need));
    CHECK(file_exists(temp2));

    bg_hresult hr = call_under_hold(bg_job_complete, fx.job);
    CHECK_HR(BG_S_PARTIAL_COMPLETE, hr);
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_OK(bg_test_release_hold(fx.job)); /* the transfer is gone; nothing may resume */
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(dst_ok(&fx, i), "kept file %d differs from its source", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 1);
    }
    for (int i = 2; i < 5; i++) {
        CHECK_MSG(!file_exists(fx.dst[i]), "discarded file %d exists at its destination", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 0);
    }
    CHECK(!file_exists(temp2));
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    /* Sources untouched. */
    for (int i = 0; i < 5; i++)
        CHECK(check_pattern_file(fx.src[i], fx.size[i], fx.seed[i]));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 3. nothing transferred; no files ---------------------------------------------------- */

static void test_nothing_transferred(bg_manager m)
{
    section("complete a SUSPENDED job with nothing transferred -> BG_S_PARTIAL_COMPLETE");
    struct fixture fx;
    const uint64_t sizes[2] = {MIB, 17};
    fixture_make(&fx, m, "nothing", 2, sizes, 30);
    CHECK_STATE(fx.job, BG_JOB_STATE_SUSPENDED);
    CHECK_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 2; i++) {
        CHECK(!file_exists(fx.dst[i]));
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 0);
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_OK(bg_job_release(fx.job));

    section("complete a job with no files -> S_OK");
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "empty", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- 4. a rename that fails ------------------------------------------------------------ */

static void test_rename_failure(bg_manager m)
{
    section("rename failure: a directory at file 1's destination");
    struct fixture fx;
    const uint64_t sizes[3] = {MIB + 1, 2 * MIB + 2, 3};
    fixture_make(&fx, m, "rename-fail", 3, sizes, 40);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    bg_job_times t_before;
    CHECK_OK(bg_job_get_times(fx.job, &t_before));

    /* The directory holds a file so that nothing could replace it by mistake. */
    char inner[1400];
    REQUIRE(mkdir(fx.dst[1], 0700) == 0);
    REQUIRE(path_join(inner, sizeof inner, fx.dst[1], "inside.txt") != NULL);
    REQUIRE(write_file(inner, "keep me", 7) == 0);

    bg_hresult hr = bg_job_complete(fx.job);
    printf("    complete with a directory at the destination returned 0x%08" PRIX32 " (%s)\n",
           (uint32_t)hr, bg_hresult_message(hr));
    CHECK_MSG(BG_FAILED(hr), "complete succeeded although file 1 could not be renamed");
    CHECK_HR(BG_E_WIN32_DIRECTORY, hr); /* rename(2) → EISDIR */
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(file_completed(fx.job, 0), 1);
    CHECK_MSG(dst_ok(&fx, 0), "file 0 is not in place after the failed complete");
    CHECK_EQ_INT(file_completed(fx.job, 1), 0);
    {
        struct stat st;
        CHECK(lstat(fx.dst[1], &st) == 0 && S_ISDIR(st.st_mode));
        size_t len = 0;
        char *data = read_file(inner, &len);
        CHECK(data != NULL && len == 7 && memcmp(data, "keep me", 7) == 0);
        free(data);
    }
    /* File 2 came after the failing one: whatever Complete did with it, "completed" must say
     * so truthfully. */
    {
        int c2 = file_completed(fx.job, 2);
        CHECK(c2 == 0 || c2 == 1);
        CHECK_MSG(c2 == (file_exists(fx.dst[2]) ? 1 : 0),
                  "file 2: completed=%d but the destination %s", c2,
                  file_exists(fx.dst[2]) ? "exists" : "does not exist");
        if (c2 == 1) CHECK(dst_ok(&fx, 2));
        printf("    file 2 (after the failing one) completed=%d\n", c2);
    }
    /* File 1's temp file is kept for the next Complete. */
    char temp1[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 1, temp1, sizeof temp1, &need));
    CHECK(check_pattern_file(temp1, fx.size[1], fx.seed[1]));
    /* The job stays in the queue. */
    bg_guid id;
    bg_job h = 0;
    CHECK_OK(bg_job_get_id(fx.job, &id));
    CHECK_OK(bg_manager_get_job(m, &id, &h));
    if (h != 0) CHECK_OK(bg_job_release(h));
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(fx.job, &jp));
    CHECK_EQ_INT(jp.files_transferred, 3);
    CHECK_EQ_U64(jp.bytes_transferred, sizes[0] + sizes[1] + sizes[2]);
    bg_job_error err;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(fx.job, &err, NULL, 0, NULL));

    section("rename failure fixed: complete again");
    REQUIRE(unlink(inner) == 0);
    REQUIRE(rmdir(fx.dst[1]) == 0);
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 3; i++) {
        CHECK_MSG(dst_ok(&fx, i), "file %d differs after the second complete", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 1);
    }
    CHECK(!file_exists(temp1));
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &h));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 5. what is at the destination beforehand ------------------------------------------ */

static void test_existing_destination(bg_manager m)
{
    section("an existing destination is replaced atomically");
    struct fixture fx;
    const uint64_t sizes[1] = {3 * MIB + 77};
    fixture_make(&fx, m, "replace", 1, sizes, 50);
    static const char old_text[] = "the old content of the destination\n";
    REQUIRE(write_file(fx.dst[0], old_text, sizeof old_text - 1) == 0);
    struct stat before;
    REQUIRE(stat(fx.dst[0], &before) == 0);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    /* Until Complete the old file is untouched. */
    {
        size_t len = 0;
        char *data = read_file(fx.dst[0], &len);
        CHECK(data != NULL && len == sizeof old_text - 1 && memcmp(data, old_text, len) == 0);
        free(data);
    }
    /* Someone has the old file open: a rename leaves their view intact (a truncate-and-write
     * would not). */
    int fd = open(fx.dst[0], O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(dst_ok(&fx, 0), "the destination does not hold the new content");
    struct stat after;
    REQUIRE(stat(fx.dst[0], &after) == 0);
    CHECK_MSG(after.st_ino != before.st_ino, "the destination was rewritten in place, not "
                                             "replaced by a rename");
    {
        char buf[128];
        ssize_t r = pread(fd, buf, sizeof buf, 0);
        CHECK_EQ_INT(r, (ssize_t)(sizeof old_text - 1));
        CHECK(r > 0 && memcmp(buf, old_text, (size_t)r) == 0);
    }
    close(fd);
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_OK(bg_job_release(fx.job));

    section("a symlink planted at the destination is replaced, not followed");
    const uint64_t sizes2[2] = {2 * MIB + 9, 4096};
    fixture_make(&fx, m, "symlink", 2, sizes2, 60);
    char victim[1300], victim2[1300];
    static const char victim_text[] = "victim: must never change\n";
    REQUIRE(path_join(victim, sizeof victim, fx.dir, "victim.txt") != NULL);
    REQUIRE(path_join(victim2, sizeof victim2, fx.dir, "victim2.txt") != NULL);
    REQUIRE(write_file(victim, victim_text, sizeof victim_text - 1) == 0);
    REQUIRE(write_file(victim2, victim_text, sizeof victim_text - 1) == 0);
    /* File 0: the link is there before the transfer starts; file 1: planted after it ended. */
    REQUIRE(symlink(victim, fx.dst[0]) == 0);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    REQUIRE(symlink(victim2, fx.dst[1]) == 0);
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        CHECK(lstat(fx.dst[i], &st) == 0 && S_ISREG(st.st_mode));
        CHECK_MSG(dst_ok(&fx, i), "file %d: the destination does not hold the download", i);
    }
    const char *victims[2] = {victim, victim2};
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        char *data = read_file(victims[i], &len);
        CHECK_MSG(data != NULL && len == sizeof victim_text - 1 &&
                      memcmp(data, victim_text, len) == 0,
                  "the symlink's target %s was written through", victims[i]);
        free(data);
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 6. other states ------------------------------------------------------------------- */

static void test_other_states(bg_manager m)
{
    section("complete on CANCELLED -> BG_E_INVALID_STATE");
    struct fixture fx;
    const uint64_t sizes[1] = {MIB};
    fixture_make(&fx, m, "cancelled", 1, sizes, 70);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK(!file_exists(fx.dst[0]));
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_OK(bg_job_release(fx.job));

    section("complete in ERROR keeps the finished files");
    const uint64_t sizes2[2] = {MIB + 2, MIB};
    fixture_make(&fx, m, "error-state", 2, sizes2, 80);
    /* File 1's source disappears before the transfer: the job stops in ERROR on it. */
    REQUIRE(unlink(fx.src[1]) == 0);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_ERROR);
    bg_job_error err;
    CHECK_OK(bg_job_get_error(fx.job, &err, NULL, 0, NULL));
    CHECK_EQ_INT(err.file_index, 1);
    CHECK_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK(dst_ok(&fx, 0));
    CHECK_EQ_INT(file_completed(fx.job, 0), 1);
    CHECK(!file_exists(fx.dst[1]));
    CHECK_EQ_INT(file_completed(fx.job, 1), 0);
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_OK(bg_job_release(fx.job));
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    test_all_done(m);
    test_partial_mid_transfer(m);
    test_nothing_transferred(m);
    test_rename_failure(m);
    test_existing_destination(m);
    test_other_states(m);

    section("close");
    CHECK_OK(bg_manager_close(m));
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_root);
    TEST_MAIN_END();
}
