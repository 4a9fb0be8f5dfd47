/*
 * test_persist.c — jobs persist in a state directory (bg_manager_open("/abs/dir")):
 *
 *   bad_input     a missing directory is created (0700; bgcopy.db 0600 in WAL mode, engine.lock);
 *                 a regular file, or a path below one → BG_E_STATE_DIR_INVALID; an unwritable
 *                 directory → BG_E_STATE_DIR_INVALID (skipped as root); a relative or empty path
 *                 → E_INVALIDARG; a store from the future (user_version 99) → BG_E_STORE_TOO_NEW
 *                 with the file unchanged; a truncated or garbage store → BG_E_STORE_CORRUPT with
 *                 the file neither deleted nor emptied.
 *   roundtrip     a job's properties and files survive close + reopen; a cancelled job does not.
 *   restart       a process transferring a 3-file HTTP job (trickled) is SIGKILLed part way; a new
 *                 process opens the directory and the job continues by itself from the temp file:
 *                 the server's byte counters and Range requests prove the bytes were not all sent
 *                 again, and that file 1 continued from at least the bytes it had >= 1.2 s before
 *                 the kill (byte progress is recorded every <= 500 ms); Complete gives
 *                 byte-identical files and no .bgcopy-*.tmp remains.
 *   inactivity    BG_OPTION_INACTIVITY_TIMEOUT_S: a suspended job with a partial temp file, older
 *                 than the timeout, is cancelled by the sweep that runs when a manager takes the
 *                 engine lease, and its temp file is removed; a lease holder with the default
 *                 (90 days) leaves it alone.
 *
 * The other processes are this executable started again (persist_helpers.h: spawn_child,
 * child_serve). Every wait is a bounded poll or bg_job_wait.
 */
/* ctest-labels: persist */
/* ctest-fixtures: testserver */
/* ctest-timeout: 300 */
#include "persist_helpers.h"

#define WAIT_MS 30000u

static char g_base[2048];

/* The modification time of a job read through `job`, or 0. */
static int64_t mod_time(bg_job job)
{
    bg_job_times t;
    return bg_job_get_times(job, &t) == S_OK ? t.modification_time : 0;
}

/* ---- bad input ------------------------------------------------------------------------------ */

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xFFFFu;
}

/* Opens dir, creates one job (so the store has rows), closes. */
static void make_store(const char *dir)
{
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(dir, &m));
    bg_job job = 0;
    CHECK_OK(bg_manager_create_job(m, "store-content", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_set_description(job, "some text so the store is not empty"));
    CHECK_OK(bg_manager_close(m));
}

static void test_bad_input(void)
{
    section("bad_input: a missing state directory is created");
    char dir[4096], p[8192];
    snprintf(dir, sizeof dir, "%s/missing/a/b/state", g_base);
    CHECK(!file_exists(dir));
    bg_manager m = 0;
    CHECK_OK(bg_manager_open(dir, &m));
    CHECK(m != 0);
    CHECK_MSG(mode_of(dir) == 0700, "state dir mode %o", mode_of(dir));
    path_join(p, sizeof p, dir, "bgcopy.db");
    CHECK(file_exists(p));
    CHECK_MSG(mode_of(p) == 0600, "bgcopy.db mode %o", mode_of(p));
    {
        /* WAL mode: bytes 18 and 19 of the header (file format write/read version) are 2. */
        size_t len = 0;
        unsigned char *h = (unsigned char *)db_snapshot(p, &len);
        CHECK(h != NULL && len >= 100);
        if (h != NULL && len >= 100) {
            CHECK(memcmp(h, "SQLite format 3", 16) == 0);
            CHECK_MSG(h[18] == 2 && h[19] == 2, "header bytes 18/19 = %d/%d (WAL is 2/2)", h[18],
                      h[19]);
        }
        free(h);
    }
    path_join(p, sizeof p, dir, "engine.lock");
    {
        /* The lease file: made by the sync thread when it first tries for the lease. */
        uint64_t end = now_ms() + 5000;
        while (!file_exists(p) && now_ms() < end) sleep_ms(5);
        CHECK(file_exists(p));
        CHECK_MSG(mode_of(p) == 0600, "engine.lock mode %o", mode_of(p));
    }
    CHECK_OK(bg_manager_close(m));

    section("bad_input: a regular file, and a path below one");
    char file[4096];
    path_join(file, sizeof file, g_base, "plain-file");
    REQUIRE(write_file(file, "not a directory\n", 16) == 0);
    bg_manager sentinel = 12345;
    CHECK_HR(BG_E_STATE_DIR_INVALID, bg_manager_open(file, &sentinel));
    CHECK_EQ_U64(sentinel, 12345); /* out-params are written only on success */
    {
        size_t len = 0;
        char *text = read_file(file, &len);
        CHECK(text != NULL && len == 16 && memcmp(text, "not a directory\n", 16) == 0);
        free(text);
    }
    snprintf(p, sizeof p, "%s/sub/state", file);
    CHECK_HR(BG_E_STATE_DIR_INVALID, bg_manager_open(p, &sentinel));

    section("bad_input: an unwritable directory");
    if (geteuid() == 0) {
        /* Root ignores the permission bits (access(W_OK) succeeds on a 0500 directory), so this
         * case cannot be provoked here; it runs for ordinary users only. */
        printf("   skipped: running as root, directory permissions do not apply\n");
    } else {
        char ro[4096];
        path_join(ro, sizeof ro, g_base, "read-only");
        REQUIRE(mkdir(ro, 0500) == 0);
        CHECK_HR(BG_E_STATE_DIR_INVALID, bg_manager_open(ro, &sentinel));
        path_join(p, sizeof p, ro, "bgcopy.db");
        CHECK(!file_exists(p));
        chmod(ro, 0700);
    }

    section("bad_input: relative and empty paths");
    char cwd_probe[4096];
    CHECK_HR(E_INVALIDARG, bg_manager_open("relative-state-dir/x", &sentinel));
    CHECK(getcwd(cwd_probe, sizeof cwd_probe) != NULL);
    CHECK(!file_exists("relative-state-dir"));
    CHECK_HR(E_INVALIDARG, bg_manager_open("", &sentinel));
    CHECK_HR(E_INVALIDARG, bg_manager_open("./state", &sentinel));
    CHECK_EQ_U64(sentinel, 12345);

    section("bad_input: a store from the future (user_version 99)");
    char future[4096], db[4096];
    path_join(future, sizeof future, g_base, "future");
    make_store(future);
    path_join(db, sizeof db, future, "bgcopy.db");
    {
        char cmd[9000];
        snprintf(cmd, sizeof cmd,
                 "python3 -c \"import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                 "c.execute('PRAGMA user_version=99'); c.commit(); "
                 "c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall(); c.close()\" '%s'",
                 db);
        int rc = system(cmd);
        if (rc != 0) {
            /* No python3 (or no sqlite3 module): patch the header's user_version (offset 60,
             * big-endian) directly; bg_manager_close left no WAL behind, so the main file is
             * the whole database. */
            printf("   python3 failed (%d); patching the header directly\n", rc);
            int fd = open(db, O_WRONLY | O_CLOEXEC);
            unsigned char v[4] = {0, 0, 0, 99};
            CHECK(fd >= 0 && pwrite(fd, v, 4, 60) == 4);
            if (fd >= 0) close(fd);
        }
    }
    {
        size_t before_len = 0, after_len = 0;
        unsigned char *before = (unsigned char *)db_snapshot(db, &before_len);
        REQUIRE(before != NULL && before_len >= 100);
        CHECK_MSG(before[60] == 0 && before[61] == 0 && before[62] == 0 && before[63] == 99,
                  "user_version bytes %d %d %d %d", before[60], before[61], before[62],
                  before[63]);
        CHECK_HR(BG_E_STORE_TOO_NEW, bg_manager_open(future, &sentinel));
        CHECK_HR(BG_E_STORE_TOO_NEW, bg_manager_open(future, &sentinel)); /* not cached */
        CHECK_EQ_U64(sentinel, 12345);
        unsigned char *after = (unsigned char *)db_snapshot(db, &after_len);
        CHECK_MSG(after != NULL && after_len == before_len &&
                      memcmp(before, after, before_len) == 0,
                  "bgcopy.db changed by the refused open (%zu -> %zu bytes)", before_len,
                  after_len);
        free(before);
        free(after);
    }

    section("bad_input: a truncated store");
    char trunc_dir[4096];
    path_join(trunc_dir, sizeof trunc_dir, g_base, "truncated");
    make_store(trunc_dir);
    path_join(db, sizeof db, trunc_dir, "bgcopy.db");
    REQUIRE(truncate(db, 100) == 0);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    {
        size_t before_len = 0, after_len = 0;
        char *before = db_snapshot(db, &before_len);
        REQUIRE(before != NULL && before_len == 100);
        CHECK_HR(BG_E_STORE_CORRUPT, bg_manager_open(trunc_dir, &sentinel));
        CHECK_EQ_U64(sentinel, 12345);
        CHECK(file_exists(db));
        char *after = db_snapshot(db, &after_len);
        CHECK_MSG(after != NULL && after_len == 100 && memcmp(before, after, 100) == 0,
                  "the truncated store was changed (now %zu bytes)", after_len);
        free(before);
        free(after);
    }

    section("bad_input: a store that is not a database at all");
    char junk_dir[4096];
    path_join(junk_dir, sizeof junk_dir, g_base, "junk");
    REQUIRE(mkdir(junk_dir, 0700) == 0);
    path_join(db, sizeof db, junk_dir, "bgcopy.db");
    REQUIRE(make_pattern_file(db, 8192, 7) == 0);
    CHECK_HR(BG_E_STORE_CORRUPT, bg_manager_open(junk_dir, &sentinel));
    CHECK(check_pattern_file(db, 8192, 7));
}

/* ---- round trip ----------------------------------------------------------------------------- */

static void test_roundtrip(void)
{
    section("roundtrip: properties and files survive close + reopen");
    char state[4096], dst[4096], url0[1024], url1[1024], local0[4096], local1[4096];
    path_join(state, sizeof state, g_base, "roundtrip-state");
    path_join(dst, sizeof dst, g_base, "roundtrip-dst");
    REQUIRE(mkdir(dst, 0700) == 0);
    ts_url(url0, sizeof url0, "/data/4k/test_persist/%d/roundtrip/a?seed=1", (int)getpid());
    ts_url(url1, sizeof url1, "/data/8k/test_persist/%d/roundtrip/b?seed=2", (int)getpid());
    path_join(local0, sizeof local0, dst, "a");
    path_join(local1, sizeof local1, dst, "b");

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m));
    bg_guid id;
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "roundtrip job", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    CHECK_OK(bg_job_set_description(job, "described"));
    CHECK_OK(bg_job_set_priority(job, BG_JOB_PRIORITY_LOW));
    CHECK_OK(bg_job_set_minimum_retry_delay(job, 77));
    CHECK_OK(bg_job_set_no_progress_timeout(job, 1234));
    CHECK_OK(bg_job_set_notify_flags(job, BG_NOTIFY_JOB_MODIFICATION));
    CHECK_OK(bg_job_set_maximum_download_time(job, 999));
    CHECK_OK(bg_job_add_file(job, url0, local0));
    CHECK_OK(bg_job_add_file(job, url1, local1));
    bg_job_times t0;
    CHECK_OK(bg_job_get_times(job, &t0));
    CHECK_OK(bg_manager_close(m));
    CHECK_HR(E_HANDLE, bg_job_get_state(job, &(bg_job_state){0}));

    REQUIRE_OK(bg_manager_open(state, &m));
    CHECK(enum_contains(m, &id) == 1);
    REQUIRE_OK(bg_manager_get_job(m, &id, &job));
    char buf[4096];
    size_t needed = 0;
    CHECK_OK(bg_job_get_display_name(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "roundtrip job");
    CHECK_OK(bg_job_get_description(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "described");
    bg_job_priority prio = -1;
    CHECK_OK(bg_job_get_priority(job, &prio));
    CHECK_EQ_INT(prio, BG_JOB_PRIORITY_LOW);
    uint32_t v = 0;
    CHECK_OK(bg_job_get_minimum_retry_delay(job, &v));
    CHECK_EQ_INT(v, 77);
    CHECK_OK(bg_job_get_no_progress_timeout(job, &v));
    CHECK_EQ_INT(v, 1234);
    CHECK_OK(bg_job_get_notify_flags(job, &v));
    CHECK_EQ_INT(v, BG_NOTIFY_JOB_MODIFICATION);
    CHECK_OK(bg_job_get_maximum_download_time(job, &v));
    CHECK_EQ_INT(v, 999);
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_job_get_file_count(job, &v));
    CHECK_EQ_INT(v, 2);
    CHECK_OK(bg_job_get_file_remote_name(job, 1, buf, sizeof buf, &needed));
    CHECK_STR(buf, url1);
    CHECK_OK(bg_job_get_file_local_name(job, 0, buf, sizeof buf, &needed));
    CHECK_STR(buf, local0);
    bg_job_times t1;
    CHECK_OK(bg_job_get_times(job, &t1));
    CHECK_EQ_INT(t1.creation_time, t0.creation_time);
    CHECK_EQ_INT(t1.modification_time, t0.modification_time);
    bg_guid got;
    CHECK_OK(bg_job_get_id(job, &got));
    CHECK(guid_eq(&got, &id));

    /* Transfer it in this incarnation, then Complete after another reopen. */
    CHECK_OK(bg_job_resume(job));
    bg_job_state s = -1;
    CHECK_OK(bg_job_wait(job, WAIT_MS, &s));
    CHECK_EQ_INT(s, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_manager_close(m));
    REQUIRE_OK(bg_manager_open(state, &m));
    REQUIRE_OK(bg_manager_get_job(m, &id, &job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    CHECK(content_file_ok(local0, 4 * KIB, 1, 1));
    CHECK(content_file_ok(local1, 8 * KIB, 2, 1));
    CHECK_EQ_INT(count_temps(dst, 1), 0);
    CHECK_OK(bg_manager_close(m));

    section("roundtrip: an ended job stays ended after reopen");
    REQUIRE_OK(bg_manager_open(state, &m));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &job));
    CHECK(enum_contains(m, &id) == 0);
    bg_guid id2;
    REQUIRE_OK(bg_manager_create_job(m, "to cancel", BG_JOB_TYPE_DOWNLOAD, &id2, &job));
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_manager_close(m));
    REQUIRE_OK(bg_manager_open(state, &m));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id2, &job));
    CHECK(enum_contains(m, &id2) == 0);
    CHECK_OK(bg_manager_close(m));
}

/* ---- restart after SIGKILL ------------------------------------------------------------------ */

static void test_restart(void)
{
    section("restart: a process is SIGKILLed mid-transfer; a new one continues by itself");
    enum { NF = 3 };
    const uint64_t size = 512 * KIB;
    char state[4096], dst[4096], spath[NF][512], url[NF][1024], local[NF][4096];
    path_join(state, sizeof state, g_base, "restart-state");
    path_join(dst, sizeof dst, g_base, "restart-dst");
    REQUIRE(mkdir(dst, 0700) == 0);
    for (int i = 0; i < NF; i++) {
        snprintf(spath[i], sizeof spath[i], "/data/512k/test_persist/%d/restart/f%d",
                 (int)getpid(), i);
        /* 256 KiB/s: 2 s per file. */
        ts_url(url[i], sizeof url[i], "%s?seed=%d&trickle=262144", spath[i], 100 + i);
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        path_join(local[i], sizeof local[i], dst, name);
    }

    child c1;
    spawn_child(&c1, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c1, "open %s", state);
    REQUIRE_CHILD_OK(&c1, "create restart job");
    bg_guid id;
    REQUIRE(guid_parse(c1.line + 3, &id));
    for (int i = 0; i < NF; i++) REQUIRE_CHILD_OK(&c1, "addfile %s %s", url[i], local[i]);
    REQUIRE_CHILD_OK(&c1, "resume");
    /* Bytes arrive in the child: it holds the lease (nobody else has the directory open).
     * When file 0 is done and file 1 is >= 64 KiB in (as the child sees it), note file 1's
     * bytes (p1); then let another 320 KiB arrive, which takes >= 1.2 s at the server's
     * 256 KiB/s (paced in 1/20 s pieces), more than twice the <= 500 ms within which the store
     * records byte progress, and kill the child:
     * the store then holds >= p1 bytes of file 1, and the restart must continue from there. */
    CHILD_OK(&c1, "waitbytes %u %" PRIu64, 60000u, size + 64 * KIB);
    uint64_t p1 = (uint64_t)strtoull(c1.line + 3, NULL, 10) - size;
    CHILD_OK(&c1, "waitbytes %u %" PRIu64, 60000u, size + p1 + 320 * KIB);
    child_kill(&c1);
    uint64_t at_kill = (uint64_t)strtoull(c1.line + 3, NULL, 10) - size;
    printf("   file 1: %" PRIu64 " bytes >= 1.2 s before the kill, %" PRIu64 " at the kill\n", p1,
           at_kill);
    /* (Only on a badly overloaded machine could file 1 be done by now; then its checks below
     * say nothing and are skipped.) */
    int file1_in_flight = at_kill < size;
    if (!file1_in_flight) printf("   file 1 finished before the kill: its checks are skipped\n");
    /* What the server had sent before the kill (settled: a trickled piece may still be counted
     * just after the connection died). */
    ts_stats before[NF];
    for (int i = 0; i < NF; i++) {
        ts_stats_get(spath[i], &before[i]);
        uint64_t end = now_ms() + 3000;
        for (;;) {
            sleep_ms(100);
            ts_stats again;
            ts_stats_get(spath[i], &again);
            int same = again.bytes == before[i].bytes;
            before[i] = again;
            if (same || now_ms() >= end) break;
        }
        CHECK(before[i].ok);
    }
    printf("   sent before the kill: %" PRIu64 " %" PRIu64 " %" PRIu64 " bytes\n",
           before[0].bytes, before[1].bytes, before[2].bytes);
    CHECK_EQ_U64(before[0].bytes, size);
    CHECK(before[1].bytes > 0);
    CHECK_MSG(count_temps(dst, 0) >= 2, "temp files after the kill: %d", count_temps(dst, 0));
    for (int i = 0; i < NF; i++) CHECK(!file_exists(local[i]));

    child c2;
    spawn_child(&c2, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c2, "open %s", state);
    REQUIRE_CHILD_OK(&c2, "get %s", guid_text(&id).s);
    CHILD_OK(&c2, "state");
    int st = atoi(c2.line + 3);
    CHECK_MSG(st == BG_JOB_STATE_QUEUED || st == BG_JOB_STATE_CONNECTING ||
                  st == BG_JOB_STATE_TRANSFERRING,
              "state after the restart: %s", state_name(st));
    /* No Resume: the new lease holder continues the job by itself. */
    CHILD_OK(&c2, "waitstate %u %d", 60000u, BG_JOB_STATE_TRANSFERRED);
    CHILD_OK(&c2, "complete");
    CHECK_STR(c2.line, "ok 0x00000000");
    CHILD_OK(&c2, "close");
    CHILD_EXIT_CLEAN(&c2);

    for (int i = 0; i < NF; i++) CHECK(content_file_ok(local[i], size, 100 + (uint64_t)i, 1));
    CHECK_EQ_INT(count_temps(dst, 1), 0);

    /* The server's counters: the new process did not fetch file 0 or file 1 again in full,
     * and asked for the rest of file 1 with a Range from a non-zero offset. */
    for (int i = 0; i < NF; i++) {
        ts_stats s;
        ts_stats_get(spath[i], &s);
        CHECK(s.ok);
        uint64_t again = s.bytes - before[i].bytes;
        printf("   file %d: %" PRIu64 " bytes before the kill, %" PRIu64 " after (size %" PRIu64
               "); Range starts after the restart:",
               i, before[i].bytes, again, size);
        long long first = -1;
        for (int k = before[i].n_ranges; k < s.n_ranges; k++) {
            printf(" %lld", s.range_start[k]);
            if (first < 0) first = s.range_start[k];
        }
        /* GET requests after the restart that asked for the whole file (no Range). */
        long long whole = (long long)(s.requests - before[i].requests) -
                          (long long)(s.heads - before[i].heads) -
                          (long long)(s.n_ranges - before[i].n_ranges);
        printf("; %lld without a Range\n", whole);
        if (i == 0) CHECK_MSG(again < size, "file 0 was fetched again in full (%" PRIu64 ")", again);
        if (i == 1 && file1_in_flight) {
            CHECK_MSG(again < size, "file 1 was fetched again in full (%" PRIu64 ")", again);
            CHECK_MSG(whole == 0 && first > 0,
                      "file 1: after the restart %lld requests without a Range; first Range "
                      "from %lld",
                      whole, first);
            CHECK_MSG(first >= (long long)p1,
                      "file 1 continued from %lld, but %" PRIu64 " bytes were on disk >= 1.2 s "
                      "before the kill (progress is recorded every <= 500 ms)",
                      first, p1);
        }
    }
}

/* ---- inactivity timeout --------------------------------------------------------------------- */

static void test_inactivity(void)
{
    section("inactivity: the sweep at lease takeover cancels a job older than the timeout");
    /*
     * The option lives in the manager (it is not stored), and the sweep runs when a manager
     * takes the lease (its sync thread's first poll, ~100 ms after open, or when the holder
     * goes) and every 60 s. A fresh single-process open would sweep ~100 ms after open, racing
     * with a set_option made after bg_manager_open returns. So the lease is handed over between
     * processes instead:
     *   c1 makes the job (partial temp file, SUSPENDED) and holds the lease;
     *   c2 (default timeout, 90 days) takes the lease when c1 exits: its sweep must spare the
     *      job (older than 1 s by then); c2 proves it holds the lease by transferring a job;
     *   the parent opens, sets the timeout to 1 s, and takes the lease when c2 exits: its sweep
     *      cancels the job and deletes the temp file.
     */
    char state[4096], dst[4096], url[1024], local[4096], proof_url[1024], proof_local[4096];
    char proof_dst[4096];
    path_join(state, sizeof state, g_base, "inactive-state");
    path_join(dst, sizeof dst, g_base, "inactive-dst");
    path_join(proof_dst, sizeof proof_dst, g_base, "inactive-proof-dst");
    REQUIRE(mkdir(dst, 0700) == 0);
    REQUIRE(mkdir(proof_dst, 0700) == 0);
    ts_url(url, sizeof url, "/data/512k/test_persist/%d/inactive/f?seed=5&trickle=65536",
           (int)getpid());
    path_join(local, sizeof local, dst, "inactive");
    ts_url(proof_url, sizeof proof_url, "/data/4k/test_persist/%d/inactive/proof?seed=6",
           (int)getpid());
    path_join(proof_local, sizeof proof_local, proof_dst, "proof");

    child c1;
    spawn_child(&c1, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c1, "open %s", state);
    REQUIRE_CHILD_OK(&c1, "create inactive job");
    bg_guid id;
    REQUIRE(guid_parse(c1.line + 3, &id));
    REQUIRE_CHILD_OK(&c1, "addfile %s %s", url, local);
    REQUIRE_CHILD_OK(&c1, "resume");
    REQUIRE_CHILD_OK(&c1, "waitbytes %u 1", WAIT_MS);
    REQUIRE_CHILD_OK(&c1, "suspend");
    REQUIRE_CHILD_OK(&c1, "waitstate %u %d", WAIT_MS, BG_JOB_STATE_SUSPENDED);
    REQUIRE_CHILD_OK(&c1, "tempname 0");
    char temp[4096];
    snprintf(temp, sizeof temp, "%s", c1.line + 3);
    CHECK_MSG(file_exists(temp), "temp file %s", temp);
    CHECK_MSG(file_size(temp) > 0, "temp file size %" PRId64, file_size(temp));

    /* Let the job age past 1 s (as c1, the writer, sees it). */
    uint64_t end = now_ms() + WAIT_MS;
    int64_t age = 0;
    while (now_ms() < end) {
        CHILD_OK(&c1, "times");
        long long cr = 0, mod = 0, done = 0;
        sscanf(c1.line + 3, "%lld %lld %lld", &cr, &mod, &done);
        age = wall_ms() - (int64_t)mod;
        if (age > 1500) break;
        sleep_ms(50);
    }
    CHECK_MSG(age > 1500, "job age %" PRId64 " ms", age);

    child c2;
    spawn_child(&c2, (const char *const[]){"serve", NULL});
    REQUIRE_CHILD_OK(&c2, "open %s", state);
    REQUIRE_CHILD_OK(&c2, "create lease proof");
    REQUIRE_CHILD_OK(&c2, "addfile %s %s", proof_url, proof_local);
    REQUIRE_CHILD_OK(&c2, "option %d %d", BG_OPTION_RETRY_DELAY_FLOOR_MS, 50);
    REQUIRE_CHILD_OK(&c2, "resume");
    CHILD_OK(&c1, "close");
    CHILD_EXIT_CLEAN(&c1);
    /* c2 now holds the lease (the only open manager): its job transfers. */
    CHILD_OK(&c2, "waitstate %u %d", WAIT_MS, BG_JOB_STATE_TRANSFERRED);
    /* Its takeover sweep (default timeout) ran before that and spared the old job. */
    CHILD_OK(&c2, "get %s", guid_text(&id).s);
    CHILD_OK(&c2, "state");
    CHECK_MSG(atoi(c2.line + 3) == BG_JOB_STATE_SUSPENDED, "after c2's takeover: %s",
              state_name(atoi(c2.line + 3)));
    CHECK(file_exists(temp));

    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(state, &m));
    CHECK_OK(bg_manager_set_option(m, BG_OPTION_INACTIVITY_TIMEOUT_S, 1));
    uint64_t v = 0;
    CHECK_OK(bg_manager_get_option(m, BG_OPTION_INACTIVITY_TIMEOUT_S, &v));
    CHECK_EQ_U64(v, 1);
    bg_job job = 0;
    REQUIRE_OK(bg_manager_get_job(m, &id, &job));
    CHECK_EQ_INT(job_state(job), BG_JOB_STATE_SUSPENDED);
    /* The store's modification time is more than 1 s old (wait until it is, bounded). */
    end = now_ms() + WAIT_MS;
    while (wall_ms() - mod_time(job) <= 1200 && now_ms() < end) sleep_ms(20);
    CHECK_MSG(wall_ms() - mod_time(job) > 1200, "stored modification time is %" PRId64 " ms old",
              wall_ms() - mod_time(job));

    /* c2 goes; the parent takes the lease and sweeps with its 1 s timeout. */
    CHILD_OK(&c2, "close");
    CHILD_EXIT_CLEAN(&c2);
    CHECK(poll_state(job, BG_JOB_STATE_CANCELLED, WAIT_MS));
    CHECK_MSG(poll_gone(temp, WAIT_MS), "temp file %s still there", temp);
    CHECK_EQ_INT(count_temps(dst, 1), 0);
    CHECK(!file_exists(local));
    bg_job again = 0;
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &again));
    CHECK(enum_contains(m, &id) == 0);
    CHECK_OK(bg_manager_close(m));

    /* And after yet another open the job stays gone. */
    REQUIRE_OK(bg_manager_open(state, &m));
    CHECK_HR(BG_E_NOT_FOUND, bg_manager_get_job(m, &id, &again));
    CHECK_OK(bg_manager_close(m));
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) return child_serve();
    setvbuf(stdout, NULL, _IOLBF, 0);
    REQUIRE(test_tmpdir(g_base, sizeof g_base) != NULL);
    test_bad_input();
    test_roundtrip();
    test_restart();
    test_inactivity();
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_base);
    TEST_MAIN_END();
}
