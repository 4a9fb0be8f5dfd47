/*
 * test_handles: the generation-checked handle table, as seen from C.
 *
 *  - zero, invented, random, truncated-to-32-bits, released and closed handles → E_HANDLE from
 *    every kind of call, with the out-params left alone;
 *  - a manager handle passed as a job and a job handle passed as a manager → E_HANDLE, and
 *    neither object is affected;
 *  - two handles to one job: releasing one leaves the other working, and never cancels the job;
 *  - closing a manager invalidates the job handles opened through it; a double close → E_HANDLE;
 *  - a released handle's value is never handed out again (the slot comes back with a new
 *    generation), and the stale value stays E_HANDLE after its slot is reused;
 *  - the race: RACE_THREADS threads create jobs, publish their handles into a shared array and
 *    use / release each other's handles until a deadline; every call returns S_OK or E_HANDLE
 *    and every handle is released successfully exactly once.
 *
 * Environment: BGCOPY_RACE_SECONDS (default 3) is the length of the race; the race also stops
 * after RACE_MAX_JOBS_PER_THREAD jobs per thread (fewer under valgrind, BGCOPY_UNDER_VALGRIND=1,
 * set by ctest for test_handles_valgrind), so the valgrind run stays well under a minute.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- bookkeeping of every handle this process was given -------------------------------- */

#define MAX_ISSUED 256
static uint64_t issued[MAX_ISSUED];
static size_t issued_count = 0;

static void note_issued(uint64_t h)
{
    if (issued_count < MAX_ISSUED) issued[issued_count++] = h;
}

static int was_issued(uint64_t h)
{
    for (size_t i = 0; i < issued_count; i++)
        if (issued[i] == h) return 1;
    return 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static char tmp_dir[1024];
static char src_path[1200];
static char src_url[1300];
static char dst_path[1200];

static bg_manager open_memory_manager(void)
{
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    REQUIRE(m != 0);
    note_issued(m);
    return m;
}

static bg_job create_job(bg_manager m, const char *name, bg_guid *out_id)
{
    bg_job j = 0;
    REQUIRE_OK(bg_manager_create_job(m, name, BG_JOB_TYPE_DOWNLOAD, out_id, &j));
    REQUIRE(j != 0);
    note_issued(j);
    return j;
}

static int32_t state_of(bg_job j)
{
    bg_job_state s = -1;
    int32_t hr = bg_job_get_state(j, &s);
    return hr == S_OK ? s : -1000 + (hr & 0xFF);
}

/* ---- every job call with a job handle that must be E_HANDLE ------------------------------- */

#define SENTINEL_U64 0xDEADBEEFCAFEF00Dull
#define SENTINEL_U32 0xA5A5A5A5u

/* is_manager: `bad` is a live manager handle (kind confusion), so the manager calls that would
 * succeed on it are skipped. */
static void expect_bad_job(bg_job bad, int is_manager, const char *what)
{
    fprintf(stderr, "  bad job handle: %s (0x%016" PRIX64 ")\n", what, bad);

    bg_job_state st = (bg_job_state)SENTINEL_U32;
    CHECK_HR(E_HANDLE, bg_job_get_state(bad, &st));
    CHECK_EQ_INT(st, (bg_job_state)SENTINEL_U32);

    CHECK_HR(E_HANDLE, bg_job_resume(bad));
    CHECK_HR(E_HANDLE, bg_job_suspend(bad));
    CHECK_HR(E_HANDLE, bg_job_cancel(bad));
    CHECK_HR(E_HANDLE, bg_job_complete(bad));
    CHECK_HR(E_HANDLE, bg_job_add_file(bad, src_url, dst_path));
    CHECK_HR(E_HANDLE, bg_job_set_description(bad, "nope"));
    CHECK_HR(E_HANDLE, bg_job_set_display_name(bad, "nope"));
    CHECK_HR(E_HANDLE, bg_job_set_priority(bad, BG_JOB_PRIORITY_HIGH));

    char buf[64];
    memset(buf, 'Z', sizeof buf);
    size_t needed = 4242;
    CHECK_HR(E_HANDLE, bg_job_get_display_name(bad, buf, sizeof buf, &needed));
    CHECK_EQ_U64(needed, 4242);
    CHECK(buf[0] == 'Z');
    CHECK_HR(E_HANDLE, bg_job_get_display_name(bad, NULL, 0, &needed));
    CHECK_EQ_U64(needed, 4242);

    bg_guid id;
    memset(&id, 0xA5, sizeof id);
    CHECK_HR(E_HANDLE, bg_job_get_id(bad, &id));
    CHECK(id.bytes[0] == 0xA5 && id.bytes[15] == 0xA5);

    uint32_t count = SENTINEL_U32;
    CHECK_HR(E_HANDLE, bg_job_get_file_count(bad, &count));
    CHECK_EQ_U64(count, SENTINEL_U32);

    bg_job_progress prog;
    memset(&prog, 0xA5, sizeof prog);
    CHECK_HR(E_HANDLE, bg_job_get_progress(bad, &prog));
    CHECK_EQ_U64(prog.bytes_total, 0xA5A5A5A5A5A5A5A5ull);

    st = (bg_job_state)SENTINEL_U32;
    CHECK_HR(E_HANDLE, bg_job_wait(bad, 0, &st));
    CHECK_EQ_INT(st, (bg_job_state)SENTINEL_U32);

    CHECK_HR(E_HANDLE, bg_job_release(bad));
    CHECK_HR(E_HANDLE, bg_job_release(bad)); /* and again: still nothing to release */

    if (!is_manager) {
        /* Not a manager handle either. */
        bg_job out = SENTINEL_U64;
        CHECK_HR(E_HANDLE, bg_manager_create_job(bad, "x", BG_JOB_TYPE_DOWNLOAD, NULL, &out));
        CHECK_EQ_U64(out, SENTINEL_U64);
        CHECK_HR(E_HANDLE, bg_manager_close(bad));
    }
}

/* is_job: `bad` is a live job handle (kind confusion), so the job calls that would succeed on it
 * are skipped. */
static void expect_bad_manager(bg_manager bad, int is_job, const char *what)
{
    fprintf(stderr, "  bad manager handle: %s (0x%016" PRIX64 ")\n", what, bad);

    bg_job out = SENTINEL_U64;
    bg_guid id;
    memset(&id, 0xA5, sizeof id);
    CHECK_HR(E_HANDLE, bg_manager_create_job(bad, "x", BG_JOB_TYPE_DOWNLOAD, &id, &out));
    CHECK_EQ_U64(out, SENTINEL_U64);
    CHECK(id.bytes[0] == 0xA5 && id.bytes[15] == 0xA5);

    bg_guid any;
    memset(&any, 0x11, sizeof any);
    CHECK_HR(E_HANDLE, bg_manager_get_job(bad, &any, &out));
    CHECK_EQ_U64(out, SENTINEL_U64);

    size_t count = 999;
    CHECK_HR(E_HANDLE, bg_manager_enum_jobs(bad, 0, NULL, 0, &count));
    CHECK_EQ_U64(count, 999);

    uint64_t value = SENTINEL_U64;
    CHECK_HR(E_HANDLE, bg_manager_get_option(bad, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &value));
    CHECK_EQ_U64(value, SENTINEL_U64);
    CHECK_HR(E_HANDLE, bg_manager_set_option(bad, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 2));

    CHECK_HR(E_HANDLE, bg_manager_close(bad));
    CHECK_HR(E_HANDLE, bg_manager_close(bad));

    if (!is_job) {
        /* Not a job handle either. */
        bg_job_state st = (bg_job_state)SENTINEL_U32;
        CHECK_HR(E_HANDLE, bg_job_get_state(bad, &st));
        CHECK_EQ_INT(st, (bg_job_state)SENTINEL_U32);
        CHECK_HR(E_HANDLE, bg_job_release(bad));
    }
}

/* ---- 1. zero, invented, random, truncated, released --------------------------------------- */

static void test_invalid_handles(void)
{
    bg_manager m = open_memory_manager();
    bg_guid jid;
    bg_job j = create_job(m, "the valid one", &jid);

    /* Zero is never valid. */
    expect_bad_job(0, 0, "zero");
    expect_bad_manager(0, 0, "zero");

    /* Invented: job/manager tags with a slot and generation never handed out. */
    const uint64_t invented[] = {
        0x424A000100000005ull, 0x424D000100000005ull, 0x424A0001FFFFFFF0ull,
        0x424AFFFF00000000ull, 0xFFFFFFFFFFFFFFFFull, 0x8000000000000000ull,
        0x0000000100000001ull, 0x0000000000000001ull,
    };
    for (size_t i = 0; i < sizeof invented / sizeof invented[0]; i++) {
        REQUIRE(!was_issued(invented[i]));
        expect_bad_job(invented[i], 0, "invented");
        expect_bad_manager(invented[i], 0, "invented");
    }

    /* The valid handles with another generation (the same slot, never issued with that one). */
    expect_bad_job(j + (1ull << 32), 0, "valid job, generation + 1");
    expect_bad_job(j ^ (0x8000ull << 32), 0, "valid job, generation bit 15 flipped");
    expect_bad_manager(m + (1ull << 32), 0, "valid manager, generation + 1");

    /* Truncated to their low 32 bits (as a careless `int` or `uint32_t` would). */
    expect_bad_job(j & 0xFFFFFFFFull, 0, "valid job & 0xFFFFFFFF");
    expect_bad_manager(m & 0xFFFFFFFFull, 0, "valid manager & 0xFFFFFFFF");
    expect_bad_job((uint64_t)(int64_t)(int32_t)(uint32_t)j, 0, "valid job, sign-extended int32");
    expect_bad_job(j >> 32, 0, "valid job >> 32");

    /* Kind confusion: a manager as a job, a job as a manager. */
    expect_bad_job(m, 1, "the manager handle");
    expect_bad_manager(j, 1, "the job handle");

    /* Random 64-bit values, and random values carrying a real tag. */
    uint64_t seed = rng_state;
    int tried = 0;
    while (tried < 64) {
        uint64_t r = next_random(&seed);
        uint64_t candidates[3] = {r, (0x424Aull << 48) | (r & 0xFFFFFFFFFFFFull),
                                  (0x424Dull << 48) | (r & 0xFFFFFFFFFFFFull)};
        for (int k = 0; k < 3; k++) {
            uint64_t h = candidates[k];
            if (h == 0 || was_issued(h)) continue;
            bg_job_state st = (bg_job_state)SENTINEL_U32;
            CHECK_HR(E_HANDLE, bg_job_get_state(h, &st));
            CHECK_EQ_INT(st, (bg_job_state)SENTINEL_U32);
            CHECK_HR(E_HANDLE, bg_job_set_description(h, "random"));
            CHECK_HR(E_HANDLE, bg_job_release(h));
            bg_job out = SENTINEL_U64;
            CHECK_HR(E_HANDLE, bg_manager_create_job(h, "r", BG_JOB_TYPE_DOWNLOAD, NULL, &out));
            CHECK_EQ_U64(out, SENTINEL_U64);
            CHECK_HR(E_HANDLE, bg_manager_close(h));
        }
        tried++;
    }

    /* All that left the real handles alone. */
    CHECK_EQ_INT(state_of(j), BG_JOB_STATE_SUSPENDED);
    {
        char name[64];
        size_t needed = 0;
        CHECK_OK(bg_job_get_display_name(j, name, sizeof name, &needed));
        CHECK_STR(name, "the valid one");
        size_t count = 0;
        CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(m, 0, NULL, 0, &count));
        CHECK_EQ_U64(count, 1);
    }

    /* Released: a job handle after bg_job_release. */
    bg_job r = create_job(m, "released", NULL);
    CHECK_OK(bg_job_release(r));
    expect_bad_job(r, 0, "released job");

    /* Closed: a manager handle after bg_manager_close. */
    bg_manager m2 = open_memory_manager();
    CHECK_OK(bg_manager_close(m2));
    expect_bad_manager(m2, 0, "closed manager");

    /* Still fine. */
    CHECK_EQ_INT(state_of(j), BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_job_release(j));
    CHECK_OK(bg_manager_close(m));
    CHECK_HR(E_HANDLE, bg_manager_close(m)); /* a double close */
    CHECK_HR(E_HANDLE, bg_job_get_state(j, &(bg_job_state){0}));
}

/* ---- 2. two handles to one job ------------------------------------------------------------ */

static void test_two_handles_one_job(void)
{
    bg_manager m = open_memory_manager();
    bg_guid id;
    bg_job a = create_job(m, "two handles", &id);
    bg_job b = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &b));
    REQUIRE(b != 0);
    note_issued(b);
    CHECK(a != b);

    CHECK_OK(bg_job_set_description(a, "set through a"));
    {
        char d[64];
        size_t needed = 0;
        CHECK_OK(bg_job_get_description(b, d, sizeof d, &needed));
        CHECK_STR(d, "set through a");
    }

    /* Releasing a leaves b working and the job where it was. */
    CHECK_OK(bg_job_release(a));
    CHECK_HR(E_HANDLE, bg_job_release(a));
    CHECK_HR(E_HANDLE, bg_job_get_state(a, &(bg_job_state){0}));
    CHECK_EQ_INT(state_of(b), BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_job_set_description(b, "set through b"));
    {
        bg_guid got;
        CHECK_OK(bg_job_get_id(b, &got));
        CHECK(memcmp(got.bytes, id.bytes, 16) == 0);
        char d[64];
        size_t needed = 0;
        CHECK_OK(bg_job_get_description(b, d, sizeof d, &needed));
        CHECK_STR(d, "set through b");
    }

    /* Releasing the last handle does not cancel either: the job is still found by GUID. */
    CHECK_OK(bg_job_release(b));
    bg_job c = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &c));
    note_issued(c);
    CHECK_EQ_INT(state_of(c), BG_JOB_STATE_SUSPENDED);
    {
        char d[64];
        size_t needed = 0;
        CHECK_OK(bg_job_get_description(c, d, sizeof d, &needed));
        CHECK_STR(d, "set through b");
        size_t count = 0;
        CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(m, 0, NULL, 0, &count));
        CHECK_EQ_U64(count, 1);
    }

    /* A job that transferred: release one handle, the other still sees TRANSFERRED and can
     * Complete it (release never cancels, so the file is delivered). */
    CHECK_OK(bg_job_add_file(c, src_url, dst_path));
    bg_job d = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &d));
    note_issued(d);
    CHECK_OK(bg_job_resume(c));
    CHECK_OK(bg_job_release(c));
    bg_job_state st = -1;
    int32_t hr = bg_job_wait(d, 30000, &st);
    CHECK_HR(S_OK, hr);
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRED);
    CHECK_EQ_INT(state_of(d), BG_JOB_STATE_TRANSFERRED);
    if (st == BG_JOB_STATE_TRANSFERRED) {
        CHECK_OK(bg_job_complete(d));
        CHECK_EQ_INT(state_of(d), BG_JOB_STATE_ACKNOWLEDGED);
        CHECK(files_equal(src_path, dst_path));
    }
    CHECK_OK(bg_job_release(d));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 3. closing a manager ----------------------------------------------------------------- */

static void test_manager_close(void)
{
    bg_manager keep = open_memory_manager();
    bg_job kj = create_job(keep, "on the other manager", NULL);

    bg_manager m = open_memory_manager();
    bg_guid id;
    bg_job a = create_job(m, "closed with its manager", &id);
    bg_job b = 0;
    CHECK_OK(bg_manager_get_job(m, &id, &b));
    note_issued(b);

    CHECK_OK(bg_manager_close(m));
    CHECK_HR(E_HANDLE, bg_manager_close(m)); /* a double close */

    bg_job_state st = (bg_job_state)SENTINEL_U32;
    CHECK_HR(E_HANDLE, bg_job_get_state(a, &st));
    CHECK_HR(E_HANDLE, bg_job_get_state(b, &st));
    CHECK_EQ_INT(st, (bg_job_state)SENTINEL_U32);
    CHECK_HR(E_HANDLE, bg_job_set_description(a, "x"));
    CHECK_HR(E_HANDLE, bg_job_resume(b));
    CHECK_HR(E_HANDLE, bg_job_release(a));
    CHECK_HR(E_HANDLE, bg_job_release(b));
    bg_job out = SENTINEL_U64;
    CHECK_HR(E_HANDLE, bg_manager_get_job(m, &id, &out));
    CHECK_HR(E_HANDLE, bg_manager_create_job(m, "x", BG_JOB_TYPE_DOWNLOAD, NULL, &out));
    CHECK_EQ_U64(out, SENTINEL_U64);

    /* The other manager and its job are untouched. */
    CHECK_EQ_INT(state_of(kj), BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_job_set_description(kj, "still here"));

    /* Two handles to the manager of one state directory: closing one leaves the other open. */
    char state_dir[1300];
    REQUIRE(path_join(state_dir, sizeof state_dir, tmp_dir, "state") != NULL);
    bg_manager d1 = 0, d2 = 0;
    CHECK_OK(bg_manager_open(state_dir, &d1));
    CHECK_OK(bg_manager_open(state_dir, &d2));
    note_issued(d1);
    note_issued(d2);
    CHECK(d1 != 0 && d2 != 0 && d1 != d2);
    CHECK_OK(bg_manager_close(d1));
    CHECK_HR(E_HANDLE, bg_manager_close(d1));
    bg_job dj = 0;
    CHECK_OK(bg_manager_create_job(d2, "through the second handle", BG_JOB_TYPE_DOWNLOAD, NULL, &dj));
    note_issued(dj);
    CHECK_EQ_INT(state_of(dj), BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_manager_close(d2));
    CHECK_HR(E_HANDLE, bg_manager_close(d2));
    CHECK_HR(E_HANDLE, bg_job_get_state(dj, &st));

    CHECK_OK(bg_job_release(kj));
    CHECK_OK(bg_manager_close(keep));
}

/* ---- 4. values are not reused ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_no_reuse(void)
{
    bg_manager m = open_memory_manager();

    /* allocate, release, allocate again: different values; the stale one stays E_HANDLE. */
    bg_job first = create_job(m, "first", NULL);
    CHECK_OK(bg_job_release(first));
    bg_job second = create_job(m, "second", NULL);
    CHECK(second != first);
    CHECK_HR(E_HANDLE, bg_job_get_state(first, &(bg_job_state){0}));
    CHECK_HR(E_HANDLE, bg_job_release(first));
    CHECK_EQ_INT(state_of(second), BG_JOB_STATE_SUSPENDED);

    /* Many rounds: every value distinct, and no stale value ever works again. */
    enum { ROUNDS = 300 };
    static uint64_t values[ROUNDS + 1];
    values[0] = second;
    CHECK_OK(bg_job_release(second));
    for (int i = 1; i <= ROUNDS; i++) {
        bg_job h = 0;
        CHECK_OK(bg_manager_create_job(m, "round", BG_JOB_TYPE_DOWNLOAD, NULL, &h));
        values[i] = h;
        CHECK_HR(E_HANDLE, bg_job_get_state(values[i - 1], &(bg_job_state){0}));
        CHECK_OK(bg_job_release(h));
    }
    qsort(values, ROUNDS + 1, sizeof values[0], cmp_u64);
    int dups = 0;
    for (int i = 1; i <= ROUNDS; i++) dups += values[i] == values[i - 1];
    CHECK_EQ_INT(dups, 0);
    for (int i = 0; i <= ROUNDS; i++) CHECK(values[i] != first);

    /* Managers too. */
    bg_manager m1 = open_memory_manager();
    CHECK_OK(bg_manager_close(m1));
    bg_manager m2 = open_memory_manager();
    CHECK(m2 != m1);
    CHECK_HR(E_HANDLE, bg_manager_close(m1));
    CHECK_OK(bg_manager_close(m2));

    CHECK_OK(bg_manager_close(m));
}

/* ---- 5. the race -------------------------------------------------------------------------- */

#define RACE_THREADS 8
#define RACE_SLOTS 32
#define RACE_MAX_JOBS_PER_THREAD 20000
#define RACE_MAX_JOBS_PER_THREAD_VALGRIND 1000
#define RACE_MAX_ALL (RACE_THREADS * RACE_MAX_JOBS_PER_THREAD)

static bg_manager race_manager;
static _Atomic uint64_t race_slots[RACE_SLOTS];
static uint64_t race_deadline_ms;
static int race_max_jobs;
static pthread_barrier_t race_start;

static atomic_long race_created;       /* handles from bg_manager_create_job */
static atomic_long race_release_ok;    /* bg_job_release(published handle) == S_OK */
static atomic_long race_release_stale; /* ... == E_HANDLE */
static atomic_long race_get_ok, race_get_stale, race_set_ok, race_set_stale;
static atomic_long race_second_ok;     /* private second handles through bg_manager_get_job */
static atomic_long race_bad;           /* any other code, or a wrong state */
static atomic_int race_first_bad_code;
static atomic_int race_first_bad_line;

/* Every handle created, to check afterwards that no value was handed out twice. */
static uint64_t race_all[RACE_MAX_ALL];
static atomic_long race_all_count;

static void race_fail(int line, int32_t hr)
{
    if (atomic_fetch_add(&race_bad, 1) == 0) {
        atomic_store(&race_first_bad_code, hr);
        atomic_store(&race_first_bad_line, line);
    }
}

static void race_release(uint64_t h)
{
    int32_t hr = bg_job_release(h);
    if (hr == S_OK)
        atomic_fetch_add(&race_release_ok, 1);
    else if (hr == E_HANDLE)
        atomic_fetch_add(&race_release_stale, 1);
    else
        race_fail(__LINE__, hr);
}

static void *race_thread(void *arg)
{
    uint64_t seed = 0xC0FFEE123456789ull ^ ((uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull);
    int made = 0;
    pthread_barrier_wait(&race_start);
    while (made < race_max_jobs && now_ms() < race_deadline_ms) {
        /* Create and publish; whatever was in the slot is ours to release now. */
        bg_job h = 0;
        int32_t hr = bg_manager_create_job(race_manager, "race", BG_JOB_TYPE_DOWNLOAD, NULL, &h);
        if (hr != S_OK || h == 0) {
            race_fail(__LINE__, hr);
            break;
        }
        made++;
        atomic_fetch_add(&race_created, 1);
        long at = atomic_fetch_add(&race_all_count, 1);
        if (at < RACE_MAX_ALL) race_all[at] = h;

        uint64_t old = atomic_exchange(&race_slots[next_random(&seed) % RACE_SLOTS], h);
        if (old != 0) race_release(old);

        /* Use and release handles other threads published. */
        for (int k = 0; k < 4; k++) {
            uint64_t r = next_random(&seed);
            uint64_t t = atomic_load(&race_slots[r % RACE_SLOTS]);
            if (t == 0) continue;
            switch ((r >> 32) % 8) {
            case 0:
            case 1:
            case 2: {
                bg_job_state st = -1;
                hr = bg_job_get_state(t, &st);
                if (hr == S_OK) {
                    atomic_fetch_add(&race_get_ok, 1);
                    if (st != BG_JOB_STATE_SUSPENDED) race_fail(__LINE__, st);
                } else if (hr == E_HANDLE) {
                    atomic_fetch_add(&race_get_stale, 1);
                } else {
                    race_fail(__LINE__, hr);
                }
                break;
            }
            case 3:
            case 4:
                hr = bg_job_set_description(t, "raced");
                if (hr == S_OK)
                    atomic_fetch_add(&race_set_ok, 1);
                else if (hr == E_HANDLE)
                    atomic_fetch_add(&race_set_stale, 1);
                else
                    race_fail(__LINE__, hr);
                break;
            case 5:
            case 6:
                race_release(t);
                break;
            default: {
                /* A second, private handle to the same job: the job outlives any release of
                 * the published handle, so this must always work once we have the id. */
                bg_guid id;
                hr = bg_job_get_id(t, &id);
                if (hr == E_HANDLE) break;
                if (hr != S_OK) {
                    race_fail(__LINE__, hr);
                    break;
                }
                bg_job mine = 0;
                hr = bg_manager_get_job(race_manager, &id, &mine);
                if (hr != S_OK) {
                    race_fail(__LINE__, hr);
                    break;
                }
                bg_job_state st = -1;
                hr = bg_job_get_state(mine, &st);
                if (hr != S_OK || st != BG_JOB_STATE_SUSPENDED) race_fail(__LINE__, hr);
                hr = bg_job_release(mine);
                if (hr != S_OK) race_fail(__LINE__, hr);
                hr = bg_job_release(mine);
                if (hr != E_HANDLE) race_fail(__LINE__, hr);
                atomic_fetch_add(&race_second_ok, 1);
                break;
            }
            }
        }
    }
    return NULL;
}

static void test_race(void)
{
    double seconds = 3.0;
    const char *env = getenv("BGCOPY_RACE_SECONDS");
    if (env != NULL && env[0] != '\0') {
        char *end = NULL;
        double v = strtod(env, &end);
        if (end != env && v > 0 && v < 3600) seconds = v;
    }
    const char *vg = getenv("BGCOPY_UNDER_VALGRIND");
    int under_valgrind = vg != NULL && vg[0] != '\0' && strcmp(vg, "0") != 0;
    race_max_jobs = under_valgrind ? RACE_MAX_JOBS_PER_THREAD_VALGRIND : RACE_MAX_JOBS_PER_THREAD;

    race_manager = open_memory_manager();
    REQUIRE(pthread_barrier_init(&race_start, NULL, RACE_THREADS + 1) == 0);
    pthread_t threads[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++)
        REQUIRE(pthread_create(&threads[i], NULL, race_thread, (void *)(uintptr_t)(i + 1)) == 0);
    race_deadline_ms = now_ms() + (uint64_t)(seconds * 1000.0);
    pthread_barrier_wait(&race_start);
    for (int i = 0; i < RACE_THREADS; i++) REQUIRE(pthread_join(threads[i], NULL) == 0);
    pthread_barrier_destroy(&race_start);

    /* Release whatever is still published. */
    for (int i = 0; i < RACE_SLOTS; i++) {
        uint64_t h = atomic_exchange(&race_slots[i], 0);
        if (h != 0) race_release(h);
    }

    long created = atomic_load(&race_created);
    fprintf(stderr,
            "race: %.1f s, %d threads, %ld jobs; release ok %ld stale %ld; get ok %ld stale %ld; "
            "set ok %ld stale %ld; second handles %ld\n",
            seconds, RACE_THREADS, created, atomic_load(&race_release_ok),
            atomic_load(&race_release_stale), atomic_load(&race_get_ok),
            atomic_load(&race_get_stale), atomic_load(&race_set_ok), atomic_load(&race_set_stale),
            atomic_load(&race_second_ok));

    CHECK(created > 0);
    CHECK_MSG(atomic_load(&race_bad) == 0,
              "%ld calls returned something other than S_OK/E_HANDLE (first: 0x%08" PRIX32
              " at line %d)",
              atomic_load(&race_bad), (uint32_t)atomic_load(&race_first_bad_code),
              atomic_load(&race_first_bad_line));
    /* Every handle was released successfully exactly once. */
    CHECK_EQ_INT(atomic_load(&race_release_ok), created);

    /* No handle value was handed out twice. */
    long n = atomic_load(&race_all_count);
    if (n > RACE_MAX_ALL) n = RACE_MAX_ALL;
    qsort(race_all, (size_t)n, sizeof race_all[0], cmp_u64);
    long dups = 0;
    for (long i = 1; i < n; i++) dups += race_all[i] == race_all[i - 1];
    CHECK_EQ_INT(dups, 0);

    /* Every handle is dead now, and no job was cancelled by any of it: all are still listed. */
    int alive = 0;
    for (long i = 0; i < n; i++) alive += bg_job_get_state(race_all[i], &(bg_job_state){0}) != E_HANDLE;
    CHECK_EQ_INT(alive, 0);
    size_t count = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_manager_enum_jobs(race_manager, 0, NULL, 0, &count));
    CHECK_EQ_U64(count, (uint64_t)created);

    CHECK_OK(bg_manager_close(race_manager));
}

int main(void)
{
    REQUIRE(test_tmpdir(tmp_dir, sizeof tmp_dir) != NULL);
    REQUIRE(path_join(src_path, sizeof src_path, tmp_dir, "source.bin") != NULL);
    REQUIRE(path_join(dst_path, sizeof dst_path, tmp_dir, "dest.bin") != NULL);
    REQUIRE(file_url(src_url, sizeof src_url, src_path) != NULL);
    REQUIRE(make_pattern_file(src_path, 100000, 7) == 0);

    test_invalid_handles();
    test_two_handles_one_job();
    test_manager_close();
    test_no_reuse();
    test_race();

    remove_tree(tmp_dir);
    TEST_MAIN_END();
}
