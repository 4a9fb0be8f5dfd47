/*
 * test_lifecycle.c — a download job's life cycle through the C ABI (spec §2, §4.1–4.3):
 * defaults of a new job, Resume/Suspend/Complete/Cancel in the states where they are allowed
 * and refused, progress and times, the queue (enum_jobs, get_job), suspend in the middle of a
 * file and resume, a missing source (ERROR and recovery), several jobs at once, and sources
 * whose names hold a space.
 *
 * Synchronisation is bg_job_wait or bounded polls (1 ms steps, 10 s limit); bg_test_hold stops a
 * transfer at an exact byte offset. File contents are checked byte for byte against a
 * non-repeating pattern (harness.h's splitmix64 pattern).
 */
#include "job_helpers.h"

#include <pthread.h>
#include <signal.h>

/* ---- 1. a new job, then a full life cycle ----------------------------------------------- */

static void test_full_cycle(void)
{
    section("new job: defaults");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    bg_guid id;
    memset(&id, 0, sizeof id);
    bg_job job = 0;
    int64_t before_create = wall_ms();
    REQUIRE_OK(bg_manager_create_job(m, "lifecycle", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    CHECK(job != 0);

    bg_guid id2;
    CHECK_OK(bg_job_get_id(job, &id2));
    CHECK(guid_eq(&id, &id2));
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);
    bg_job_type type = -1;
    CHECK_OK(bg_job_get_type(job, &type));
    CHECK_EQ_INT(type, BG_JOB_TYPE_DOWNLOAD);
    bg_job_priority prio = -1;
    CHECK_OK(bg_job_get_priority(job, &prio));
    CHECK_EQ_INT(prio, BG_JOB_PRIORITY_NORMAL);
    uint32_t u = 0;
    CHECK_OK(bg_job_get_notify_flags(job, &u));
    CHECK_EQ_INT(u, 0x3);
    CHECK_OK(bg_job_get_minimum_retry_delay(job, &u));
    CHECK_EQ_INT(u, 600);
    CHECK_OK(bg_job_get_no_progress_timeout(job, &u));
    CHECK_EQ_INT(u, 1209600);
    CHECK_OK(bg_job_get_maximum_download_time(job, &u));
    CHECK_EQ_INT(u, 7776000);
    u = 99;
    CHECK_OK(bg_job_get_file_count(job, &u));
    CHECK_EQ_INT(u, 0);
    CHECK_OK(bg_job_get_error_count(job, &u));
    CHECK_EQ_INT(u, 0);

    bg_job_progress jp;
    memset(&jp, 0xEE, sizeof jp);
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, 0);
    CHECK_EQ_U64(jp.bytes_transferred, 0);
    CHECK_EQ_INT(jp.files_total, 0);
    CHECK_EQ_INT(jp.files_transferred, 0);

    bg_job_times t0;
    memset(&t0, 0xEE, sizeof t0);
    CHECK_OK(bg_job_get_times(job, &t0));
    CHECK(t0.creation_time > 0);
    CHECK_EQ_INT(t0.creation_time, t0.modification_time);
    CHECK_EQ_INT(t0.transfer_completion_time, 0);
    /* Unix milliseconds (not seconds, not FILETIME): within a day of the wall clock. */
    CHECK_MSG(t0.creation_time >= before_create - 86400000 &&
                  t0.creation_time <= wall_ms() + 86400000,
              "creation_time %" PRId64 " is not Unix ms near %" PRId64, t0.creation_time,
              before_create);

    bg_job_error err;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &err, NULL, 0, NULL));

    /* A job that never settles: the wait times out with S_FALSE and the current state. */
    bg_job_state st = -1;
    CHECK_HR(S_FALSE, bg_job_wait(job, 20, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_SUSPENDED);

    section("resume without files");
    CHECK_HR(BG_E_EMPTY, bg_job_resume(job));
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);
    /* Suspend while SUSPENDED is a no-op. */
    CHECK_OK(bg_job_suspend(job));
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);

    section("add files");
    char dir[1200], src[3][1300], dst[3][1300], url[1400];
    subdir(dir, sizeof dir, "cycle");
    static const uint64_t sizes[3] = {3 * MIB + 123, 5 * MIB - 7, 1000};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "src%d.bin", i);
        REQUIRE(path_join(src[i], sizeof src[i], dir, name) != NULL);
        snprintf(name, sizeof name, "dst%d.bin", i);
        REQUIRE(path_join(dst[i], sizeof dst[i], dir, name) != NULL);
        REQUIRE(make_pattern_file(src[i], sizes[i], 100 + (uint64_t)i) == 0);
    }
    /* file:///abs, a plain absolute path, and file:// again. */
    REQUIRE(file_url(url, sizeof url, src[0]) != NULL);
    CHECK_OK(bg_job_add_file(job, url, dst[0]));
    CHECK_OK(bg_job_add_file(job, src[1], dst[1]));
    REQUIRE(file_url(url, sizeof url, src[2]) != NULL);
    CHECK_OK(bg_job_add_file(job, url, dst[2]));
    CHECK_OK(bg_job_get_file_count(job, &u));
    CHECK_EQ_INT(u, 3);

    for (uint32_t i = 0; i < 3; i++) {
        bg_file_progress fp;
        memset(&fp, 0xEE, sizeof fp);
        CHECK_OK(bg_job_get_file_progress(job, i, &fp));
        CHECK_EQ_U64(fp.bytes_total, BG_SIZE_UNKNOWN);
        CHECK_EQ_U64(fp.bytes_transferred, 0);
        CHECK_EQ_INT(fp.completed, 0);
    }
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(jp.bytes_transferred, 0);
    CHECK_EQ_INT(jp.files_total, 3);
    CHECK_EQ_INT(jp.files_transferred, 0);
    bg_job_times t1;
    CHECK_OK(bg_job_get_times(job, &t1));
    CHECK_EQ_INT(t1.creation_time, t0.creation_time);
    CHECK(t1.modification_time >= t0.modification_time);
    CHECK_EQ_INT(t1.transfer_completion_time, 0);
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);

    section("resume to TRANSFERRED");
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    uint64_t total = sizes[0] + sizes[1] + sizes[2];
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, total);
    CHECK_EQ_U64(jp.bytes_transferred, total);
    CHECK_EQ_INT(jp.files_total, 3);
    CHECK_EQ_INT(jp.files_transferred, 3);
    for (uint32_t i = 0; i < 3; i++) {
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(job, i, &fp));
        CHECK_EQ_U64(fp.bytes_total, sizes[i]);
        CHECK_EQ_U64(fp.bytes_transferred, sizes[i]);
        CHECK_EQ_INT(fp.completed, 0);
        /* Nothing under the final name before Complete. */
        CHECK(!file_exists(dst[i]));
    }
    bg_job_times t2;
    CHECK_OK(bg_job_get_times(job, &t2));
    CHECK_EQ_INT(t2.creation_time, t0.creation_time);
    CHECK(t2.transfer_completion_time > 0);
    CHECK(t2.transfer_completion_time >= t2.creation_time);
    CHECK(t2.modification_time >= t1.modification_time);
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &err, NULL, 0, NULL));
    CHECK_OK(bg_job_get_error_count(job, &u));
    CHECK_EQ_INT(u, 0);

    section("resume on TRANSFERRED");
    CHECK_OK(bg_job_resume(job)); /* nothing left to transfer: a no-op */
    CHECK_STATE(job, BG_JOB_STATE_TRANSFERRED);
    /* (Suspend on TRANSFERRED, then Resume: test_suspend_transferred, in its own manager.) */

    section("complete");
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_MSG(check_pattern_file(dst[i], sizes[i], 100 + (uint64_t)i),
                  "destination %u differs from its source", i);
        CHECK(files_equal(src[i], dst[i]));
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(job, i, &fp));
        CHECK_EQ_INT(fp.completed, 1);
        CHECK_EQ_U64(fp.bytes_total, sizes[i]);
        CHECK_EQ_U64(fp.bytes_transferred, sizes[i]);
    }
    CHECK_EQ_INT(count_temps(dir, 0), 0);

    section("the ended job");
    size_t n = 99;
    bg_guid ids[4];
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, 4, &n));
    CHECK_EQ_INT(n, 0);
    bg_job other = 0;
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &other));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_OK(bg_job_get_id(job, &id2));
    CHECK(guid_eq(&id, &id2));
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_transferred, total);
    CHECK_EQ_INT(jp.files_total, 3);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_resume(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_suspend(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_add_file(job, src[0], dst[0]));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_display_name(job, "late"));
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &err, NULL, 0, NULL));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    st = -1;
    CHECK_OK(bg_job_wait(job, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_ACKNOWLEDGED);
    /* Destinations were not touched by the refused calls. */
    for (uint32_t i = 0; i < 3; i++) CHECK(check_pattern_file(dst[i], sizes[i], 100 + (uint64_t)i));

    CHECK_OK(bg_job_release(job));
    CHECK_HR(E_HANDLE, bg_job_get_state(job, &st));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 2. the queue: enum_jobs and get_job ------------------------------------------------ */

static void test_enum_and_get(void)
{
    section("enum_jobs on an empty manager");
    char state_dir[1200];
    subdir(state_dir, sizeof state_dir, "state-enum");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state_dir, &m));

    size_t n = 99;
    CHECK_OK(bg_manager_enum_jobs(m, 0, NULL, 0, &n));
    CHECK_EQ_INT(n, 0);
    bg_guid ids[12];
    n = 99;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, 12, &n));
    CHECK_EQ_INT(n, 0);

    section("enum_jobs: count, buffer, order (distinct creation times)");
    enum { NJ = 3 };
    bg_guid g[NJ];
    bg_job j[NJ];
    for (int i = 0; i < NJ; i++) {
        bg_job_times t;
        char name[32];
        snprintf(name, sizeof name, "enum-%d", i);
        REQUIRE_OK(bg_manager_create_job(m, name, BG_JOB_TYPE_DOWNLOAD, &g[i], &j[i]));
        REQUIRE_OK(bg_job_get_times(j[i], &t));
        next_wall_ms(t.creation_time); /* the next job is strictly younger */
    }
    n = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(m, 0, NULL, 0, &n));
    CHECK_EQ_INT(n, NJ);
    memset(ids, 0xAB, sizeof ids);
    n = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(m, 0, ids, NJ - 1, &n));
    CHECK_EQ_INT(n, NJ);
    {
        int untouched = 1;
        const unsigned char *p = (const unsigned char *)ids;
        for (size_t k = 0; k < sizeof ids; k++)
            if (p[k] != 0xAB) untouched = 0;
        CHECK_MSG(untouched, "enum_jobs wrote into a too-small buffer");
    }
    n = 0;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, NJ, &n));
    CHECK_EQ_INT(n, NJ);
    for (int i = 0; i < NJ; i++) CHECK_MSG(guid_eq(&ids[i], &g[i]), "enum_jobs[%d] is not job %d", i, i);
    n = 0;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, 12, &n));
    CHECK_EQ_INT(n, NJ);
    for (int i = 0; i < NJ; i++) CHECK(guid_eq(&ids[i], &g[i]));

    section("enum_jobs: argument errors");
    CHECK_HR(E_INVALIDARG, bg_manager_enum_jobs(m, 1, ids, 12, &n));
    CHECK_HR(E_INVALIDARG, bg_manager_enum_jobs(m, 0, NULL, 3, &n));
    CHECK_HR(E_INVALIDARG, bg_manager_enum_jobs(m, 0, ids, 12, NULL));
    CHECK_HR(E_HANDLE, bg_manager_enum_jobs(0, 0, ids, 12, &n));

    section("get_job: a second working handle");
    bg_job h = 0;
    CHECK_OK(bg_manager_get_job(m, &g[1], &h));
    CHECK(h != 0);
    CHECK(h != j[1]);
    bg_guid gid;
    CHECK_OK(bg_job_get_id(h, &gid));
    CHECK(guid_eq(&gid, &g[1]));
    CHECK_OK(bg_job_set_display_name(h, "renamed through the second handle"));
    char buf[128];
    size_t need = 0;
    CHECK_OK(bg_job_get_display_name(j[1], buf, sizeof buf, &need));
    CHECK_STR(buf, "renamed through the second handle");
    CHECK_OK(bg_job_set_priority(j[1], BG_JOB_PRIORITY_LOW));
    bg_job_priority p = -1;
    CHECK_OK(bg_job_get_priority(h, &p));
    CHECK_EQ_INT(p, BG_JOB_PRIORITY_LOW);
    /* Releasing the second handle leaves the job and the first handle alone. */
    CHECK_OK(bg_job_release(h));
    bg_job_state st = -1;
    CHECK_HR(E_HANDLE, bg_job_get_state(h, &st));
    CHECK_STATE(j[1], BG_JOB_STATE_SUSPENDED);
    n = 0;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, 12, &n));
    CHECK_EQ_INT(n, NJ);
    bg_guid unknown;
    memset(&unknown, 0x42, sizeof unknown);
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &unknown, &h));
    CHECK_HR(E_INVALIDARG, bg_manager_get_job(m, NULL, &h));
    CHECK_HR(E_INVALIDARG, bg_manager_get_job(m, &g[0], NULL));

    section("enum_jobs after cancels");
    CHECK_OK(bg_job_cancel(j[0]));
    n = 0;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, 12, &n));
    CHECK_EQ_INT(n, NJ - 1);
    CHECK(guid_eq(&ids[0], &g[1]));
    CHECK(guid_eq(&ids[1], &g[2]));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &g[0], &h));
    for (int i = 1; i < NJ; i++) CHECK_OK(bg_job_cancel(j[i]));
    n = 99;
    CHECK_OK(bg_manager_enum_jobs(m, 0, NULL, 0, &n));
    CHECK_EQ_INT(n, 0);

    section("enum_jobs: oldest first for jobs created back to back");
    enum { NB = 8 };
    bg_guid gb[NB];
    bg_job jb[NB];
    for (int i = 0; i < NB; i++)
        REQUIRE_OK(bg_manager_create_job(m, "burst", BG_JOB_TYPE_DOWNLOAD, &gb[i], &jb[i]));
    n = 0;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, 12, &n));
    CHECK_EQ_INT(n, NB);
    {
        int in_order = n == NB;
        for (int i = 0; in_order && i < NB; i++)
            if (!guid_eq(&ids[i], &gb[i])) in_order = 0;
        CHECK_MSG(in_order, "enum_jobs does not list jobs created within the same millisecond "
                            "in creation order (oldest first)");
    }
    for (int i = 0; i < NB; i++) {
        CHECK_OK(bg_job_cancel(jb[i]));
        CHECK_OK(bg_job_release(jb[i]));
    }
    for (int i = 0; i < NJ; i++) CHECK_OK(bg_job_release(j[i]));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 3. suspend in the middle of a file, resume ----------------------------------------- */

static void test_suspend_mid_transfer(void)
{
    section("suspend mid-transfer");
    char dir[1200], src[1300], dst[1300];
    subdir(dir, sizeof dir, "suspend");
    REQUIRE(path_join(src, sizeof src, dir, "src.bin") != NULL);
    REQUIRE(path_join(dst, sizeof dst, dir, "dst.bin") != NULL);
    const uint64_t size = 4 * MIB;
    REQUIRE(make_pattern_file(src, size, 7) == 0);

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "suspend", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_add_file(job, src, dst));
    CHECK_OK(bg_test_hold(job, 0, MIB));
    CHECK_OK(bg_job_resume(job));
    REQUIRE(wait_file_bytes(job, 0, MIB));
    CHECK_STATE(job, BG_JOB_STATE_TRANSFERRING);
    /* Resume while transferring: a no-op. */
    CHECK_OK(bg_job_resume(job));
    CHECK_STATE(job, BG_JOB_STATE_TRANSFERRING);

    CHECK_OK(bg_job_suspend(job));
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);
    bg_file_progress fp;
    CHECK_OK(bg_job_get_file_progress(job, 0, &fp));
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_U64(fp.bytes_transferred, MIB);
    CHECK_EQ_INT(fp.completed, 0);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, size);
    CHECK_EQ_U64(jp.bytes_transferred, MIB);
    CHECK_EQ_INT(jp.files_transferred, 0);
    /* The bytes so far are kept in the temp file. */
    char temp[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(job, 0, temp, sizeof temp, &need));
    CHECK_MSG(check_pattern_file(temp, MIB, 7), "the temp file does not hold the first MiB");
    CHECK(!file_exists(dst));
    /* Still suspended (a wait would time out); the transfer does not move on its own. */
    bg_job_state st = -1;
    CHECK_HR(S_FALSE, bg_job_wait(job, 20, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_SUSPENDED);

    section("resume continues");
    /* Hold again at 2 MiB: the file must get there without starting over below 1 MiB. */
    CHECK_OK(bg_test_hold(job, 0, 2 * MIB));
    CHECK_OK(bg_job_resume(job));
    uint64_t lowest = UINT64_MAX, deadline = now_ms() + WAIT_MS;
    int reached = 0;
    while (now_ms() <= deadline) {
        if (bg_job_get_file_progress(job, 0, &fp) == S_OK) {
            if (fp.bytes_transferred < lowest) lowest = fp.bytes_transferred;
            if (fp.bytes_transferred == 2 * MIB) {
                reached = 1;
                break;
            }
        }
        sleep_ms(1);
    }
    CHECK(reached);
    CHECK_MSG(lowest >= MIB, "the resumed transfer went back to %" PRIu64 " bytes", lowest);
    CHECK_OK(bg_test_release_hold(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, size);
    CHECK_EQ_U64(jp.bytes_transferred, size);
    CHECK_EQ_INT(jp.files_transferred, 1);
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(check_pattern_file(dst, size, 7), "the resumed file is not byte-identical");
    CHECK(files_equal(src, dst));
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 4. a missing source: ERROR, then recovery ------------------------------------------ */

static void test_missing_source(void)
{
    section("missing source -> ERROR");
    char dir[1200], src[1300], dst[1300], url[1400];
    subdir(dir, sizeof dir, "missing");
    REQUIRE(path_join(src, sizeof src, dir, "not-there-yet.bin") != NULL);
    REQUIRE(path_join(dst, sizeof dst, dir, "dst.bin") != NULL);
    REQUIRE(file_url(url, sizeof url, src) != NULL);

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "missing", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_add_file(job, url, dst)); /* the source is not looked at by AddFile */
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_ERROR);

    bg_job_error err;
    memset(&err, 0xEE, sizeof err);
    CHECK_OK(bg_job_get_error(job, &err, NULL, 0, NULL));
    CHECK_EQ_INT(err.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    /* The library maps ENOENT to HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) (src/hresult.rs). */
    CHECK_HR(BG_E_WIN32_PATH_NOT_FOUND, err.code);
    CHECK_EQ_INT(err.file_index, 0);
    char desc[4096];
    size_t need = 0;
    memset(&err, 0xEE, sizeof err);
    CHECK_OK(bg_job_get_error(job, &err, desc, sizeof desc, &need));
    CHECK_EQ_INT(err.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    CHECK_EQ_U64(need, strlen(desc) + 1);
    CHECK_MSG(strstr(desc, src) != NULL, "error description \"%s\" does not name %s", desc, src);
    uint32_t count = 0;
    CHECK_OK(bg_job_get_error_count(job, &count));
    CHECK_EQ_INT(count, 1);
    CHECK(!file_exists(dst));
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    /* Still in the queue. */
    bg_guid id;
    bg_job again = 0;
    CHECK_OK(bg_job_get_id(job, &id));
    CHECK_OK(bg_manager_get_job(m, &id, &again));
    if (again != 0) CHECK_OK(bg_job_release(again));

    section("create the source, resume -> TRANSFERRED");
    const uint64_t size = 2 * MIB + 5;
    REQUIRE(make_pattern_file(src, size, 55) == 0);
    CHECK_OK(bg_job_resume(job));
    /* Resume clears the error object. */
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &err, NULL, 0, NULL));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &err, NULL, 0, NULL));
    CHECK_OK(bg_job_get_error_count(job, &count));
    CHECK_EQ_INT(count, 1); /* never reset */
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(check_pattern_file(dst, size, 55), "destination differs from the source");
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 5. three jobs transferring at once -------------------------------------------------- */

static void test_concurrent_jobs(void)
{
    section("three jobs at once");
    enum { NJ = 3 };
    char dir[1200], src[NJ][1300], dst[NJ][1300];
    subdir(dir, sizeof dir, "concurrent");
    const uint64_t size = 3 * MIB + 11;
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    uint64_t opt = 0;
    CHECK_OK(bg_manager_get_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &opt));
    CHECK_EQ_U64(opt, 4);

    bg_job j[NJ];
    for (int i = 0; i < NJ; i++) {
        char name[64];
        snprintf(name, sizeof name, "src%d.bin", i);
        REQUIRE(path_join(src[i], sizeof src[i], dir, name) != NULL);
        snprintf(name, sizeof name, "dst%d.bin", i);
        REQUIRE(path_join(dst[i], sizeof dst[i], dir, name) != NULL);
        REQUIRE(make_pattern_file(src[i], size, 300 + (uint64_t)i) == 0);
        REQUIRE_OK(bg_manager_create_job(m, "concurrent", BG_JOB_TYPE_DOWNLOAD, NULL, &j[i]));
        CHECK_OK(bg_job_add_file(j[i], src[i], dst[i]));
        /* Each job stops at 1 MiB: all three can get there only if they run side by side
         * (the default allows 4 background transfers at once). */
        CHECK_OK(bg_test_hold(j[i], 0, MIB));
    }
    for (int i = 0; i < NJ; i++) CHECK_OK(bg_job_resume(j[i]));
    for (int i = 0; i < NJ; i++) {
        CHECK_MSG(wait_file_bytes(j[i], 0, MIB), "job %d never reached 1 MiB while the others "
                                                 "were held",
                  i);
        CHECK_STATE(j[i], BG_JOB_STATE_TRANSFERRING);
    }
    for (int i = 0; i < NJ; i++) CHECK_OK(bg_test_release_hold(j[i]));
    for (int i = 0; i < NJ; i++) WAIT_STATE(j[i], BG_JOB_STATE_TRANSFERRED);
    for (int i = 0; i < NJ; i++) {
        CHECK_OK(bg_job_complete(j[i]));
        CHECK_STATE(j[i], BG_JOB_STATE_ACKNOWLEDGED);
        CHECK_MSG(check_pattern_file(dst[i], size, 300 + (uint64_t)i), "job %d's file differs", i);
        CHECK_OK(bg_job_release(j[i]));
    }
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_manager_close(m));
}

/* ---- 6. sources with a space in the name ------------------------------------------------ */

static void test_space_in_name(void)
{
    section("space in the source name");
    char dir[1200], src[1300], dst0[1300], dst1[1300], url0[1400], url1[1400];
    subdir(dir, sizeof dir, "with space");
    REQUIRE(path_join(src, sizeof src, dir, "my source file.bin") != NULL);
    REQUIRE(path_join(dst0, sizeof dst0, dir, "copy one.bin") != NULL);
    REQUIRE(path_join(dst1, sizeof dst1, dir, "copy two.bin") != NULL);
    const uint64_t size = MIB + 333;
    REQUIRE(make_pattern_file(src, size, 77) == 0);

    /* "file://" + the native path, space and all. */
    REQUIRE(file_url(url0, sizeof url0, src) != NULL);
    /* The same path percent-encoded: every space becomes %20. */
    {
        size_t o = 0;
        o += (size_t)snprintf(url1, sizeof url1, "file://");
        for (const char *p = src; *p && o + 4 < sizeof url1; p++) {
            if (*p == ' ') {
                memcpy(url1 + o, "%20", 3);
                o += 3;
            } else {
                url1[o++] = *p;
            }
        }
        url1[o] = '\0';
    }
    CHECK(strchr(url1, ' ') == NULL);

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "spaces", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_add_file(job, url0, dst0));
    CHECK_OK(bg_job_add_file(job, url1, dst1));
    char buf[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_remote_name(job, 0, buf, sizeof buf, &need));
    CHECK_STR(buf, url0);
    CHECK_OK(bg_job_get_file_remote_name(job, 1, buf, sizeof buf, &need));
    CHECK_STR(buf, url1);
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    bg_job_error err;
    if (bg_job_get_error(job, &err, buf, sizeof buf, &need) == S_OK)
        fprintf(stderr, "    job error: context %d code 0x%08" PRIX32 " file %u: %s\n", err.context,
                (uint32_t)err.code, err.file_index, buf);
    CHECK_OK(bg_job_complete(job));
    CHECK_MSG(check_pattern_file(dst0, size, 77), "file:// + native path: copy differs");
    CHECK_MSG(check_pattern_file(dst1, size, 77), "percent-encoded file URL: copy differs");
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 7. Suspend on TRANSFERRED, then Resume ------------------------------------------- */

/* In its own manager, last, and on a helper thread (run_bounded): a library that hangs here
 * takes its engine down with it, and the hang is reported as a failure of the step named by
 * section(). */
static void test_suspend_transferred(void)
{
    section("suspend on TRANSFERRED: transfer");
    char dir[1200], src[2][1300], dst[2][1300];
    subdir(dir, sizeof dir, "suspend-transferred");
    static const uint64_t sizes[2] = {2 * MIB + 9, 3};
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "suspend-transferred", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "src%d.bin", i);
        REQUIRE(path_join(src[i], sizeof src[i], dir, name) != NULL);
        snprintf(name, sizeof name, "dst%d.bin", i);
        REQUIRE(path_join(dst[i], sizeof dst[i], dir, name) != NULL);
        REQUIRE(make_pattern_file(src[i], sizes[i], 900 + (uint64_t)i) == 0);
        CHECK_OK(bg_job_add_file(job, src[i], dst[i]));
    }
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    bg_job_times t1;
    CHECK_OK(bg_job_get_times(job, &t1));

    section("suspend on TRANSFERRED: suspend");
    CHECK_OK(bg_job_suspend(job));
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, sizes[0] + sizes[1]);
    CHECK_EQ_U64(jp.bytes_transferred, sizes[0] + sizes[1]);
    CHECK_EQ_INT(jp.files_transferred, 2);
    for (int i = 0; i < 2; i++) CHECK(!file_exists(dst[i]));

    /* Resume: every file is already transferred, so the job goes straight back. */
    section("suspend on TRANSFERRED: resume");
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, sizes[0] + sizes[1]);
    CHECK_EQ_U64(jp.bytes_transferred, sizes[0] + sizes[1]);
    CHECK_EQ_INT(jp.files_transferred, 2);
    bg_job_times t2;
    CHECK_OK(bg_job_get_times(job, &t2));
    CHECK(t2.transfer_completion_time >= t1.transfer_completion_time);

    section("suspend on TRANSFERRED: complete");
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 2; i++)
        CHECK_MSG(check_pattern_file(dst[i], sizes[i], 900 + (uint64_t)i), "file %d differs", i);
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    section("suspend on TRANSFERRED: close");
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* Runs fn on a helper thread; if it has not finished after timeout_s, reports the hang with
 * the section it was in and goes on without it. */
struct bounded_ {
    void (*fn)(void);
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *bounded_thread_(void *arg)
{
    struct bounded_ *b = (struct bounded_ *)arg;
    b->fn();
    pthread_mutex_lock(&b->mu);
    b->done = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void run_bounded(void (*fn)(void), unsigned timeout_s)
{
    static struct bounded_ b; /* static: a hung thread keeps using it */
    b.fn = fn;
    b.done = 0;
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, bounded_thread_, &b) == 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_s;
    pthread_mutex_lock(&b.mu);
    while (!b.done) {
        if (pthread_cond_timedwait(&b.cv, &b.mu, &dl) == ETIMEDOUT) break;
    }
    int done = b.done;
    pthread_mutex_unlock(&b.mu);
    if (done) {
        pthread_join(th, NULL);
    } else {
        harness_fail_(__FILE__, __LINE__, "hang: no progress for %u s in section \"%s\" "
                      "(a library call never returned); going on without it", timeout_s,
                      g_section);
        pthread_detach(th);
    }
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);

    test_full_cycle();
    test_enum_and_get();
    test_suspend_mid_transfer();
    test_missing_source();
    test_concurrent_jobs();
    test_space_in_name();
    run_bounded(test_suspend_transferred, 30);

    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_root);
    TEST_MAIN_END();
}
