/*
 * test_cancel.c — bg_job_cancel (spec §2.5, header doc): Cancel in SUSPENDED, in the middle of
 * a transfer and after TRANSFERRED deletes the job's temp files and nothing else (a file that was
 * at the destination before stays, files an earlier Complete renamed stay); a second Cancel is
 * refused; a temp file that cannot be deleted gives BG_S_UNABLE_TO_DELETE_FILES.
 */
#include "harness.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>

#define MIB ((uint64_t)1024 * 1024)
#define WAIT_MS 10000u

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *volatile g_section = "start";

static HARNESS_UNUSED void on_alarm(int sig)
{
    (void)sig;
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "\nwatchdog: the test is stuck (a call never returned) in section: %s\n"
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
    alarm(90);
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

/* Number of bgcopy temp files (.bgcopy-*.tmp) in dir, or -1. */
static HARNESS_UNUSED int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len >= 12 && strncmp(e->d_name, ".bgcopy-", 8) == 0 &&
            strcmp(e->d_name + len - 4, ".tmp") == 0)
            n++;
    }
    closedir(d);
    return n;
}

static HARNESS_UNUSED int guid_eq(const bg_guid *a, const bg_guid *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

/* Wall-clock milliseconds (what the library stamps job times with). */
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

static void *timed_call_thread_(void *arg)
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
static int timed_call_wait_(struct timed_call_ *c)
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

static char g_root[1024];

/* Makes <root>/<name> as a fresh directory; returns buf. */
static HARNESS_UNUSED char *subdir(char *buf, size_t cap, const char *name)
{
    REQUIRE(path_join(buf, cap, g_root, name) != NULL);
    REQUIRE(mkdir(buf, 0700) == 0);
    return buf;
}

/* ---- setup helpers -------------------------------------------------------------------- */

#define MAXF 4
struct fixture {
    char dir[1200];
    char src[MAXF][1300];
    char dst[MAXF][1300];
    uint64_t size[MAXF];
    uint64_t seed[MAXF];
    int nfiles;
    bg_job job;
};

static void fixture_make(struct fixture *fx, bg_manager m, const char *name, int n,
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

static int dst_ok(const struct fixture *fx, int i)
{
    return check_pattern_file(fx->dst[i], fx->size[i], fx->seed[i]);
}

static int file_has(const char *path, const char *text)
{
    size_t len = 0;
    char *data = read_file(path, &len);
    int ok = data != NULL && len == strlen(text) && memcmp(data, text, len) == 0;
    free(data);
    return ok;
}

/* The temp name of file i: S_FALSE and "" once it has none. */
#define CHECK_NO_TEMP_NAME(job, i)                                                    \
    do {                                                                              \
        char tn_[64];                                                                 \
        size_t need_ = 0;                                                             \
        memset(tn_, 'x', sizeof tn_);                                                 \
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name((job), (i), tn_, sizeof tn_, &need_)); \
        CHECK_EQ_INT(tn_[0], '\0');                                                   \
    } while (0)

static void check_ended(bg_manager m, bg_job job)
{
    bg_guid id;
    bg_job h = 0;
    CHECK_OK(bg_job_get_id(job, &id));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &h));
}

/* ---- 1. SUSPENDED, nothing transferred ------------------------------------------------- */

static void test_cancel_suspended(bg_manager m)
{
    section("cancel a SUSPENDED job with no transfer");
    struct fixture fx;
    const uint64_t sizes[2] = {MIB, 10};
    fixture_make(&fx, m, "suspended", 2, sizes, 10);
    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    bg_job_state st = -1;
    CHECK_OK(bg_job_wait(fx.job, 0, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_CANCELLED);
    for (int i = 0; i < 2; i++) {
        CHECK(!file_exists(fx.dst[i]));
        CHECK(check_pattern_file(fx.src[i], fx.size[i], fx.seed[i]));
    }
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    check_ended(m, fx.job);

    section("second cancel and other calls on CANCELLED");
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_resume(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_suspend(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_add_file(fx.job, fx.src[0], fx.dst[0]));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    bg_job_error err;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(fx.job, &err, NULL, 0, NULL));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 2. in the middle of a transfer ---------------------------------------------------- */

static void test_cancel_mid_transfer(bg_manager m)
{
    section("cancel mid-transfer");
    struct fixture fx;
    const uint64_t sizes[2] = {4 * MIB + 1, MIB};
    fixture_make(&fx, m, "mid", 2, sizes, 20);
    CHECK_OK(bg_test_hold(fx.job, 0, MIB));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 0, MIB));
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRING);
    char temp[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 0, temp, sizeof temp, &need));
    CHECK(file_exists(temp));
    CHECK_EQ_INT(count_temps(fx.dir), 1);

    CHECK_OK(call_under_hold(bg_job_cancel, fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_OK(bg_test_release_hold(fx.job));
    CHECK_MSG(!file_exists(temp), "the temp file %s is still there after cancel", temp);
    CHECK(!file_exists(fx.dst[0]));
    CHECK(!file_exists(fx.dst[1]));
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_NO_TEMP_NAME(fx.job, 0);
    CHECK_NO_TEMP_NAME(fx.job, 1);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    check_ended(m, fx.job);
    CHECK_OK(bg_job_release(fx.job));

    section("cancel never deletes a file that was at the destination");
    static const char precious[] = "precious data that was here before the job\n";
    fixture_make(&fx, m, "pre-existing", 2, sizes, 30);
    REQUIRE(write_file(fx.dst[0], precious, sizeof precious - 1) == 0);
    REQUIRE(write_file(fx.dst[1], precious, sizeof precious - 1) == 0);
    CHECK_OK(bg_test_hold(fx.job, 0, 2 * MIB));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 0, 2 * MIB));
    CHECK(file_has(fx.dst[0], precious));
    CHECK_OK(call_under_hold(bg_job_cancel, fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_OK(bg_test_release_hold(fx.job));
    CHECK_MSG(file_has(fx.dst[0], precious), "cancel changed the file that was at destination 0");
    CHECK_MSG(file_has(fx.dst[1], precious), "cancel changed the file that was at destination 1");
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 3. after TRANSFERRED ------------------------------------------------------------- */

static void test_cancel_transferred(bg_manager m)
{
    section("cancel after TRANSFERRED");
    struct fixture fx;
    const uint64_t sizes[3] = {2 * MIB + 5, MIB, 0};
    fixture_make(&fx, m, "transferred", 3, sizes, 40);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    char temps[3][1400];
    for (uint32_t i = 0; i < 3; i++) {
        size_t need = 0;
        CHECK_OK(bg_job_get_file_temp_name(fx.job, i, temps[i], sizeof temps[i], &need));
        CHECK(check_pattern_file(temps[i], fx.size[i], fx.seed[i]));
    }
    CHECK_EQ_INT(count_temps(fx.dir), 3);
    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_MSG(!file_exists(temps[i]), "temp file of file %u left behind", i);
        CHECK_MSG(!file_exists(fx.dst[i]), "file %u appeared at its destination", i);
        CHECK_NO_TEMP_NAME(fx.job, i);
    }
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    check_ended(m, fx.job);
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 4. after a Complete whose rename failed ------------------------------------------ */

static void test_cancel_after_failed_complete(bg_manager m)
{
    section("cancel after a failed complete keeps the renamed files");
    struct fixture fx;
    const uint64_t sizes[2] = {MIB + 3, 2 * MIB + 4};
    fixture_make(&fx, m, "failed-complete", 2, sizes, 50);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    char inner[1400];
    REQUIRE(mkdir(fx.dst[1], 0700) == 0);
    REQUIRE(path_join(inner, sizeof inner, fx.dst[1], "inside.txt") != NULL);
    REQUIRE(write_file(inner, "in the way", 10) == 0);
    char temp1[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 1, temp1, sizeof temp1, &need));

    bg_hresult hr = bg_job_complete(fx.job);
    CHECK_MSG(BG_FAILED(hr), "complete succeeded with a directory at destination 1");
    CHECK_HR(BG_E_WIN32_DIRECTORY, hr);
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    bg_file_progress fp;
    CHECK_OK(bg_job_get_file_progress(fx.job, 0, &fp));
    CHECK_EQ_INT(fp.completed, 1);
    CHECK(dst_ok(&fx, 0));
    CHECK(file_exists(temp1));

    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_MSG(dst_ok(&fx, 0), "cancel removed or changed the file an earlier complete renamed");
    CHECK_OK(bg_job_get_file_progress(fx.job, 0, &fp));
    CHECK_EQ_INT(fp.completed, 1);
    CHECK_MSG(!file_exists(temp1), "cancel left file 1's temp file behind");
    {
        struct stat st;
        CHECK(lstat(fx.dst[1], &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(file_has(inner, "in the way"));
    }
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_OK(bg_job_release(fx.job));
    REQUIRE(unlink(inner) == 0);
    REQUIRE(rmdir(fx.dst[1]) == 0);
}

/* ---- 5. a temp file that cannot be deleted ------------------------------------------- */

static void test_unable_to_delete(bg_manager m)
{
    section("BG_S_UNABLE_TO_DELETE_FILES");
    struct fixture fx;
    const uint64_t sizes[1] = {4 * MIB};
    fixture_make(&fx, m, "undeletable", 1, sizes, 60);
    CHECK_OK(bg_test_hold(fx.job, 0, MIB));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 0, MIB));
    char temp[1400], moved[1500], inner[1500];
    size_t need = 0;
    REQUIRE_OK(bg_job_get_file_temp_name(fx.job, 0, temp, sizeof temp, &need));
    REQUIRE(snprintf(moved, sizeof moved, "%s.moved-away", temp) < (int)sizeof moved);
    REQUIRE(snprintf(inner, sizeof inner, "%s/occupant", temp) < (int)sizeof inner);
    /* Swap the temp file for a non-empty directory: unlink(2) on it fails (EISDIR). */
    REQUIRE(rename(temp, moved) == 0);
    REQUIRE(mkdir(temp, 0700) == 0);
    REQUIRE(write_file(inner, "x", 1) == 0);

    bg_hresult hr = call_under_hold(bg_job_cancel, fx.job);
    CHECK_HR(BG_S_UNABLE_TO_DELETE_FILES, hr);
    CHECK(BG_SUCCEEDED(hr));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_OK(bg_test_release_hold(fx.job));
    check_ended(m, fx.job);
    /* The directory was not removed, and the job still names what it could not delete. */
    {
        struct stat st;
        CHECK(lstat(temp, &st) == 0 && S_ISDIR(st.st_mode));
        CHECK(file_has(inner, "x"));
        char name[1400];
        need = 0;
        CHECK_OK(bg_job_get_file_temp_name(fx.job, 0, name, sizeof name, &need));
        CHECK_STR(name, temp);
    }
    CHECK(!file_exists(fx.dst[0]));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_cancel(fx.job));
    CHECK_OK(bg_job_release(fx.job));

    /* Clean up by hand. */
    CHECK(unlink(inner) == 0);
    CHECK(rmdir(temp) == 0);
    CHECK(unlink(moved) == 0);
    CHECK_EQ_INT(count_temps(fx.dir), 0);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    test_cancel_suspended(m);
    test_cancel_mid_transfer(m);
    test_cancel_transferred(m);
    test_cancel_after_failed_complete(m);
    test_unable_to_delete(m);

    section("close");
    CHECK_OK(bg_manager_close(m));
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_root);
    TEST_MAIN_END();
}
