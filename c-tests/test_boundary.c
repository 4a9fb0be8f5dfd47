/*
 * test_boundary: the C boundary holds.
 *
 *  - bg_test_panic() panics inside the library; the boundary turns it into E_UNEXPECTED and the
 *    process lives: three times in a row, then from several threads at once, and the library
 *    keeps working afterwards (a manager, a job in SUSPENDED, a transfer);
 *  - the library writes nothing to stdout or stderr: fds 1 and 2 point at a temp file around a
 *    panic and a batch of failing calls (NULL arguments, bad handles, bad strings, bad states,
 *    a transfer that fails in the worker thread), and the file is empty afterwards.
 *
 * Needs the test-hooks build (BGCOPY_TEST_HOOKS), as every c-tests/ program has.
 */
#include "harness.h"

#include <pthread.h>

#ifndef BGCOPY_TEST_HOOKS
#error "test_boundary needs the library built with the test-hooks feature (BGCOPY_TEST_HOOKS)"
#endif

static char tmp_dir[1024];

/* ---- panics become E_UNEXPECTED ----------------------------------------------------------- */

#define PANIC_THREADS 4
#define PANICS_PER_THREAD 10

static void *panic_thread(void *arg)
{
    int *wrong = (int *)arg;
    for (int i = 0; i < PANICS_PER_THREAD; i++)
        if (bg_test_panic() != E_UNEXPECTED) (*wrong)++;
    return NULL;
}

static void test_panic_then_normal_calls(void)
{
    CHECK_HR(E_UNEXPECTED, bg_test_panic());
    CHECK_HR(E_UNEXPECTED, bg_test_panic());
    CHECK_HR(E_UNEXPECTED, bg_test_panic());

    /* The library still works. */
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_guid id;
    bg_job j = 0;
    CHECK_OK(bg_manager_create_job(m, "after the panics", BG_JOB_TYPE_DOWNLOAD, &id, &j));
    bg_job_state st = -1;
    CHECK_OK(bg_job_get_state(j, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_SUSPENDED);

    /* Panics from several threads at once, with a live manager around. */
    pthread_t threads[PANIC_THREADS];
    int wrong[PANIC_THREADS] = {0};
    for (int i = 0; i < PANIC_THREADS; i++)
        REQUIRE(pthread_create(&threads[i], NULL, panic_thread, &wrong[i]) == 0);
    for (int i = 0; i < PANIC_THREADS; i++) {
        REQUIRE(pthread_join(threads[i], NULL) == 0);
        CHECK_EQ_INT(wrong[i], 0);
    }

    /* And still works: the same job, a new job, a real transfer. */
    st = -1;
    CHECK_OK(bg_job_get_state(j, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_SUSPENDED);
    bg_job j2 = 0;
    CHECK_OK(bg_manager_create_job(m, "another", BG_JOB_TYPE_DOWNLOAD, NULL, &j2));
    st = -1;
    CHECK_OK(bg_job_get_state(j2, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_SUSPENDED);

    char src[1200], dst[1200], url[1300];
    REQUIRE(path_join(src, sizeof src, tmp_dir, "panic-src.bin") != NULL);
    REQUIRE(path_join(dst, sizeof dst, tmp_dir, "panic-dst.bin") != NULL);
    REQUIRE(file_url(url, sizeof url, src) != NULL);
    REQUIRE(make_pattern_file(src, 70000, 3) == 0);
    CHECK_OK(bg_job_add_file(j2, url, dst));
    CHECK_OK(bg_job_resume(j2));
    st = -1;
    CHECK_OK(bg_job_wait(j2, 30000, &st));
    CHECK_EQ_INT(st, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(j2));
    CHECK(check_pattern_file(dst, 70000, 3));

    CHECK_HR(E_UNEXPECTED, bg_test_panic());
    CHECK_OK(bg_job_release(j2));
    CHECK_OK(bg_job_release(j));
    CHECK_OK(bg_manager_close(m));
}

/* ---- nothing on stdout / stderr ----------------------------------------------------------- */

/* Results recorded while fds 1 and 2 are redirected (no CHECK may print then). */
struct quiet_call {
    const char *what;
    int32_t expected;
    int32_t got;
};

#define MAX_QUIET 64
static struct quiet_call quiet[MAX_QUIET];
static int quiet_count = 0;

#define QUIET(expected_, call_)                                                      \
    do {                                                                             \
        int32_t quiet_got_ = (int32_t)(call_);                                       \
        if (quiet_count < MAX_QUIET) {                                               \
            quiet[quiet_count].what = #call_;                                        \
            quiet[quiet_count].expected = (int32_t)(expected_);                      \
            quiet[quiet_count].got = quiet_got_;                                     \
            quiet_count++;                                                           \
        }                                                                            \
    } while (0)

static void test_silent_streams(void)
{
    char out_path[1200], src[1200], dst[1200], missing_url[1300], plain_file[1200];
    REQUIRE(path_join(out_path, sizeof out_path, tmp_dir, "std-streams.txt") != NULL);
    REQUIRE(path_join(src, sizeof src, tmp_dir, "missing-src.bin") != NULL);
    REQUIRE(path_join(dst, sizeof dst, tmp_dir, "quiet-dst.bin") != NULL);
    REQUIRE(path_join(plain_file, sizeof plain_file, tmp_dir, "plain-file") != NULL);
    REQUIRE(file_url(missing_url, sizeof missing_url, src) != NULL);
    REQUIRE(write_file(plain_file, "x", 1) == 0);

    /* A long display name (300 characters). */
    char long_name[301];
    memset(long_name, 'n', 300);
    long_name[300] = '\0';

    fflush(stdout);
    fflush(stderr);
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(out_fd >= 0);
    int saved_out = dup(1);
    int saved_err = dup(2);
    REQUIRE(saved_out >= 0 && saved_err >= 0);
    REQUIRE(dup2(out_fd, 1) == 1);
    REQUIRE(dup2(out_fd, 2) == 2);

    /* ---- from here to the restore, nothing may print ---- */
    QUIET(E_UNEXPECTED, bg_test_panic());

    bg_manager m = 0;
    int32_t open_hr = bg_manager_open(":memory:", &m);
    QUIET(S_OK, open_hr);
    bg_job j = 0;
    QUIET(S_OK, bg_manager_create_job(m, "quiet", BG_JOB_TYPE_DOWNLOAD, NULL, &j));

    /* NULL arguments. */
    QUIET(E_INVALIDARG, bg_manager_open(":memory:", NULL));
    QUIET(E_INVALIDARG, bg_manager_create_job(m, NULL, BG_JOB_TYPE_DOWNLOAD, NULL, &(bg_job){0}));
    QUIET(E_INVALIDARG, bg_manager_create_job(m, "x", BG_JOB_TYPE_DOWNLOAD, NULL, NULL));
    QUIET(E_INVALIDARG, bg_manager_get_job(m, NULL, &(bg_job){0}));
    QUIET(E_INVALIDARG, bg_job_get_state(j, NULL));
    QUIET(E_INVALIDARG, bg_job_get_id(j, NULL));
    QUIET(E_INVALIDARG, bg_job_add_file(j, NULL, dst));
    QUIET(E_INVALIDARG, bg_job_add_file(j, missing_url, NULL));
    QUIET(E_INVALIDARG, bg_job_set_description(j, NULL));
    QUIET(E_INVALIDARG, bg_job_get_display_name(j, NULL, 0, NULL));
    QUIET(E_INVALIDARG, bg_job_wait(j, 0, NULL));
    QUIET(E_INVALIDARG, bg_guid_from_string(NULL, &(bg_guid){{0}}));
    QUIET(E_INVALIDARG, bg_guid_to_string(NULL, NULL, 0, &(size_t){0}));

    /* Bad strings and values. */
    QUIET(E_INVALIDARG, bg_manager_open("relative/dir", &(bg_manager){0}));
    QUIET(E_INVALIDARG, bg_manager_open("/tmp/\xff\xfe", &(bg_manager){0}));
    QUIET(BG_E_STATE_DIR_INVALID, bg_manager_open(plain_file, &(bg_manager){0}));
    QUIET(E_INVALIDARG, bg_job_set_description(j, "\xff\xfe"));
    QUIET(E_INVALIDARG, bg_job_add_file(j, missing_url, "relative/dst.bin"));
    QUIET(E_INVALIDARG, bg_job_add_file(j, "not a url", dst));
    QUIET(BG_E_STRING_TOO_LONG, bg_job_set_display_name(j, long_name));
    QUIET(E_NOTIMPL, bg_job_set_priority(j, 42));
    QUIET(E_INVALIDARG, bg_guid_from_string("not-a-guid", &(bg_guid){{0}}));
    QUIET(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&(bg_guid){{0}}, NULL, 0, &(size_t){0}));
    QUIET(E_INVALIDARG, bg_manager_get_option(m, 0x7777, &(uint64_t){0}));

    /* Bad states. */
    QUIET(BG_E_EMPTY, bg_job_resume(j));
    QUIET(BG_E_ERROR_INFORMATION_UNAVAILABLE,
          bg_job_get_error(j, &(bg_job_error){0}, NULL, 0, NULL));
    QUIET(BG_E_NOT_FOUND, bg_manager_get_job(m, &(bg_guid){{1, 2, 3}}, &(bg_job){0}));

    /* Bad handles. */
    QUIET(E_HANDLE, bg_job_get_state(0, &(bg_job_state){0}));
    QUIET(E_HANDLE, bg_job_release(0x424A000100000777ull));
    QUIET(E_HANDLE, bg_job_resume(j & 0xFFFFFFFFull));
    QUIET(E_HANDLE, bg_job_get_state(m, &(bg_job_state){0}));
    QUIET(E_HANDLE, bg_manager_close(j));
    QUIET(E_HANDLE, bg_manager_create_job(0, "x", BG_JOB_TYPE_DOWNLOAD, NULL, &(bg_job){0}));
    QUIET(E_HANDLE, bg_test_hold(0, 0, 0));
    QUIET(E_HANDLE, bg_test_release_hold(0xFFFFFFFFFFFFFFFFull));

    /* A transfer that fails in the worker thread: the source does not exist. */
    QUIET(S_OK, bg_job_add_file(j, missing_url, dst));
    QUIET(S_OK, bg_job_resume(j));
    bg_job_state st = -1;
    QUIET(S_OK, bg_job_wait(j, 30000, &st));
    int32_t failed_state = st;

    QUIET(E_UNEXPECTED, bg_test_panic());

    /* Released and closed handles. */
    QUIET(S_OK, bg_job_cancel(j));
    QUIET(S_OK, bg_job_release(j));
    QUIET(E_HANDLE, bg_job_release(j));
    QUIET(S_OK, bg_manager_close(m));
    QUIET(E_HANDLE, bg_manager_close(m));

    /* ---- restore ---- */
    fflush(stdout);
    fflush(stderr);
    REQUIRE(dup2(saved_out, 1) == 1);
    REQUIRE(dup2(saved_err, 2) == 2);
    close(saved_out);
    close(saved_err);
    close(out_fd);

    for (int i = 0; i < quiet_count; i++) {
        CHECK_MSG(quiet[i].got == quiet[i].expected,
                  "%s: expected 0x%08" PRIX32 " (%s) got 0x%08" PRIX32 " (%s)", quiet[i].what,
                  (uint32_t)quiet[i].expected, harness_msg_(quiet[i].expected),
                  (uint32_t)quiet[i].got, harness_msg_(quiet[i].got));
    }
    CHECK(quiet_count < MAX_QUIET);
    /* The missing source ends the job in ERROR (a local-file / not-found error is fatal). */
    CHECK_EQ_INT(failed_state, BG_JOB_STATE_ERROR);

    size_t len = 0;
    char *text = read_file(out_path, &len);
    REQUIRE(text != NULL);
    CHECK_MSG(len == 0, "the library wrote %zu bytes to stdout/stderr:\n----\n%s\n----", len, text);
    free(text);
}

int main(void)
{
    unsetenv("BGCOPY_LOG"); /* the library's own log file, if the environment had one */
    REQUIRE(test_tmpdir(tmp_dir, sizeof tmp_dir) != NULL);

    test_panic_then_normal_calls();
    test_silent_streams();

    remove_tree(tmp_dir);
    TEST_MAIN_END();
}
