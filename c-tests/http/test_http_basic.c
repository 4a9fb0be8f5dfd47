/*
 * test_http_basic.c — plain HTTP(S) downloads against the loopback test server:
 * sizes 0 B .. 32 MiB byte-identical, the size learned from the GET alone (no HEAD, one
 * request per file), several files of one job in order, several jobs at once, chunked and
 * length-less bodies (size unknown until the end), the next file's temp file made while the
 * one before it transfers, HTTPS with and without BG_SSL_IGNORE_UNKNOWN_CA.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "http_helpers.h"

static char g_dir[4096];

static char *local_path(char *buf, size_t cap, const char *name)
{
    REQUIRE(path_join(buf, cap, g_dir, name) != NULL);
    return buf;
}

/* Checks the stats of `path`: one GET (no HEAD), status 200, no Range, `size` body bytes. */
static void check_single_request(const char *path, uint64_t size)
{
    http_stats st;
    http_stats_get(path, &st);
    REQUIRE(st.ok);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_EQ_U64(st.heads, 0);
    CHECK_EQ_U64(st.bytes, size);
    CHECK_EQ_INT(st.n_ranges, 0);
    CHECK_EQ_INT(st.n_statuses, 1);
    CHECK_EQ_INT(st.statuses[0], 200);
    char v[256];
    CHECK(http_stats_header(&st, "accept-encoding", v, sizeof v) && strcmp(v, "identity") == 0);
    CHECK(http_stats_header(&st, "user-agent", v, sizeof v) && strncmp(v, "bgcopy/", 7) == 0);
    CHECK(!http_stats_header(&st, "if-range", v, sizeof v));
}

/* One file of `size` bytes, start to Complete, with every check on the way. */
static void download_one(bg_manager m, uint64_t size, uint64_t seed, const char *name)
{
    char path[256], url[512], local[4200], temp[4200];
    snprintf(path, sizeof path, "/data/%" PRIu64 "/basic/%s", size, name);
    http_url(url, sizeof url, 0, "%s?seed=%" PRIu64, path, seed);
    local_path(local, sizeof local, name);
    printf("download %s (%" PRIu64 " bytes)\n", url, size);

    bg_job job = new_job(m, name, 0);
    REQUIRE_OK(bg_job_add_file(job, url, local));
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(fp.bytes_transferred, 0);
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 120000), BG_JOB_STATE_TRANSFERRED);

    fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_U64(fp.bytes_transferred, size);
    CHECK_EQ_INT(fp.completed, 0);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, size);
    CHECK_EQ_U64(jp.bytes_transferred, size);
    CHECK_EQ_INT(jp.files_total, 1);
    CHECK_EQ_INT(jp.files_transferred, 1);
    CHECK_EQ_INT(job_error_count(job), 0);
    bg_job_error e;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &e, NULL, 0, NULL));

    size_t needed = 0;
    CHECK_OK(bg_job_get_file_temp_name(job, 0, temp, sizeof temp, &needed));
    CHECK(file_exists(temp));
    CHECK(!file_exists(local));
    CHECK_OK(bg_job_complete(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_ACKNOWLEDGED);
    CHECK(!file_exists(temp));
    CHECK_EQ_U64(file_size(local), size);
    CHECK_MSG(content_check_file(local, size, seed, 0), "%s", local);
    fp = file_progress(job, 0);
    CHECK_EQ_INT(fp.completed, 1);
    CHECK_OK(bg_job_release(job));

    check_single_request(path, size);
}

/* Files of one job transfer one after the other: sampled last to first, a file that has bytes
 * implies every earlier file is whole. */
static void multi_file_job(bg_manager m)
{
    enum { N = 4 };
    const uint64_t size = 256 * 1024;
    char urls[N][512], locals[N][4200], paths[N][256];
    bg_job job = new_job(m, "multi", 0);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "multi-%d", i);
        snprintf(paths[i], sizeof paths[i], "/data/%" PRIu64 "/basic/multi/%d", size, i);
        /* 2 MiB/s: about half a second for all four, long enough to sample. */
        http_url(urls[i], sizeof urls[i], 0, "%s?seed=%d&trickle=2m", paths[i], 100 + i);
        local_path(locals[i], sizeof locals[i], name);
        REQUIRE_OK(bg_job_add_file(job, urls[i], locals[i]));
    }
    REQUIRE_OK(bg_job_resume(job));
    int violations = 0, samples = 0, saw_partial = 0;
    uint64_t end = now_ms() + 60000;
    while (job_state(job) != BG_JOB_STATE_TRANSFERRED && now_ms() < end) {
        bg_job_state s = job_state(job);
        if (s == BG_JOB_STATE_ERROR || s == BG_JOB_STATE_TRANSIENT_ERROR) break;
        int later_started = 0;
        for (int i = N - 1; i >= 0; i--) {
            bg_file_progress p = file_progress(job, (uint32_t)i);
            if (later_started && p.bytes_transferred != size) violations++;
            if (p.bytes_transferred > 0 && p.bytes_transferred != UINT64_MAX) later_started = 1;
            if (p.bytes_transferred > 0 && p.bytes_transferred < size) saw_partial = 1;
        }
        samples++;
        sleep_ms(2);
    }
    printf("multi-file job: %d samples, partial file seen: %s\n", samples,
           saw_partial ? "yes" : "no");
    CHECK_EQ_INT(violations, 0);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, N * size);
    CHECK_EQ_U64(jp.bytes_transferred, N * size);
    CHECK_EQ_INT(jp.files_transferred, N);
    CHECK_OK(bg_job_complete(job));
    for (int i = 0; i < N; i++) {
        CHECK_MSG(content_check_file(locals[i], size, 100 + (uint64_t)i, 0), "%s", locals[i]);
        check_single_request(paths[i], size);
    }
    CHECK_OK(bg_job_release(job));
}

/* While a file transfers, the temp files of the job's next AHEAD files are made ahead (and no
 * more, also across new runs of the same file): they are recorded at once, empty, and Cancel
 * removes them like any other temp file. AHEAD is engine::prepare::AHEAD. */
static void next_temp_made_ahead(bg_manager m)
{
    enum { AHEAD = 8, N = AHEAD + 3 };
    const uint64_t slow = 512 * 1024; /* at 128 KiB/s: about 4 s, far longer than the checks */
    char url[512], locals[N][4200], temps[N][4200];
    bg_job job = new_job(m, "ahead", 0);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "ahead-%d", i);
        if (i == 0)
            http_url(url, sizeof url, 0, "/data/%" PRIu64 "/basic/ahead/0?seed=7&trickle=128k", slow);
        else
            http_url(url, sizeof url, 0, "/data/1000/basic/ahead/%d?seed=7", i);
        local_path(locals[i], sizeof locals[i], name);
        REQUIRE_OK(bg_job_add_file(job, url, locals[i]));
    }
    REQUIRE_OK(bg_job_resume(job));
    size_t needed = 0;
    bg_hresult hr = S_FALSE;
    uint64_t end = now_ms() + 30000;
    while (now_ms() < end) {
        hr = bg_job_get_file_temp_name(job, AHEAD, temps[AHEAD], sizeof temps[AHEAD], &needed);
        if (hr == S_OK) break;
        sleep_ms(2);
    }
    CHECK_HR(S_OK, hr);
    /* File 0 is still on its way: the AHEAD files after it have their temp files, empty. */
    bg_file_progress p0 = file_progress(job, 0);
    CHECK_MSG(p0.bytes_transferred < slow, "file 0 already has %" PRIu64 " bytes", p0.bytes_transferred);
    CHECK_OK(bg_job_get_file_temp_name(job, 0, temps[0], sizeof temps[0], &needed));
    for (int i = 1; i <= AHEAD; i++) {
        CHECK_OK(bg_job_get_file_temp_name(job, (uint32_t)i, temps[i], sizeof temps[i], &needed));
        CHECK_MSG(file_exists(temps[i]), "file %d: %s", i, temps[i]);
        CHECK_EQ_U64(file_size(temps[i]), 0);
        CHECK_EQ_U64(file_progress(job, (uint32_t)i).bytes_transferred, 0);
        CHECK(strcmp(temps[i - 1], temps[i]) != 0);
    }
    for (int i = AHEAD + 1; i < N; i++)
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name(job, (uint32_t)i, temps[i], sizeof temps[i], &needed));

    /* A new run of the same file (Suspend + Resume here; a retry after an error alike) finds
     * the window ahead of it full and makes no more. The preparing thread serves requests in
     * order, so once job b's file 1 has its temp file, the request of this job's new run (made
     * when its file 0 restarted, before it was TRANSFERRING) has been served. */
    CHECK_OK(bg_job_suspend(job));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_state(job, BG_JOB_STATE_TRANSFERRING, 30000));
    bg_job b = new_job(m, "ahead-b", 0);
    char local_b[2][4200], temp_b[4200];
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "ahead-b-%d", i);
        if (i == 0)
            http_url(url, sizeof url, 0, "/data/%" PRIu64 "/basic/ahead-b/0?seed=7&trickle=128k", slow);
        else
            http_url(url, sizeof url, 0, "/data/1000/basic/ahead-b/1?seed=7");
        local_path(local_b[i], sizeof local_b[i], name);
        REQUIRE_OK(bg_job_add_file(b, url, local_b[i]));
    }
    REQUIRE_OK(bg_job_resume(b));
    hr = S_FALSE;
    end = now_ms() + 30000;
    while (now_ms() < end) {
        hr = bg_job_get_file_temp_name(b, 1, temp_b, sizeof temp_b, &needed);
        if (hr == S_OK) break;
        sleep_ms(2);
    }
    CHECK_HR(S_OK, hr);
    for (int i = AHEAD + 1; i < N; i++)
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name(job, (uint32_t)i, temps[i], sizeof temps[i], &needed));
    for (int i = 1; i <= AHEAD; i++) {
        char again[4200];
        CHECK_OK(bg_job_get_file_temp_name(job, (uint32_t)i, again, sizeof again, &needed));
        CHECK_MSG(strcmp(again, temps[i]) == 0, "file %d: %s, was %s", i, again, temps[i]);
    }
    CHECK_OK(bg_job_cancel(b));
    CHECK(!file_exists(temp_b));
    CHECK_OK(bg_job_release(b));

    CHECK_OK(bg_job_cancel(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_CANCELLED);
    for (int i = 0; i <= AHEAD; i++) {
        CHECK_MSG(!file_exists(temps[i]), "%s left behind", temps[i]);
        CHECK(!file_exists(locals[i]));
    }
    CHECK_OK(bg_job_release(job));
}

/* Many small files in one job: the temp files made ahead race the transfer of each file, and
 * whichever wins, every file ends under its name and no temp file is left in the directory. */
static void many_small_files(bg_manager m)
{
    enum { N = 400 };
    char dir[4200], url[512];
    local_path(dir, sizeof dir, "many");
    REQUIRE(mkdir(dir, 0700) == 0);
    static char locals[N][4300];
    bg_job job = new_job(m, "many", 0);
    for (int i = 0; i < N; i++) {
        http_url(url, sizeof url, 0, "/data/300/basic/many/%d?seed=%d", i, 500 + i);
        snprintf(locals[i], sizeof locals[i], "%s/f%03d", dir, i);
        REQUIRE_OK(bg_job_add_file(job, url, locals[i]));
    }
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    int entries = 0, temps = 0;
    DIR *d = opendir(dir);
    REQUIRE(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        entries++;
        if (strncmp(e->d_name, ".bgcopy-", 8) == 0) {
            temps++;
            printf("left behind: %s\n", e->d_name);
        }
    }
    closedir(d);
    CHECK_EQ_INT(entries, N);
    CHECK_EQ_INT(temps, 0);
    for (int i = 0; i < N; i += 37)
        CHECK_MSG(content_check_file(locals[i], 300, 500 + (uint64_t)i, 0), "%s", locals[i]);
    CHECK_OK(bg_job_release(job));
}

/* Several jobs at once, each with two files. */
static void concurrent_jobs(bg_manager m)
{
    enum { J = 5, F = 2 };
    const uint64_t size = 3 * 1024 * 1024 + 17;
    bg_job jobs[J];
    char locals[J][F][4200], paths[J][F][256];
    for (int j = 0; j < J; j++) {
        char name[32];
        snprintf(name, sizeof name, "concurrent-%d", j);
        jobs[j] = new_job(m, name, 0);
        for (int f = 0; f < F; f++) {
            char url[512], file[48];
            snprintf(paths[j][f], sizeof paths[j][f], "/data/%" PRIu64 "/basic/conc/%d/%d", size,
                     j, f);
            http_url(url, sizeof url, 0, "%s?seed=%d", paths[j][f], 200 + j * F + f);
            snprintf(file, sizeof file, "conc-%d-%d", j, f);
            local_path(locals[j][f], sizeof locals[j][f], file);
            REQUIRE_OK(bg_job_add_file(jobs[j], url, locals[j][f]));
        }
    }
    for (int j = 0; j < J; j++) REQUIRE_OK(bg_job_resume(jobs[j]));
    for (int j = 0; j < J; j++) {
        CHECK_EQ_INT(wait_final(jobs[j], 120000), BG_JOB_STATE_TRANSFERRED);
        CHECK_EQ_INT(job_error_count(jobs[j]), 0);
        CHECK_OK(bg_job_complete(jobs[j]));
        for (int f = 0; f < F; f++) {
            CHECK_MSG(content_check_file(locals[j][f], size, 200 + (uint64_t)(j * F + f), 0),
                      "%s", locals[j][f]);
            check_single_request(paths[j][f], size);
        }
        CHECK_OK(bg_job_release(jobs[j]));
    }
}

/* chunked=1 / no_length=1: the size stays BG_SIZE_UNKNOWN while bytes arrive, exact after. */
static void unknown_length(bg_manager m, const char *mode)
{
    const uint64_t size = 600 * 1024 + 3;
    char path[256], url[512], local[4200];
    snprintf(path, sizeof path, "/data/%" PRIu64 "/basic/%s", size, mode);
    /* 400 KiB/s: about 1.5 s, in 20 KiB pieces. */
    http_url(url, sizeof url, 0, "%s?seed=7&%s=1&trickle=400k", path, mode);
    local_path(local, sizeof local, mode);
    bg_job job = new_job(m, mode, 0);
    REQUIRE_OK(bg_job_add_file(job, url, local));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 1, 30000));
    bg_file_progress fp = file_progress(job, 0);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    printf("%s: %" PRIu64 " bytes in, total %s\n", mode, fp.bytes_transferred,
           fp.bytes_total == BG_SIZE_UNKNOWN ? "unknown" : "known");
    CHECK(fp.bytes_transferred < size); /* still transferring: the trickle lasts ~1.5 s */
    CHECK_EQ_U64(fp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(jp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_TRANSFERRING);
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_U64(fp.bytes_transferred, size);
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, size);
    CHECK_EQ_INT(job_error_count(job), 0);
    CHECK_OK(bg_job_complete(job));
    CHECK_MSG(content_check_file(local, size, 7, 0), "%s", local);
    CHECK_OK(bg_job_release(job));
    http_stats st;
    http_stats_get(path, &st);
    CHECK(st.ok);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_EQ_U64(st.bytes, size);
}

static void https_downloads(bg_manager m)
{
    const uint64_t size = 1024 * 1024 + 5;
    char url[512], local[4200];

    /* The server's certificate comes from a throw-away CA: refused by default. */
    http_url(url, sizeof url, 1, "/data/%" PRIu64 "/basic/https-refused?seed=31", size);
    local_path(local, sizeof local, "https-refused");
    bg_job job = new_job(m, "https-refused", 60); /* a transient error would stay put */
    REQUIRE_OK(bg_job_add_file(job, url, local));
    uint32_t flags = 99;
    CHECK_OK(bg_job_get_security_flags(job, &flags));
    CHECK_EQ_INT(flags, 0);
    REQUIRE_OK(bg_job_resume(job));
    uint64_t end = now_ms() + 30000;
    bg_job_state s;
    while ((s = job_state(job)) != BG_JOB_STATE_ERROR && s != BG_JOB_STATE_TRANSIENT_ERROR &&
           s != BG_JOB_STATE_TRANSFERRED && now_ms() < end)
        sleep_ms(2);
    print_error("https without BG_SSL_IGNORE_UNKNOWN_CA", job);
    CHECK_EQ_INT(s, BG_JOB_STATE_ERROR);
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK(BG_FAILED(e.code));
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    CHECK_EQ_INT(e.file_index, 0);
    CHECK(strstr(desc, "/basic/https-refused") != NULL);
    CHECK_EQ_INT(job_error_count(job), 1);
    CHECK_OK(bg_job_cancel(job));
    CHECK(!file_exists(local));
    CHECK_OK(bg_job_release(job));

    /* BG_SSL_IGNORE_UNKNOWN_CA: accepted, byte-identical. */
    http_url(url, sizeof url, 1, "/data/%" PRIu64 "/basic/https-ok?seed=32", size);
    local_path(local, sizeof local, "https-ok");
    job = new_job(m, "https-ok", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local));
    CHECK_OK(bg_job_set_security_flags(job, BG_SSL_IGNORE_UNKNOWN_CA));
    CHECK_OK(bg_job_get_security_flags(job, &flags));
    CHECK_EQ_INT(flags, BG_SSL_IGNORE_UNKNOWN_CA);
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    if (job_state(job) != BG_JOB_STATE_TRANSFERRED) print_error("https with the flag", job);
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_INT(job_error_count(job), 0);
    CHECK_OK(bg_job_complete(job));
    CHECK_MSG(content_check_file(local, size, 32, 0), "%s", local);
    CHECK_OK(bg_job_release(job));
}

int main(void)
{
    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    bg_manager m = fast_manager();

    download_one(m, 0, 1, "zero");
    download_one(m, 1, 2, "one");
    download_one(m, 1024 * 1024, 3, "onemeg");
    download_one(m, 32 * 1024 * 1024, 4, "thirtytwo");
    /* The C formula and the server's own verifier agree. */
    char p[4200];
    CHECK(server_verify(local_path(p, sizeof p, "onemeg"), 1024 * 1024, 3, 0));
    CHECK(!server_verify(p, 1024 * 1024, 4, 0));
    CHECK(server_verify(local_path(p, sizeof p, "zero"), 0, 1, 0));

    multi_file_job(m);
    next_temp_made_ahead(m);
    many_small_files(m);
    concurrent_jobs(m);
    unknown_length(m, "chunked");
    unknown_length(m, "no_length");
    https_downloads(m);

    CHECK_OK(bg_manager_close(m));
    if (harness_failed_ == 0) remove_tree(g_dir);
    TEST_MAIN_END();
}
