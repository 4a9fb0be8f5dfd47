/*
 * harness.h — header-only helpers for the bgcopy C tests (no framework).
 *
 * Each c-tests/<name>.c is its own executable and its own ctest test. Include this header
 * first (the build defines _GNU_SOURCE; we define it here too in case it is included alone),
 * write checks in main(), and finish main() with TEST_MAIN_END();
 *
 *     #include "harness.h"
 *     int main(void) {
 *         bg_manager m = 0;
 *         CHECK_OK(bg_manager_open(":memory:", &m));
 *         CHECK_HR(E_HANDLE, bg_manager_close(0));
 *         CHECK_STR(bg_version(), BGCOPY_VERSION_STRING);
 *         TEST_MAIN_END();
 *     }
 *
 * Checks count: every CHECK_* that passes adds one to "passed", every one that fails prints
 * `file:line: ...` to stderr, adds one to "failed" and carries on. REQUIRE(cond) stops the
 * test at once (use it when later checks would be meaningless). TEST_MAIN_END() prints
 * "N passed, M failed" and returns 1 from main if anything failed (or nothing was checked).
 *
 * Environment: BGCOPY_TEST_TMP (set by ctest to <build>/test-tmp) is where test_tmpdir()
 * makes its directories; /tmp otherwise. Set BGCOPY_TEST_KEEP=1 to keep them for a look.
 * BGCOPY_UNDER_VALGRIND=1 is set for the <name>_valgrind runs (scale loops down).
 * A test whose file has a line  ctest-fixtures: testserver  runs with the loopback test
 * server up; testserver_url() builds its URLs (see c-tests/CMakeLists.txt).
 *
 * Every helper is `static` and marked unused so that each test file stands alone and
 * -Wall -Wextra -Werror stays quiet about the helpers a test does not call.
 */
#ifndef BGCOPY_C_TESTS_HARNESS_H
#define BGCOPY_C_TESTS_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "bgcopy.h"

#define HARNESS_UNUSED __attribute__((unused))

/* The standard COM codes, in case the header under test does not define one of them
 * (bgcopy.h should; these only fill gaps so a test still compiles and reports). */
#ifndef S_OK
#define S_OK 0
#endif
#ifndef S_FALSE
#define S_FALSE 1
#endif
#ifndef E_HANDLE
#define E_HANDLE (-2147024890) /* 0x80070006 */
#endif
#ifndef E_INVALIDARG
#define E_INVALIDARG (-2147024809) /* 0x80070057 */
#endif

static int harness_passed_ HARNESS_UNUSED = 0;
static int harness_failed_ HARNESS_UNUSED = 0;

/* ---- reporting ------------------------------------------------------------------------ */

static HARNESS_UNUSED __attribute__((format(printf, 3, 4))) void
harness_fail_(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    harness_failed_++;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static HARNESS_UNUSED const char *harness_msg_(int32_t hr)
{
    const char *m = bg_hresult_message(hr);
    return m ? m : "(null message)";
}

static HARNESS_UNUSED int harness_summary_(void)
{
    fflush(stdout);
    printf("%d passed, %d failed\n", harness_passed_, harness_failed_);
    fflush(stdout);
    if (harness_failed_ == 0 && harness_passed_ == 0) {
        fprintf(stderr, "no checks ran\n");
        return 1;
    }
    return harness_failed_ ? 1 : 0;
}

/* CHECK(cond): a boolean check. */
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__, "CHECK(%s) failed", #cond);             \
        }                                                                             \
    } while (0)

/* CHECK_MSG(cond, fmt, ...): a boolean check with a printf-style explanation. */
#define CHECK_MSG(cond, ...)                                                          \
    do {                                                                              \
        if (cond) {                                                                   \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__, "CHECK(%s) failed", #cond);             \
            fprintf(stderr, "    ");                                                  \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
        }                                                                             \
    } while (0)

/* CHECK_HR(expected, call): evaluates `call` once and compares the bg_hresult. */
#define CHECK_HR(expected, call)                                                      \
    do {                                                                              \
        int32_t harness_exp_ = (int32_t)(expected);                                   \
        int32_t harness_got_ = (int32_t)(call);                                       \
        if (harness_exp_ == harness_got_) {                                           \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__,                                         \
                          "%s: expected 0x%08" PRIX32 " (%s) got 0x%08" PRIX32 " (%s)", \
                          #call, (uint32_t)harness_exp_, harness_msg_(harness_exp_),  \
                          (uint32_t)harness_got_, harness_msg_(harness_got_));        \
        }                                                                             \
    } while (0)

/* CHECK_OK(call): CHECK_HR(S_OK, call). */
#define CHECK_OK(call) CHECK_HR(0, call)

/* CHECK_SUCCEEDED(call): any success code (>= 0: S_OK, S_FALSE, BG_S_*). */
#define CHECK_SUCCEEDED(call)                                                         \
    do {                                                                              \
        int32_t harness_got_ = (int32_t)(call);                                       \
        if (harness_got_ >= 0) {                                                      \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__,                                         \
                          "%s: expected success got 0x%08" PRIX32 " (%s)", #call,     \
                          (uint32_t)harness_got_, harness_msg_(harness_got_));        \
        }                                                                             \
    } while (0)

/* CHECK_EQ_U64(a, b) and CHECK_EQ_INT(a, b): each argument evaluated once. */
#define CHECK_EQ_U64(a, b)                                                            \
    do {                                                                              \
        uint64_t harness_a_ = (uint64_t)(a);                                          \
        uint64_t harness_b_ = (uint64_t)(b);                                          \
        if (harness_a_ == harness_b_) {                                               \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__,                                         \
                          "CHECK_EQ_U64(%s, %s): %" PRIu64 " != %" PRIu64, #a, #b,    \
                          harness_a_, harness_b_);                                    \
        }                                                                             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                            \
    do {                                                                              \
        long long harness_a_ = (long long)(a);                                        \
        long long harness_b_ = (long long)(b);                                        \
        if (harness_a_ == harness_b_) {                                               \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__, "CHECK_EQ_INT(%s, %s): %lld != %lld",   \
                          #a, #b, harness_a_, harness_b_);                            \
        }                                                                             \
    } while (0)

/* CHECK_STR(a, b): string equality; NULL equals only NULL. */
#define CHECK_STR(a, b)                                                               \
    do {                                                                              \
        const char *harness_a_ = (a);                                                 \
        const char *harness_b_ = (b);                                                 \
        if ((harness_a_ == NULL && harness_b_ == NULL) ||                             \
            (harness_a_ != NULL && harness_b_ != NULL &&                              \
             strcmp(harness_a_, harness_b_) == 0)) {                                  \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%s\" != \"%s\"",  \
                          #a, #b, harness_a_ ? harness_a_ : "(null)",                 \
                          harness_b_ ? harness_b_ : "(null)");                        \
        }                                                                             \
    } while (0)

/* REQUIRE(cond): like CHECK, but a failure ends the test now (with the summary). */
#define REQUIRE(cond)                                                                 \
    do {                                                                              \
        if (cond) {                                                                   \
            harness_passed_++;                                                        \
        } else {                                                                      \
            harness_fail_(__FILE__, __LINE__, "REQUIRE(%s) failed; stopping", #cond); \
            (void)harness_summary_();                                                 \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* REQUIRE_HR(expected, call): like CHECK_HR, but a mismatch ends the test now. */
#define REQUIRE_HR(expected, call)                                                    \
    do {                                                                              \
        int harness_before_ = harness_failed_;                                        \
        CHECK_HR(expected, call);                                                     \
        if (harness_failed_ != harness_before_) {                                     \
            fprintf(stderr, "    (required; stopping)\n");                            \
            (void)harness_summary_();                                                 \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#define REQUIRE_OK(call) REQUIRE_HR(0, call)

/* TEST_MAIN_END(): the last statement of main(). */
#define TEST_MAIN_END() return harness_summary_()

/* ---- time ----------------------------------------------------------------------------- */

/* Milliseconds on the monotonic clock. */
static HARNESS_UNUSED uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static HARNESS_UNUSED void sleep_ms(uint64_t ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)((ms % 1000u) * 1000000u);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* ---- files and directories ------------------------------------------------------------ */

static HARNESS_UNUSED int harness_mkdir_p_(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

/* Makes a fresh, unique, empty directory under $BGCOPY_TEST_TMP (or /tmp) and writes its
 * absolute path into buf. Returns buf, or NULL (with a message on stderr) on failure. */
static HARNESS_UNUSED char *test_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("BGCOPY_TEST_TMP");
    if (base == NULL || base[0] == '\0') base = "/tmp";
    if (harness_mkdir_p_(base) != 0) {
        fprintf(stderr, "test_tmpdir: cannot create %s: %s\n", base, strerror(errno));
        return NULL;
    }
    int n = snprintf(buf, cap, "%s/%s-XXXXXX", base, program_invocation_short_name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "test_tmpdir: buffer too small\n");
        return NULL;
    }
    if (mkdtemp(buf) == NULL) {
        fprintf(stderr, "test_tmpdir: mkdtemp(%s): %s\n", buf, strerror(errno));
        return NULL;
    }
    if (buf[0] != '/') {
        char abs[4096];
        if (realpath(buf, abs) == NULL || strlen(abs) >= cap) return NULL;
        strcpy(buf, abs);
    }
    return buf;
}

/* buf = a + "/" + b. Returns buf, or NULL if it does not fit. */
static HARNESS_UNUSED char *path_join(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s/%s", a, b);
    return (n < 0 || (size_t)n >= cap) ? NULL : buf;
}

/* buf = "file://" + absolute path (no escaping: keep test paths plain). */
static HARNESS_UNUSED char *file_url(char *buf, size_t cap, const char *abs_path)
{
    int n = snprintf(buf, cap, "file://%s", abs_path);
    return (n < 0 || (size_t)n >= cap) ? NULL : buf;
}

/* Writes len bytes to path (created or truncated, mode 0644). 0 on success, -1 on failure. */
static HARNESS_UNUSED int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    const unsigned char *p = (const unsigned char *)data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

/* Reads `fd` (a file or a socket) to its end into a malloc'd buffer, with a NUL after the data
 * (not counted in *out_len). Returns NULL on a read error or when out of memory. The caller
 * frees the buffer and closes fd. out_len may be NULL. */
static HARNESS_UNUSED char *read_fd_all(int fd, size_t *out_len)
{
    size_t cap = 16384, len = 0;
    char *buf = (char *)malloc(cap + 1);
    if (buf == NULL) return NULL;
    for (;;) {
        if (len == cap) {
            char *nb = (char *)realloc(buf, cap * 2 + 1);
            if (nb == NULL) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            free(buf);
            return NULL;
        }
        if (r == 0) break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    if (out_len) *out_len = len;
    return buf;
}

/* Reads a whole file into a malloc'd buffer (with a NUL after the data, not counted in
 * *out_len). Returns NULL on failure. The caller frees. out_len may be NULL. */
static HARNESS_UNUSED char *read_file(const char *path, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    char *buf = read_fd_all(fd, out_len);
    close(fd);
    return buf;
}

/* 1 if the path exists (without following a final symlink), else 0. */
static HARNESS_UNUSED int file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Size in bytes, or -1 if it cannot be stat'ed. */
static HARNESS_UNUSED int64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (int64_t)st.st_size;
}

/* 1 if both files can be read and have identical contents, else 0. */
static HARNESS_UNUSED int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb");
    FILE *fb = fopen(b, "rb");
    int equal = fa != NULL && fb != NULL;
    while (equal) {
        unsigned char ba[65536], bb[65536];
        size_t na = fread(ba, 1, sizeof ba, fa);
        size_t nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0) equal = 0;
        if (na == 0 || na < sizeof ba) break;
    }
    if (equal && (ferror(fa) || ferror(fb))) equal = 0;
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return equal;
}

/* The deterministic byte at `offset` of the pattern for `seed` (splitmix64 of the 8-byte
 * block index): any range of a pattern file can be checked on its own. */
static HARNESS_UNUSED unsigned char pattern_byte(uint64_t seed, uint64_t offset)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + (offset >> 3) + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (unsigned char)(z >> ((offset & 7) * 8));
}

/* Fills buf with pattern bytes [offset, offset + len). */
static HARNESS_UNUSED void fill_pattern(void *buf, uint64_t offset, size_t len, uint64_t seed)
{
    unsigned char *p = (unsigned char *)buf;
    for (size_t i = 0; i < len; i++) p[i] = pattern_byte(seed, offset + i);
}

/* Writes `size` deterministic bytes (pattern `seed`) to path. 0 on success, -1 on failure. */
static HARNESS_UNUSED int make_pattern_file(const char *path, uint64_t size, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    unsigned char chunk[65536];
    uint64_t off = 0;
    while (off < size) {
        size_t n = (size - off) < sizeof chunk ? (size_t)(size - off) : sizeof chunk;
        fill_pattern(chunk, off, n, seed);
        if (fwrite(chunk, 1, n, f) != n) {
            fclose(f);
            return -1;
        }
        off += n;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* 1 if path holds exactly `size` bytes of pattern `seed`, else 0. */
static HARNESS_UNUSED int check_pattern_file(const char *path, uint64_t size, uint64_t seed)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0;
    unsigned char got[65536], want[65536];
    uint64_t off = 0;
    int ok = 1;
    for (;;) {
        size_t n = fread(got, 1, sizeof got, f);
        if (n == 0) break;
        if (off + n > size) {
            ok = 0;
            break;
        }
        fill_pattern(want, off, n, seed);
        if (memcmp(got, want, n) != 0) {
            ok = 0;
            break;
        }
        off += n;
    }
    if (ferror(f)) ok = 0;
    fclose(f);
    return ok && off == size;
}

/* ---- the loopback test server (ctest fixture) ------------------------------------------ */

/* URL of `path_and_query` (e.g. "/data/1m?drop=1000&t=test_resume") on the fixture server:
 * "http://127.0.0.1:PORT/..." for a test with   ctest-fixtures: testserver,
 * "https://127.0.0.1:PORT/..." with tls != 0 for   ctest-fixtures: testserver_tls
 * (its CA certificate is at $BGCOPY_TESTSERVER_CA). Returns buf, or NULL (with a message) when
 * the test was started without the fixture. */
static HARNESS_UNUSED char *testserver_url(char *buf, size_t cap, int tls, const char *path_and_query)
{
    const char *var = tls ? "BGCOPY_TESTSERVER_TLS_PORT_FILE" : "BGCOPY_TESTSERVER_PORT_FILE";
    const char *port_file = getenv(var);
    if (port_file == NULL || port_file[0] == '\0') {
        fprintf(stderr, "testserver_url: %s is not set (add a ctest-fixtures: line)\n", var);
        return NULL;
    }
    char *text = read_file(port_file, NULL);
    if (text == NULL) {
        fprintf(stderr, "testserver_url: cannot read %s: %s\n", port_file, strerror(errno));
        return NULL;
    }
    long port = strtol(text, NULL, 10);
    free(text);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "testserver_url: bad port in %s\n", port_file);
        return NULL;
    }
    int n = snprintf(buf, cap, "%s://127.0.0.1:%ld%s", tls ? "https" : "http", port,
                     path_and_query ? path_and_query : "");
    return (n < 0 || (size_t)n >= cap) ? NULL : buf;
}

static HARNESS_UNUSED int harness_rm_cb_(const char *path, const struct stat *sb, int flag,
                                         struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf path (unless BGCOPY_TEST_KEEP is set). 0 on success. */
static HARNESS_UNUSED int remove_tree(const char *path)
{
    const char *keep = getenv("BGCOPY_TEST_KEEP");
    if (keep != NULL && keep[0] != '\0' && strcmp(keep, "0") != 0) return 0;
    if (!file_exists(path)) return 0;
    return nftw(path, harness_rm_cb_, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* BGCOPY_C_TESTS_HARNESS_H */
