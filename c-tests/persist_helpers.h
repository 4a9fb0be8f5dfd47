/*
 * persist_helpers.h — shared helpers of the persistence tests (test_persist.c,
 * test_multiprocess.c, test_chaos.c). Header-only, every function static and marked unused, on
 * top of harness.h and job_helpers.h (its part 1 only: wall_ms(), guid_eq(), enum_contains(),
 * state_name(), job_state(), poll_state(), poll_gone(), count_temps(dir, verbose), ...).
 *
 * Contents:
 *   section(name)                       names the running part; a SIGALRM watchdog names it on a hang
 *   ts_url(), ts_stats_get()            the loopback test server of the ctest fixture "testserver"
 *                                       (BGCOPY_TESTSERVER_PORT_FILE) and its /__stats?path= counters
 *   content_fill(), content_file_ok()   the server's content formula (testserver/README.md)
 *   guid_text(), guid_parse()           GUID <-> text
 *   db_snapshot()                       a whole file's bytes, to prove it was not changed
 *   child processes                     spawn_child() starts this very executable again
 *                                       (fork + exec of /proc/self/exe, never a bare fork: the
 *                                       library's threads and per-process manager table must
 *                                       not be inherited) with "--child ..." arguments; fd 3
 *                                       carries commands to it, fd 4 its replies. The child dies
 *                                       with the parent (PR_SET_PDEATHSIG) and every child still
 *                                       running when the parent exits is SIGKILLed (atexit).
 *   child_serve()                       a generic command interpreter for the child side
 *                                       (open, create, get, addfile, resume, suspend, cancel,
 *                                       complete, setdesc, setname, wait*, state, progress,
 *                                       tempname, times, close, exit); see its comment.
 *
 * Every wait is a bounded poll or bg_job_wait; no sleep is used as synchronisation.
 */
#ifndef BGCOPY_C_TESTS_PERSIST_HELPERS_H
#define BGCOPY_C_TESTS_PERSIST_HELPERS_H

#include "harness.h"

/* Part 1 of job_helpers.h only: the watchdog, MIB and WAIT_MS of the persistence tests are
 * their own. */
#define JOB_HELPERS_BASIC_ONLY
#include "job_helpers.h"
#include "net_helpers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1024 * 1024)

/* ---- sections and a watchdog ------------------------------------------------------------ */

static const char *volatile g_section = "start";
static unsigned g_watchdog_s = 120;

static HARNESS_UNUSED void watchdog_alarm(int sig)
{
    (void)sig;
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "\nwatchdog: pid %d stuck for %u s in section: %s\n"
                     "%d passed, %d failed (+1: the hang)\n",
                     (int)getpid(), g_watchdog_s, g_section, harness_passed_, harness_failed_);
    if (n > 0 && write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1) < 0) {
    }
    _exit(3); /* atexit handlers do not run; the children die through PR_SET_PDEATHSIG */
}

/* Names the part of the test that runs now (printed; named again by the watchdog, which fires
 * when one section takes longer than g_watchdog_s seconds). */
static HARNESS_UNUSED void section(const char *name)
{
    g_section = name;
    signal(SIGALRM, watchdog_alarm);
    printf("== %s\n", name);
    fflush(stdout);
    alarm(g_watchdog_s);
}

/* ---- the fixture's test server ---------------------------------------------------------- */

static HARNESS_UNUSED int ts_port(void)
{
    static int cached;
    if (cached > 0) return cached;
    const char *file = getenv("BGCOPY_TESTSERVER_PORT_FILE");
    if (file == NULL || file[0] == '\0') {
        fprintf(stderr, "ts_port: BGCOPY_TESTSERVER_PORT_FILE is not set (run through ctest: "
                        "ctest-fixtures: testserver)\n");
        exit(1);
    }
    char *text = read_file(file, NULL);
    long port = text ? strtol(text, NULL, 10) : 0;
    free(text);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "ts_port: no port in %s\n", file);
        exit(1);
    }
    cached = (int)port;
    return cached;
}

/* buf = "http://127.0.0.1:PORT" + the formatted path and query; exits when it does not fit. */
static HARNESS_UNUSED __attribute__((format(printf, 3, 4))) char *
ts_url(char *buf, size_t cap, const char *fmt, ...)
{
    int n = snprintf(buf, cap, "http://127.0.0.1:%d", ts_port());
    va_list ap;
    va_start(ap, fmt);
    int m = (n > 0 && (size_t)n < cap) ? vsnprintf(buf + n, cap - (size_t)n, fmt, ap) : -1;
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= cap) {
        fprintf(stderr, "ts_url: buffer too small\n");
        exit(1);
    }
    return buf;
}

/* GET target from the test server (Connection: close). Returns the malloc'd body (NUL-terminated)
 * and the status, or NULL. */
static HARNESS_UNUSED char *ts_get(const char *target, int *out_status)
{
    return http_get_raw(ts_port(), target, out_status, NULL);
}

#define TS_MAX_RANGES 64

typedef struct ts_stats {
    int ok;
    uint64_t requests, heads, bytes;
    int n_ranges;
    long long range_start[TS_MAX_RANGES]; /* start of each Range header value, -1 if none */
} ts_stats;

/* /__stats?path=<path> (the path without its query). st->ok says whether it was read. */
static HARNESS_UNUSED void ts_stats_get(const char *path, ts_stats *st)
{
    memset(st, 0, sizeof *st);
    char target[1200];
    snprintf(target, sizeof target, "/__stats?path=%s", path);
    int status = 0;
    char *body = ts_get(target, &status);
    if (body == NULL || status != 200) {
        fprintf(stderr, "ts_stats_get(%s): no answer (status %d)\n", path, status);
        free(body);
        return;
    }
    const char *p = strstr(body, "\"requests\":");
    const char *b = strstr(body, "\"bytes\":");
    const char *h = strstr(body, "\"heads\":");
    const char *r = strstr(body, "\"ranges\":[");
    if (p == NULL || b == NULL || r == NULL) {
        fprintf(stderr, "ts_stats_get(%s): cannot parse %s\n", path, body);
        free(body);
        return;
    }
    st->requests = strtoull(p + strlen("\"requests\":"), NULL, 10);
    st->bytes = strtoull(b + strlen("\"bytes\":"), NULL, 10);
    st->heads = h ? strtoull(h + strlen("\"heads\":"), NULL, 10) : 0;
    r += strlen("\"ranges\":[");
    while (*r == '"' && st->n_ranges < TS_MAX_RANGES) {
        r++;
        st->range_start[st->n_ranges++] = (*r >= '0' && *r <= '9') ? strtoll(r, NULL, 10) : -1;
        while (*r && *r != '"') r++;
        if (*r == '"') r++;
        if (*r == ',') r++;
    }
    st->ok = 1;
    free(body);
}

/* ---- the server's content ---------------------------------------------------------------- */

static HARNESS_UNUSED uint64_t ph_splitmix64(uint64_t x)
{
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Bytes [off, off + len) of GET /data/<n>?seed=S (version 0). */
static HARNESS_UNUSED void content_fill(unsigned char *buf, uint64_t seed, uint64_t off, size_t len)
{
    uint64_t key = ph_splitmix64(seed ^ ph_splitmix64(0));
    size_t i = 0;
    while (i < len) {
        uint64_t pos = off + i;
        uint64_t w = ph_splitmix64((pos >> 3) ^ key);
        for (unsigned b = (unsigned)(pos & 7); b < 8 && i < len; b++, i++)
            buf[i] = (unsigned char)(w >> (8 * b));
    }
}

/* 1 when path holds exactly `size` bytes of the server's content for `seed`; otherwise 0, and
 * (when verbose) why on stderr. */
static HARNESS_UNUSED int content_file_ok(const char *path, uint64_t size, uint64_t seed, int verbose)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (verbose) fprintf(stderr, "content: cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    static unsigned char got[1 << 18], want[1 << 18];
    uint64_t off = 0;
    int ok = 1;
    for (;;) {
        ssize_t n = read(fd, got, sizeof got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ok = 0;
            break;
        }
        if (n == 0) break;
        if (off + (uint64_t)n > size) {
            if (verbose) fprintf(stderr, "content: %s is longer than %" PRIu64 "\n", path, size);
            ok = 0;
            break;
        }
        content_fill(want, seed, off, (size_t)n);
        if (memcmp(got, want, (size_t)n) != 0) {
            size_t k = 0;
            while (got[k] == want[k]) k++;
            if (verbose)
                fprintf(stderr, "content: %s differs at offset %" PRIu64 "\n", path, off + k);
            ok = 0;
            break;
        }
        off += (uint64_t)n;
    }
    close(fd);
    if (ok && off != size) {
        if (verbose)
            fprintf(stderr, "content: %s holds %" PRIu64 " bytes, want %" PRIu64 "\n", path, off,
                    size);
        ok = 0;
    }
    return ok;
}

/* ---- GUIDs ------------------------------------------------------------------------------- */

typedef struct guid_text_buf {
    char s[40];
} guid_text_buf;

static HARNESS_UNUSED guid_text_buf guid_text(const bg_guid *id)
{
    guid_text_buf t;
    size_t needed = 0;
    if (bg_guid_to_string(id, t.s, sizeof t.s, &needed) != S_OK) strcpy(t.s, "(bad guid)");
    return t;
}

static HARNESS_UNUSED int guid_parse(const char *text, bg_guid *out)
{
    return bg_guid_from_string(text, out) == S_OK;
}

/* ---- files ------------------------------------------------------------------------------- */

/* The bytes of a file (malloc'd) and its length; NULL if it cannot be read. */
static HARNESS_UNUSED char *db_snapshot(const char *path, size_t *len)
{
    return read_file(path, len);
}

/* Whether process `pid` has `path` open (one of /proc/<pid>/fd/ links to it). */
static HARNESS_UNUSED int process_has_open(pid_t pid, const char *path)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        char link[512], target[4096];
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strcmp(target, path) == 0) found = 1;
    }
    closedir(d);
    return found;
}

/* ---- child processes --------------------------------------------------------------------- */

#define MAX_CHILDREN 64

typedef struct child {
    pid_t pid;
    int to;   /* commands to the child (its fd 3) */
    int from; /* replies from the child (its fd 4) */
    char buf[8192];
    size_t len;
    char line[8192]; /* the last reply line */
} child;

static pid_t g_children[MAX_CHILDREN];

static HARNESS_UNUSED void kill_children_at_exit(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (g_children[i] > 0) {
            kill(g_children[i], SIGKILL);
            waitpid(g_children[i], NULL, 0);
            g_children[i] = 0;
        }
    }
}

static HARNESS_UNUSED void forget_child_pid(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] == pid) g_children[i] = 0;
}

/* Starts this executable again as `exe --child <args...>` (args NULL-terminated), with fd 3
 * reading c->to and fd 4 writing c->from. Exits the test when it cannot. */
static HARNESS_UNUSED void spawn_child(child *c, const char *const *args)
{
    static int registered;
    if (!registered) {
        atexit(kill_children_at_exit);
        registered = 1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "spawn_child: readlink /proc/self/exe: %s\n", strerror(errno));
        exit(1);
    }
    exe[n] = '\0';
    const char *argv[32];
    int argc = 0;
    argv[argc++] = exe;
    argv[argc++] = "--child";
    for (int i = 0; args[i] != NULL && argc < 31; i++) argv[argc++] = args[i];
    argv[argc] = NULL;
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) {
        fprintf(stderr, "spawn_child: pipe2: %s\n", strerror(errno));
        exit(1);
    }
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "spawn_child: fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        /* Move both ends above 4 first, so that neither dup2 closes the other. */
        int r = fcntl(down[0], F_DUPFD_CLOEXEC, 10);
        int w = fcntl(up[1], F_DUPFD_CLOEXEC, 10);
        if (r < 0 || w < 0 || dup2(r, 3) < 0 || dup2(w, 4) < 0) _exit(125);
        fcntl(3, F_SETFD, 0);
        fcntl(4, F_SETFD, 0);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    memset(c, 0, sizeof *c);
    c->pid = pid;
    c->to = down[1];
    c->from = up[0];
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (g_children[i] == 0) {
            g_children[i] = pid;
            break;
        }
    }
}

/* Reads one reply line (without its newline) into c->line within timeout_ms. Returns 1, or 0 on
 * a timeout or when the child closed its end. */
static HARNESS_UNUSED int child_read_line(child *c, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        char *nl = (char *)memchr(c->buf, '\n', c->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            memcpy(c->line, c->buf, n);
            c->line[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 1;
        }
        uint64_t now = now_ms();
        if (now >= end || c->len == sizeof c->buf) return 0;
        struct pollfd p = {.fd = c->from, .events = POLLIN};
        int pr = poll(&p, 1, (int)(end - now));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        ssize_t r = read(c->from, c->buf + c->len, sizeof c->buf - c->len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        c->len += (size_t)r;
    }
}

/* Sends one command line and waits (at most timeout_ms) for its reply, left in c->line.
 * Returns 1 when a reply came. */
static HARNESS_UNUSED __attribute__((format(printf, 3, 4))) int
child_cmd_t(child *c, uint64_t timeout_ms, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd - 1) return 0;
    cmd[n++] = '\n';
    const char *p = cmd;
    while (n > 0) {
        ssize_t w = write(c->to, p, (size_t)n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(c->line, sizeof c->line, "(child gone)");
            return 0;
        }
        p += w;
        n -= (int)w;
    }
    if (!child_read_line(c, timeout_ms)) {
        snprintf(c->line, sizeof c->line, "(no reply)");
        return 0;
    }
    return 1;
}

#define CHILD_CMD_TIMEOUT_MS 60000u

/* CHILD_OK(c, fmt, ...): the command's reply must start with "ok"; c->line holds it. */
#define CHILD_OK(c, ...)                                                              \
    do {                                                                              \
        int ok_ = child_cmd_t((c), CHILD_CMD_TIMEOUT_MS, __VA_ARGS__) &&              \
                  strncmp((c)->line, "ok", 2) == 0;                                   \
        CHECK_MSG(ok_, "child %d: command \"%s\" answered \"%s\"", (int)(c)->pid,     \
                  #__VA_ARGS__, (c)->line);                                           \
    } while (0)

#define REQUIRE_CHILD_OK(c, ...)                                                      \
    do {                                                                              \
        int ok_ = child_cmd_t((c), CHILD_CMD_TIMEOUT_MS, __VA_ARGS__) &&              \
                  strncmp((c)->line, "ok", 2) == 0;                                   \
        if (!ok_) fprintf(stderr, "child %d: command answered \"%s\"\n", (int)(c)->pid, \
                          (c)->line);                                                 \
        REQUIRE(ok_);                                                                 \
    } while (0)

/* Waits (at most timeout_ms) for the child to exit; returns its wait status, or -1 after
 * SIGKILLing it on a timeout. */
static HARNESS_UNUSED int child_wait_exit(child *c, uint64_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid) break;
        if (r < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (now_ms() >= end) {
            fprintf(stderr, "child %d did not exit within %" PRIu64 " ms; killing it\n",
                    (int)c->pid, timeout_ms);
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            status = -1;
            break;
        }
        sleep_ms(5);
    }
    forget_child_pid(c->pid);
    close(c->to);
    close(c->from);
    c->to = c->from = -1;
    return status;
}

/* Sends "exit" and checks that the child exits 0 (every check inside it passed). */
#define CHILD_EXIT_CLEAN(c)                                                           \
    do {                                                                              \
        (void)child_cmd_t((c), CHILD_CMD_TIMEOUT_MS, "exit");                         \
        int st_ = child_wait_exit((c), 60000);                                        \
        CHECK_MSG(st_ != -1 && WIFEXITED(st_) && WEXITSTATUS(st_) == 0,               \
                  "child %d ended with status 0x%x", (int)(c)->pid, (unsigned)st_);   \
    } while (0)

/* SIGKILLs the child and reaps it. */
static HARNESS_UNUSED void child_kill(child *c)
{
    kill(c->pid, SIGKILL);
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
    }
    forget_child_pid(c->pid);
    close(c->to);
    close(c->from);
    c->to = c->from = -1;
}

/* ---- the generic child -------------------------------------------------------------------- */

static HARNESS_UNUSED void child_reply(const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf - 1) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(4, p, (size_t)n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(4); /* the parent is gone */
        p += w;
        n -= (int)w;
    }
}

static HARNESS_UNUSED void child_reply_hr(bg_hresult hr)
{
    if (hr == S_OK) child_reply("ok");
    else child_reply("hr 0x%08" PRIX32 " %s", (uint32_t)hr, bg_hresult_message(hr));
}

/* Reads one command line from fd 3 (without the newline); 0 at EOF. */
static HARNESS_UNUSED int child_next_command(char *buf, size_t cap)
{
    static char in[16384];
    static size_t len;
    for (;;) {
        char *nl = (char *)memchr(in, '\n', len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - in);
            if (n >= cap) n = cap - 1;
            memcpy(buf, in, n);
            buf[n] = '\0';
            size_t used = (size_t)(nl - in) + 1;
            memmove(in, in + used, len - used);
            len -= used;
            return 1;
        }
        if (len == sizeof in) return 0;
        ssize_t r = read(3, in + len, sizeof in - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        len += (size_t)r;
    }
}

/* The text after the first `skip` space-separated words of line. */
static HARNESS_UNUSED const char *rest_after(const char *line, int skip)
{
    const char *p = line;
    for (int i = 0; i < skip; i++) {
        while (*p && *p != ' ') p++;
        if (*p == ' ') p++;
    }
    return p;
}

/* The generic child: answers commands on fd 3 with one line each on fd 4 until "exit" or EOF,
 * then exits 0 when every check inside passed (1 otherwise). One manager and one current job.
 *
 *   open DIR                  bg_manager_open                       ok | hr ...
 *   option OPT VALUE          bg_manager_set_option                 ok | hr ...
 *   create NAME               create a download job (current)       ok GUID
 *   get GUID                  bg_manager_get_job (current)          ok | hr ...
 *   addfile URL LOCAL         bg_job_add_file                       ok | hr ...
 *   resume|suspend|cancel|complete                                  ok | hr ... (complete: ok HR)
 *   setdesc TEXT / setname TEXT                                     ok | hr ...
 *   setdescloop N / setnameloop N   set "c-0" .. "c-(N-1)" N times  ok | fail I HR
 *   waitdesc MS TEXT / waitname MS TEXT   poll until equal            ok | timeout CURRENT
 *   waitstate MS STATE        poll until the state is STATE         ok | timeout STATE
 *   waitnotstate MS STATE     poll until the state is not STATE     ok STATE | timeout
 *   waitbytes MS N            poll until job bytes >= N             ok BYTES | timeout BYTES
 *   waitfiles MS N            poll until the file count is N        ok | timeout COUNT
 *   state                     ok STATE
 *   progress                  ok BYTES TOTAL FILES_DONE FILES
 *   fileprogress I            ok BYTES TOTAL COMPLETED
 *   tempname I                ok PATH | none
 *   desc / name               ok TEXT
 *   times                     ok CREATION MODIFICATION COMPLETION
 *   release                   bg_job_release of the current job     ok
 *   close                     bg_manager_close                      ok | hr ...
 *   exit                      replies "bye" and exits
 */
static HARNESS_UNUSED int child_serve(void)
{
    bg_manager m = 0;
    bg_job job = 0;
    char line[8192];
    while (child_next_command(line, sizeof line)) {
        char cmd[64] = "";
        sscanf(line, "%63s", cmd);
        const char *arg = rest_after(line, 1);
        if (strcmp(cmd, "open") == 0) {
            child_reply_hr(bg_manager_open(arg, &m));
        } else if (strcmp(cmd, "option") == 0) {
            int opt = 0;
            unsigned long long v = 0;
            sscanf(arg, "%d %llu", &opt, &v);
            child_reply_hr(bg_manager_set_option(m, opt, (uint64_t)v));
        } else if (strcmp(cmd, "create") == 0) {
            bg_guid id;
            bg_hresult hr = bg_manager_create_job(m, arg, BG_JOB_TYPE_DOWNLOAD, &id, &job);
            if (hr == S_OK) child_reply("ok %s", guid_text(&id).s);
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "get") == 0) {
            bg_guid id;
            if (!guid_parse(arg, &id)) {
                child_reply("bad guid");
                continue;
            }
            child_reply_hr(bg_manager_get_job(m, &id, &job));
        } else if (strcmp(cmd, "addfile") == 0) {
            char url[4096] = "", local[4096] = "";
            sscanf(arg, "%4095s %4095s", url, local);
            child_reply_hr(bg_job_add_file(job, url, local));
        } else if (strcmp(cmd, "resume") == 0) {
            child_reply_hr(bg_job_resume(job));
        } else if (strcmp(cmd, "suspend") == 0) {
            child_reply_hr(bg_job_suspend(job));
        } else if (strcmp(cmd, "cancel") == 0) {
            child_reply_hr(bg_job_cancel(job));
        } else if (strcmp(cmd, "complete") == 0) {
            bg_hresult hr = bg_job_complete(job);
            if (BG_SUCCEEDED(hr)) child_reply("ok 0x%08" PRIX32, (uint32_t)hr);
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "setdesc") == 0) {
            child_reply_hr(bg_job_set_description(job, arg));
        } else if (strcmp(cmd, "setname") == 0) {
            child_reply_hr(bg_job_set_display_name(job, arg));
        } else if (strcmp(cmd, "setdescloop") == 0 || strcmp(cmd, "setnameloop") == 0) {
            int n = atoi(arg), bad = -1;
            bg_hresult hr = S_OK;
            for (int i = 0; i < n && bad < 0; i++) {
                char text[64];
                snprintf(text, sizeof text, "c-%d", i);
                hr = cmd[3] == 'd' ? bg_job_set_description(job, text)
                                   : bg_job_set_display_name(job, text);
                if (hr != S_OK) bad = i;
            }
            if (bad < 0) child_reply("ok");
            else child_reply("fail %d 0x%08" PRIX32 " %s", bad, (uint32_t)hr, bg_hresult_message(hr));
        } else if (strcmp(cmd, "waitdesc") == 0 || strcmp(cmd, "waitname") == 0) {
            unsigned long ms = strtoul(arg, NULL, 10);
            const char *want = rest_after(arg, 1);
            uint64_t end = now_ms() + ms;
            char cur[2048] = "";
            int ok = 0;
            for (;;) {
                size_t needed = 0;
                cur[0] = '\0';
                if (cmd[4] == 'd') bg_job_get_description(job, cur, sizeof cur, &needed);
                else bg_job_get_display_name(job, cur, sizeof cur, &needed);
                if (strcmp(cur, want) == 0) {
                    ok = 1;
                    break;
                }
                if (now_ms() >= end) break;
                sleep_ms(5);
            }
            if (ok) child_reply("ok");
            else child_reply("timeout %s", cur);
        } else if (strcmp(cmd, "waitstate") == 0 || strcmp(cmd, "waitnotstate") == 0) {
            unsigned long ms = 0;
            int want = -1;
            sscanf(arg, "%lu %d", &ms, &want);
            int neg = cmd[4] == 'n';
            uint64_t end = now_ms() + ms;
            bg_job_state s;
            for (;;) {
                s = job_state(job);
                if (neg ? s != want : s == want) break;
                if (now_ms() >= end) break;
                sleep_ms(5);
            }
            if (neg ? s != want : s == want) child_reply("ok %d", s);
            else child_reply("timeout %d %s", s, state_name(s));
        } else if (strcmp(cmd, "waitbytes") == 0) {
            unsigned long ms = 0;
            unsigned long long want = 0;
            sscanf(arg, "%lu %llu", &ms, &want);
            uint64_t end = now_ms() + ms;
            bg_job_progress p;
            memset(&p, 0, sizeof p);
            for (;;) {
                if (bg_job_get_progress(job, &p) == S_OK && p.bytes_transferred >= want) break;
                if (now_ms() >= end) break;
                sleep_ms(5);
            }
            if (p.bytes_transferred >= want) child_reply("ok %" PRIu64, p.bytes_transferred);
            else child_reply("timeout %" PRIu64, p.bytes_transferred);
        } else if (strcmp(cmd, "waitfiles") == 0) {
            unsigned long ms = 0;
            unsigned want = 0;
            sscanf(arg, "%lu %u", &ms, &want);
            uint64_t end = now_ms() + ms;
            uint32_t n = 0;
            for (;;) {
                if (bg_job_get_file_count(job, &n) == S_OK && n == want) break;
                if (now_ms() >= end) break;
                sleep_ms(5);
            }
            if (n == want) child_reply("ok");
            else child_reply("timeout %u", n);
        } else if (strcmp(cmd, "state") == 0) {
            child_reply("ok %d", job_state(job));
        } else if (strcmp(cmd, "progress") == 0) {
            bg_job_progress p;
            bg_hresult hr = bg_job_get_progress(job, &p);
            if (hr == S_OK)
                child_reply("ok %" PRIu64 " %" PRIu64 " %u %u", p.bytes_transferred,
                            p.bytes_total, p.files_transferred, p.files_total);
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "fileprogress") == 0) {
            bg_file_progress p;
            bg_hresult hr = bg_job_get_file_progress(job, (uint32_t)atoi(arg), &p);
            if (hr == S_OK)
                child_reply("ok %" PRIu64 " %" PRIu64 " %d", p.bytes_transferred, p.bytes_total,
                            p.completed);
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "tempname") == 0) {
            char path[4096] = "";
            size_t needed = 0;
            bg_hresult hr = bg_job_get_file_temp_name(job, (uint32_t)atoi(arg), path, sizeof path,
                                                      &needed);
            if (hr == S_OK) child_reply("ok %s", path);
            else if (hr == S_FALSE) child_reply("none");
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "desc") == 0 || strcmp(cmd, "name") == 0) {
            char cur[2048] = "";
            size_t needed = 0;
            bg_hresult hr = cmd[0] == 'd' ? bg_job_get_description(job, cur, sizeof cur, &needed)
                                          : bg_job_get_display_name(job, cur, sizeof cur, &needed);
            if (hr == S_OK) child_reply("ok %s", cur);
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "times") == 0) {
            bg_job_times t;
            bg_hresult hr = bg_job_get_times(job, &t);
            if (hr == S_OK)
                child_reply("ok %" PRId64 " %" PRId64 " %" PRId64, t.creation_time,
                            t.modification_time, t.transfer_completion_time);
            else child_reply_hr(hr);
        } else if (strcmp(cmd, "release") == 0) {
            child_reply_hr(bg_job_release(job));
            job = 0;
        } else if (strcmp(cmd, "close") == 0) {
            child_reply_hr(bg_manager_close(m));
            m = 0;
            job = 0;
        } else if (strcmp(cmd, "exit") == 0) {
            child_reply("bye");
            break;
        } else {
            child_reply("unknown command %s", cmd);
        }
    }
    fflush(stdout);
    fflush(stderr);
    return harness_failed_ ? 1 : 0;
}

#endif /* BGCOPY_C_TESTS_PERSIST_HELPERS_H */
