/*
 * Store benchmark (issue 5): create + persist rate for N jobs (one file each), the time to
 * reopen a state directory holding them, what one life-cycle call costs with N suspended jobs
 * in the queue (Resume + Suspend of another job, Create + Cancel), and the store's size per job.
 *
 *     cc -O2 -Iinclude bench/store_bench.c -Ltarget/release -lbgcopy \
 *        -Wl,-rpath,$PWD/target/release -o /tmp/store_bench
 *     /tmp/store_bench /tmp/bgcopy-store-bench 10000
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bgcopy.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long dir_bytes(const char *dir)
{
    long long total = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat st;
    while (d && (e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += st.st_size;
    }
    if (d) closedir(d);
    return total;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s STATE_DIR N\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    long n = atol(argv[2]);
    bg_manager m;
    if (bg_manager_open(dir, &m) < 0) return 1;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        bg_job job;
        char local[256];
        if (bg_manager_create_job(m, "bench", BG_JOB_TYPE_DOWNLOAD, NULL, &job) < 0) return 1;
        snprintf(local, sizeof local, "/tmp/bgcopy-store-bench-file-%ld", i);
        if (bg_job_add_file(job, "http://127.0.0.1:9/data/1k", local) < 0) return 1;
        bg_job_release(job);
    }
    double t1 = now_s();
    bg_manager_close(m);
    double t2 = now_s();
    if (bg_manager_open(dir, &m) < 0) return 1;
    size_t count = 0;
    bg_manager_enum_jobs(m, 0, NULL, 0, &count);
    double t3 = now_s();
    /* Life-cycle calls next to n idle jobs: each wakes the scheduler. */
    bg_job probe;
    if (bg_manager_create_job(m, "probe", BG_JOB_TYPE_DOWNLOAD, NULL, &probe) < 0) return 1;
    if (bg_job_add_file(probe, "http://127.0.0.1:9/data/1k", "/tmp/bgcopy-store-bench-probe") < 0)
        return 1;
    enum { PAIRS = 200, CREATES = 50 };
    double t4 = now_s();
    for (int i = 0; i < PAIRS; i++) {
        if (bg_job_resume(probe) < 0 || bg_job_suspend(probe) < 0) return 1;
    }
    double t5 = now_s();
    for (int i = 0; i < CREATES; i++) {
        bg_job j;
        if (bg_manager_create_job(m, "c", BG_JOB_TYPE_DOWNLOAD, NULL, &j) < 0) return 1;
        if (bg_job_cancel(j) < 0) return 1;
        bg_job_release(j);
    }
    double t6 = now_s();
    bg_job_cancel(probe);
    bg_job_release(probe);
    bg_manager_close(m);
    long long bytes = dir_bytes(dir);
    printf("jobs %ld: create+persist %.0f jobs/s (%.2f s), close %.2f s, reopen+enumerate %.2f s (%zu jobs), "
           "resume+suspend %.2f ms, create+cancel %.2f ms, store %.1f MiB = %.0f bytes/job\n",
           n, n / (t1 - t0), t1 - t0, t2 - t1, t3 - t2, count, (t5 - t4) * 1000 / PAIRS,
           (t6 - t5) * 1000 / CREATES, bytes / 1048576.0, (double)bytes / n);
    return 0;
}
