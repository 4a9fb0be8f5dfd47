/*
 * test_matrix.c — the method × state matrix of spec §2.3 for download jobs, one check per cell.
 *
 * For every state a download job can be driven into with file:// sources (SUSPENDED, QUEUED,
 * TRANSFERRING, ERROR, TRANSFERRED, ACKNOWLEDGED, CANCELLED), each cell builds a fresh job in
 * that state, calls one method, and checks the exact code and the state afterwards. A failure
 * names its cell, e.g. "[TRANSFERRED x Suspend]".
 *
 * States that are not covered directly:
 *  - CONNECTING (1) is transient: the engine passes through it before TRANSFERRING and a test
 *    hold cannot freeze it there. Its column of §2.3 is identical to QUEUED's and
 *    TRANSFERRING's (everything allowed, Resume a no-op), and those two columns are checked
 *    below, so the same rule is exercised through them.
 *  - TRANSIENT_ERROR (5) cannot be reached with file:// sources today (every file:// failure is
 *    fatal); the HTTP issue adds it together with its cells.
 *
 * How the states are made stable: every job lives in one manager whose
 * BG_OPTION_MAX_BACKGROUND_TRANSFERS is 1 and whose only background slot is occupied for the
 * whole test by a "blocker" job held mid-transfer (bg_test_hold); its time slice is set to the
 * maximum so that equal-priority jobs never take turns at the slot. A NORMAL-priority job that
 * is resumed therefore stays QUEUED. Jobs that must finish a transfer (ERROR, TRANSFERRED and
 * ACKNOWLEDGED cells) are made in advance, before the blocker takes the slot, and kept in pools;
 * a cell's Resume of such a job leaves it QUEUED behind the blocker.
 *
 * TRANSFERRING cells live in a second manager with no blocker and default limits: there the
 * held job is a NORMAL background job alone in its manager, so a priority change (which
 * applies to a running job at once) never preempts it.
 */
#include "harness.h"

/* Part 1 of job_helpers.h only (state_name(), job_state()): this test has its own WAIT_MS. */
#define JOB_HELPERS_BASIC_ONLY
#include "job_helpers.h"

#define SRC_SIZE 8192u
#define HOLD_AT 4096u
#define WAIT_MS 30000u

/* ---- cell-aware checks --------------------------------------------------------------------- */

static const char *g_cell = "(setup)";

static __attribute__((format(printf, 4, 5))) void cell_check_(int ok, const char *file, int line,
                                                             const char *fmt, ...)
{
    if (ok) {
        harness_passed_++;
        return;
    }
    harness_failed_++;
    va_list ap;
    fprintf(stderr, "%s:%d: [%s] ", file, line, g_cell);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

#define CELL_CHECK(cond, ...) cell_check_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CELL_HR(expected, got)                                                         \
    do {                                                                               \
        int32_t cell_e_ = (int32_t)(expected);                                         \
        int32_t cell_g_ = (int32_t)(got);                                              \
        CHECK_MSG(cell_e_ == cell_g_, "[%s] %s: expected 0x%08" PRIX32 " (%s) got 0x%08" PRIX32 \
                  " (%s)", g_cell, #got, (uint32_t)cell_e_, harness_msg_(cell_e_),      \
                  (uint32_t)cell_g_, harness_msg_(cell_g_));                           \
    } while (0)

/* ---- environment --------------------------------------------------------------------------- */

static bg_manager g_mgr;  /* one background slot, held by the blocker */
static bg_manager g_mgr2; /* default limits: the TRANSFERRING cells */
static char g_dir[4096];
static char g_src[4096];
static char g_src_url[4200];
static char g_missing_url[4200];
static unsigned g_counter;

static void new_dest(char *buf, size_t cap)
{
    char name[64];
    snprintf(name, sizeof name, "dest-%04u.bin", g_counter++);
    if (path_join(buf, cap, g_dir, name) == NULL) buf[0] = '\0';
}

/* Bounded polling until the job is in `state` with exactly `bytes` transferred. */
static int wait_state_bytes(bg_job job, int state, uint64_t bytes)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        bg_job_progress p;
        if (job_state(job) == state && bg_job_get_progress(job, &p) == S_OK &&
            p.bytes_transferred == bytes)
            return 1;
        if (now_ms() > deadline) return 0;
        sleep_ms(2);
    }
}

/* ---- a cell -------------------------------------------------------------------------------- */

enum {
    ST_SUSPENDED,
    ST_QUEUED,
    ST_TRANSFERRING,
    ST_ERROR,
    ST_TRANSFERRED,
    ST_ACKNOWLEDGED,
    ST_CANCELLED,
    ST_COUNT
};

static const int ST_BG[ST_COUNT] = {
    BG_JOB_STATE_SUSPENDED,   BG_JOB_STATE_QUEUED,      BG_JOB_STATE_TRANSFERRING,
    BG_JOB_STATE_ERROR,       BG_JOB_STATE_TRANSFERRED, BG_JOB_STATE_ACKNOWLEDGED,
    BG_JOB_STATE_CANCELLED,
};

typedef struct {
    int st;              /* ST_* */
    bg_job job;
    bg_guid id;
    char display[64];
    char src[4096];      /* source of file 0 (may not exist: ERROR jobs) */
    char dest[4096];     /* destination of file 0 */
    uint32_t files;      /* file count before the call */
} cell_t;

/* A new job with one file (the existing source, or a missing one), SUSPENDED, NORMAL. */
static int make_base_in(bg_manager mgr, cell_t *c, int missing_source)
{
    snprintf(c->display, sizeof c->display, "matrix job %u", g_counter);
    new_dest(c->dest, sizeof c->dest);
    snprintf(c->src, sizeof c->src, "%s",
             missing_source ? g_missing_url + strlen("file://") : g_src);
    int32_t hr = bg_manager_create_job(mgr, c->display, BG_JOB_TYPE_DOWNLOAD, &c->id, &c->job);
    CELL_HR(S_OK, hr);
    if (hr != S_OK) return 0;
    hr = bg_job_add_file(c->job, missing_source ? g_missing_url : g_src_url, c->dest);
    CELL_HR(S_OK, hr);
    return hr == S_OK;
}

static int make_base(cell_t *c, int missing_source) { return make_base_in(g_mgr, c, missing_source); }

/* Runs the job as FOREGROUND until bg_job_wait returns `want`, then sets it back to NORMAL. */
/* Jobs that had to finish a transfer (ERROR, TRANSFERRED) are made before the blocker takes the
 * slot, all NORMAL, so that no priority ever changes on a job whose run is still leaving (a
 * leaving run counts as holding a slot, and could get the blocker preempted). */
#define POOL_SIZE 100 /* cells per pool: ERROR needs ~45, TRANSFERRED+ACKNOWLEDGED ~90 */
typedef struct {
    cell_t cells[POOL_SIZE];
    int n, next;
} pool_t;
static pool_t g_pool_error, g_pool_transferred;

static void pool_fill(pool_t *pool, int count, int missing_source, int want)
{
    for (pool->n = 0; pool->n < count && pool->n < POOL_SIZE; pool->n++) {
        cell_t *c = &pool->cells[pool->n];
        memset(c, 0, sizeof *c);
        if (!make_base(c, missing_source)) break;
        CELL_HR(S_OK, bg_job_resume(c->job));
    }
    for (int i = 0; i < pool->n; i++) {
        bg_job_state s = -1;
        CELL_HR(S_OK, bg_job_wait(pool->cells[i].job, WAIT_MS, &s));
        CELL_CHECK(s == want, "pool: reached %s, wanted %s", state_name(s), state_name(want));
    }
}

static int pool_take(pool_t *pool, cell_t *c)
{
    CELL_CHECK(pool->next < pool->n, "pool of %s jobs exhausted (raise POOL_SIZE)",
               pool == &g_pool_error ? "ERROR" : "TRANSFERRED");
    if (pool->next >= pool->n) return 0;
    *c = pool->cells[pool->next];
    pool->cells[pool->next].job = 0;
    pool->next++;
    return 1;
}

static void drop_cell(cell_t *c);

static void pool_drain(pool_t *pool)
{
    for (int i = pool->next; i < pool->n; i++) drop_cell(&pool->cells[i]);
}

static int make_state(cell_t *c, int st)
{
    memset(c, 0, sizeof *c);
    c->st = st;
    switch (st) {
    case ST_SUSPENDED:
        if (!make_base(c, 0)) return 0;
        break;
    case ST_QUEUED:
        if (!make_base(c, 0)) return 0;
        CELL_HR(S_OK, bg_job_resume(c->job));
        break;
    case ST_TRANSFERRING:
        if (!make_base_in(g_mgr2, c, 0)) return 0;
        CELL_HR(S_OK, bg_test_hold(c->job, 0, HOLD_AT));
        CELL_HR(S_OK, bg_job_resume(c->job));
        CELL_CHECK(wait_state_bytes(c->job, BG_JOB_STATE_TRANSFERRING, HOLD_AT),
                   "setup: job did not hold in TRANSFERRING at %u bytes (state %s)", HOLD_AT,
                   state_name(job_state(c->job)));
        break;
    case ST_ERROR:
        if (!pool_take(&g_pool_error, c)) return 0;
        break;
    case ST_TRANSFERRED:
        if (!pool_take(&g_pool_transferred, c)) return 0;
        break;
    case ST_ACKNOWLEDGED:
        if (!pool_take(&g_pool_transferred, c)) return 0;
        CELL_HR(S_OK, bg_job_complete(c->job));
        break;
    case ST_CANCELLED:
        if (!make_base(c, 0)) return 0;
        CELL_HR(S_OK, bg_job_cancel(c->job));
        break;
    default:
        return 0;
    }
    c->st = st;
    int s = job_state(c->job);
    CELL_CHECK(s == ST_BG[st], "setup: job is %s, wanted %s", state_name(s),
               state_name(ST_BG[st]));
    c->files = 0;
    CELL_HR(S_OK, bg_job_get_file_count(c->job, &c->files));
    return s == ST_BG[st];
}

static void drop_cell(cell_t *c)
{
    if (c->job == 0) return;
    (void)bg_test_release_hold(c->job);
    int s = job_state(c->job);
    if (s >= 0 && s != BG_JOB_STATE_ACKNOWLEDGED && s != BG_JOB_STATE_CANCELLED) {
        int32_t hr = bg_job_cancel(c->job);
        CELL_CHECK(hr == S_OK, "cleanup: cancel returned 0x%08" PRIX32, (uint32_t)hr);
    }
    CELL_HR(S_OK, bg_job_release(c->job));
    c->job = 0;
}

/* ---- the methods --------------------------------------------------------------------------- */

static int32_t m_add_file(cell_t *c)
{
    char dest[4096];
    new_dest(dest, sizeof dest);
    int32_t hr = bg_job_add_file(c->job, g_src_url, dest);
    uint32_t n = 0;
    CELL_HR(S_OK, bg_job_get_file_count(c->job, &n));
    CELL_CHECK(n == c->files + (hr == S_OK ? 1u : 0u), "file count %u after AddFile (was %u)", n,
               c->files);
    return hr;
}

static int32_t m_resume(cell_t *c) { return bg_job_resume(c->job); }
static int32_t m_suspend(cell_t *c) { return bg_job_suspend(c->job); }

static void check_no_temp(cell_t *c)
{
    char buf[4096];
    size_t needed = 0;
    int32_t hr = bg_job_get_file_temp_name(c->job, 0, buf, sizeof buf, &needed);
    CELL_HR(S_FALSE, hr);
    if (hr == S_FALSE) CELL_CHECK(buf[0] == '\0', "temp name after the job ended: \"%s\"", buf);
}

static int32_t m_cancel(cell_t *c)
{
    int32_t hr = bg_job_cancel(c->job);
    if (hr == S_OK) {
        check_no_temp(c);
        CELL_CHECK(!file_exists(c->dest), "Cancel left a file at the destination %s", c->dest);
    }
    return hr;
}

static int32_t m_complete(cell_t *c)
{
    int32_t hr = bg_job_complete(c->job);
    bg_file_progress fp;
    memset(&fp, 0, sizeof fp);
    CELL_HR(S_OK, bg_job_get_file_progress(c->job, 0, &fp));
    if (hr == S_OK) {
        CELL_CHECK(fp.completed == 1, "file 0 completed = %d after S_OK", fp.completed);
        CELL_CHECK(files_equal(c->dest, c->src), "destination differs from the source");
        check_no_temp(c);
    } else if (hr == BG_S_PARTIAL_COMPLETE) {
        CELL_CHECK(fp.completed == 0, "file 0 completed = %d after a partial Complete",
                   fp.completed);
        CELL_CHECK(!file_exists(c->dest), "a discarded file exists at %s", c->dest);
        check_no_temp(c);
    }
    return hr;
}

/* Setters: on success the value reads back; on failure the old value is still there. */
static int32_t m_set_display_name(cell_t *c)
{
    char buf[512];
    size_t needed = 0;
    int32_t hr = bg_job_set_display_name(c->job, "renamed in the matrix");
    CELL_HR(S_OK, bg_job_get_display_name(c->job, buf, sizeof buf, &needed));
    CELL_CHECK(strcmp(buf, hr == S_OK ? "renamed in the matrix" : c->display) == 0,
               "display name \"%s\"", buf);
    return hr;
}

static int32_t m_set_description(cell_t *c)
{
    char buf[512];
    size_t needed = 0;
    int32_t hr = bg_job_set_description(c->job, "a description");
    CELL_HR(S_OK, bg_job_get_description(c->job, buf, sizeof buf, &needed));
    CELL_CHECK(strcmp(buf, hr == S_OK ? "a description" : "") == 0, "description \"%s\"", buf);
    return hr;
}

static int32_t m_set_priority(cell_t *c)
{
    /* LOW, not FOREGROUND: a FOREGROUND job would leave QUEUED at once. */
    int32_t hr = bg_job_set_priority(c->job, BG_JOB_PRIORITY_LOW);
    bg_job_priority p = -1;
    CELL_HR(S_OK, bg_job_get_priority(c->job, &p));
    CELL_CHECK(p == (hr == S_OK ? BG_JOB_PRIORITY_LOW : BG_JOB_PRIORITY_NORMAL), "priority %d",
               (int)p);
    return hr;
}

#define U32_SETTER(fn_name, setter, getter, value, dflt)                               \
    static int32_t fn_name(cell_t *c)                                                  \
    {                                                                                  \
        int32_t hr = setter(c->job, (value));                                          \
        uint32_t v = 0xA5A5A5A5u;                                                      \
        CELL_HR(S_OK, getter(c->job, &v));                                             \
        CELL_CHECK(v == (hr == S_OK ? (uint32_t)(value) : (uint32_t)(dflt)),           \
                   #getter " = %" PRIu32, v);                                          \
        return hr;                                                                     \
    }

U32_SETTER(m_set_min_retry, bg_job_set_minimum_retry_delay, bg_job_get_minimum_retry_delay, 77,
           600)
U32_SETTER(m_set_no_progress, bg_job_set_no_progress_timeout, bg_job_get_no_progress_timeout,
           4321, 1209600)
U32_SETTER(m_set_notify, bg_job_set_notify_flags, bg_job_get_notify_flags,
           BG_NOTIFY_JOB_MODIFICATION | BG_NOTIFY_FILE_TRANSFERRED, 3)
U32_SETTER(m_set_max_dl, bg_job_set_maximum_download_time, bg_job_get_maximum_download_time,
           98765, 7776000)

U32_SETTER(m_set_notif_interval, bg_job_set_minimum_notification_interval,
           bg_job_get_minimum_notification_interval, 1234, 500)

static int32_t m_set_max_rate(cell_t *c)
{
    int32_t hr = bg_job_set_max_rate(c->job, 1u << 20);
    uint64_t v = 0xA5A5A5A5A5A5A5A5ull;
    CELL_HR(S_OK, bg_job_get_max_rate(c->job, &v));
    CELL_CHECK(v == (hr == S_OK ? (1u << 20) : 0), "max rate %" PRIu64, v);
    return hr;
}

static int g_frees;
static void count_free(void *user_data)
{
    (void)user_data;
    __atomic_add_fetch(&g_frees, 1, __ATOMIC_SEQ_CST);
}
static int g_token;

static int32_t m_set_callbacks(cell_t *c)
{
    static const bg_job_callbacks none = {NULL, NULL, NULL, NULL};
    int before = __atomic_load_n(&g_frees, __ATOMIC_SEQ_CST);
    int32_t hr = bg_job_set_callbacks(c->job, &none, &g_token, count_free);
    bg_job_callbacks cb;
    void *ud = (void *)&cb;
    CELL_HR(S_OK, bg_job_get_callbacks(c->job, &cb, &ud));
    CELL_CHECK(ud == (hr == S_OK ? (void *)&g_token : NULL), "user data %p after SetCallbacks", ud);
    if (hr != S_OK)
        CELL_CHECK(__atomic_load_n(&g_frees, __ATOMIC_SEQ_CST) == before,
                   "user_data_free called although SetCallbacks was refused");
    return hr;
}

static int32_t m_set_cmd_line(cell_t *c)
{
    /* on a TRANSFERRED or ERROR job it runs at once: /bin/true, harmless */
    int32_t hr = bg_job_set_notify_cmd_line(c->job, "/bin/true", NULL, 0);
    char buf[256];
    size_t needed = 0;
    int32_t got = bg_job_get_notify_cmd_line(c->job, buf, sizeof buf, &needed);
    CELL_HR(hr == S_OK ? S_OK : S_FALSE, got);
    CELL_CHECK(strcmp(buf, hr == S_OK ? "/bin/true" : "") == 0, "command line \"%s\"", buf);
    return hr;
}

/* Getters: the code is checked by the table; the values are checked here. */
static int32_t g_state(cell_t *c)
{
    bg_job_state s = -1;
    int32_t hr = bg_job_get_state(c->job, &s);
    if (hr == S_OK) CELL_CHECK(s == ST_BG[c->st], "GetState = %s", state_name(s));
    return hr;
}

static int32_t g_progress(cell_t *c)
{
    bg_job_progress p;
    memset(&p, 0xA5, sizeof p);
    int32_t hr = bg_job_get_progress(c->job, &p);
    if (hr != S_OK) return hr;
    CELL_CHECK(p.files_total == c->files, "files_total %u", p.files_total);
    switch (c->st) {
    case ST_SUSPENDED:
    case ST_QUEUED:
    case ST_ERROR:
    case ST_CANCELLED:
        CELL_CHECK(p.bytes_transferred == 0 && p.files_transferred == 0,
                   "bytes %" PRIu64 " files %u", p.bytes_transferred, p.files_transferred);
        break;
    case ST_TRANSFERRING:
        CELL_CHECK(p.bytes_total == SRC_SIZE && p.bytes_transferred == HOLD_AT &&
                       p.files_transferred == 0,
                   "total %" PRIu64 " bytes %" PRIu64 " files %u", p.bytes_total,
                   p.bytes_transferred, p.files_transferred);
        break;
    case ST_TRANSFERRED:
    case ST_ACKNOWLEDGED:
        CELL_CHECK(p.bytes_total == SRC_SIZE && p.bytes_transferred == SRC_SIZE &&
                       p.files_transferred == 1,
                   "total %" PRIu64 " bytes %" PRIu64 " files %u", p.bytes_total,
                   p.bytes_transferred, p.files_transferred);
        break;
    }
    return hr;
}

static int32_t g_times(cell_t *c)
{
    bg_job_times t;
    memset(&t, 0, sizeof t);
    int32_t hr = bg_job_get_times(c->job, &t);
    if (hr != S_OK) return hr;
    CELL_CHECK(t.creation_time > 0 && t.modification_time >= t.creation_time,
               "creation %" PRId64 " modification %" PRId64, t.creation_time,
               t.modification_time);
    if (c->st == ST_TRANSFERRED || c->st == ST_ACKNOWLEDGED) {
        CELL_CHECK(t.transfer_completion_time >= t.creation_time &&
                       t.transfer_completion_time <= t.modification_time,
                   "transfer completion %" PRId64, t.transfer_completion_time);
    } else {
        CELL_CHECK(t.transfer_completion_time == 0, "transfer completion %" PRId64,
                   t.transfer_completion_time);
    }
    return hr;
}

static int32_t g_id(cell_t *c)
{
    bg_guid id;
    memset(&id, 0, sizeof id);
    int32_t hr = bg_job_get_id(c->job, &id);
    if (hr == S_OK) CELL_CHECK(memcmp(&id, &c->id, sizeof id) == 0, "GetId differs");
    return hr;
}

static int32_t g_type(cell_t *c)
{
    bg_job_type t = -1;
    int32_t hr = bg_job_get_type(c->job, &t);
    if (hr == S_OK) CELL_CHECK(t == BG_JOB_TYPE_DOWNLOAD, "type %d", (int)t);
    return hr;
}

static int32_t g_display_name(cell_t *c)
{
    char buf[512];
    size_t needed = 0;
    int32_t hr = bg_job_get_display_name(c->job, buf, sizeof buf, &needed);
    if (hr == S_OK)
        CELL_CHECK(strcmp(buf, c->display) == 0 && needed == strlen(c->display) + 1,
                   "display name \"%s\" needed %zu", buf, needed);
    return hr;
}

static int32_t g_description(cell_t *c)
{
    char buf[512];
    size_t needed = 0;
    int32_t hr = bg_job_get_description(c->job, buf, sizeof buf, &needed);
    if (hr == S_OK) CELL_CHECK(buf[0] == '\0' && needed == 1, "description \"%s\"", buf);
    return hr;
}

static int32_t g_error(cell_t *c)
{
    bg_job_error e;
    memset(&e, 0xA5, sizeof e);
    bg_job_error sentinel = e;
    char desc[1024];
    size_t needed = 0;
    int32_t hr = bg_job_get_error(c->job, &e, desc, sizeof desc, &needed);
    if (hr == S_OK) {
        CELL_CHECK(e.context == BG_ERROR_CONTEXT_REMOTE_FILE, "context %d", (int)e.context);
        /* The header does not name the code for a missing source; ENOENT maps to one of the
         * two "not found" codes (POSIX cannot tell a missing file from a missing directory). */
        CELL_CHECK(e.code == BG_E_WIN32_FILE_NOT_FOUND || e.code == BG_E_WIN32_PATH_NOT_FOUND,
                   "code 0x%08" PRIX32, (uint32_t)e.code);
        CELL_CHECK(e.file_index == 0, "file_index %u", e.file_index);
        CELL_CHECK(needed == strlen(desc) + 1 && needed > 1, "description needed %zu", needed);
    } else {
        CELL_CHECK(memcmp(&e, &sentinel, sizeof e) == 0, "out_error written on failure");
    }
    return hr;
}

#define U32_GETTER(fn_name, getter, expect_expr)                                       \
    static int32_t fn_name(cell_t *c)                                                  \
    {                                                                                  \
        uint32_t v = 0xA5A5A5A5u;                                                      \
        int32_t hr = getter(c->job, &v);                                               \
        if (hr == S_OK) CELL_CHECK(v == (uint32_t)(expect_expr), #getter " = %" PRIu32, v); \
        return hr;                                                                     \
    }

U32_GETTER(g_error_count, bg_job_get_error_count, c->st == ST_ERROR ? 1 : 0)
U32_GETTER(g_min_retry, bg_job_get_minimum_retry_delay, 600)
U32_GETTER(g_no_progress, bg_job_get_no_progress_timeout, 1209600)
U32_GETTER(g_notify, bg_job_get_notify_flags, 3)
U32_GETTER(g_max_dl, bg_job_get_maximum_download_time, 7776000)
U32_GETTER(g_file_count, bg_job_get_file_count, c->files)

U32_GETTER(g_notif_interval, bg_job_get_minimum_notification_interval, 500)

static int32_t g_max_rate(cell_t *c)
{
    uint64_t v = 0xA5A5A5A5A5A5A5A5ull;
    int32_t hr = bg_job_get_max_rate(c->job, &v);
    if (hr == S_OK) CELL_CHECK(v == 0, "max rate %" PRIu64 " (default 0)", v);
    return hr;
}

static int32_t g_callbacks(cell_t *c)
{
    bg_job_callbacks cb;
    memset(&cb, 0xA5, sizeof cb);
    void *ud = (void *)&cb;
    int32_t hr = bg_job_get_callbacks(c->job, &cb, &ud);
    if (hr == S_OK)
        CELL_CHECK(cb.job_transferred == NULL && cb.job_error == NULL &&
                       cb.job_modification == NULL && cb.file_transferred == NULL && ud == NULL,
                   "callbacks set on a new job");
    return hr;
}

static int32_t g_cmd_line(cell_t *c)
{
    char buf[256];
    size_t needed = 0;
    buf[0] = 'x';
    int32_t hr = bg_job_get_notify_cmd_line(c->job, buf, sizeof buf, &needed);
    if (hr == S_FALSE) CELL_CHECK(buf[0] == '\0' && needed == 1, "no command line: \"%s\"", buf);
    return hr;
}

static int32_t g_priority(cell_t *c)
{
    bg_job_priority p = -1;
    int32_t hr = bg_job_get_priority(c->job, &p);
    if (hr == S_OK) CELL_CHECK(p == BG_JOB_PRIORITY_NORMAL, "priority %d", (int)p);
    return hr;
}

static int32_t g_file_progress(cell_t *c)
{
    bg_file_progress fp;
    memset(&fp, 0xA5, sizeof fp);
    int32_t hr = bg_job_get_file_progress(c->job, 0, &fp);
    if (hr != S_OK) return hr;
    switch (c->st) {
    case ST_SUSPENDED:
    case ST_QUEUED:
    case ST_ERROR:
    case ST_CANCELLED:
        CELL_CHECK(fp.bytes_transferred == 0 && fp.completed == 0,
                   "bytes %" PRIu64 " completed %d", fp.bytes_transferred, fp.completed);
        break;
    case ST_TRANSFERRING:
        CELL_CHECK(fp.bytes_total == SRC_SIZE && fp.bytes_transferred == HOLD_AT &&
                       fp.completed == 0,
                   "total %" PRIu64 " bytes %" PRIu64 " completed %d", fp.bytes_total,
                   fp.bytes_transferred, fp.completed);
        break;
    case ST_TRANSFERRED:
        CELL_CHECK(fp.bytes_total == SRC_SIZE && fp.bytes_transferred == SRC_SIZE &&
                       fp.completed == 0,
                   "total %" PRIu64 " bytes %" PRIu64 " completed %d", fp.bytes_total,
                   fp.bytes_transferred, fp.completed);
        break;
    case ST_ACKNOWLEDGED:
        CELL_CHECK(fp.bytes_total == SRC_SIZE && fp.bytes_transferred == SRC_SIZE &&
                       fp.completed == 1,
                   "total %" PRIu64 " bytes %" PRIu64 " completed %d", fp.bytes_total,
                   fp.bytes_transferred, fp.completed);
        break;
    }
    return hr;
}

static int32_t g_remote_name(cell_t *c)
{
    char buf[4200];
    size_t needed = 0;
    int32_t hr = bg_job_get_file_remote_name(c->job, 0, buf, sizeof buf, &needed);
    if (hr == S_OK)
        CELL_CHECK(strcmp(buf, c->st == ST_ERROR ? g_missing_url : g_src_url) == 0,
                   "remote name \"%s\"", buf);
    return hr;
}

static int32_t g_local_name(cell_t *c)
{
    char buf[4200];
    size_t needed = 0;
    int32_t hr = bg_job_get_file_local_name(c->job, 0, buf, sizeof buf, &needed);
    if (hr == S_OK) CELL_CHECK(strcmp(buf, c->dest) == 0, "local name \"%s\"", buf);
    return hr;
}

static int32_t g_temp_name(cell_t *c)
{
    char buf[4200];
    size_t needed = 0;
    int32_t hr = bg_job_get_file_temp_name(c->job, 0, buf, sizeof buf, &needed);
    if (hr == S_OK) {
        CELL_CHECK(strstr(buf, "/.bgcopy-") != NULL && file_exists(buf),
                   "temp name \"%s\" (exists %d)", buf, file_exists(buf));
    } else if (hr == S_FALSE) {
        CELL_CHECK(buf[0] == '\0' && needed == 1, "S_FALSE with \"%s\" needed %zu", buf, needed);
    }
    return hr;
}

static int32_t g_wait0(cell_t *c)
{
    bg_job_state s = -1;
    int32_t hr = bg_job_wait(c->job, 0, &s);
    CELL_CHECK(s == ST_BG[c->st], "Wait(0) state %s", state_name(s));
    return hr;
}

typedef struct {
    const char *name;
    int32_t (*call)(cell_t *c);
} method_t;

enum {
    M_ADD_FILE,
    M_RESUME,
    M_SUSPEND,
    M_CANCEL,
    M_COMPLETE,
    M_SET_DISPLAY_NAME,
    M_SET_DESCRIPTION,
    M_SET_PRIORITY,
    M_SET_MIN_RETRY,
    M_SET_NO_PROGRESS,
    M_SET_NOTIFY,
    M_SET_MAX_DL,
    M_SET_NOTIF_INTERVAL,
    M_SET_CALLBACKS,
    M_SET_CMD_LINE,
    M_SET_MAX_RATE,
    M_FIRST_GETTER,
    M_GET_STATE = M_FIRST_GETTER,
    M_GET_PROGRESS,
    M_GET_TIMES,
    M_GET_ID,
    M_GET_TYPE,
    M_GET_DISPLAY_NAME,
    M_GET_DESCRIPTION,
    M_GET_ERROR,
    M_GET_ERROR_COUNT,
    M_GET_PRIORITY,
    M_GET_MIN_RETRY,
    M_GET_NO_PROGRESS,
    M_GET_NOTIFY,
    M_GET_MAX_DL,
    M_GET_FILE_COUNT,
    M_GET_FILE_PROGRESS,
    M_GET_REMOTE_NAME,
    M_GET_LOCAL_NAME,
    M_GET_TEMP_NAME,
    M_GET_NOTIF_INTERVAL,
    M_GET_CALLBACKS,
    M_GET_CMD_LINE,
    M_GET_MAX_RATE,
    M_WAIT0,
    M_COUNT
};

static const method_t METHODS[M_COUNT] = {
    [M_ADD_FILE] = {"AddFile", m_add_file},
    [M_RESUME] = {"Resume", m_resume},
    [M_SUSPEND] = {"Suspend", m_suspend},
    [M_CANCEL] = {"Cancel", m_cancel},
    [M_COMPLETE] = {"Complete", m_complete},
    [M_SET_DISPLAY_NAME] = {"SetDisplayName", m_set_display_name},
    [M_SET_DESCRIPTION] = {"SetDescription", m_set_description},
    [M_SET_PRIORITY] = {"SetPriority(LOW)", m_set_priority},
    [M_SET_MIN_RETRY] = {"SetMinimumRetryDelay", m_set_min_retry},
    [M_SET_NO_PROGRESS] = {"SetNoProgressTimeout", m_set_no_progress},
    [M_SET_NOTIFY] = {"SetNotifyFlags", m_set_notify},
    [M_SET_MAX_DL] = {"SetMaximumDownloadTime", m_set_max_dl},
    [M_SET_NOTIF_INTERVAL] = {"SetMinimumNotificationInterval", m_set_notif_interval},
    [M_SET_CALLBACKS] = {"SetCallbacks", m_set_callbacks},
    [M_SET_CMD_LINE] = {"SetNotifyCmdLine", m_set_cmd_line},
    [M_SET_MAX_RATE] = {"SetMaxRate", m_set_max_rate},
    [M_GET_STATE] = {"GetState", g_state},
    [M_GET_PROGRESS] = {"GetProgress", g_progress},
    [M_GET_TIMES] = {"GetTimes", g_times},
    [M_GET_ID] = {"GetId", g_id},
    [M_GET_TYPE] = {"GetType", g_type},
    [M_GET_DISPLAY_NAME] = {"GetDisplayName", g_display_name},
    [M_GET_DESCRIPTION] = {"GetDescription", g_description},
    [M_GET_ERROR] = {"GetError", g_error},
    [M_GET_ERROR_COUNT] = {"GetErrorCount", g_error_count},
    [M_GET_PRIORITY] = {"GetPriority", g_priority},
    [M_GET_MIN_RETRY] = {"GetMinimumRetryDelay", g_min_retry},
    [M_GET_NO_PROGRESS] = {"GetNoProgressTimeout", g_no_progress},
    [M_GET_NOTIFY] = {"GetNotifyFlags", g_notify},
    [M_GET_MAX_DL] = {"GetMaximumDownloadTime", g_max_dl},
    [M_GET_FILE_COUNT] = {"GetFileCount", g_file_count},
    [M_GET_FILE_PROGRESS] = {"GetFileProgress(0)", g_file_progress},
    [M_GET_REMOTE_NAME] = {"GetFileRemoteName(0)", g_remote_name},
    [M_GET_LOCAL_NAME] = {"GetFileLocalName(0)", g_local_name},
    [M_GET_TEMP_NAME] = {"GetFileTempName(0)", g_temp_name},
    [M_GET_NOTIF_INTERVAL] = {"GetMinimumNotificationInterval", g_notif_interval},
    [M_GET_CALLBACKS] = {"GetCallbacks", g_callbacks},
    [M_GET_CMD_LINE] = {"GetNotifyCmdLine", g_cmd_line},
    [M_GET_MAX_RATE] = {"GetMaxRate", g_max_rate},
    [M_WAIT0] = {"Wait(0)", g_wait0},
};

/* ---- the matrix (§2.3, §2.2, §10 #14) ------------------------------------------------------- */

typedef struct {
    int st;
    int method;
    int32_t hr;
    int after; /* BG_JOB_STATE_* */
} row_t;

#define SUSP BG_JOB_STATE_SUSPENDED
#define QUE BG_JOB_STATE_QUEUED
#define XFR BG_JOB_STATE_TRANSFERRING
#define ERR BG_JOB_STATE_ERROR
#define XFD BG_JOB_STATE_TRANSFERRED
#define ACK BG_JOB_STATE_ACKNOWLEDGED
#define CAN BG_JOB_STATE_CANCELLED
#define INVALID BG_E_INVALID_STATE
#define PARTIAL BG_S_PARTIAL_COMPLETE

/* Setters: allowed in every non-final state, the state unchanged; BG_E_INVALID_STATE in the
 * final ones. */
#define SETTERS(st, hr, after)                                                         \
    {st, M_SET_DISPLAY_NAME, hr, after}, {st, M_SET_DESCRIPTION, hr, after},           \
        {st, M_SET_PRIORITY, hr, after}, {st, M_SET_MIN_RETRY, hr, after},             \
        {st, M_SET_NO_PROGRESS, hr, after}, {st, M_SET_NOTIFY, hr, after},             \
        {st, M_SET_MAX_DL, hr, after}, {st, M_SET_NOTIF_INTERVAL, hr, after},           \
        {st, M_SET_CALLBACKS, hr, after}, {st, M_SET_CMD_LINE, hr, after},             \
        {st, M_SET_MAX_RATE, hr, after}

static const row_t MUTATORS[] = {
    /* SUSPENDED: a new job with one untransferred file. */
    {ST_SUSPENDED, M_ADD_FILE, S_OK, SUSP},
    {ST_SUSPENDED, M_RESUME, S_OK, QUE},              /* T2 */
    {ST_SUSPENDED, M_SUSPEND, S_OK, SUSP},            /* T20: no-op */
    {ST_SUSPENDED, M_CANCEL, S_OK, CAN},              /* T23 */
    {ST_SUSPENDED, M_COMPLETE, PARTIAL, ACK},         /* T21: the file is discarded */
    SETTERS(ST_SUSPENDED, S_OK, SUSP),

    /* QUEUED: waiting behind the blocker. */
    {ST_QUEUED, M_ADD_FILE, S_OK, QUE},
    {ST_QUEUED, M_RESUME, S_OK, QUE},                 /* T4: no-op */
    {ST_QUEUED, M_SUSPEND, S_OK, SUSP},
    {ST_QUEUED, M_CANCEL, S_OK, CAN},
    {ST_QUEUED, M_COMPLETE, PARTIAL, ACK},
    SETTERS(ST_QUEUED, S_OK, QUE),

    /* TRANSFERRING: held at HOLD_AT bytes of file 0. */
    {ST_TRANSFERRING, M_ADD_FILE, S_OK, XFR},
    {ST_TRANSFERRING, M_RESUME, S_OK, XFR},           /* T4: no-op */
    {ST_TRANSFERRING, M_SUSPEND, S_OK, SUSP},
    {ST_TRANSFERRING, M_CANCEL, S_OK, CAN},
    {ST_TRANSFERRING, M_COMPLETE, PARTIAL, ACK},      /* the file in flight is discarded */
    SETTERS(ST_TRANSFERRING, S_OK, XFR),

    /* ERROR: the source file does not exist. */
    {ST_ERROR, M_ADD_FILE, S_OK, ERR},
    {ST_ERROR, M_RESUME, S_OK, QUE},                  /* T2 */
    {ST_ERROR, M_SUSPEND, S_OK, SUSP},
    {ST_ERROR, M_CANCEL, S_OK, CAN},
    {ST_ERROR, M_COMPLETE, PARTIAL, ACK},
    SETTERS(ST_ERROR, S_OK, ERR),

    /* TRANSFERRED: every file transferred, waiting for Complete (§10 #14). */
    {ST_TRANSFERRED, M_ADD_FILE, S_OK, XFD},
    {ST_TRANSFERRED, M_RESUME, S_OK, XFD},            /* nothing left to transfer: no-op */
    {ST_TRANSFERRED, M_SUSPEND, S_OK, SUSP},
    {ST_TRANSFERRED, M_CANCEL, S_OK, CAN},
    {ST_TRANSFERRED, M_COMPLETE, S_OK, ACK},
    SETTERS(ST_TRANSFERRED, S_OK, XFD),

    /* ACKNOWLEDGED and CANCELLED: final; every mutating method is refused. */
    {ST_ACKNOWLEDGED, M_ADD_FILE, INVALID, ACK},
    {ST_ACKNOWLEDGED, M_RESUME, INVALID, ACK},
    {ST_ACKNOWLEDGED, M_SUSPEND, INVALID, ACK},
    {ST_ACKNOWLEDGED, M_CANCEL, INVALID, ACK},
    {ST_ACKNOWLEDGED, M_COMPLETE, INVALID, ACK},
    SETTERS(ST_ACKNOWLEDGED, INVALID, ACK),

    {ST_CANCELLED, M_ADD_FILE, INVALID, CAN},
    {ST_CANCELLED, M_RESUME, INVALID, CAN},
    {ST_CANCELLED, M_SUSPEND, INVALID, CAN},
    {ST_CANCELLED, M_CANCEL, INVALID, CAN},
    {ST_CANCELLED, M_COMPLETE, INVALID, CAN},
    SETTERS(ST_CANCELLED, INVALID, CAN),
};

/* Getters: readable in every state (R); GetError only in ERROR; GetFileTempName S_FALSE when
 * the file has no temp file; Wait(0) S_OK once settled (TRANSFERRED, ERROR, final), else
 * S_FALSE. */
static int32_t getter_expect(int method, int st)
{
    switch (method) {
    case M_GET_ERROR:
        return st == ST_ERROR ? S_OK : BG_E_ERROR_INFORMATION_UNAVAILABLE;
    case M_GET_TEMP_NAME:
        return (st == ST_TRANSFERRING || st == ST_TRANSFERRED) ? S_OK : S_FALSE;
    case M_GET_CMD_LINE:
        return S_FALSE; /* none set */
    case M_WAIT0:
        return (st == ST_SUSPENDED || st == ST_QUEUED || st == ST_TRANSFERRING) ? S_FALSE : S_OK;
    default:
        return S_OK;
    }
}

static const char *ST_NAME[ST_COUNT] = {"SUSPENDED",   "QUEUED",       "TRANSFERRING", "ERROR",
                                        "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"};

static int g_cells_run;

static void run_cell(int st, int method, int32_t hr_expected, int after)
{
    char name[128];
    snprintf(name, sizeof name, "%s x %s", ST_NAME[st], METHODS[method].name);
    g_cell = name;
    g_cells_run++;
    cell_t c;
    if (make_state(&c, st)) {
        int32_t hr = METHODS[method].call(&c);
        CHECK_MSG(hr == hr_expected,
                  "[%s] expected 0x%08" PRIX32 " (%s) got 0x%08" PRIX32 " (%s)", name,
                  (uint32_t)hr_expected, harness_msg_(hr_expected), (uint32_t)hr,
                  harness_msg_(hr));
        int s = job_state(c.job);
        CHECK_MSG(s == after, "[%s] state afterwards %s, expected %s", name, state_name(s),
                  state_name(after));
        if (method >= M_FIRST_GETTER && st == ST_TRANSFERRING) {
            /* a getter never moves the transfer: still held at the same offset */
            bg_job_progress p;
            CELL_HR(S_OK, bg_job_get_progress(c.job, &p));
            CELL_CHECK(p.bytes_transferred == HOLD_AT, "bytes %" PRIu64 " after a getter",
                       p.bytes_transferred);
        }
    } else {
        CHECK_MSG(0, "[%s] could not build the job in %s; cell skipped", name, ST_NAME[st]);
    }
    drop_cell(&c);
    g_cell = "(between cells)";
}

/* ---- extra cells: rules of the "Extra rule" column and §10 #14 -------------------------------- */

static void extra_cells(void)
{
    /* SUSPENDED without files x Resume → BG_E_EMPTY, stays SUSPENDED (T3). */
    g_cell = "SUSPENDED(no files) x Resume";
    {
        bg_job job = 0;
        CELL_HR(S_OK, bg_manager_create_job(g_mgr, "empty", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
        CELL_HR(BG_E_EMPTY, bg_job_resume(job));
        CELL_CHECK(job_state(job) == BG_JOB_STATE_SUSPENDED, "state %s",
                   state_name(job_state(job)));
        /* and the other methods on an empty job */
        CELL_HR(S_OK, bg_job_suspend(job));
        CELL_CHECK(job_state(job) == BG_JOB_STATE_SUSPENDED, "state %s",
                   state_name(job_state(job)));
        CELL_HR(S_OK, bg_job_complete(job)); /* nothing discarded: every file (none) kept */
        CELL_CHECK(job_state(job) == BG_JOB_STATE_ACKNOWLEDGED, "state %s",
                   state_name(job_state(job)));
        CELL_HR(BG_E_INVALID_STATE, bg_job_resume(job)); /* final beats empty */
        CELL_HR(S_OK, bg_job_release(job));
    }
    g_cell = "CANCELLED(no files) x Resume";
    {
        bg_job job = 0;
        CELL_HR(S_OK, bg_manager_create_job(g_mgr, "empty", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
        CELL_HR(S_OK, bg_job_cancel(job));
        CELL_HR(BG_E_INVALID_STATE, bg_job_resume(job));
        CELL_CHECK(job_state(job) == BG_JOB_STATE_CANCELLED, "state %s",
                   state_name(job_state(job)));
        CELL_HR(S_OK, bg_job_release(job));
    }

    /* TRANSFERRED + AddFile, then Resume → QUEUED (§10 #14, T32). */
    g_cell = "TRANSFERRED(+file added) x Resume";
    {
        cell_t c;
        if (make_state(&c, ST_TRANSFERRED)) {
            char dest[4096];
            new_dest(dest, sizeof dest);
            CELL_HR(S_OK, bg_job_add_file(c.job, g_src_url, dest));
            CELL_CHECK(job_state(c.job) == BG_JOB_STATE_TRANSFERRED, "after AddFile: %s",
                       state_name(job_state(c.job)));
            bg_job_progress p;
            CELL_HR(S_OK, bg_job_get_progress(c.job, &p));
            CELL_CHECK(p.files_total == 2 && p.files_transferred == 1 &&
                           p.bytes_total == BG_SIZE_UNKNOWN,
                       "progress files %u/%u total %" PRIu64, p.files_transferred,
                       p.files_total, p.bytes_total);
            CELL_HR(S_OK, bg_job_resume(c.job));
            CELL_CHECK(job_state(c.job) == BG_JOB_STATE_QUEUED, "after Resume: %s",
                       state_name(job_state(c.job)));
            /* Complete now keeps file 0 and discards file 1 (never transferred). */
            CELL_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(c.job));
            CELL_CHECK(files_equal(c.dest, c.src), "file 0 not kept");
            CELL_CHECK(!file_exists(dest), "file 1 should have been discarded");
        }
        drop_cell(&c);
    }

    /* ERROR x Resume clears the error object: GetError → unavailable once QUEUED (T2). */
    g_cell = "ERROR x Resume (error object cleared)";
    {
        cell_t c;
        if (make_state(&c, ST_ERROR)) {
            bg_job_error e;
            CELL_HR(S_OK, bg_job_get_error(c.job, &e, NULL, 0, NULL));
            CELL_HR(S_OK, bg_job_resume(c.job));
            CELL_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(c.job, &e, NULL, 0, NULL));
            uint32_t n = 0;
            CELL_HR(S_OK, bg_job_get_error_count(c.job, &n));
            CELL_CHECK(n == 1, "error count %u (never reset)", n);
        }
        drop_cell(&c);
    }

    /* Second Cancel / Complete on a final job (§2.1: Wine tests on Windows). */
    g_cell = "ACKNOWLEDGED x Complete, Cancel twice";
    {
        cell_t c;
        if (make_state(&c, ST_ACKNOWLEDGED)) {
            for (int i = 0; i < 2; i++) {
                CELL_HR(BG_E_INVALID_STATE, bg_job_complete(c.job));
                CELL_HR(BG_E_INVALID_STATE, bg_job_cancel(c.job));
            }
            CELL_CHECK(files_equal(c.dest, c.src), "the completed file was touched");
            CELL_CHECK(job_state(c.job) == BG_JOB_STATE_ACKNOWLEDGED, "state %s",
                       state_name(job_state(c.job)));
            /* ended jobs are gone from the queue (§2.1) */
            bg_job other = 0;
            CELL_HR(BG_E_NOT_FOUND, bg_manager_get_job(g_mgr, &c.id, &other));
        }
        drop_cell(&c);
    }
    g_cell = "CANCELLED x GetJob";
    {
        cell_t c;
        if (make_state(&c, ST_CANCELLED)) {
            bg_job other = 0;
            CELL_HR(BG_E_NOT_FOUND, bg_manager_get_job(g_mgr, &c.id, &other));
        }
        drop_cell(&c);
    }
    g_cell = "(between cells)";
}

int main(void)
{
    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    REQUIRE(path_join(g_src, sizeof g_src, g_dir, "source.bin") != NULL);
    REQUIRE(make_pattern_file(g_src, SRC_SIZE, 42) == 0);
    REQUIRE(file_url(g_src_url, sizeof g_src_url, g_src) != NULL);
    {
        char missing[4096];
        REQUIRE(path_join(missing, sizeof missing, g_dir, "no-such-source.bin") != NULL);
        REQUIRE(file_url(g_missing_url, sizeof g_missing_url, missing) != NULL);
    }

    REQUIRE_OK(bg_manager_open(":memory:", &g_mgr));
    REQUIRE_OK(bg_manager_set_option(g_mgr, BG_OPTION_TIME_SLICE_MS, 86400000));
    /* the pools of ERROR and TRANSFERRED jobs, before the blocker */
    g_cell = "pools";
    pool_fill(&g_pool_error, 50, 1, BG_JOB_STATE_ERROR);
    pool_fill(&g_pool_transferred, POOL_SIZE, 0, BG_JOB_STATE_TRANSFERRED);
    REQUIRE_OK(bg_manager_set_option(g_mgr, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 1));
    REQUIRE_OK(bg_manager_open(":memory:", &g_mgr2));

    /* The blocker: a NORMAL job held mid-transfer occupies the only background slot. */
    cell_t blocker;
    g_cell = "blocker";
    REQUIRE(make_state(&blocker, ST_SUSPENDED));
    REQUIRE_OK(bg_test_hold(blocker.job, 0, HOLD_AT));
    REQUIRE_OK(bg_job_resume(blocker.job));
    REQUIRE(wait_state_bytes(blocker.job, BG_JOB_STATE_TRANSFERRING, HOLD_AT));

    for (size_t i = 0; i < sizeof MUTATORS / sizeof MUTATORS[0]; i++)
        run_cell(MUTATORS[i].st, MUTATORS[i].method, MUTATORS[i].hr, MUTATORS[i].after);
    for (int st = 0; st < ST_COUNT; st++)
        for (int m = M_FIRST_GETTER; m < M_COUNT; m++)
            run_cell(st, m, getter_expect(m, st), ST_BG[st]);
    extra_cells();

    /* The blocker held the slot all along. */
    g_cell = "blocker";
    CELL_CHECK(job_state(blocker.job) == BG_JOB_STATE_TRANSFERRING, "blocker state %s",
               state_name(job_state(blocker.job)));
    drop_cell(&blocker);
    g_cell = "pools";
    pool_drain(&g_pool_error);
    pool_drain(&g_pool_transferred);

    printf("%d matrix cells run\n", g_cells_run);
    CHECK_OK(bg_manager_close(g_mgr2));
    CHECK_OK(bg_manager_close(g_mgr));
    CHECK(remove_tree(g_dir) == 0);
    TEST_MAIN_END();
}
