/*
 * test_http_resume.c — resuming HTTP downloads (spec §6.2–6.4): a dropped or stalled body is
 * continued with `Range: bytes=N-` + `If-Range`, never spliced onto another version; a server
 * that ignores Range or a changed file restarts from 0; a 206 with another total restarts; 416
 * on a temp file that is already whole is success; a body shorter than its Content-Length
 * forever is never "transferred"; Suspend/Resume continues with a Range; redirects and the
 * redirect policies.
 */
#include "http_helpers.h"

static char g_dir[4096];

static char *local_path(char *buf, size_t cap, const char *name)
{
    REQUIRE(path_join(buf, cap, g_dir, name) != NULL);
    return buf;
}

#define MIB (1024u * 1024u)

/* Starts a one-file job on `url` into <dir>/<name>. */
static bg_job start_job(bg_manager m, const char *name, const char *url, uint32_t retry_s,
                        char *local, size_t cap)
{
    bg_job job = new_job(m, name, retry_s);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, cap, name)));
    REQUIRE_OK(bg_job_resume(job));
    return job;
}

static void finish_and_check(bg_job job, const char *local, uint64_t size, uint64_t seed,
                             uint64_t version)
{
    CHECK_OK(bg_job_complete(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(content_check_file(local, size, seed, version), "%s", local);
    CHECK_OK(bg_job_release(job));
}

/* ---- a dropped connection ---------------------------------------------------------------- */

static void drop_resumes(bg_manager m)
{
    const uint64_t size = 4 * MIB, n = 1000000;
    const char *path = "/data/4m/resume/drop";
    char url[512], local[4200];
    http_url(url, sizeof url, 0, "%s?seed=11&drop=%" PRIu64 "&drop_times=1", path, n);
    /* MinimumRetryDelay 1 s: long enough to look at the TRANSIENT_ERROR, then retried alone. */
    bg_job job = start_job(m, "drop", url, 1, local, sizeof local);
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    print_error("drop", job);
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK_HR(BG_E_CONNECTION_CLOSED, e.code);
    CHECK(e.context == BG_ERROR_CONTEXT_REMOTE_FILE ||
          e.context == BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    CHECK_EQ_INT(e.file_index, 0);
    CHECK(strstr(desc, path) != NULL);
    CHECK_EQ_INT(job_error_count(job), 1);
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);    /* learned from the first response */
    CHECK_EQ_U64(fp.bytes_transferred, n); /* everything before the drop is kept */

    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats st;
    http_stats_get(path, &st);
    REQUIRE(st.ok);
    printf("drop: %" PRIu64 " requests, %" PRIu64 " bytes served for %" PRIu64 "\n", st.requests,
           st.bytes, size);
    CHECK_EQ_U64(st.requests, 2);
    CHECK(st.bytes >= size && st.bytes <= size + MIB);
    CHECK_EQ_INT(st.n_ranges, 1);
    CHECK_STR(st.ranges[0], "1000000-");
    CHECK_EQ_INT(st.n_statuses, 2);
    CHECK_EQ_INT(st.statuses[0], 200);
    CHECK_EQ_INT(st.statuses[1], 206);
    char v[256];
    CHECK(http_stats_header(&st, "if-range", v, sizeof v));
    CHECK_STR(v, "\"11-0-4194304\""); /* the strong ETag */
    finish_and_check(job, local, size, 11, 0);
}

/* No ETag: If-Range carries the Last-Modified date. Neither validator: no resume at all (the
 * bytes cannot be vouched for), the file starts again from 0 without a Range. */
static void drop_validators(bg_manager m)
{
    const uint64_t size = 1536 * 1024, n = 600000;
    char url[512], local[4200], v[256];
    http_stats st;

    const char *p1 = "/data/1536k/resume/drop-lm";
    http_url(url, sizeof url, 0, "%s?seed=18&drop=%" PRIu64 "&drop_times=1&no_etag=1", p1, n);
    bg_job job = start_job(m, "drop-lm", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(p1, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 1);
    CHECK_STR(st.ranges[0], "600000-");
    CHECK(http_stats_header(&st, "if-range", v, sizeof v));
    CHECK_STR(v, "Wed, 01 Jan 2020 00:00:00 GMT");
    CHECK_EQ_U64(st.bytes, size);
    finish_and_check(job, local, size, 18, 0);

    const char *p2 = "/data/1536k/resume/drop-novalidator";
    http_url(url, sizeof url, 0,
             "%s?seed=19&drop=%" PRIu64 "&drop_times=1&no_etag=1&no_last_modified=1", p2, n);
    job = start_job(m, "drop-novalidator", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(p2, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 0);
    CHECK_EQ_U64(st.bytes, size + n);
    finish_and_check(job, local, size, 19, 0);

    /* Chunked: no size, so nothing to resume against: from 0 again. */
    const char *p3 = "/data/1536k/resume/drop-chunked";
    http_url(url, sizeof url, 0, "%s?seed=20&drop=%" PRIu64 "&drop_times=1&chunked=1", p3, n);
    job = start_job(m, "drop-chunked", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(p3, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 0);
    CHECK_EQ_U64(st.bytes, size + n);
    finish_and_check(job, local, size, 20, 0);
}

/* The server ignores Range: the 200 restarts the file from 0 (nothing spliced). */
static void ignore_range(bg_manager m)
{
    const uint64_t size = 2 * MIB, n = 700000;
    const char *path = "/data/2m/resume/ignore-range";
    char url[512], local[4200];
    http_url(url, sizeof url, 0, "%s?seed=12&drop=%" PRIu64 "&drop_times=1&ignore_range=1", path,
             n);
    bg_job job = start_job(m, "ignore-range", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 1); /* asked for the rest ... */
    CHECK_STR(st.ranges[0], "700000-");
    CHECK_EQ_INT(st.n_statuses, 2); /* ... got the whole file */
    CHECK_EQ_INT(st.statuses[1], 200);
    CHECK(st.bytes >= size + n);
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_U64(fp.bytes_transferred, size);
    finish_and_check(job, local, size, 12, 0);
}

/* The file changes between the requests: If-Range mismatches, the server sends the new version
 * whole with 200, and the result is the new version, never old bytes + new bytes. */
static void changed_source(bg_manager m)
{
    const uint64_t size = 2 * MIB, n = 900000;
    const char *path = "/data/2m/resume/changed";
    char url[512], local[4200];
    http_url(url, sizeof url, 0, "%s?seed=13&drop=%" PRIu64 "&drop_times=1&change_after=1", path,
             n);
    bg_job job = start_job(m, "changed", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 1);
    CHECK_STR(st.ranges[0], "900000-");
    char v[256];
    CHECK(http_stats_header(&st, "if-range", v, sizeof v));
    CHECK_STR(v, "\"13-0-2097152\""); /* the old version's ETag */
    CHECK_EQ_INT(st.n_statuses, 2);
    CHECK_EQ_INT(st.statuses[1], 200);
    CHECK_EQ_U64(st.bytes, size + n);
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_transferred, size);
    CHECK_OK(bg_job_complete(job));
    CHECK_MSG(content_check_file(local, size, 13, 1), "%s is not version 1", local);
    CHECK(server_verify(local, size, 13, 1));
    printf("(a mismatch expected next: the file is not version 0)\n");
    CHECK(!server_verify(local, size, 13, 0));
    bg_job_release(job);

    /* Same with a size change: the new, longer version whole. */
    const char *p2 = "/data/2m/resume/changed-size";
    http_url(url, sizeof url, 0,
             "%s?seed=21&drop=%" PRIu64 "&drop_times=1&change_after=1&change_size=4321", p2, n);
    job = start_job(m, "changed-size", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size + 4321);
    CHECK_EQ_U64(fp.bytes_transferred, size + 4321);
    http_stats_get(p2, &st);
    CHECK_EQ_U64(st.requests, 2);
    finish_and_check(job, local, size + 4321, 21, 1);
}

/* Content-Length 1000 bytes longer than the body, always: the file can never be whole. Each
 * attempt ends in a transient error; the bytes on disk stay a correct prefix; Cancel deletes
 * the temp file. */
static void overlong(bg_manager m)
{
    const uint64_t size = 300 * 1024;
    const char *path = "/data/300k/resume/overlong";
    char url[512], local[4200], temp[4200];
    http_url(url, sizeof url, 0, "%s?seed=14&overlong=1000", path);
    bg_job job = start_job(m, "overlong", url, 0, local, sizeof local);
    int bad_state = 0;
    uint64_t end = now_ms() + 30000;
    while (job_error_count(job) < 4 && now_ms() < end) {
        bg_job_state s = job_state(job);
        if (s == BG_JOB_STATE_ERROR || s == BG_JOB_STATE_TRANSFERRED) bad_state++;
        sleep_ms(2);
    }
    print_error("overlong", job);
    CHECK(job_error_count(job) >= 4);
    CHECK_EQ_INT(bad_state, 0);
    REQUIRE_OK(bg_job_suspend(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_SUSPENDED);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_INT(jp.files_transferred, 0);
    size_t needed = 0;
    CHECK_OK(bg_job_get_file_temp_name(job, 0, temp, sizeof temp, &needed));
    /* Whatever is on disk is a prefix of the real content (never more than the real size). */
    int64_t on_disk = file_size(temp);
    printf("overlong: temp file holds %lld bytes after %u errors\n", (long long)on_disk,
           job_error_count(job));
    CHECK(on_disk >= 0 && (uint64_t)on_disk <= size);
    if (on_disk >= 0) CHECK(content_check_file(temp, (uint64_t)on_disk, 14, 0));
    http_stats st;
    http_stats_get(path, &st);
    printf("overlong: %" PRIu64 " requests, statuses", st.requests);
    for (int i = 0; i < st.n_statuses; i++) printf(" %d", st.statuses[i]);
    printf("\n");
    CHECK_OK(bg_job_cancel(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_CANCELLED);
    CHECK(!file_exists(temp));
    CHECK(!file_exists(local));
    bg_job_release(job);
}

/* ---- a stalled body ---------------------------------------------------------------------- */

static void stall(void)
{
    bg_manager m = fast_manager();
    CHECK_OK(bg_manager_set_option(m, BG_OPTION_STALL_TIMEOUT_MS, 500));
    const uint64_t size = 2 * MIB, n = 500000;
    const char *path = "/data/2m/resume/stall";
    char url[512], local[4200];
    http_url(url, sizeof url, 0, "%s?seed=15&stall=%" PRIu64 "&stall_times=1", path, n);
    bg_job job = start_job(m, "stall", url, 1, local, sizeof local);
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    print_error("stall", job);
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK_HR(BG_E_TIMEOUT, e.code);
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    CHECK(strstr(desc, path) != NULL);
    CHECK_EQ_INT(job_error_count(job), 1);
    CHECK_EQ_U64(file_progress(job, 0).bytes_transferred, n);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 1);
    CHECK_STR(st.ranges[0], "500000-");
    CHECK_EQ_U64(st.bytes, size);
    finish_and_check(job, local, size, 15, 0);
    CHECK_OK(bg_manager_close(m));
}

/* ---- Suspend / Resume -------------------------------------------------------------------- */

static void suspend_resume(bg_manager m)
{
    const uint64_t size = 1 * MIB;
    const char *path = "/data/1m/resume/suspend";
    char url[512], local[4200];
    /* 512 KiB/s: two seconds in 25 KiB pieces. */
    http_url(url, sizeof url, 0, "%s?seed=16&trickle=512k", path);
    bg_job job = start_job(m, "suspend", url, 0, local, sizeof local);
    CHECK(wait_file_bytes(job, 0, 128 * 1024, 30000));
    REQUIRE_OK(bg_job_suspend(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_SUSPENDED);
    bg_file_progress fp = file_progress(job, 0);
    uint64_t k = fp.bytes_transferred;
    printf("suspended at %" PRIu64 " of %" PRIu64 " bytes\n", k, size);
    CHECK(k >= 128 * 1024 && k < size);
    CHECK_EQ_U64(fp.bytes_total, size);
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 0);
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 1);
    CHECK_EQ_INT(range_start(st.ranges[0]), (long long)k);
    CHECK_EQ_INT(st.statuses[1], 206);
    CHECK(st.bytes >= size && st.bytes <= size + MIB);
    finish_and_check(job, local, size, 16, 0);
}

/* The manager is closed mid-transfer and its state directory opened again: the job goes on
 * from the bytes in its temp file, with a Range + If-Range (so the validator the response
 * brought must be in the store, not only in memory). The server answers after 300 ms
 * (delay=300), so that the store has written the job once before the response arrives. */
static void reopen_continues(void)
{
    const uint64_t size = 1 * MIB;
    const char *path = "/data/1m/resume/reopen";
    char state[4200], url[512], local[4200];
    REQUIRE(path_join(state, sizeof state, g_dir, "state") != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RETRY_DELAY_FLOOR_MS, 50));
    http_url(url, sizeof url, 0, "%s?seed=26&trickle=512k&delay=300", path);
    bg_guid id;
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "reopen", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    REQUIRE_OK(bg_job_set_minimum_retry_delay(job, 0));
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "reopen")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 128 * 1024, 30000));
    uint64_t k = file_progress(job, 0).bytes_transferred;
    CHECK_OK(bg_manager_close(m)); /* stops the transfer; the job stays */
    CHECK_HR(E_HANDLE, bg_job_get_state(job, &(bg_job_state){0}));

    REQUIRE_OK(bg_manager_open(state, &m));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RETRY_DELAY_FLOOR_MS, 50));
    REQUIRE_OK(bg_manager_get_job(m, &id, &job));
    printf("reopen: %" PRIu64 " bytes before the close; after the reopen: %s, %" PRIu64
           " bytes\n",
           k, state_name(job_state(job)), file_progress(job, 0).bytes_transferred);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    if (job_state(job) != BG_JOB_STATE_TRANSFERRED) print_error("reopen", job);
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_ranges, 1);
    if (st.n_ranges >= 1) {
        long long start = range_start(st.ranges[0]);
        printf("reopen: continued from %lld\n", start);
        CHECK(start > 0 && start <= (long long)k + 1);
    }
    CHECK(st.bytes >= size && st.bytes <= size + MIB);
    finish_and_check(job, local, size, 26, 0);
    CHECK_OK(bg_manager_close(m));
}

/* ---- responses only a scripted server makes ------------------------------------------------ */

/* 416 for a resume whose temp file is already whole: success. Made by a 206 that carries the
 * last bytes but announces a longer Content-Length: the file is whole, the request failed. */
static void whole_file_416(bg_manager m)
{
    const uint64_t size = 64 * 1024, seed = 77;
    script_server s;
    memset(&s, 0, sizeof s);
    script_add(&s, seed, 0, 0, size - 100, 1,
               "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\nETag: \"v1\"\r\n"
               "Accept-Ranges: bytes\r\nConnection: close\r\n\r\n",
               size);
    script_add(&s, seed, 0, size - 100, 100, 1,
               "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
               "/%" PRIu64 "\r\nContent-Length: 1100\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
               size - 100, size - 1, size);
    script_add(&s, seed, 0, 0, 0, 1,
               "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%" PRIu64
               "\r\nContent-Length: 0\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
               size);
    REQUIRE(script_server_start(&s) == 0);
    char url[512], local[4200], head[2048], v[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/whole", s.port);
    bg_job job = start_job(m, "whole-416", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    if (job_state(job) != BG_JOB_STATE_TRANSFERRED) print_error("416", job);
    CHECK_EQ_INT(job_error_count(job), 2);
    CHECK_EQ_INT(script_request(&s, 0, head, sizeof head), 3);
    CHECK(!head_header(head, "Range", v, sizeof v));
    script_request(&s, 1, head, sizeof head);
    CHECK(head_header(head, "Range", v, sizeof v) && strcmp(v, "bytes=65436-") == 0);
    CHECK(head_header(head, "If-Range", v, sizeof v) && strcmp(v, "\"v1\"") == 0);
    script_request(&s, 2, head, sizeof head);
    CHECK(head_header(head, "Range", v, sizeof v) && strcmp(v, "bytes=65536-") == 0);
    CHECK(head_header(head, "If-Range", v, sizeof v) && strcmp(v, "\"v1\"") == 0);
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_U64(fp.bytes_transferred, size);
    finish_and_check(job, local, size, seed, 0);
    script_server_stop(&s);
}

/* A 206 whose Content-Range total differs from the size known: restart from 0 (no splice). */
static void other_total_206(bg_manager m)
{
    const uint64_t size = 64 * 1024, size2 = 64 * 1024 + 1000, seed = 78, half = 32 * 1024;
    script_server s;
    memset(&s, 0, sizeof s);
    script_add(&s, seed, 0, 0, half, 1,
               "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\nETag: \"v1\"\r\n"
               "Connection: close\r\n\r\n",
               size);
    script_add(&s, seed, 1, half, size2 - half, 1,
               "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
               "/%" PRIu64 "\r\nContent-Length: %" PRIu64
               "\r\nETag: \"v1\"\r\nConnection: close\r\n\r\n",
               half, size2 - 1, size2, size2 - half);
    script_add(&s, seed, 1, 0, size2, 1,
               "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\nETag: \"v2\"\r\n"
               "Connection: close\r\n\r\n",
               size2);
    REQUIRE(script_server_start(&s) == 0);
    char url[512], local[4200], head[2048], v[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/other-total", s.port);
    bg_job job = start_job(m, "other-total", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    if (job_state(job) != BG_JOB_STATE_TRANSFERRED) print_error("206 other total", job);
    CHECK_EQ_INT(script_request(&s, 0, head, sizeof head), 3);
    script_request(&s, 1, head, sizeof head);
    CHECK(head_header(head, "Range", v, sizeof v) && strcmp(v, "bytes=32768-") == 0);
    script_request(&s, 2, head, sizeof head);
    CHECK(!head_header(head, "Range", v, sizeof v)); /* from 0 */
    CHECK(!head_header(head, "If-Range", v, sizeof v));
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size2);
    finish_and_check(job, local, size2, seed, 1);
    script_server_stop(&s);
}

/* A weak ETag is no validator for If-Range: the Last-Modified date is sent instead. */
static void weak_etag(bg_manager m)
{
    const uint64_t size = 50000, seed = 79, half = 20000;
    const char *lm = "Tue, 01 Feb 2022 10:00:00 GMT";
    script_server s;
    memset(&s, 0, sizeof s);
    script_add(&s, seed, 0, 0, half, 1,
               "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\nETag: W/\"weak\"\r\n"
               "Last-Modified: %s\r\nConnection: close\r\n\r\n",
               size, lm);
    script_add(&s, seed, 0, half, size - half, 1,
               "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
               "/%" PRIu64 "\r\nContent-Length: %" PRIu64 "\r\nETag: W/\"weak\"\r\n"
               "Last-Modified: %s\r\nConnection: close\r\n\r\n",
               half, size - 1, size, size - half, lm);
    REQUIRE(script_server_start(&s) == 0);
    char url[512], local[4200], head[2048], v[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/weak", s.port);
    bg_job job = start_job(m, "weak-etag", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(script_request(&s, 1, head, sizeof head), 2);
    CHECK(head_header(head, "Range", v, sizeof v) && strcmp(v, "bytes=20000-") == 0);
    CHECK(head_header(head, "If-Range", v, sizeof v) && strcmp(v, lm) == 0);
    finish_and_check(job, local, size, seed, 0);
    script_server_stop(&s);
}

/* ---- HTTPS drop -------------------------------------------------------------------------- */

static void tls_drop(bg_manager m)
{
    const uint64_t size = 2 * MIB;
    char url[512], local[4200];
    http_url(url, sizeof url, 1, "/data/2m/resume/tls-drop?seed=17&drop=800000&drop_times=1");
    bg_job job = new_job(m, "tls-drop", 1);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "tls-drop")));
    REQUIRE_OK(bg_job_set_security_flags(job, BG_SSL_IGNORE_UNKNOWN_CA));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    print_error("https drop (no close_notify)", job);
    CHECK_EQ_U64(file_progress(job, 0).bytes_transferred, 800000);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    finish_and_check(job, local, size, 17, 0);
}

/* ---- redirects --------------------------------------------------------------------------- */

static void redirects(bg_manager m)
{
    char url[512], local[4200], name[4200];
    http_stats st;
    size_t needed = 0;

    /* A chain of 3, followed; the remote name stays as given (ALLOW_SILENT). */
    const char *p3 = "/data/300000/resume/redirect-3";
    http_url(url, sizeof url, 0, "%s?seed=22&redirect=3", p3);
    bg_job job = start_job(m, "redirect-3", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    http_stats_get(p3, &st);
    CHECK_EQ_U64(st.requests, 4);
    CHECK_EQ_INT(st.n_statuses, 4);
    CHECK_EQ_INT(st.statuses[0], 302);
    CHECK_EQ_INT(st.statuses[3], 200);
    CHECK_OK(bg_job_get_file_remote_name(job, 0, name, sizeof name, &needed));
    CHECK_STR(name, url);
    finish_and_check(job, local, 300000, 22, 0);

    /* 10 redirects are followed, 11 are too many. */
    const char *p10 = "/data/1000/resume/redirect-10";
    http_url(url, sizeof url, 0, "%s?seed=23&redirect=10&redirect_code=307", p10);
    job = start_job(m, "redirect-10", url, 0, local, sizeof local);
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    finish_and_check(job, local, 1000, 23, 0);
    const char *p11 = "/data/1000/resume/redirect-11";
    http_url(url, sizeof url, 0, "%s?seed=23&redirect=11", p11);
    job = start_job(m, "redirect-11", url, 60, local, sizeof local);
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    print_error("11 redirects", job);
    http_stats_get(p11, &st);
    CHECK_EQ_U64(st.requests, 11);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* A loop: ERROR after the 10 redirects allowed. */
    const char *pl = "/data/1000/resume/redirect-loop";
    http_url(url, sizeof url, 0, "%s?redirect_loop=1", pl);
    job = start_job(m, "redirect-loop", url, 60, local, sizeof local);
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    print_error("redirect loop", job);
    bg_job_error e;
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK(BG_FAILED(e.code));
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(pl, &st);
    CHECK_EQ_U64(st.requests, 11);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* DISALLOW: the 302 itself is the (fatal) error. */
    const char *pd = "/data/1000/resume/redirect-disallow";
    http_url(url, sizeof url, 0, "%s?redirect=1", pd);
    job = new_job(m, "redirect-disallow", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "redirect-disallow")));
    CHECK_OK(bg_job_set_security_flags(job, BG_HTTP_REDIRECT_POLICY_DISALLOW));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_ERROR);
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK_HR(BG_E_HTTP_ERROR_302, e.code);
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(pd, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* The same with 308 (Permanent Redirect): a refused redirect is fatal whatever its code,
     * and so is a loop. MinimumRetryDelay 60 s keeps a (wrong) transient error in view. */
    const char *pd8 = "/data/1000/resume/redirect-disallow-308";
    http_url(url, sizeof url, 0, "%s?redirect=1&redirect_code=308", pd8);
    job = new_job(m, "redirect-disallow-308", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "redirect-disallow-308")));
    CHECK_OK(bg_job_set_security_flags(job, BG_HTTP_REDIRECT_POLICY_DISALLOW));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    print_error("DISALLOW, 308", job);
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK_HR(0x80190134u /* BG_E_HTTP_ERROR_308 */, e.code);
    http_stats_get(pd8, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    const char *pl8 = "/data/1000/resume/redirect-loop-308";
    http_url(url, sizeof url, 0, "%s?redirect_loop=1&redirect_code=308", pl8);
    job = new_job(m, "redirect-loop-308", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "redirect-loop-308")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    print_error("redirect loop, 308", job);
    http_stats_get(pl8, &st);
    CHECK_EQ_U64(st.requests, 11);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* ALLOW_REPORT: the file's remote name becomes the final URL. */
    const char *pr = "/data/5000/resume/redirect-report";
    char final_url[512];
    http_url(url, sizeof url, 0, "%s?seed=24&redirect=2&t=x", pr);
    http_url(final_url, sizeof final_url, 0, "%s?seed=24&redirect=0&t=x", pr);
    job = new_job(m, "redirect-report", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "redirect-report")));
    CHECK_OK(bg_job_set_security_flags(job, BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_get_file_remote_name(job, 0, name, sizeof name, &needed));
    CHECK_STR(name, final_url);
    finish_and_check(job, local, 5000, 24, 0);

    /* https → http is refused unless ALLOW_HTTPS_TO_HTTP. */
    char target[512], enc[1024];
    http_url(target, sizeof target, 0, "/data/6000/resume/to-http?seed=25");
    size_t j = 0;
    for (size_t i = 0; target[i] && j + 4 < sizeof enc; i++) {
        unsigned char c = (unsigned char)target[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_')
            enc[j++] = (char)c;
        else
            j += (size_t)snprintf(enc + j, sizeof enc - j, "%%%02X", c);
    }
    enc[j] = '\0';
    http_url(url, sizeof url, 1, "/data/6000/resume/from-https?redirect_to=%s", enc);
    job = new_job(m, "https-to-http", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "https-to-http")));
    CHECK_OK(bg_job_set_security_flags(job, BG_SSL_IGNORE_UNKNOWN_CA));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    print_error("https -> http refused", job);
    http_stats_get("/data/6000/resume/to-http", &st);
    CHECK_EQ_U64(st.requests, 0);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    http_url(url, sizeof url, 1, "/data/6000/resume/from-https-308?redirect_code=308&redirect_to=%s",
             enc);
    job = new_job(m, "https-to-http-308", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "https-to-http-308")));
    CHECK_OK(bg_job_set_security_flags(job, BG_SSL_IGNORE_UNKNOWN_CA));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    print_error("https -> http refused, 308", job);
    http_stats_get("/data/6000/resume/to-http", &st);
    CHECK_EQ_U64(st.requests, 0);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    http_url(url, sizeof url, 1, "/data/6000/resume/from-https?redirect_to=%s", enc);
    job = new_job(m, "https-to-http-ok", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "https-to-http-ok")));
    CHECK_OK(bg_job_set_security_flags(job, BG_SSL_IGNORE_UNKNOWN_CA |
                                                BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    http_stats_get("/data/6000/resume/to-http", &st);
    CHECK_EQ_U64(st.requests, 1);
    finish_and_check(job, local, 6000, 25, 0);
}

int main(void)
{
    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    bg_manager m = fast_manager();

    printf("-- drop\n");
    drop_resumes(m);
    drop_validators(m);
    printf("-- ignore_range, change_after\n");
    ignore_range(m);
    changed_source(m);
    printf("-- overlong\n");
    overlong(m);
    printf("-- stall\n");
    stall();
    printf("-- suspend / resume\n");
    suspend_resume(m);
    printf("-- manager closed and opened again\n");
    reopen_continues();
    printf("-- scripted server: 416 on a whole file, 206 with another total, weak ETag\n");
    whole_file_416(m);
    other_total_206(m);
    weak_etag(m);
    printf("-- https drop\n");
    tls_drop(m);
    printf("-- redirects\n");
    redirects(m);

    CHECK_OK(bg_manager_close(m));
    if (harness_failed_ == 0) remove_tree(g_dir);
    TEST_MAIN_END();
}
