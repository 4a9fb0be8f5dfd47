/*
 * test_multiprocess.c — several processes share one state directory:
 *
 *   child_created   a job created, resumed and left alone by a child process that then exits is
 *                   found by GUID and by enumeration from a manager the parent opened before the
 *                   child ran; the parent (the lease holder) transfers it and completes it.
 *   interleave      the parent and a child work on the same job: description, display name,
 *                   AddFile, Resume, Suspend from either side are seen by the other within a
 *                   bounded time; the lease holder's byte progress is seen by the other process;
 *                   100 setters from each side at the same time lose nothing; a Cancel in the
 *                   child is seen as CANCELLED by the parent's handle and the temp files are gone.
 *   complete_other  a child (the lease holder) transfers a job; the parent, whose handle was opened
 *                   before the transfer, calls Complete: the files land byte-identical.
 *   lease_moves     two processes open; the one holding the lease transfers (its process has the
 *                   temp file open, the other does not); it is SIGKILLed; the other takes the
 *                   lease over and finishes the transfer.
 *
 * The other processes are this executable started again (persist_helpers.h). Every wait is a
 * bounded poll or bg_job_wait.
 */
/* ctest-labels: persist;multiprocess */
/* ctest-fixtures: testserver */
/* ctest-timeout: 300 */
#include "persist_helpers.h"

#define WAIT_MS 30000u
#define SEE_MS 10000u /* "within a bounded time": another process's change, generously */

static char g_base[2048];

static int poll_not_state(bg_job job, bg_job_state unwanted, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        if (job_state(job) != unwanted) return 1;
        if (now_ms() >= end) return 0;
        sleep_ms(5);
    }
}

/* Polls the description (desc != 0) or display name until it equals want. */
static int poll_text(bg_job job, int desc, const char *want, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    char cur[2048] = "";
    for (;;) {
        size_t needed = 0;
        cur[0] = '\0';
        if (desc) bg_job_get_description(job, cur, sizeof cur, &needed);
        else bg_job_get_display_name(job, cur, sizeof cur, &needed);
        if (strcmp(cur, want) == 0) return 1;
        if (now_ms() >= end) {
            fprintf(stderr, "poll_text: \"%s\", wanted \"%s\"\n", cur, want);
            return 0;
        }
        sleep_ms(5);
    }
}

static int poll_no_temps(const char *dir, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (count_temps(dir, 0) != 0) {
        if (now_ms() >= end) return count_temps(dir, 1) == 0;
        sleep_ms(5);
    }
    return 1;
}

static uint64_t job_bytes(bg_job job)
{
    bg_job_progress p;
    return bg_job_get_progress(job, &p) == S_OK ? p.bytes_transferred : 0;
}

/* The temp file of file `index` as `job` knows it ("" when none). */
static void temp_name(bg_job job, uint32_t index, char *out, size_t cap)
{
    size_t needed = 0;
    out[0] = '\0';
    if (bg_job_get_file_temp_name(job, index, out, cap, &needed) != S_OK) out[0] = '\0';
}

static void make_dirs(const char *name, char *state, char *dst)
{
    char d[4096];
    snprintf(d, sizeof d, "%s-state", name);
    path_join(state, 4096, g_base, d);
    snprintf(d, sizeof d, "%s-dst", name);
    path_join(dst, 4096, g_base, d);
    REQUIRE(mkdir(dst, 0700) == 0);
}

/* ---- a job made by a child that exits --------------------------------------------------- */

static void test_child_created(void)
{
    section("child_created: found by GUID and by enumeration from a manager opened before");
    char state[4096], dst[4096], url[1024], local[4096];
    make_dirs("created", state, dst);
    ts_url(url, sizeof url, "/data/64k/test_multiprocess/%d/created?seed=11", (int)getpid());
    path_join(local, sizeof local, dst, "made-by-child");

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m)); /* before the child runs: it gets the lease */
    CHECK(enum_contains(m, &(bg_guid){{0}}) == 0);

    child c;
    spawn_child(&c, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c, "open %s", state);
    REQUIRE_CHILD_OK(&c, "create made by child");
    bg_guid id;
    REQUIRE(guid_parse(c.line + 3, &id));
    REQUIRE_CHILD_OK(&c, "addfile %s %s", url, local);
    REQUIRE_CHILD_OK(&c, "setdesc left alone");
    REQUIRE_CHILD_OK(&c, "resume");
    REQUIRE_CHILD_OK(&c, "close");
    CHILD_EXIT_CLEAN(&c);

    bg_job job = 0;
    uint64_t end = now_ms() + SEE_MS;
    bg_hresult hr;
    while ((hr = bg_manager_get_job(m, &id, &job)) != S_OK && now_ms() < end) sleep_ms(10);
    CHECK_HR(S_OK, hr);
    end = now_ms() + SEE_MS;
    int listed;
    while ((listed = enum_contains(m, &id)) != 1 && now_ms() < end) sleep_ms(10);
    CHECK_EQ_INT(listed, 1);
    REQUIRE(hr == S_OK);
    char buf[4096];
    size_t needed = 0;
    CHECK_OK(bg_job_get_display_name(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "made by child");
    CHECK_OK(bg_job_get_description(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "left alone");
    uint32_t n = 0;
    CHECK_OK(bg_job_get_file_count(job, &n));
    CHECK_EQ_INT(n, 1);
    CHECK_OK(bg_job_get_file_local_name(job, 0, buf, sizeof buf, &needed));
    CHECK_STR(buf, local);
    bg_job_state s = job_state(job);
    CHECK_MSG(s != BG_JOB_STATE_SUSPENDED && s != BG_JOB_STATE_ERROR, "state %s", state_name(s));

    /* The parent holds the lease: it transfers the child's job. */
    s = -1;
    CHECK_OK(bg_job_wait(job, WAIT_MS, &s));
    CHECK_EQ_INT(s, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    CHECK(content_file_ok(local, 64 * KIB, 11, 1));
    CHECK_EQ_INT(count_temps(dst, 1), 0);
    CHECK_OK(bg_manager_close(m));
}

/* ---- two processes on one job ----------------------------------------------------------- */

static void test_interleave(void)
{
    section("interleave: parent and child change the same job");
    char state[4096], dst[4096], url1[1024], url2[1024], local1[4096], local2[4096];
    make_dirs("interleave", state, dst);
    /* 1 MiB at 128 KiB/s: 8 s, long enough to stay in flight through the steps below. */
    ts_url(url1, sizeof url1, "/data/1m/test_multiprocess/%d/interleave/1?seed=21&trickle=131072",
           (int)getpid());
    ts_url(url2, sizeof url2, "/data/1m/test_multiprocess/%d/interleave/2?seed=22&trickle=131072",
           (int)getpid());
    path_join(local1, sizeof local1, dst, "one");
    path_join(local2, sizeof local2, dst, "two");

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m)); /* first: the parent will hold the lease */
    bg_guid id;
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "shared job", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    CHECK_OK(bg_job_add_file(job, url1, local1));
    CHECK_OK(bg_job_set_description(job, "parent-1"));

    child c;
    spawn_child(&c, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c, "open %s", state);
    REQUIRE_CHILD_OK(&c, "get %s", guid_text(&id).s);
    CHILD_OK(&c, "waitdesc %u parent-1", SEE_MS);

    section("interleave: the child's description, the parent's display name");
    CHILD_OK(&c, "setdesc child-1");
    CHECK(poll_text(job, 1, "child-1", SEE_MS));
    CHECK_OK(bg_job_set_display_name(job, "renamed by parent"));
    CHILD_OK(&c, "waitname %u renamed by parent", SEE_MS);
    CHILD_OK(&c, "desc");
    CHECK_STR(c.line, "ok child-1");

    section("interleave: the child adds a file");
    CHILD_OK(&c, "addfile %s %s", url2, local2);
    {
        uint64_t end = now_ms() + SEE_MS;
        uint32_t n = 0;
        while ((bg_job_get_file_count(job, &n) != S_OK || n != 2) && now_ms() < end) sleep_ms(5);
        CHECK_EQ_INT(n, 2);
        char buf[4096];
        size_t needed = 0;
        CHECK_OK(bg_job_get_file_local_name(job, 1, buf, sizeof buf, &needed));
        CHECK_STR(buf, local2);
        CHECK_OK(bg_job_get_file_remote_name(job, 1, buf, sizeof buf, &needed));
        CHECK_STR(buf, url2);
    }

    section("interleave: the child resumes; the parent (lease holder) transfers");
    CHILD_OK(&c, "resume");
    CHECK(poll_not_state(job, BG_JOB_STATE_SUSPENDED, SEE_MS));
    {
        /* The resume came from another process: the lease holder must start the transfer. */
        uint64_t end = now_ms() + SEE_MS;
        while (job_bytes(job) == 0 && now_ms() < end) sleep_ms(5);
        CHECK_MSG(job_bytes(job) > 0,
                  "the lease holder did not start a job resumed by another process (state %s)",
                  state_name(job_state(job)));
    }

    section("interleave: the child suspends; the parent resumes");
    CHILD_OK(&c, "suspend");
    CHECK(poll_state(job, BG_JOB_STATE_SUSPENDED, SEE_MS));
    CHECK_OK(bg_job_resume(job));
    CHILD_OK(&c, "waitnotstate %u %d", SEE_MS, BG_JOB_STATE_SUSPENDED);
    {
        uint64_t end = now_ms() + WAIT_MS;
        while (job_bytes(job) == 0 && now_ms() < end) sleep_ms(5);
        CHECK_MSG(job_bytes(job) > 0, "the parent (lease holder) transfers nothing");
    }
    /* The lease holder's byte progress reaches the other process (written every <= 500 ms,
     * merged within ~100 ms). */
    CHILD_OK(&c, "waitbytes %u 1", SEE_MS);

    section("interleave: 100 setters from each process at the same time");
    {
        /* The child sets the description c-0..c-99 while the parent sets the display name
         * p-0..p-99; nothing is lost and each ends with the other's last value. */
        const char cmd[] = "setdescloop 100\n";
        CHECK(write(c.to, cmd, sizeof cmd - 1) == (ssize_t)(sizeof cmd - 1));
        int bad = 0;
        for (int i = 0; i < 100; i++) {
            char name[32];
            snprintf(name, sizeof name, "p-%d", i);
            bg_hresult hr = bg_job_set_display_name(job, name);
            if (hr != S_OK) {
                if (!bad)
                    fprintf(stderr, "set_display_name #%d: 0x%08" PRIX32 " %s\n", i,
                            (uint32_t)hr, bg_hresult_message(hr));
                bad++;
            }
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(child_read_line(&c, CHILD_CMD_TIMEOUT_MS));
        CHECK_MSG(strcmp(c.line, "ok") == 0, "child's setdescloop: %s", c.line);
        CHECK(poll_text(job, 1, "c-99", SEE_MS));
        CHECK(poll_text(job, 0, "p-99", SEE_MS));
        CHILD_OK(&c, "waitname %u p-99", SEE_MS);
        CHILD_OK(&c, "waitdesc %u c-99", SEE_MS);
    }

    section("interleave: a Cancel in the child");
    char temp[4096] = "";
    {
        uint64_t end = now_ms() + WAIT_MS;
        while (now_ms() < end) {
            temp_name(job, 0, temp, sizeof temp);
            if (temp[0] != '\0' && file_exists(temp)) break;
            sleep_ms(5);
        }
        CHECK_MSG(temp[0] != '\0' && file_exists(temp), "no temp file for file 0 (\"%s\")", temp);
    }
    CHILD_OK(&c, "cancel");
    CHECK(poll_state(job, BG_JOB_STATE_CANCELLED, SEE_MS));
    if (temp[0] != '\0') CHECK_MSG(poll_gone(temp, SEE_MS), "temp file %s still there", temp);
    CHECK(poll_no_temps(dst, SEE_MS));
    CHECK(!file_exists(local1));
    CHECK(!file_exists(local2));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_resume(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_complete(job));
    bg_job again = 0;
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &again));
    CHECK(enum_contains(m, &id) == 0);
    CHILD_OK(&c, "state");
    CHECK_EQ_INT(atoi(c.line + 3), BG_JOB_STATE_CANCELLED);
    CHILD_OK(&c, "close");
    CHILD_EXIT_CLEAN(&c);
    CHECK_OK(bg_manager_close(m));
}

/* ---- Complete from the process that did not transfer ------------------------------------ */

static void test_complete_other(void)
{
    section("complete_other: Complete by a process that did not do the transfer");
    enum { NF = 2 };
    char state[4096], dst[4096], url[NF][1024], local[NF][4096], wurl[1024], wlocal[4096];
    make_dirs("complete-other", state, dst);
    for (int i = 0; i < NF; i++) {
        ts_url(url[i], sizeof url[i], "/data/96k/test_multiprocess/%d/complete-other/%d?seed=%d",
               (int)getpid(), i, 30 + i);
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        path_join(local[i], sizeof local[i], dst, name);
    }
    ts_url(wurl, sizeof wurl, "/data/1k/test_multiprocess/%d/complete-other/warm?seed=39",
           (int)getpid());
    path_join(wlocal, sizeof wlocal, dst, "warm-up");

    child c;
    spawn_child(&c, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c, "open %s", state);
    /* A warm-up job proves the child holds the lease before the parent opens. */
    REQUIRE_CHILD_OK(&c, "create warm-up");
    REQUIRE_CHILD_OK(&c, "addfile %s %s", wurl, wlocal);
    REQUIRE_CHILD_OK(&c, "resume");
    REQUIRE_CHILD_OK(&c, "waitstate %u %d", WAIT_MS, BG_JOB_STATE_TRANSFERRED);
    REQUIRE_CHILD_OK(&c, "complete");
    REQUIRE_CHILD_OK(&c, "create transferred by the child");
    bg_guid id;
    REQUIRE(guid_parse(c.line + 3, &id));
    for (int i = 0; i < NF; i++) REQUIRE_CHILD_OK(&c, "addfile %s %s", url[i], local[i]);

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_get_job(m, &id, &job)); /* the parent's handle, before the transfer */
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_SUSPENDED);

    REQUIRE_CHILD_OK(&c, "resume");
    REQUIRE_CHILD_OK(&c, "waitstate %u %d", WAIT_MS, BG_JOB_STATE_TRANSFERRED);
    bg_job_state s = -1;
    CHECK_OK(bg_job_wait(job, SEE_MS, &s));
    CHECK_EQ_INT(s, BG_JOB_STATE_TRANSFERRED);
    for (uint32_t i = 0; i < NF; i++) {
        bg_file_progress p;
        memset(&p, 0, sizeof p);
        CHECK_OK(bg_job_get_file_progress(job, i, &p));
        CHECK_MSG(p.bytes_transferred == 96 * KIB && p.bytes_total == 96 * KIB,
                  "the parent sees file %u at %" PRIu64 " of %" PRIu64 " bytes", i,
                  p.bytes_transferred, p.bytes_total);
    }
    CHECK_HR(S_OK, bg_job_complete(job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_ACKNOWLEDGED);
    for (int i = 0; i < NF; i++) CHECK(content_file_ok(local[i], 96 * KIB, 30 + (uint64_t)i, 1));
    CHECK(poll_no_temps(dst, SEE_MS));
    CHILD_OK(&c, "waitstate %u %d", SEE_MS, BG_JOB_STATE_ACKNOWLEDGED);
    /* The child learned of the Complete from the store, where the renamed files' rows are not
     * rewritten (schema 3): loading an ACKNOWLEDGED job makes them completed. */
    for (int i = 0; i < NF; i++) {
        char want[128];
        snprintf(want, sizeof want, "ok %" PRIu64 " %" PRIu64 " 1", (uint64_t)(96 * KIB),
                 (uint64_t)(96 * KIB));
        CHILD_OK(&c, "fileprogress %d", i);
        CHECK_MSG(strcmp(c.line, want) == 0, "the child sees file %d as \"%s\"", i, c.line);
    }
    CHILD_OK(&c, "close");
    CHILD_EXIT_CLEAN(&c);
    CHECK_OK(bg_manager_close(m));
}

/* ---- the lease moves when its holder is killed ------------------------------------------ */

static void test_lease_moves(void)
{
    section("lease_moves: the holder transfers; SIGKILL; the other process finishes");
    enum { NF = 3 };
    const uint64_t size = 512 * KIB;
    char state[4096], dst[4096], spath[NF][512], url[NF][1024], local[NF][4096];
    make_dirs("lease", state, dst);
    for (int i = 0; i < NF; i++) {
        snprintf(spath[i], sizeof spath[i], "/data/512k/test_multiprocess/%d/lease/%d",
                 (int)getpid(), i);
        ts_url(url[i], sizeof url[i], "%s?seed=%d&trickle=262144", spath[i], 40 + i);
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        path_join(local[i], sizeof local[i], dst, name);
    }

    child a;
    spawn_child(&a, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&a, "open %s", state);
    REQUIRE_CHILD_OK(&a, "create lease job");
    bg_guid id;
    REQUIRE(guid_parse(a.line + 3, &id));
    for (int i = 0; i < NF; i++) REQUIRE_CHILD_OK(&a, "addfile %s %s", url[i], local[i]);
    REQUIRE_CHILD_OK(&a, "resume");
    REQUIRE_CHILD_OK(&a, "waitbytes %u 1", WAIT_MS); /* a is alone: it holds the lease */

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m));
    bg_job job = 0;
    REQUIRE_OK(bg_manager_get_job(m, &id, &job));

    /* The holder's process has the temp file open; the parent's does not. */
    REQUIRE_CHILD_OK(&a, "tempname 0");
    char temp[4096];
    snprintf(temp, sizeof temp, "%s", a.line + 3);
    {
        uint64_t end = now_ms() + SEE_MS;
        while (!process_has_open(a.pid, temp) && now_ms() < end) sleep_ms(2);
        CHECK_MSG(process_has_open(a.pid, temp), "child %d does not have %s open", (int)a.pid,
                  temp);
        CHECK(!process_has_open(getpid(), temp));
    }
    /* Part way (file 0 done, file 1 started), kill the holder. */
    CHILD_OK(&a, "waitbytes %u %" PRIu64, 60000u, size + 128 * KIB);
    child_kill(&a);
    ts_stats before[NF];
    for (int i = 0; i < NF; i++) ts_stats_get(spath[i], &before[i]);

    /* The parent takes the lease over and finishes. */
    bg_job_state s = -1;
    CHECK_OK(bg_job_wait(job, 60000, &s));
    CHECK_EQ_INT(s, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    for (int i = 0; i < NF; i++) CHECK(content_file_ok(local[i], size, 40 + (uint64_t)i, 1));
    CHECK(poll_no_temps(dst, SEE_MS));
    for (int i = 0; i < NF; i++) {
        ts_stats after;
        ts_stats_get(spath[i], &after);
        printf("   file %d: %" PRIu64 " bytes sent before the kill, %" PRIu64
               " after it (size %" PRIu64 ")\n",
               i, before[i].bytes, after.bytes - before[i].bytes, size);
    }
    CHECK_OK(bg_manager_close(m));
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) return child_serve();
    setvbuf(stdout, NULL, _IOLBF, 0);
    REQUIRE(test_tmpdir(g_base, sizeof g_base) != NULL);
    test_child_created();
    test_interleave();
    test_complete_other();
    test_lease_moves();
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_base);
    TEST_MAIN_END();
}
