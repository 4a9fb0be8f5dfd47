/*
 * test_wait.c — bg_job_wait: returns S_OK as soon as the job is TRANSFERRED, ERROR,
 * ACKNOWLEDGED or CANCELLED (whoever caused it), S_FALSE with the current state when the
 * timeout passes first; many threads may wait on one job (through one handle or several) and
 * all return on the transition; waiting blocks (never spins); transitions to other states
 * (SUSPENDED, QUEUED, TRANSFERRING) do not end a wait; a handle released or a manager closed
 * during a wait neither crashes nor hangs it.
 *
 * The transfers use local (file://) sources; bg_test_hold keeps a transfer at an exact byte
 * offset until the test lets it go, so waiters are provably waiting before the transition.
 * Synchronisation: condition variables and bounded polls; no sleep is used as
 * synchronisation (the one sleep is the window of the no-spin CPU measurement).
 */
#include <stdint.h>
#include <sys/syscall.h>

#define KIB ((uint64_t)1024)
#define WAITERS 8

/* Waits and the watchdog scale up under valgrind (main() sets both). */
static uint32_t g_wait_ms = 10000;
static int g_valgrind;
#define WAIT_MS g_wait_ms
#define WATCHDOG_S (g_valgrind ? 900 : 120)
#include "job_helpers.h"

/* ---- jobs ---------------------------------------------------------------------------------- */

static int g_dir_seq;

/* A job with `n` files of `size` bytes (source `missing` not created; -1: none). */
static bg_job new_job(bg_manager m, const char *tag, int n, int missing, uint64_t size)
{
    char dir[1100];
    char name[128];
    snprintf(name, sizeof name, "%s-%d", tag, ++g_dir_seq);
    REQUIRE(path_join(dir, sizeof dir, g_root, name) != NULL);
    REQUIRE(mkdir(dir, 0700) == 0);
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, tag, BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    for (int i = 0; i < n; i++) {
        char src[1300], dst[1300], url[1400], f[32];
        snprintf(f, sizeof f, "src%d", i);
        REQUIRE(path_join(src, sizeof src, dir, f) != NULL);
        snprintf(f, sizeof f, "dst%d", i);
        REQUIRE(path_join(dst, sizeof dst, dir, f) != NULL);
        if (i != missing) REQUIRE(make_pattern_file(src, size, 900 + (uint64_t)i) == 0);
        REQUIRE(file_url(url, sizeof url, src) != NULL);
        REQUIRE_OK(bg_job_add_file(job, url, dst));
    }
    return job;
}

static bg_job_state state_of(bg_job job)
{
    bg_job_state st = -1;
    if (bg_job_get_state(job, &st) != S_OK) return -1;
    return st;
}

/* ---- waiter threads -------------------------------------------------------------------------- */

typedef struct waiter {
    bg_job job;
    uint32_t timeout;
    pthread_t th;
    pid_t tid;
    int started, done;
    bg_hresult hr;
    bg_job_state st;
} waiter;

static pthread_mutex_t g_wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_wcv;

static void *waiter_main(void *arg)
{
    waiter *w = (waiter *)arg;
    pthread_mutex_lock(&g_wmu);
    w->tid = (pid_t)syscall(SYS_gettid);
    w->started = 1;
    pthread_cond_broadcast(&g_wcv);
    pthread_mutex_unlock(&g_wmu);
    bg_job_state st = -1;
    bg_hresult hr = bg_job_wait(w->job, w->timeout, &st);
    pthread_mutex_lock(&g_wmu);
    w->hr = hr;
    w->st = st;
    w->done = 1;
    pthread_cond_broadcast(&g_wcv);
    pthread_mutex_unlock(&g_wmu);
    return NULL;
}

static void start_waiters(waiter *w, int n)
{
    for (int i = 0; i < n; i++) {
        w[i].started = w[i].done = 0;
        w[i].hr = E_UNEXPECTED;
        w[i].st = -1;
        REQUIRE(pthread_create(&w[i].th, NULL, waiter_main, &w[i]) == 0);
    }
}

/* The scheduler state letter of a thread of this process ('S' sleeping, 'R' running, ...). */
static char thread_state(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    char *text = read_file(path, NULL);
    if (text == NULL) return '?';
    char *close = strrchr(text, ')');
    char c = close != NULL && close[1] == ' ' ? close[2] : '?';
    free(text);
    return c;
}

/* Waits (bounded poll) until every waiter has started and sleeps (blocked in bg_job_wait, the
 * only blocking call after `started`). Returns 1 when they all do. */
static int wait_all_blocked(waiter *w, int n)
{
    uint64_t deadline = now_ms() + g_wait_ms;
    for (;;) {
        int blocked = 0;
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&g_wmu);
            int started = w[i].started, done = w[i].done;
            pid_t tid = w[i].tid;
            pthread_mutex_unlock(&g_wmu);
            if (started && !done && thread_state(tid) == 'S') blocked++;
        }
        if (blocked == n) return 1;
        if (now_ms() > deadline) return 0;
        sleep_ms(1);
    }
}

static int count_done(waiter *w, int n)
{
    int c = 0;
    pthread_mutex_lock(&g_wmu);
    for (int i = 0; i < n; i++) c += w[i].done;
    pthread_mutex_unlock(&g_wmu);
    return c;
}

/* Waits (bounded) until every waiter returned; joins those that did. Returns how many. */
static int join_waiters(waiter *w, int n, uint32_t bound_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += bound_ms / 1000;
    dl.tv_nsec += (long)(bound_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_wmu);
    for (;;) {
        int c = 0;
        for (int i = 0; i < n; i++) c += w[i].done;
        if (c == n) break;
        if (pthread_cond_timedwait(&g_wcv, &g_wmu, &dl) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&g_wmu);
    int joined = 0;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&g_wmu);
        int done = w[i].done;
        pthread_mutex_unlock(&g_wmu);
        if (done) {
            pthread_join(w[i].th, NULL);
            joined++;
        } else {
            pthread_detach(w[i].th); /* hung in the library: reported by the caller */
        }
    }
    return joined;
}

/* Every waiter returned S_OK with `want`. */
static void check_waiters(waiter *w, int n, bg_job_state want, const char *what)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        if (w[i].done && w[i].hr == S_OK && w[i].st == want) {
            ok++;
        } else {
            fprintf(stderr, "    %s: waiter %d: done %d hr 0x%08" PRIX32 " state %d\n", what, i,
                    w[i].done, (uint32_t)w[i].hr, (int)w[i].st);
        }
    }
    CHECK_MSG(ok == n, "%s: %d of %d waiters returned S_OK with state %d", what, ok, n,
              (int)want);
}

/* Blocked waiters use no CPU: a spinning (or busy-polling) wait would burn most of the window.
 * The sleep is the measurement window, not synchronisation. */
static void check_no_spin(waiter *w, int n)
{
    clockid_t clk[WAITERS];
    struct timespec t0[WAITERS], t1[WAITERS];
    int have[WAITERS];
    for (int i = 0; i < n; i++) {
        have[i] = pthread_getcpuclockid(w[i].th, &clk[i]) == 0 &&
                  clock_gettime(clk[i], &t0[i]) == 0;
    }
    const uint64_t window_ms = 300;
    sleep_ms(window_ms);
    int spinning = 0;
    for (int i = 0; i < n; i++) {
        if (!have[i] || clock_gettime(clk[i], &t1[i]) != 0) continue;
        int64_t used_ms = (int64_t)(t1[i].tv_sec - t0[i].tv_sec) * 1000 +
                          (t1[i].tv_nsec - t0[i].tv_nsec) / 1000000;
        if (used_ms > (int64_t)window_ms / 3) {
            spinning++;
            fprintf(stderr, "    waiter %d used %" PRId64 " ms of CPU in a %" PRIu64
                            " ms wait\n", i, used_ms, window_ms);
        }
    }
    CHECK_MSG(spinning == 0, "%d of %d waiting threads burned CPU (spinning?)", spinning, n);
}

/* ---- 1. arguments and timeouts ------------------------------------------------------------ */

static void test_arguments_and_timeouts(void)
{
    section("bad arguments");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = new_job(m, "args", 1, -1, 64 * KIB);
    bg_job_state st = 77;
    CHECK_HR(E_HANDLE, bg_job_wait(0, 0, &st));
    CHECK_HR(E_HANDLE, bg_job_wait(0xDEADBEEFull, 10, &st));
    CHECK_EQ_INT(st, 77); /* out-params are written only on success */
    CHECK_HR(E_INVALIDARG, bg_job_wait(job, 0, NULL));
    CHECK_HR(E_INVALIDARG, bg_job_wait(job, 10, NULL));
    bg_job tmp = 0;
    bg_guid id;
    CHECK_OK(bg_job_get_id(job, &id));
    CHECK_OK(bg_manager_get_job(m, &id, &tmp));
    CHECK_OK(bg_job_release(tmp));
    CHECK_HR(E_HANDLE, bg_job_wait(tmp, 10, &st));
    CHECK_EQ_INT(st, 77);

    section("timeout: S_FALSE and the current state (SUSPENDED)");
    static const uint32_t timeouts[] = {0, 1, 30};
    for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
        st = -1;
        uint64_t t0 = now_ms();
        CHECK_HR(S_FALSE, bg_job_wait(job, timeouts[i], &st));
        uint64_t elapsed = now_ms() - t0;
        CHECK_EQ_INT(st, BG_JOB_STATE_SUSPENDED);
        /* Not before the timeout (+1: the millisecond clock truncates). */
        CHECK_MSG(elapsed + 1 >= timeouts[i], "returned after %" PRIu64 " ms, timeout %u",
                  elapsed, timeouts[i]);
    }

    section("timeout: S_FALSE and the current state (TRANSFERRING, QUEUED)");
    CHECK_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 1));
    CHECK_OK(bg_test_hold(job, 0, 16 * KIB));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 16 * KIB));
    st = -1;
    CHECK_HR(S_FALSE, bg_job_wait(job, 30, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRING);
    /* A second background job waits for the only slot: QUEUED. */
    bg_job queued = new_job(m, "queued", 1, -1, 4 * KIB);
    CHECK_OK(bg_job_resume(queued));
    st = -1;
    CHECK_HR(S_FALSE, bg_job_wait(queued, 30, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_QUEUED);
    CHECK_OK(bg_test_release_hold(job));
    st = -1;
    CHECK_OK(bg_job_wait(job, g_wait_ms, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRED);
    st = -1;
    CHECK_OK(bg_job_wait(queued, g_wait_ms, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRED);

    section("already settled: S_OK at once, whatever the timeout");
    st = -1;
    CHECK_OK(bg_job_wait(job, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    st = -1;
    CHECK_OK(bg_job_wait(job, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_OK(bg_job_cancel(queued));
    st = -1;
    CHECK_OK(bg_job_wait(queued, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_CANCELLED);
    bg_job err = new_job(m, "err", 1, 0, 4 * KIB);
    CHECK_OK(bg_job_resume(err));
    st = -1;
    CHECK_OK(bg_job_wait(err, g_wait_ms, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_ERROR);
    st = -1;
    CHECK_OK(bg_job_wait(err, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_ERROR);
    st = -1;
    CHECK_OK(bg_job_wait(err, UINT32_MAX, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_ERROR);
    CHECK_OK(bg_job_cancel(err));
    CHECK_OK(bg_job_release(err));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_job_release(queued));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 2. eight waiters, each settled state ---------------------------------------------------- */

/* Starts WAITERS threads on `job` (half through handles of their own), checks they block, and
 * returns; the handles of their own are in extra[] (0 for those that share `job`). */
static void start_eight(bg_manager m, bg_job job, waiter *w, bg_job *extra, int with_max_timeout)
{
    bg_guid id;
    CHECK_OK(bg_job_get_id(job, &id));
    memset(w, 0, sizeof(waiter) * WAITERS);
    for (int i = 0; i < WAITERS; i++) {
        extra[i] = 0;
        if (i % 2 == 1) CHECK_OK(bg_manager_get_job(m, &id, &extra[i]));
        w[i].job = extra[i] ? extra[i] : job;
        /* Long timeouts: the transition must end the wait, not the clock. */
        w[i].timeout = with_max_timeout && i < 2 ? UINT32_MAX : 600000;
    }
    start_waiters(w, WAITERS);
    CHECK_MSG(wait_all_blocked(w, WAITERS), "the waiters did not all block in bg_job_wait");
    CHECK_EQ_INT(count_done(w, WAITERS), 0);
}

static void finish_eight(waiter *w, bg_job *extra, bg_job_state want, const char *what)
{
    int joined = join_waiters(w, WAITERS, g_wait_ms);
    CHECK_MSG(joined == WAITERS, "%s: only %d of %d waiters returned within %u ms", what,
              joined, WAITERS, g_wait_ms);
    check_waiters(w, WAITERS, want, what);
    for (int i = 0; i < WAITERS; i++)
        if (extra[i]) CHECK_OK(bg_job_release(extra[i]));
}

static void test_eight_waiters(void)
{
    waiter w[WAITERS];
    bg_job extra[WAITERS];
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    section("8 threads wait on one job: all return at TRANSFERRED (and do not spin)");
    bg_job job = new_job(m, "eightT", 2, -1, 128 * KIB);
    CHECK_OK(bg_test_hold(job, 1, 32 * KIB));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 1, 32 * KIB));
    start_eight(m, job, w, extra, 1);
    check_no_spin(w, WAITERS);
    CHECK_EQ_INT(count_done(w, WAITERS), 0);
    CHECK_EQ_INT(state_of(job), BG_JOB_STATE_TRANSFERRING);
    CHECK_OK(bg_test_release_hold(job));
    finish_eight(w, extra, BG_JOB_STATE_TRANSFERRED, "TRANSFERRED");
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));

    section("8 threads wait on one job: all return at ERROR");
    job = new_job(m, "eightE", 2, 1, 128 * KIB);
    CHECK_OK(bg_test_hold(job, 0, 32 * KIB));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 32 * KIB));
    start_eight(m, job, w, extra, 0);
    CHECK_OK(bg_test_release_hold(job)); /* file 1 is missing: ERROR */
    finish_eight(w, extra, BG_JOB_STATE_ERROR, "ERROR");
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));

    section("8 threads wait on a SUSPENDED job: all return when another thread completes it");
    job = new_job(m, "eightA", 2, -1, 16 * KIB);
    start_eight(m, job, w, extra, 0);
    CHECK_SUCCEEDED(bg_job_complete(job)); /* nothing transferred: BG_S_PARTIAL_COMPLETE */
    finish_eight(w, extra, BG_JOB_STATE_ACKNOWLEDGED, "ACKNOWLEDGED");
    CHECK_OK(bg_job_release(job));

    section("8 threads wait on a transferring job: all return when another thread cancels it");
    job = new_job(m, "eightC", 1, -1, 128 * KIB);
    CHECK_OK(bg_test_hold(job, 0, 32 * KIB));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 32 * KIB));
    start_eight(m, job, w, extra, 0);
    CHECK_OK(bg_job_cancel(job));
    finish_eight(w, extra, BG_JOB_STATE_CANCELLED, "CANCELLED");
    CHECK_OK(bg_job_release(job));

    section("other transitions (SUSPENDED, QUEUED, TRANSFERRING) do not end a wait");
    job = new_job(m, "eightS", 1, -1, 128 * KIB);
    CHECK_OK(bg_test_hold(job, 0, 32 * KIB));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 32 * KIB));
    start_eight(m, job, w, extra, 0);
    CHECK_OK(bg_job_suspend(job));
    CHECK_EQ_INT(state_of(job), BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_job_set_description(job, "a property change while waited on"));
    CHECK_OK(bg_test_release_hold(job));
    CHECK_OK(bg_job_resume(job));
    /* Had any waiter returned at SUSPENDED or QUEUED, it would report that state below. */
    finish_eight(w, extra, BG_JOB_STATE_TRANSFERRED, "TRANSFERRED after suspend/resume");
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));

    section("waiters on different jobs return on their own job's transition only");
    bg_job a = new_job(m, "pairA", 1, -1, 64 * KIB);
    bg_job b = new_job(m, "pairB", 1, -1, 64 * KIB);
    CHECK_OK(bg_test_hold(a, 0, 8 * KIB));
    CHECK_OK(bg_test_hold(b, 0, 8 * KIB));
    CHECK_OK(bg_job_resume(a));
    CHECK_OK(bg_job_resume(b));
    CHECK(wait_file_bytes(a, 0, 8 * KIB));
    CHECK(wait_file_bytes(b, 0, 8 * KIB));
    waiter wa[4], wb[4];
    memset(wa, 0, sizeof wa);
    memset(wb, 0, sizeof wb);
    for (int i = 0; i < 4; i++) {
        wa[i].job = a;
        wa[i].timeout = 600000;
        wb[i].job = b;
        wb[i].timeout = 600000;
    }
    start_waiters(wa, 4);
    start_waiters(wb, 4);
    CHECK(wait_all_blocked(wa, 4));
    CHECK(wait_all_blocked(wb, 4));
    CHECK_OK(bg_test_release_hold(a));
    CHECK_EQ_INT(join_waiters(wa, 4, g_wait_ms), 4);
    check_waiters(wa, 4, BG_JOB_STATE_TRANSFERRED, "job a");
    /* b is still held: its waiters still wait. */
    CHECK_EQ_INT(state_of(b), BG_JOB_STATE_TRANSFERRING);
    CHECK_EQ_INT(count_done(wb, 4), 0);
    CHECK_OK(bg_test_release_hold(b));
    CHECK_EQ_INT(join_waiters(wb, 4, g_wait_ms), 4);
    check_waiters(wb, 4, BG_JOB_STATE_TRANSFERRED, "job b");
    CHECK_OK(bg_job_complete(a));
    CHECK_OK(bg_job_complete(b));
    CHECK_OK(bg_job_release(a));
    CHECK_OK(bg_job_release(b));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 3. handles and managers going away during a wait ------------------------------------------- */

static void test_release_and_close_during_wait(void)
{
    section("the handle a thread waits on is released meanwhile");
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = new_job(m, "relwait", 1, -1, 64 * KIB);
    bg_guid id;
    CHECK_OK(bg_job_get_id(job, &id));
    bg_job h = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &h));
    CHECK_OK(bg_test_hold(job, 0, 8 * KIB));
    CHECK_OK(bg_job_resume(job));
    CHECK(wait_file_bytes(job, 0, 8 * KIB));
    waiter w[1];
    memset(w, 0, sizeof w);
    w[0].job = h;
    w[0].timeout = 600000;
    start_waiters(w, 1);
    CHECK(wait_all_blocked(w, 1));
    CHECK_OK(bg_job_release(h));
    CHECK_OK(bg_test_release_hold(job));
    int joined = join_waiters(w, 1, g_wait_ms);
    CHECK_MSG(joined == 1, "a wait through a handle released meanwhile never returned");
    CHECK_MSG((w[0].hr == S_OK && w[0].st == BG_JOB_STATE_TRANSFERRED) || w[0].hr == E_HANDLE,
              "hr 0x%08" PRIX32 " state %d", (uint32_t)w[0].hr, (int)w[0].st);
    CHECK_OK(bg_job_complete(job));
    CHECK_OK(bg_job_release(job));

    section("the manager is closed while threads wait (SUSPENDED job, short timeout)");
    bg_job s = new_job(m, "closewait", 1, -1, 4 * KIB);
    waiter ws[4];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < 4; i++) {
        ws[i].job = s;
        ws[i].timeout = 500;
    }
    start_waiters(ws, 4);
    CHECK(wait_all_blocked(ws, 4));
    CHECK_OK(bg_manager_close(m));
    joined = join_waiters(ws, 4, g_wait_ms);
    CHECK_MSG(joined == 4, "only %d of 4 waits returned after the manager closed", joined);
    for (int i = 0; i < 4; i++) {
        CHECK_MSG(ws[i].hr == S_FALSE || ws[i].hr == E_HANDLE,
                  "waiter %d: hr 0x%08" PRIX32 " state %d", i, (uint32_t)ws[i].hr,
                  (int)ws[i].st);
    }
    bg_job_state st;
    CHECK_HR(E_HANDLE, bg_job_wait(s, 0, &st));
}

int main(void)
{
    const char *vg = getenv("BGCOPY_UNDER_VALGRIND");
    g_valgrind = vg != NULL && vg[0] != '\0' && strcmp(vg, "0") != 0;
    if (g_valgrind) g_wait_ms = 60000;
    signal(SIGALRM, on_alarm);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_wcv, &ca);
    pthread_condattr_destroy(&ca);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);

    test_arguments_and_timeouts();
    test_eight_waiters();
    test_release_and_close_during_wait();

    alarm(0);
    remove_tree(g_root);
    TEST_MAIN_END();
}
