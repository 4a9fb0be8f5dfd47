/*
 * test_complete.c — bg_job_complete per the two seed pages and spec §2.4: all files done →
 * S_OK; Complete while file 3 of 5 transfers keeps files 1–2 (BG_S_PARTIAL_COMPLETE); Complete
 * with nothing transferred; an empty job; a rename that fails (the job stays TRANSFERRED, the
 * files renamed so far stay, Complete again once fixed); an existing destination replaced
 * atomically; a symlink planted at the destination replaced, not followed; Complete in the
 * final states refused.
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

#define MAXF 8
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

static int file_completed(bg_job job, uint32_t i)
{
    bg_file_progress fp;
    if (bg_job_get_file_progress(job, i, &fp) != S_OK) return -1;
    return fp.completed;
}

/* ---- 1. everything transferred → S_OK ---------------------------------------------------- */

static void test_all_done(bg_manager m)
{
    section("all files transferred -> S_OK");
    struct fixture fx;
    const uint64_t sizes[3] = {2 * MIB + 1, 0, 3 * MIB - 1};
    fixture_make(&fx, m, "all-done", 3, sizes, 10);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    for (int i = 0; i < fx.nfiles; i++) CHECK(!file_exists(fx.dst[i]));
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < fx.nfiles; i++) {
        CHECK_MSG(dst_ok(&fx, i), "file %d differs", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 1);
    }
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    bg_guid id;
    bg_job h = 0;
    CHECK_OK(bg_job_get_id(fx.job, &id));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &h));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 2. Complete while file 3 of 5 transfers ---------------------------------------------- */

static void test_partial_mid_transfer(bg_manager m)
{
    section("complete while file 3 of 5 transfers -> BG_S_PARTIAL_COMPLETE");
    struct fixture fx;
    const uint64_t sizes[5] = {2 * MIB + 3, MIB + 5, 4 * MIB + 7, 2 * MIB, MIB - 9};
    fixture_make(&fx, m, "partial", 5, sizes, 20);
    const uint64_t hold_at = MIB + 4099;
    CHECK_OK(bg_test_hold(fx.job, 2, hold_at));
    CHECK_OK(bg_job_resume(fx.job));
    REQUIRE(wait_file_bytes(fx.job, 2, hold_at));
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRING);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(fx.job, &jp));
    CHECK_EQ_INT(jp.files_total, 5);
    CHECK_EQ_INT(jp.files_transferred, 2);
    CHECK_EQ_U64(jp.bytes_transferred, sizes[0] + sizes[1] + hold_at);
    for (uint32_t i = 0; i < 2; i++) {
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(fx.job, i, &fp));
        CHECK_EQ_U64(fp.bytes_transferred, sizes[i]);
        CHECK_EQ_U64(fp.bytes_total, sizes[i]);
    }
    char temp2[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 2, temp2, sizeof temp2, &need));
    CHECK(file_exists(temp2));

    bg_hresult hr = call_under_hold(bg_job_complete, fx.job);
    CHECK_HR(BG_S_PARTIAL_COMPLETE, hr);
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_OK(bg_test_release_hold(fx.job)); /* the transfer is gone; nothing may resume */
    for (int i = 0; i < 2; i++) {
        CHECK_MSG(dst_ok(&fx, i), "kept file %d differs from its source", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 1);
    }
    for (int i = 2; i < 5; i++) {
        CHECK_MSG(!file_exists(fx.dst[i]), "discarded file %d exists at its destination", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 0);
    }
    CHECK(!file_exists(temp2));
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    /* Sources untouched. */
    for (int i = 0; i < 5; i++)
        CHECK(check_pattern_file(fx.src[i], fx.size[i], fx.seed[i]));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 3. nothing transferred; no files ---------------------------------------------------- */

static void test_nothing_transferred(bg_manager m)
{
    section("complete a SUSPENDED job with nothing transferred -> BG_S_PARTIAL_COMPLETE");
    struct fixture fx;
    const uint64_t sizes[2] = {MIB, 17};
    fixture_make(&fx, m, "nothing", 2, sizes, 30);
    CHECK_STATE(fx.job, BG_JOB_STATE_SUSPENDED);
    CHECK_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 2; i++) {
        CHECK(!file_exists(fx.dst[i]));
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 0);
    }
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_OK(bg_job_release(fx.job));

    section("complete a job with no files -> S_OK");
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "empty", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- 4. a rename that fails ------------------------------------------------------------ */

static void test_rename_failure(bg_manager m)
{
    section("rename failure: a directory at file 1's destination");
    struct fixture fx;
    const uint64_t sizes[3] = {MIB + 1, 2 * MIB + 2, 3};
    fixture_make(&fx, m, "rename-fail", 3, sizes, 40);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    bg_job_times t_before;
    CHECK_OK(bg_job_get_times(fx.job, &t_before));

    /* The directory holds a file so that nothing could replace it by mistake. */
    char inner[1400];
    REQUIRE(mkdir(fx.dst[1], 0700) == 0);
    REQUIRE(path_join(inner, sizeof inner, fx.dst[1], "inside.txt") != NULL);
    REQUIRE(write_file(inner, "keep me", 7) == 0);

    bg_hresult hr = bg_job_complete(fx.job);
    printf("    complete with a directory at the destination returned 0x%08" PRIX32 " (%s)\n",
           (uint32_t)hr, bg_hresult_message(hr));
    CHECK_MSG(BG_FAILED(hr), "complete succeeded although file 1 could not be renamed");
    CHECK_HR(BG_E_WIN32_DIRECTORY, hr); /* rename(2) → EISDIR */
    CHECK_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(file_completed(fx.job, 0), 1);
    CHECK_MSG(dst_ok(&fx, 0), "file 0 is not in place after the failed complete");
    CHECK_EQ_INT(file_completed(fx.job, 1), 0);
    {
        struct stat st;
        CHECK(lstat(fx.dst[1], &st) == 0 && S_ISDIR(st.st_mode));
        size_t len = 0;
        char *data = read_file(inner, &len);
        CHECK(data != NULL && len == 7 && memcmp(data, "keep me", 7) == 0);
        free(data);
    }
    /* File 2 came after the failing one: whatever Complete did with it, "completed" must say
     * so truthfully. */
    {
        int c2 = file_completed(fx.job, 2);
        CHECK(c2 == 0 || c2 == 1);
        CHECK_MSG(c2 == (file_exists(fx.dst[2]) ? 1 : 0),
                  "file 2: completed=%d but the destination %s", c2,
                  file_exists(fx.dst[2]) ? "exists" : "does not exist");
        if (c2 == 1) CHECK(dst_ok(&fx, 2));
        printf("    file 2 (after the failing one) completed=%d\n", c2);
    }
    /* File 1's temp file is kept for the next Complete. */
    char temp1[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(fx.job, 1, temp1, sizeof temp1, &need));
    CHECK(check_pattern_file(temp1, fx.size[1], fx.seed[1]));
    /* The job stays in the queue. */
    bg_guid id;
    bg_job h = 0;
    CHECK_OK(bg_job_get_id(fx.job, &id));
    CHECK_OK(bg_manager_get_job(m, &id, &h));
    if (h != 0) CHECK_OK(bg_job_release(h));
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(fx.job, &jp));
    CHECK_EQ_INT(jp.files_transferred, 3);
    CHECK_EQ_U64(jp.bytes_transferred, sizes[0] + sizes[1] + sizes[2]);
    bg_job_error err;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(fx.job, &err, NULL, 0, NULL));

    section("rename failure fixed: complete again");
    REQUIRE(unlink(inner) == 0);
    REQUIRE(rmdir(fx.dst[1]) == 0);
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 3; i++) {
        CHECK_MSG(dst_ok(&fx, i), "file %d differs after the second complete", i);
        CHECK_EQ_INT(file_completed(fx.job, (uint32_t)i), 1);
    }
    CHECK(!file_exists(temp1));
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &h));
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 5. what is at the destination beforehand ------------------------------------------ */

static void test_existing_destination(bg_manager m)
{
    section("an existing destination is replaced atomically");
    struct fixture fx;
    const uint64_t sizes[1] = {3 * MIB + 77};
    fixture_make(&fx, m, "replace", 1, sizes, 50);
    static const char old_text[] = "the old content of the destination\n";
    REQUIRE(write_file(fx.dst[0], old_text, sizeof old_text - 1) == 0);
    struct stat before;
    REQUIRE(stat(fx.dst[0], &before) == 0);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    /* Until Complete the old file is untouched. */
    {
        size_t len = 0;
        char *data = read_file(fx.dst[0], &len);
        CHECK(data != NULL && len == sizeof old_text - 1 && memcmp(data, old_text, len) == 0);
        free(data);
    }
    /* Someone has the old file open: a rename leaves their view intact (a truncate-and-write
     * would not). */
    int fd = open(fx.dst[0], O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(dst_ok(&fx, 0), "the destination does not hold the new content");
    struct stat after;
    REQUIRE(stat(fx.dst[0], &after) == 0);
    CHECK_MSG(after.st_ino != before.st_ino, "the destination was rewritten in place, not "
                                             "replaced by a rename");
    {
        char buf[128];
        ssize_t r = pread(fd, buf, sizeof buf, 0);
        CHECK_EQ_INT(r, (ssize_t)(sizeof old_text - 1));
        CHECK(r > 0 && memcmp(buf, old_text, (size_t)r) == 0);
    }
    close(fd);
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_OK(bg_job_release(fx.job));

    section("a symlink planted at the destination is replaced, not followed");
    const uint64_t sizes2[2] = {2 * MIB + 9, 4096};
    fixture_make(&fx, m, "symlink", 2, sizes2, 60);
    char victim[1300], victim2[1300];
    static const char victim_text[] = "victim: must never change\n";
    REQUIRE(path_join(victim, sizeof victim, fx.dir, "victim.txt") != NULL);
    REQUIRE(path_join(victim2, sizeof victim2, fx.dir, "victim2.txt") != NULL);
    REQUIRE(write_file(victim, victim_text, sizeof victim_text - 1) == 0);
    REQUIRE(write_file(victim2, victim_text, sizeof victim_text - 1) == 0);
    /* File 0: the link is there before the transfer starts; file 1: planted after it ended. */
    REQUIRE(symlink(victim, fx.dst[0]) == 0);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    REQUIRE(symlink(victim2, fx.dst[1]) == 0);
    CHECK_OK(bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        CHECK(lstat(fx.dst[i], &st) == 0 && S_ISREG(st.st_mode));
        CHECK_MSG(dst_ok(&fx, i), "file %d: the destination does not hold the download", i);
    }
    const char *victims[2] = {victim, victim2};
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        char *data = read_file(victims[i], &len);
        CHECK_MSG(data != NULL && len == sizeof victim_text - 1 &&
                      memcmp(data, victim_text, len) == 0,
                  "the symlink's target %s was written through", victims[i]);
        free(data);
    }
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_OK(bg_job_release(fx.job));
}

/* ---- 6. other states ------------------------------------------------------------------- */

static void test_other_states(bg_manager m)
{
    section("complete on CANCELLED -> BG_E_INVALID_STATE");
    struct fixture fx;
    const uint64_t sizes[1] = {MIB};
    fixture_make(&fx, m, "cancelled", 1, sizes, 70);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_cancel(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_CANCELLED);
    CHECK(!file_exists(fx.dst[0]));
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_OK(bg_job_release(fx.job));

    section("complete in ERROR keeps the finished files");
    const uint64_t sizes2[2] = {MIB + 2, MIB};
    fixture_make(&fx, m, "error-state", 2, sizes2, 80);
    /* File 1's source disappears before the transfer: the job stops in ERROR on it. */
    REQUIRE(unlink(fx.src[1]) == 0);
    CHECK_OK(bg_job_resume(fx.job));
    WAIT_STATE(fx.job, BG_JOB_STATE_ERROR);
    bg_job_error err;
    CHECK_OK(bg_job_get_error(fx.job, &err, NULL, 0, NULL));
    CHECK_EQ_INT(err.file_index, 1);
    CHECK_HR(BG_S_PARTIAL_COMPLETE, bg_job_complete(fx.job));
    CHECK_STATE(fx.job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK(dst_ok(&fx, 0));
    CHECK_EQ_INT(file_completed(fx.job, 0), 1);
    CHECK(!file_exists(fx.dst[1]));
    CHECK_EQ_INT(file_completed(fx.job, 1), 0);
    CHECK_EQ_INT(count_temps(fx.dir), 0);
    CHECK_OK(bg_job_release(fx.job));
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    test_all_done(m);
    test_partial_mid_transfer(m);
    test_nothing_transferred(m);
    test_rename_failure(m);
    test_existing_destination(m);
    test_other_states(m);

    section("close");
    CHECK_OK(bg_manager_close(m));
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_root);
    TEST_MAIN_END();
}
