/*
 * bgcopy demo: one download job end to end, through the C API.
 *
 * It makes a state directory of its own (in a fresh temp directory), creates a job of three
 * files, resumes it, prints progress until the job is TRANSFERRED, and calls Complete.
 * With BGCOPY_DEMO_BASE=http://127.0.0.1:PORT (scripts/demo.sh starts the loopback test
 * server and sets it) the files come over HTTP from that server, and the script checks them
 * byte for byte afterwards; without it, the demo makes three local source files and copies
 * them through file:// URLs, checking them itself.
 *
 *     ./scripts/demo.sh            (builds everything, starts the server, runs this)
 *     build/examples/bgcopy_demo [WORKDIR]
 */
#define _GNU_SOURCE 1
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bgcopy.h"

static int fail(const char *what, bg_hresult hr)
{
    fprintf(stderr, "demo: %s failed: 0x%08" PRIX32 " %s\n", what, (uint32_t)hr, bg_hresult_message(hr));
    return 1;
}

/* Writes `size` bytes of a deterministic pattern to `path`. */
static int make_source(const char *path, size_t size, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    unsigned char buf[65536];
    size_t left = size;
    while (left > 0) {
        size_t n = left < sizeof buf ? left : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
        if (fwrite(buf, 1, n, f) != n) { fclose(f); return -1; }
        left -= n;
    }
    return fclose(f);
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

int main(int argc, char **argv)
{
    char work[4096];
    if (argc > 1) {
        snprintf(work, sizeof work, "%s", argv[1]);
        mkdir(work, 0700);
    } else {
        snprintf(work, sizeof work, "/tmp/bgcopy-demo-XXXXXX");
        if (!mkdtemp(work)) { perror("mkdtemp"); return 1; }
    }
    char state[4200], src_dir[4200], dst_dir[4200];
    snprintf(state, sizeof state, "%s/state", work);
    snprintf(src_dir, sizeof src_dir, "%s/source", work);
    snprintf(dst_dir, sizeof dst_dir, "%s/downloads", work);
    mkdir(src_dir, 0700);
    mkdir(dst_dir, 0700);

    printf("bgcopy %s demo in %s\n", bg_version(), work);

    bg_manager manager;
    bg_hresult hr = bg_manager_open(state, &manager);
    if (BG_FAILED(hr)) return fail("bg_manager_open", hr);

    bg_guid id;
    bg_job job;
    hr = bg_manager_create_job(manager, "bgcopy demo", BG_JOB_TYPE_DOWNLOAD, &id, &job);
    if (BG_FAILED(hr)) return fail("bg_manager_create_job", hr);
    char id_text[40];
    size_t needed;
    bg_guid_to_string(&id, id_text, sizeof id_text, &needed);
    printf("job %s created (SUSPENDED)\n", id_text);

    const size_t sizes[3] = {48u << 20, 16u << 20, 1u << 20};
    const char *base = getenv("BGCOPY_DEMO_BASE");
    char src[3][4300], dst[3][4300];
    for (int i = 0; i < 3; i++) {
        snprintf(src[i], sizeof src[i], "%s/file%d.bin", src_dir, i);
        snprintf(dst[i], sizeof dst[i], "%s/file%d.bin", dst_dir, i);
        char url[4400];
        if (base) {
            /* The test server's deterministic content: /data/<size>?seed=<n>. */
            snprintf(url, sizeof url, "%s/data/%zu?seed=%d", base, sizes[i], i + 1);
        } else {
            if (make_source(src[i], sizes[i], (uint64_t)i + 1) != 0) { perror("source"); return 1; }
            snprintf(url, sizeof url, "file://%s", src[i]);
        }
        printf("  file %d: %s -> %s\n", i, url, dst[i]);
        hr = bg_job_add_file(job, url, dst[i]);
        if (BG_FAILED(hr)) return fail("bg_job_add_file", hr);
    }

    hr = bg_job_resume(job);
    if (BG_FAILED(hr)) return fail("bg_job_resume", hr);

    static const char *names[] = {"QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR",
                                  "TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"};
    bg_job_state state_now = BG_JOB_STATE_QUEUED;
    for (;;) {
        hr = bg_job_wait(job, 50, &state_now);
        if (BG_FAILED(hr)) return fail("bg_job_wait", hr);
        bg_job_progress p;
        bg_job_get_progress(job, &p);
        if (p.bytes_total != BG_SIZE_UNKNOWN && p.bytes_total > 0)
            printf("  %-12s %3" PRIu64 "%%  %" PRIu64 "/%" PRIu64 " bytes, %u/%u files\n", names[state_now],
                   p.bytes_transferred * 100 / p.bytes_total, p.bytes_transferred, p.bytes_total,
                   p.files_transferred, p.files_total);
        else
            printf("  %-12s %" PRIu64 " bytes, %u/%u files\n", names[state_now], p.bytes_transferred,
                   p.files_transferred, p.files_total);
        if (hr == S_OK) break; /* a settled state */
    }
    if (state_now != BG_JOB_STATE_TRANSFERRED) {
        bg_job_error e;
        char desc[1024];
        bg_job_get_error(job, &e, desc, sizeof desc, &needed);
        fprintf(stderr, "demo: job ended in %s: %s (%s)\n", names[state_now], bg_hresult_message(e.code), desc);
        return 1;
    }
    hr = bg_job_complete(job);
    if (BG_FAILED(hr)) return fail("bg_job_complete", hr);
    printf("complete: %s\n", bg_hresult_message(hr));
    int ok = 1;
    for (int i = 0; i < 3 && !base; i++) {
        int same = same_bytes(src[i], dst[i]);
        printf("  %s: %s\n", dst[i], same ? "identical to its source" : "DIFFERS");
        ok &= same;
    }
    bg_job_release(job);
    bg_manager_close(manager);
    if (!base) printf(ok ? "demo finished: every file arrived byte for byte\n" : "demo FAILED\n");
    return ok ? 0 : 1;
}
