/*
 * test_bad_input.c — every bg_* function of the header (not bg_test_*) fed bad input: NULL
 * pointers, invalid UTF-8, relative and over-long paths, over-long names, malformed URLs,
 * unknown enum values, and zero / released / invented / wrong-kind handles.
 *
 * Each bad call must return the documented code (header docs; API.md "Argument errors"), and
 * leave everything as it was:
 *  - out-params are pre-filled with a sentinel pattern (0xA5) and must still hold it after a
 *    failure ("out-params are written only on success"; the one exception, *out_needed /
 *    *out_count on BG_E_INSUFFICIENT_BUFFER, is checked for its documented value);
 *  - the reference job (SUSPENDED, one file) must be unchanged: file count, display name,
 *    description, state, progress, every property, error count, modification time; and the
 *    manager's job list must be unchanged.
 * A failure prints the call as written, e.g.
 *   "bg_job_add_file(g.job, "http://", g.dest_new): expected 0x80070057 got 0x00000000".
 */
#include "harness.h"

/* Part 1 of job_helpers.h only (repeat(), job_state()). */
#define JOB_HELPERS_BASIC_ONLY
#include "job_helpers.h"

#include <stdatomic.h>

/* ---- the sentinel area: every out-param of a bad call points into it ---------------------- */

#define SENT_SIZE 8192
static union {
    unsigned char b[SENT_SIZE];
    uint64_t align_;
} g_s;

#define OUT_U32 ((uint32_t *)(void *)g_s.b)
#define OUT_I32 ((int32_t *)(void *)g_s.b)
#define OUT_U64 ((uint64_t *)(void *)g_s.b)
#define OUT_GUID ((bg_guid *)(void *)g_s.b)
#define OUT_JOB ((bg_job *)(void *)g_s.b)
#define OUT_MGR ((bg_manager *)(void *)g_s.b)
#define OUT_PROGRESS ((bg_job_progress *)(void *)g_s.b)
#define OUT_FPROGRESS ((bg_file_progress *)(void *)g_s.b)
#define OUT_TIMES ((bg_job_times *)(void *)g_s.b)
#define OUT_ERROR ((bg_job_error *)(void *)g_s.b)
#define OUT_JOB2 ((bg_job *)(void *)(g_s.b + 64)) /* a second out-param (create_job) */
#define OUT_CALLBACKS ((bg_job_callbacks *)(void *)g_s.b)
#define OUT_USER_DATA ((void **)(void *)(g_s.b + 128))
#define BUF ((char *)(g_s.b + 1024))
#define BUF_CAP ((size_t)2048)
#define NEEDED ((size_t *)(void *)(g_s.b + 4096))
#define OUT_IDS ((bg_guid *)(void *)(g_s.b + 5120))

static void sent_reset(void) { memset(g_s.b, 0xA5, sizeof g_s.b); }

/* 1 if bytes [0, SENT_SIZE) except [skip_at, skip_at + skip_len) still hold the sentinel. */
static int sent_untouched_except(size_t skip_at, size_t skip_len)
{
    for (size_t i = 0; i < SENT_SIZE; i++) {
        if (i >= skip_at && i < skip_at + skip_len) continue;
        if (g_s.b[i] != 0xA5) return 0;
    }
    return 1;
}

/* ---- the world the bad calls run against --------------------------------------------------- */

static struct {
    char dir[4096];
    char src[4096];
    char src_url[4200];
    char dest[4096];     /* the reference job's file */
    char dest_new[4096]; /* a valid, unused destination */
    bg_manager m;
    bg_job job;          /* the reference job: SUSPENDED, one file */
    bg_guid id;
    bg_job err_job;      /* a job in ERROR (its source is missing) */
    bg_job stale;        /* a released job handle */
    bg_job orphan;       /* a job handle whose manager was closed */
    bg_manager closed;   /* a closed manager handle */
} g;

/* ---- snapshots of the reference job and the manager ------------------------------------- */

typedef struct {
    uint32_t files;
    char name[1100];
    char desc[4200];
    bg_job_state state;
    bg_job_progress progress;
    bg_job_priority priority;
    uint32_t notify, min_retry, no_progress, max_dl, security, error_count, notif_interval;
    uint64_t max_rate;
    char cmd_line[4200];
    int32_t cmd_line_hr;
    bg_job_callbacks callbacks;
    void *user_data;
    bg_job_times times;
    size_t jobs;
    bg_guid ids[64];
} snap_t;

static int take_snapshot(snap_t *s)
{
    memset(s, 0, sizeof *s);
    size_t needed = 0;
    int ok = 1;
    ok &= bg_job_get_file_count(g.job, &s->files) == S_OK;
    ok &= bg_job_get_display_name(g.job, s->name, sizeof s->name, &needed) == S_OK;
    ok &= bg_job_get_description(g.job, s->desc, sizeof s->desc, &needed) == S_OK;
    ok &= bg_job_get_state(g.job, &s->state) == S_OK;
    ok &= bg_job_get_progress(g.job, &s->progress) == S_OK;
    ok &= bg_job_get_priority(g.job, &s->priority) == S_OK;
    ok &= bg_job_get_notify_flags(g.job, &s->notify) == S_OK;
    ok &= bg_job_get_minimum_retry_delay(g.job, &s->min_retry) == S_OK;
    ok &= bg_job_get_no_progress_timeout(g.job, &s->no_progress) == S_OK;
    ok &= bg_job_get_maximum_download_time(g.job, &s->max_dl) == S_OK;
    ok &= bg_job_get_security_flags(g.job, &s->security) == S_OK;
    ok &= bg_job_get_error_count(g.job, &s->error_count) == S_OK;
    ok &= bg_job_get_times(g.job, &s->times) == S_OK;
    ok &= bg_job_get_minimum_notification_interval(g.job, &s->notif_interval) == S_OK;
    ok &= bg_job_get_max_rate(g.job, &s->max_rate) == S_OK;
    s->cmd_line_hr = bg_job_get_notify_cmd_line(g.job, s->cmd_line, sizeof s->cmd_line, &needed);
    ok &= s->cmd_line_hr >= 0;
    ok &= bg_job_get_callbacks(g.job, &s->callbacks, &s->user_data) == S_OK;
    int32_t hr = bg_manager_enum_jobs(g.m, 0, s->ids, 64, &s->jobs);
    ok &= hr == S_OK;
    return ok;
}

static const char *snap_diff(const snap_t *a, const snap_t *b)
{
    if (a->files != b->files) return "file count";
    if (strcmp(a->name, b->name) != 0) return "display name";
    if (strcmp(a->desc, b->desc) != 0) return "description";
    if (a->state != b->state) return "state";
    if (memcmp(&a->progress, &b->progress, sizeof a->progress) != 0) return "progress";
    if (a->priority != b->priority) return "priority";
    if (a->notify != b->notify) return "notify flags";
    if (a->min_retry != b->min_retry) return "minimum retry delay";
    if (a->no_progress != b->no_progress) return "no-progress timeout";
    if (a->max_dl != b->max_dl) return "maximum download time";
    if (a->security != b->security) return "security flags";
    if (a->error_count != b->error_count) return "error count";
    if (a->notif_interval != b->notif_interval) return "minimum notification interval";
    if (a->max_rate != b->max_rate) return "max rate";
    if (a->cmd_line_hr != b->cmd_line_hr || strcmp(a->cmd_line, b->cmd_line) != 0)
        return "notify command line";
    if (memcmp(&a->callbacks, &b->callbacks, sizeof a->callbacks) != 0 ||
        a->user_data != b->user_data)
        return "callbacks";
    if (memcmp(&a->times, &b->times, sizeof a->times) != 0) return "times";
    if (a->jobs != b->jobs || memcmp(a->ids, b->ids, sizeof(bg_guid) * (a->jobs < 64 ? a->jobs : 64)))
        return "the manager's job list";
    return NULL;
}

static snap_t g_before;

/* Checks one bad call: its code, the sentinel area (all of it, or all but the `needed` slot
 * when `needed_at` >= 0, which must then hold `needed_value`), and the snapshot. */
static void bad_check_(int line, const char *call, int32_t expected, int32_t got, long needed_at,
                       size_t needed_len, uint64_t needed_value)
{
    if (got == expected) {
        harness_passed_++;
    } else {
        harness_fail_(__FILE__, line, "%s: expected 0x%08" PRIX32 " (%s) got 0x%08" PRIX32 " (%s)",
                      call, (uint32_t)expected, harness_msg_(expected), (uint32_t)got,
                      harness_msg_(got));
    }
    if (needed_at >= 0) {
        uint64_t v = 0;
        if (needed_len == sizeof(size_t)) {
            size_t t;
            memcpy(&t, g_s.b + needed_at, sizeof t);
            v = t;
        }
        if (v == needed_value) {
            harness_passed_++;
        } else {
            harness_fail_(__FILE__, line, "%s: *out_needed/*out_count = %" PRIu64 ", expected %" PRIu64,
                          call, v, needed_value);
        }
    }
    if (sent_untouched_except(needed_at >= 0 ? (size_t)needed_at : 0,
                              needed_at >= 0 ? needed_len : 0)) {
        harness_passed_++;
    } else {
        harness_fail_(__FILE__, line, "%s: an out-param was written on failure", call);
    }
    snap_t after;
    if (!take_snapshot(&after)) {
        harness_fail_(__FILE__, line, "%s: the reference job can no longer be read", call);
        return;
    }
    const char *diff = snap_diff(&g_before, &after);
    if (diff == NULL) {
        harness_passed_++;
    } else {
        harness_fail_(__FILE__, line, "%s: changed the reference job's %s", call, diff);
    }
}

/* BAD(expected, call): a bad call that must fail with `expected` and change nothing. */
#define BAD(expected, call)                                                            \
    do {                                                                               \
        sent_reset();                                                                  \
        (void)take_snapshot(&g_before);                                                \
        int32_t bad_got_ = (int32_t)(call);                                            \
        bad_check_(__LINE__, #call, (expected), bad_got_, -1, 0, 0);                   \
    } while (0)

/* BAD_NEEDED(expected, call, n): as BAD, but *NEEDED must hold n afterwards. */
#define BAD_NEEDED(expected, call, n)                                                  \
    do {                                                                               \
        sent_reset();                                                                  \
        (void)take_snapshot(&g_before);                                                \
        int32_t bad_got_ = (int32_t)(call);                                            \
        bad_check_(__LINE__, #call, (expected), bad_got_, 4096, sizeof(size_t), (n)); \
    } while (0)

/* ---- helpers ----------------------------------------------------------------------------- */

/* A path of exactly `len` bytes under g.dir whose directories exist (created here). */
static char *path_of_length(size_t len)
{
    char *p = (char *)malloc(len + 1);
    if (p == NULL) abort();
    size_t n = strlen(g.dir);
    memcpy(p, g.dir, n + 1);
    while (len - n - 1 > 255) {
        p[n++] = '/';
        memset(p + n, 'd', 200);
        n += 200;
        p[n] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "mkdir(%s): %s\n", p, strerror(errno));
            abort();
        }
    }
    p[n++] = '/';
    memset(p + n, 'f', len - n);
    p[len] = '\0';
    return p;
}

/* "http://h/" followed by 100-character segments, exactly `len` characters long. */
static char *http_url_of_length(size_t len)
{
    char *u = (char *)malloc(len + 1);
    if (u == NULL) abort();
    memcpy(u, "http://h/", 9);
    for (size_t n = 9; n < len; n++) u[n] = ((n - 9) % 101 == 100) ? '/' : 'a';
    u[len] = '\0';
    return u;
}

/* ---- handles: every function × every kind of bad handle ------------------------------------ */

typedef int32_t (*job_call)(bg_job h);

static int32_t jc_add_file(bg_job h) { return bg_job_add_file(h, g.src_url, g.dest_new); }
static int32_t jc_file_count(bg_job h) { return bg_job_get_file_count(h, OUT_U32); }
static int32_t jc_file_progress(bg_job h) { return bg_job_get_file_progress(h, 0, OUT_FPROGRESS); }
static int32_t jc_remote_name(bg_job h) { return bg_job_get_file_remote_name(h, 0, BUF, BUF_CAP, NEEDED); }
static int32_t jc_local_name(bg_job h) { return bg_job_get_file_local_name(h, 0, BUF, BUF_CAP, NEEDED); }
static int32_t jc_temp_name(bg_job h) { return bg_job_get_file_temp_name(h, 0, BUF, BUF_CAP, NEEDED); }
static int32_t jc_resume(bg_job h) { return bg_job_resume(h); }
static int32_t jc_suspend(bg_job h) { return bg_job_suspend(h); }
static int32_t jc_cancel(bg_job h) { return bg_job_cancel(h); }
static int32_t jc_complete(bg_job h) { return bg_job_complete(h); }
static int32_t jc_wait(bg_job h) { return bg_job_wait(h, 0, OUT_I32); }
static int32_t jc_release(bg_job h) { return bg_job_release(h); }
static int32_t jc_id(bg_job h) { return bg_job_get_id(h, OUT_GUID); }
static int32_t jc_type(bg_job h) { return bg_job_get_type(h, OUT_I32); }
static int32_t jc_state(bg_job h) { return bg_job_get_state(h, OUT_I32); }
static int32_t jc_progress(bg_job h) { return bg_job_get_progress(h, OUT_PROGRESS); }
static int32_t jc_times(bg_job h) { return bg_job_get_times(h, OUT_TIMES); }
static int32_t jc_error(bg_job h) { return bg_job_get_error(h, OUT_ERROR, BUF, BUF_CAP, NEEDED); }
static int32_t jc_error_count(bg_job h) { return bg_job_get_error_count(h, OUT_U32); }
static int32_t jc_set_name(bg_job h) { return bg_job_set_display_name(h, "changed"); }
static int32_t jc_get_name(bg_job h) { return bg_job_get_display_name(h, BUF, BUF_CAP, NEEDED); }
static int32_t jc_set_desc(bg_job h) { return bg_job_set_description(h, "changed"); }
static int32_t jc_get_desc(bg_job h) { return bg_job_get_description(h, BUF, BUF_CAP, NEEDED); }
static int32_t jc_set_prio(bg_job h) { return bg_job_set_priority(h, BG_JOB_PRIORITY_LOW); }
static int32_t jc_get_prio(bg_job h) { return bg_job_get_priority(h, OUT_I32); }
static int32_t jc_set_retry(bg_job h) { return bg_job_set_minimum_retry_delay(h, 60); }
static int32_t jc_get_retry(bg_job h) { return bg_job_get_minimum_retry_delay(h, OUT_U32); }
static int32_t jc_set_nop(bg_job h) { return bg_job_set_no_progress_timeout(h, 60); }
static int32_t jc_get_nop(bg_job h) { return bg_job_get_no_progress_timeout(h, OUT_U32); }
static int32_t jc_set_notify(bg_job h) { return bg_job_set_notify_flags(h, BG_NOTIFY_DISABLE); }
static int32_t jc_get_notify(bg_job h) { return bg_job_get_notify_flags(h, OUT_U32); }
static int32_t jc_set_maxdl(bg_job h) { return bg_job_set_maximum_download_time(h, 60); }
static int32_t jc_get_maxdl(bg_job h) { return bg_job_get_maximum_download_time(h, OUT_U32); }
static int32_t jc_set_sec(bg_job h) { return bg_job_set_security_flags(h, BG_SSL_IGNORE_UNKNOWN_CA); }
static int32_t jc_get_sec(bg_job h) { return bg_job_get_security_flags(h, OUT_U32); }

static atomic_int g_frees; /* user_data_free calls */
static void count_free(void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&g_frees, 1);
}
static void on_transferred(void *user_data, bg_job job)
{
    (void)user_data;
    (void)job;
}
static const bg_job_callbacks CALLBACKS = {on_transferred, NULL, NULL, NULL};
static int g_token;

static int32_t jc_set_callbacks(bg_job h)
{
    int before = atomic_load(&g_frees);
    int32_t hr = bg_job_set_callbacks(h, &CALLBACKS, &g_token, count_free);
    /* a refused call takes nothing: user_data_free is not called (header: "nothing is taken") */
    CHECK_MSG(atomic_load(&g_frees) == before, "user_data_free called by a refused set_callbacks");
    return hr;
}
static int32_t jc_get_callbacks(bg_job h) { return bg_job_get_callbacks(h, OUT_CALLBACKS, OUT_USER_DATA); }
static int32_t jc_set_cmd(bg_job h) { return bg_job_set_notify_cmd_line(h, "/bin/true", NULL, 0); }
static int32_t jc_get_cmd(bg_job h) { return bg_job_get_notify_cmd_line(h, BUF, BUF_CAP, NEEDED); }
static int32_t jc_set_interval(bg_job h) { return bg_job_set_minimum_notification_interval(h, 100); }
static int32_t jc_get_interval(bg_job h) { return bg_job_get_minimum_notification_interval(h, OUT_U32); }
static int32_t jc_set_max_rate(bg_job h) { return bg_job_set_max_rate(h, 1000); }
static int32_t jc_get_max_rate(bg_job h) { return bg_job_get_max_rate(h, OUT_U64); }

static const struct {
    const char *name;
    job_call call;
} JOB_CALLS[] = {
    {"bg_job_set_callbacks", jc_set_callbacks},
    {"bg_job_get_callbacks", jc_get_callbacks},
    {"bg_job_set_notify_cmd_line", jc_set_cmd},
    {"bg_job_get_notify_cmd_line", jc_get_cmd},
    {"bg_job_set_minimum_notification_interval", jc_set_interval},
    {"bg_job_get_minimum_notification_interval", jc_get_interval},
    {"bg_job_set_max_rate", jc_set_max_rate},
    {"bg_job_get_max_rate", jc_get_max_rate},
    {"bg_job_add_file", jc_add_file},
    {"bg_job_get_file_count", jc_file_count},
    {"bg_job_get_file_progress", jc_file_progress},
    {"bg_job_get_file_remote_name", jc_remote_name},
    {"bg_job_get_file_local_name", jc_local_name},
    {"bg_job_get_file_temp_name", jc_temp_name},
    {"bg_job_resume", jc_resume},
    {"bg_job_suspend", jc_suspend},
    {"bg_job_cancel", jc_cancel},
    {"bg_job_complete", jc_complete},
    {"bg_job_wait", jc_wait},
    {"bg_job_get_id", jc_id},
    {"bg_job_get_type", jc_type},
    {"bg_job_get_state", jc_state},
    {"bg_job_get_progress", jc_progress},
    {"bg_job_get_times", jc_times},
    {"bg_job_get_error", jc_error},
    {"bg_job_get_error_count", jc_error_count},
    {"bg_job_set_display_name", jc_set_name},
    {"bg_job_get_display_name", jc_get_name},
    {"bg_job_set_description", jc_set_desc},
    {"bg_job_get_description", jc_get_desc},
    {"bg_job_set_priority", jc_set_prio},
    {"bg_job_get_priority", jc_get_prio},
    {"bg_job_set_minimum_retry_delay", jc_set_retry},
    {"bg_job_get_minimum_retry_delay", jc_get_retry},
    {"bg_job_set_no_progress_timeout", jc_set_nop},
    {"bg_job_get_no_progress_timeout", jc_get_nop},
    {"bg_job_set_notify_flags", jc_set_notify},
    {"bg_job_get_notify_flags", jc_get_notify},
    {"bg_job_set_maximum_download_time", jc_set_maxdl},
    {"bg_job_get_maximum_download_time", jc_get_maxdl},
    {"bg_job_set_security_flags", jc_set_sec},
    {"bg_job_get_security_flags", jc_get_sec},
    {"bg_job_release", jc_release}, /* last: a bad release must not release anything */
};

typedef int32_t (*mgr_call)(bg_manager h);

static int32_t mc_close(bg_manager h) { return bg_manager_close(h); }
static int32_t mc_create(bg_manager h)
{
    return bg_manager_create_job(h, "never", BG_JOB_TYPE_DOWNLOAD, OUT_GUID, OUT_JOB2);
}
static int32_t mc_get_job(bg_manager h) { return bg_manager_get_job(h, &g.id, OUT_JOB); }
static int32_t mc_enum(bg_manager h) { return bg_manager_enum_jobs(h, 0, OUT_IDS, 4, NEEDED); }
static int32_t mc_set_option(bg_manager h)
{
    return bg_manager_set_option(h, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 2);
}
static int32_t mc_get_option(bg_manager h)
{
    return bg_manager_get_option(h, BG_OPTION_MAX_BACKGROUND_TRANSFERS, OUT_U64);
}

static const struct {
    const char *name;
    mgr_call call;
} MGR_CALLS[] = {
    {"bg_manager_create_job", mc_create}, {"bg_manager_get_job", mc_get_job},
    {"bg_manager_enum_jobs", mc_enum},    {"bg_manager_set_option", mc_set_option},
    {"bg_manager_get_option", mc_get_option}, {"bg_manager_close", mc_close},
};

static void test_handles(void)
{
    const struct {
        const char *what;
        uint64_t h;
    } bad_jobs[] = {
        {"zero", 0},
        {"released", g.stale},
        {"of a closed manager", g.orphan},
        {"a manager handle", g.m},
        {"a closed manager handle", g.closed},
        {"invented UINT64_MAX", UINT64_MAX},
        {"invented 0xDEADBEEFDEADBEEF", 0xDEADBEEFDEADBEEFull},
        {"invented 1", 1},
        {"invented 0x7FFFFFFF", 0x7FFFFFFF},
        {"the reference job's slot, another generation", g.job ^ (1ull << 32)},
        {"the reference job + 2^40", g.job + (1ull << 40)},
    }, bad_mgrs[] = {
        {"zero", 0},
        {"closed", g.closed},
        {"a job handle", g.job},
        {"a released job handle", g.stale},
        {"invented UINT64_MAX", UINT64_MAX},
        {"invented 0xDEADBEEFDEADBEEF", 0xDEADBEEFDEADBEEFull},
        {"invented 1", 1},
        {"the manager's slot, another generation", g.m ^ (1ull << 32)},
    };
    const uint64_t live[] = {g.job, g.err_job, g.m};

    for (size_t k = 0; k < sizeof bad_jobs / sizeof bad_jobs[0]; k++) {
        int is_live = 0;
        for (size_t l = 0; l < sizeof live / sizeof live[0]; l++)
            is_live |= bad_jobs[k].h == live[l] && live[l] != g.m;
        if (is_live) continue; /* an "invented" value that happens to be real */
        for (size_t i = 0; i < sizeof JOB_CALLS / sizeof JOB_CALLS[0]; i++) {
            char call[256];
            snprintf(call, sizeof call, "%s(job handle: %s)", JOB_CALLS[i].name, bad_jobs[k].what);
            sent_reset();
            (void)take_snapshot(&g_before);
            int32_t hr = JOB_CALLS[i].call(bad_jobs[k].h);
            bad_check_(__LINE__, call, E_HANDLE, hr, -1, 0, 0);
        }
    }
    for (size_t k = 0; k < sizeof bad_mgrs / sizeof bad_mgrs[0]; k++) {
        if (bad_mgrs[k].h == g.m) continue;
        for (size_t i = 0; i < sizeof MGR_CALLS / sizeof MGR_CALLS[0]; i++) {
            char call[256];
            snprintf(call, sizeof call, "%s(manager handle: %s)", MGR_CALLS[i].name,
                     bad_mgrs[k].what);
            sent_reset();
            (void)take_snapshot(&g_before);
            int32_t hr = MGR_CALLS[i].call(bad_mgrs[k].h);
            bad_check_(__LINE__, call, E_HANDLE, hr, -1, 0, 0);
        }
    }
    /* Nothing was released or closed by the bad calls: the real handles still work. */
    CHECK_EQ_INT(job_state(g.job), BG_JOB_STATE_SUSPENDED);
    CHECK_EQ_INT(job_state(g.err_job), BG_JOB_STATE_ERROR);
    uint64_t v = 0;
    CHECK_OK(bg_manager_get_option(g.m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &v));
    CHECK_EQ_U64(v, 4);

    /* A released handle stays invalid after its slot is reused by new handles. */
    bg_job fresh[8];
    for (int i = 0; i < 8; i++)
        CHECK_OK(bg_manager_create_job(g.m, "reuse", BG_JOB_TYPE_DOWNLOAD, NULL, &fresh[i]));
    for (int i = 0; i < 8; i++) CHECK(fresh[i] != g.stale);
    BAD(E_HANDLE, bg_job_get_state(g.stale, OUT_I32));
    BAD(E_HANDLE, bg_job_set_display_name(g.stale, "stale"));
    BAD(E_HANDLE, bg_job_release(g.stale));
    for (int i = 0; i < 8; i++) {
        CHECK_OK(bg_job_cancel(fresh[i]));
        CHECK_OK(bg_job_release(fresh[i]));
        /* released twice → E_HANDLE */
        BAD(E_HANDLE, bg_job_release(fresh[i]));
    }
}

/* ---- bg_job_* argument errors ------------------------------------------------------------ */

static void test_add_file(void)
{
    const char *u = g.src_url, *d = g.dest_new;
    char p[4200];

    /* NULL and invalid UTF-8 */
    BAD(E_INVALIDARG, bg_job_add_file(g.job, NULL, d));
    BAD(E_INVALIDARG, bg_job_add_file(g.job, u, NULL));
    BAD(E_INVALIDARG, bg_job_add_file(g.job, NULL, NULL));
    const char *bad_utf8[] = {"\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "a\x80z"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        snprintf(p, sizeof p, "file://%s/%s", g.dir, bad_utf8[i]);
        BAD(E_INVALIDARG, bg_job_add_file(g.job, p, d));
        snprintf(p, sizeof p, "http://h/%s", bad_utf8[i]);
        BAD(E_INVALIDARG, bg_job_add_file(g.job, p, d));
        snprintf(p, sizeof p, "%s/%s", g.dir, bad_utf8[i]);
        BAD(E_INVALIDARG, bg_job_add_file(g.job, u, p));
        BAD(E_INVALIDARG, bg_job_add_file(g.job, bad_utf8[i], d));
    }

    /* malformed, relative or unsupported remote names */
    const char *bad_urls[] = {
        "",           "http://",        "http:///x",      "ftp://h/x",     "relative/x",
        "http://h/a b", "file://server/x", "https://",      "http:/h/x",     "http:h/x",
        "://h/x",     "smb://h/x",      "gopher://h/",   "mailto:x@y",    "file:relative",
        "file:/x",    "x",              "./x",            "../x",          "http://h/\xc3\xa9",
        "http://h/a\"b", "http://h/<x>", "http://h/a\tb", "http://h/a\\b", "http://h/{x}",
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++)
        BAD(E_INVALIDARG, bg_job_add_file(g.job, bad_urls[i], d));
    /* remote names that are local paths must be absolute and plain, too */
    snprintf(p, sizeof p, "%s/../x", g.dir);
    BAD(E_INVALIDARG, bg_job_add_file(g.job, p, d));
    snprintf(p, sizeof p, "file://%s/./x", g.dir);
    BAD(E_INVALIDARG, bg_job_add_file(g.job, p, d));

    /* relative, directory-like and dotted local paths */
    const char *rel[] = {"", "x", "relative/x", "./x", "../x", "~/x"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
        BAD(E_INVALIDARG, bg_job_add_file(g.job, u, rel[i]));
    const char *shapes[] = {"%s/", "%s/./x", "%s/../x", "%s/sub/..", "%s/.", "%s"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        snprintf(p, sizeof p, shapes[i], g.dir);
        BAD(E_INVALIDARG, bg_job_add_file(g.job, u, p)); /* "%s" alone names a directory */
    }
    BAD(E_INVALIDARG, bg_job_add_file(g.job, u, "/"));
    /* the local directory does not exist */
    snprintf(p, sizeof p, "%s/no-such-dir/x", g.dir);
    BAD(BG_E_WIN32_PATH_NOT_FOUND, bg_job_add_file(g.job, u, p));

    /* over-long names */
    {
        char *path4096 = path_of_length(4096);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, u, path4096));
        free(path4096);
        char *deep = repeat("/x", 3000); /* 6,000 bytes of short components */
        char *huge = (char *)malloc(strlen(g.dir) + strlen(deep) + 1);
        strcpy(huge, g.dir);
        strcat(huge, deep);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, u, huge));
        free(huge);
        free(deep);
        char *c256 = repeat("c", 256);
        snprintf(p, sizeof p, "%s/%s", g.dir, c256);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, u, p));
        free(c256);
        char *e128 = repeat("\xC3\xA9", 128); /* 256 bytes in 128 characters */
        snprintf(p, sizeof p, "%s/%s", g.dir, e128);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, u, p));
        free(e128);
        char *mid = repeat("m", 256);
        snprintf(p, sizeof p, "%s/%s/x", g.dir, mid); /* a long directory component */
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, u, p));
        free(mid);
    }
    {
        /* a URL over 2,200 characters, and a segment over 260 */
        char *url = http_url_of_length(2201);
        CHECK_EQ_U64(strlen(url), 2201);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, url, d));
        free(url);
        url = (char *)malloc(2300);
        char *seg = repeat("s", 261);
        snprintf(url, 2300, "http://h/%s", seg);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, url, d));
        snprintf(url, 2300, "https://h/x/%s/y", seg);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, url, d));
        free(seg);
        char *filelong = repeat("/f", 1101); /* file:// + 2,202 characters */
        snprintf(url, 2300, "file://%s", filelong);
        BAD(BG_E_STRING_TOO_LONG, bg_job_add_file(g.job, url, d));
        free(filelong);
        free(url);
    }

    /* final states refuse AddFile and the setters (any argument error aside) */
    {
        bg_job j = 0;
        CHECK_OK(bg_manager_create_job(g.m, "final", BG_JOB_TYPE_DOWNLOAD, NULL, &j));
        CHECK_OK(bg_job_cancel(j));
        BAD(BG_E_INVALID_STATE, bg_job_add_file(j, u, d));
        int frees = atomic_load(&g_frees);
        BAD(BG_E_INVALID_STATE, bg_job_set_callbacks(j, &CALLBACKS, &g_token, count_free));
        CHECK_MSG(atomic_load(&g_frees) == frees,
                  "user_data_free called although set_callbacks was refused in CANCELLED");
        BAD(BG_E_INVALID_STATE, bg_job_set_notify_cmd_line(j, "/bin/true", NULL, 0));
        BAD(BG_E_INVALID_STATE, bg_job_set_minimum_notification_interval(j, 7));
        BAD(BG_E_INVALID_STATE, bg_job_set_max_rate(j, 7));
        CHECK_OK(bg_job_release(j));
    }
}

/* The boundaries of the same limits are accepted (on a scratch job). */
/* AddFileSet: all or nothing, and the same answers whether the destination directory is looked
 * up name by name (small sets), listed once and found to hold no directory (sets of 64 files or
 * more), found to hold one (looked up again), or too crowded to list (more than 8 entries per
 * file of the set: looked up). */
static void test_add_file_set(void)
{
    enum { N = 64, CROWD = 8 * N + 10 };
    const char *u = g.src_url;
    char roomy[4096], crowded[4096], plain[4096], p[4200];
    REQUIRE(path_join(roomy, sizeof roomy, g.dir, "set-roomy") != NULL);
    REQUIRE(path_join(crowded, sizeof crowded, g.dir, "set-crowded") != NULL);
    REQUIRE(path_join(plain, sizeof plain, g.dir, "set-plain") != NULL);
    const char *dirs[] = {roomy, crowded, plain};
    for (size_t d = 0; d < 3; d++) {
        REQUIRE(mkdir(dirs[d], 0700) == 0);
        char target[4200];
        snprintf(target, sizeof target, "%s/subdir", d < 2 ? dirs[d] : roomy);
        if (d < 2) REQUIRE(mkdir(target, 0700) == 0); /* set-plain holds no directory */
        snprintf(p, sizeof p, "%s/link-to-subdir", dirs[d]);
        REQUIRE(symlink(target, p) == 0);
    }
    for (int i = 0; i < CROWD; i++) {
        snprintf(p, sizeof p, "%s/filler-%04d", crowded, i);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
        REQUIRE(fd >= 0);
        close(fd);
    }
    static char names[N][4200];
    const char *remotes[N], *locals[N];
    const size_t sizes[] = {3, N};
    for (size_t d = 0; d < 3; d++) {
        for (size_t k = 0; k < 2; k++) {
            size_t n = sizes[k];
            for (size_t i = 0; i < n; i++) {
                snprintf(names[i], sizeof names[i], "%s/set-%03zu.bin", dirs[d], i);
                remotes[i] = u;
                locals[i] = names[i];
            }
            /* one name is a directory: nothing is added */
            if (d < 2) {
                snprintf(names[n - 2], sizeof names[n - 2], "%s/subdir", dirs[d]);
                BAD(E_INVALIDARG, bg_job_add_file_set(g.job, n, remotes, locals));
            }
            snprintf(names[n - 2], sizeof names[n - 2], "%s/subdir/", dirs[d]);
            BAD(E_INVALIDARG, bg_job_add_file_set(g.job, n, remotes, locals));
            /* a missing directory */
            snprintf(names[n - 2], sizeof names[n - 2], "%s/no-such-dir/x", dirs[d]);
            BAD(BG_E_WIN32_PATH_NOT_FOUND, bg_job_add_file_set(g.job, n, remotes, locals));
            /* a NULL name */
            locals[n - 2] = NULL;
            BAD(E_INVALIDARG, bg_job_add_file_set(g.job, n, remotes, locals));

            /* a symlink to a directory is not followed: it is a name Complete replaces */
            bg_job j = 0;
            uint32_t count = 99;
            REQUIRE_OK(bg_manager_create_job(g.m, "set", BG_JOB_TYPE_DOWNLOAD, NULL, &j));
            snprintf(names[n - 2], sizeof names[n - 2], "%s/link-to-subdir", dirs[d]);
            locals[n - 2] = names[n - 2];
            CHECK_OK(bg_job_add_file_set(j, n, remotes, locals));
            CHECK_OK(bg_job_get_file_count(j, &count));
            CHECK_EQ_U64(count, n);
            char got[4200];
            size_t needed = 0;
            CHECK_OK(bg_job_get_file_local_name(j, (uint32_t)(n - 1), got, sizeof got, &needed));
            CHECK_STR(got, names[n - 1]);
            CHECK_OK(bg_job_cancel(j));
            CHECK_OK(bg_job_release(j));
        }
    }
    BAD(E_INVALIDARG, bg_job_add_file_set(g.job, 2, NULL, locals));
    BAD(E_INVALIDARG, bg_job_add_file_set(g.job, 2, remotes, NULL));
    CHECK_OK(bg_job_add_file_set(g.job, 0, NULL, NULL)); /* a no-op */
}

static void test_add_file_boundaries(void)
{
    bg_job j = 0;
    REQUIRE_OK(bg_manager_create_job(g.m, "boundaries", BG_JOB_TYPE_DOWNLOAD, NULL, &j));
    char p[4200];
    uint32_t n = 0;

    char *path4095 = path_of_length(4095);
    CHECK_EQ_U64(strlen(path4095), 4095);
    CHECK_OK(bg_job_add_file(j, g.src_url, path4095));
    free(path4095);

    char *c255 = repeat("c", 255);
    snprintf(p, sizeof p, "%s/%s", g.dir, c255);
    CHECK_OK(bg_job_add_file(j, g.src_url, p));
    free(c255);
    char *e127 = repeat("\xC3\xA9", 127);
    snprintf(p, sizeof p, "%s/%sa", g.dir, e127); /* 255 bytes */
    CHECK_OK(bg_job_add_file(j, g.src_url, p));
    free(e127);

    char *url = http_url_of_length(2200);
    CHECK_EQ_U64(strlen(url), 2200);
    CHECK_OK(bg_job_add_file(j, url, g.dest_new));
    free(url);
    url = (char *)malloc(2300);
    char *seg = repeat("s", 260);
    snprintf(url, 2300, "http://h/%s", seg);
    CHECK_OK(bg_job_add_file(j, url, g.dest_new));
    free(seg);
    free(url);

    CHECK_OK(bg_job_get_file_count(j, &n));
    CHECK_EQ_U64(n, 5);
    CHECK_OK(bg_job_cancel(j));
    CHECK_OK(bg_job_release(j));
}

static void test_job_getters(void)
{
    /* NULL out-params */
    BAD(E_INVALIDARG, bg_job_get_file_count(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_file_progress(g.job, 0, NULL));
    BAD(E_INVALIDARG, bg_job_wait(g.job, 0, NULL));
    BAD(E_INVALIDARG, bg_job_get_id(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_type(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_state(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_progress(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_times(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_error_count(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_priority(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_minimum_retry_delay(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_no_progress_timeout(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_notify_flags(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_maximum_download_time(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_security_flags(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_minimum_notification_interval(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_max_rate(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_get_callbacks(g.job, NULL, OUT_USER_DATA));
    BAD(E_INVALIDARG, bg_job_get_callbacks(g.job, OUT_CALLBACKS, NULL));
    BAD(E_INVALIDARG, bg_job_get_callbacks(g.job, NULL, NULL));
    BAD(E_INVALIDARG, bg_job_get_notify_cmd_line(g.job, BUF, BUF_CAP, NULL));
    BAD(E_INVALIDARG, bg_job_get_notify_cmd_line(g.job, NULL, 16, NEEDED));

    /* file index out of range */
    const uint32_t bad_index[] = {1, 2, 0x7FFFFFFF, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad_index / sizeof bad_index[0]; i++) {
        uint32_t x = bad_index[i];
        BAD(E_INVALIDARG, bg_job_get_file_progress(g.job, x, OUT_FPROGRESS));
        BAD(E_INVALIDARG, bg_job_get_file_remote_name(g.job, x, BUF, BUF_CAP, NEEDED));
        BAD(E_INVALIDARG, bg_job_get_file_local_name(g.job, x, BUF, BUF_CAP, NEEDED));
        BAD(E_INVALIDARG, bg_job_get_file_temp_name(g.job, x, BUF, BUF_CAP, NEEDED));
    }

    /* the string-buffer convention: out_needed required; buf NULL only with cap 0 */
    typedef bg_hresult (*idx_string)(bg_job, uint32_t, char *, size_t, size_t *);
    const idx_string idx_getters[] = {bg_job_get_file_remote_name, bg_job_get_file_local_name,
                                      bg_job_get_file_temp_name};
    const char *idx_names[] = {"remote", "local", "temp"};
    for (size_t i = 0; i < 3; i++) {
        char call[128];
        snprintf(call, sizeof call, "bg_job_get_file_%s_name(out_needed NULL)", idx_names[i]);
        sent_reset();
        (void)take_snapshot(&g_before);
        bad_check_(__LINE__, call, E_INVALIDARG, idx_getters[i](g.job, 0, BUF, BUF_CAP, NULL), -1,
                   0, 0);
        snprintf(call, sizeof call, "bg_job_get_file_%s_name(buf NULL, cap 16)", idx_names[i]);
        sent_reset();
        (void)take_snapshot(&g_before);
        bad_check_(__LINE__, call, E_INVALIDARG, idx_getters[i](g.job, 0, NULL, 16, NEEDED), -1,
                   0, 0);
    }
    BAD(E_INVALIDARG, bg_job_get_display_name(g.job, BUF, BUF_CAP, NULL));
    BAD(E_INVALIDARG, bg_job_get_display_name(g.job, NULL, 16, NEEDED));
    BAD(E_INVALIDARG, bg_job_get_display_name(g.job, NULL, 0, NULL));
    BAD(E_INVALIDARG, bg_job_get_description(g.job, BUF, BUF_CAP, NULL));
    BAD(E_INVALIDARG, bg_job_get_description(g.job, NULL, 1, NEEDED));

    /* too small: BG_E_INSUFFICIENT_BUFFER, *out_needed set, the buffer untouched */
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_job_get_display_name(g.job, BUF, 3, NEEDED),
               strlen("reference") + 1);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_job_get_display_name(g.job, NULL, 0, NEEDED),
               strlen("reference") + 1);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_job_get_description(g.job, BUF, 1, NEEDED),
               strlen("reference description") + 1);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_job_get_file_remote_name(g.job, 0, BUF, 5, NEEDED),
               strlen(g.src_url) + 1);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER,
               bg_job_get_file_local_name(g.job, 0, BUF, strlen(g.dest), NEEDED),
               strlen(g.dest) + 1);

    /* GetError: argument errors come before the state (API.md), in every state */
    const bg_job jobs[] = {g.job, g.err_job};
    for (int k = 0; k < 2; k++) {
        bg_job j = jobs[k];
        BAD(E_INVALIDARG, bg_job_get_error(j, NULL, NULL, 0, NULL));
        BAD(E_INVALIDARG, bg_job_get_error(j, NULL, BUF, BUF_CAP, NEEDED));
        BAD(E_INVALIDARG, bg_job_get_error(j, OUT_ERROR, BUF, BUF_CAP, NULL));
        BAD(E_INVALIDARG, bg_job_get_error(j, OUT_ERROR, NULL, 16, NEEDED));
        BAD(E_INVALIDARG, bg_job_get_error(j, OUT_ERROR, NULL, 16, NULL));
    }
    BAD(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(g.job, OUT_ERROR, NULL, 0, NULL));
    BAD(BG_E_ERROR_INFORMATION_UNAVAILABLE,
        bg_job_get_error(g.job, OUT_ERROR, BUF, BUF_CAP, NEEDED));
    {
        /* the ERROR job's description does not fit in 4 bytes */
        size_t len = 0;
        bg_job_error e;
        CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_job_get_error(g.err_job, &e, NULL, 0, &len));
        CHECK(len > 4);
        BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_job_get_error(g.err_job, OUT_ERROR, BUF, 4, NEEDED),
                   len);
    }
}

static void test_job_setters(void)
{
    BAD(E_INVALIDARG, bg_job_set_display_name(g.job, NULL));
    BAD(E_INVALIDARG, bg_job_set_description(g.job, NULL));
    const char *bad_utf8[] = {"\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "ok\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        BAD(E_INVALIDARG, bg_job_set_display_name(g.job, bad_utf8[i]));
        BAD(E_INVALIDARG, bg_job_set_description(g.job, bad_utf8[i]));
    }
    char *s257 = repeat("n", 257), *s1025 = repeat("d", 1025), *emoji129 = repeat("\xF0\x9F\x98\x80", 129);
    BAD(BG_E_STRING_TOO_LONG, bg_job_set_display_name(g.job, s257));
    BAD(BG_E_STRING_TOO_LONG, bg_job_set_display_name(g.job, emoji129));
    BAD(BG_E_STRING_TOO_LONG, bg_job_set_description(g.job, s1025));
    free(s257);
    free(s1025);
    free(emoji129);

    /* unknown enum values / bits → E_NOTIMPL (as BITS) */
    const bg_job_priority prios[] = {4, 5, -1, 255, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof prios / sizeof prios[0]; i++)
        BAD(E_NOTIMPL, bg_job_set_priority(g.job, prios[i]));
    const uint32_t notify[] = {0x20, 0x21, 0x40, 0x100, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof notify / sizeof notify[0]; i++)
        BAD(E_NOTIMPL, bg_job_set_notify_flags(g.job, notify[i]));
    /* the notify command line */
    {
        const char *one[] = {"arg"};
        const char *with_null[] = {"a", NULL};
        const char *bad_arg[] = {"a", "\xff\xfe"};
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "relative/prog", NULL, 0));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "prog", NULL, 0));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "", NULL, 0));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "/bin/\xff\xfe", NULL, 0));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, NULL, one, 1));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, NULL, NULL, 1));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, NULL, one, 0));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "/bin/true", NULL, 2));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "/bin/true", with_null, 2));
        BAD(E_INVALIDARG, bg_job_set_notify_cmd_line(g.job, "/bin/true", bad_arg, 2));
        char *long_prog = path_of_length(4096);
        BAD(BG_E_STRING_TOO_LONG, bg_job_set_notify_cmd_line(g.job, long_prog, NULL, 0));
        free(long_prog);
        char *a4001 = repeat("a", 4001), *a2001 = repeat("b", 2001);
        const char *too_long1[] = {a4001};
        const char *too_long2[] = {a2001, a2001};
        BAD(BG_E_STRING_TOO_LONG, bg_job_set_notify_cmd_line(g.job, "/bin/true", too_long1, 1));
        BAD(BG_E_STRING_TOO_LONG, bg_job_set_notify_cmd_line(g.job, "/bin/true", too_long2, 2));
        free(a4001);
        free(a2001);
    }

    const uint32_t sec[] = {0x1, 0x4, 0x10, 0x1 | BG_SSL_IGNORE_UNKNOWN_CA,
                            0x300 /* redirect policy value above DISALLOW */, 0x700,
                            0x1000, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof sec / sizeof sec[0]; i++)
        BAD(E_NOTIMPL, bg_job_set_security_flags(g.job, sec[i]));
}

/* ---- library functions --------------------------------------------------------------------- */

static void test_library(void)
{
    CHECK(bg_version() != NULL);
    CHECK_STR(bg_version(), BGCOPY_VERSION_STRING);
    const int32_t codes[] = {S_OK, S_FALSE, E_HANDLE, E_INVALIDARG, BG_E_HTTP_ERROR_404,
                             (int32_t)0x801903E7, -1, INT32_MIN, INT32_MAX, 0x12345678, 2,
                             (int32_t)0x80200FFF};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = bg_hresult_message(codes[i]);
        CHECK_MSG(m != NULL && m[0] != '\0', "bg_hresult_message(0x%08" PRIX32 ")",
                  (uint32_t)codes[i]);
    }

    bg_guid id;
    memset(&id, 0x11, sizeof id);
    BAD(E_INVALIDARG, bg_guid_to_string(NULL, BUF, BUF_CAP, NEEDED));
    BAD(E_INVALIDARG, bg_guid_to_string(&id, BUF, BUF_CAP, NULL));
    BAD(E_INVALIDARG, bg_guid_to_string(&id, NULL, 37, NEEDED));
    BAD(E_INVALIDARG, bg_guid_to_string(&id, NULL, 1, NULL));
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&id, BUF, 36, NEEDED), 37);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&id, BUF, 1, NEEDED), 37);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&id, NULL, 0, NEEDED), 37);

    const char *good = "00112233-4455-6677-8899-aabbccddeeff";
    BAD(E_INVALIDARG, bg_guid_from_string(NULL, OUT_GUID));
    BAD(E_INVALIDARG, bg_guid_from_string(good, NULL));
    const char *not_guids[] = {
        "",
        "not a guid",
        "\xff\xfe",
        "00112233-4455-6677-8899-aabbccddeef",    /* 35 */
        "00112233-4455-6677-8899-aabbccddeeff0",  /* 37 */
        "00112233445566778899aabbccddeeff",       /* no dashes */
        "0011223-34455-6677-8899-aabbccddeeff",   /* misplaced dash */
        "00112233-4455-6677-8899-aabbccddeegf",   /* 'g' */
        "{00112233-4455-6677-8899-aabbccddeeff",  /* unbalanced braces */
        "00112233-4455-6677-8899-aabbccddeeff}",
        "(00112233-4455-6677-8899-aabbccddeeff)",
        " 00112233-4455-6677-8899-aabbccddeeff",
        "00112233-4455-6677-8899-aabbccddeeff ",
        "{{00112233-4455-6677-8899-aabbccddeeff}}",
        "00112233-4455-6677-8899-aabbccddee\xc3\xa9",
        "+0112233-4455-6677-8899-aabbccddeeff",
    };
    for (size_t i = 0; i < sizeof not_guids / sizeof not_guids[0]; i++)
        BAD(E_INVALIDARG, bg_guid_from_string(not_guids[i], OUT_GUID));
}

static void test_manager_functions(void)
{
    char p[4200];
    /* bg_manager_open */
    BAD(E_INVALIDARG, bg_manager_open(":memory:", NULL));
    BAD(E_INVALIDARG, bg_manager_open(NULL, NULL));
    const char *bad_dirs[] = {"\xff\xfe", "relative/dir", "", ":memory", "memory", ".", "./x",
                              "~/state"};
    for (size_t i = 0; i < sizeof bad_dirs / sizeof bad_dirs[0]; i++)
        BAD(E_INVALIDARG, bg_manager_open(bad_dirs[i], OUT_MGR));
    snprintf(p, sizeof p, "%s/\xff\xfe", g.dir);
    BAD(E_INVALIDARG, bg_manager_open(p, OUT_MGR));
    {
        char *long_dir = path_of_length(4096);
        BAD(BG_E_STRING_TOO_LONG, bg_manager_open(long_dir, OUT_MGR));
        free(long_dir);
    }
    BAD(BG_E_STATE_DIR_INVALID, bg_manager_open(g.src, OUT_MGR)); /* a regular file */
    snprintf(p, sizeof p, "%s/state", g.src);                      /* below a regular file */
    BAD(BG_E_STATE_DIR_INVALID, bg_manager_open(p, OUT_MGR));

    /* bg_manager_create_job */
    BAD(E_INVALIDARG, bg_manager_create_job(g.m, NULL, BG_JOB_TYPE_DOWNLOAD, OUT_GUID, OUT_JOB2));
    BAD(E_INVALIDARG, bg_manager_create_job(g.m, "x", BG_JOB_TYPE_DOWNLOAD, OUT_GUID, NULL));
    BAD(E_INVALIDARG, bg_manager_create_job(g.m, "x", BG_JOB_TYPE_DOWNLOAD, NULL, NULL));
    BAD(E_INVALIDARG, bg_manager_create_job(g.m, "\xff\xfe", BG_JOB_TYPE_DOWNLOAD, OUT_GUID, OUT_JOB2));
    BAD(E_INVALIDARG, bg_manager_create_job(g.m, "\xed\xa0\x80", BG_JOB_TYPE_DOWNLOAD, OUT_GUID, OUT_JOB2));
    const bg_job_type bad_types[] = {3, 4, -1, 100, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++)
        BAD(E_INVALIDARG, bg_manager_create_job(g.m, "x", bad_types[i], OUT_GUID, OUT_JOB2));
    BAD(E_NOTIMPL, bg_manager_create_job(g.m, "x", BG_JOB_TYPE_UPLOAD, OUT_GUID, OUT_JOB2));
    BAD(E_NOTIMPL, bg_manager_create_job(g.m, "x", BG_JOB_TYPE_UPLOAD_REPLY, OUT_GUID, OUT_JOB2));
    {
        char *s257 = repeat("n", 257), *emoji129 = repeat("\xF0\x9F\x98\x80", 129);
        BAD(BG_E_STRING_TOO_LONG, bg_manager_create_job(g.m, s257, BG_JOB_TYPE_DOWNLOAD, OUT_GUID, OUT_JOB2));
        BAD(BG_E_STRING_TOO_LONG, bg_manager_create_job(g.m, emoji129, BG_JOB_TYPE_DOWNLOAD, OUT_GUID, OUT_JOB2));
        free(s257);
        free(emoji129);
    }

    /* bg_manager_get_job */
    BAD(E_INVALIDARG, bg_manager_get_job(g.m, NULL, OUT_JOB));
    BAD(E_INVALIDARG, bg_manager_get_job(g.m, &g.id, NULL));
    {
        bg_guid unknown, zero;
        memset(&unknown, 0x5A, sizeof unknown);
        memset(&zero, 0, sizeof zero);
        BAD(BG_E_NOT_FOUND, bg_manager_get_job(g.m, &unknown, OUT_JOB));
        BAD(BG_E_NOT_FOUND, bg_manager_get_job(g.m, &zero, OUT_JOB));
        bg_guid ended;
        bg_job j = 0;
        CHECK_OK(bg_manager_create_job(g.m, "ended", BG_JOB_TYPE_DOWNLOAD, &ended, &j));
        CHECK_OK(bg_job_cancel(j));
        BAD(BG_E_NOT_FOUND, bg_manager_get_job(g.m, &ended, OUT_JOB));
        CHECK_OK(bg_job_release(j));
        /* a job of another manager is not found through this one */
        bg_manager other = 0;
        bg_guid other_id;
        CHECK_OK(bg_manager_open(":memory:", &other));
        CHECK_OK(bg_manager_create_job(other, "elsewhere", BG_JOB_TYPE_DOWNLOAD, &other_id, &j));
        BAD(BG_E_NOT_FOUND, bg_manager_get_job(g.m, &other_id, OUT_JOB));
        CHECK_OK(bg_job_release(j));
        CHECK_OK(bg_manager_close(other));
    }

    /* bg_manager_enum_jobs: two jobs live (the reference and the ERROR job) */
    BAD(E_INVALIDARG, bg_manager_enum_jobs(g.m, 0, OUT_IDS, 4, NULL));
    BAD(E_INVALIDARG, bg_manager_enum_jobs(g.m, 0, NULL, 4, NEEDED));
    BAD(E_INVALIDARG, bg_manager_enum_jobs(g.m, 1, OUT_IDS, 4, NEEDED));
    BAD(E_INVALIDARG, bg_manager_enum_jobs(g.m, 0x80000000u, OUT_IDS, 4, NEEDED));
    BAD(E_INVALIDARG, bg_manager_enum_jobs(g.m, UINT32_MAX, NULL, 0, NEEDED));
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(g.m, 0, OUT_IDS, 1, NEEDED), 2);
    BAD_NEEDED(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(g.m, 0, NULL, 0, NEEDED), 2);

    /* options: unknown ones and values out of range; the value is kept */
    const int32_t unknown_options[] = {0, -1, 9999, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown_options / sizeof unknown_options[0]; i++) {
        BAD(E_INVALIDARG, bg_manager_set_option(g.m, unknown_options[i], 1));
        BAD(E_INVALIDARG, bg_manager_get_option(g.m, unknown_options[i], OUT_U64));
    }
    BAD(E_INVALIDARG, bg_manager_get_option(g.m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, NULL));
    const struct {
        int32_t option;
        uint64_t value;
    } out_of_range[] = {
        {BG_OPTION_MAX_BACKGROUND_TRANSFERS, 0},     {BG_OPTION_MAX_BACKGROUND_TRANSFERS, 257},
        {BG_OPTION_MAX_BACKGROUND_TRANSFERS, UINT64_MAX},
        {BG_OPTION_MAX_CONNECTIONS_PER_HOST, 0},     {BG_OPTION_MAX_CONNECTIONS_PER_HOST, 257},
        {BG_OPTION_STALL_TIMEOUT_MS, 0},             {BG_OPTION_STALL_TIMEOUT_MS, 9},
        {BG_OPTION_STALL_TIMEOUT_MS, 86400001},      {BG_OPTION_RETRY_DELAY_FLOOR_MS, 86400001},
        {BG_OPTION_RETRY_DELAY_FLOOR_MS, UINT64_MAX},
        {BG_OPTION_INACTIVITY_TIMEOUT_S, 0},         {BG_OPTION_INACTIVITY_TIMEOUT_S, 4294967296ull},
        {BG_OPTION_INACTIVITY_TIMEOUT_S, UINT64_MAX},
        {BG_OPTION_FOREGROUND_YIELD_PERCENT, 0},     {BG_OPTION_FOREGROUND_YIELD_PERCENT, 101},
        {BG_OPTION_TIME_SLICE_MS, 9},                {BG_OPTION_TIME_SLICE_MS, 86400001},
    };
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
        uint64_t before = 0, after = 1;
        CHECK_OK(bg_manager_get_option(g.m, out_of_range[i].option, &before));
        BAD(E_INVALIDARG, bg_manager_set_option(g.m, out_of_range[i].option, out_of_range[i].value));
        CHECK_OK(bg_manager_get_option(g.m, out_of_range[i].option, &after));
        CHECK_MSG(before == after, "option %d changed from %" PRIu64 " to %" PRIu64 " by a refused set",
                  (int)out_of_range[i].option, before, after);
    }
}

int main(void)
{
    REQUIRE(test_tmpdir(g.dir, sizeof g.dir) != NULL);
    REQUIRE(path_join(g.src, sizeof g.src, g.dir, "source.bin") != NULL);
    REQUIRE(make_pattern_file(g.src, 3000, 3) == 0);
    REQUIRE(file_url(g.src_url, sizeof g.src_url, g.src) != NULL);
    REQUIRE(path_join(g.dest, sizeof g.dest, g.dir, "dest.bin") != NULL);
    REQUIRE(path_join(g.dest_new, sizeof g.dest_new, g.dir, "dest-new.bin") != NULL);

    REQUIRE_OK(bg_manager_open(":memory:", &g.m));
    /* the reference job */
    REQUIRE_OK(bg_manager_create_job(g.m, "reference", BG_JOB_TYPE_DOWNLOAD, &g.id, &g.job));
    REQUIRE_OK(bg_job_add_file(g.job, g.src_url, g.dest));
    REQUIRE_OK(bg_job_set_description(g.job, "reference description"));
    /* a job in ERROR: its source does not exist */
    {
        char missing[4096], url[4200];
        REQUIRE(path_join(missing, sizeof missing, g.dir, "missing.bin") != NULL);
        REQUIRE(file_url(url, sizeof url, missing) != NULL);
        REQUIRE_OK(bg_manager_create_job(g.m, "error", BG_JOB_TYPE_DOWNLOAD, NULL, &g.err_job));
        REQUIRE_OK(bg_job_add_file(g.err_job, url, g.dest_new));
        REQUIRE_OK(bg_job_resume(g.err_job));
        bg_job_state s = -1;
        REQUIRE_OK(bg_job_wait(g.err_job, 30000, &s));
        REQUIRE(s == BG_JOB_STATE_ERROR);
    }
    /* a released handle: a second handle to the reference job, released */
    REQUIRE_OK(bg_manager_get_job(g.m, &g.id, &g.stale));
    REQUIRE_OK(bg_job_release(g.stale));
    /* a closed manager and a job handle of it */
    REQUIRE_OK(bg_manager_open(":memory:", &g.closed));
    REQUIRE_OK(bg_manager_create_job(g.closed, "orphan", BG_JOB_TYPE_DOWNLOAD, NULL, &g.orphan));
    REQUIRE_OK(bg_job_add_file(g.orphan, g.src_url, g.dest_new));
    REQUIRE_OK(bg_manager_close(g.closed));

    snap_t first;
    REQUIRE(take_snapshot(&first));
    REQUIRE(first.jobs == 2);

    test_handles();
    test_add_file();
    test_add_file_set();
    test_add_file_boundaries();
    test_job_getters();
    test_job_setters();
    test_library();
    test_manager_functions();

    /* After all of it, the reference job is exactly as it was at the start. */
    snap_t last;
    REQUIRE(take_snapshot(&last));
    const char *diff = snap_diff(&first, &last);
    CHECK_MSG(diff == NULL, "the reference job's %s changed over the test", diff ? diff : "");
    CHECK(!file_exists(g.dest_new));

    CHECK_OK(bg_job_cancel(g.err_job));
    CHECK_OK(bg_job_release(g.err_job));
    CHECK_OK(bg_job_cancel(g.job));
    CHECK_OK(bg_job_release(g.job));
    CHECK_OK(bg_manager_close(g.m));
    CHECK_HR(E_HANDLE, bg_manager_close(g.m)); /* closed twice */
    CHECK_HR(E_HANDLE, bg_job_get_state(g.job, OUT_I32)); /* released */
    CHECK(remove_tree(g.dir) == 0);
    TEST_MAIN_END();
}
