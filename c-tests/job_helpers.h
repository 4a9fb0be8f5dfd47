/*
 * job_helpers.h — helpers shared by the C tests that drive bgcopy jobs. Header-only, every
 * function static and marked unused (like harness.h), on top of harness.h.
 *
 * Part 1, always: small helpers with no state of their own.
 *   wall_ms(), next_wall_ms()           the wall clock in ms (what the library stamps job
 *                                       times with); spin until it moves past a value
 *   guid_eq()                           two GUIDs equal
 *   enum_contains(m, id)                whether bg_manager_enum_jobs lists the job
 *   state_name(), job_state()           a state's name; a job's state (-1 if unreadable)
 *   poll_state(job, st, ms),            bounded polls (5 ms steps): the job reaches a state;
 *   poll_gone(path, ms)                 a file is gone
 *   count_temps(dir, verbose)           .bgcopy-*.tmp files in a directory
 *   repeat(unit, count)                 a malloc'd string of count copies of unit
 *
 * Part 2, unless JOB_HELPERS_BASIC_ONLY is defined before the include: the scaffolding of the
 * single-process job tests (test_cancel.c, test_complete.c, test_files.c, test_lifecycle.c,
 * test_callbacks.c, test_wait.c). A test with its own watchdog or MIB (persist_helpers.h,
 * http/http_helpers.h, test_matrix.c, ...) defines JOB_HELPERS_BASIC_ONLY.
 *   MIB, WAIT_MS                        1 MiB; the bound of every wait (10 s unless the test
 *                                       defines WAIT_MS first, e.g. as a variable scaled up
 *                                       under valgrind)
 *   section(name), on_alarm()           names the running part and arms a WATCHDOG_S alarm
 *                                       (90 s unless the test defines WATCHDOG_S first); main()
 *                                       installs on_alarm for SIGALRM, which names the part
 *                                       that hung
 *   WAIT_STATE(job, st), CHECK_STATE()  bg_job_wait / bg_job_get_state, then the state checked
 *   wait_file_bytes(job, i, n)          poll until file i reports exactly n bytes
 *   call_under_hold(fn, job),           a life-cycle call on a helper thread, so that a hang is
 *   call_bounded(fn, job, &hung)        a failed check instead of a stuck test
 *   g_root, subdir(buf, cap, name)      the test's temp root (main() fills it) and a fresh
 *                                       directory under it
 *   struct fixture, fixture_make(),     a directory, up to MAXF pattern source files and a
 *   dst_ok()                            SUSPENDED job holding them; a destination checked
 */
#ifndef BGCOPY_C_TESTS_JOB_HELPERS_H
#define BGCOPY_C_TESTS_JOB_HELPERS_H

#include "harness.h"

#include <dirent.h>

/* ---- part 1: stateless helpers ---------------------------------------------------------- */

/* Wall-clock milliseconds since the Unix epoch (what the library stamps job times with). */
static HARNESS_UNUSED int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Spins until the wall clock has moved past `ms` (so two jobs get different creation times). */
static HARNESS_UNUSED void next_wall_ms(int64_t ms)
{
    while (wall_ms() <= ms) {
    }
}

static HARNESS_UNUSED int guid_eq(const bg_guid *a, const bg_guid *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

/* Whether the manager's jobs not yet ended (bg_manager_enum_jobs, the first 256) include `id`:
 * 1 or 0; -1 when the enumeration fails. */
static HARNESS_UNUSED int enum_contains(bg_manager m, const bg_guid *id)
{
    bg_guid ids[256];
    size_t n = 0;
    if (bg_manager_enum_jobs(m, 0, ids, 256, &n) != S_OK) return -1;
    for (size_t i = 0; i < n; i++)
        if (guid_eq(&ids[i], id)) return 1;
    return 0;
}

/* The name of a job state; "?" for a value that is not one. */
static HARNESS_UNUSED const char *state_name(bg_job_state s)
{
    static const char *names[] = {"QUEUED",      "CONNECTING",   "TRANSFERRING",
                                  "SUSPENDED",   "ERROR",        "TRANSIENT_ERROR",
                                  "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"};
    return s >= 0 && s <= 8 ? names[s] : "?";
}

/* The job's state, or -1 when bg_job_get_state fails. */
static HARNESS_UNUSED bg_job_state job_state(bg_job job)
{
    bg_job_state s = -1;
    if (bg_job_get_state(job, &s) != S_OK) return -1;
    return s;
}

/* Polls (5 ms steps, at most timeout_ms) until the job is in `want`; returns 1 when it is. */
static HARNESS_UNUSED int poll_state(bg_job job, bg_job_state want, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        bg_job_state s = job_state(job);
        if (s == want) return 1;
        if (now_ms() >= end) {
            fprintf(stderr, "poll_state: still %s, wanted %s\n", state_name(s), state_name(want));
            return 0;
        }
        sleep_ms(5);
    }
}

/* Polls (5 ms steps) until `path` no longer exists; 1 when gone within timeout_ms. */
static HARNESS_UNUSED int poll_gone(const char *path, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (file_exists(path)) {
        if (now_ms() >= end) return 0;
        sleep_ms(5);
    }
    return 1;
}

/* Number of bgcopy temp files (.bgcopy-*.tmp) in dir (their names on stderr when verbose), or -1. */
static HARNESS_UNUSED int count_temps(const char *dir, int verbose)
{
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len >= 12 && strncmp(e->d_name, ".bgcopy-", 8) == 0 &&
            strcmp(e->d_name + len - 4, ".tmp") == 0) {
            n++;
            if (verbose) fprintf(stderr, "    temp file left: %s/%s\n", dir, e->d_name);
        }
    }
    closedir(d);
    return n;
}

/* A malloc'd string of `count` copies of `unit`. */
static HARNESS_UNUSED char *repeat(const char *unit, size_t count)
{
    size_t n = strlen(unit);
    char *s = (char *)malloc(n * count + 1);
    if (s == NULL) abort();
    for (size_t i = 0; i < count; i++) memcpy(s + i * n, unit, n);
    s[n * count] = '\0';
    return s;
}

#ifndef JOB_HELPERS_BASIC_ONLY

/* ---- part 2: the scaffolding of the single-process job tests ---------------------------- */

#include <pthread.h>
#include <signal.h>

#define MIB ((uint64_t)1024 * 1024)
#ifndef WAIT_MS
#define WAIT_MS 10000u
#endif
#ifndef WATCHDOG_S
#define WATCHDOG_S 90
#endif

static const char *volatile g_section HARNESS_UNUSED = "start";

static HARNESS_UNUSED void on_alarm(int sig)
{
    (void)sig;
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "\nwatchdog: the test is stuck (a call or callback never returned) in "
                     "section: %s\n"
                     "%d passed, %d failed (+1: the hang)\n",
                     g_section, harness_passed_, harness_failed_);
    if (n > 0 && write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0) {
    }
    _exit(3);
}

/* Names the part of the test that runs now (printed; named again by the watchdog). */
static HARNESS_UNUSED void section(const char *name)
{
    g_section = name;
    printf("== %s\n", name);
    fflush(stdout);
    alarm(WATCHDOG_S);
}

/* Waits (bg_job_wait) until the job settles and checks the state it settled in. */
#define WAIT_STATE(job, expected)                                                     \
    do {                                                                              \
        bg_job_state st_ = -1;                                                        \
        CHECK_OK(bg_job_wait((job), WAIT_MS, &st_));                                  \
        CHECK_EQ_INT(st_, (expected));                                                \
    } while (0)

#define CHECK_STATE(job, expected)                                                    \
    do {                                                                              \
        bg_job_state st_ = -1;                                                        \
        CHECK_OK(bg_job_get_state((job), &st_));                                      \
        CHECK_EQ_INT(st_, (expected));                                                \
    } while (0)

/* Polls (1 ms steps, at most WAIT_MS) until file `index` reports exactly `want` bytes. */
static HARNESS_UNUSED int wait_file_bytes(bg_job job, uint32_t index, uint64_t want)
{
    uint64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        bg_file_progress fp;
        if (bg_job_get_file_progress(job, index, &fp) == S_OK && fp.bytes_transferred == want)
            return 1;
        if (now_ms() > deadline) return 0;
        sleep_ms(1);
    }
}

/* Calls that must return but may hang in a buggy library run on a helper thread, so that a
 * hang is reported as a failed check instead of stalling the whole test.
 *
 * call_under_hold(fn, job): a life-cycle call made while bg_test_hold holds the transfer (the
 * hold documents that Suspend, Cancel and Complete stop the transfer). If it has not returned
 * after WAIT_MS, the hang is reported and the hold released so that the call can finish.
 *
 * call_bounded(fn, job, &hung): any call; if it has not returned after WAIT_MS, the hang is
 * reported, *hung set, and E_UNEXPECTED returned (the thread is left behind). */
struct timed_call_ {
    bg_hresult (*fn)(bg_job);
    bg_job job;
    bg_hresult hr;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static HARNESS_UNUSED void *timed_call_thread_(void *arg)
{
    struct timed_call_ *c = (struct timed_call_ *)arg;
    bg_hresult hr = c->fn(c->job);
    pthread_mutex_lock(&c->mu);
    c->hr = hr;
    c->done = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Waits up to WAIT_MS for the call to finish; 1 if it did. */
static HARNESS_UNUSED int timed_call_wait_(struct timed_call_ *c)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&c->mu);
    while (!c->done) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT) break;
    }
    int done = c->done;
    pthread_mutex_unlock(&c->mu);
    return done;
}

static HARNESS_UNUSED bg_hresult timed_call_(bg_hresult (*fn)(bg_job), bg_job job,
                                             int release_hold, int *hung, const char *what,
                                             const char *file, int line)
{
    /* Heap-allocated: a call that never returns keeps using it. */
    struct timed_call_ *c = (struct timed_call_ *)calloc(1, sizeof *c);
    if (hung) *hung = 0;
    if (c == NULL) {
        harness_fail_(file, line, "out of memory");
        return E_OUTOFMEMORY;
    }
    c->fn = fn;
    c->job = job;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, timed_call_thread_, c) != 0) {
        harness_fail_(file, line, "pthread_create failed");
        free(c);
        return E_FAIL;
    }
    int done = timed_call_wait_(c);
    if (done) {
        harness_passed_++;
    } else if (release_hold) {
        harness_fail_(file, line,
                      "%s did not return within %u ms while bg_test_hold held the transfer "
                      "(it should stop the held transfer); releasing the hold to go on",
                      what, WAIT_MS);
        bg_test_release_hold(job);
        done = timed_call_wait_(c);
        if (!done) harness_fail_(file, line, "%s still hangs after the hold was released", what);
    } else {
        harness_fail_(file, line, "%s did not return within %u ms (hang)", what, WAIT_MS);
    }
    if (!done) {
        pthread_detach(th);
        if (hung) *hung = 1;
        return E_UNEXPECTED;
    }
    pthread_join(th, NULL);
    bg_hresult hr = c->hr;
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return hr;
}

#define call_under_hold(fn, job) timed_call_((fn), (job), 1, NULL, #fn, __FILE__, __LINE__)
#define call_bounded(fn, job, hung) timed_call_((fn), (job), 0, (hung), #fn, __FILE__, __LINE__)

/* The test's temp root: main() fills it with test_tmpdir() before anything else. */
static char g_root[1024] HARNESS_UNUSED;

/* Makes <root>/<name> as a fresh directory; returns buf. */
static HARNESS_UNUSED char *subdir(char *buf, size_t cap, const char *name)
{
    REQUIRE(path_join(buf, cap, g_root, name) != NULL);
    REQUIRE(mkdir(buf, 0700) == 0);
    return buf;
}

/* ---- setup helpers -------------------------------------------------------------------- */

#ifndef MAXF
#define MAXF 8
#endif
struct fixture {
    char dir[1200];
    char src[MAXF][1300];
    char dst[MAXF][1300];
    uint64_t size[MAXF];
    uint64_t seed[MAXF];
    int nfiles;
    bg_job job;
};

/* A fresh directory <root>/<name>, n source files of the given sizes (pattern seeds
 * base+i), and a SUSPENDED job in manager m holding them (file:// URLs). */
static HARNESS_UNUSED void fixture_make(struct fixture *fx, bg_manager m, const char *name, int n,
                                        const uint64_t *sizes, uint64_t base_seed)
{
    memset(fx, 0, sizeof *fx);
    subdir(fx->dir, sizeof fx->dir, name);
    fx->nfiles = n;
    REQUIRE_OK(bg_manager_create_job(m, name, BG_JOB_TYPE_DOWNLOAD, NULL, &fx->job));
    for (int i = 0; i < n; i++) {
        char leaf[64], url[1400];
        snprintf(leaf, sizeof leaf, "src%d.bin", i);
        REQUIRE(path_join(fx->src[i], sizeof fx->src[i], fx->dir, leaf) != NULL);
        snprintf(leaf, sizeof leaf, "dst%d.bin", i);
        REQUIRE(path_join(fx->dst[i], sizeof fx->dst[i], fx->dir, leaf) != NULL);
        fx->size[i] = sizes[i];
        fx->seed[i] = base_seed + (uint64_t)i;
        REQUIRE(make_pattern_file(fx->src[i], fx->size[i], fx->seed[i]) == 0);
        REQUIRE(file_url(url, sizeof url, fx->src[i]) != NULL);
        REQUIRE_OK(bg_job_add_file(fx->job, url, fx->dst[i]));
    }
}

/* Whether destination i holds exactly its source's pattern. */
static HARNESS_UNUSED int dst_ok(const struct fixture *fx, int i)
{
    return check_pattern_file(fx->dst[i], fx->size[i], fx->seed[i]);
}

#endif /* JOB_HELPERS_BASIC_ONLY */

#endif /* BGCOPY_C_TESTS_JOB_HELPERS_H */
