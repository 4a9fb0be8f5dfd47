/*
 * test_cancel.c — bg_job_cancel (spec §2.5, header doc): Cancel in SUSPENDED, in the middle of
 * a transfer and after TRANSFERRED deletes the job's temp files and nothing else (a file that was
 * at the destination before stays, files an earlier Complete renamed stay); a second Cancel is
 * refused; a temp file that cannot be deleted gives BG_S_UNABLE_TO_DELETE_FILES.
 */
#include "job_helpers.h"

#include <signal.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static int file_has(const char *path, const char *text)
{
    size_t len = 0;
    char *data = read_file(path, &len);
    int ok = data != NULL && len == strlen(text) && memcmp(data, text, len) == 0;
    free(data);
    return ok;
}

/* The temp name of file i: S_FALSE and "" once it has none. */
#define CHECK_NO_TEMP_NAME(job, i)                                                    \
    do {                                                                              \
        char tn_[64];                                                                 \
        size_t need_ = 0;                                                             \
        memset(tn_, 'x', sizeof tn_);                                                 \
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name((job), (i), tn_, sizeof tn_, &need_)); \
        CHECK_EQ_INT(tn_[0], '\0');                                                   \
    } while (0)

static void check_ended(bg_manager m, bg_job job)
{
    bg_guid id;
    bg_job h = 0;
    CHECK_OK(bg_job_get_id(job, &id));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &h));
}

/* ---- 1. SUSPENDED, nothing transferred ------------------------------------------------- */

static void test_cancel_suspended(bg_manager m)
{
    section("cancel a SUSPENDED job with no transfer");
    struct fixture fx;
    const uint64_t sizes[2] = {MIB, 10};
    fixture_make(&fx, m, "suspended", 2, sizes, 10);
    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    bg_job_state st = -1;
    CHECK_OK(bg_job_wait(fx.job, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_CANCELLED);
    for (int i = 0; i < 2; i++) {
        CHECK(!file_exists(fx.dst[i]));
        CHECK(check_pattern_file(fx.src[i], fx.size[i], fx.seed[i]));
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    check_ended(m, fx.job);

    section("second cancel and other calls on CANCELLED");
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_resume(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_suspend(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_add_file(fx.job, fx.src[0], fx.dst[0]));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    bg_job_error err;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(fx.job, &err, NULL, 0, NULL));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 2. in the middle of a transfer ---------------------------------------------------- */

static void test_cancel_mid_transfer(bg_manager m)
{
    section("cancel mid-transfer");
    struct fixture fx;
    const uint64_t sizes[2] = {4 * MIB + 1, MIB};
    fixture_make(&fx, m, "mid", 2, sizes, 20);
    CHECK_OK(bg_test_hold(fx.job, 0, MIB));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 0, MIB));
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRING);
    char temp[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 0, temp, sizeof temp, &need));
    CHECK(file_exists(temp));
    CHECK_EQ_INT(count_temps(fx.dir, 0), 1);

    CHECK_OK(call_under_hold(bg_job_cancel, fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_OK(bg_test_release_hold(fx.job));
    CHECK_MSG(!file_exists(temp), "the temp file %s is still there after cancel", temp);
    CHECK(!file_exists(fx.dst[0]));
    CHECK(!file_exists(fx.dst[1]));
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_NO_TEMP_NAME(fx.job, 0);
    CHECK_NO_TEMP_NAME(fx.job, 1);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    check_ended(m, fx.job);
    CHECK_OK(bg_job_release(fx.job));

    section("cancel never deletes a file that was at the destination");
    static const char precious[] = "precious data that was here before the job\n";
    fixture_make(&fx, m, "pre-existing", 2, sizes, 30);
    REQUIRE(write_file(fx.dst[0], precious, sizeof precious - 1) == 0);
    REQUIRE(write_file(fx.dst[1], precious, sizeof precious - 1) == 0);
    CHECK_OK(bg_test_hold(fx.job, 0, 2 * MIB));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 0, 2 * MIB));
    CHECK(file_has(fx.dst[0], precious));
    CHECK_OK(call_under_hold(bg_job_cancel, fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_OK(bg_test_release_hold(fx.job));
    CHECK_MSG(file_has(fx.dst[0], precious), "cancel changed the file that was at destination 0");
    CHECK_MSG(file_has(fx.dst[1], precious), "cancel changed the file that was at destination 1");
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 3. after TRANSFERRED ------------------------------------------------------------- */

static void test_cancel_transferred(bg_manager m)
{
    section("cancel after TRANSFERRED");
    struct fixture fx;
    const uint64_t sizes[3] = {2 * MIB + 5, MIB, 0};
    fixture_make(&fx, m, "transferred", 3, sizes, 40);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    char temps[3][1400];
    for (uint32_t i = 0; i < 3; i++) {
        size_t need = 0;
        CHECK_OK(bg_job_get_file_temp_name(fx.job, i, temps[i], sizeof temps[i], &need));
        CHECK(check_pattern_file(temps[i], fx.size[i], fx.seed[i]));
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 3);
    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_MSG(!file_exists(temps[i]), "temp file of file %u left behind", i);
        CHECK_MSG(!file_exists(fx.dst[i]), "file %u appeared at its destination", i);
        CHECK_NO_TEMP_NAME(fx.job, i);
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    check_ended(m, fx.job);
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 4. after a Complete whose rename failed ------------------------------------------ */

static void test_cancel_after_failed_complete(bg_manager m)
{
    section("cancel after a failed complete keeps the renamed files");
    struct fixture fx;
    const uint64_t sizes[2] = {MIB + 3, 2 * MIB + 4};
    fixture_make(&fx, m, "failed-complete", 2, sizes, 50);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    char inner[1400];
    REQUIRE(mkdir(fx.dst[1], 0700) == 0);
    REQUIRE(path_join(inner, sizeof inner, fx.dst[1], "inside.txt") != NULL);
    REQUIRE(write_file(inner, "in the way", 10) == 0);
    char temp1[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 1, temp1, sizeof temp1, &need));

    bg_hresult hr = bg_job_complete(fx.job);
    CHECK_MSG(BG_FAILED(hr), "complete succeeded with a directory at destination 1");
    CHECK_HR(BG_E_WIN32_DIRECTORY, hr);
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    bg_file_progress fp;
    CHECK_OK(bg_job_get_file_progress(fx.job, 0, &fp));
    CHECK_EQ_INT(fp.completed, 1);
    CHECK(dst_ok(&fx, 0));
    CHECK(file_exists(temp1));

    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_MSG(dst_ok(&fx, 0), "cancel removed or changed the file an earlier complete renamed");
    CHECK_OK(bg_job_get_file_progress(fx.job, 0, &fp));
    CHECK_EQ_INT(fp.completed, 1);
    CHECK_MSG(!file_exists(temp1), "cancel left file 1's temp file behind");
    {
        struct stat st;
        CHECK(lstat(fx.dst[1], &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(file_has(inner, "in the way"));
    }
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_OK(bg_job_release(fx.job));
    REQUIRE(unlink(inner) == 0);
    REQUIRE(rmdir(fx.dst[1]) == 0);
}

/* ---- 5. a temp file that cannot be deleted ------------------------------------------- */

static void test_unable_to_delete(bg_manager m)
{
    section("BG_S_UNABLE_TO_DELETE_FILES");
    struct fixture fx;
    const uint64_t sizes[1] = {4 * MIB};
    fixture_make(&fx, m, "undeletable", 1, sizes, 60);
    CHECK_OK(bg_test_hold(fx.job, 0, MIB));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 0, MIB));
    char temp[1400], moved[1500], inner[1500];
    size_t need = 0;
    REQUIRE_OK(bg_job_get_file_temp_name(fx.job, 0, temp, sizeof temp, &need));
    REQUIRE(snprintf(moved, sizeof moved, "%s.moved-away", temp) < (int)sizeof moved);
    REQUIRE(snprintf(inner, sizeof inner, "%s/occupant", temp) < (int)sizeof inner);
    /* Swap the temp file for a non-empty directory: unlink(2) on it fails (EISDIR). */
    REQUIRE(rename(temp, moved) == 0);
    REQUIRE(mkdir(temp, 0700) == 0);
    REQUIRE(write_file(inner, "x", 1) == 0);

    bg_hresult hr = call_under_hold(bg_job_cancel, fx.job);
    CHECK_HR(BG_S_UNABLE_TO_DELETE_FILES, hr);
    CHECK(BG_SUCCEEDED(hr));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_OK(bg_test_release_hold(fx.job));
    check_ended(m, fx.job);
    /* The directory was not removed, and the job still names what it could not delete. */
    {
        struct stat st;
        CHECK(lstat(temp, &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(file_has(inner, "x"));
        char name[1400];
        need = 0;
        CHECK_OK(bg_job_get_file_temp_name(fx.job, 0, name, sizeof name, &need));
        CHECK_STR(name, temp);
    }
    CHECK(!file_exists(fx.dst[0]));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_OK(bg_job_release(fx.job));

    /* Clean up by hand. */
    CHECK(unlink(inner) == 0);
    CHECK(rmdir(temp) == 0);
    CHECK(unlink(moved) == 0);
    CHECK_EQ_INT(count_temps(fx.dir, 0), 0);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    test_cancel_suspended(m);
    test_cancel_mid_transfer(m);
    test_cancel_transferred(m);
    test_cancel_after_failed_complete(m);
    test_unable_to_delete(m);

    section("close");
    CHECK_OK(bg_manager_close(m));
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_root);
    TEST_MAIN_END();
}
