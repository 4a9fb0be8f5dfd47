/*
 * test_sched.c — the scheduler and the throttle, over HTTP (spec §1.2; the issue "priorities,
 * slots, time slices, bandwidth caps"):
 *
 *   preempt          one background slot: a HIGH job resumed while a LOW job transfers takes
 *                    the slot; the LOW job goes back to QUEUED with its bytes, continues later
 *                    with a Range, and finishes byte-identical, with no error
 *   round_robin      three NORMAL jobs, one slot, 300 ms slices: every job makes progress
 *                    before any finishes, never more than one transfers at a time, each is
 *                    sliced (several requests, each continuing where the last stopped)
 *   foreground       a FOREGROUND job transfers at once while the only background slot is busy;
 *                    the background job keeps its slot (yields, never stops); a queued
 *                    background job stays queued
 *   fg_uncapped      the background cap does not apply to FOREGROUND jobs
 *   priority_change  SetPriority on a queued job (LOW -> HIGH) preempts the running job at
 *                    once; lowering the running job (HIGH -> LOW) gives the slot back at once
 *   stall            throttling is not a stall: stall timeout 500 ms, per-job cap 50 KB/s on a
 *                    fast source: never TRANSIENT_ERROR, one request, byte-identical
 *   job_cap          a per-job cap holds (a capped job is still transferring when an uncapped
 *                    one of the same size is done) and lifting it at run time applies
 *   persist          manager options and a job's priority and cap survive close + reopen of a
 *                    state directory; the job then finishes byte-identical
 *   host_limit       BG_OPTION_MAX_CONNECTIONS_PER_HOST holds for the whole manager, however
 *                    many HTTP threads it runs: with more jobs than the limit, the server sees
 *                    exactly the limit's number of requests at once at most (8, the default
 *                    6, 3, 1), and every job still finishes byte-identical
 *
 * Sources are /data/<size>/sched-<pid>/<case> on the fixture's plain server, slowed with
 * trickle= so transfers last long enough to be observed; the <pid> segment keeps the per-path
 * counters private to this run. Only qualitative facts are asserted (states, bytes on disk,
 * error counts, request counts); every wait is a bounded poll. Timing lives in
 * bench/throttle.sh.
 */
#include "http_helpers.h"

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1024 * 1024)

static char g_dir[4096];
static int g_pid;

/* ---- helpers ----------------------------------------------------------------------------- */

static void section(const char *name)
{
    printf("== %s\n", name);
    fflush(stdout);
}

/* The path /data/<size>/sched-<pid>/<name> (no query). */
static char *src_path(char *buf, size_t cap, const char *size, const char *name)
{
    int n = snprintf(buf, cap, "/data/%s/sched-%d/%s", size, g_pid, name);
    REQUIRE(n > 0 && (size_t)n < cap);
    return buf;
}

/* The URL of that path with seed and, when trickle > 0, a rate limit at the source. */
static char *src_url(char *buf, size_t cap, const char *size, const char *name, uint64_t seed,
                     uint64_t trickle)
{
    char path[512];
    src_path(path, sizeof path, size, name);
    if (trickle > 0)
        return http_url(buf, cap, 0, "%s?seed=%" PRIu64 "&trickle=%" PRIu64, path, seed,
                        trickle);
    return http_url(buf, cap, 0, "%s?seed=%" PRIu64, path, seed);
}

typedef struct src {
    const char *size_text; /* as in the URL: "4m" */
    uint64_t size;
    uint64_t seed;
    uint64_t trickle; /* bytes/s at the server, 0 = as fast as it goes */
    char local[4200];
    char path[512];
} src;

/* A job on one file of `s`, with `priority`, MinimumRetryDelay 0 (the floor), not resumed. */
static bg_job make_job(bg_manager m, const char *name, src *s, bg_job_priority priority)
{
    char url[1024];
    src_url(url, sizeof url, s->size_text, name, s->seed, s->trickle);
    src_path(s->path, sizeof s->path, s->size_text, name);
    REQUIRE(path_join(s->local, sizeof s->local, g_dir, name) != NULL);
    bg_job job = new_job(m, name, 0);
    REQUIRE_OK(bg_job_set_priority(job, priority));
    REQUIRE_OK(bg_job_add_file(job, url, s->local));
    return job;
}

static int is_running(bg_job_state s)
{
    return s == BG_JOB_STATE_CONNECTING || s == BG_JOB_STATE_TRANSFERRING;
}

static uint64_t job_bytes(bg_job job)
{
    bg_job_progress p;
    memset(&p, 0, sizeof p);
    if (bg_job_get_progress(job, &p) != S_OK) return UINT64_MAX;
    return p.bytes_transferred;
}

/* Polls until the job is TRANSFERRING with at least `bytes` bytes; 1 when reached. */
static int wait_transferring(bg_job job, uint64_t bytes, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        bg_job_state s = job_state(job);
        uint64_t b = job_bytes(job);
        if (s == BG_JOB_STATE_TRANSFERRING && b != UINT64_MAX && b >= bytes) return 1;
        if (now_ms() >= end) {
            fprintf(stderr, "wait_transferring: %s with %" PRIu64 " bytes after %" PRIu64
                            " ms, wanted TRANSFERRING with %" PRIu64 "\n",
                    state_name(s), b, timeout_ms, bytes);
            return 0;
        }
        sleep_ms(2);
    }
}

/* Polls until the job's bytes reach `bytes` (any state); 1 when reached. */
static int wait_bytes(bg_job job, uint64_t bytes, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        uint64_t b = job_bytes(job);
        if (b != UINT64_MAX && b >= bytes) return 1;
        if (now_ms() >= end) {
            fprintf(stderr, "wait_bytes: %" PRIu64 " after %" PRIu64 " ms, wanted %" PRIu64
                            " (state %s)\n",
                    b, timeout_ms, bytes, state_name(job_state(job)));
            return 0;
        }
        sleep_ms(2);
    }
}

/* Reads the states of n jobs until two reads in a row agree (a consistent snapshot, so a
 * hand-over between two reads is never mistaken for two jobs running at once). */
static void stable_states(const bg_job *jobs, int n, bg_job_state *out)
{
    bg_job_state a[8], b[8];
    for (int i = 0; i < n; i++) a[i] = job_state(jobs[i]);
    for (int tries = 0; tries < 1000; tries++) {
        for (int i = 0; i < n; i++) b[i] = job_state(jobs[i]);
        if (memcmp(a, b, sizeof(bg_job_state) * (size_t)n) == 0) break;
        memcpy(a, b, sizeof(bg_job_state) * (size_t)n);
    }
    memcpy(out, a, sizeof(bg_job_state) * (size_t)n);
}

/* Completes the job and checks the file against the server's content. */
static void complete_and_verify(bg_job job, const src *s, const char *what)
{
    CHECK_OK(bg_job_complete(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(content_check_file(s->local, s->size, s->seed, 0), "%s: %s is not the source",
              what, s->local);
}

/* Checks that every request after the first to s->path continued where the file stood
 * (a Range starting past 0), and that there were at least `min_requests`. */
static void check_continued(const src *s, uint64_t min_requests, const char *what)
{
    http_stats st;
    http_stats_get(s->path, &st);
    CHECK(st.ok);
    printf("%s: %" PRIu64 " requests, %" PRIu64 " body bytes served for %" PRIu64 "; ranges:",
           what, st.requests, st.bytes, s->size);
    for (int i = 0; i < st.n_ranges; i++) printf(" %s", st.ranges[i]);
    printf("\n");
    CHECK_MSG(st.requests >= min_requests, "%s: %" PRIu64 " requests, want >= %" PRIu64, what,
              st.requests, min_requests);
    /* The first request has no Range; every later one continues the temp file. */
    CHECK_EQ_INT(st.n_ranges, (int)st.requests - 1);
    for (int i = 0; i < st.n_ranges; i++)
        CHECK_MSG(range_start(st.ranges[i]) > 0, "%s: request %d asked for %s", what, i + 1,
                  st.ranges[i]);
    for (int i = 0; i < st.n_statuses; i++)
        CHECK_MSG(st.statuses[i] == (i == 0 ? 200 : 206), "%s: status %d of request %d", what,
                  st.statuses[i], i);
}

static bg_manager one_slot_manager(void)
{
    bg_manager m = fast_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 1));
    return m;
}

/* ---- preempt: HIGH takes the only slot from LOW ---------------------------------------- */

static void test_preempt(void)
{
    section("preempt: a HIGH job takes the only background slot from a LOW job");
    bg_manager m = one_slot_manager();
    src lo = {.size_text = "4m", .size = 4 * MIB, .seed = 101, .trickle = 1 * MIB};
    src hi = {.size_text = "2m", .size = 2 * MIB, .seed = 102, .trickle = 2 * MIB};
    bg_job low = make_job(m, "preempt-low", &lo, BG_JOB_PRIORITY_LOW);
    bg_job high = make_job(m, "preempt-high", &hi, BG_JOB_PRIORITY_HIGH);

    REQUIRE_OK(bg_job_resume(low));
    REQUIRE(wait_transferring(low, 256 * KIB, 30000));
    uint64_t before = job_bytes(low);

    CHECK_OK(bg_job_resume(high));
    CHECK(wait_state(low, BG_JOB_STATE_QUEUED, 10000));
    /* Preempted, not failed, and its bytes are kept. */
    uint64_t kept = job_bytes(low);
    CHECK_MSG(kept >= before && kept > 0, "LOW kept %" PRIu64 " bytes (had %" PRIu64 ")", kept,
              before);
    CHECK_EQ_INT(job_error_count(low), 0);
    bg_job_error e;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, job_error(low, &e, NULL, 0));

    /* HIGH transfers; while it does, LOW stays QUEUED (one slot) and holds its bytes. */
    CHECK(wait_transferring(high, 64 * KIB, 30000));
    {
        bg_job both[2] = {low, high};
        bg_job_state st[2];
        stable_states(both, 2, st);
        CHECK_MSG(st[0] == BG_JOB_STATE_QUEUED, "LOW is %s while HIGH transfers",
                  state_name(st[0]));
        CHECK_MSG(job_bytes(low) >= kept, "LOW lost bytes while queued");
    }
    bg_job_state hs = wait_final(high, 60000);
    CHECK_EQ_INT(hs, BG_JOB_STATE_TRANSFERRED);
    /* Then LOW gets the slot back, continues and finishes. */
    CHECK_EQ_INT(wait_final(low, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(low), 0);
    CHECK_EQ_INT(job_error_count(high), 0);
    bg_file_progress fp = file_progress(low, 0);
    CHECK_EQ_U64(fp.bytes_total, lo.size);
    CHECK_EQ_U64(fp.bytes_transferred, lo.size);
    check_continued(&lo, 2, "preempt-low");
    check_continued(&hi, 1, "preempt-high");
    complete_and_verify(high, &hi, "preempt-high");
    complete_and_verify(low, &lo, "preempt-low");
    CHECK_OK(bg_job_release(low));
    CHECK_OK(bg_job_release(high));
    CHECK_OK(bg_manager_close(m));
}

/* ---- round robin: three NORMAL jobs share one slot --------------------------------------- */

static void test_round_robin(void)
{
    section("round_robin: three NORMAL jobs share one slot in 300 ms slices");
    bg_manager m = one_slot_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_TIME_SLICE_MS, 300));
    enum { N = 3 };
    src s[N];
    bg_job jobs[N];
    const char *names[N] = {"rr-a", "rr-b", "rr-c"};
    for (int i = 0; i < N; i++) {
        memset(&s[i], 0, sizeof s[i]);
        s[i].size_text = "2m";
        s[i].size = 2 * MIB;
        s[i].seed = 201 + (uint64_t)i;
        s[i].trickle = 2 * MIB; /* each needs >= 1 s of slot time: >= 3 slices */
        jobs[i] = make_job(m, names[i], &s[i], BG_JOB_PRIORITY_NORMAL);
    }
    for (int i = 0; i < N; i++) REQUIRE_OK(bg_job_resume(jobs[i]));

    int all_progressed = 0, finished_early = 0, overlaps = 0, done = 0, switches = 0;
    int last_runner = -1;
    uint64_t end = now_ms() + 90000;
    while (!done && now_ms() < end) {
        bg_job_state st[N];
        stable_states(jobs, N, st);
        int running = 0, runner = -1, progressed = 0, transferred = 0;
        for (int i = 0; i < N; i++) {
            if (is_running(st[i])) {
                running++;
                runner = i;
            }
            uint64_t b = job_bytes(jobs[i]);
            if (b != UINT64_MAX && b > 0) progressed++;
            if (st[i] == BG_JOB_STATE_TRANSFERRED) transferred++;
            if (st[i] == BG_JOB_STATE_ERROR || st[i] == BG_JOB_STATE_TRANSIENT_ERROR) {
                print_error(names[i], jobs[i]);
                done = -1;
            }
        }
        if (running > 1) {
            overlaps++;
            fprintf(stderr, "round_robin: %d jobs running at once (%s %s %s)\n", running,
                    state_name(st[0]), state_name(st[1]), state_name(st[2]));
        }
        if (runner >= 0 && runner != last_runner) {
            switches++;
            last_runner = runner;
        }
        if (!all_progressed && progressed == N) {
            all_progressed = 1;
            printf("round_robin: all three have bytes after %d hand-overs\n", switches);
        }
        if (!all_progressed && transferred > 0) finished_early = 1;
        if (transferred == N) done = 1;
        sleep_ms(5);
    }
    CHECK_MSG(done == 1, "round_robin: not all TRANSFERRED (%d)", done);
    CHECK_MSG(all_progressed, "round_robin: some job never got the slot");
    CHECK_MSG(!finished_early, "round_robin: a job finished before every job made progress");
    CHECK_EQ_INT(overlaps, 0);
    /* 3 jobs x >= 3 slices each: many hand-overs (at least one per job after the first). */
    CHECK_MSG(switches >= N + 1, "round_robin: only %d hand-overs seen", switches);
    printf("round_robin: %d hand-overs observed\n", switches);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(job_state(jobs[i]), BG_JOB_STATE_TRANSFERRED);
        CHECK_EQ_INT(job_error_count(jobs[i]), 0);
        check_continued(&s[i], 2, names[i]);
        complete_and_verify(jobs[i], &s[i], names[i]);
        CHECK_OK(bg_job_release(jobs[i]));
    }
    CHECK_OK(bg_manager_close(m));
}

/* ---- foreground: runs at once while the background slot is busy -------------------------- */

static void test_foreground(void)
{
    section("foreground: a FOREGROUND job runs while the only background slot is busy");
    bg_manager m = one_slot_manager();
    src sa = {.size_text = "3m", .size = 3 * MIB, .seed = 301, .trickle = 1 * MIB};
    src sb = {.size_text = "1m", .size = 1 * MIB, .seed = 302, .trickle = 2 * MIB};
    src sf = {.size_text = "4m", .size = 4 * MIB, .seed = 303, .trickle = 2 * MIB};
    bg_job a = make_job(m, "fg-bg-running", &sa, BG_JOB_PRIORITY_NORMAL);
    bg_job b = make_job(m, "fg-bg-waiting", &sb, BG_JOB_PRIORITY_NORMAL);
    bg_job f = make_job(m, "fg-foreground", &sf, BG_JOB_PRIORITY_FOREGROUND);

    REQUIRE_OK(bg_job_resume(a));
    REQUIRE(wait_transferring(a, 128 * KIB, 30000));
    REQUIRE_OK(bg_job_resume(b));
    CHECK_EQ_INT(job_state(b), BG_JOB_STATE_QUEUED); /* the slot is taken (slice: 60 s) */

    CHECK_OK(bg_job_resume(f));
    /* F transfers at once, and A keeps its slot meanwhile; B waits. */
    int f_ran = 0, a_lost_slot = 0, b_started = 0;
    uint64_t a_bytes_at_f = 0;
    uint64_t end = now_ms() + 60000;
    for (;;) {
        bg_job trio[3] = {a, b, f};
        bg_job_state st[3];
        stable_states(trio, 3, st);
        if (!f_ran && st[2] == BG_JOB_STATE_TRANSFERRING) {
            f_ran = 1;
            a_bytes_at_f = job_bytes(a);
            CHECK_MSG(is_running(st[0]), "A is %s when F transfers", state_name(st[0]));
        }
        if (st[2] == BG_JOB_STATE_TRANSFERRED) break;
        if (!is_running(st[0]) && st[0] != BG_JOB_STATE_TRANSFERRED) a_lost_slot = 1;
        if (st[1] != BG_JOB_STATE_QUEUED) b_started = 1;
        if (st[2] == BG_JOB_STATE_ERROR || st[2] == BG_JOB_STATE_TRANSIENT_ERROR ||
            now_ms() >= end) {
            print_error("fg-foreground", f);
            break;
        }
        sleep_ms(2);
    }
    CHECK(f_ran);
    CHECK_EQ_INT(job_state(f), BG_JOB_STATE_TRANSFERRED);
    CHECK_MSG(!a_lost_slot, "the background job lost its slot to a FOREGROUND job");
    CHECK_MSG(!b_started, "a queued background job started while the slot was busy");
    /* A yielded but never stopped: it moved on while F transferred. */
    uint64_t a_bytes_after = job_bytes(a);
    printf("foreground: A had %" PRIu64 " bytes when F started transferring, %" PRIu64
           " when F was done\n",
           a_bytes_at_f, a_bytes_after);
    CHECK_MSG(a_bytes_after > a_bytes_at_f, "the background job stopped while F transferred");
    CHECK_EQ_INT(job_error_count(f), 0);
    complete_and_verify(f, &sf, "fg-foreground");

    CHECK_EQ_INT(wait_final(a, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(wait_final(b, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(a), 0);
    CHECK_EQ_INT(job_error_count(b), 0);
    check_continued(&sa, 1, "fg-bg-running");
    {
        http_stats st;
        http_stats_get(sa.path, &st);
        CHECK_EQ_U64(st.requests, 1); /* never interrupted */
        http_stats_get(sf.path, &st);
        CHECK_EQ_U64(st.requests, 1);
    }
    complete_and_verify(a, &sa, "fg-bg-running");
    complete_and_verify(b, &sb, "fg-bg-waiting");
    CHECK_OK(bg_job_release(a));
    CHECK_OK(bg_job_release(b));
    CHECK_OK(bg_job_release(f));
    CHECK_OK(bg_manager_close(m));
}

/* ---- the background cap does not apply to FOREGROUND jobs -------------------------------- */

static void test_fg_uncapped(void)
{
    section("fg_uncapped: the background cap does not slow a FOREGROUND job");
    bg_manager m = fast_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_BACKGROUND_RATE_LIMIT_BPS, 100000));
    uint64_t v = 0;
    CHECK_OK(bg_manager_get_option(m, BG_OPTION_BACKGROUND_RATE_LIMIT_BPS, &v));
    CHECK_EQ_U64(v, 100000);
    /* Same size, both from a fast source: at 100 KB/s B needs ~20 s, F (no cap) a moment. */
    src sb = {.size_text = "2m", .size = 2 * MIB, .seed = 351, .trickle = 0};
    src sf = {.size_text = "2m", .size = 2 * MIB, .seed = 352, .trickle = 0};
    bg_job b = make_job(m, "cap-background", &sb, BG_JOB_PRIORITY_NORMAL);
    bg_job f = make_job(m, "cap-foreground", &sf, BG_JOB_PRIORITY_FOREGROUND);
    REQUIRE_OK(bg_job_resume(b));
    REQUIRE(wait_transferring(b, 1, 30000));
    CHECK_OK(bg_job_resume(f));
    CHECK_EQ_INT(wait_final(f, 60000), BG_JOB_STATE_TRANSFERRED);
    bg_job_state bs = job_state(b);
    uint64_t bb = job_bytes(b);
    printf("fg_uncapped: F done; B is %s with %" PRIu64 " of %" PRIu64 " bytes\n",
           state_name(bs), bb, sb.size);
    CHECK_MSG(bs == BG_JOB_STATE_TRANSFERRING && bb < sb.size,
              "the capped background job is %s with %" PRIu64 " bytes", state_name(bs), bb);
    /* Lifting the cap at run time lets B finish. */
    CHECK_OK(bg_manager_set_option(m, BG_OPTION_BACKGROUND_RATE_LIMIT_BPS, 0));
    CHECK_EQ_INT(wait_final(b, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(b), 0);
    CHECK_EQ_INT(job_error_count(f), 0);
    complete_and_verify(f, &sf, "cap-foreground");
    complete_and_verify(b, &sb, "cap-background");
    CHECK_OK(bg_job_release(b));
    CHECK_OK(bg_job_release(f));
    CHECK_OK(bg_manager_close(m));
}

/* ---- a priority change applies to the running engine at once ----------------------------- */

static void test_priority_change(void)
{
    section("priority_change: raising a queued job preempts, lowering a running one yields");
    bg_manager m = one_slot_manager();
    src sa = {.size_text = "3m", .size = 3 * MIB, .seed = 401, .trickle = 1 * MIB};
    src sb = {.size_text = "2m", .size = 2 * MIB, .seed = 402, .trickle = 1 * MIB};
    bg_job a = make_job(m, "prio-a", &sa, BG_JOB_PRIORITY_NORMAL);
    bg_job b = make_job(m, "prio-b", &sb, BG_JOB_PRIORITY_LOW);

    REQUIRE_OK(bg_job_resume(a));
    REQUIRE(wait_transferring(a, 64 * KIB, 30000));
    REQUIRE_OK(bg_job_resume(b));
    /* B (LOW) waits while A (NORMAL) moves on. */
    uint64_t a0 = job_bytes(a);
    CHECK(wait_bytes(a, a0 + 128 * KIB, 30000));
    {
        bg_job both[2] = {a, b};
        bg_job_state st[2];
        stable_states(both, 2, st);
        CHECK_MSG(is_running(st[0]) && st[1] == BG_JOB_STATE_QUEUED, "A %s, B %s",
                  state_name(st[0]), state_name(st[1]));
    }

    /* LOW -> HIGH on the queued job: it preempts A. */
    CHECK_OK(bg_job_set_priority(b, BG_JOB_PRIORITY_HIGH));
    bg_job_priority p = -1;
    CHECK_OK(bg_job_get_priority(b, &p));
    CHECK_EQ_INT(p, BG_JOB_PRIORITY_HIGH);
    CHECK(wait_state(a, BG_JOB_STATE_QUEUED, 10000));
    CHECK(wait_transferring(b, 64 * KIB, 30000));
    {
        bg_job both[2] = {a, b};
        bg_job_state st[2];
        stable_states(both, 2, st);
        CHECK_MSG(st[0] == BG_JOB_STATE_QUEUED && st[1] == BG_JOB_STATE_TRANSFERRING,
                  "after raising B: A %s, B %s", state_name(st[0]), state_name(st[1]));
    }

    /* HIGH -> LOW on the running job: A (NORMAL) takes the slot back. B has ~1.9 s to go. */
    CHECK_OK(bg_job_set_priority(b, BG_JOB_PRIORITY_LOW));
    CHECK(wait_state(b, BG_JOB_STATE_QUEUED, 10000));
    CHECK(wait_transferring(a, job_bytes(a) + 1, 30000));
    CHECK(job_bytes(b) < sb.size);

    CHECK_EQ_INT(wait_final(a, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(wait_final(b, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(a), 0);
    CHECK_EQ_INT(job_error_count(b), 0);
    check_continued(&sa, 2, "prio-a");
    check_continued(&sb, 2, "prio-b");
    complete_and_verify(a, &sa, "prio-a");
    complete_and_verify(b, &sb, "prio-b");
    CHECK_OK(bg_job_release(a));
    CHECK_OK(bg_job_release(b));
    CHECK_OK(bg_manager_close(m));
}

/* ---- throttling is not a stall ----------------------------------------------------------- */

static void test_stall(void)
{
    section("stall: a 50 KB/s per-job cap with a 500 ms stall timeout is not a stall");
    bg_manager m = fast_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_STALL_TIMEOUT_MS, 500));
    src s = {.size_text = "256k", .size = 256 * KIB, .seed = 501, .trickle = 0};
    bg_job job = make_job(m, "stall-capped", &s, BG_JOB_PRIORITY_NORMAL);
    REQUIRE_OK(bg_job_set_max_rate(job, 50000));
    uint64_t r = 0;
    CHECK_OK(bg_job_get_max_rate(job, &r));
    CHECK_EQ_U64(r, 50000);
    REQUIRE_OK(bg_job_resume(job));
    int bad = 0, transferring = 0;
    bg_job_state st = -1;
    uint64_t t0 = now_ms(), end = t0 + 60000;
    for (;;) {
        st = job_state(job);
        if (st == BG_JOB_STATE_TRANSFERRING) transferring = 1;
        if (st == BG_JOB_STATE_TRANSIENT_ERROR || st == BG_JOB_STATE_ERROR) {
            if (!bad) print_error("stall-capped", job);
            bad = 1;
        }
        if (st == BG_JOB_STATE_TRANSFERRED || now_ms() >= end) break;
        sleep_ms(2);
    }
    printf("stall: %s after %" PRIu64 " ms (256 KiB at 50 KB/s: ~5 s)\n", state_name(st),
           now_ms() - t0);
    CHECK(transferring);
    CHECK_MSG(!bad, "throttling was taken for a stall");
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 0);
    http_stats hs;
    http_stats_get(s.path, &hs);
    CHECK_EQ_U64(hs.requests, 1);
    complete_and_verify(job, &s, "stall-capped");
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* ---- a per-job cap ----------------------------------------------------------------------- */

static void test_job_cap(void)
{
    section("job_cap: a capped job trails an uncapped one; lifting the cap applies at once");
    bg_manager m = fast_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 2));
    src sc = {.size_text = "2m", .size = 2 * MIB, .seed = 601, .trickle = 0};
    src su = {.size_text = "2m", .size = 2 * MIB, .seed = 602, .trickle = 0};
    bg_job c = make_job(m, "cap-job", &sc, BG_JOB_PRIORITY_NORMAL);
    bg_job u = make_job(m, "cap-none", &su, BG_JOB_PRIORITY_NORMAL);
    REQUIRE_OK(bg_job_set_max_rate(c, 50000)); /* 2 MiB at 50 KB/s: ~42 s */
    REQUIRE_OK(bg_job_resume(c));
    REQUIRE(wait_transferring(c, 1, 30000));
    REQUIRE_OK(bg_job_resume(u));
    CHECK_EQ_INT(wait_final(u, 60000), BG_JOB_STATE_TRANSFERRED);
    bg_job_state cs = job_state(c);
    uint64_t cb = job_bytes(c);
    printf("job_cap: uncapped job done; capped job %s with %" PRIu64 " of %" PRIu64 " bytes\n",
           state_name(cs), cb, sc.size);
    CHECK_MSG(cs == BG_JOB_STATE_TRANSFERRING && cb < sc.size, "capped job %s with %" PRIu64,
              state_name(cs), cb);
    /* Lift the cap on the running job: it finishes (bound far under the ~40 s it would need
     * at the cap). */
    CHECK_OK(bg_job_set_max_rate(c, 0));
    uint64_t r = 1;
    CHECK_OK(bg_job_get_max_rate(c, &r));
    CHECK_EQ_U64(r, 0);
    CHECK(wait_state(c, BG_JOB_STATE_TRANSFERRED, 20000));
    CHECK_EQ_INT(job_error_count(c), 0);
    CHECK_EQ_INT(job_error_count(u), 0);
    http_stats hs;
    http_stats_get(sc.path, &hs);
    CHECK_EQ_U64(hs.requests, 1);
    complete_and_verify(u, &su, "cap-none");
    complete_and_verify(c, &sc, "cap-job");
    CHECK_OK(bg_job_release(c));
    CHECK_OK(bg_job_release(u));
    CHECK_OK(bg_manager_close(m));
}

static void test_cap_window(void)
{
    section("cap_window: the background cap applies inside its daily window only");
    time_t now = time(NULL);
    struct tm tm;
    REQUIRE(localtime_r(&now, &tm) != NULL);
    uint64_t minute = (uint64_t)(tm.tm_hour * 60 + tm.tm_min);
    bg_manager m = fast_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 2));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_BACKGROUND_RATE_LIMIT_BPS, 50000));
    /* A window far from now (it starts in 3 hours, lasts one): the cap does not apply, so a
     * 2 MiB file that would need ~42 s at the cap finishes well within the bound. */
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_START_MIN, (minute + 180) % 1440));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_END_MIN, (minute + 240) % 1440));
    uint64_t v = 0;
    CHECK_OK(bg_manager_get_option(m, BG_OPTION_RATE_LIMIT_WINDOW_START_MIN, &v));
    CHECK_EQ_U64(v, (minute + 180) % 1440);
    CHECK_HR(E_INVALIDARG, bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_END_MIN, 1440));
    src so = {.size_text = "2m", .size = 2 * MIB, .seed = 701, .trickle = 0};
    bg_job out = make_job(m, "window-out", &so, BG_JOB_PRIORITY_NORMAL);
    REQUIRE_OK(bg_job_resume(out));
    CHECK_EQ_INT(wait_final(out, 20000), BG_JOB_STATE_TRANSFERRED);
    complete_and_verify(out, &so, "window-out");
    /* A window around now: the cap applies; an uncapped foreground job of the same size
     * finishes while the background one still transfers. */
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_START_MIN, (minute + 1439) % 1440));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_END_MIN, (minute + 120) % 1440));
    src si = {.size_text = "2m", .size = 2 * MIB, .seed = 702, .trickle = 0};
    src sf = {.size_text = "2m", .size = 2 * MIB, .seed = 703, .trickle = 0};
    bg_job in = make_job(m, "window-in", &si, BG_JOB_PRIORITY_NORMAL);
    bg_job fg = make_job(m, "window-fg", &sf, BG_JOB_PRIORITY_FOREGROUND);
    REQUIRE_OK(bg_job_resume(in));
    REQUIRE(wait_transferring(in, 1, 30000));
    REQUIRE_OK(bg_job_resume(fg));
    CHECK_EQ_INT(wait_final(fg, 60000), BG_JOB_STATE_TRANSFERRED);
    bg_job_state st = job_state(in);
    CHECK_MSG(st == BG_JOB_STATE_TRANSFERRING && job_bytes(in) < si.size, "capped job %s",
              state_name(st));
    /* Moving the window away from now lifts the cap from the running job. */
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_END_MIN, (minute + 240) % 1440));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RATE_LIMIT_WINDOW_START_MIN, (minute + 180) % 1440));
    CHECK(wait_state(in, BG_JOB_STATE_TRANSFERRED, 30000));
    complete_and_verify(fg, &sf, "window-fg");
    complete_and_verify(in, &si, "window-in");
    CHECK_OK(bg_job_release(out));
    CHECK_OK(bg_job_release(in));
    CHECK_OK(bg_job_release(fg));
    CHECK_OK(bg_manager_close(m));
}

/* ---- persistence ------------------------------------------------------------------------- */

static void test_persist(void)
{
    section("persist: options, priority and per-job cap survive close + reopen");
    char state[4200];
    REQUIRE(path_join(state, sizeof state, g_dir, "state") != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RETRY_DELAY_FLOOR_MS, 50));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_TIME_SLICE_MS, 300));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 1));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_BACKGROUND_RATE_LIMIT_BPS, 7654321));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_FOREGROUND_YIELD_PERCENT, 25));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_CONNECTIONS_PER_HOST, 3));
    src s = {.size_text = "2m", .size = 2 * MIB, .seed = 701, .trickle = 1 * MIB};
    bg_job job = make_job(m, "persist", &s, BG_JOB_PRIORITY_LOW);
    REQUIRE_OK(bg_job_set_max_rate(job, 123456));
    bg_guid id;
    REQUIRE_OK(bg_job_get_id(job, &id));
    REQUIRE_OK(bg_job_resume(job));
    CHECK(wait_transferring(job, 16 * KIB, 30000));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));

    REQUIRE_OK(bg_manager_open(state, &m));
    struct {
        int32_t option;
        uint64_t want;
    } opts[] = {
        {BG_OPTION_TIME_SLICE_MS, 300},
        {BG_OPTION_MAX_BACKGROUND_TRANSFERS, 1},
        {BG_OPTION_BACKGROUND_RATE_LIMIT_BPS, 7654321},
        {BG_OPTION_FOREGROUND_YIELD_PERCENT, 25},
        {BG_OPTION_MAX_CONNECTIONS_PER_HOST, 3},
        {BG_OPTION_RETRY_DELAY_FLOOR_MS, 50},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        uint64_t v = 0;
        CHECK_OK(bg_manager_get_option(m, opts[i].option, &v));
        CHECK_MSG(v == opts[i].want, "option %d: %" PRIu64 " after reopen, want %" PRIu64,
                  opts[i].option, v, opts[i].want);
    }
    REQUIRE_OK(bg_manager_get_job(m, &id, &job));
    uint64_t r = 0;
    CHECK_OK(bg_job_get_max_rate(job, &r));
    CHECK_EQ_U64(r, 123456);
    bg_job_priority p = -1;
    CHECK_OK(bg_job_get_priority(job, &p));
    CHECK_EQ_INT(p, BG_JOB_PRIORITY_LOW);
    /* The job carries on by itself after the reopen (capped, then uncapped) and finishes. */
    CHECK(wait_transferring(job, 1, 30000));
    CHECK_OK(bg_job_set_max_rate(job, 0));
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(job_error_count(job), 0);
    complete_and_verify(job, &s, "persist");
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));

    /* The last change made (max rate 0 above) also persisted, and SetOption at run time too. */
    REQUIRE_OK(bg_manager_open(state, &m));
    CHECK_OK(bg_manager_set_option(m, BG_OPTION_TIME_SLICE_MS, 1234));
    CHECK_OK(bg_manager_close(m));
    REQUIRE_OK(bg_manager_open(state, &m));
    uint64_t v = 0;
    CHECK_OK(bg_manager_get_option(m, BG_OPTION_TIME_SLICE_MS, &v));
    CHECK_EQ_U64(v, 1234);
    CHECK_OK(bg_manager_close(m));
}

/* ---- the per-host connection limit ------------------------------------------------------ */

/* The most requests of `group` the server answered at once (UINT64_MAX when unreadable). */
static uint64_t group_peak(const char *group, uint64_t *in_flight)
{
    char target[256];
    snprintf(target, sizeof target, "/__stats?group=%s", group);
    int status = 0;
    char *body = http_get_raw(http_port(0), target, &status, NULL);
    int ok = body != NULL && status == 200;
    uint64_t peak = ok ? json_u64_field(body, "peak", &ok) : 0;
    uint64_t now = ok ? json_u64_field(body, "in_flight", &ok) : 0;
    free(body);
    if (!ok) return UINT64_MAX;
    if (in_flight) *in_flight = now;
    return peak;
}

/* `jobs` jobs of one trickled 64 KiB file each (about half a second), all resumed at once on
 * a manager allowing 8 transfers; `limit` 0 leaves the option at its default. Returns the
 * server's peak of requests at once. */
static uint64_t run_host_limit(const char *tag, int jobs, uint64_t limit)
{
    bg_manager m = fast_manager();
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 8));
    if (limit) REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_MAX_CONNECTIONS_PER_HOST, limit));
    char group[64];
    snprintf(group, sizeof group, "sched-%d-%s", g_pid, tag);
    bg_job job[8];
    src s[8];
    REQUIRE(jobs <= 8);
    for (int i = 0; i < jobs; i++) {
        char name[64], url[1024];
        snprintf(name, sizeof name, "limit-%s-%d", tag, i);
        s[i] = (src){.size_text = "64k", .size = 64 * KIB, .seed = 900 + (uint64_t)i,
                     .trickle = 128 * KIB};
        src_path(s[i].path, sizeof s[i].path, s[i].size_text, name);
        http_url(url, sizeof url, 0, "%s?seed=%" PRIu64 "&trickle=%" PRIu64 "&group=%s",
                 s[i].path, s[i].seed, s[i].trickle, group);
        REQUIRE(path_join(s[i].local, sizeof s[i].local, g_dir, name) != NULL);
        job[i] = new_job(m, name, 0);
        REQUIRE_OK(bg_job_add_file(job[i], url, s[i].local));
    }
    for (int i = 0; i < jobs; i++) REQUIRE_OK(bg_job_resume(job[i]));
    for (int i = 0; i < jobs; i++) {
        CHECK_EQ_INT(wait_final(job[i], 60000), BG_JOB_STATE_TRANSFERRED);
        CHECK_EQ_INT(job_error_count(job[i]), 0);
        complete_and_verify(job[i], &s[i], "host_limit");
        CHECK_OK(bg_job_release(job[i]));
    }
    CHECK_OK(bg_manager_close(m));
    uint64_t in_flight = UINT64_MAX;
    uint64_t peak = group_peak(group, &in_flight);
    CHECK_EQ_U64(in_flight, 0);
    printf("host_limit: %d jobs, limit %" PRIu64 ": at most %" PRIu64 " requests at once\n", jobs,
           limit ? limit : 6, peak);
    return peak;
}

static void test_host_limit(void)
{
    section("host_limit: the per-host connection limit holds across the HTTP threads");
    /* Every job wants a connection for the whole half second, so the peak is the limit. */
    CHECK_EQ_U64(run_host_limit("eight", 8, 8), 8);
    CHECK_EQ_U64(run_host_limit("default", 8, 0), 6);
    CHECK_EQ_U64(run_host_limit("three", 4, 3), 3);
    CHECK_EQ_U64(run_host_limit("one", 3, 1), 1);
}

int main(int argc, char **argv)
{
    g_pid = (int)getpid();
    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    /* Optional: run only the named cases (for debugging). */
    struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        {"preempt", test_preempt},
        {"round_robin", test_round_robin},
        {"foreground", test_foreground},
        {"fg_uncapped", test_fg_uncapped},
        {"priority_change", test_priority_change},
        {"stall", test_stall},
        {"job_cap", test_job_cap},
        {"cap_window", test_cap_window},
        {"persist", test_persist},
        {"host_limit", test_host_limit},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int run = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], cases[i].name) == 0) run = 1;
        if (run) cases[i].fn();
    }
    TEST_MAIN_END();
}
