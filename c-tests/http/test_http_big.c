/*
 * test_http_big.c — one big download (256 MiB, or $BGCOPY_BIG_MIB MiB) whose connection is
 * cut five times at a random point between 10/256 and 40/256 of the size (10–40 MiB for the
 * default): five transient errors, five resumes with Range + If-Range, never a restart, the
 * result byte-identical, and the server sent each byte once (at most one buffer of slack per
 * interruption).
 */
#include "http_helpers.h"

#define MIB (1024ull * 1024ull)

int main(void)
{
    char dir[4096], local[4200], path[256], url[512];
    REQUIRE(test_tmpdir(dir, sizeof dir) != NULL);
    REQUIRE(path_join(local, sizeof local, dir, "big") != NULL);

    uint64_t mib = 256;
    const char *env = getenv("BGCOPY_BIG_MIB");
    if (env != NULL && env[0] != '\0') mib = strtoull(env, NULL, 10);
    REQUIRE(mib >= 8);
    const uint64_t size = mib * MIB;
    const int drops = 5;

    uint64_t rnd = splitmix64((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    const char *seed_env = getenv("BGCOPY_BIG_SEED");
    if (seed_env != NULL && seed_env[0] != '\0') rnd = splitmix64(strtoull(seed_env, NULL, 10));
    const uint64_t lo = size * 10 / 256, hi = size * 40 / 256; /* 5 * hi < size */
    const uint64_t n = lo + rnd % (hi - lo + 1);
    const uint64_t seed = rnd >> 40;
    snprintf(path, sizeof path, "/data/%" PRIu64 "/big/%d-%" PRIu64, size, (int)getpid(),
             (uint64_t)time(NULL));
    http_url(url, sizeof url, 0, "%s?seed=%" PRIu64 "&drop=%" PRIu64 "&drop_times=%d", path, seed,
             n, drops);
    printf("%s: %" PRIu64 " MiB, cut after every %" PRIu64 " bytes, %d times\n", url, mib, n,
           drops);

    bg_manager m = fast_manager();
    bg_job job = new_job(m, "big", 0);
    REQUIRE_OK(bg_job_add_file(job, url, local));
    uint64_t t0 = now_ms();
    REQUIRE_OK(bg_job_resume(job));

    /* Sample the progress until the end: it never goes back (no restart from 0). */
    uint64_t last = 0, backwards = 0, samples = 0, transient_seen = 0;
    uint64_t end = now_ms() + 600000;
    bg_job_state s;
    while ((s = job_state(job)) != BG_JOB_STATE_TRANSFERRED && s != BG_JOB_STATE_ERROR &&
           now_ms() < end) {
        if (s == BG_JOB_STATE_TRANSIENT_ERROR) transient_seen++;
        bg_file_progress p = file_progress(job, 0);
        if (p.bytes_transferred != UINT64_MAX) {
            if (p.bytes_transferred < last) backwards++;
            last = p.bytes_transferred;
        }
        samples++;
        sleep_ms(5);
    }
    CHECK_EQ_INT(wait_final(job, 60000), BG_JOB_STATE_TRANSFERRED);
    if (job_state(job) != BG_JOB_STATE_TRANSFERRED) print_error("big", job);
    printf("transferred in %" PRIu64 " ms (%" PRIu64 " samples, %" PRIu64
           " in TRANSIENT_ERROR)\n",
           now_ms() - t0, samples, transient_seen);
    CHECK_EQ_U64(backwards, 0);
    CHECK_EQ_INT(job_error_count(job), drops);
    bg_file_progress fp = file_progress(job, 0);
    CHECK_EQ_U64(fp.bytes_total, size);
    CHECK_EQ_U64(fp.bytes_transferred, size);

    http_stats st;
    http_stats_get(path, &st);
    REQUIRE(st.ok);
    printf("server: %" PRIu64 " requests, %" PRIu64 " bytes for %" PRIu64 ", ranges:", st.requests,
           st.bytes, size);
    for (int i = 0; i < st.n_ranges; i++) printf(" %s", st.ranges[i]);
    printf("\n");
    CHECK_EQ_U64(st.requests, (uint64_t)drops + 1);
    CHECK(st.bytes >= size);
    CHECK(st.bytes <= size + (uint64_t)drops * MIB);
    CHECK_EQ_INT(st.n_ranges, drops);
    long long prev = 0;
    for (int i = 0; i < st.n_ranges; i++) {
        long long start = range_start(st.ranges[i]);
        CHECK(start > prev);
        /* Every byte before a cut was kept: each resume starts where the data stopped. */
        CHECK_EQ_INT(start, (long long)((uint64_t)(i + 1) * n));
        prev = start;
    }
    CHECK_EQ_INT(st.n_statuses, drops + 1);
    CHECK_EQ_INT(st.statuses[0], 200);
    for (int i = 1; i < st.n_statuses; i++) CHECK_EQ_INT(st.statuses[i], 206);

    CHECK_OK(bg_job_complete(job));
    CHECK_EQ_U64(file_size(local), size);
    CHECK_MSG(content_check_file(local, size, seed, 0), "%s", local);
    CHECK(server_verify(local, size, seed, 0));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
    if (harness_failed_ == 0) remove_tree(dir);
    TEST_MAIN_END();
}
