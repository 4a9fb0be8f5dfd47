/*
 * test_threads.c — 8 threads × N random calls on a small shared set of jobs whose file://
 * sources are a few KiB (so transfers really happen while the calls race them).
 *
 * Calls: resume, suspend, cancel, complete, add_file, get_state, get_progress, get_times,
 * get_file_progress, get_error, set_priority, set_display_name, wait(0), enum_jobs, and
 * bg_manager_get_job / bg_job_release of extra handles shared between the threads (so a handle
 * can be released while another thread is using it: E_HANDLE is then the only allowed code).
 * Each slot keeps one base handle per job that is never released during the run; when a job
 * ends (ACKNOWLEDGED or CANCELLED) the first thread to notice puts a new job in its slot.
 *
 * Checks: every code is in the allowed set of its call; every state read is 0..8; Wait(0)
 * answers S_OK exactly for the settled states; progress is self-consistent. At the end every
 * job is driven to a final state, the files of ACKNOWLEDGED jobs that report completed = 1 are
 * byte-identical to their sources, discarded files left nothing at their destinations, and no
 * temp file is left behind. A watchdog aborts the test if it is not done in time (deadlock).
 *
 * Environment:
 *   BGCOPY_THREAD_CALLS     calls per thread (default 10000; 1000 when BGCOPY_UNDER_VALGRIND)
 *   BGCOPY_THREAD_SEED      the random seed (default: from the clock; printed either way)
 *   BGCOPY_THREAD_WATCHDOG_S  watchdog limit in seconds (default 120; 480 under valgrind)
 * Runs under valgrind too (BGCOPY_VALGRIND_TESTS; CMake sets BGCOPY_UNDER_VALGRIND=1 there).
 */
/* ctest-timeout: 300 */
#include "harness.h"

/* Part 1 of job_helpers.h only (state_name()). */
#define JOB_HELPERS_BASIC_ONLY
#include "job_helpers.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

#define NTHREADS 8
#define NSLOTS 6
#define NEXTRA 4
#define MAX_FILES 5
#define NSOURCES 4
#define FINAL_WAIT_MS 60000u

static const uint64_t SOURCE_SIZES[NSOURCES] = {2048, 3000, 4096, 5000};

static char g_dir[4096];
static char g_src[NSOURCES][4096];
static char g_src_url[NSOURCES][4200];
static char g_missing_url[4200];
static bg_manager g_mgr;
static atomic_uint g_dest_counter;
static atomic_uint g_job_counter;

/* ---- failures from any thread ------------------------------------------------------------ */

static pthread_mutex_t g_fail_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_long g_failures;
static atomic_long g_checked;

/* Prints the first few failures of each kind (kinds told apart by their format string). */
static __attribute__((format(printf, 1, 2))) void tfail(const char *fmt, ...)
{
    static const char *kinds[64];
    static int counts[64];
    atomic_fetch_add(&g_failures, 1);
    pthread_mutex_lock(&g_fail_mu);
    int k = 0;
    while (k < 64 && kinds[k] != NULL && kinds[k] != fmt) k++;
    if (k < 64 && kinds[k] == NULL) kinds[k] = fmt;
    int print = k < 64 && counts[k]++ < 4;
    if (print) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "test_threads: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        fflush(stderr);
    }
    pthread_mutex_unlock(&g_fail_mu);
}

#define TCHECK(cond, ...)                                                              \
    do {                                                                               \
        atomic_fetch_add(&g_checked, 1);                                               \
        if (!(cond)) tfail(__VA_ARGS__);                                               \
    } while (0)

/* Checks that `hr` is one of the `n` codes in `set`, or E_HANDLE when the call went through a
 * shared extra handle (which another thread may have released). */
static int allow_(const char *call, int32_t hr, int via_extra, const int32_t *set, size_t n)
{
    atomic_fetch_add(&g_checked, 1);
    for (size_t i = 0; i < n; i++)
        if (hr == set[i]) return 1;
    if (via_extra && hr == E_HANDLE) return 1;
    tfail("%s%s returned 0x%08" PRIX32 " (%s), not an allowed code", call,
          via_extra ? " (extra handle)" : "", (uint32_t)hr, bg_hresult_message(hr));
    return 0;
}

#define ALLOW(call, hr, via_extra, ...)                                                \
    allow_(call, hr, via_extra, (const int32_t[]){__VA_ARGS__},                        \
           sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

/* ---- every job ever made (its base handle is released only at the very end) ---------------- */

static pthread_mutex_t g_all_mu = PTHREAD_MUTEX_INITIALIZER;
static bg_job *g_all;
static size_t g_all_n, g_all_cap;

static void remember_job(bg_job job)
{
    pthread_mutex_lock(&g_all_mu);
    if (g_all_n == g_all_cap) {
        g_all_cap = g_all_cap ? g_all_cap * 2 : 64;
        g_all = (bg_job *)realloc(g_all, g_all_cap * sizeof *g_all);
        if (g_all == NULL) abort();
    }
    g_all[g_all_n++] = job;
    pthread_mutex_unlock(&g_all_mu);
}

/* ---- slots -------------------------------------------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    bg_job base;          /* never released during the run */
    bg_guid id;
    unsigned gen;         /* bumped when a new job takes the slot */
    bg_job extra[NEXTRA]; /* extra handles to the same job (0 = empty) */
} slot_t;

static slot_t g_slots[NSLOTS];

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void new_dest(char *buf, size_t cap)
{
    unsigned n = atomic_fetch_add(&g_dest_counter, 1);
    char name[64];
    snprintf(name, sizeof name, "d-%06u.bin", n);
    if (path_join(buf, cap, g_dir, name) == NULL) buf[0] = '\0';
}

/* A source URL: mostly real ones; now and then (1 in 40) a missing one, to reach ERROR. */
static const char *pick_source(uint64_t r)
{
    if (r % 40 == 0) return g_missing_url;
    return g_src_url[(r >> 8) % NSOURCES];
}

/* Makes a SUSPENDED job with 1 or 2 files; returns 0 on failure. */
static bg_job make_job(uint64_t *rng, bg_guid *out_id)
{
    char name[64], dest[4096];
    snprintf(name, sizeof name, "threads %u", atomic_fetch_add(&g_job_counter, 1));
    bg_job job = 0;
    int32_t hr = bg_manager_create_job(g_mgr, name, BG_JOB_TYPE_DOWNLOAD, out_id, &job);
    TCHECK(hr == S_OK, "create_job returned 0x%08" PRIX32, (uint32_t)hr);
    if (hr != S_OK) return 0;
    remember_job(job);
    int files = 1 + (int)(xorshift(rng) % 2);
    for (int i = 0; i < files; i++) {
        new_dest(dest, sizeof dest);
        hr = bg_job_add_file(job, pick_source(xorshift(rng)), dest);
        TCHECK(hr == S_OK, "add_file on a new job returned 0x%08" PRIX32, (uint32_t)hr);
    }
    return job;
}

static int is_final(int s) { return s == BG_JOB_STATE_ACKNOWLEDGED || s == BG_JOB_STATE_CANCELLED; }
static int is_settled(int s)
{
    return s == BG_JOB_STATE_TRANSFERRED || s == BG_JOB_STATE_ERROR || is_final(s);
}

/* The job of slot `s` generation `gen` has ended: put a new job in the slot (once). */
static void replace_if_ended(slot_t *s, unsigned gen, uint64_t *rng)
{
    pthread_mutex_lock(&s->mu);
    if (s->gen == gen) {
        bg_job_state st = -1;
        int32_t hr = bg_job_get_state(s->base, &st);
        TCHECK(hr == S_OK, "get_state(base) returned 0x%08" PRIX32, (uint32_t)hr);
        if (hr == S_OK && is_final(st)) {
            for (int k = 0; k < NEXTRA; k++) {
                if (s->extra[k] != 0) {
                    hr = bg_job_release(s->extra[k]);
                    TCHECK(hr == S_OK, "release of an owned extra handle returned 0x%08" PRIX32,
                           (uint32_t)hr);
                    s->extra[k] = 0;
                }
            }
            bg_guid id;
            bg_job job = make_job(rng, &id);
            if (job != 0) {
                s->base = job;
                s->id = id;
                s->gen++;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- the worker threads ------------------------------------------------------------------- */

typedef struct {
    int index;
    pthread_t thread;
    uint64_t rng;
    long calls;
    atomic_long done;
    _Atomic(const char *) current; /* the call in progress, for the watchdog */
    long ops[32];
} worker_t;

enum {
    OP_RESUME,
    OP_SUSPEND,
    OP_CANCEL,
    OP_COMPLETE,
    OP_GET_EXTRA,
    OP_RELEASE_EXTRA,
    OP_ADD_FILE,
    OP_GET_STATE,
    OP_GET_PROGRESS,
    OP_SET_PRIORITY,
    OP_WAIT0,
    OP_FILE_PROGRESS,
    OP_ENUM,
    OP_SET_NAME,
    OP_GET_TIMES,
    OP_GET_ERROR,
    OP_COUNT
};

/* Relative weights of the calls (out of 100). */
static const int OP_WEIGHT[OP_COUNT] = {
    [OP_RESUME] = 14,      [OP_SUSPEND] = 8,      [OP_CANCEL] = 3,       [OP_COMPLETE] = 3,
    [OP_GET_EXTRA] = 6,    [OP_RELEASE_EXTRA] = 5, [OP_ADD_FILE] = 6,    [OP_GET_STATE] = 13,
    [OP_GET_PROGRESS] = 9, [OP_SET_PRIORITY] = 8,  [OP_WAIT0] = 10,      [OP_FILE_PROGRESS] = 4,
    [OP_ENUM] = 2,         [OP_SET_NAME] = 3,      [OP_GET_TIMES] = 3,   [OP_GET_ERROR] = 3,
};

static const char *OP_NAME[OP_COUNT] = {
    "resume",      "suspend",      "cancel",    "complete",     "get_job",         "release",
    "add_file",    "get_state",    "get_progress", "set_priority", "wait(0)",      "get_file_progress",
    "enum_jobs",   "set_display_name", "get_times", "get_error",
};

static int pick_op(uint64_t r)
{
    int x = (int)(r % 100);
    for (int op = 0; op < OP_COUNT; op++) {
        if (x < OP_WEIGHT[op]) return op;
        x -= OP_WEIGHT[op];
    }
    return OP_GET_STATE;
}

static void one_call(worker_t *w)
{
    uint64_t r = xorshift(&w->rng);
    slot_t *s = &g_slots[r % NSLOTS];
    pthread_mutex_lock(&s->mu);
    bg_job base = s->base;
    bg_guid id = s->id;
    unsigned gen = s->gen;
    bg_job extra = s->extra[(r >> 8) % NEXTRA];
    pthread_mutex_unlock(&s->mu);

    int via_extra = extra != 0 && ((r >> 12) & 3) == 0;
    bg_job h = via_extra ? extra : base;
    int op = pick_op(r >> 20);
    w->ops[op]++;
    atomic_store(&w->current, OP_NAME[op]);
    int ended = 0; /* the job was seen in a final state */
    int32_t hr;

    switch (op) {
    case OP_RESUME:
        hr = bg_job_resume(h);
        ALLOW("resume", hr, via_extra, S_OK, BG_E_EMPTY, BG_E_INVALID_STATE);
        ended = hr == BG_E_INVALID_STATE;
        break;
    case OP_SUSPEND:
        hr = bg_job_suspend(h);
        ALLOW("suspend", hr, via_extra, S_OK, BG_E_INVALID_STATE);
        ended = hr == BG_E_INVALID_STATE;
        break;
    case OP_CANCEL:
        hr = bg_job_cancel(h);
        ALLOW("cancel", hr, via_extra, S_OK, BG_S_UNABLE_TO_DELETE_FILES, BG_E_INVALID_STATE);
        ended = hr != E_HANDLE;
        break;
    case OP_COMPLETE:
        hr = bg_job_complete(h);
        ALLOW("complete", hr, via_extra, S_OK, BG_S_PARTIAL_COMPLETE, BG_S_UNABLE_TO_DELETE_FILES,
              BG_E_INVALID_STATE);
        ended = hr != E_HANDLE;
        break;
    case OP_GET_EXTRA: {
        bg_job nh = 0;
        hr = bg_manager_get_job(g_mgr, &id, &nh);
        ALLOW("get_job", hr, 0, S_OK, BG_E_NOT_FOUND);
        if (hr == S_OK) {
            int kept = 0;
            pthread_mutex_lock(&s->mu);
            if (s->gen == gen) {
                for (int k = 0; k < NEXTRA && !kept; k++) {
                    if (s->extra[k] == 0) {
                        s->extra[k] = nh;
                        kept = 1;
                    }
                }
            }
            pthread_mutex_unlock(&s->mu);
            if (!kept) {
                hr = bg_job_release(nh);
                ALLOW("release of an unshared handle", hr, 0, S_OK);
            }
        }
        ended = hr == BG_E_NOT_FOUND;
        break;
    }
    case OP_RELEASE_EXTRA: {
        pthread_mutex_lock(&s->mu);
        int k = (int)((r >> 40) % NEXTRA);
        bg_job victim = s->gen == gen ? s->extra[k] : 0;
        if (victim != 0) s->extra[k] = 0;
        pthread_mutex_unlock(&s->mu);
        if (victim != 0) {
            hr = bg_job_release(victim);
            ALLOW("release of an owned extra handle", hr, 0, S_OK);
        }
        break;
    }
    case OP_ADD_FILE: {
        uint32_t count = 0;
        hr = bg_job_get_file_count(h, &count);
        ALLOW("get_file_count", hr, via_extra, S_OK);
        if (hr == S_OK && count < MAX_FILES) {
            char dest[4096];
            new_dest(dest, sizeof dest);
            hr = bg_job_add_file(h, pick_source(r >> 32), dest);
            ALLOW("add_file", hr, via_extra, S_OK, BG_E_INVALID_STATE);
            ended = hr == BG_E_INVALID_STATE;
        }
        break;
    }
    case OP_GET_STATE: {
        bg_job_state st = -1;
        hr = bg_job_get_state(h, &st);
        ALLOW("get_state", hr, via_extra, S_OK);
        if (hr == S_OK) {
            TCHECK(st >= 0 && st <= 8, "get_state: state %d", (int)st);
            ended = is_final(st);
        }
        break;
    }
    case OP_GET_PROGRESS: {
        bg_job_progress p;
        hr = bg_job_get_progress(h, &p);
        ALLOW("get_progress", hr, via_extra, S_OK);
        if (hr == S_OK) {
            TCHECK(p.files_transferred <= p.files_total && p.files_total <= MAX_FILES + NTHREADS,
                   "get_progress: files %u/%u", p.files_transferred, p.files_total);
            TCHECK(p.bytes_total == BG_SIZE_UNKNOWN || p.bytes_transferred <= p.bytes_total,
                   "get_progress: bytes %" PRIu64 "/%" PRIu64, p.bytes_transferred,
                   p.bytes_total);
        }
        break;
    }
    case OP_SET_PRIORITY: {
        int32_t prio = (int32_t)((r >> 40) % 9 == 0 ? 4 : (r >> 40) % 4);
        hr = bg_job_set_priority(h, prio);
        if (prio == 4)
            ALLOW("set_priority(4)", hr, via_extra, E_NOTIMPL);
        else
            ALLOW("set_priority", hr, via_extra, S_OK, BG_E_INVALID_STATE);
        ended = hr == BG_E_INVALID_STATE;
        break;
    }
    case OP_WAIT0: {
        bg_job_state st = -1;
        hr = bg_job_wait(h, 0, &st);
        ALLOW("wait(0)", hr, via_extra, S_OK, S_FALSE);
        if (hr == S_OK || hr == S_FALSE) {
            TCHECK(st >= 0 && st <= 8, "wait(0): state %d", (int)st);
            TCHECK((hr == S_OK) == is_settled(st), "wait(0) returned 0x%08" PRIX32 " with state %d",
                   (uint32_t)hr, (int)st);
            ended = is_final(st);
        }
        break;
    }
    case OP_FILE_PROGRESS: {
        uint32_t count = 0;
        hr = bg_job_get_file_count(h, &count);
        ALLOW("get_file_count", hr, via_extra, S_OK);
        if (hr == S_OK && count > 0) {
            bg_file_progress fp;
            uint32_t i = (uint32_t)((r >> 40) % count);
            hr = bg_job_get_file_progress(h, i, &fp);
            ALLOW("get_file_progress", hr, via_extra, S_OK);
            if (hr == S_OK) {
                TCHECK(fp.bytes_total == BG_SIZE_UNKNOWN || fp.bytes_transferred <= fp.bytes_total,
                       "get_file_progress: bytes %" PRIu64 "/%" PRIu64, fp.bytes_transferred,
                       fp.bytes_total);
                TCHECK(fp.completed == 0 || fp.completed == 1, "completed = %d", fp.completed);
            }
        }
        break;
    }
    case OP_ENUM: {
        bg_guid ids[16];
        size_t n = 0;
        hr = bg_manager_enum_jobs(g_mgr, 0, ids, 16, &n);
        ALLOW("enum_jobs", hr, 0, S_OK, BG_E_INSUFFICIENT_BUFFER);
        TCHECK(n <= NSLOTS, "enum_jobs: %zu jobs not ended, at most %d expected", n, NSLOTS);
        break;
    }
    case OP_SET_NAME:
        hr = bg_job_set_display_name(h, (r >> 40) & 1 ? "renamed" : "\xC3\xA9t\xC3\xA9");
        ALLOW("set_display_name", hr, via_extra, S_OK, BG_E_INVALID_STATE);
        ended = hr == BG_E_INVALID_STATE;
        break;
    case OP_GET_TIMES: {
        bg_job_times t;
        hr = bg_job_get_times(h, &t);
        ALLOW("get_times", hr, via_extra, S_OK);
        if (hr == S_OK)
            TCHECK(t.creation_time > 0 && t.modification_time >= t.creation_time,
                   "get_times: creation %" PRId64 " modification %" PRId64, t.creation_time,
                   t.modification_time);
        break;
    }
    case OP_GET_ERROR: {
        bg_job_error e;
        hr = bg_job_get_error(h, &e, NULL, 0, NULL);
        ALLOW("get_error", hr, via_extra, S_OK, BG_E_ERROR_INFORMATION_UNAVAILABLE);
        if (hr == S_OK)
            TCHECK(e.code < 0 && e.context != BG_ERROR_CONTEXT_NONE,
                   "get_error: code 0x%08" PRIX32 " context %d", (uint32_t)e.code,
                   (int)e.context);
        break;
    }
    }
    atomic_store(&w->current, "(between calls)");
    /* an extra handle read with this generation refers to the same job as the base */
    if (ended) replace_if_ended(s, gen, &w->rng);
}

static void *worker_main(void *arg)
{
    worker_t *w = (worker_t *)arg;
    for (long i = 0; i < w->calls; i++) {
        one_call(w);
        atomic_store(&w->done, i + 1);
    }
    return NULL;
}

/* ---- the watchdog ----------------------------------------------------------------------- */

static pthread_mutex_t g_wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wd_cv;
static int g_wd_done;
static long g_wd_limit_s = 120;
static worker_t g_workers[NTHREADS];
static _Atomic(const char *) g_phase = "start";

static void *watchdog_main(void *arg)
{
    (void)arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += g_wd_limit_s;
    pthread_mutex_lock(&g_wd_mu);
    while (!g_wd_done) {
        if (pthread_cond_timedwait(&g_wd_cv, &g_wd_mu, &deadline) == ETIMEDOUT && !g_wd_done) {
            fprintf(stderr,
                    "test_threads: WATCHDOG: not finished after %ld s (phase: %s) — deadlock?\n",
                    g_wd_limit_s, atomic_load(&g_phase));
            for (int i = 0; i < NTHREADS; i++)
                fprintf(stderr, "  thread %d: %ld/%ld calls done, in %s\n", i,
                        atomic_load(&g_workers[i].done), g_workers[i].calls,
                        atomic_load(&g_workers[i].current));
            fflush(stderr);
            abort();
        }
    }
    pthread_mutex_unlock(&g_wd_mu);
    return NULL;
}

/* ---- the end: drive every job to a final state and check the files ------------------------- */

static const char *source_path_of(const char *remote)
{
    const char *prefix = "file://";
    return strncmp(remote, prefix, strlen(prefix)) == 0 ? remote + strlen(prefix) : remote;
}

static int job_has_missing_source(bg_job job)
{
    uint32_t n = 0;
    if (bg_job_get_file_count(job, &n) != S_OK) return 0;
    for (uint32_t i = 0; i < n; i++) {
        char remote[4200];
        size_t needed = 0;
        if (bg_job_get_file_remote_name(job, i, remote, sizeof remote, &needed) == S_OK &&
            strcmp(remote, g_missing_url) == 0)
            return 1;
    }
    return 0;
}

/* After the run: every job's state is legal; the histogram is printed, and the jobs that are
 * not final are listed (at most 6 of them are expected: the slots' current jobs). */
static void survey_jobs(void)
{
    long hist[9] = {0};
    int listed = 0;
    for (size_t i = 0; i < g_all_n; i++) {
        bg_job_state st = -1;
        CHECK_OK(bg_job_get_state(g_all[i], &st));
        CHECK_MSG(st >= 0 && st <= 8, "state %d after the run", (int)st);
        if (st < 0 || st > 8) continue;
        hist[st]++;
        int in_slot = 0;
        for (int k = 0; k < NSLOTS; k++) in_slot |= g_slots[k].base == g_all[i];
        CHECK_MSG(in_slot || is_final(st),
                  "job #%zu left its slot when it ended, but is %s now (an ended job came back)",
                  i, state_name(st));
        if (!is_final(st) && listed < 12) {
            bg_job_progress p;
            memset(&p, 0, sizeof p);
            (void)bg_job_get_progress(g_all[i], &p);
            printf("  job #%zu%s: %s, files %u/%u, bytes %" PRIu64 "/%" PRIu64 "\n", i,
                   in_slot ? " (in a slot)" : "", state_name(st), p.files_transferred,
                   p.files_total, p.bytes_transferred, p.bytes_total);
            listed++;
        }
    }
    printf("test_threads: states after the run:");
    for (int s = 0; s <= 8; s++)
        if (hist[s]) printf(" %s %ld", state_name(s), hist[s]);
    printf("\n");
    fflush(stdout);
}

/* Resumes every job that is not final (a final one refuses: BG_E_INVALID_STATE). */
static void resume_all(void)
{
    for (size_t i = 0; i < g_all_n; i++) {
        bg_job_state st = -1;
        CHECK_OK(bg_job_get_state(g_all[i], &st));
        if (!is_final(st)) CHECK_OK(bg_job_resume(g_all[i]));
    }
}

/* Waits (until the shared deadline) for the job's transfer to settle, then completes it. */
static void finish_job(bg_job job, uint64_t deadline)
{
    bg_job_state st = -1;
    CHECK_OK(bg_job_get_state(job, &st));
    if (is_final(st)) return;
    uint64_t now = now_ms();
    uint32_t left = deadline > now ? (uint32_t)(deadline - now) : 0;
    int32_t hr = bg_job_wait(job, left, &st);
    CHECK_MSG(hr == S_OK, "job did not settle in time: %s", state_name(st));
    if (job_has_missing_source(job)) {
        /* files transfer in order, so the job stops in ERROR at its missing source; Complete
         * keeps the files before it and discards the rest */
        CHECK_MSG(st == BG_JOB_STATE_ERROR, "job with a missing source: %s", state_name(st));
        CHECK_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(job));
    } else {
        CHECK_MSG(st == BG_JOB_STATE_TRANSFERRED, "job settled in %s", state_name(st));
        CHECK_OK(bg_job_complete(job));
    }
}

static long g_files_compared, g_files_discarded;

static void check_job_files(bg_job job)
{
    bg_job_state st = -1;
    CHECK_OK(bg_job_get_state(job, &st));
    CHECK_MSG(is_final(st), "job not final at the end: %d", (int)st);
    uint32_t n = 0;
    CHECK_OK(bg_job_get_file_count(job, &n));
    for (uint32_t i = 0; i < n; i++) {
        char remote[4200], local[4200], temp[4200];
        size_t needed = 0;
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_remote_name(job, i, remote, sizeof remote, &needed));
        CHECK_OK(bg_job_get_file_local_name(job, i, local, sizeof local, &needed));
        CHECK_OK(bg_job_get_file_progress(job, i, &fp));
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name(job, i, temp, sizeof temp, &needed));
        if (fp.completed) {
            CHECK_MSG(st == BG_JOB_STATE_ACKNOWLEDGED, "completed file in a job in state %d",
                      (int)st);
            CHECK_MSG(files_equal(local, source_path_of(remote)), "%s differs from %s", local,
                      remote);
            g_files_compared++;
        } else {
            CHECK_MSG(!file_exists(local), "discarded file %s exists", local);
            g_files_discarded++;
        }
    }
}

static int count_temp_files(void)
{
    DIR *d = opendir(g_dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, ".bgcopy-", 8) == 0) {
            if (n < 5) fprintf(stderr, "left behind: %s/%s\n", g_dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') return dflt;
    char *end = NULL;
    long x = strtol(v, &end, 10);
    return (end != v && x > 0) ? x : dflt;
}

int main(void)
{
    const char *vg = getenv("BGCOPY_UNDER_VALGRIND");
    int under_valgrind = vg != NULL && vg[0] != '\0' && strcmp(vg, "0") != 0;
    long calls = env_long("BGCOPY_THREAD_CALLS", under_valgrind ? 1000 : 10000);
    g_wd_limit_s = env_long("BGCOPY_THREAD_WATCHDOG_S", under_valgrind ? 480 : 120);
    uint64_t seed = (uint64_t)env_long("BGCOPY_THREAD_SEED", 0);
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000003u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        seed &= 0x7FFFFFFFFFFFull;
        if (seed == 0) seed = 1;
    }
    printf("test_threads: %d threads x %ld calls, seed %" PRIu64 ", watchdog %ld s\n", NTHREADS,
           calls, seed, g_wd_limit_s);
    fflush(stdout);

    /* the watchdog first, so that even the set-up cannot hang */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_wd_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_t watchdog;
    REQUIRE(pthread_create(&watchdog, NULL, watchdog_main, NULL) == 0);

    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    for (int i = 0; i < NSOURCES; i++) {
        char name[32];
        snprintf(name, sizeof name, "source-%d.bin", i);
        REQUIRE(path_join(g_src[i], sizeof g_src[i], g_dir, name) != NULL);
        REQUIRE(make_pattern_file(g_src[i], SOURCE_SIZES[i], 100 + (uint64_t)i) == 0);
        REQUIRE(file_url(g_src_url[i], sizeof g_src_url[i], g_src[i]) != NULL);
    }
    {
        char missing[4096];
        REQUIRE(path_join(missing, sizeof missing, g_dir, "missing-source.bin") != NULL);
        REQUIRE(file_url(g_missing_url, sizeof g_missing_url, missing) != NULL);
    }
    REQUIRE_OK(bg_manager_open(":memory:", &g_mgr));

    uint64_t setup_rng = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < NSLOTS; i++) {
        pthread_mutex_init(&g_slots[i].mu, NULL);
        g_slots[i].base = make_job(&setup_rng, &g_slots[i].id);
        REQUIRE(g_slots[i].base != 0);
    }

    atomic_store(&g_phase, "random calls");
    uint64_t t0 = now_ms();
    for (int i = 0; i < NTHREADS; i++) {
        worker_t *w = &g_workers[i];
        w->index = i;
        w->calls = calls;
        w->rng = (seed + (uint64_t)i + 1) * 0x9E3779B97F4A7C15ull;
        if (w->rng == 0) w->rng = 1;
        atomic_store(&w->current, "(not started)");
        REQUIRE(pthread_create(&w->thread, NULL, worker_main, w) == 0);
    }
    for (int i = 0; i < NTHREADS; i++) pthread_join(g_workers[i].thread, NULL);
    uint64_t t1 = now_ms();

    long total_ops[OP_COUNT] = {0};
    for (int i = 0; i < NTHREADS; i++)
        for (int op = 0; op < OP_COUNT; op++) total_ops[op] += g_workers[i].ops[op];
    printf("test_threads: %ld calls in %" PRIu64 " ms; %zu jobs made;", calls * NTHREADS, t1 - t0,
           g_all_n);
    for (int op = 0; op < OP_COUNT; op++) printf(" %s %ld", OP_NAME[op], total_ops[op]);
    printf("\n");
    fflush(stdout);

    /* the threads' verdict */
    CHECK_MSG(atomic_load(&g_failures) == 0, "%ld failed checks in the threads (first ones above)",
              atomic_load(&g_failures));
    CHECK_MSG(atomic_load(&g_checked) > calls * NTHREADS / 2, "only %ld checks made",
              atomic_load(&g_checked));

    /* every job: a legal state now, then a final one; then the files */
    atomic_store(&g_phase, "finishing the jobs");
    survey_jobs();
    resume_all();
    uint64_t deadline = now_ms() + FINAL_WAIT_MS;
    for (size_t i = 0; i < g_all_n; i++) finish_job(g_all[i], deadline);
    atomic_store(&g_phase, "checking the files");
    for (size_t i = 0; i < g_all_n; i++) check_job_files(g_all[i]);
    printf("test_threads: %ld completed files compared, %ld discarded files checked absent\n",
           g_files_compared, g_files_discarded);
    CHECK(g_files_compared > 0);
    CHECK_EQ_INT(count_temp_files(), 0);
    size_t live = 99;
    CHECK_OK(bg_manager_enum_jobs(g_mgr, 0, NULL, 0, &live));
    CHECK_EQ_U64(live, 0);

    /* release everything */
    atomic_store(&g_phase, "releasing");
    for (int i = 0; i < NSLOTS; i++) {
        for (int k = 0; k < NEXTRA; k++)
            if (g_slots[i].extra[k] != 0) CHECK_OK(bg_job_release(g_slots[i].extra[k]));
        pthread_mutex_destroy(&g_slots[i].mu);
    }
    for (size_t i = 0; i < g_all_n; i++) CHECK_OK(bg_job_release(g_all[i]));
    free(g_all);
    CHECK_OK(bg_manager_close(g_mgr));
    CHECK(remove_tree(g_dir) == 0);

    pthread_mutex_lock(&g_wd_mu);
    g_wd_done = 1;
    pthread_cond_signal(&g_wd_cv);
    pthread_mutex_unlock(&g_wd_mu);
    pthread_join(watchdog, NULL);
    pthread_cond_destroy(&g_wd_cv);
    printf("test_threads: total %" PRIu64 " ms\n", now_ms() - t0);
    TEST_MAIN_END();
}
