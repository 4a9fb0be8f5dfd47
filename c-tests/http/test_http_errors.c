/*
 * test_http_errors.c — HTTP failures (spec §2.2 T12–T17, §2.6, §4.3–4.6): status codes as
 * BG_E_HTTP_ERROR_nnn in the REMOTE_FILE context, fatal 4xx / 501 / 505 → ERROR, transient
 * 5xx / 408 / 429 → TRANSIENT_ERROR and retried, Retry-After honoured, connection refused →
 * transient BG_E_CONNECT_FAILURE, NoProgressTimeout (1 s and 0), credentials kept out of the
 * error description, Resume from ERROR once the cause is gone.
 */
#include "http_helpers.h"

static char g_dir[4096];

static char *local_path(char *buf, size_t cap, const char *name)
{
    REQUIRE(path_join(buf, cap, g_dir, name) != NULL);
    return buf;
}

#define HTTP_HR(status) ((bg_hresult)(0x80190000u | (uint32_t)(status)))

/* ---- fatal statuses ------------------------------------------------------------------------ */

struct fatal_case {
    int status;     /* what the job must report */
    const char *q;  /* the query that makes the server answer it */
    bg_job job;
    char path[128], good[4200], bad[4200];
};

/* Each job: file 0 fine, file 1 failing. ERROR on file 1, exact code, context REMOTE_FILE,
 * one error, the URL's path in the description; Complete keeps file 0 (partial). */
static void fatal_statuses(bg_manager m)
{
    struct fatal_case cases[] = {
        {404, "", 0, "", "", ""}, /* /data/<bad size> is a real 404 */
        {401, "auth=user:letmein", 0, "", "", ""},
        {403, "status=403", 0, "", "", ""},
        {400, "status=400", 0, "", "", ""},
        {410, "status=410", 0, "", "", ""},
        {416, "status=416", 0, "", "", ""}, /* not a resume: plain fatal 4xx */
        {501, "status=501", 0, "", "", ""},
        {505, "status=505", 0, "", "", ""},
    };
    const size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        struct fatal_case *c = &cases[i];
        char name[64], url[512];
        snprintf(name, sizeof name, "fatal-%d", c->status);
        c->job = new_job(m, name, 0);
        http_url(url, sizeof url, 0, "/data/2k/errors/good-%d?seed=%d", c->status, c->status);
        snprintf(name, sizeof name, "good-%d", c->status);
        REQUIRE_OK(bg_job_add_file(c->job, url, local_path(c->good, sizeof c->good, name)));
        if (c->status == 404)
            snprintf(c->path, sizeof c->path, "/data/nosuchsize/errors/fatal-404");
        else
            snprintf(c->path, sizeof c->path, "/data/1k/errors/fatal-%d", c->status);
        http_url(url, sizeof url, 0, "%s?%s", c->path, c->q);
        snprintf(name, sizeof name, "bad-%d", c->status);
        REQUIRE_OK(bg_job_add_file(c->job, url, local_path(c->bad, sizeof c->bad, name)));
        REQUIRE_OK(bg_job_resume(c->job));
    }
    for (size_t i = 0; i < n; i++) {
        struct fatal_case *c = &cases[i];
        CHECK_EQ_INT(wait_final(c->job, 30000), BG_JOB_STATE_ERROR);
        bg_job_error e;
        char desc[2048];
        CHECK_OK(job_error(c->job, &e, desc, sizeof desc));
        CHECK_MSG(e.code == HTTP_HR(c->status), "status %d: code 0x%08" PRIX32, c->status,
                  (uint32_t)e.code);
        CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_REMOTE_FILE);
        CHECK_EQ_INT(e.file_index, 1);
        CHECK_MSG(strstr(desc, c->path) != NULL, "description \"%s\" lacks %s", desc, c->path);
        CHECK_EQ_INT(job_error_count(c->job), 1);
        bg_job_progress jp;
        CHECK_OK(bg_job_get_progress(c->job, &jp));
        CHECK_EQ_INT(jp.files_transferred, 1);
        http_stats st;
        http_stats_get(c->path, &st);
        CHECK_EQ_U64(st.requests, 1); /* fatal: no retry */
        CHECK_EQ_INT(st.n_statuses, 1);
        CHECK_EQ_INT(st.statuses[0], c->status);
        CHECK_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(c->job));
        CHECK_MSG(content_check_file(c->good, 2048, (uint64_t)c->status, 0), "%s", c->good);
        CHECK(!file_exists(c->bad));
        CHECK_OK(bg_job_release(c->job));
    }
}

/* ---- transient statuses ------------------------------------------------------------------ */

/* status=<code>&status_times=<k>: k transient failures, retried after the 50 ms floor, then the
 * file; k errors counted; the server saw k failures then one 200. */
static void transient_statuses(bg_manager m)
{
    struct {
        int status, times;
        bg_job job;
        char path[128], local[4200];
    } cases[] = {{500, 2, 0, "", ""}, {503, 2, 0, "", ""}, {502, 1, 0, "", ""},
                 {504, 1, 0, "", ""}, {408, 1, 0, "", ""}, {409, 1, 0, "", ""},
                 {429, 1, 0, "", ""}};
    const size_t n = sizeof cases / sizeof cases[0];
    const uint64_t size = 100 * 1024 + 1;
    for (size_t i = 0; i < n; i++) {
        char url[512], name[64];
        snprintf(cases[i].path, sizeof cases[i].path, "/data/%" PRIu64 "/errors/transient-%d",
                 size, cases[i].status);
        http_url(url, sizeof url, 0, "%s?seed=%d&status=%d&status_times=%d", cases[i].path,
                 cases[i].status, cases[i].status, cases[i].times);
        snprintf(name, sizeof name, "transient-%d", cases[i].status);
        cases[i].job = new_job(m, name, 0);
        REQUIRE_OK(bg_job_add_file(cases[i].job, url,
                                   local_path(cases[i].local, sizeof cases[i].local, name)));
        REQUIRE_OK(bg_job_resume(cases[i].job));
    }
    for (size_t i = 0; i < n; i++) {
        bg_job job = cases[i].job;
        CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
        CHECK_MSG(job_error_count(job) == (uint32_t)cases[i].times, "status %d: %u errors",
                  cases[i].status, job_error_count(job));
        http_stats st;
        http_stats_get(cases[i].path, &st);
        CHECK_EQ_U64(st.requests, (uint64_t)cases[i].times + 1);
        CHECK_EQ_INT(st.n_statuses, cases[i].times + 1);
        for (int k = 0; k < cases[i].times && k < st.n_statuses; k++)
            CHECK_EQ_INT(st.statuses[k], cases[i].status);
        CHECK_EQ_INT(st.statuses[cases[i].times], 200);
        CHECK_EQ_U64(st.bytes, size);
        CHECK_OK(bg_job_complete(job));
        CHECK_MSG(content_check_file(cases[i].local, size, (uint64_t)cases[i].status, 0), "%s",
                  cases[i].local);
        CHECK_OK(bg_job_release(job));
    }
}

/* The TRANSIENT_ERROR itself, held for a second by MinimumRetryDelay 1 s so that polling sees
 * it: the error object of a 500, then the automatic retry. */
static void transient_error_object(bg_manager m)
{
    char url[512], local[4200];
    const char *path = "/data/4k/errors/observe-500";
    http_url(url, sizeof url, 0, "%s?seed=9&status=500&status_times=1", path);
    bg_job job = new_job(m, "observe-500", 1);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "observe-500")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK_HR(BG_E_HTTP_ERROR_500, e.code);
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    CHECK_EQ_INT(e.file_index, 0);
    CHECK(strstr(desc, path) != NULL);
    CHECK_EQ_INT(job_error_count(job), 1);
    /* Automatic retry (T13), no Resume needed. */
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &e, NULL, 0, NULL));
    CHECK_OK(bg_job_complete(job));
    CHECK(content_check_file(local, 4096, 9, 0));
    CHECK_OK(bg_job_release(job));
}

/* ---- Retry-After ------------------------------------------------------------------------- */

static void retry_after(bg_manager m)
{
    char url[512], la[4200], lb[4200], lc[4200];
    /* A: 503 without Retry-After (retried after the 50 ms floor); B: Retry-After: 1;
     * C: Retry-After: 3600; all three MinimumRetryDelay 0. D (below): MinimumRetryDelay 60 s.
     * The delay is max(MinimumRetryDelay, floor, Retry-After). */
    const char *pa = "/data/1k/errors/ra-none", *pb = "/data/1k/errors/ra-1",
               *pc = "/data/1k/errors/ra-3600";
    bg_job a = new_job(m, "ra-none", 0), b = new_job(m, "ra-1", 0), c = new_job(m, "ra-3600", 0);
    http_url(url, sizeof url, 0, "%s?seed=1&status=503&status_times=1", pa);
    REQUIRE_OK(bg_job_add_file(a, url, local_path(la, sizeof la, "ra-none")));
    http_url(url, sizeof url, 0, "%s?seed=2&status=503&status_times=1&retry_after=1", pb);
    REQUIRE_OK(bg_job_add_file(b, url, local_path(lb, sizeof lb, "ra-1")));
    http_url(url, sizeof url, 0, "%s?seed=3&status=503&status_times=1&retry_after=3600", pc);
    REQUIRE_OK(bg_job_add_file(c, url, local_path(lc, sizeof lc, "ra-3600")));
    /* D: no Retry-After, MinimumRetryDelay 60 s. */
    char ld[4200];
    const char *pd = "/data/1k/errors/mrd-60";
    bg_job d = new_job(m, "mrd-60", 60);
    http_url(url, sizeof url, 0, "%s?seed=4&status=503&status_times=1", pd);
    REQUIRE_OK(bg_job_add_file(d, url, local_path(ld, sizeof ld, "mrd-60")));
    REQUIRE_OK(bg_job_resume(d));
    REQUIRE_OK(bg_job_resume(c));
    REQUIRE_OK(bg_job_resume(b));
    CHECK(wait_state(d, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    CHECK(wait_state(c, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    CHECK(wait_state(b, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    bg_job_error e;
    CHECK_OK(job_error(b, &e, NULL, 0));
    CHECK_HR(BG_E_HTTP_ERROR_503, e.code);
    REQUIRE_OK(bg_job_resume(a));

    /* B was seen in TRANSIENT_ERROR while the server had had one request from it; when A
     * (floor only) has failed, retried and finished, B and C are still waiting on their
     * Retry-After, with one request each. */
    http_stats st;
    http_stats_get(pb, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_EQ_INT(wait_final(a, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(a), 1);
    CHECK_EQ_INT(job_state(b), BG_JOB_STATE_TRANSIENT_ERROR);
    CHECK_EQ_INT(job_state(c), BG_JOB_STATE_TRANSIENT_ERROR);
    CHECK_EQ_INT(job_state(d), BG_JOB_STATE_TRANSIENT_ERROR);
    http_stats_get(pd, &st);
    CHECK_EQ_U64(st.requests, 1);
    http_stats_get(pb, &st);
    CHECK_EQ_U64(st.requests, 1);
    http_stats_get(pc, &st);
    CHECK_EQ_U64(st.requests, 1);
    http_stats_get(pa, &st);
    CHECK_EQ_U64(st.requests, 2);

    /* B goes on by itself after its second. */
    CHECK_EQ_INT(wait_final(b, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(b), 1);
    http_stats_get(pb, &st);
    CHECK_EQ_U64(st.requests, 2);

    /* C would wait an hour: still TRANSIENT_ERROR with one request; Resume retries at once. */
    CHECK_EQ_INT(job_state(c), BG_JOB_STATE_TRANSIENT_ERROR);
    http_stats_get(pc, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_OK(bg_job_resume(c));
    CHECK_EQ_INT(wait_final(c, 30000), BG_JOB_STATE_TRANSFERRED);
    http_stats_get(pc, &st);
    CHECK_EQ_U64(st.requests, 2);

    /* D likewise waits its minute; Resume retries at once. */
    CHECK_EQ_INT(job_state(d), BG_JOB_STATE_TRANSIENT_ERROR);
    http_stats_get(pd, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_OK(bg_job_resume(d));
    CHECK_EQ_INT(wait_final(d, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(d));
    CHECK(content_check_file(ld, 1024, 4, 0));
    bg_job_release(d);

    CHECK_OK(bg_job_complete(a));
    CHECK_OK(bg_job_complete(b));
    CHECK_OK(bg_job_complete(c));
    CHECK(content_check_file(la, 1024, 1, 0));
    CHECK(content_check_file(lb, 1024, 2, 0));
    CHECK(content_check_file(lc, 1024, 3, 0));
    bg_job_release(a);
    bg_job_release(b);
    bg_job_release(c);
}

/* ---- connection refused ------------------------------------------------------------------ */

static void connection_refused(bg_manager m)
{
    int port = unused_port();
    REQUIRE(port > 0);
    char url[512], local[4200], where[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data/1k/errors/refused", port);
    snprintf(where, sizeof where, "127.0.0.1:%d/data/1k/errors/refused", port);
    printf("connection refused: %s\n", url);

    /* Held in TRANSIENT_ERROR by MinimumRetryDelay 60 s: look at the error object. */
    bg_job job = new_job(m, "refused", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "refused")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    print_error("connection refused", job);
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK_HR(BG_E_CONNECT_FAILURE, e.code);
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_GENERAL_TRANSPORT);
    CHECK_EQ_INT(e.file_index, 0);
    CHECK_MSG(strstr(desc, where) != NULL, "description \"%s\" lacks %s", desc, where);
    CHECK_EQ_INT(job_error_count(job), 1);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));

    /* With MinimumRetryDelay 0 it is retried (every 50 ms), each failure counted. */
    job = new_job(m, "refused-retried", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "refused-retried")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_error_count(job, 3, 30000));
    bg_job_state s = job_state(job);
    CHECK(s != BG_JOB_STATE_ERROR && s != BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));

    /* NoProgressTimeout 0: the first connect failure is fatal. */
    job = new_job(m, "refused-fatal", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "refused-fatal")));
    CHECK_OK(bg_job_set_no_progress_timeout(job, 0));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_ERROR);
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK_HR(BG_E_CONNECT_FAILURE, e.code);
    CHECK_EQ_INT(job_error_count(job), 1);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- NoProgressTimeout ------------------------------------------------------------------- */

static void no_progress_timeout(bg_manager m)
{
    char url[512], local[4200];
    http_stats st;

    /* 1 s against a server that always answers 503: retried every 50 ms for about a second,
     * then ERROR (T14), with the 503 as the error. */
    const char *p1 = "/data/1k/errors/npt-1";
    http_url(url, sizeof url, 0, "%s?status=503", p1);
    bg_job job = new_job(m, "npt-1", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "npt-1")));
    CHECK_OK(bg_job_set_no_progress_timeout(job, 1));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_ERROR);
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK_HR(BG_E_HTTP_ERROR_503, e.code);
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    uint32_t count = job_error_count(job);
    http_stats_get(p1, &st);
    printf("NoProgressTimeout 1 s: %u errors, %" PRIu64 " requests\n", count, st.requests);
    CHECK(count >= 2);
    CHECK_EQ_U64(st.requests, count);
    /* It stays in ERROR: no more requests. Resume starts over. */
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_ERROR);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));

    /* 0: the first 503 is fatal. */
    const char *p0 = "/data/1k/errors/npt-0";
    http_url(url, sizeof url, 0, "%s?status=503", p0);
    job = new_job(m, "npt-0", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "npt-0")));
    CHECK_OK(bg_job_set_no_progress_timeout(job, 0));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_ERROR);
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    CHECK_HR(BG_E_HTTP_ERROR_503, e.code);
    CHECK_EQ_INT(e.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(p0, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

/* Progress resets the NoProgressTimeout clock (T14): a download cut six times, each time
 * after new bytes, finishes although it takes far longer than NoProgressTimeout 1 s.
 * MinimumRetryDelay above NoProgressTimeout: no retry at all (T15). */
static void no_progress_reset(bg_manager m)
{
    char url[512], local[4200];
    const uint64_t size = 600 * 1024;
    const char *path = "/data/600k/errors/npt-progress";
    /* 100,000 bytes per response at 200 KiB/s: half a second of progress between the cuts. */
    http_url(url, sizeof url, 0, "%s?seed=61&drop=100000&trickle=200k", path);
    bg_job job = new_job(m, "npt-progress", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "npt-progress")));
    CHECK_OK(bg_job_set_no_progress_timeout(job, 1));
    uint64_t t0 = now_ms();
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    if (job_state(job) != BG_JOB_STATE_TRANSFERRED) print_error("npt-progress", job);
    printf("cut 6 times, transferred after %" PRIu64 " ms with NoProgressTimeout 1 s\n",
           now_ms() - t0);
    CHECK_EQ_INT(job_error_count(job), 6);
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 7);
    CHECK_EQ_U64(st.bytes, size);
    CHECK_OK(bg_job_complete(job));
    CHECK(content_check_file(local, size, 61, 0));
    bg_job_release(job);

    const char *p15 = "/data/1k/errors/npt-t15";
    http_url(url, sizeof url, 0, "%s?status=503", p15);
    job = new_job(m, "npt-t15", 10);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "npt-t15")));
    CHECK_OK(bg_job_set_no_progress_timeout(job, 5));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_failed(job, 30000), BG_JOB_STATE_ERROR);
    bg_job_error e;
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK_HR(BG_E_HTTP_ERROR_503, e.code);
    CHECK_EQ_INT(job_error_count(job), 1);
    http_stats_get(p15, &st);
    CHECK_EQ_U64(st.requests, 1);
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);
}

/* ---- credentials ------------------------------------------------------------------------- */

static void check_no_secret(bg_job job, const char *secret, const char *path)
{
    bg_job_error e;
    char desc[2048];
    CHECK_OK(job_error(job, &e, desc, sizeof desc));
    printf("  description: %s\n", desc);
    CHECK_MSG(strstr(desc, secret) == NULL, "description \"%s\" shows the password", desc);
    if (path) CHECK_MSG(strstr(desc, path) != NULL, "description \"%s\" lacks %s", desc, path);
}

static void credentials(bg_manager m)
{
    const char *secret = "Sup3rSecretPw";
    char url[512], local[4200];
    int port = http_port(0);

    /* 404 */
    snprintf(url, sizeof url, "http://alice:%s@127.0.0.1:%d/data/1k/errors/creds-404?status=404",
             secret, port);
    bg_job job = new_job(m, "creds-404", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "creds-404")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_ERROR);
    check_no_secret(job, secret, "/errors/creds-404");
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* Wrong credentials: 401. */
    snprintf(url, sizeof url,
             "http://alice:%s@127.0.0.1:%d/data/1k/errors/creds-401?auth=alice:other", secret,
             port);
    job = new_job(m, "creds-401", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "creds-401")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_ERROR);
    bg_job_error e;
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK_HR(BG_E_HTTP_ERROR_401, e.code);
    check_no_secret(job, secret, "/errors/creds-401");
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* Right credentials: the download works. */
    snprintf(url, sizeof url,
             "http://alice:%s@127.0.0.1:%d/data/3k/errors/creds-ok?seed=5&auth=alice:%s", secret,
             port, secret);
    job = new_job(m, "creds-ok", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "creds-ok")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    CHECK(content_check_file(local, 3072, 5, 0));
    bg_job_release(job);

    /* A transient failure (503, held by MinimumRetryDelay 60 s). */
    snprintf(url, sizeof url, "http://alice:%s@127.0.0.1:%d/data/1k/errors/creds-503?status=503",
             secret, port);
    job = new_job(m, "creds-503", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "creds-503")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    check_no_secret(job, secret, "/errors/creds-503");
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* Connection refused. */
    int dead = unused_port();
    snprintf(url, sizeof url, "http://alice:%s@127.0.0.1:%d/errors/creds-refused", secret, dead);
    job = new_job(m, "creds-refused", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "creds-refused")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_state(job, BG_JOB_STATE_TRANSIENT_ERROR, 30000));
    check_no_secret(job, secret, "/errors/creds-refused");
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);

    /* A server that answers every request with a 206 for another range: the engine restarts
     * the file a few times, then reports the server; the description must not show the
     * password either. */
    script_server s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < SCRIPT_MAX; i++)
        script_add(&s, 1, 0, 5, 5, 1,
                   "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-9/100\r\n"
                   "Content-Length: 5\r\nETag: \"x\"\r\nConnection: close\r\n\r\n");
    REQUIRE(script_server_start(&s) == 0);
    snprintf(url, sizeof url, "http://alice:%s@127.0.0.1:%d/errors/creds-restarts", secret,
             s.port);
    job = new_job(m, "creds-restarts", 60);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "creds-restarts")));
    REQUIRE_OK(bg_job_resume(job));
    uint64_t end = now_ms() + 30000;
    bg_job_state st;
    while ((st = job_state(job)) != BG_JOB_STATE_TRANSIENT_ERROR && st != BG_JOB_STATE_ERROR &&
           now_ms() < end)
        sleep_ms(2);
    print_error("a server that always answers another range", job);
    CHECK(st == BG_JOB_STATE_TRANSIENT_ERROR || st == BG_JOB_STATE_ERROR);
    check_no_secret(job, secret, "/errors/creds-restarts");
    char head[2048];
    printf("  the scripted server got %d requests\n", script_request(&s, 0, head, sizeof head));
    CHECK_OK(bg_job_cancel(job));
    bg_job_release(job);
    script_server_stop(&s);
}

/* ---- Resume from ERROR ------------------------------------------------------------------- */

static void resume_from_error(bg_manager m)
{
    char url[512], local[4200];
    const uint64_t size = 70000;
    const char *path = "/data/70000/errors/resume-after-404";
    http_url(url, sizeof url, 0, "%s?seed=44&status=404&status_times=1", path);
    bg_job job = new_job(m, "resume-after-404", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local_path(local, sizeof local, "resume-after-404")));
    REQUIRE_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_ERROR);
    bg_job_error e;
    CHECK_OK(job_error(job, &e, NULL, 0));
    CHECK_HR(BG_E_HTTP_ERROR_404, e.code);
    CHECK_EQ_INT(job_error_count(job), 1);
    /* The cause is gone (the server answers 404 once): Resume. */
    CHECK_OK(bg_job_resume(job));
    CHECK_EQ_INT(wait_final(job, 30000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 1);
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &e, NULL, 0, NULL));
    CHECK_OK(bg_job_complete(job));
    CHECK(content_check_file(local, size, 44, 0));
    http_stats st;
    http_stats_get(path, &st);
    CHECK_EQ_U64(st.requests, 2);
    CHECK_EQ_INT(st.n_statuses, 2);
    CHECK_EQ_INT(st.statuses[0], 404);
    CHECK_EQ_INT(st.statuses[1], 200);
    bg_job_release(job);
}

int main(void)
{
    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    bg_manager m = fast_manager();

    printf("-- fatal statuses\n");
    fatal_statuses(m);
    printf("-- transient statuses\n");
    transient_statuses(m);
    transient_error_object(m);
    printf("-- Retry-After\n");
    retry_after(m);
    printf("-- connection refused\n");
    connection_refused(m);
    printf("-- NoProgressTimeout\n");
    no_progress_timeout(m);
    no_progress_reset(m);
    printf("-- credentials\n");
    credentials(m);
    printf("-- Resume from ERROR\n");
    resume_from_error(m);

    CHECK_OK(bg_manager_close(m));
    if (harness_failed_ == 0) remove_tree(g_dir);
    TEST_MAIN_END();
}
