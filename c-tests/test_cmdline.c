/*
 * test_cmdline.c — the command-line notification (spec §3.3 SetNotifyCmdLine, §3.9):
 *
 *   - set / get / remove, argument checks, refused on ended jobs;
 *   - the program runs on TRANSFERRED and on ERROR, directly (execve: argv array, no shell):
 *     arguments with spaces, quotes, $, `, ;, |, *, newlines, empty strings, non-ASCII arrive
 *     verbatim, and shell syntax in them does nothing; a #!/bin/sh script works as the program;
 *   - when it runs and when not: no callbacks / callbacks that take the event / callbacks for
 *     the other event / an all-NULL callback struct / DISABLE / flags without JOB_TRANSFERRED
 *     or JOB_ERROR (BITS: "call SetNotifyFlags to specify when the program runs"; the
 *     MODIFICATION and FILE flags are ignored) / set after the event / removed;
 *   - a failing program (exit status != 0) runs again after MinimumRetryDelay (not sooner than
 *     the manager's retry floor) while the job stays in the state; not after it succeeded, nor
 *     after Complete or Cancel;
 *   - other processes: a job created by a process that has exited runs its command line in the
 *     process that holds the engine lease (the lease holder was already running; or it opens
 *     the state directory after the creator died); after a restart the new lease holder reruns
 *     a command that had failed, and never one that succeeded or whose event a callback took.
 *
 * The program is this very executable started as `test_cmdline --record OUT ARGS...`: each run
 * writes its parent pid and its arguments (NUL-separated) to OUT.<n> (n = 1, 2, ...), and exits
 * 1 while OUT.fail exists or while n <= the number in OUT.failn, else 0. Child processes are
 * this executable too (`--child MODE ...`), started by fork + exec (never a bare fork).
 *
 * Synchronisation: bg_job_wait, bounded polls for OUT.<n>. "Does not run" can only be observed
 * as the absence of a file another process would write: after every event that must happen
 * has been seen (the runs that must happen, the callbacks that must fire), the test waits a
 * bounded extra NEG_WAIT_MS once per batch and then checks that no unexpected run appeared.
 */
#include "harness.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define KIB ((uint64_t)1024)
/* The bounded extra wait behind "does not run" checks (see the header comment). The library
 * starts a command as soon as it decides to; a started run writes its file within
 * milliseconds, so 2 s leaves a wide margin. */
#define NEG_WAIT_MS 2000u

static uint32_t g_wait_ms = 20000;
static char g_self[4096];
static char g_root[1024];

/* ---- the recorder (this executable with --record) ------------------------------------------ */

static int record_main(int argc, char **argv)
{
    const char *out = argv[2];
    char path[4300], tmp[4300];
    int k = 0;
    for (int i = 1; i < 10000; i++) {
        snprintf(path, sizeof path, "%s.%d.claim", out, i);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd >= 0) {
            close(fd);
            k = i;
            break;
        }
        if (errno != EEXIST) return 2;
    }
    if (k == 0) return 2;
    size_t cap = 65536, len = 0;
    char *buf = (char *)malloc(cap);
    if (buf == NULL) return 2;
    len = (size_t)snprintf(buf, cap, "ppid %d\n", (int)getppid());
    for (int i = 3; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (len + n > cap) return 2;
        memcpy(buf + len, argv[i], n);
        len += n;
    }
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", out, k);
    snprintf(path, sizeof path, "%s.%d", out, k);
    if (write_file(tmp, buf, len) != 0 || rename(tmp, path) != 0) return 2;
    free(buf);
    snprintf(path, sizeof path, "%s.fail", out);
    if (file_exists(path)) return 1;
    snprintf(path, sizeof path, "%s.failn", out);
    char *text = read_file(path, NULL);
    if (text != NULL) {
        int n = atoi(text);
        free(text);
        if (k <= n) return 1;
    }
    return 0;
}

/* One recorded run. */
typedef struct run {
    int ppid;
    int argc;
    char *argv[128];
    char *text;
} run;

static void run_free(run *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* Reads OUT.<k>; 1 when it exists and parses. */
static int read_run(const char *out, int k, run *r)
{
    memset(r, 0, sizeof *r);
    char path[4300];
    snprintf(path, sizeof path, "%s.%d", out, k);
    size_t len = 0;
    r->text = read_file(path, &len);
    if (r->text == NULL) return 0;
    char *nl = memchr(r->text, '\n', len);
    if (nl == NULL || sscanf(r->text, "ppid %d", &r->ppid) != 1) return 0;
    char *p = nl + 1, *end = r->text + len;
    while (p < end && r->argc < 128) {
        r->argv[r->argc++] = p;
        p += strlen(p) + 1;
    }
    return 1;
}

static int run_exists(const char *out, int k)
{
    char path[4300];
    snprintf(path, sizeof path, "%s.%d", out, k);
    return file_exists(path);
}

/* Number of completed runs (OUT.1, OUT.2, ... present). */
static int run_count(const char *out)
{
    int n = 0;
    while (run_exists(out, n + 1)) n++;
    return n;
}

/* The pid that started run 1 of OUT (its parent), or 0. */
static int who_ran(const char *out)
{
    run r;
    int pid = read_run(out, 1, &r) ? r.ppid : 0;
    run_free(&r);
    return pid;
}

/* Bounded poll until OUT.<k> exists. */
static int wait_run(const char *out, int k)
{
    uint64_t deadline = now_ms() + g_wait_ms;
    for (;;) {
        if (run_exists(out, k)) return 1;
        if (now_ms() > deadline) return 0;
        sleep_ms(2);
    }
}

/* ---- the arguments: every one must arrive verbatim ---------------------------------------- */

#define MAX_ARGS 64
typedef struct arglist {
    int n;
    const char *v[MAX_ARGS];
    char store[MAX_ARGS][512];
} arglist;

static void add_arg(arglist *a, const char *s)
{
    REQUIRE(a->n < MAX_ARGS && strlen(s) < sizeof a->store[0]);
    snprintf(a->store[a->n], sizeof a->store[0], "%s", s);
    a->v[a->n] = a->store[a->n];
    a->n++;
}

/* "--record OUT" and arguments a shell would change or act on. The sentinels are files in
 * OUT's directory that a shell would create. */
static void build_args(arglist *a, const char *out)
{
    static const char *const fixed[] = {
        "plain", "two words", "  padded  ", "", "$HOME", "${PATH}", "*", "?", "~", "[a-z]*",
        "'single quoted'", "\"double quoted\"", "back\\slash", "line1\nline2", "tab\there",
        "a|b", "x && y", "<in", ">out", "#not a comment", "%PATH%", "--flag=value",
        "ünïcödé ✓", "; ", "-"};
    memset(a, 0, sizeof *a);
    add_arg(a, "--record");
    add_arg(a, out);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) add_arg(a, fixed[i]);
    char s[512];
    snprintf(s, sizeof s, "$(touch %s.sentinel1)", out);
    add_arg(a, s);
    snprintf(s, sizeof s, "`touch %s.sentinel2`", out);
    add_arg(a, s);
    snprintf(s, sizeof s, "; touch %s.sentinel3", out);
    add_arg(a, s);
    snprintf(s, sizeof s, "&& touch %s.sentinel4 &", out);
    add_arg(a, s);
}

static int sentinels_absent(const char *out)
{
    char p[4300];
    for (int i = 1; i <= 4; i++) {
        snprintf(p, sizeof p, "%s.sentinel%d", out, i);
        if (file_exists(p)) return 0;
    }
    return 1;
}

/* Checks that run k of OUT got exactly the arguments after "--record OUT". */
static void check_run_args(const char *out, int k, const arglist *a, int want_ppid)
{
    run r;
    int ok = read_run(out, k, &r);
    CHECK_MSG(ok, "run %d of %s: no record", k, out);
    if (!ok) {
        run_free(&r);
        return;
    }
    if (want_ppid > 0)
        CHECK_MSG(r.ppid == want_ppid, "run %d was started by pid %d, expected %d", k, r.ppid,
                  want_ppid);
    CHECK_MSG(r.argc == a->n - 2, "run %d got %d arguments, expected %d", k, r.argc, a->n - 2);
    for (int i = 0; i < r.argc && i + 2 < a->n; i++)
        CHECK_MSG(strcmp(r.argv[i], a->v[i + 2]) == 0, "argument %d: got [%s] expected [%s]",
                  i + 1, r.argv[i], a->v[i + 2]);
    CHECK_MSG(sentinels_absent(out), "a shell ran: a sentinel file of %s exists", out);
    run_free(&r);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static int g_seq;

typedef struct jobfiles {
    char dir[1100];
    char src[1300];
    char dst[1300];
    char out[1300]; /* the recorder's OUT */
} jobfiles;

/* A fresh directory; src (created unless missing), dst and out paths in it. */
static void make_files(jobfiles *f, const char *tag, int missing)
{
    char name[128];
    snprintf(name, sizeof name, "%s-%d", tag, ++g_seq);
    REQUIRE(path_join(f->dir, sizeof f->dir, g_root, name) != NULL);
    REQUIRE(mkdir(f->dir, 0700) == 0);
    REQUIRE(path_join(f->src, sizeof f->src, f->dir, "src.bin") != NULL);
    REQUIRE(path_join(f->dst, sizeof f->dst, f->dir, "dst.bin") != NULL);
    REQUIRE(path_join(f->out, sizeof f->out, f->dir, "run") != NULL);
    if (!missing) REQUIRE(make_pattern_file(f->src, 24 * KIB, 77) == 0);
}

static bg_job job_with_file(bg_manager m, const char *tag, const jobfiles *f)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(m, tag, BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    char url[1400];
    REQUIRE(file_url(url, sizeof url, f->src) != NULL);
    REQUIRE_OK(bg_job_add_file(job, url, f->dst));
    return job;
}

/* Sets the recorder (this executable) as the job's command line, writing to f->out. */
static bg_hresult set_recorder(bg_job job, const char *out, arglist *a)
{
    build_args(a, out);
    return bg_job_set_notify_cmd_line(job, g_self, a->v, (size_t)a->n);
}

#define WAIT_SETTLED(job, expected)                                                   \
    do {                                                                              \
        bg_job_state st_ = -1;                                                        \
        CHECK_OK(bg_job_wait((job), g_wait_ms, &st_));                                \
        CHECK_EQ_INT(st_, (expected));                                                \
    } while (0)

/* ---- child processes ------------------------------------------------------------------------- */

#define MAX_CHILDREN 16
static pid_t g_children[MAX_CHILDREN];

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (g_children[i] > 0) {
            kill(g_children[i], SIGKILL);
            waitpid(g_children[i], NULL, 0);
            g_children[i] = 0;
        }
    }
}

static void forget_child(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] == pid) g_children[i] = 0;
}

typedef struct child {
    pid_t pid;
    int from; /* its stdout */
    char line[4096];
} child;

/* Starts `self --child <args...>` with its stdout on a pipe. */
static void spawn_child(child *c, const char *const *args)
{
    static int registered;
    if (!registered) {
        atexit(kill_children);
        registered = 1;
    }
    const char *argv[16];
    int argc = 0;
    argv[argc++] = g_self;
    argv[argc++] = "--child";
    for (int i = 0; args[i] != NULL && argc < 15; i++) argv[argc++] = args[i];
    argv[argc] = NULL;
    int up[2];
    REQUIRE(pipe2(up, O_CLOEXEC) == 0);
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        if (dup2(up[1], 1) < 0) _exit(125);
        execv(g_self, (char *const *)argv);
        _exit(127);
    }
    close(up[1]);
    memset(c, 0, sizeof *c);
    c->pid = pid;
    c->from = up[0];
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (g_children[i] == 0) {
            g_children[i] = pid;
            break;
        }
    }
}

/* Reads the child's one-line answer ("ok GUID" or an error) within the bound. */
static int child_answer(child *c)
{
    size_t len = 0;
    uint64_t end = now_ms() + g_wait_ms;
    c->line[0] = '\0';
    while (len + 1 < sizeof c->line) {
        uint64_t now = now_ms();
        if (now >= end) break;
        struct pollfd p = {.fd = c->from, .events = POLLIN};
        int pr = poll(&p, 1, (int)(end - now));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        ssize_t r = read(c->from, c->line + len, sizeof c->line - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
        c->line[len] = '\0';
        if (memchr(c->line, '\n', len)) break;
    }
    char *nl = strchr(c->line, '\n');
    if (nl) *nl = '\0';
    return strncmp(c->line, "ok ", 3) == 0;
}

static void child_kill(child *c)
{
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    forget_child(c->pid);
    close(c->from);
}

/* Waits (bounded) for the child to exit by itself; its status, or -1 (then it is killed). */
static int child_exit(child *c)
{
    uint64_t end = now_ms() + g_wait_ms;
    int status = -1;
    for (;;) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid) break;
        if (now_ms() > end) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            status = -1;
            break;
        }
        sleep_ms(2);
    }
    forget_child(c->pid);
    close(c->from);
    return status;
}

static int guid_parse(const char *text, bg_guid *out)
{
    return bg_guid_from_string(text, out) == S_OK;
}

/* The child side. Modes (each answers one line on stdout, "ok GUID" or "fail ..."):
 *   resume-exit DIR SRC DST OUT     create, add, command line, Resume, answer, exit at once
 *   noresume-stay DIR SRC DST OUT   create, add (source may be missing), command line, answer,
 *                                   then stay until killed
 *   transferred-stay DIR SRC DST OUT   ... Resume, wait for TRANSFERRED, answer, stay
 *   callback-stay DIR SRC DST OUT   ... with a JobTransferred callback; answer after it ran, stay
 * An optional 7th argument sets the job's notify flags (e.g. 0x7: DISABLE).
 */
static atomic_int g_child_cb;
static void child_cb_transferred(void *ud, bg_job job)
{
    (void)ud;
    (void)job;
    atomic_store(&g_child_cb, 1);
}

static void child_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void child_say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(1, buf, (size_t)n) < 0) _exit(4);
}

static int child_main(int argc, char **argv)
{
    if (argc < 7) {
        child_say("fail usage");
        return 2;
    }
    const char *mode = argv[2], *dir = argv[3], *src = argv[4], *dst = argv[5], *out = argv[6];
    bg_manager m = 0;
    bg_job job = 0;
    bg_guid id;
    bg_hresult hr = bg_manager_open(dir, &m);
    if (hr != S_OK) {
        child_say("fail open 0x%08" PRIX32, (uint32_t)hr);
        return 1;
    }
    hr = bg_manager_create_job(m, mode, BG_JOB_TYPE_DOWNLOAD, &id, &job);
    char url[4200];
    snprintf(url, sizeof url, "file://%s", src);
    if (hr == S_OK) hr = bg_job_add_file(job, url, dst);
    arglist a;
    if (hr == S_OK) hr = set_recorder(job, out, &a);
    if (hr == S_OK && argc >= 8) hr = bg_job_set_notify_flags(job, (uint32_t)strtoul(argv[7], NULL, 0));
    int with_cb = strcmp(mode, "callback-stay") == 0;
    if (hr == S_OK && with_cb) {
        bg_job_callbacks cbs = {child_cb_transferred, NULL, NULL, NULL};
        hr = bg_job_set_callbacks(job, &cbs, NULL, NULL);
    }
    if (hr != S_OK) {
        child_say("fail setup 0x%08" PRIX32, (uint32_t)hr);
        return 1;
    }
    if (strcmp(mode, "noresume-stay") != 0) {
        hr = bg_job_resume(job);
        if (hr != S_OK) {
            child_say("fail resume 0x%08" PRIX32, (uint32_t)hr);
            return 1;
        }
    }
    if (strcmp(mode, "transferred-stay") == 0 || with_cb) {
        bg_job_state st = -1;
        hr = bg_job_wait(job, 60000, &st);
        if (hr != S_OK || st != BG_JOB_STATE_TRANSFERRED) {
            child_say("fail wait 0x%08" PRIX32 " state %d", (uint32_t)hr, (int)st);
            return 1;
        }
    }
    if (with_cb) {
        uint64_t end = now_ms() + 60000;
        while (!atomic_load(&g_child_cb) && now_ms() < end) sleep_ms(2);
        if (!atomic_load(&g_child_cb)) {
            child_say("fail the JobTransferred callback never ran");
            return 1;
        }
    }
    char text[64];
    size_t needed = 0;
    bg_guid_to_string(&id, text, sizeof text, &needed);
    child_say("ok %s", text);
    if (strcmp(mode, "resume-exit") == 0) _exit(0); /* at once: no close, no cleanup */
    for (;;) pause();                               /* until killed */
}

/* ---- 1. set / get / remove -------------------------------------------------------------------- */

static void test_set_get(void)
{
    printf("== set / get / remove, argument checks\n");
    fflush(stdout);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    jobfiles f;
    make_files(&f, "setget", 0);
    bg_job job = job_with_file(m, "setget", &f);
    char buf[4200];
    size_t needed = 0;
    buf[0] = 'x';
    CHECK_HR(S_FALSE, bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "");
    CHECK_EQ_INT(needed, 1);

    arglist a;
    CHECK_OK(set_recorder(job, f.out, &a));
    CHECK_OK(bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, g_self);
    CHECK_EQ_INT(needed, strlen(g_self) + 1);
    char tiny[4];
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_job_get_notify_cmd_line(job, tiny, sizeof tiny, &needed));
    CHECK_EQ_INT(needed, strlen(g_self) + 1);
    CHECK_HR(E_INVALIDARG, bg_job_get_notify_cmd_line(job, buf, sizeof buf, NULL));

    /* Refused arguments leave the command line as it was. */
    const char *one[] = {"x"};
    const char *with_null[] = {"x", NULL};
    CHECK_HR(E_INVALIDARG, bg_job_set_notify_cmd_line(job, "bin/true", NULL, 0));
    CHECK_HR(E_INVALIDARG, bg_job_set_notify_cmd_line(job, "true", one, 1));
    CHECK_HR(E_INVALIDARG, bg_job_set_notify_cmd_line(job, NULL, one, 1));
    CHECK_HR(E_INVALIDARG, bg_job_set_notify_cmd_line(job, NULL, NULL, 1));
    CHECK_HR(E_INVALIDARG, bg_job_set_notify_cmd_line(job, "/bin/true", NULL, 2));
    CHECK_HR(E_INVALIDARG, bg_job_set_notify_cmd_line(job, "/bin/true", with_null, 2));
    static char big[5001];
    memset(big, 'a', sizeof big - 1);
    const char *bigv[] = {big};
    CHECK_HR(BG_E_STRING_TOO_LONG, bg_job_set_notify_cmd_line(job, "/bin/true", bigv, 1));
    static char longprog[4200];
    memset(longprog, 'p', sizeof longprog - 1);
    longprog[0] = '/';
    CHECK_HR(BG_E_STRING_TOO_LONG, bg_job_set_notify_cmd_line(job, longprog, NULL, 0));
    CHECK_OK(bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, g_self);
    CHECK_HR(E_HANDLE, bg_job_set_notify_cmd_line(0, "/bin/true", NULL, 0));
    CHECK_HR(E_HANDLE, bg_job_get_notify_cmd_line(0, buf, sizeof buf, &needed));

    /* No arguments at all is fine; NULL removes. */
    CHECK_OK(bg_job_set_notify_cmd_line(job, "/bin/true", NULL, 0));
    CHECK_OK(bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "/bin/true");
    CHECK_OK(bg_job_set_notify_cmd_line(job, NULL, NULL, 0));
    CHECK_HR(S_FALSE, bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
    CHECK_STR(buf, "");

    CHECK_OK(bg_job_cancel(job));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_notify_cmd_line(job, "/bin/true", NULL, 0));
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_notify_cmd_line(job, NULL, NULL, 0));
    CHECK_HR(S_FALSE, bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 2. when it runs: one batch of jobs in one process ----------------------------------------- */

enum { CB_NONE, CB_T, CB_E, CB_TE, CB_EMPTY };
enum { OUT_T, OUT_E };

typedef struct mspec {
    const char *name;
    int flags;      /* -1: default */
    int cb;         /* CB_* */
    int outcome;    /* OUT_T or OUT_E */
    int set_after;  /* set the command line once the job has settled */
    int remove;     /* set, then remove before the transfer */
    int want_run;   /* the command must run (else: must not) */
    int want_cb;    /* the callback must fire */
} mspec;

typedef struct mcase {
    const mspec *s;
    const char *name;
    jobfiles f;
    arglist a;
    bg_job job;
    atomic_int t_calls, e_calls;
} mcase;

static void m_cb_t(void *ud, bg_job job)
{
    (void)job;
    atomic_fetch_add(&((mcase *)ud)->t_calls, 1);
}
static void m_cb_e(void *ud, bg_job job, const bg_job_error *e)
{
    (void)job;
    (void)e;
    atomic_fetch_add(&((mcase *)ud)->e_calls, 1);
}

static void test_when_it_runs(void)
{
    printf("== when the command line runs, and when not (one batch)\n");
    fflush(stdout);
    static const mspec specs[] = {
        /* name                                   flags cb        outcome after rm run cb */
        {"TRANSFERRED, no callbacks", -1, CB_NONE, OUT_T, 0, 0, 1, 0},
        {"ERROR, no callbacks", -1, CB_NONE, OUT_E, 0, 0, 1, 0},
        {"TRANSFERRED taken by a callback", -1, CB_T, OUT_T, 0, 0, 0, 1},
        {"ERROR taken by a callback", -1, CB_E, OUT_E, 0, 0, 0, 1},
        {"TRANSFERRED, only a JobError callback", -1, CB_E, OUT_T, 0, 0, 1, 0},
        {"ERROR, only a JobTransferred callback", -1, CB_T, OUT_E, 0, 0, 1, 0},
        {"TRANSFERRED, callbacks all NULL", -1, CB_EMPTY, OUT_T, 0, 0, 1, 0},
        {"TRANSFERRED, both callbacks", -1, CB_TE, OUT_T, 0, 0, 0, 1},
        {"TRANSFERRED, DISABLE", 0x7, CB_NONE, OUT_T, 0, 0, 0, 0},
        {"ERROR, DISABLE", 0x7, CB_NONE, OUT_E, 0, 0, 0, 0},
        {"TRANSFERRED, DISABLE with a callback", 0x1F, CB_T, OUT_T, 0, 0, 0, 0},
        {"TRANSFERRED, flags 0x19 (MOD/FILE ignored)", 0x19, CB_NONE, OUT_T, 0, 0, 1, 0},
        {"ERROR, flags 0x1A (MOD/FILE ignored)", 0x1A, CB_NONE, OUT_E, 0, 0, 1, 0},
        {"TRANSFERRED, flags 0x2 (no JOB_TRANSFERRED)", 0x2, CB_NONE, OUT_T, 0, 0, 0, 0},
        {"ERROR, flags 0x1 (no JOB_ERROR)", 0x1, CB_NONE, OUT_E, 0, 0, 0, 0},
        {"TRANSFERRED, flags 0x18 (MOD/FILE only)", 0x18, CB_NONE, OUT_T, 0, 0, 0, 0},
        {"TRANSFERRED, set after the event", -1, CB_NONE, OUT_T, 1, 0, 1, 0},
        {"ERROR, set after the event", -1, CB_NONE, OUT_E, 1, 0, 1, 0},
        {"TRANSFERRED, DISABLE, set after the event", 0x7, CB_NONE, OUT_T, 1, 0, 0, 0},
        {"TRANSFERRED, flags 0x2, set after the event", 0x2, CB_NONE, OUT_T, 1, 0, 0, 0},
        {"TRANSFERRED taken by a callback, set after", -1, CB_T, OUT_T, 1, 0, 0, 1},
        {"TRANSFERRED, set then removed", -1, CB_NONE, OUT_T, 0, 1, 0, 0},
    };
    enum { N = sizeof specs / sizeof specs[0] };
    const int n = (int)N;
    static mcase cases[N];
    for (int i = 0; i < n; i++) {
        cases[i].s = &specs[i];
        cases[i].name = specs[i].name;
    }
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    for (int i = 0; i < n; i++) {
        mcase *c = &cases[i];
        make_files(&c->f, "when", c->s->outcome == OUT_E);
        c->job = job_with_file(m, "when", &c->f);
        if (c->s->flags >= 0) CHECK_OK(bg_job_set_notify_flags(c->job, (uint32_t)c->s->flags));
        if (c->s->cb != CB_NONE) {
            bg_job_callbacks cbs = {NULL, NULL, NULL, NULL};
            if (c->s->cb == CB_T || c->s->cb == CB_TE) cbs.job_transferred = m_cb_t;
            if (c->s->cb == CB_E || c->s->cb == CB_TE) cbs.job_error = m_cb_e;
            CHECK_OK(bg_job_set_callbacks(c->job, &cbs, c, NULL));
        }
        if (!c->s->set_after) CHECK_OK(set_recorder(c->job, c->f.out, &c->a));
        if (c->s->remove) CHECK_OK(bg_job_set_notify_cmd_line(c->job, NULL, NULL, 0));
    }
    for (int i = 0; i < n; i++) CHECK_OK(bg_job_resume(cases[i].job));
    for (int i = 0; i < n; i++) {
        mcase *c = &cases[i];
        WAIT_SETTLED(c->job, c->s->outcome == OUT_T ? BG_JOB_STATE_TRANSFERRED : BG_JOB_STATE_ERROR);
        if (c->s->want_cb) {
            /* The callback takes the event before the command line is set afterwards. */
            atomic_int *calls = c->s->outcome == OUT_T ? &c->t_calls : &c->e_calls;
            uint64_t end = now_ms() + g_wait_ms;
            while (atomic_load(calls) == 0 && now_ms() < end) sleep_ms(1);
            CHECK_MSG(atomic_load(calls) == 1, "%s: the callback did not fire", c->name);
        }
        if (c->s->set_after) CHECK_OK(set_recorder(c->job, c->f.out, &c->a));
    }
    /* The runs that must happen. */
    for (int i = 0; i < n; i++) {
        mcase *c = &cases[i];
        if (!c->s->want_run) continue;
        CHECK_MSG(wait_run(c->f.out, 1), "%s: the command line did not run within %u ms",
                  c->name, g_wait_ms);
    }
    /* Bounded extra wait: a wrong run would be started by now and write within it. */
    sleep_ms(NEG_WAIT_MS);
    for (int i = 0; i < n; i++) {
        mcase *c = &cases[i];
        int runs = run_count(c->f.out);
        if (c->s->want_run) {
            CHECK_MSG(runs == 1, "%s: ran %d times, expected once", c->name, runs);
            if (runs >= 1) check_run_args(c->f.out, 1, &c->a, (int)getpid());
        } else {
            CHECK_MSG(runs == 0, "%s: the command line ran (%d time(s)) but must not", c->name,
                      runs);
        }
        if (!c->s->want_cb)
            CHECK_MSG(atomic_load(&c->t_calls) + atomic_load(&c->e_calls) == 0,
                      "%s: a callback fired", c->name);
        CHECK_OK(bg_job_cancel(c->job));
        CHECK_OK(bg_job_release(c->job));
    }
    CHECK_OK(bg_manager_close(m));
}

/* ---- 3. a #!/bin/sh script as the program ----------------------------------------------------------- */

static void test_script(void)
{
    printf("== a #!/bin/sh script as the program, on ERROR\n");
    fflush(stdout);
    jobfiles f;
    make_files(&f, "script", 1);
    char script[1300], out[1300];
    REQUIRE(path_join(script, sizeof script, f.dir, "notify.sh") != NULL);
    REQUIRE(path_join(out, sizeof out, f.dir, "script-out") != NULL);
    static const char body[] = "#!/bin/sh\n"
                               "out=\"$1\"\n"
                               "shift\n"
                               "printf '%s\\0' \"$@\" > \"$out.tmp\" && mv \"$out.tmp\" \"$out\"\n";
    REQUIRE(write_file(script, body, sizeof body - 1) == 0);
    REQUIRE(chmod(script, 0755) == 0);
    char sentinel[1400], evil[1500];
    snprintf(sentinel, sizeof sentinel, "%s.sentinel", out);
    snprintf(evil, sizeof evil, "$(touch %s)", sentinel);
    const char *args[] = {out, "two words", evil, "*", "a'b\"c", ""};
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    bg_job job = job_with_file(m, "script", &f);
    CHECK_OK(bg_job_set_notify_cmd_line(job, script, args, 6));
    CHECK_OK(bg_job_resume(job));
    WAIT_SETTLED(job, BG_JOB_STATE_ERROR);
    uint64_t deadline = now_ms() + g_wait_ms;
    while (!file_exists(out) && now_ms() < deadline) sleep_ms(2);
    size_t len = 0;
    char *text = read_file(out, &len);
    CHECK_MSG(text != NULL, "the script did not run");
    if (text) {
        /* Compare piece by piece (the $(touch ...) argument holds a path). */
        const char *exp[] = {"two words", evil, "*", "a'b\"c", ""};
        size_t off = 0;
        for (int i = 0; i < 5; i++) {
            CHECK_MSG(off < len && strcmp(text + off, exp[i]) == 0, "script argument %d: [%s]",
                      i + 1, off < len ? text + off : "(missing)");
            off += off < len ? strlen(text + off) + 1 : 0;
        }
        CHECK_EQ_INT(off, len);
        free(text);
    }
    CHECK(!file_exists(sentinel));
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 4. a failing program runs again ---------------------------------------------------------- */

static void test_retry(void)
{
    printf("== a failing program runs again after MinimumRetryDelay, until it succeeds\n");
    fflush(stdout);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    CHECK_OK(bg_manager_set_option(m, BG_OPTION_RETRY_DELAY_FLOOR_MS, 200));
    char p[1400];

    /* a: fails twice on TRANSFERRED (MinimumRetryDelay 0: the 200 ms floor applies). */
    jobfiles fa;
    make_files(&fa, "retryT", 0);
    snprintf(p, sizeof p, "%s.failn", fa.out);
    REQUIRE(write_file(p, "2\n", 2) == 0);
    bg_job ja = job_with_file(m, "retryT", &fa);
    CHECK_OK(bg_job_set_minimum_retry_delay(ja, 0));
    arglist aa;
    CHECK_OK(set_recorder(ja, fa.out, &aa));

    /* d: fails once on ERROR. */
    jobfiles fd;
    make_files(&fd, "retryE", 1);
    snprintf(p, sizeof p, "%s.failn", fd.out);
    REQUIRE(write_file(p, "1\n", 2) == 0);
    bg_job jd = job_with_file(m, "retryE", &fd);
    CHECK_OK(bg_job_set_minimum_retry_delay(jd, 0));
    arglist ad;
    CHECK_OK(set_recorder(jd, fd.out, &ad));

    /* b, c: always fail, MinimumRetryDelay 3 s; Complete (b) or Cancel (c) after the first
     * run: no second run. */
    jobfiles fb, fc;
    make_files(&fb, "retryComplete", 0);
    make_files(&fc, "retryCancel", 0);
    snprintf(p, sizeof p, "%s.fail", fb.out);
    REQUIRE(write_file(p, "", 0) == 0);
    snprintf(p, sizeof p, "%s.fail", fc.out);
    REQUIRE(write_file(p, "", 0) == 0);
    bg_job jb = job_with_file(m, "retryComplete", &fb);
    bg_job jc = job_with_file(m, "retryCancel", &fc);
    CHECK_OK(bg_job_set_minimum_retry_delay(jb, 3));
    CHECK_OK(bg_job_set_minimum_retry_delay(jc, 3));
    arglist ab, ac;
    CHECK_OK(set_recorder(jb, fb.out, &ab));
    CHECK_OK(set_recorder(jc, fc.out, &ac));

    CHECK_OK(bg_job_resume(ja));
    CHECK_OK(bg_job_resume(jd));
    CHECK_OK(bg_job_resume(jb));
    CHECK_OK(bg_job_resume(jc));
    WAIT_SETTLED(jb, BG_JOB_STATE_TRANSFERRED);
    WAIT_SETTLED(jc, BG_JOB_STATE_TRANSFERRED);
    CHECK(wait_run(fb.out, 1));
    CHECK(wait_run(fc.out, 1));
    uint64_t first_seen = now_ms();
    CHECK_OK(bg_job_complete(jb));
    CHECK_OK(bg_job_cancel(jc));
    /* If this machine took most of the 3 s delay to get here, a rerun may have started
     * before Complete/Cancel: then that check proves nothing and is skipped. */
    int in_time = now_ms() - first_seen < 1500;

    WAIT_SETTLED(ja, BG_JOB_STATE_TRANSFERRED);
    WAIT_SETTLED(jd, BG_JOB_STATE_ERROR);
    CHECK_MSG(wait_run(fa.out, 3), "TRANSFERRED: the failing program ran %d time(s), expected "
                                   "a third (successful) run", run_count(fa.out));
    CHECK_MSG(wait_run(fd.out, 2), "ERROR: the failing program ran %d time(s), expected a "
                                   "second (successful) run", run_count(fd.out));
    /* Bounded extra wait: 3 s (b, c: their delay) + NEG_WAIT_MS; a, d: 10+ floors. */
    sleep_ms(3000 + NEG_WAIT_MS);
    CHECK_MSG(run_count(fa.out) == 3, "TRANSFERRED: %d runs, expected 3 (2 failed + 1 ok)",
              run_count(fa.out));
    CHECK_MSG(run_count(fd.out) == 2, "ERROR: %d runs, expected 2 (1 failed + 1 ok)",
              run_count(fd.out));
    if (in_time) {
        CHECK_MSG(run_count(fb.out) == 1, "ran %d times after Complete", run_count(fb.out));
        CHECK_MSG(run_count(fc.out) == 1, "ran %d times after Cancel", run_count(fc.out));
    } else {
        printf("   (slow machine: the Complete/Cancel checks are skipped)\n");
    }
    for (int k = 1; k <= 3; k++) check_run_args(fa.out, k, &aa, (int)getpid());
    for (int k = 1; k <= 2; k++) check_run_args(fd.out, k, &ad, (int)getpid());
    CHECK_OK(bg_job_complete(ja));
    CHECK_OK(bg_job_cancel(jd));
    CHECK_OK(bg_job_release(ja));
    CHECK_OK(bg_job_release(jb));
    CHECK_OK(bg_job_release(jc));
    CHECK_OK(bg_job_release(jd));
    CHECK_OK(bg_manager_close(m));
}

/* ---- 5. other processes -------------------------------------------------------------------------- */

/* Polls (bounded) bg_manager_get_job until the manager knows the job. */
static bg_hresult get_job_polled(bg_manager m, const bg_guid *id, bg_job *out)
{
    uint64_t end = now_ms() + g_wait_ms;
    bg_hresult hr;
    for (;;) {
        hr = bg_manager_get_job(m, id, out);
        if (hr == S_OK || now_ms() > end) return hr;
        sleep_ms(5);
    }
}

/* Opens `dir` in this process (not the lease holder: a child holds it) once the store shows
 * the job in `want`: opens, looks, closes and tries again (bounded). A manager opened earlier
 * could keep a stale view: a change the lease holder writes while another process opens the
 * directory can be missed until the next write (a separate persistence bug, reported apart). */
static int open_seeing(const char *dir, const bg_guid *id, bg_job_state want, bg_manager *out_m,
                       bg_job *out_job)
{
    uint64_t end = now_ms() + g_wait_ms;
    for (;;) {
        bg_manager m = 0;
        bg_job job = 0;
        bg_job_state st = -1;
        if (bg_manager_open(dir, &m) == S_OK) {
            if (bg_manager_get_job(m, id, &job) == S_OK && bg_job_get_state(job, &st) == S_OK &&
                st == want) {
                *out_m = m;
                *out_job = job;
                return 1;
            }
            if (job) bg_job_release(job);
            bg_manager_close(m);
        }
        if (now_ms() > end) {
            fprintf(stderr, "    %s: the job never showed state %d (last %d)\n", dir, (int)want,
                    (int)st);
            return 0;
        }
        sleep_ms(10);
    }
}

/* A probe job that transfers proves this process's engine holds the lease. */
static void prove_lease(bg_manager m, const char *tag)
{
    jobfiles f;
    make_files(&f, tag, 0);
    bg_job probe = job_with_file(m, tag, &f);
    CHECK_OK(bg_job_resume(probe));
    WAIT_SETTLED(probe, BG_JOB_STATE_TRANSFERRED);
    CHECK_OK(bg_job_complete(probe));
    CHECK_OK(bg_job_release(probe));
}

static void test_other_processes(void)
{
    char state[1300];
    bg_manager m = 0;
    bg_guid id;
    bg_job job = 0;
    arglist a;
    child c;

    printf("== a job whose creator exited runs its command line in the lease holder\n");
    fflush(stdout);
    REQUIRE(path_join(state, sizeof state, g_root, "state-holder") != NULL);
    REQUIRE_OK(bg_manager_open(state, &m));
    prove_lease(m, "probe1");
    jobfiles f1;
    make_files(&f1, "exited", 0);
    const char *args1[] = {"resume-exit", state, f1.src, f1.dst, f1.out, NULL};
    spawn_child(&c, args1);
    int answered = child_answer(&c);
    CHECK_MSG(answered, "child: %s", c.line);
    int status = child_exit(&c);
    CHECK_MSG(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the creating child ended with status 0x%x", (unsigned)status);
    REQUIRE(answered && guid_parse(c.line + 3, &id));
    CHECK_OK(get_job_polled(m, &id, &job));
    if (job) {
        WAIT_SETTLED(job, BG_JOB_STATE_TRANSFERRED);
        char buf[4200];
        size_t needed = 0;
        CHECK_OK(bg_job_get_notify_cmd_line(job, buf, sizeof buf, &needed));
        CHECK_STR(buf, g_self);
    }
    CHECK_MSG(wait_run(f1.out, 1), "the lease holder did not run the exited creator's command");
    build_args(&a, f1.out);
    check_run_args(f1.out, 1, &a, (int)getpid());

    printf("== the creator is killed before the transfer; a later process resumes the job\n");
    fflush(stdout);
    char state2[1300];
    REQUIRE(path_join(state2, sizeof state2, g_root, "state-later") != NULL);
    jobfiles f2;
    make_files(&f2, "killed", 1); /* the source appears only after the creator is gone */
    const char *args2[] = {"noresume-stay", state2, f2.src, f2.dst, f2.out, NULL};
    spawn_child(&c, args2);
    answered = child_answer(&c);
    CHECK_MSG(answered, "child: %s", c.line);
    bg_guid id2;
    REQUIRE(answered && guid_parse(c.line + 3, &id2));
    child_kill(&c);
    REQUIRE(make_pattern_file(f2.src, 24 * KIB, 77) == 0);
    bg_manager m2 = 0;
    REQUIRE_OK(bg_manager_open(state2, &m2));
    bg_job job2 = 0;
    CHECK_OK(get_job_polled(m2, &id2, &job2));
    if (job2) {
        char buf[4200];
        size_t needed = 0;
        CHECK_OK(bg_job_get_notify_cmd_line(job2, buf, sizeof buf, &needed));
        CHECK_STR(buf, g_self);
        bg_job_callbacks cbs;
        void *ud = (void *)&cbs;
        CHECK_OK(bg_job_get_callbacks(job2, &cbs, &ud));
        CHECK(ud == NULL && cbs.job_transferred == NULL);
        CHECK_OK(bg_job_resume(job2));
        WAIT_SETTLED(job2, BG_JOB_STATE_TRANSFERRED);
    }
    CHECK_MSG(wait_run(f2.out, 1), "the new process did not run the dead creator's command");
    build_args(&a, f2.out);
    check_run_args(f2.out, 1, &a, (int)getpid());

    printf("== restart: a command that failed runs again in the next lease holder, once\n");
    fflush(stdout);
    char state3[1300];
    REQUIRE(path_join(state3, sizeof state3, g_root, "state-restart") != NULL);
    jobfiles f3;
    make_files(&f3, "restart", 0);
    char failpath[1400];
    snprintf(failpath, sizeof failpath, "%s.fail", f3.out);
    REQUIRE(write_file(failpath, "", 0) == 0);
    const char *args3[] = {"transferred-stay", state3, f3.src, f3.dst, f3.out, NULL};
    spawn_child(&c, args3);
    answered = child_answer(&c);
    CHECK_MSG(answered, "child: %s", c.line);
    bg_guid id3;
    REQUIRE(answered && guid_parse(c.line + 3, &id3));
    /* The child (lease holder) ran it once; it failed (and MinimumRetryDelay is 600 s). */
    CHECK_MSG(wait_run(f3.out, 1), "the child did not run the command");
    build_args(&a, f3.out);
    check_run_args(f3.out, 1, &a, (int)c.pid);
    bg_manager m3 = 0;
    bg_job job3 = 0;
    /* Not the lease holder yet. */
    REQUIRE(open_seeing(state3, &id3, BG_JOB_STATE_TRANSFERRED, &m3, &job3));
    CHECK_EQ_INT(run_count(f3.out), 1);
    REQUIRE(unlink(failpath) == 0); /* the next run succeeds */
    child_kill(&c);                 /* "restart": this process takes the lease over */
    CHECK_MSG(wait_run(f3.out, 2), "the new lease holder did not run the failed command again");
    check_run_args(f3.out, 2, &a, (int)getpid());
    if (job3) CHECK_OK(bg_job_release(job3));
    CHECK_OK(bg_manager_close(m3));
    /* Once more: this time the command had succeeded, so the next lease holder leaves it. */
    REQUIRE_OK(bg_manager_open(state3, &m3));
    prove_lease(m3, "probe3");

    printf("== restart: a command whose event a callback took does not run later\n");
    fflush(stdout);
    char state4[1300];
    REQUIRE(path_join(state4, sizeof state4, g_root, "state-callback") != NULL);
    jobfiles f4;
    make_files(&f4, "taken", 0);
    const char *args4[] = {"callback-stay", state4, f4.src, f4.dst, f4.out, NULL};
    spawn_child(&c, args4);
    answered = child_answer(&c);
    CHECK_MSG(answered, "child: %s", c.line);
    bg_guid id4;
    REQUIRE(answered && guid_parse(c.line + 3, &id4));
    bg_manager m4 = 0;
    bg_job job4 = 0;
    REQUIRE(open_seeing(state4, &id4, BG_JOB_STATE_TRANSFERRED, &m4, &job4));
    child_kill(&c);
    prove_lease(m4, "probe4"); /* this process holds the lease now */

    printf("== restart: a DISABLE job's command line does not run in the next lease holder\n");
    fflush(stdout);
    char state5[1300];
    REQUIRE(path_join(state5, sizeof state5, g_root, "state-disable") != NULL);
    jobfiles f5;
    make_files(&f5, "disabled", 0);
    const char *args5[] = {"transferred-stay", state5, f5.src, f5.dst, f5.out, "7", NULL};
    spawn_child(&c, args5);
    answered = child_answer(&c);
    CHECK_MSG(answered, "child: %s", c.line);
    bg_guid id5;
    REQUIRE(answered && guid_parse(c.line + 3, &id5));
    bg_manager m5 = 0;
    bg_job job5 = 0;
    REQUIRE(open_seeing(state5, &id5, BG_JOB_STATE_TRANSFERRED, &m5, &job5));
    child_kill(&c);
    prove_lease(m5, "probe5");

    /* Bounded extra wait for the negatives of this section (see the header comment). */
    sleep_ms(NEG_WAIT_MS);
    CHECK_MSG(run_count(f5.out) == 0,
              "notify flags 0x7 (DISABLE): the command line ran %d time(s), first started by "
              "pid %d (this process, the new lease holder: %d)", run_count(f5.out),
              who_ran(f5.out), (int)getpid());
    if (job5) {
        CHECK_OK(bg_job_complete(job5));
        CHECK_OK(bg_job_release(job5));
    }
    CHECK_OK(bg_manager_close(m5));
    CHECK_MSG(run_count(f1.out) == 1, "exited creator: %d runs, expected 1", run_count(f1.out));
    CHECK_MSG(run_count(f2.out) == 1, "killed creator: %d runs, expected 1", run_count(f2.out));
    CHECK_MSG(run_count(f3.out) == 2,
              "restart: %d runs, expected 2 (a command that succeeded ran again after another "
              "restart?)", run_count(f3.out));
    CHECK_MSG(run_count(f4.out) == 0,
              "the JobTransferred callback took the event in the first process, yet the "
              "command line ran %d time(s), first started by pid %d (this process, the new "
              "lease holder: %d)", run_count(f4.out), who_ran(f4.out), (int)getpid());

    if (job) {
        CHECK_OK(bg_job_complete(job));
        CHECK_OK(bg_job_release(job));
    }
    if (job2) {
        CHECK_OK(bg_job_complete(job2));
        CHECK_OK(bg_job_release(job2));
    }
    bg_job j3 = 0;
    if (get_job_polled(m3, &id3, &j3) == S_OK) {
        CHECK_OK(bg_job_complete(j3));
        CHECK_OK(bg_job_release(j3));
    }
    if (job4) {
        CHECK_OK(bg_job_complete(job4));
        CHECK_OK(bg_job_release(job4));
    }
    CHECK_OK(bg_manager_close(m));
    CHECK_OK(bg_manager_close(m2));
    CHECK_OK(bg_manager_close(m3));
    CHECK_OK(bg_manager_close(m4));
}

/* ---- main ------------------------------------------------------------------------------------------ */

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "\nwatchdog: test_cmdline is stuck\n";
    if (write(2, msg, sizeof msg - 1) < 0) {
    }
    _exit(3);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--record") == 0) return record_main(argc, argv);
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n <= 0) {
        fprintf(stderr, "readlink /proc/self/exe: %s\n", strerror(errno));
        return 1;
    }
    g_self[n] = '\0';
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) return child_main(argc, argv);

    const char *vg = getenv("BGCOPY_UNDER_VALGRIND");
    if (vg != NULL && vg[0] != '\0' && strcmp(vg, "0") != 0) g_wait_ms = 120000;
    signal(SIGALRM, on_alarm);
    alarm(240);
    REQUIRE(test_tmpdir(g_root, sizeof g_root) != NULL);

    test_set_get();
    test_when_it_runs();
    test_script();
    test_retry();
    test_other_processes();

    alarm(0);
    kill_children();
    remove_tree(g_root);
    TEST_MAIN_END();
}
