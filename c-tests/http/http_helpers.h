/*
 * http_helpers.h — shared helpers of the HTTP C tests (c-tests/http/). Header-only, every
 * function static and marked unused, on top of ../harness.h and ../job_helpers.h (its part 1
 * only: state_name(), job_state() and the other small helpers listed there).
 *
 * The fixture "http" (server.sh, registered by c-tests/http/CMakeLists.txt) runs two
 * bgcopy-testserver instances for the whole test run; a test finds them through
 *   BGCOPY_HTTP_PORT_FILE, BGCOPY_HTTPS_PORT_FILE  (files holding "PORT\n"),
 *   BGCOPY_HTTPS_CA                                 (the TLS server's CA PEM),
 *   BGCOPY_TESTSERVER                               (the binary: `verify FILE ...`).
 *
 * Tests run in parallel against the same servers, so each uses its own paths
 * (/data/<size>/<test>/<case>): the server's counters (/__stats?path=) are per path without
 * the query, its fault state (status_times, drop_times, change_after) per path + query.
 * Never /__reset (http_reset() exists for manual use only).
 *
 * Contents:
 *   http_port(tls), http_url(buf, cap, tls, fmt, ...)         URLs of the fixture servers
 *   http_get_raw(port, target, &status, &len)                 a tiny HTTP/1.1 GET client
 *                                                             (../net_helpers.h)
 *   http_stats(path, &st), http_stats_header(&st, name, ...)  /__stats?path= parsed
 *   content_byte(), content_check_file(), content_write_file() the server's content formula
 *   server_verify(file, size, seed, version)                  `bgcopy-testserver verify`
 *   fast_manager(&m), new_job(m, name, &job), add_file(...)   engine set-up with small times
 *   wait_state(), wait_final(), wait_error_count(), wait_file_bytes()   bounded polls
 *   job_error(job, &err, desc, cap)                           the error object + description
 *   script_server_*                                           a scripted one-off HTTP server
 *                                                             for responses the test server
 *                                                             cannot make (416 on a whole file,
 *                                                             206 with another total, weak ETag)
 */
#ifndef BGCOPY_HTTP_HELPERS_H
#define BGCOPY_HTTP_HELPERS_H

#include "harness.h"

/* Part 1 of ../job_helpers.h only (state_name(), job_state(), ...): the polls below and the
 * tests' MIB are their own. */
#define JOB_HELPERS_BASIC_ONLY
#include "job_helpers.h"
#include "net_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* ---- the fixture servers --------------------------------------------------------------- */

/* The port of the plain (tls == 0) or TLS server; exits the test if the fixture is missing. */
static HARNESS_UNUSED int http_port(int tls)
{
    static int cached[2];
    if (cached[tls ? 1 : 0] > 0) return cached[tls ? 1 : 0];
    const char *var = tls ? "BGCOPY_HTTPS_PORT_FILE" : "BGCOPY_HTTP_PORT_FILE";
    const char *file = getenv(var);
    if (file == NULL || file[0] == '\0') {
        fprintf(stderr, "http_port: %s is not set (run through ctest: fixture \"http\")\n", var);
        exit(1);
    }
    char *text = read_file(file, NULL);
    if (text == NULL) {
        fprintf(stderr, "http_port: cannot read %s: %s\n", file, strerror(errno));
        exit(1);
    }
    long port = strtol(text, NULL, 10);
    free(text);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "http_port: bad port in %s\n", file);
        exit(1);
    }
    cached[tls ? 1 : 0] = (int)port;
    return (int)port;
}

/* buf = "http[s]://127.0.0.1:PORT" + the formatted path and query. Returns buf (exits when it
 * does not fit: a test bug). */
static HARNESS_UNUSED __attribute__((format(printf, 4, 5))) char *
http_url(char *buf, size_t cap, int tls, const char *fmt, ...)
{
    int n = snprintf(buf, cap, "%s://127.0.0.1:%d", tls ? "https" : "http", http_port(tls));
    if (n < 0 || (size_t)n >= cap) goto too_long;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= cap) goto too_long;
    return buf;
too_long:
    fprintf(stderr, "http_url: buffer too small\n");
    exit(1);
}

/* ---- /__stats ---------------------------------------------------------------------------- */

#define HTTP_STATS_MAX 64

typedef struct http_stats {
    int ok;                                /* 1 when the stats were read and parsed */
    uint64_t requests, heads, bytes;
    int n_ranges;                          /* Range header values, without "bytes=" */
    char ranges[HTTP_STATS_MAX][64];
    int n_statuses;
    int statuses[HTTP_STATS_MAX];
    char raw[16384];                       /* the JSON, for http_stats_header() */
} http_stats;

/* Reads a JSON string starting at p (just after its opening quote) into out; returns a pointer
 * after the closing quote, or NULL. */
static HARNESS_UNUSED const char *json_read_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            if (*p == '\0') return NULL;
            c = *p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u':
                for (int i = 0; i < 4 && *p; i++) p++;
                c = '?';
                break;
            default: break; /* \" \\ \/ */
            }
        }
        if (n + 1 < cap) out[n++] = c;
    }
    if (cap > 0) out[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

static HARNESS_UNUSED uint64_t json_u64_field(const char *json, const char *name, int *ok)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char *p = strstr(json, key);
    if (p == NULL) {
        *ok = 0;
        return 0;
    }
    return strtoull(p + strlen(key), NULL, 10);
}

/* Fetches and parses /__stats?path=<path> from the plain server. st->ok says whether it worked. */
static HARNESS_UNUSED void http_stats_get(const char *path, http_stats *st)
{
    memset(st, 0, sizeof *st);
    char target[1200];
    snprintf(target, sizeof target, "/__stats?path=%s", path);
    int status = 0;
    size_t len = 0;
    char *body = http_get_raw(http_port(0), target, &status, &len);
    if (body == NULL || status != 200 || len >= sizeof st->raw) {
        fprintf(stderr, "http_stats_get(%s): no answer (status %d)\n", path, status);
        free(body);
        return;
    }
    memcpy(st->raw, body, len + 1);
    free(body);
    int ok = 1;
    st->requests = json_u64_field(st->raw, "requests", &ok);
    st->heads = json_u64_field(st->raw, "heads", &ok);
    st->bytes = json_u64_field(st->raw, "bytes", &ok);
    const char *p = strstr(st->raw, "\"ranges\":[");
    if (p == NULL) ok = 0;
    else {
        p += strlen("\"ranges\":[");
        while (p && *p == '"' && st->n_ranges < HTTP_STATS_MAX) {
            p = json_read_string(p + 1, st->ranges[st->n_ranges], sizeof st->ranges[0]);
            st->n_ranges++;
            if (p && *p == ',') p++;
        }
        if (p == NULL) ok = 0;
    }
    p = strstr(st->raw, "\"statuses\":[");
    if (p == NULL) ok = 0;
    else {
        p += strlen("\"statuses\":[");
        while (*p >= '0' && *p <= '9' && st->n_statuses < HTTP_STATS_MAX) {
            char *end;
            st->statuses[st->n_statuses++] = (int)strtol(p, &end, 10);
            p = end;
            if (*p == ',') p++;
        }
    }
    st->ok = ok;
    if (!ok) fprintf(stderr, "http_stats_get(%s): cannot parse %s\n", path, st->raw);
}

/* The value of request header `name` (lower case) of the path's most recent request, copied
 * into out. Returns 1 when present, 0 when not. */
static HARNESS_UNUSED int http_stats_header(const http_stats *st, const char *name, char *out,
                                            size_t cap)
{
    const char *h = strstr(st->raw, "\"last_headers\":{");
    if (h == NULL) return 0;
    char key[96];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *p = strstr(h, key);
    if (p == NULL) return 0;
    return json_read_string(p + strlen(key), out, cap) != NULL;
}

/* The start offset of a recorded range "a-" / "a-b"; -1 if it has no start. */
static HARNESS_UNUSED long long range_start(const char *range)
{
    if (range[0] < '0' || range[0] > '9') return -1;
    return strtoll(range, NULL, 10);
}

/* Clears all the server's counters and fault state. Not for tests that run in parallel. */
static HARNESS_UNUSED int http_reset(void)
{
    int status = 0;
    char *body = http_get_raw(http_port(0), "/__reset", &status, NULL);
    free(body);
    return status == 200 ? 0 : -1;
}

/* ---- the server's content ---------------------------------------------------------------- */

static HARNESS_UNUSED uint64_t splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Byte i of GET /data/<n>?seed=S&version=V (testserver/README.md, "Content"). */
static HARNESS_UNUSED unsigned char content_byte(uint64_t seed, uint64_t version, uint64_t i)
{
    uint64_t key = splitmix64(seed ^ splitmix64(version));
    return (unsigned char)(splitmix64((i >> 3) ^ key) >> (8 * (i & 7)));
}

/* Fills buf with content bytes [off, off + len). */
static HARNESS_UNUSED void content_fill(unsigned char *buf, uint64_t seed, uint64_t version,
                                        uint64_t off, size_t len)
{
    uint64_t key = splitmix64(seed ^ splitmix64(version));
    size_t i = 0;
    while (i < len) {
        uint64_t pos = off + i;
        uint64_t w = splitmix64((pos >> 3) ^ key);
        for (unsigned b = (unsigned)(pos & 7); b < 8 && i < len; b++, i++)
            buf[i] = (unsigned char)(w >> (8 * b));
    }
}

/* 1 when `path` holds exactly `size` bytes of (seed, version); otherwise 0, with the first bad
 * offset (or the size found) on stderr. */
static HARNESS_UNUSED int content_check_file(const char *path, uint64_t size, uint64_t seed,
                                             uint64_t version)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "content_check_file: cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    static unsigned char got[1 << 20], want[1 << 20];
    uint64_t off = 0;
    int ok = 1;
    for (;;) {
        size_t n = fread(got, 1, sizeof got, f);
        if (n == 0) break;
        if (off + n > size) {
            fprintf(stderr, "content_check_file: %s is longer than %" PRIu64 "\n", path, size);
            ok = 0;
            break;
        }
        content_fill(want, seed, version, off, n);
        if (memcmp(got, want, n) != 0) {
            size_t k = 0;
            while (got[k] == want[k]) k++;
            fprintf(stderr, "content_check_file: %s differs at offset %" PRIu64 "\n", path,
                    off + k);
            ok = 0;
            break;
        }
        off += n;
    }
    if (ferror(f)) ok = 0;
    fclose(f);
    if (ok && off != size) {
        fprintf(stderr, "content_check_file: %s holds %" PRIu64 " bytes, want %" PRIu64 "\n",
                path, off, size);
        ok = 0;
    }
    return ok;
}

/* Runs `bgcopy-testserver verify FILE --size N --seed S --version V`; 1 when it exits 0. */
static HARNESS_UNUSED int server_verify(const char *path, uint64_t size, uint64_t seed,
                                        uint64_t version)
{
    const char *bin = getenv("BGCOPY_TESTSERVER");
    if (bin == NULL || bin[0] == '\0') {
        fprintf(stderr, "server_verify: BGCOPY_TESTSERVER is not set\n");
        return 0;
    }
    char s_size[32], s_seed[32], s_version[32];
    snprintf(s_size, sizeof s_size, "%" PRIu64, size);
    snprintf(s_seed, sizeof s_seed, "%" PRIu64, seed);
    snprintf(s_version, sizeof s_version, "%" PRIu64, version);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        execl(bin, bin, "verify", path, "--size", s_size, "--seed", s_seed, "--version",
              s_version, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 0;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- engine set-up ----------------------------------------------------------------------- */

/* A ":memory:" manager with a 50 ms retry floor (each ":memory:" open is its own engine). */
static HARNESS_UNUSED bg_manager fast_manager(void)
{
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    REQUIRE_OK(bg_manager_set_option(m, BG_OPTION_RETRY_DELAY_FLOOR_MS, 50));
    return m;
}

/* A download job with MinimumRetryDelay `retry_s` (0: the manager floor alone). */
static HARNESS_UNUSED bg_job new_job(bg_manager m, const char *name, uint32_t retry_s)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, name, BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    REQUIRE_OK(bg_job_set_minimum_retry_delay(job, retry_s));
    return job;
}

static HARNESS_UNUSED uint32_t job_error_count(bg_job job)
{
    uint32_t n = 0;
    if (bg_job_get_error_count(job, &n) != S_OK) return UINT32_MAX;
    return n;
}

static HARNESS_UNUSED bg_file_progress file_progress(bg_job job, uint32_t index)
{
    bg_file_progress p;
    memset(&p, 0xff, sizeof p);
    (void)bg_job_get_file_progress(job, index, &p);
    return p;
}

/* Polls (every 2 ms) until the job is in `state`; 1 when reached within timeout_ms. */
static HARNESS_UNUSED int wait_state(bg_job job, bg_job_state state, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        if (job_state(job) == state) return 1;
        if (now_ms() >= end) break;
        sleep_ms(2);
    }
    fprintf(stderr, "wait_state: still %s after %" PRIu64 " ms, wanted %s\n",
            state_name(job_state(job)), timeout_ms, state_name(state));
    return 0;
}

/* bg_job_wait until TRANSFERRED / ERROR / ACKNOWLEDGED / CANCELLED; returns the state then
 * (-1 on a timeout). */
static HARNESS_UNUSED bg_job_state wait_final(bg_job job, uint32_t timeout_ms)
{
    bg_job_state s = -1;
    bg_hresult hr = bg_job_wait(job, timeout_ms, &s);
    if (hr != S_OK) {
        fprintf(stderr, "wait_final: bg_job_wait returned 0x%08" PRIX32 ", state %s\n",
                (uint32_t)hr, state_name(s));
        return -1;
    }
    return s;
}

/* Polls until the job is in ERROR, TRANSIENT_ERROR or TRANSFERRED (a job that should fail
 * fatally is given a long MinimumRetryDelay, so a wrong transient error stays visible);
 * returns that state, or -1 after timeout_ms. */
static HARNESS_UNUSED bg_job_state wait_failed(bg_job job, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        bg_job_state s = job_state(job);
        if (s == BG_JOB_STATE_ERROR || s == BG_JOB_STATE_TRANSIENT_ERROR ||
            s == BG_JOB_STATE_TRANSFERRED)
            return s;
        if (now_ms() >= end) return -1;
        sleep_ms(2);
    }
}

/* Polls until the job's error count is at least n; 1 when reached within timeout_ms. */
static HARNESS_UNUSED int wait_error_count(bg_job job, uint32_t n, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (job_error_count(job) < n) {
        if (now_ms() >= end) {
            fprintf(stderr, "wait_error_count: %u after %" PRIu64 " ms, wanted %u\n",
                    job_error_count(job), timeout_ms, n);
            return 0;
        }
        sleep_ms(2);
    }
    return 1;
}

/* Polls until file `index` holds at least `bytes` bytes; 1 when reached within timeout_ms. */
static HARNESS_UNUSED int wait_file_bytes(bg_job job, uint32_t index, uint64_t bytes,
                                          uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        bg_file_progress p = file_progress(job, index);
        if (p.bytes_transferred != UINT64_MAX && p.bytes_transferred >= bytes) return 1;
        if (now_ms() >= end) break;
        sleep_ms(2);
    }
    fprintf(stderr, "wait_file_bytes: file %u did not reach %" PRIu64 " bytes\n", index, bytes);
    return 0;
}

/* Reads the error object; the description goes to desc (empty on failure; desc may be NULL
 * with cap 0 to skip it). Returns the hr. */
static HARNESS_UNUSED bg_hresult job_error(bg_job job, bg_job_error *err, char *desc, size_t cap)
{
    size_t needed = 0;
    memset(err, 0, sizeof *err);
    if (desc == NULL || cap == 0) return bg_job_get_error(job, err, NULL, 0, NULL);
    desc[0] = '\0';
    return bg_job_get_error(job, err, desc, cap, &needed);
}

/* Prints the job's error object (for the log). */
static HARNESS_UNUSED void print_error(const char *what, bg_job job)
{
    bg_job_error e;
    char desc[2048];
    bg_hresult hr = job_error(job, &e, desc, sizeof desc);
    if (hr == S_OK)
        printf("%s: state %s, error 0x%08" PRIX32 " (%s), context %d, file %u: %s\n", what,
               state_name(job_state(job)), (uint32_t)e.code, bg_hresult_message(e.code),
               e.context, e.file_index, desc);
    else
        printf("%s: state %s, no error object (0x%08" PRIX32 ")\n", what,
               state_name(job_state(job)), (uint32_t)hr);
    fflush(stdout);
}

/* ---- a scripted HTTP server ------------------------------------------------------------- */
/* Answers the i-th request it receives with the i-th scripted response: a head (status line
 * and headers, ending in an empty line) and `body_len` content bytes (seed, version) from
 * `body_off`, then closes the connection when `close_after` (else keeps it alive). Requests
 * beyond the script get a 500 and a close. Records every request head. */

#define SCRIPT_MAX 8

typedef struct script_resp {
    char head[1024];
    uint64_t seed, version, body_off, body_len;
    int close_after;
} script_resp;

typedef struct script_server {
    int listen_fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    int n_resp;
    script_resp resp[SCRIPT_MAX];
    int n_req; /* requests received so far */
    char req[SCRIPT_MAX + 4][2048];
    volatile int stop;
} script_server;

static HARNESS_UNUSED void script_send_body(int fd, const script_resp *r)
{
    static _Thread_local unsigned char buf[65536];
    uint64_t off = r->body_off, left = r->body_len;
    while (left > 0) {
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        content_fill(buf, r->seed, r->version, off, n);
        if (send_all(fd, buf, n) != 0) return;
        off += n;
        left -= n;
    }
}

static HARNESS_UNUSED void *script_server_main(void *arg)
{
    script_server *s = (script_server *)arg;
    while (!s->stop) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            break;
        }
        char buf[8192];
        size_t len = 0;
        int open = 1;
        while (open && !s->stop) {
            char *end = NULL;
            while ((end = (char *)memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
                if (len == sizeof buf) {
                    open = 0;
                    break;
                }
                ssize_t r = recv(fd, buf + len, sizeof buf - len, 0);
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) {
                    open = 0;
                    break;
                }
                len += (size_t)r;
            }
            if (!open) break;
            size_t head_len = (size_t)(end + 4 - buf);
            pthread_mutex_lock(&s->mu);
            int i = s->n_req;
            if (i < SCRIPT_MAX + 4) {
                size_t n = head_len < sizeof s->req[0] - 1 ? head_len : sizeof s->req[0] - 1;
                memcpy(s->req[i], buf, n);
                s->req[i][n] = '\0';
                s->n_req++;
            }
            script_resp r;
            int have = i < s->n_resp;
            if (have) r = s->resp[i];
            pthread_mutex_unlock(&s->mu);
            memmove(buf, buf + head_len, len - head_len);
            len -= head_len;
            if (!have) {
                static const char nope[] =
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n";
                (void)send_all(fd, nope, sizeof nope - 1);
                break;
            }
            if (send_all(fd, r.head, strlen(r.head)) != 0) break;
            script_send_body(fd, &r);
            if (r.close_after) break;
        }
        close(fd);
    }
    return NULL;
}

/* Starts the server on an ephemeral loopback port (after the script is filled in). */
static HARNESS_UNUSED int script_server_start(script_server *s)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) return -1;
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s->listen_fd, 16) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(s->listen_fd);
        return -1;
    }
    s->port = ntohs(sa.sin_port);
    pthread_mutex_init(&s->mu, NULL);
    s->stop = 0;
    if (pthread_create(&s->thread, NULL, script_server_main, s) != 0) {
        close(s->listen_fd);
        return -1;
    }
    return 0;
}

/* Appends a response to the script. */
static HARNESS_UNUSED __attribute__((format(printf, 7, 8))) void
script_add(script_server *s, uint64_t seed, uint64_t version, uint64_t body_off,
           uint64_t body_len, int close_after, const char *head_fmt, ...)
{
    REQUIRE(s->n_resp < SCRIPT_MAX);
    script_resp *r = &s->resp[s->n_resp++];
    va_list ap;
    va_start(ap, head_fmt);
    vsnprintf(r->head, sizeof r->head, head_fmt, ap);
    va_end(ap);
    r->seed = seed;
    r->version = version;
    r->body_off = body_off;
    r->body_len = body_len;
    r->close_after = close_after;
}

/* Copies the i-th request head received (empty when none). Returns the number received. */
static HARNESS_UNUSED int script_request(script_server *s, int i, char *out, size_t cap)
{
    pthread_mutex_lock(&s->mu);
    int n = s->n_req;
    if (i < n && i < SCRIPT_MAX + 4)
        snprintf(out, cap, "%s", s->req[i]);
    else if (cap > 0)
        out[0] = '\0';
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The value of header `name` (case-insensitive) in a request head, into out; 1 if present. */
static HARNESS_UNUSED int head_header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    while (p != NULL && p[2] != '\r' && p[2] != '\0') {
        const char *line = p + 2;
        const char *eol = strstr(line, "\r\n");
        if (eol == NULL) break;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t') v++;
            size_t n = (size_t)(eol - v);
            if (n >= cap) n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
        p = eol;
    }
    return 0;
}

static HARNESS_UNUSED void script_server_stop(script_server *s)
{
    s->stop = 1;
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    pthread_mutex_destroy(&s->mu);
}

/* A loopback TCP port with no listener: bind one, read its number, close it. */
static HARNESS_UNUSED int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

#endif /* BGCOPY_HTTP_HELPERS_H */
