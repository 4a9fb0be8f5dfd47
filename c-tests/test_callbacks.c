/*
 * test_callbacks.c — per-job callbacks (spec §3.9; bg_job_set_callbacks / bg_job_get_callbacks,
 * bg_job_set_notify_flags, bg_job_set_minimum_notification_interval):
 *
 *   - set / get / remove, refused on ended jobs (nothing taken);
 *   - which event fires for which notify flags (default 0x3, each flag, combinations, DISABLE),
 *     on a job that reaches TRANSFERRED and on one that reaches ERROR; JobModification is not
 *     raised for the transitions to TRANSFERRED / ERROR;
 *   - FILE_TRANSFERRED once per file, in order, across Suspend/Resume and a file added later;
 *     JobTransferred and JobError once per transition;
 *   - JobModification: every change with interval 0, coalesced with a long interval;
 *   - callbacks that call Complete, Cancel, release the handle, replace or remove the callbacks,
 *     close the manager, or call a broad set of other functions;
 *   - one dispatcher thread (never the caller's thread, never two callbacks at once), event
 *     order per job over several jobs and managers, a slow callback delays later callbacks but
 *     never transfers;
 *   - user_data_free exactly once in every path (replaced, removed, removed or replaced inside a
 *     callback, last reference gone through release + close, close with the handle still open,
 *     ended jobs, refused set: never), never concurrently with a callback;
 *   - callbacks are not persisted.
 *
 * Synchronisation: condition variables fed by the callbacks, bg_job_wait, bounded polls. A
 * "does not fire" check waits for a later event that must come after it: the event the test
 * does expect (JobTransferred / JobError), or user_data_free of the removed callbacks (the
 * library runs it on the dispatcher thread after every event already queued for them), or the
 * dispatcher barrier (user_data_free of a throw-away registration on another job, queued after
 * everything before it). No sleep is used as synchronisation.
 *
 * Run it under valgrind (BGCOPY_UNDER_VALGRIND=1 scales the waits up) to check that
 * user_data is never used after its free and that nothing leaks.
 */
#include <stdatomic.h>
#include <stdint.h>

/* Waits and the watchdog scale up under valgrind (main() sets both). */
static uint32_t g_wait_ms = 10000;
static int g_valgrind;
#define WAIT_MS g_wait_ms
#define WATCHDOG_S (g_valgrind ? 900 : 120)
#include "job_helpers.h"

#define KIB ((uint64_t)1024)

/* Spins until the wall clock is past the job's modification time, so that the next change
 * stamps a new modification time (JobModification reports changes of it). */
static void next_modification_ms(bg_job job)
{
    bg_job_times t;
    memset(&t, 0, sizeof t);
    if (bg_job_get_times(job, &t) != S_OK) return;
    while (wall_ms() <= t.modification_time) {
    }
}

/* ---- the event recorder (user_data of the callbacks) ------------------------------------- */

enum { EV_T = 0, EV_E, EV_M, EV_F, EV_KINDS };
#define REC_MAGIC 0x5EC0CA11u
#define MAX_EVENTS 4096

typedef struct ev {
    int kind;
    uint32_t file;          /* EV_F */
    bg_job handle;          /* the job argument */
    bg_hresult state_hr;    /* bg_job_get_state(handle) inside the callback */
    bg_job_state state;
    int err_null;           /* EV_E: the error pointer was NULL */
    bg_job_error err;       /* EV_E: *error */
    bg_hresult fp_hr;       /* EV_F: bg_job_get_file_progress(handle, file) inside */
    bg_file_progress fp;
    int freed_before;       /* the recorder's free count when the callback ran */
} ev;

typedef struct rec rec;
typedef void (*hook_fn)(rec *r, const ev *e);

struct rec {
    uint32_t magic;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;                  /* callbacks entered (events recorded) */
    int done;               /* callbacks returned */
    int count[EV_KINDS];    /* callbacks returned, by kind */
    int freed;              /* user_data_free calls */
    int free_during_cb;     /* user_data_free ran while a callback ran */
    int free_wrong_thread;  /* user_data_free ran on another thread than the callbacks */
    hook_fn hook;           /* runs inside every callback, after recording */
    void *arg;              /* for the hook */
    bg_hresult hr[32];      /* results of calls made by the hook */
    int hook_ran;
    ev evs[MAX_EVENTS];
};

/* Process-wide checks of the dispatcher. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t g_main_thread;
static pthread_t g_dispatcher;
static int g_dispatcher_known;
static int g_cb_on_main;        /* a callback ran on the main thread */
static int g_cb_thread_changed; /* callbacks ran on more than one thread */
static atomic_int g_in_cb;      /* callbacks running now */
static int g_max_in_cb;         /* the most seen at once */
static int g_bad_magic;         /* a callback or free got a pointer that is no recorder */

static void note_thread(void)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&g_mu);
    if (pthread_equal(self, g_main_thread)) g_cb_on_main++;
    if (!g_dispatcher_known) {
        g_dispatcher = self;
        g_dispatcher_known = 1;
    } else if (!pthread_equal(self, g_dispatcher)) {
        g_cb_thread_changed++;
    }
    pthread_mutex_unlock(&g_mu);
}

static rec *rec_new(void)
{
    rec *r = (rec *)calloc(1, sizeof *r);
    if (r == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    r->magic = REC_MAGIC;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

/* Frees a recorder, unless the library may still hold it (its free never ran when one was
 * expected): then it is leaked on purpose rather than risk a use after free in the library. */
static void rec_delete(rec *r, int expect_freed)
{
    if (r == NULL) return;
    pthread_mutex_lock(&r->mu);
    int freed = r->freed;
    pthread_mutex_unlock(&r->mu);
    if (expect_freed && freed != 1) return;
    r->magic = 0;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static rec *as_rec(void *ud)
{
    rec *r = (rec *)ud;
    if (r == NULL || r->magic != REC_MAGIC) {
        pthread_mutex_lock(&g_mu);
        g_bad_magic++;
        pthread_mutex_unlock(&g_mu);
        return NULL;
    }
    return r;
}

static void on_event(void *ud, int kind, bg_job job, uint32_t file, const bg_job_error *err)
{
    int depth = atomic_fetch_add(&g_in_cb, 1) + 1;
    pthread_mutex_lock(&g_mu);
    if (depth > g_max_in_cb) g_max_in_cb = depth;
    pthread_mutex_unlock(&g_mu);
    note_thread();
    rec *r = as_rec(ud);
    if (r == NULL) {
        atomic_fetch_sub(&g_in_cb, 1);
        return;
    }
    ev e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.file = file;
    e.handle = job;
    e.state = -1;
    e.state_hr = bg_job_get_state(job, &e.state);
    if (kind == EV_E) {
        e.err_null = err == NULL;
        if (err) e.err = *err;
    }
    if (kind == EV_F) e.fp_hr = bg_job_get_file_progress(job, file, &e.fp);
    pthread_mutex_lock(&r->mu);
    e.freed_before = r->freed;
    if (r->n < MAX_EVENTS) r->evs[r->n] = e;
    r->n++;
    pthread_mutex_unlock(&r->mu);
    if (r->hook) r->hook(r, &e);
    pthread_mutex_lock(&r->mu);
    r->done++;
    r->count[kind]++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    atomic_fetch_sub(&g_in_cb, 1);
}

static void cb_transferred(void *ud, bg_job job) { on_event(ud, EV_T, job, 0, NULL); }
static void cb_error(void *ud, bg_job job, const bg_job_error *err)
{
    on_event(ud, EV_E, job, 0, err);
}
static void cb_modification(void *ud, bg_job job) { on_event(ud, EV_M, job, 0, NULL); }
static void cb_file(void *ud, bg_job job, uint32_t index) { on_event(ud, EV_F, job, index, NULL); }

static const bg_job_callbacks k_all = {cb_transferred, cb_error, cb_modification, cb_file};
static const bg_job_callbacks k_none = {NULL, NULL, NULL, NULL};

static void rec_free(void *ud)
{
    rec *r = as_rec(ud);
    if (r == NULL) return;
    int in_cb = atomic_load(&g_in_cb);
    pthread_t self = pthread_self();
    pthread_mutex_lock(&g_mu);
    int wrong = pthread_equal(self, g_main_thread) ||
                (g_dispatcher_known && !pthread_equal(self, g_dispatcher));
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_lock(&r->mu);
    r->freed++;
    if (in_cb) r->free_during_cb++;
    if (wrong) r->free_wrong_thread++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Waits (bounded) until `*field` of the recorder is at least n. */
static int rec_wait_field(rec *r, const int *field, int n)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += g_wait_ms / 1000;
    dl.tv_nsec += (long)(g_wait_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->mu);
    while (*field < n) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT) break;
    }
    int ok = *field >= n;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static int rec_get(rec *r, const int *field)
{
    pthread_mutex_lock(&r->mu);
    int v = *field;
    pthread_mutex_unlock(&r->mu);
    return v;
}

#define WAIT_COUNT(r, kind, n)                                                        \
    CHECK_MSG(rec_wait_field((r), &(r)->count[(kind)], (n)),                          \
              "waited %u ms for %d %s callback(s); got %d (events: %s)", g_wait_ms,   \
              (n), kind_name(kind), rec_get((r), &(r)->count[(kind)]), seq_str((r), 1))
#define WAIT_FREED(r, n)                                                              \
    CHECK_MSG(rec_wait_field((r), &(r)->freed, (n)),                                  \
              "waited %u ms for user_data_free #%d; it ran %d time(s)", g_wait_ms,    \
              (n), rec_get((r), &(r)->freed))

static const char *kind_name(int kind)
{
    static const char *names[] = {"JobTransferred", "JobError", "JobModification",
                                  "FileTransferred"};
    return kind >= 0 && kind < EV_KINDS ? names[kind] : "?";
}

/* The recorded events as text, e.g. "F0 F1 M T" (M left out unless with_m). Static buffer:
 * use one at a time. */
static const char *seq_str(rec *r, int with_m)
{
    static char buf[8192];
    size_t len = 0;
    buf[0] = '\0';
    pthread_mutex_lock(&r->mu);
    int n = r->n < MAX_EVENTS ? r->n : MAX_EVENTS;
    for (int i = 0; i < n && len + 16 < sizeof buf; i++) {
        const ev *e = &r->evs[i];
        if (e->kind == EV_M && !with_m) continue;
        int w;
        switch (e->kind) {
        case EV_T: w = snprintf(buf + len, sizeof buf - len, "%sT", len ? " " : ""); break;
        case EV_E: w = snprintf(buf + len, sizeof buf - len, "%sE", len ? " " : ""); break;
        case EV_M: w = snprintf(buf + len, sizeof buf - len, "%sM", len ? " " : ""); break;
        default:
            w = snprintf(buf + len, sizeof buf - len, "%sF%u", len ? " " : "", e->file);
        }
        if (w > 0) len += (size_t)w;
    }
    pthread_mutex_unlock(&r->mu);
    return buf;
}

/* Index of the last event of `kind`, or -1. */
static int last_index(rec *r, int kind)
{
    int idx = -1;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n && i < MAX_EVENTS; i++)
        if (r->evs[i].kind == kind) idx = i;
    pthread_mutex_unlock(&r->mu);
    return idx;
}

/* Number of events of `kind` recorded after index `after`. */
static int count_after(rec *r, int kind, int after)
{
    int c = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = after + 1; i < r->n && i < MAX_EVENTS; i++)
        if (r->evs[i].kind == kind) c++;
    pthread_mutex_unlock(&r->mu);
    return c;
}

/* ---- the dispatcher barrier ---------------------------------------------------------------- */

static bg_manager g_bar_m;
static bg_job g_bar_job;
static rec *g_bar_rec;

/* Returns once everything queued on the dispatcher before the call has run: a throw-away
 * registration's user_data_free is queued after it (set, then remove) and waited for. */
static void barrier(void)
{
    int before = rec_get(g_bar_rec, &g_bar_rec->freed);
    CHECK_OK(bg_job_set_callbacks(g_bar_job, &k_none, g_bar_rec, rec_free));
    CHECK_OK(bg_job_set_callbacks(g_bar_job, NULL, NULL, NULL));
    CHECK_MSG(rec_wait_field(g_bar_rec, &g_bar_rec->freed, before + 1),
              "dispatcher barrier: user_data_free did not run within %u ms", g_wait_ms);
}

/* Removes the job's callbacks and waits for their user_data_free: every event queued for them
 * has been delivered when it runs. */
static void detach(bg_job job, rec *r)
{
    CHECK_OK(bg_job_set_callbacks(job, NULL, NULL, NULL));
    WAIT_FREED(r, 1);
}

/* ---- jobs with local sources ------------------------------------------------------------- */

static int g_dir_seq;

#define MAX_FILES 8
typedef struct files {
    int n;
    char dir[1100];
    char src[MAX_FILES][1300];
    char dst[MAX_FILES][1300];
    uint64_t size[MAX_FILES];
} files;

/* A fresh directory with `n` pattern sources (source `missing` is not created; -1: none) and a
 * job in manager m with those files added (file:// URLs). */
static bg_job new_job(bg_manager m, const char *tag, int n, int missing, uint64_t base_size,
                      files *fs)
{
    memset(fs, 0, sizeof *fs);
    fs->n = n;
    char name[128];
    snprintf(name, sizeof name, "%s-%d", tag, ++g_dir_seq);
    REQUIRE(path_join(fs->dir, sizeof fs->dir, g_root, name) != NULL);
    REQUIRE(mkdir(fs->dir, 0700) == 0);
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, tag, BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    for (int i = 0; i < n; i++) {
        char f[64];
        snprintf(f, sizeof f, "src%d.bin", i);
        REQUIRE(path_join(fs->src[i], sizeof fs->src[i], fs->dir, f) != NULL);
        snprintf(f, sizeof f, "dst%d.bin", i);
        REQUIRE(path_join(fs->dst[i], sizeof fs->dst[i], fs->dir, f) != NULL);
        fs->size[i] = base_size + (uint64_t)i * 1000;
        if (i != missing) REQUIRE(make_pattern_file(fs->src[i], fs->size[i], 500 + (uint64_t)i) == 0);
        char url[1400];
        REQUIRE(file_url(url, sizeof url, fs->src[i]) != NULL);
        REQUIRE_OK(bg_job_add_file(job, url, fs->dst[i]));
    }
    return job;
}

/* Adds one more file (source created) to the job and to fs. */
static void add_one_file(bg_job job, files *fs)
{
    int i = fs->n++;
    REQUIRE(i < MAX_FILES);
    char f[64];
    snprintf(f, sizeof f, "src%d.bin", i);
    REQUIRE(path_join(fs->src[i], sizeof fs->src[i], fs->dir, f) != NULL);
    snprintf(f, sizeof f, "dst%d.bin", i);
    REQUIRE(path_join(fs->dst[i], sizeof fs->dst[i], fs->dir, f) != NULL);
    fs->size[i] = 10 * KIB + (uint64_t)i;
    REQUIRE(make_pattern_file(fs->src[i], fs->size[i], 500 + (uint64_t)i) == 0);
    char url[1400];
    REQUIRE(file_url(url, sizeof url, fs->src[i]) != NULL);
    CHECK_OK(bg_job_add_file(job, url, fs->dst[i]));
}

/* Number of bgcopy temp files (.bgcopy-*.tmp) in dir, or -1. */
/* Every recorded event got `job` as its handle, and the handle worked inside the callback. */
static void check_handles(rec *r, bg_job job)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n < MAX_EVENTS ? r->n : MAX_EVENTS;
    int bad_handle = 0, bad_hr = 0;
    for (int i = 0; i < n; i++) {
        if (r->evs[i].handle != job) bad_handle++;
        if (r->evs[i].state_hr != S_OK) bad_hr++;
    }
    pthread_mutex_unlock(&r->mu);
    CHECK_MSG(bad_handle == 0, "%d callback(s) got another handle than the one set through",
              bad_handle);
    CHECK_MSG(bad_hr == 0, "%d callback(s) could not use their handle", bad_hr);
}

/* Every FileTransferred callback saw its file complete (bytes_transferred == size). */
static void check_file_events(rec *r, const files *fs)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n < MAX_EVENTS ? r->n : MAX_EVENTS;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const ev *e = &r->evs[i];
        if (e->kind != EV_F) continue;
        if (e->fp_hr != S_OK || e->file >= (uint32_t)fs->n ||
            e->fp.bytes_transferred != fs->size[e->file] ||
            e->fp.bytes_total != fs->size[e->file]) {
            bad++;
            fprintf(stderr, "    FileTransferred(%u): progress hr 0x%08" PRIX32 " %" PRIu64
                            "/%" PRIu64 "\n",
                    e->file, (uint32_t)e->fp_hr, e->fp.bytes_transferred, e->fp.bytes_total);
        }
    }
    pthread_mutex_unlock(&r->mu);
    CHECK_MSG(bad == 0, "%d FileTransferred callback(s) came before the file was complete", bad);
}

static const char *expected_seq(char *buf, size_t cap, int nfiles_announced, const char *tail)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < nfiles_announced; i++) {
        int w = snprintf(buf + len, cap - len, "%sF%d", len ? " " : "", i);
        if (w > 0) len += (size_t)w;
    }
    if (tail && tail[0]) snprintf(buf + len, cap - len, "%s%s", len ? " " : "", tail);
    return buf;
}

/* ---- 1. set, get, remove ------------------------------------------------------------------- */

static void test_set_get(void)
{
    section("set / get / remove");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "setget", 1, -1, 4 * KIB, &fs);

    bg_job_callbacks got;
    void *ud = (void *)&got;
    memset(&got, 0xAB, sizeof got);
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud));
    CHECK(got.job_transferred == NULL && got.job_error == NULL &&
          got.job_modification == NULL && got.file_transferred == NULL);
    CHECK(ud == NULL);

    CHECK_HR(E_HANDLE, bg_job_set_callbacks(0, &k_all, NULL, NULL));
    CHECK_HR(E_HANDLE, bg_job_get_callbacks(0, &got, &ud));
    CHECK_HR(E_INVALIDARG, bg_job_get_callbacks(job, NULL, &ud));
    CHECK_HR(E_INVALIDARG, bg_job_get_callbacks(job, &got, NULL));

    rec *r1 = rec_new(), *r2 = rec_new(), *r3 = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r1, rec_free));
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud));
    CHECK(got.job_transferred == cb_transferred);
    CHECK(got.job_error == cb_error);
    CHECK(got.job_modification == cb_modification);
    CHECK(got.file_transferred == cb_file);
    CHECK(ud == r1);

    /* Removed: r1's free runs once; nothing is set any more. */
    rec *r_ignored = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, NULL, r_ignored, rec_free)); /* ud/free ignored */
    WAIT_FREED(r1, 1);
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud));
    CHECK(got.job_transferred == NULL && got.file_transferred == NULL && ud == NULL);

    /* Partial members, no free function; then replaced by r2, r2 replaced by r3. */
    bg_job_callbacks some = {NULL, cb_error, NULL, NULL};
    CHECK_OK(bg_job_set_callbacks(job, &some, NULL, NULL));
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud));
    CHECK(got.job_transferred == NULL && got.job_error == cb_error && ud == NULL);
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r2, rec_free));
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r3, rec_free));
    WAIT_FREED(r2, 1);
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud));
    CHECK(ud == r3);
    CHECK_EQ_INT(rec_get(r3, &r3->freed), 0);

    /* A removal with nothing set is fine. */
    bg_job other = 0;
    REQUIRE_OK(bg_manager_create_job(m, "nothing-set", BG_JOB_TYPE_DOWNLOAD, NULL, &other));
    CHECK_OK(bg_job_set_callbacks(other, NULL, NULL, NULL));

    /* Ended jobs refuse new callbacks and take nothing: that user_data is never freed. */
    section("set on ended jobs");
    rec *r4 = rec_new(), *r5 = rec_new();
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_callbacks(job, &k_all, r4, rec_free));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_callbacks(job, NULL, NULL, NULL));
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud)); /* a getter: works on an ended job */
    CHECK(ud == r3);
    CHECK_OK(bg_job_cancel(other));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_callbacks(other, &k_all, r5, rec_free));
    barrier();
    CHECK_EQ_INT(rec_get(r4, &r4->freed), 0);
    CHECK_EQ_INT(rec_get(r5, &r5->freed), 0);

    /* The ended job's callbacks (r3) go with its last reference. */
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_job_release(other));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r3, 1);
    barrier();
    CHECK_EQ_INT(rec_get(r1, &r1->freed), 1);
    CHECK_EQ_INT(rec_get(r2, &r2->freed), 1);
    CHECK_EQ_INT(rec_get(r3, &r3->freed), 1);
    CHECK_EQ_INT(rec_get(r4, &r4->freed), 0);
    CHECK_EQ_INT(rec_get(r5, &r5->freed), 0);
    CHECK_EQ_INT(rec_get(r_ignored, &r_ignored->freed), 0);
    /* No event reached any of them: the job was never resumed while r1/r2 were set, and r3's
     * default flags select only JobTransferred, which r3 got. */
    CHECK_STR(seq_str(r1, 1), "");
    CHECK_STR(seq_str(r2, 1), "");
    CHECK_STR(seq_str(r3, 1), "T");
    rec_delete(r1, 1);
    rec_delete(r2, 1);
    rec_delete(r3, 1);
    rec_delete(r4, 0);
    rec_delete(r5, 0);
    rec_delete(r_ignored, 0);
}

/* ---- 2. which events fire for which flags ------------------------------------------------- */

/* flags < 0: leave the default. The job has 3 files and reaches TRANSFERRED. */
static void flag_case_transferred(bg_manager m, int flags)
{
    char title[96];
    snprintf(title, sizeof title, "flags %s0x%02x, job reaches TRANSFERRED",
             flags < 0 ? "default " : "", flags < 0 ? 3 : flags);
    section(title);
    files fs;
    bg_job job = new_job(m, "flagsT", 3, -1, 48 * KIB, &fs);
    int eff = flags < 0 ? 3 : flags;
    uint32_t got_flags = 0;
    if (flags >= 0) CHECK_OK(bg_job_set_notify_flags(job, (uint32_t)flags));
    CHECK_OK(bg_job_get_notify_flags(job, &got_flags));
    CHECK_EQ_INT(got_flags, eff);
    CHECK_OK(bg_job_set_minimum_notification_interval(job, 0));
    rec *r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));

    int on = !(eff & BG_NOTIFY_DISABLE);
    int want_t = on && (eff & BG_NOTIFY_JOB_TRANSFERRED);
    int want_f = on && (eff & BG_NOTIFY_FILE_TRANSFERRED);
    int want_m = on && (eff & BG_NOTIFY_JOB_MODIFICATION);

    /* (Resume in a new millisecond: a change in the millisecond of the previous one is lost,
     * a bug checked on its own in test_modification_same_ms.) */
    next_modification_ms(job);
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    bg_job_state st;
    if (want_t) {
        /* The JobTransferred callback is the later event every other one precedes. Locking
         * the job (any getter) after it was delivered also waits out the rest of the
         * notification pass that queued it, so anything it queued after is queued now. */
        WAIT_COUNT(r, EV_T, 1);
        CHECK_OK(bg_job_get_state(job, &st));
    } else {
        /* No event marks the end of the transition here. A setter runs the job's
         * notification pass (with the same flags and callbacks) if the engine's has not run
         * yet, so the transition's events, if any, are queued before the removal below. */
        CHECK_OK(bg_job_set_notify_flags(job, (uint32_t)eff));
    }
    detach(job, r);

    char want[128];
    expected_seq(want, sizeof want, want_f ? 3 : 0, want_t ? "T" : "");
    CHECK_STR(seq_str(r, 0), want);
    CHECK_EQ_INT(rec_get(r, &r->count[EV_E]), 0);
    if (want_m) {
        CHECK_MSG(rec_get(r, &r->count[EV_M]) >= 1, "no JobModification (events: %s)",
                  seq_str(r, 1));
    } else {
        CHECK_MSG(rec_get(r, &r->count[EV_M]) == 0, "JobModification without the flag (%s)",
                  seq_str(r, 1));
    }
    if (want_t) {
        /* Not raised for the transition to TRANSFERRED (spec §3.9). */
        CHECK_MSG(count_after(r, EV_M, last_index(r, EV_T)) == 0,
                  "JobModification after JobTransferred: %s", seq_str(r, 1));
        int ti = last_index(r, EV_T);
        pthread_mutex_lock(&r->mu);
        bg_job_state in_cb = ti >= 0 ? r->evs[ti].state : -1;
        pthread_mutex_unlock(&r->mu);
        CHECK_EQ_INT(in_cb, BG_JOB_STATE_TRANSFERRED);
    }
    check_handles(r, job);
    check_file_events(r, &fs);
    CHECK_EQ_INT(rec_get(r, &r->free_during_cb), 0);
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));
    barrier();
    CHECK_EQ_INT(rec_get(r, &r->freed), 1);
    rec_delete(r, 1);
}

/* flags < 0: default. File 0 exists, file 1 does not: the job reaches ERROR. */
static void flag_case_error(bg_manager m, int flags)
{
    char title[96];
    snprintf(title, sizeof title, "flags %s0x%02x, job reaches ERROR",
             flags < 0 ? "default " : "", flags < 0 ? 3 : flags);
    section(title);
    files fs;
    bg_job job = new_job(m, "flagsE", 2, 1, 40 * KIB, &fs);
    int eff = flags < 0 ? 3 : flags;
    if (flags >= 0) CHECK_OK(bg_job_set_notify_flags(job, (uint32_t)flags));
    CHECK_OK(bg_job_set_minimum_notification_interval(job, 0));
    rec *r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));

    int on = !(eff & BG_NOTIFY_DISABLE);
    int want_e = on && (eff & BG_NOTIFY_JOB_ERROR);
    int want_f = on && (eff & BG_NOTIFY_FILE_TRANSFERRED);
    int want_m = on && (eff & BG_NOTIFY_JOB_MODIFICATION);

    /* (Resume in a new millisecond: a change in the millisecond of the previous one is lost,
     * a bug checked on its own in test_modification_same_ms.) */
    next_modification_ms(job);
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_ERROR);
    bg_job_error err;
    memset(&err, 0, sizeof err);
    CHECK_OK(bg_job_get_error(job, &err, NULL, 0, NULL));
    CHECK_EQ_INT(err.file_index, 1);
    CHECK_EQ_INT(err.context, BG_ERROR_CONTEXT_REMOTE_FILE);
    bg_job_state st;
    if (want_e) {
        WAIT_COUNT(r, EV_E, 1);
        CHECK_OK(bg_job_get_state(job, &st)); /* see flag_case_transferred */
    } else {
        CHECK_OK(bg_job_set_notify_flags(job, (uint32_t)eff));
    }
    detach(job, r);

    char want[128];
    expected_seq(want, sizeof want, want_f ? 1 : 0, want_e ? "E" : "");
    CHECK_STR(seq_str(r, 0), want);
    CHECK_EQ_INT(rec_get(r, &r->count[EV_T]), 0);
    if (want_m) {
        CHECK_MSG(rec_get(r, &r->count[EV_M]) >= 1, "no JobModification (events: %s)",
                  seq_str(r, 1));
    } else {
        CHECK_MSG(rec_get(r, &r->count[EV_M]) == 0, "JobModification without the flag (%s)",
                  seq_str(r, 1));
    }
    if (want_e) {
        CHECK_MSG(count_after(r, EV_M, last_index(r, EV_E)) == 0,
                  "JobModification after JobError: %s", seq_str(r, 1));
        int ei = last_index(r, EV_E);
        pthread_mutex_lock(&r->mu);
        ev e;
        memset(&e, 0, sizeof e);
        if (ei >= 0) e = r->evs[ei];
        pthread_mutex_unlock(&r->mu);
        CHECK(!e.err_null);
        CHECK_EQ_INT(e.err.context, err.context);
        CHECK_EQ_INT(e.err.code, err.code);
        CHECK_EQ_INT(e.err.file_index, 1);
        CHECK_EQ_INT(e.state, BG_JOB_STATE_ERROR);
    }
    check_handles(r, job);
    check_file_events(r, &fs);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
    barrier();
    CHECK_EQ_INT(rec_get(r, &r->freed), 1);
    rec_delete(r, 1);
}

static void test_flags(void)
{
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    static const int t_cases[] = {-1,   0x0,  0x1,  0x2,  0x4,  0x5,  0x8, 0x9,
                                  0x10, 0x11, 0x18, 0x19, 0x1B, 0x1D, 0x1F};
    for (size_t i = 0; i < sizeof t_cases / sizeof t_cases[0]; i++)
        flag_case_transferred(m, t_cases[i]);
    static const int e_cases[] = {-1, 0x0, 0x1, 0x2, 0x6, 0xA, 0x10, 0x12, 0x1A, 0x1E, 0x1F};
    for (size_t i = 0; i < sizeof e_cases / sizeof e_cases[0]; i++)
        flag_case_error(m, e_cases[i]);
    CHECK_OK(bg_manager_close(m));
}

/* ---- 3. once per file, once per transition -------------------------------------------------- */

static void test_once(void)
{
    section("FileTransferred once per file, in order (hold, suspend, resume, file added)");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "order", 5, -1, 20 * KIB, &fs);
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_FILE_TRANSFERRED));
    rec *r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_test_hold(job, 2, 4096));
    CHECK_OK(bg_job_resume(job));
    CHECK_MSG(wait_file_bytes(job, 2, 4096), "file 2 never reached the hold at 4096");
    /* Files 0 and 1 are done: their events came (in order) while file 2 is held. */
    WAIT_COUNT(r, EV_F, 2);
    CHECK_STR(seq_str(r, 1), "F0 F1");
    CHECK_OK(bg_job_suspend(job));
    CHECK_STATE(job, BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_test_release_hold(job));
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_T, 1);
    CHECK_STR(seq_str(r, 1), "F0 F1 F2 F3 F4 T");

    /* A file added to the TRANSFERRED job: only it is announced, then a second
     * JobTransferred for the second transition. */
    add_one_file(job, &fs);
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_T, 2);
    CHECK_STR(seq_str(r, 1), "F0 F1 F2 F3 F4 T F5 T");
    check_file_events(r, &fs);
    check_handles(r, job);
    CHECK_OK(bg_job_complete(job));
    for (int i = 0; i < fs.n; i++)
        CHECK_MSG(check_pattern_file(fs.dst[i], fs.size[i], 500 + (uint64_t)i),
                  "destination %d differs", i);
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r, 1);
    CHECK_STR(seq_str(r, 1), "F0 F1 F2 F3 F4 T F5 T");
    rec_delete(r, 1);

    section("JobError once per transition to ERROR; never for a property change in ERROR");
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    job = new_job(m, "errtwice", 2, 1, 8 * KIB, &fs);
    r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free)); /* default flags */
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_ERROR);
    WAIT_COUNT(r, EV_E, 1);
    /* Changes while in ERROR are no new transition. */
    CHECK_OK(bg_job_set_description(job, "still in error"));
    CHECK_OK(bg_job_set_notify_flags(job, 3));
    CHECK_OK(bg_job_suspend(job)); /* ERROR -> SUSPENDED */
    CHECK_OK(bg_job_resume(job));  /* the source is still missing: ERROR again */
    WAIT_COUNT(r, EV_E, 2);
    CHECK_OK(bg_job_resume(job)); /* ERROR -> QUEUED -> ERROR: a third transition */
    WAIT_COUNT(r, EV_E, 3);
    /* Now the source appears: TRANSFERRED, and no further JobError. */
    REQUIRE(make_pattern_file(fs.src[1], fs.size[1], 501) == 0);
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_T, 1);
    CHECK_STR(seq_str(r, 1), "E E E T");
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r, 1);
    CHECK_STR(seq_str(r, 1), "E E E T");
    rec_delete(r, 1);
}

/* ---- 4. JobModification ------------------------------------------------------------------- */

static void test_modification(void)
{
    section("minimum notification interval: default, set, get");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "mod", 2, -1, 30 * KIB, &fs);
    uint32_t ms = 1;
    CHECK_OK(bg_job_get_minimum_notification_interval(job, &ms));
    CHECK_EQ_INT(ms, 500);
    CHECK_OK(bg_job_set_minimum_notification_interval(job, 0));
    CHECK_OK(bg_job_get_minimum_notification_interval(job, &ms));
    CHECK_EQ_INT(ms, 0);
    CHECK_HR(E_INVALIDARG, bg_job_get_minimum_notification_interval(job, NULL));
    CHECK_HR(E_HANDLE, bg_job_set_minimum_notification_interval(0, 10));

    section("JobModification with interval 0: one per change");
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION));
    rec *r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    for (int i = 0; i < 3; i++) {
        next_modification_ms(job);
        char text[32];
        snprintf(text, sizeof text, "change %d", i);
        CHECK_OK(bg_job_set_description(job, text));
        WAIT_COUNT(r, EV_M, i + 1);
    }
    /* A file added is a change too. */
    next_modification_ms(job);
    add_one_file(job, &fs);
    WAIT_COUNT(r, EV_M, 4);
    /* The transfer (state changes and progress) raises some; TRANSFERRED itself none, and
     * without the flags neither JobTransferred nor FileTransferred. */
    next_modification_ms(job); /* see flag_case_transferred */
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_M, 5);
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION)); /* see flags tests */
    detach(job, r);
    CHECK_EQ_INT(rec_get(r, &r->count[EV_T]), 0);
    CHECK_EQ_INT(rec_get(r, &r->count[EV_F]), 0);
    CHECK_EQ_INT(rec_get(r, &r->count[EV_E]), 0);
    check_handles(r, job);
    rec_delete(r, 1);
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));

    section("JobModification after TRANSFERRED only for a later change");
    job = new_job(m, "modafter", 2, -1, 30 * KIB, &fs);
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION | BG_NOTIFY_JOB_TRANSFERRED));
    CHECK_OK(bg_job_set_minimum_notification_interval(job, 0));
    r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_T, 1);
    bg_job_state st;
    CHECK_OK(bg_job_get_state(job, &st)); /* the notification pass of T has finished */
    next_modification_ms(job);
    CHECK_OK(bg_job_set_description(job, "after transferred"));
    detach(job, r);
    /* Exactly one JobModification after T: the description's (none for the transition). */
    CHECK_MSG(count_after(r, EV_M, last_index(r, EV_T)) == 1, "events: %s", seq_str(r, 1));
    CHECK_STR(seq_str(r, 0), "T");
    rec_delete(r, 1);
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));

    section("JobModification coalesced to a long interval");
    job = new_job(m, "coalesce", 2, -1, 30 * KIB, &fs);
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION | BG_NOTIFY_JOB_TRANSFERRED));
    /* 10 minutes: far longer than the test; every change after the first falls inside it. */
    CHECK_OK(bg_job_set_minimum_notification_interval(job, 600000));
    r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    int changes = g_valgrind ? 20 : 100;
    next_modification_ms(job);
    for (int i = 0; i < changes; i++) {
        char text[32];
        snprintf(text, sizeof text, "burst %d", i);
        CHECK_OK(bg_job_set_description(job, text));
    }
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_T, 1);
    CHECK_OK(bg_job_get_state(job, &st));
    detach(job, r);
    /* The first change at once; the rest (the burst, the transfer's states and progress)
     * at most one more, held back and delivered before JobTransferred (event order). */
    int mods = rec_get(r, &r->count[EV_M]);
    CHECK_MSG(mods >= 1 && mods <= 2, "%d JobModification callbacks for %d changes within one "
                                      "interval (events: %s)", mods, changes, seq_str(r, 1));
    CHECK_STR(seq_str(r, 0), "T");
    CHECK_MSG(count_after(r, EV_M, last_index(r, EV_T)) == 0, "events: %s", seq_str(r, 1));
    rec_delete(r, 1);
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));

    section("interval refused on ended jobs");
    job = new_job(m, "ended", 1, -1, 1 * KIB, &fs);
    CHECK_OK(bg_job_cancel(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_minimum_notification_interval(job, 5));
    CHECK_OK(bg_job_get_minimum_notification_interval(job, &ms));
    CHECK_EQ_INT(ms, 500);
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* A change stamped in the same millisecond as the job's previous change is still a change. */
static void test_modification_same_ms(void)
{
    section("JobModification for a change in the same millisecond as the one before");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    int missed = 0;
    /* Each round: a property change (stamps time T), callbacks set, then another property
     * change right away (almost always still in T). Each second change must be reported. */
    for (int round = 0; round < 3; round++) {
        bg_job job = new_job(m, "samems", 1, -1, 1 * KIB, &fs);
        CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION));
        next_modification_ms(job);
        CHECK_OK(bg_job_set_minimum_notification_interval(job, 0));
        rec *r = rec_new();
        CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
        CHECK_OK(bg_job_set_description(job, "changed right after the callbacks were set"));
        /* user_data_free of the removed callbacks runs after every event queued for them. */
        detach(job, r);
        if (rec_get(r, &r->count[EV_M]) != 1) missed++;
        rec_delete(r, 1);
        CHECK_OK(bg_job_cancel(job));
        CHECK_OK(bg_job_release(job));
    }
    CHECK_MSG(missed == 0, "%d of 3 property changes raised no JobModification (the change "
                           "fell in the millisecond of the previous one)", missed);
    CHECK_OK(bg_manager_close(m));
}

/* One job's coalescing state must not leak into another job (e.g. one allocated where a
 * dropped job was). */
static void test_modification_fresh_job(void)
{
    section("the first JobModification of a new job is not held back by an older job's");
    int rounds = g_valgrind ? 4 : 20;
    int held = 0;
    for (int round = 0; round < rounds && held == 0; round++) {
        bg_manager m = 0;
        REQUIRE_OK(bg_manager_open(":memory:", &m));
        bg_job a = 0;
        REQUIRE_OK(bg_manager_create_job(m, "older", BG_JOB_TYPE_DOWNLOAD, NULL, &a));
        CHECK_OK(bg_job_set_notify_flags(a, BG_NOTIFY_JOB_MODIFICATION));
        CHECK_OK(bg_job_set_minimum_notification_interval(a, 0));
        rec *ra = rec_new();
        CHECK_OK(bg_job_set_callbacks(a, &k_all, ra, rec_free));
        next_modification_ms(a);
        CHECK_OK(bg_job_set_description(a, "one change"));
        WAIT_COUNT(ra, EV_M, 1);
        CHECK_OK(bg_job_release(a));
        CHECK_OK(bg_manager_close(m));
        WAIT_FREED(ra, 1);
        rec_delete(ra, 1);

        REQUIRE_OK(bg_manager_open(":memory:", &m));
        bg_job b = 0;
        REQUIRE_OK(bg_manager_create_job(m, "newer", BG_JOB_TYPE_DOWNLOAD, NULL, &b));
        CHECK_OK(bg_job_set_notify_flags(b, BG_NOTIFY_JOB_MODIFICATION));
        /* 10 minutes; b had no JobModification yet, so its first one is due at once. */
        CHECK_OK(bg_job_set_minimum_notification_interval(b, 600000));
        rec *rb = rec_new();
        CHECK_OK(bg_job_set_callbacks(b, &k_all, rb, rec_free));
        next_modification_ms(b);
        CHECK_OK(bg_job_set_description(b, "first change"));
        if (!rec_wait_field(rb, &rb->count[EV_M], 1)) held = round + 1;
        CHECK_OK(bg_job_release(b));
        CHECK_OK(bg_manager_close(m));
        WAIT_FREED(rb, 1);
        rec_delete(rb, 1);
    }
    CHECK_MSG(held == 0, "round %d: a new job's first JobModification was held back for its "
                         "interval (no JobModification of that job before; stale coalescing "
                         "state of a dropped job?)", held);
}

/* user_data_free of removed callbacks must not wait for a JobModification the dispatcher holds
 * back for the interval (10 minutes here). */
static void test_free_not_held_by_coalescing(void)
{
    section("user_data_free after removal is not held back by a coalesced JobModification");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "heldfree", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION));
    CHECK_OK(bg_job_set_minimum_notification_interval(job, 600000));
    rec *r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    next_modification_ms(job);
    CHECK_OK(bg_job_set_description(job, "first change"));
    next_modification_ms(job);
    CHECK_OK(bg_job_set_description(job, "second change, inside the interval"));
    CHECK_OK(bg_job_set_callbacks(job, NULL, NULL, NULL));
    /* Bounded: the free is due right after the callbacks already running or queued. */
    CHECK_MSG(rec_wait_field(r, &r->freed, 1),
              "user_data_free of removed callbacks did not run within %u ms (held back with a "
              "coalesced JobModification until the interval ends?)", g_wait_ms);
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    rec_delete(r, 1); /* kept (leaked) if its free never ran */
}

/* ---- 5. callbacks that call the library ------------------------------------------------------ */

static void hook_complete(rec *r, const ev *e)
{
    if (e->kind != EV_T) return;
    r->hr[0] = bg_job_complete(e->handle);
    bg_job_state st = -1;
    r->hr[1] = bg_job_get_state(e->handle, &st);
    r->hr[2] = st;
    r->hook_ran++;
}

static void hook_cancel(rec *r, const ev *e)
{
    if (e->kind != EV_T) return;
    r->hr[0] = bg_job_cancel(e->handle);
    bg_job_state st = -1;
    r->hr[1] = bg_job_get_state(e->handle, &st);
    r->hr[2] = st;
    r->hook_ran++;
}

/* Complete from FileTransferred(0) while file 1 is held: keeps file 0 only. */
static void hook_complete_early(rec *r, const ev *e)
{
    if (e->kind != EV_F || e->file != 0) return;
    r->hr[0] = bg_job_complete(e->handle);
    r->hook_ran++;
}

static void test_complete_cancel_in_callback(void)
{
    section("a JobTransferred callback calls Complete");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "cbcomplete", 3, -1, 100 * KIB, &fs);
    rec *r = rec_new();
    r->hook = hook_complete;
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_job_resume(job));
    WAIT_COUNT(r, EV_T, 1);
    CHECK_EQ_INT(r->hook_ran, 1);
    CHECK_OK(r->hr[0]);
    CHECK_OK(r->hr[1]);
    CHECK_EQ_INT(r->hr[2], BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < fs.n; i++) {
        CHECK_MSG(check_pattern_file(fs.dst[i], fs.size[i], 500 + (uint64_t)i),
                  "destination %d differs from its source", i);
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(job, (uint32_t)i, &fp));
        CHECK_EQ_INT(fp.completed, 1);
    }
    CHECK_EQ_INT(count_temps(fs.dir, 1), 0);
    CHECK_OK(bg_job_release(job));

    section("a JobTransferred callback calls Cancel");
    job = new_job(m, "cbcancel", 2, -1, 100 * KIB, &fs);
    rec *r2 = rec_new();
    r2->hook = hook_cancel;
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r2, rec_free));
    CHECK_OK(bg_job_resume(job));
    WAIT_COUNT(r2, EV_T, 1);
    CHECK_OK(r2->hr[0]);
    CHECK_EQ_INT(r2->hr[2], BG_JOB_STATE_CANCELLED);
    CHECK_STATE(job, BG_JOB_STATE_CANCELLED);
    for (int i = 0; i < fs.n; i++) CHECK(!file_exists(fs.dst[i]));
    CHECK_EQ_INT(count_temps(fs.dir, 1), 0);
    CHECK_OK(bg_job_release(job));

    section("a FileTransferred callback calls Complete while the next file is held");
    job = new_job(m, "cbearly", 3, -1, 64 * KIB, &fs);
    rec *r3 = rec_new();
    r3->hook = hook_complete_early;
    CHECK_OK(bg_job_set_notify_flags(job, 0x1F & ~BG_NOTIFY_DISABLE));
    CHECK_OK(bg_test_hold(job, 1, 1000));
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r3, rec_free));
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(rec_wait_field(r3, &r3->hook_ran, 1), "the FileTransferred hook never ran");
    CHECK_HR(BG_S_PARTIAL_COMPLETE, r3->hr[0]);
    CHECK(check_pattern_file(fs.dst[0], fs.size[0], 500));
    CHECK(!file_exists(fs.dst[1]));
    CHECK(!file_exists(fs.dst[2]));
    CHECK_EQ_INT(count_temps(fs.dir, 1), 0);
    CHECK_OK(bg_job_release(job));

    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r, 1);
    WAIT_FREED(r2, 1);
    WAIT_FREED(r3, 1);
    barrier();
    /* The job never reached TRANSFERRED: no JobTransferred, no FileTransferred after F0. */
    CHECK_STR(seq_str(r3, 0), "F0");
    CHECK_STR(seq_str(r, 0), "T");
    CHECK_STR(seq_str(r2, 0), "T");
    CHECK_EQ_INT(rec_get(r, &r->freed), 1);
    CHECK_EQ_INT(rec_get(r2, &r2->freed), 1);
    CHECK_EQ_INT(rec_get(r3, &r3->freed), 1);
    rec_delete(r, 1);
    rec_delete(r2, 1);
    rec_delete(r3, 1);
}

/* Releases the handle given to FileTransferred(0) (the one the callbacks were set through),
 * and the (temporary) handle given to JobTransferred. */
static void hook_release(rec *r, const ev *e)
{
    if (e->kind == EV_F && e->file == 0) {
        r->hr[0] = bg_job_release(e->handle);
        r->hook_ran++;
    } else if (e->kind == EV_T) {
        r->hr[1] = bg_job_release(e->handle);
        bg_job_state st;
        r->hr[2] = bg_job_get_state(e->handle, &st); /* released: E_HANDLE, no crash */
        r->hook_ran++;
    }
}

static void test_release_in_callback(void)
{
    section("a callback releases its handle");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_guid id;
    bg_job job = new_job(m, "cbrelease", 3, -1, 32 * KIB, &fs);
    CHECK_OK(bg_job_get_id(job, &id));
    bg_job h2 = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &h2));
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_FILE_TRANSFERRED));
    rec *r = rec_new();
    r->hook = hook_release;
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(h2, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r, EV_T, 1);
    CHECK_STR(seq_str(r, 1), "F0 F1 F2 T");
    CHECK_OK(r->hr[0]);
    CHECK_OK(r->hr[1]);
    CHECK_HR(E_HANDLE, r->hr[2]);
    bg_job_state st;
    CHECK_HR(E_HANDLE, bg_job_get_state(job, &st)); /* released inside the callback */
    /* After the release the callbacks got a working handle of their own (another value);
     * it was valid during the call only. */
    pthread_mutex_lock(&r->mu);
    ev e0 = r->evs[0], e1 = r->evs[1], e3 = r->evs[3];
    pthread_mutex_unlock(&r->mu);
    CHECK(e0.handle == job);
    CHECK(e1.handle != job && e1.handle != 0);
    CHECK_OK(e1.state_hr);
    CHECK_OK(e3.state_hr);
    CHECK_EQ_INT(e3.state, BG_JOB_STATE_TRANSFERRED);
    CHECK_HR(E_HANDLE, bg_job_get_state(e1.handle, &st));
    CHECK_HR(E_HANDLE, bg_job_get_state(e3.handle, &st));
    /* The job lives on in the manager (and h2), and so do its callbacks. */
    barrier();
    CHECK_EQ_INT(rec_get(r, &r->freed), 0);
    bg_job_callbacks got;
    void *ud = NULL;
    CHECK_OK(bg_job_get_callbacks(h2, &got, &ud));
    CHECK(ud == r);
    CHECK_OK(bg_job_release(h2));
    barrier();
    CHECK_MSG(rec_get(r, &r->freed) == 0,
              "user_data_free ran while the job is still in its (open) manager");
    /* Another handle still finds the job and its callbacks. */
    bg_job h3 = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &h3));
    ud = NULL;
    CHECK_OK(bg_job_get_callbacks(h3, &got, &ud));
    CHECK(ud == r);
    CHECK_OK(bg_job_complete(h3));
    CHECK_OK(bg_job_release(h3));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r, 1);
    barrier();
    CHECK_EQ_INT(rec_get(r, &r->freed), 1);
    CHECK_STR(seq_str(r, 1), "F0 F1 F2 T");
    CHECK_EQ_INT(rec_get(r, &r->free_during_cb), 0);
    rec_delete(r, 1);
}

/* FileTransferred(0) replaces the callbacks with r->arg's recorder; its JobTransferred removes
 * them (hook_remove). */
static void hook_remove(rec *r, const ev *e)
{
    if (e->kind != EV_T) return;
    r->hr[0] = bg_job_set_callbacks(e->handle, NULL, NULL, NULL);
    r->hook_ran++;
}

static void hook_replace(rec *r, const ev *e)
{
    if (e->kind != EV_F || e->file != 0) return;
    rec *next = (rec *)r->arg;
    r->hr[0] = bg_job_set_callbacks(e->handle, &k_all, next, rec_free);
    /* Still running on behalf of the old callbacks: their user data is not freed yet. */
    pthread_mutex_lock(&r->mu);
    r->hr[1] = r->freed;
    pthread_mutex_unlock(&r->mu);
    bg_job_callbacks got;
    void *ud = NULL;
    r->hr[2] = bg_job_get_callbacks(e->handle, &got, &ud);
    r->hr[3] = ud == next;
    r->hook_ran++;
}

static void test_replace_in_callback(void)
{
    section("a callback replaces the callbacks; the new ones remove themselves");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "cbreplace", 3, -1, 32 * KIB, &fs);
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_FILE_TRANSFERRED));
    rec *r_old = rec_new(), *r_new = rec_new();
    r_old->hook = hook_replace;
    r_old->arg = r_new;
    r_new->hook = hook_remove;
    CHECK_OK(bg_test_hold(job, 1, 1000));
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r_old, rec_free));
    CHECK_OK(bg_job_resume(job));
    /* F0 replaced the callbacks; the old user data goes after that callback returned. */
    WAIT_FREED(r_old, 1);
    CHECK_OK(r_old->hr[0]);
    CHECK_EQ_INT(r_old->hr[1], 0);
    CHECK_OK(r_old->hr[2]);
    CHECK_EQ_INT(r_old->hr[3], 1);
    CHECK_EQ_INT(rec_get(r_old, &r_old->free_during_cb), 0);
    CHECK_STR(seq_str(r_new, 1), "");
    CHECK_OK(bg_test_release_hold(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    WAIT_COUNT(r_new, EV_T, 1);
    WAIT_FREED(r_new, 1); /* removed inside its own JobTransferred */
    CHECK_OK(r_new->hr[0]);
    CHECK_STR(seq_str(r_old, 1), "F0");
    CHECK_STR(seq_str(r_new, 1), "F1 F2 T");
    CHECK_EQ_INT(rec_get(r_new, &r_new->free_during_cb), 0);
    bg_job_callbacks got;
    void *ud = (void *)&got;
    CHECK_OK(bg_job_get_callbacks(job, &got, &ud));
    CHECK(ud == NULL && got.job_transferred == NULL);
    check_handles(r_old, job);
    check_handles(r_new, job);
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    barrier();
    CHECK_EQ_INT(rec_get(r_old, &r_old->freed), 1);
    CHECK_EQ_INT(rec_get(r_new, &r_new->freed), 1);
    rec_delete(r_old, 1);
    rec_delete(r_new, 1);
}

/* Calls a broad set of functions from inside JobTransferred. */
struct broad_arg {
    bg_manager m;
    bg_guid id;
    char src[1300];
    char dst[1300];
};

static void hook_broad(rec *r, const ev *e)
{
    if (e->kind != EV_T) return;
    struct broad_arg *a = (struct broad_arg *)r->arg;
    bg_job j = e->handle;
    int k = 0;
    bg_job_state st = -1;
    r->hr[k++] = bg_job_get_state(j, &st);                       /* 0 */
    r->hr[k++] = st == BG_JOB_STATE_TRANSFERRED;                  /* 1 */
    bg_job_progress p;
    r->hr[k++] = bg_job_get_progress(j, &p);                     /* 2 */
    r->hr[k++] = bg_job_set_description(j, "set in a callback"); /* 3 */
    char d[64] = "";
    size_t needed = 0;
    r->hr[k++] = bg_job_get_description(j, d, sizeof d, &needed); /* 4 */
    r->hr[k++] = strcmp(d, "set in a callback") == 0;             /* 5 */
    bg_job_callbacks got;
    void *ud = NULL;
    r->hr[k++] = bg_job_get_callbacks(j, &got, &ud);             /* 6 */
    r->hr[k++] = ud == (void *)r;                                 /* 7 */
    r->hr[k++] = bg_job_set_notify_flags(j, 3);                   /* 8 */
    r->hr[k++] = bg_job_set_minimum_notification_interval(j, 50); /* 9 */
    st = -1;
    r->hr[k++] = bg_job_wait(j, 0, &st);                          /* 10: settled: at once */
    r->hr[k++] = st == BG_JOB_STATE_TRANSFERRED;                  /* 11 */
    size_t count = 0;
    bg_guid ids[16];
    r->hr[k++] = bg_manager_enum_jobs(a->m, 0, ids, 16, &count);  /* 12 */
    bg_job h = 0;
    r->hr[k++] = bg_manager_get_job(a->m, &a->id, &h);           /* 13 */
    r->hr[k++] = bg_job_release(h);                               /* 14 */
    bg_job nj = 0;
    r->hr[k++] = bg_manager_create_job(a->m, "made in a callback", BG_JOB_TYPE_DOWNLOAD, NULL,
                                       &nj);                      /* 15 */
    char url[1400];
    file_url(url, sizeof url, a->src);
    r->hr[k++] = bg_job_add_file(nj, url, a->dst);                /* 16 */
    r->hr[k++] = bg_job_resume(nj);                               /* 17 */
    r->hr[k++] = bg_job_cancel(nj);                               /* 18 */
    r->hr[k++] = bg_job_release(nj);                              /* 19 */
    uint64_t v = 0;
    r->hr[k++] = bg_manager_get_option(a->m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &v); /* 20 */
    r->hr[k++] = bg_job_complete(j);                              /* 21 */
    r->hr[k++] = bg_job_get_state(j, &st);                        /* 22 */
    r->hr[k++] = st == BG_JOB_STATE_ACKNOWLEDGED;                 /* 23 */
    r->hook_ran++;
}

static void test_broad_calls_in_callback(void)
{
    section("a callback calls many library functions (no lock held, no deadlock)");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "cbbroad", 2, -1, 16 * KIB, &fs);
    struct broad_arg a;
    memset(&a, 0, sizeof a);
    a.m = m;
    CHECK_OK(bg_job_get_id(job, &a.id));
    snprintf(a.src, sizeof a.src, "%s", fs.src[0]);
    REQUIRE(path_join(a.dst, sizeof a.dst, fs.dir, "from-callback.bin") != NULL);
    rec *r = rec_new();
    r->hook = hook_broad;
    r->arg = &a;
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_job_resume(job));
    /* A deadlock inside the callback would leave the dispatcher stuck: stop here then. */
    int ok = rec_wait_field(r, &r->hook_ran, 1);
    CHECK_MSG(ok, "the callback did not finish within %u ms (deadlock?)", g_wait_ms);
    REQUIRE(ok);
    static const char *what[] = {
        "get_state", "state TRANSFERRED", "get_progress", "set_description", "get_description",
        "description read back", "get_callbacks", "own user_data", "set_notify_flags",
        "set_minimum_notification_interval", "wait(0)", "wait state", "enum_jobs", "get_job",
        "release", "create_job", "add_file", "resume", "cancel", "release new", "get_option",
        "complete", "get_state after complete", "ACKNOWLEDGED"};
    static const int is_bool[] = {0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 24; i++) {
        if (is_bool[i])
            CHECK_MSG(r->hr[i] == 1, "in the callback: %s is false", what[i]);
        else
            CHECK_MSG(r->hr[i] == S_OK, "in the callback: %s returned 0x%08" PRIX32 " (%s)",
                      what[i], (uint32_t)r->hr[i], bg_hresult_message(r->hr[i]));
    }
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK(check_pattern_file(fs.dst[0], fs.size[0], 500));
    CHECK(check_pattern_file(fs.dst[1], fs.size[1], 501));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r, 1);
    rec_delete(r, 1);
}

/* ---- 6. the dispatcher: one thread, order per job, slow callbacks ---------------------------- */

static pthread_mutex_t g_gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cv = PTHREAD_COND_INITIALIZER;
static int g_gate_open;
static int g_gate_entered;
static int g_gate_timed_out;

/* Blocks FileTransferred(0) until the test opens the gate (at most 60 s, so that a broken
 * library cannot hang the test for ever). */
static void hook_block(rec *r, const ev *e)
{
    (void)r;
    if (e->kind != EV_F || e->file != 0) return;
    pthread_mutex_lock(&g_gate_mu);
    g_gate_entered = 1;
    pthread_cond_broadcast(&g_gate_cv);
    uint64_t end = now_ms() + 60000;
    while (!g_gate_open) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 50 * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g_gate_cv, &g_gate_mu, &dl);
        if (now_ms() > end) {
            g_gate_timed_out = 1;
            break;
        }
    }
    pthread_mutex_unlock(&g_gate_mu);
}

static void test_slow_callback(void)
{
    section("a slow callback delays later callbacks, never transfers");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fa, fb;
    bg_job a = new_job(m, "slowA", 3, -1, 200 * KIB, &fa);
    bg_job b = new_job(m, "slowB", 2, -1, 200 * KIB, &fb);
    CHECK_OK(bg_job_set_notify_flags(a, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_FILE_TRANSFERRED));
    rec *ra = rec_new(), *rb = rec_new();
    ra->hook = hook_block;
    CHECK_OK(bg_job_set_callbacks(a, &k_all, ra, rec_free));
    CHECK_OK(bg_job_set_callbacks(b, &k_all, rb, rec_free));
    CHECK_OK(bg_job_resume(a));
    /* Wait until the dispatcher is stuck inside FileTransferred(0) of job a. */
    pthread_mutex_lock(&g_gate_mu);
    uint64_t end = now_ms() + g_wait_ms;
    while (!g_gate_entered && now_ms() < end) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 1;
        pthread_cond_timedwait(&g_gate_cv, &g_gate_mu, &dl);
    }
    int entered = g_gate_entered;
    pthread_mutex_unlock(&g_gate_mu);
    CHECK_MSG(entered, "FileTransferred(0) of job a never came");
    /* Both jobs transfer to the end while the callback blocks. */
    CHECK_OK(bg_job_resume(b));
    WAIT_STATE(a, BG_JOB_STATE_TRANSFERRED);
    WAIT_STATE(b, BG_JOB_STATE_TRANSFERRED);
    for (int i = 0; i < fa.n; i++) {
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(a, (uint32_t)i, &fp));
        CHECK_EQ_U64(fp.bytes_transferred, fa.size[i]);
    }
    /* One dispatcher thread: nothing else was delivered meanwhile, of either job. */
    CHECK_STR(seq_str(ra, 1), "F0");
    CHECK_EQ_INT(rec_get(ra, &ra->done), 0);
    CHECK_STR(seq_str(rb, 1), "");
    pthread_mutex_lock(&g_gate_mu);
    g_gate_open = 1;
    pthread_cond_broadcast(&g_gate_cv);
    pthread_mutex_unlock(&g_gate_mu);
    WAIT_COUNT(ra, EV_T, 1);
    WAIT_COUNT(rb, EV_T, 1);
    CHECK_EQ_INT(g_gate_timed_out, 0);
    CHECK_STR(seq_str(ra, 1), "F0 F1 F2 T");
    CHECK_STR(seq_str(rb, 1), "T");
    CHECK_OK(bg_job_complete(a));
    CHECK_OK(bg_job_complete(b));
    CHECK_OK(bg_job_release(a));
    CHECK_OK(bg_job_release(b));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(ra, 1);
    WAIT_FREED(rb, 1);
    rec_delete(ra, 1);
    rec_delete(rb, 1);
}

static void test_many_jobs(void)
{
    section("several jobs in two managers: event order per job, one dispatcher thread");
    enum { MANAGERS = 2, PER = 3, FILES = 4 };
    bg_manager m[MANAGERS];
    bg_job jobs[MANAGERS * PER];
    rec *recs[MANAGERS * PER];
    files *fs = (files *)calloc(MANAGERS * PER, sizeof *fs);
    REQUIRE(fs != NULL);
    for (int i = 0; i < MANAGERS; i++) REQUIRE_OK(bg_manager_open(":memory:", &m[i]));
    for (int i = 0; i < MANAGERS * PER; i++) {
        jobs[i] = new_job(m[i / PER], "many", FILES, -1, 24 * KIB, &fs[i]);
        CHECK_OK(bg_job_set_notify_flags(jobs[i], BG_NOTIFY_JOB_TRANSFERRED |
                                                      BG_NOTIFY_FILE_TRANSFERRED));
        recs[i] = rec_new();
        CHECK_OK(bg_job_set_callbacks(jobs[i], &k_all, recs[i], rec_free));
    }
    for (int i = 0; i < MANAGERS * PER; i++) CHECK_OK(bg_job_resume(jobs[i]));
    for (int i = 0; i < MANAGERS * PER; i++) {
        WAIT_STATE(jobs[i], BG_JOB_STATE_TRANSFERRED);
        WAIT_COUNT(recs[i], EV_T, 1);
        CHECK_STR(seq_str(recs[i], 1), "F0 F1 F2 F3 T");
        check_handles(recs[i], jobs[i]);
        check_file_events(recs[i], &fs[i]);
        CHECK_OK(bg_job_complete(jobs[i]));
        CHECK_OK(bg_job_release(jobs[i]));
    }
    for (int i = 0; i < MANAGERS; i++) CHECK_OK(bg_manager_close(m[i]));
    for (int i = 0; i < MANAGERS * PER; i++) {
        WAIT_FREED(recs[i], 1);
        CHECK_EQ_INT(rec_get(recs[i], &recs[i]->free_during_cb), 0);
        CHECK_EQ_INT(rec_get(recs[i], &recs[i]->free_wrong_thread), 0);
        rec_delete(recs[i], 1);
    }
    free(fs);
}

/* ---- 7. user_data_free exactly once, every path ---------------------------------------------- */

static void test_free_paths(void)
{
    section("user_data_free: handle released, manager open -> not yet; events still come");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_guid id;
    bg_job job = new_job(m, "free1", 2, -1, 16 * KIB, &fs);
    CHECK_OK(bg_job_get_id(job, &id));
    rec *r1 = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r1, rec_free));
    bg_job h2 = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &h2));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_job_resume(h2));
    CHECK_OK(bg_job_release(h2)); /* no handle left; the manager still has the job */
    WAIT_COUNT(r1, EV_T, 1);      /* delivered with a temporary handle */
    pthread_mutex_lock(&r1->mu);
    ev t = r1->evs[0];
    pthread_mutex_unlock(&r1->mu);
    CHECK_EQ_INT(t.freed_before, 0);
    CHECK_OK(t.state_hr);
    CHECK_EQ_INT(t.state, BG_JOB_STATE_TRANSFERRED);
    barrier();
    CHECK_EQ_INT(rec_get(r1, &r1->freed), 0);

    section("user_data_free: manager closed with a job handle still open");
    rec *r2 = rec_new();
    bg_job j2 = new_job(m, "free2", 1, -1, 4 * KIB, &fs);
    CHECK_OK(bg_job_set_callbacks(j2, &k_all, r2, rec_free));
    /* ended jobs: acknowledged (r3) and cancelled (r4), handles kept open too */
    rec *r3 = rec_new(), *r4 = rec_new();
    bg_job j3 = new_job(m, "free3", 1, -1, 4 * KIB, &fs);
    CHECK_OK(bg_job_set_callbacks(j3, &k_all, r3, rec_free));
    CHECK_OK(bg_job_resume(j3));
    WAIT_STATE(j3, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(j3));
    bg_job j4 = new_job(m, "free4", 1, -1, 4 * KIB, &fs);
    CHECK_OK(bg_job_set_callbacks(j4, &k_all, r4, rec_free));
    CHECK_OK(bg_job_cancel(j4));
    /* a never-resumed job whose handle is released before the close (r5) */
    rec *r5 = rec_new();
    bg_job j5 = new_job(m, "free5", 1, -1, 4 * KIB, &fs);
    CHECK_OK(bg_job_set_callbacks(j5, &k_all, r5, NULL)); /* no free function: fine */
    CHECK_OK(bg_job_set_callbacks(j5, &k_all, r5, rec_free));
    CHECK_OK(bg_job_release(j5));
    barrier();
    CHECK_EQ_INT(rec_get(r2, &r2->freed), 0);
    CHECK_EQ_INT(rec_get(r3, &r3->freed), 0);
    CHECK_EQ_INT(rec_get(r4, &r4->freed), 0);
    CHECK_EQ_INT(rec_get(r5, &r5->freed), 0);

    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r1, 1);
    WAIT_FREED(r2, 1);
    WAIT_FREED(r3, 1);
    WAIT_FREED(r4, 1);
    WAIT_FREED(r5, 1);
    /* The close invalidated the handles; releasing them now changes nothing. */
    CHECK_HR(E_HANDLE, bg_job_release(j2));
    CHECK_HR(E_HANDLE, bg_job_release(j3));
    CHECK_HR(E_HANDLE, bg_job_release(j4));
    barrier();
    rec *all[] = {r1, r2, r3, r4, r5};
    for (int i = 0; i < 5; i++) {
        CHECK_MSG(rec_get(all[i], &all[i]->freed) == 1, "recorder %d freed %d times", i + 1,
                  rec_get(all[i], &all[i]->freed));
        CHECK_EQ_INT(rec_get(all[i], &all[i]->free_during_cb), 0);
        CHECK_EQ_INT(rec_get(all[i], &all[i]->free_wrong_thread), 0);
    }
    CHECK_STR(seq_str(r1, 1), "T");
    CHECK_STR(seq_str(r3, 1), "T");
    CHECK_STR(seq_str(r2, 1), "");
    CHECK_STR(seq_str(r4, 1), "");
    for (int i = 0; i < 5; i++) rec_delete(all[i], 1);
}

/* ---- 8. not persisted ------------------------------------------------------------------------ */

static void test_not_persisted(void)
{
    section("callbacks are not persisted (notify flags are)");
    char state_dir[1200];
    REQUIRE(path_join(state_dir, sizeof state_dir, g_root, "state-persist") != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state_dir, &m));
    files fs;
    bg_guid id;
    bg_job job = new_job(m, "persist", 1, -1, 4 * KIB, &fs);
    CHECK_OK(bg_job_get_id(job, &id));
    CHECK_OK(bg_job_set_notify_flags(job, 0x1B));
    rec *r = rec_new();
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    WAIT_FREED(r, 1);

    REQUIRE_OK(bg_manager_open(state_dir, &m));
    bg_job again = 0;
    REQUIRE_OK(bg_manager_get_job(m, &id, &again));
    uint32_t flags = 0;
    CHECK_OK(bg_job_get_notify_flags(again, &flags));
    CHECK_EQ_INT(flags, 0x1B);
    bg_job_callbacks got;
    void *ud = (void *)&got;
    memset(&got, 0xAB, sizeof got);
    CHECK_OK(bg_job_get_callbacks(again, &got, &ud));
    CHECK(got.job_transferred == NULL && got.job_error == NULL &&
          got.job_modification == NULL && got.file_transferred == NULL);
    CHECK(ud == NULL);
    CHECK_OK(bg_job_cancel(again));
    CHECK_OK(bg_job_release(again));
    CHECK_OK(bg_manager_close(m));
    barrier();
    CHECK_EQ_INT(rec_get(r, &r->freed), 1);
    rec_delete(r, 1);
}

/* ---- 9. a callback closes the manager ------------------------------------------------------- */

static void hook_close(rec *r, const ev *e)
{
    if (e->kind != EV_T) return;
    r->hr[0] = bg_manager_close(*(bg_manager *)r->arg);
    r->hook_ran++;
}

static void test_close_in_callback(void)
{
    section("a JobTransferred callback closes the manager");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    files fs;
    bg_job job = new_job(m, "cbclose", 2, -1, 16 * KIB, &fs);
    rec *r = rec_new();
    r->hook = hook_close;
    r->arg = &m;
    CHECK_OK(bg_job_set_callbacks(job, &k_all, r, rec_free));
    CHECK_OK(bg_job_resume(job));
    int ok = rec_wait_field(r, &r->hook_ran, 1);
    CHECK_MSG(ok, "the callback did not finish within %u ms (deadlock?)", g_wait_ms);
    REQUIRE(ok);
    CHECK_OK(r->hr[0]);
    /* The close ended the last reference to the job: its user data goes, once. */
    WAIT_FREED(r, 1);
    bg_job_state st;
    CHECK_HR(E_HANDLE, bg_job_get_state(job, &st));
    CHECK_HR(E_HANDLE, bg_manager_close(m));
    barrier();
    CHECK_EQ_INT(rec_get(r, &r->freed), 1);
    CHECK_EQ_INT(rec_get(r, &r->free_during_cb), 0);
    rec_delete(r, 1);
}

/* ---- main ------------------------------------------------------------------------------------- */

int main(void)
{
    const char *vg = getenv("BGCOPY_UNDER_VALGRIND");
    g_valgrind = vg != NULL && vg[0] != '\0' && strcmp(vg, "0") != 0;
    if (g_valgrind) g_wait_ms = 60000;
    signal(SIGALRM, on_alarm);
    g_main_thread = pthread_self();
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);

    REQUIRE_OK(bg_manager_open(":memory:", &g_bar_m));
    REQUIRE_OK(bg_manager_create_job(g_bar_m, "barrier", BG_JOB_TYPE_DOWNLOAD, NULL, &g_bar_job));
    g_bar_rec = rec_new();

    test_set_get();
    test_flags();
    test_once();
    test_modification();
    test_modification_same_ms();
    test_modification_fresh_job();
    test_free_not_held_by_coalescing();
    test_complete_cancel_in_callback();
    test_release_in_callback();
    test_replace_in_callback();
    test_broad_calls_in_callback();
    test_slow_callback();
    test_many_jobs();
    test_free_paths();
    test_not_persisted();
    test_close_in_callback();

    section("the dispatcher");
    barrier();
    CHECK_OK(bg_job_release(g_bar_job));
    CHECK_OK(bg_manager_close(g_bar_m));
    CHECK_MSG(g_cb_on_main == 0, "%d callback(s) ran on the calling thread", g_cb_on_main);
    CHECK_MSG(g_cb_thread_changed == 0, "callbacks ran on more than one thread (%d)",
              g_cb_thread_changed);
    CHECK_MSG(g_max_in_cb <= 1, "%d callbacks ran at once", g_max_in_cb);
    CHECK_MSG(g_bad_magic == 0, "%d callback(s) got a wrong user_data", g_bad_magic);
    CHECK_EQ_INT(rec_get(g_bar_rec, &g_bar_rec->free_during_cb), 0);
    rec_delete(g_bar_rec, 0);

    alarm(0);
    remove_tree(g_root);
    TEST_MAIN_END();
}
