/*
 * bgcopy_bench: download a list of URLs with bgcopy jobs, as a benchmark client.
 *
 *     bgcopy_bench --jobs K [--max-files-per-job M] --state-dir DIR --out DIR URL_LIST_FILE
 *     bgcopy_bench --version
 *
 * Diagnostic options: `--state-dir :memory:` opens a queue that persists nothing (the benchmark
 * proper always uses a real directory); `--poll-ms MS` waits by polling bg_job_get_state every MS milliseconds
 * instead of blocking in bg_job_wait (to measure what bg_job_wait's wake-ups cost).
 *
 * Reads URLs (one per line; blank lines and lines starting with '#' are skipped) and splits
 * them, in order, into download jobs of P = min(M, ceil(N / K)) files each (the last one may
 * have fewer), each file to OUT/<basename of the URL's path>. Without --max-files-per-job
 * that is K jobs; with M = 200 (BITS' default MaxFilesPerJob, which a BITS client with more
 * files must respect) 10,000 files make 50 jobs, K of them transferring at a time, so early
 * jobs complete while later ones transfer (each job costs its own store commits, though).
 * Sets BG_OPTION_MAX_BACKGROUND_TRANSFERS = K and
 * BG_OPTION_MAX_CONNECTIONS_PER_HOST = max(K, 6), so K jobs (priority NORMAL, the default)
 * transfer at a time and the others wait in QUEUED. It creates each job, adds its files and
 * resumes it before it sets up the next one (so the first jobs transfer while the later ones
 * are set up); then, job by job in the same order, waits with bg_job_wait until the job is
 * TRANSFERRED (a job in ERROR aborts with its error) and calls bg_job_complete on it at once
 * (so early jobs complete while later ones still transfer). It exits 0 once every file is
 * under its final name.
 *
 * It prints one line to stderr:
 *     bgcopy_bench: jobs=K files=N bytes=B open_ms=.. setup_ms=.. transfer_ms=.. complete_ms=..
 *                   close_ms=.. total_ms=..
 * where total_ms runs from the first bg_manager_create_job to the last bg_job_complete;
 * setup_ms is the time until the last job was resumed, complete_ms the time spent inside
 * bg_job_complete calls, and transfer_ms the rest (waiting for jobs to be TRANSFERRED), so
 * setup + transfer + complete = total. open_ms (bg_manager_open, option setting) and close_ms
 * (releases, bg_manager_close) are outside it. The benchmark script measures the whole process.
 *
 * `--version` prints "bgcopy <version> libcurl <version>", the libcurl version being the one
 * actually loaded into this process (looked up with dlsym).
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bgcopy.h"

static const char *state_name(bg_job_state s)
{
    static const char *names[] = {"QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR",
                                  "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"};
    return (s >= 0 && s <= 8) ? names[s] : "?";
}

static void die_hr(const char *what, bg_hresult hr)
{
    fprintf(stderr, "bgcopy_bench: %s failed: 0x%08" PRIX32 " %s\n", what, (uint32_t)hr,
            bg_hresult_message(hr));
    exit(2);
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bgcopy_bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: bgcopy_bench --jobs K [--max-files-per-job M] --state-dir DIR --out DIR\n"
                    "                    [--poll-ms MS] URL_LIST_FILE\n"
                    "       bgcopy_bench --version\n");
    exit(64);
}

/* Makes `path` absolute (the library wants absolute paths); the directory must exist. */
static char *absolute_dir(const char *path)
{
    char *abs = realpath(path, NULL);
    if (!abs) die("cannot resolve directory %s", path);
    struct stat st;
    if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode)) die("not a directory: %s", abs);
    return abs;
}

/* The last segment of the URL's path (query and fragment cut), or NULL if there is none. */
static char *url_basename(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p = strchr(p, '/');
    if (!p) return NULL;
    size_t len = strcspn(p, "?#");
    const char *end = p + len;
    const char *slash = end;
    while (slash > p && slash[-1] != '/') slash--;
    if (slash == end) return NULL;
    return strndup(slash, (size_t)(end - slash));
}

static void print_version(void)
{
    const char *curl = "unknown";
    typedef const char *(*curl_version_fn)(void);
    /* bgcopy links libcurl dynamically; the symbol is visible once libbgcopy is loaded. */
    curl_version_fn fn = (curl_version_fn)dlsym(RTLD_DEFAULT, "curl_version");
    if (fn) curl = fn();
    printf("bgcopy %s (header %s); %s\n", bg_version(), BGCOPY_VERSION_STRING, curl);
}

int main(int argc, char **argv)
{
    long jobs_k = 0, poll_ms = 0, max_files = LONG_MAX;
    const char *state_arg = NULL, *out_arg = NULL, *list_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            print_version();
            return 0;
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            char *end;
            jobs_k = strtol(argv[++i], &end, 10);
            if (*end || jobs_k < 1 || jobs_k > 256) die("--jobs must be 1..256, not %s", argv[i]);
        } else if (strcmp(argv[i], "--max-files-per-job") == 0 && i + 1 < argc) {
            char *end;
            max_files = strtol(argv[++i], &end, 10);
            if (*end || max_files < 1) die("--max-files-per-job must be 1 or more, not %s", argv[i]);
        } else if (strcmp(argv[i], "--poll-ms") == 0 && i + 1 < argc) {
            char *end;
            poll_ms = strtol(argv[++i], &end, 10);
            if (*end || poll_ms < 1 || poll_ms > 10000) die("--poll-ms must be 1..10000, not %s", argv[i]);
        } else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc) {
            state_arg = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out_arg = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            usage();
        } else if (!list_arg) {
            list_arg = argv[i];
        } else {
            usage();
        }
    }
    if (!jobs_k || !state_arg || !out_arg || !list_arg) usage();

    /* Read the URL list. */
    FILE *lf = strcmp(list_arg, "-") == 0 ? stdin : fopen(list_arg, "r");
    if (!lf) die("cannot open URL list %s", list_arg);
    size_t n = 0, cap = 1024;
    char **urls = malloc(cap * sizeof *urls);
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, lf)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r' || line[got - 1] == ' '))
            line[--got] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        if (n == cap) urls = realloc(urls, (cap *= 2) * sizeof *urls);
        urls[n++] = strdup(s);
    }
    free(line);
    if (lf != stdin) fclose(lf);
    if (n == 0) die("no URLs in %s", list_arg);
    if ((size_t)jobs_k > n) jobs_k = (long)n;
    const size_t k = (size_t)jobs_k;
    size_t per_job = (n + k - 1) / k;
    if (per_job > (size_t)max_files) per_job = (size_t)max_files;
    const size_t njobs = (n + per_job - 1) / per_job;

    /* Destinations: OUT/<basename>. */
    char *out_dir = absolute_dir(out_arg);
    char *state_dir;
    if (strcmp(state_arg, ":memory:") == 0) {
        state_dir = strdup(state_arg); /* diagnostic: a queue that persists nothing */
    } else {
        mkdir(state_arg, 0700); /* the library creates it too; realpath needs it to exist */
        state_dir = absolute_dir(state_arg);
    }
    char **dests = malloc(n * sizeof *dests);
    for (size_t i = 0; i < n; i++) {
        char *base = url_basename(urls[i]);
        if (!base) die("URL has no file name: %s", urls[i]);
        if (asprintf(&dests[i], "%s/%s", out_dir, base) < 0) die("%s", "out of memory");
        free(base);
    }

    double t_open = now_ms();
    bg_manager mgr;
    bg_hresult hr = bg_manager_open(state_dir, &mgr);
    if (BG_FAILED(hr)) die_hr("bg_manager_open", hr);
    hr = bg_manager_set_option(mgr, BG_OPTION_MAX_BACKGROUND_TRANSFERS, (uint64_t)k);
    if (BG_FAILED(hr)) die_hr("bg_manager_set_option(MAX_BACKGROUND_TRANSFERS)", hr);
    hr = bg_manager_set_option(mgr, BG_OPTION_MAX_CONNECTIONS_PER_HOST, (uint64_t)(k > 6 ? k : 6));
    if (BG_FAILED(hr)) die_hr("bg_manager_set_option(MAX_CONNECTIONS_PER_HOST)", hr);

    /* From here on the clock runs: create each job, add its files, resume it. */
    double t0 = now_ms();
    bg_job *jobs = calloc(njobs, sizeof *jobs);
    if (!jobs) die("%s", "out of memory");
    for (size_t j = 0; j < njobs; j++) {
        char name[64];
        snprintf(name, sizeof name, "bgcopy_bench %zu/%zu", j + 1, njobs);
        hr = bg_manager_create_job(mgr, name, BG_JOB_TYPE_DOWNLOAD, NULL, &jobs[j]);
        if (BG_FAILED(hr)) die_hr("bg_manager_create_job", hr);
        /* The job's files in one call (BITS' AddFileSet: one commit). */
        size_t first = j * per_job, count = n - first < per_job ? n - first : per_job;
        hr = bg_job_add_file_set(jobs[j], count, (const char *const *)&urls[first],
                                 (const char *const *)&dests[first]);
        if (BG_FAILED(hr)) die_hr("bg_job_add_file_set", hr);
        hr = bg_job_resume(jobs[j]);
        if (BG_FAILED(hr)) die_hr("bg_job_resume", hr);
    }
    double t1 = now_ms();

    /* Job by job: wait until it is TRANSFERRED, then Complete it (files to their names). */
    uint64_t bytes = 0;
    double in_complete = 0;
    for (size_t j = 0; j < njobs; j++) {
        bg_job_state st = BG_JOB_STATE_QUEUED;
        for (;;) {
            if (poll_ms) {
                /* Diagnostic mode: poll the state, never block in bg_job_wait. */
                double until = now_ms() + 60000;
                hr = S_FALSE;
                while (now_ms() < until) {
                    bg_hresult sh = bg_job_get_state(jobs[j], &st);
                    if (BG_FAILED(sh)) die_hr("bg_job_get_state", sh);
                    if (st == BG_JOB_STATE_TRANSFERRED || st == BG_JOB_STATE_ERROR ||
                        st == BG_JOB_STATE_ACKNOWLEDGED || st == BG_JOB_STATE_CANCELLED) {
                        hr = S_OK;
                        break;
                    }
                    if (st == BG_JOB_STATE_TRANSIENT_ERROR) break;
                    struct timespec ts = {poll_ms / 1000, (poll_ms % 1000) * 1000000L};
                    nanosleep(&ts, NULL);
                }
            } else {
                hr = bg_job_wait(jobs[j], 60000, &st);
            }
            if (BG_FAILED(hr)) die_hr("bg_job_wait", hr);
            if (hr == S_OK) break;
            if (st == BG_JOB_STATE_TRANSIENT_ERROR) {
                /* Retries wait at least 5 s; in a benchmark that is a failure. */
                bg_job_error e;
                char desc[1024] = "";
                size_t needed;
                bg_job_get_error(jobs[j], &e, desc, sizeof desc, &needed);
                fprintf(stderr, "bgcopy_bench: job %zu in TRANSIENT_ERROR: 0x%08" PRIX32 " %s (%s)\n",
                        j + 1, (uint32_t)e.code, bg_hresult_message(e.code), desc);
                return 3;
            }
            bg_job_progress p;
            if (BG_SUCCEEDED(bg_job_get_progress(jobs[j], &p)))
                fprintf(stderr, "bgcopy_bench: still waiting for job %zu (%s, %u/%u files)\n", j + 1,
                        state_name(st), p.files_transferred, p.files_total);
        }
        if (st != BG_JOB_STATE_TRANSFERRED) {
            bg_job_error e = {0};
            char desc[1024] = "";
            size_t needed;
            bg_hresult eh = bg_job_get_error(jobs[j], &e, desc, sizeof desc, &needed);
            fprintf(stderr, "bgcopy_bench: job %zu ended in %s", j + 1, state_name(st));
            if (BG_SUCCEEDED(eh))
                fprintf(stderr, ": 0x%08" PRIX32 " %s (context %d, file %" PRIu32 "): %s", (uint32_t)e.code,
                        bg_hresult_message(e.code), (int)e.context, e.file_index, desc);
            fprintf(stderr, "\n");
            return 3;
        }
        bg_job_progress p;
        if (BG_SUCCEEDED(bg_job_get_progress(jobs[j], &p))) bytes += p.bytes_transferred;
        double c0 = now_ms();
        hr = bg_job_complete(jobs[j]);
        in_complete += now_ms() - c0;
        if (hr != S_OK) {
            if (BG_FAILED(hr)) die_hr("bg_job_complete", hr);
            fprintf(stderr, "bgcopy_bench: bg_job_complete returned 0x%08" PRIX32 " %s\n", (uint32_t)hr,
                    bg_hresult_message(hr));
            return 3;
        }
    }
    double t3 = now_ms();

    for (size_t j = 0; j < njobs; j++) bg_job_release(jobs[j]);
    hr = bg_manager_close(mgr);
    if (BG_FAILED(hr)) die_hr("bg_manager_close", hr);
    double t4 = now_ms();

    fprintf(stderr,
            "bgcopy_bench: concurrency=%zu jobs=%zu files=%zu bytes=%" PRIu64 " open_ms=%.1f setup_ms=%.1f "
            "transfer_ms=%.1f complete_ms=%.1f close_ms=%.1f total_ms=%.1f\n",
            k, njobs, n, bytes, t0 - t_open, t1 - t0, t3 - t1 - in_complete, in_complete, t4 - t3, t3 - t0);

    for (size_t i = 0; i < n; i++) {
        free(urls[i]);
        free(dests[i]);
    }
    free(urls);
    free(dests);
    free(jobs);
    free(out_dir);
    free(state_dir);
    return 0;
}
