/*
 * test_files.c — a job's files: names round-trip exactly (UTF-8 included) through the string
 * buffer protocol, index checks, files of awkward sizes copied byte for byte, live progress at an
 * exact offset, files_transferred, a file added to a TRANSFERRED job, and the temp file (beside
 * the destination, hidden, mode 0600, nothing under the final name before Complete).
 */
#include "job_helpers.h"

#include <libgen.h>
#include <signal.h>

/* ---- helpers ------------------------------------------------------------------------------ */

typedef bg_hresult (*name_getter)(bg_job, uint32_t, char *, size_t, size_t *);

/* The string-buffer protocol of one getter on file `index`, whose value must be `want`. */
static void check_name_protocol(bg_job job, uint32_t index, name_getter get, const char *what,
                                const char *want)
{
    size_t len = strlen(want);
    char buf[2048];
    size_t need = 0;
    REQUIRE(len + 1 < sizeof buf);

    /* Size query. */
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, get(job, index, NULL, 0, &need));
    CHECK_MSG(need == len + 1, "%s: size query gave %zu, want %zu", what, need, len + 1);

    /* Exact size. */
    memset(buf, 0x5A, sizeof buf);
    need = 0;
    CHECK_OK(get(job, index, buf, len + 1, &need));
    CHECK_MSG(strcmp(buf, want) == 0, "%s: got \"%s\", want \"%s\"", what, buf, want);
    CHECK_EQ_U64(need, len + 1);
    CHECK_EQ_INT((unsigned char)buf[len + 1], 0x5A); /* nothing written past the NUL */

    /* One byte short: refused, buffer untouched. */
    memset(buf, 0x5A, sizeof buf);
    need = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, get(job, index, buf, len, &need));
    CHECK_EQ_U64(need, len + 1);
    {
        int untouched = 1;
        for (size_t k = 0; k < sizeof buf; k++)
            if ((unsigned char)buf[k] != 0x5A) untouched = 0;
        CHECK_MSG(untouched, "%s: a too-small buffer was written to", what);
    }

    /* A roomy buffer. */
    need = 0;
    CHECK_OK(get(job, index, buf, sizeof buf, &need));
    CHECK_STR(buf, want);
    CHECK_EQ_U64(need, len + 1);

    /* Argument errors. */
    CHECK_HR(E_INVALIDARG, get(job, index, buf, sizeof buf, NULL));
    CHECK_HR(E_INVALIDARG, get(job, index, NULL, 16, &need));
}

/* ---- 1. names ---------------------------------------------------------------------------- */

static void test_names(bg_manager m)
{
    section("file names round-trip, buffer protocol, index range");
    char dir[1200];
    subdir(dir, sizeof dir, "names");
    char src0[1300], src1[1300], src2[1300], dst0[1300], dst1[1300], dst2[1300], url0[1400],
        url2[1400];
    REQUIRE(path_join(src0, sizeof src0, dir, "plain-source.bin") != NULL);
    REQUIRE(path_join(src1, sizeof src1, dir, "sôurce ✓ ünïcode.bin") != NULL);
    REQUIRE(path_join(src2, sizeof src2, dir, "with%25percent and space.bin") != NULL);
    REQUIRE(path_join(dst0, sizeof dst0, dir, "fïlé ✓.bin") != NULL);
    REQUIRE(path_join(dst1, sizeof dst1, dir, "日本語のファイル名.dat") != NULL);
    REQUIRE(path_join(dst2, sizeof dst2, dir, "plain-dest.bin") != NULL);
    REQUIRE(make_pattern_file(src0, 3 * MIB + 1, 1) == 0);
    REQUIRE(make_pattern_file(src1, MIB + 2, 2) == 0);
    REQUIRE(file_url(url0, sizeof url0, src0) != NULL);
    /* src2 is named with a literal "%25": its percent-encoded file URL encodes the '%'. */
    {
        char leaf[] = "with%2525percent%20and%20space.bin";
        REQUIRE(snprintf(url2, sizeof url2, "file://%s/%s", dir, leaf) < (int)sizeof url2);
        REQUIRE(make_pattern_file(src2, 777, 3) == 0);
    }

    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "names", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_add_file(job, url0, dst0)); /* file:// URL → UTF-8 local name */
    CHECK_OK(bg_job_add_file(job, src1, dst1)); /* UTF-8 absolute path → UTF-8 local name */
    CHECK_OK(bg_job_add_file(job, url2, dst2)); /* percent-encoded URL */
    uint32_t count = 0;
    CHECK_OK(bg_job_get_file_count(job, &count));
    CHECK_EQ_INT(count, 3);
    CHECK_HR(E_INVALIDARG, bg_job_get_file_count(job, NULL));

    const char *remotes[3] = {url0, src1, url2};
    const char *locals[3] = {dst0, dst1, dst2};
    for (uint32_t i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "remote name %u", i);
        check_name_protocol(job, i, bg_job_get_file_remote_name, what, remotes[i]);
        snprintf(what, sizeof what, "local name %u", i);
        check_name_protocol(job, i, bg_job_get_file_local_name, what, locals[i]);
    }

    /* Before the transfer there is no temp file: S_FALSE and an empty string. */
    {
        char buf[64];
        size_t need = 0;
        memset(buf, 'x', sizeof buf);
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name(job, 0, buf, sizeof buf, &need));
        CHECK_EQ_INT(buf[0], '\0');
    }

    /* Index out of range. */
    {
        char buf[64];
        size_t need = 0;
        bg_file_progress fp;
        CHECK_HR(E_INVALIDARG, bg_job_get_file_progress(job, 3, &fp));
        CHECK_HR(E_INVALIDARG, bg_job_get_file_progress(job, UINT32_MAX, &fp));
        CHECK_HR(E_INVALIDARG, bg_job_get_file_remote_name(job, 3, buf, sizeof buf, &need));
        CHECK_HR(E_INVALIDARG, bg_job_get_file_local_name(job, 3, buf, sizeof buf, &need));
        CHECK_HR(E_INVALIDARG, bg_job_get_file_temp_name(job, 3, buf, sizeof buf, &need));
        CHECK_HR(E_INVALIDARG, bg_job_get_file_remote_name(job, 3, NULL, 0, &need));
        CHECK_HR(E_INVALIDARG, bg_job_get_file_progress(job, 0, NULL));
    }

    /* The names survive the transfer and Complete unchanged, and the files arrive. */
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(check_pattern_file(dst0, 3 * MIB + 1, 1), "UTF-8 destination 0 differs");
    CHECK_MSG(check_pattern_file(dst1, MIB + 2, 2), "UTF-8 destination 1 differs");
    CHECK_MSG(check_pattern_file(dst2, 777, 3), "destination 2 (percent-encoded URL) differs");
    for (uint32_t i = 0; i < 3; i++) {
        char buf[2048];
        size_t need = 0;
        CHECK_OK(bg_job_get_file_remote_name(job, i, buf, sizeof buf, &need));
        CHECK_STR(buf, remotes[i]);
        CHECK_OK(bg_job_get_file_local_name(job, i, buf, sizeof buf, &need));
        CHECK_STR(buf, locals[i]);
    }
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_job_release(job));
}

/* ---- 2. awkward sizes ------------------------------------------------------------------ */

static void test_sizes(bg_manager m)
{
    section("files of various sizes");
    enum { N = 6 };
    static const uint64_t sizes[N] = {0, 1, MIB - 1, MIB, MIB + 1, 7 * MIB};
    char dir[1200], src[N][1300], dst[N][1300];
    subdir(dir, sizeof dir, "sizes");
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "sizes", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    uint64_t total = 0;
    for (int i = 0; i < N; i++) {
        char leaf[64];
        snprintf(leaf, sizeof leaf, "src%d.bin", i);
        REQUIRE(path_join(src[i], sizeof src[i], dir, leaf) != NULL);
        snprintf(leaf, sizeof leaf, "dst%d.bin", i);
        REQUIRE(path_join(dst[i], sizeof dst[i], dir, leaf) != NULL);
        REQUIRE(make_pattern_file(src[i], sizes[i], 500 + (uint64_t)i) == 0);
        CHECK_OK(bg_job_add_file(job, src[i], dst[i]));
        total += sizes[i];
    }
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, total);
    CHECK_EQ_U64(jp.bytes_transferred, total);
    CHECK_EQ_INT(jp.files_total, N);
    CHECK_EQ_INT(jp.files_transferred, N);
    for (uint32_t i = 0; i < N; i++) {
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(job, i, &fp));
        CHECK_EQ_U64(fp.bytes_total, sizes[i]);
        CHECK_EQ_U64(fp.bytes_transferred, sizes[i]);
        CHECK_EQ_INT(fp.completed, 0);
        CHECK(!file_exists(dst[i]));
    }
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    for (uint32_t i = 0; i < N; i++) {
        CHECK_MSG(check_pattern_file(dst[i], sizes[i], 500 + (uint64_t)i),
                  "the %" PRIu64 "-byte file differs", sizes[i]);
        CHECK_EQ_INT(file_size(dst[i]), (int64_t)sizes[i]);
        bg_file_progress fp;
        CHECK_OK(bg_job_get_file_progress(job, i, &fp));
        CHECK_EQ_INT(fp.completed, 1);
    }
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_job_release(job));
}

/* ---- 3. live progress at an exact offset; the temp file ------------------------------------ */

static void check_temp_file(const char *temp, const char *dst, uint64_t want_size, uint64_t seed)
{
    /* Same directory as the destination. */
    char a[1400], b[1400];
    snprintf(a, sizeof a, "%s", temp);
    snprintf(b, sizeof b, "%s", dst);
    CHECK_STR(dirname(a), dirname(b));
    /* Hidden, named .bgcopy-<hex>.tmp. */
    snprintf(a, sizeof a, "%s", temp);
    const char *leaf = basename(a);
    size_t len = strlen(leaf);
    int named = len > 12 && strncmp(leaf, ".bgcopy-", 8) == 0 &&
                strcmp(leaf + len - 4, ".tmp") == 0;
    for (size_t k = 8; named && k < len - 4; k++)
        if (!strchr("0123456789abcdefABCDEF-", leaf[k])) named = 0;
    CHECK_MSG(named, "temp file name \"%s\" is not .bgcopy-<job tag>-<hex>.tmp", leaf);
    struct stat st;
    CHECK(lstat(temp, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_MSG((st.st_mode & 07777) == 0600, "temp file mode %04o, want 0600",
              (unsigned)(st.st_mode & 07777));
    CHECK_EQ_INT(st.st_size, (off_t)want_size);
    CHECK_MSG(check_pattern_file(temp, want_size, seed),
              "the temp file does not hold the first %" PRIu64 " bytes", want_size);
}

static void test_live_progress(bg_manager m)
{
    section("live progress at an exact offset");
    char dir[1200], src0[1300], src1[1300], dst0[1300], dst1[1300];
    subdir(dir, sizeof dir, "progress");
    REQUIRE(path_join(src0, sizeof src0, dir, "a.src") != NULL);
    REQUIRE(path_join(src1, sizeof src1, dir, "b.src") != NULL);
    REQUIRE(path_join(dst0, sizeof dst0, dir, "a.bin") != NULL);
    REQUIRE(path_join(dst1, sizeof dst1, dir, "b.bin") != NULL);
    const uint64_t s0 = MIB + 12345, s1 = 6 * MIB;
    REQUIRE(make_pattern_file(src0, s0, 40) == 0);
    REQUIRE(make_pattern_file(src1, s1, 41) == 0);

    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "progress", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_add_file(job, src0, dst0));
    CHECK_OK(bg_job_add_file(job, src1, dst1));
    CHECK_OK(bg_test_hold(job, 1, 2 * MIB));
    CHECK_OK(bg_job_resume(job));
    REQUIRE(wait_file_bytes(job, 1, 2 * MIB));
    CHECK_STATE(job, BG_JOB_STATE_TRANSFERRING);

    bg_file_progress fp;
    CHECK_OK(bg_job_get_file_progress(job, 1, &fp));
    CHECK_EQ_U64(fp.bytes_total, s1);
    CHECK_EQ_U64(fp.bytes_transferred, 2 * MIB);
    CHECK_EQ_INT(fp.completed, 0);
    CHECK_OK(bg_job_get_file_progress(job, 0, &fp));
    CHECK_EQ_U64(fp.bytes_total, s0);
    CHECK_EQ_U64(fp.bytes_transferred, s0);
    CHECK_EQ_INT(fp.completed, 0);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, s0 + s1);
    CHECK_EQ_U64(jp.bytes_transferred, s0 + 2 * MIB);
    CHECK_EQ_INT(jp.files_total, 2);
    CHECK_EQ_INT(jp.files_transferred, 1);
    /* The progress stays put while held. */
    bg_job_state st = -1;
    CHECK_HR(S_FALSE, bg_job_wait(job, 20, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRING);
    CHECK_OK(bg_job_get_file_progress(job, 1, &fp));
    CHECK_EQ_U64(fp.bytes_transferred, 2 * MIB);

    section("the temp file while transferring");
    char temp0[1400], temp1[1400];
    size_t need = 0;
    CHECK_OK(bg_job_get_file_temp_name(job, 1, temp1, sizeof temp1, &need));
    CHECK_EQ_U64(need, strlen(temp1) + 1);
    check_temp_file(temp1, dst1, 2 * MIB, 41);
    CHECK_OK(bg_job_get_file_temp_name(job, 0, temp0, sizeof temp0, &need));
    check_temp_file(temp0, dst0, s0, 40);
    CHECK(strcmp(temp0, temp1) != 0);
    CHECK(!file_exists(dst0));
    CHECK(!file_exists(dst1));
    CHECK_EQ_INT(count_temps(dir, 0), 2);

    section("release the hold");
    CHECK_OK(bg_test_release_hold(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, s0 + s1);
    CHECK_EQ_U64(jp.bytes_transferred, s0 + s1);
    CHECK_EQ_INT(jp.files_transferred, 2);

    section("the temp file while TRANSFERRED");
    char t[1400];
    CHECK_OK(bg_job_get_file_temp_name(job, 1, t, sizeof t, &need));
    CHECK_STR(t, temp1); /* the same temp file, continued */
    check_temp_file(temp1, dst1, s1, 41);
    check_temp_file(temp0, dst0, s0, 40);
    CHECK_MSG(!file_exists(dst0) && !file_exists(dst1),
              "a destination is visible under its final name before complete");

    CHECK_OK(bg_job_complete(job));
    CHECK_MSG(check_pattern_file(dst0, s0, 40), "a.bin differs");
    CHECK_MSG(check_pattern_file(dst1, s1, 41), "b.bin differs");
    CHECK(!file_exists(temp0));
    CHECK(!file_exists(temp1));
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    char buf[64];
    CHECK_HR(S_FALSE, bg_job_get_file_temp_name(job, 1, buf, sizeof buf, &need));
    CHECK_EQ_INT(buf[0], '\0');
    CHECK_OK(bg_job_release(job));
}

/* ---- 4. a file added to a TRANSFERRED job ------------------------------------------- */

static void test_add_to_transferred(bg_manager m)
{
    section("add a file to a TRANSFERRED job");
    char dir[1200], src0[1300], src1[1300], dst0[1300], dst1[1300];
    subdir(dir, sizeof dir, "add-later");
    REQUIRE(path_join(src0, sizeof src0, dir, "first.src") != NULL);
    REQUIRE(path_join(src1, sizeof src1, dir, "second.src") != NULL);
    REQUIRE(path_join(dst0, sizeof dst0, dir, "first.bin") != NULL);
    REQUIRE(path_join(dst1, sizeof dst1, dir, "second.bin") != NULL);
    const uint64_t s0 = 2 * MIB + 1, s1 = 3 * MIB - 1;
    REQUIRE(make_pattern_file(src0, s0, 90) == 0);
    REQUIRE(make_pattern_file(src1, s1, 91) == 0);

    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, "add-later", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    CHECK_OK(bg_job_add_file(job, src0, dst0));
    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    bg_job_times t1;
    CHECK_OK(bg_job_get_times(job, &t1));

    CHECK_OK(bg_job_add_file(job, src1, dst1));
    CHECK_STATE(job, BG_JOB_STATE_TRANSFERRED);
    uint32_t count = 0;
    CHECK_OK(bg_job_get_file_count(job, &count));
    CHECK_EQ_INT(count, 2);
    bg_job_progress jp;
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(jp.bytes_transferred, s0);
    CHECK_EQ_INT(jp.files_total, 2);
    CHECK_EQ_INT(jp.files_transferred, 1);
    bg_file_progress fp;
    CHECK_OK(bg_job_get_file_progress(job, 1, &fp));
    CHECK_EQ_U64(fp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(fp.bytes_transferred, 0);

    CHECK_OK(bg_job_resume(job));
    WAIT_STATE(job, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_get_progress(job, &jp));
    CHECK_EQ_U64(jp.bytes_total, s0 + s1);
    CHECK_EQ_U64(jp.bytes_transferred, s0 + s1);
    CHECK_EQ_INT(jp.files_total, 2);
    CHECK_EQ_INT(jp.files_transferred, 2);
    bg_job_times t2;
    CHECK_OK(bg_job_get_times(job, &t2));
    CHECK(t2.transfer_completion_time >= t1.transfer_completion_time);
    CHECK_OK(bg_job_complete(job));
    CHECK_STATE(job, BG_JOB_STATE_ACKNOWLEDGED);
    CHECK_MSG(check_pattern_file(dst0, s0, 90), "first.bin differs");
    CHECK_MSG(check_pattern_file(dst1, s1, 91), "second.bin differs");
    CHECK_EQ_INT(count_temps(dir, 0), 0);
    CHECK_OK(bg_job_release(job));
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));

    test_names(m);
    test_sizes(m);
    test_live_progress(m);
    test_add_to_transferred(m);

    section("close");
    CHECK_OK(bg_manager_close(m));
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_root);
    TEST_MAIN_END();
}
