/*
 * test_chaos.c — a worker process running download jobs is SIGKILLed at random moments, again
 * and again, and each time a new worker reopens the state directory and carries on.
 *
 * The parent never opens the state directory while the workers run. Each worker ("--child
 * worker"):
 *   - opens the directory (status byte 'O' to the parent), sets a 50 ms retry floor;
 *   - recovers: every job bg_manager_enum_jobs lists is checked (GUIDs and names unique, one job
 *     per sequence number), a job whose creation was not journalled yet gets its missing files
 *     and its journal line, SUSPENDED / ERROR jobs are resumed, TRANSFERRED ones completed;
 *   - creates up to two new jobs (until MAX_JOBS): an intent line "I <seq>" is appended to the
 *     journal and fsync'd before bg_manager_create_job, and "G <seq> <guid>" after its files
 *     were added and before bg_job_resume (the files of a job are a pure function of its
 *     sequence number: 2–4 files of 16 KiB–2 MiB from the test server, some with trickle=,
 *     some with drop= faults, some jobs completed as soon as they are TRANSFERRED);
 *   - loops: completes the eager jobs when TRANSFERRED, resumes ERROR ones.
 * A Complete is bracketed by status bytes 'C' ... 'c', so the parent knows when it killed one in
 * the middle of a Complete; 'X' says a job of the worker was TRANSFERRING; a failed check in a
 * worker sends 'F' (and a line on stderr).
 *
 * The parent: BGCOPY_CHAOS_KILLS times (default 50) starts a worker and SIGKILLs it 5–300 ms
 * after its 'O' (one time in four 5–300 ms after its start instead, possibly inside
 * bg_manager_open; one in four right after a 'C', when one comes within 400 ms), then checks
 * every destination file that exists: it must be complete and byte-identical. At the end a final
 * worker (not killed) runs until every journalled job is ACKNOWLEDGED (bounded), then the parent
 * opens the directory itself and checks: enum_jobs GUIDs unique and no more than were created;
 * every journalled GUID is either still a resumable job or gone with all its files in place and
 * byte-identical; no .bgcopy-*.tmp left in any destination directory.
 *
 * BGCOPY_CHAOS_SEED fixes the random choices (printed at the start).
 */
/* ctest-labels: chaos;persist */
/* ctest-fixtures: testserver */
/* ctest-timeout: 600 */
#include "persist_helpers.h"

#define MAX_JOBS 60
#define MAX_FILES 4
#define NDIRS 4
#define FINAL_TIMEOUT_MS 150000u

typedef struct file_spec {
    uint64_t size;
    uint64_t seed;
    char size_text[16];
    char fault[96];
} file_spec;

typedef struct job_spec {
    int nfiles;
    int eager; /* Complete as soon as TRANSFERRED */
    file_spec f[MAX_FILES];
} job_spec;

static char g_base[2048];
static char g_state[3000], g_journal[3000], g_dst[3000];
static int g_runid;

/* ---- the deterministic job list -------------------------------------------------------- */

static job_spec spec_of(int k)
{
    job_spec s;
    memset(&s, 0, sizeof s);
    uint64_t h = ph_splitmix64((uint64_t)k * 7919u + 17u);
    s.nfiles = 2 + (int)(h % 3);
    s.eager = (int)((h >> 8) & 1);
    static const uint64_t sizes[] = {16 * KIB, 200 * KIB, 512 * KIB, 1 * MIB, 2 * MIB};
    static const char *const size_texts[] = {"16k", "200k", "512k", "1m", "2m"};
    for (int j = 0; j < s.nfiles; j++) {
        uint64_t hj = ph_splitmix64(h + (uint64_t)j + 1);
        int si = (int)(hj % 5);
        file_spec *f = &s.f[j];
        f->size = sizes[si];
        snprintf(f->size_text, sizeof f->size_text, "%s", size_texts[si]);
        f->seed = (uint64_t)k * 1000u + (uint64_t)j;
        switch ((hj >> 16) % 8) {
        case 0:
        case 1:
        case 2: /* 512 KiB/s: in flight at many kills */
            snprintf(f->fault, sizeof f->fault, "&trickle=524288");
            break;
        case 3:
        case 4: /* the first two responses break off a third of the way in */
            snprintf(f->fault, sizeof f->fault, "&drop=%" PRIu64 "&drop_times=2", f->size / 3);
            break;
        default:
            f->fault[0] = '\0';
        }
    }
    return s;
}

static void dst_dir(int k, char *out, size_t cap)
{
    snprintf(out, cap, "%s/d%d", g_dst, k % NDIRS);
}

static void local_path(int k, int j, char *out, size_t cap)
{
    char dir[4096];
    dst_dir(k, dir, sizeof dir);
    snprintf(out, cap, "%s/j%d-f%d", dir, k, j);
}

static void remote_url(int k, int j, const file_spec *f, char *out, size_t cap)
{
    ts_url(out, cap, "/data/%s/test_chaos/%d/%d/%d?seed=%" PRIu64 "%s", f->size_text, g_runid, k,
           j, f->seed, f->fault);
}

/* ---- the journal --------------------------------------------------------------------------- */

typedef struct journal {
    int max_intent;               /* highest "I" seq, -1 if none */
    int has_guid[MAX_JOBS + 8];   /* seq -> a "G" line was written */
    bg_guid guid[MAX_JOBS + 8];
    int n_guids;                  /* "G" lines (each seq at most once, checked) */
    int duplicate_g;              /* a seq journalled twice with different GUIDs */
} journal;

static void journal_read(const char *path, journal *jr)
{
    memset(jr, 0, sizeof *jr);
    jr->max_intent = -1;
    size_t len = 0;
    char *text = read_file(path, &len);
    if (text == NULL) return;
    char *line = text;
    for (;;) {
        char *nl = strchr(line, '\n');
        if (nl == NULL) break; /* a torn last line (killed mid-write) is ignored */
        *nl = '\0';
        int k = -1;
        char g[64];
        if (sscanf(line, "I %d", &k) == 1 && k >= 0 && k < MAX_JOBS + 8) {
            if (k > jr->max_intent) jr->max_intent = k;
        } else if (sscanf(line, "G %d %63s", &k, g) == 2 && k >= 0 && k < MAX_JOBS + 8) {
            bg_guid id;
            if (guid_parse(g, &id)) {
                if (jr->has_guid[k] && !guid_eq(&jr->guid[k], &id)) jr->duplicate_g++;
                if (!jr->has_guid[k]) jr->n_guids++;
                jr->has_guid[k] = 1;
                jr->guid[k] = id;
            }
        }
        line = nl + 1;
    }
    free(text);
}

static int journal_append(const char *path, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
    close(fd);
    return ok ? 0 : -1;
}

/* ---- the worker ---------------------------------------------------------------------------- */

static void status(char c)
{
    while (write(4, &c, 1) < 0 && errno == EINTR) {
    }
}

/* A failed check in a worker: counted, printed, and reported to the parent with 'F'. */
#define WCHECK(cond, ...)                                                             \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "worker %d: %s:%d: CHECK(%s) failed: ", (int)getpid(),    \
                    __FILE__, __LINE__, #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                             \
            fputc('\n', stderr);                                                      \
            harness_failed_++;                                                        \
            status('F');                                                              \
        } else {                                                                      \
            harness_passed_++;                                                        \
        }                                                                             \
    } while (0)

typedef struct wjob {
    int k;
    bg_job job;
    int done;
} wjob;

static int name_seq(bg_job job)
{
    char name[512];
    size_t needed = 0;
    int k = -1;
    if (bg_job_get_display_name(job, name, sizeof name, &needed) != S_OK) return -1;
    if (sscanf(name, "chaos-%d", &k) != 1) return -1;
    return k;
}

static void w_complete(wjob *w, int final)
{
    status('C');
    bg_hresult hr = bg_job_complete(w->job);
    status('c');
    if (hr == S_OK) {
        w->done = 1;
        if (final) {
            job_spec s = spec_of(w->k);
            for (int j = 0; j < s.nfiles; j++) {
                char local[4096];
                local_path(w->k, j, local, sizeof local);
                WCHECK(content_file_ok(local, s.f[j].size, s.f[j].seed, 1), "job %d file %d",
                       w->k, j);
            }
        }
    } else {
        /* A rename can fail while the new lease holder's recovery finishes a Complete a killed
         * worker had started; the job then stays TRANSFERRED and Complete is tried again. Any
         * success other than S_OK (PARTIAL_COMPLETE: files discarded) is a loss. */
        WCHECK(BG_FAILED(hr), "job %d: Complete returned 0x%08" PRIX32 " (%s)", w->k, (uint32_t)hr,
               bg_hresult_message(hr));
        if (final)
            fprintf(stderr, "worker %d: job %d: Complete failed 0x%08" PRIX32 " (%s); will retry\n",
                    (int)getpid(), w->k, (uint32_t)hr, bg_hresult_message(hr));
    }
}

static int worker_main(int argc, char **argv)
{
    /* argv: exe --child worker STATE JOURNAL DST RUNID MODE */
    if (argc < 8) return 2;
    snprintf(g_state, sizeof g_state, "%s", argv[3]);
    snprintf(g_journal, sizeof g_journal, "%s", argv[4]);
    snprintf(g_dst, sizeof g_dst, "%s", argv[5]);
    g_runid = atoi(argv[6]);
    int final = strcmp(argv[7], "final") == 0;
    uint64_t started = now_ms();

    bg_manager m = 0;
    bg_hresult hr = bg_manager_open(g_state, &m);
    WCHECK(hr == S_OK, "bg_manager_open: 0x%08" PRIX32 " (%s)", (uint32_t)hr, bg_hresult_message(hr));
    if (hr != S_OK) return 1;
    WCHECK(bg_manager_set_option(m, BG_OPTION_RETRY_DELAY_FLOOR_MS, 50) == S_OK, "retry floor");
    WCHECK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, 8) == S_OK, "max bg");
    status('O');

    journal jr;
    journal_read(g_journal, &jr);
    WCHECK(jr.duplicate_g == 0, "the journal names two GUIDs for one job");

    static wjob jobs[MAX_JOBS + 8];
    int n = 0;

    /* Recovery: every job the store lists. */
    bg_guid ids[MAX_JOBS + 8];
    size_t count = 0;
    hr = bg_manager_enum_jobs(m, 0, ids, MAX_JOBS + 8, &count);
    WCHECK(hr == S_OK, "enum_jobs: 0x%08" PRIX32 " (%s), count %zu", (uint32_t)hr,
           bg_hresult_message(hr), count);
    if (hr != S_OK) count = 0;
    WCHECK((int)count <= jr.max_intent + 1, "enum_jobs lists %zu jobs; %d were created", count,
           jr.max_intent + 1);
    int seen_seq[MAX_JOBS + 8] = {0};
    for (size_t i = 0; i < count; i++) {
        for (size_t q = 0; q < i; q++)
            WCHECK(!guid_eq(&ids[i], &ids[q]), "enum_jobs lists %s twice", guid_text(&ids[i]).s);
        bg_job job = 0;
        hr = bg_manager_get_job(m, &ids[i], &job);
        if (hr == BG_E_NOT_FOUND) continue; /* ended since the enumeration */
        WCHECK(hr == S_OK, "get_job %s: 0x%08" PRIX32, guid_text(&ids[i]).s, (uint32_t)hr);
        if (hr != S_OK) continue;
        int k = name_seq(job);
        WCHECK(k >= 0 && k <= jr.max_intent, "job %s has seq %d (max intent %d)",
               guid_text(&ids[i]).s, k, jr.max_intent);
        if (k < 0 || k > jr.max_intent) continue;
        WCHECK(!seen_seq[k], "two jobs for seq %d", k);
        seen_seq[k] = 1;
        if (jr.has_guid[k])
            WCHECK(guid_eq(&jr.guid[k], &ids[i]), "seq %d: journal %s, store %s", k,
                   guid_text(&jr.guid[k]).s, guid_text(&ids[i]).s);
        job_spec s = spec_of(k);
        if (!jr.has_guid[k]) {
            /* Created by a worker killed before it journalled the job: finish adding its files
             * (the job is still SUSPENDED: it is resumed only after the journal line). */
            uint32_t have = 0;
            bg_job_get_file_count(job, &have);
            WCHECK(have <= (uint32_t)s.nfiles, "seq %d has %u files", k, have);
            for (int j = 0; j < s.nfiles; j++) {
                char url[1024], local[4096];
                remote_url(k, j, &s.f[j], url, sizeof url);
                local_path(k, j, local, sizeof local);
                if ((uint32_t)j < have) {
                    char got[1024];
                    size_t needed = 0;
                    got[0] = '\0';
                    bg_job_get_file_remote_name(job, (uint32_t)j, got, sizeof got, &needed);
                    WCHECK(strcmp(got, url) == 0, "seq %d file %d: %s", k, j, got);
                } else {
                    hr = bg_job_add_file(job, url, local);
                    WCHECK(hr == S_OK, "seq %d add_file %d: 0x%08" PRIX32, k, j, (uint32_t)hr);
                }
            }
            WCHECK(bg_job_set_minimum_retry_delay(job, 0) == S_OK, "retry delay");
            WCHECK(journal_append(g_journal, "G %d %s\n", k, guid_text(&ids[i]).s) == 0,
                   "journal");
        }
        jobs[n].k = k;
        jobs[n].job = job;
        jobs[n].done = 0;
        n++;
    }

    /* New jobs. */
    int next = jr.max_intent + 1;
    for (int made = 0; !final && made < 2 && next < MAX_JOBS; made++, next++) {
        int k = next;
        job_spec s = spec_of(k);
        WCHECK(journal_append(g_journal, "I %d\n", k) == 0, "journal");
        char name[64];
        snprintf(name, sizeof name, "chaos-%d", k);
        bg_guid id;
        bg_job job = 0;
        hr = bg_manager_create_job(m, name, BG_JOB_TYPE_DOWNLOAD, &id, &job);
        WCHECK(hr == S_OK, "create_job: 0x%08" PRIX32, (uint32_t)hr);
        if (hr != S_OK) break;
        WCHECK(bg_job_set_minimum_retry_delay(job, 0) == S_OK, "retry delay");
        for (int j = 0; j < s.nfiles; j++) {
            char url[1024], local[4096];
            remote_url(k, j, &s.f[j], url, sizeof url);
            local_path(k, j, local, sizeof local);
            hr = bg_job_add_file(job, url, local);
            WCHECK(hr == S_OK, "seq %d add_file %d: 0x%08" PRIX32, k, j, (uint32_t)hr);
        }
        WCHECK(journal_append(g_journal, "G %d %s\n", k, guid_text(&id).s) == 0, "journal");
        jobs[n].k = k;
        jobs[n].job = job;
        jobs[n].done = 0;
        n++;
    }

    /* Run: resume what waits, complete what is done (eager jobs at once; all of them in the
     * final worker, and the non-eager ones a previous worker left TRANSFERRED). */
    int first = 1, said_transferring = 0;
    for (;;) {
        int left = 0;
        for (int i = 0; i < n; i++) {
            wjob *w = &jobs[i];
            if (w->done) continue;
            bg_job_state s = job_state(w->job);
            job_spec sp = spec_of(w->k);
            if (s == BG_JOB_STATE_TRANSFERRING && !said_transferring) {
                status('X');
                said_transferring = 1;
            }
            switch (s) {
            case BG_JOB_STATE_SUSPENDED:
            case BG_JOB_STATE_ERROR:
                if (s == BG_JOB_STATE_ERROR && final) {
                    bg_job_error e;
                    if (bg_job_get_error(w->job, &e, NULL, 0, NULL) == S_OK)
                        fprintf(stderr, "worker %d: job %d in ERROR 0x%08" PRIX32 " (%s); resuming\n",
                                (int)getpid(), w->k, (uint32_t)e.code, bg_hresult_message(e.code));
                }
                hr = bg_job_resume(w->job);
                WCHECK(hr == S_OK, "job %d: resume from %s: 0x%08" PRIX32, w->k, state_name(s),
                       (uint32_t)hr);
                break;
            case BG_JOB_STATE_TRANSFERRED:
                if (sp.eager || final || first) w_complete(w, final);
                break;
            case BG_JOB_STATE_ACKNOWLEDGED:
                w->done = 1;
                break;
            case BG_JOB_STATE_CANCELLED:
                WCHECK(0, "job %d was cancelled", w->k);
                w->done = 1;
                break;
            default:
                break;
            }
            if (!w->done) left++;
        }
        first = 0;
        if (final && left == 0) break;
        if (now_ms() - started > (final ? FINAL_TIMEOUT_MS : 60000u)) {
            if (final) {
                WCHECK(0, "%d jobs not done after %u ms", left, FINAL_TIMEOUT_MS);
                for (int i = 0; i < n; i++) {
                    if (jobs[i].done) continue;
                    bg_job_progress p;
                    memset(&p, 0, sizeof p);
                    bg_job_get_progress(jobs[i].job, &p);
                    fprintf(stderr, "   job %d: %s, %" PRIu64 "/%" PRIu64 " bytes, %u/%u files\n",
                            jobs[i].k, state_name(job_state(jobs[i].job)), p.bytes_transferred,
                            p.bytes_total, p.files_transferred, p.files_total);
                }
            }
            break;
        }
        sleep_ms(final ? 10 : 3);
    }
    if (final) {
        size_t c = 99;
        hr = bg_manager_enum_jobs(m, 0, NULL, 0, &c);
        WCHECK(hr == S_OK && c == 0, "after the final worker: %zu jobs listed (0x%08" PRIX32 ")", c,
               (uint32_t)hr);
        fprintf(stderr, "final worker: %d jobs handled in %" PRIu64 " ms\n", n, now_ms() - started);
    }
    WCHECK(bg_manager_close(m) == S_OK, "close");
    return harness_failed_ ? 1 : 0;
}

/* ---- the parent ---------------------------------------------------------------------------- */

typedef struct seen_file {
    int valid;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} seen_file;

static seen_file g_seen[MAX_JOBS + 8][MAX_FILES];
static int g_files_checked;

/* Every destination file that exists now must be complete and byte-identical (files already
 * verified and unchanged since are skipped). Returns the number of bad ones. */
static int checkpoint(const char *when)
{
    journal jr;
    journal_read(g_journal, &jr);
    int bad = 0;
    for (int k = 0; k <= jr.max_intent && k < MAX_JOBS + 8; k++) {
        job_spec s = spec_of(k);
        for (int j = 0; j < s.nfiles; j++) {
            char local[4096];
            local_path(k, j, local, sizeof local);
            struct stat st;
            if (lstat(local, &st) != 0) {
                g_seen[k][j].valid = 0;
                continue;
            }
            seen_file *sf = &g_seen[k][j];
            if (sf->valid && sf->dev == st.st_dev && sf->ino == st.st_ino &&
                sf->size == st.st_size && sf->mtime.tv_sec == st.st_mtim.tv_sec &&
                sf->mtime.tv_nsec == st.st_mtim.tv_nsec && sf->ctime.tv_sec == st.st_ctim.tv_sec &&
                sf->ctime.tv_nsec == st.st_ctim.tv_nsec)
                continue;
            int ok = S_ISREG(st.st_mode) && content_file_ok(local, s.f[j].size, s.f[j].seed, 1);
            g_files_checked++;
            CHECK_MSG(ok, "%s: %s (job %d file %d) is partial or corrupt", when, local, k, j);
            if (!ok) {
                bad++;
                sf->valid = 0;
                continue;
            }
            sf->valid = 1;
            sf->dev = st.st_dev;
            sf->ino = st.st_ino;
            sf->size = st.st_size;
            sf->mtime = st.st_mtim;
            sf->ctime = st.st_ctim;
        }
    }
    return bad;
}

/* Reads the status bytes the worker wrote so far (waiting at most timeout_ms for the first);
 * updates *in_complete ('C' sets, 'c' clears), counts 'F' into *fails, and returns 1 when
 * `want` was among them. */
static int g_transferring; /* the current worker said 'X' (a job of it was TRANSFERRING) */

static int read_status(child *c, int timeout_ms, char want, int *in_complete, int *fails,
                       int *opened)
{
    int found = 0;
    uint64_t end = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int left = (int)(end > now_ms() ? end - now_ms() : 0);
        struct pollfd p = {.fd = c->from, .events = POLLIN};
        int pr = poll(&p, 1, found ? 0 : left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return found;
        char buf[256];
        ssize_t r = read(c->from, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return found; /* the worker is gone */
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] == 'C') *in_complete = 1;
            if (buf[i] == 'c') *in_complete = 0;
            if (buf[i] == 'F') (*fails)++;
            if (buf[i] == 'O') *opened = 1;
            if (buf[i] == 'X') g_transferring = 1;
            if (buf[i] == want) found = 1;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--child") == 0 && strcmp(argv[2], "worker") == 0)
        return worker_main(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_watchdog_s = 300;
    REQUIRE(test_tmpdir(g_base, sizeof g_base) != NULL);
    path_join(g_state, sizeof g_state, g_base, "state");
    path_join(g_journal, sizeof g_journal, g_base, "journal");
    path_join(g_dst, sizeof g_dst, g_base, "dst");
    REQUIRE(mkdir(g_dst, 0700) == 0);
    for (int d = 0; d < NDIRS; d++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/d%d", g_dst, d);
        REQUIRE(mkdir(dir, 0700) == 0);
    }
    g_runid = (int)getpid();
    int kills = 50;
    const char *env = getenv("BGCOPY_CHAOS_KILLS");
    if (env != NULL && env[0] != '\0') kills = atoi(env);
    if (kills < 0) kills = 0;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    env = getenv("BGCOPY_CHAOS_SEED");
    if (env != NULL && env[0] != '\0') seed = (unsigned)strtoul(env, NULL, 10);
    printf("chaos: %d kills, seed %u (BGCOPY_CHAOS_SEED), state %s\n", kills, seed, g_state);
    ts_port(); /* fail early without the fixture */

    char runid_text[32];
    snprintf(runid_text, sizeof runid_text, "%d", g_runid);
    const char *const worker_args[] = {"worker", g_state, g_journal, g_dst, runid_text, "chaos",
                                       NULL};
    const char *const final_args[] = {"worker", g_state, g_journal, g_dst, runid_text, "final",
                                      NULL};

    section("chaos: kill workers at random moments");
    int killed = 0, killed_in_complete = 0, killed_before_open = 0, worker_fails = 0;
    int exited_early = 0, killed_transferring = 0;
    uint64_t t0 = now_ms();
    for (int i = 0; i < kills; i++) {
        child c;
        spawn_child(&c, worker_args);
        int in_complete = 0, opened = 0;
        g_transferring = 0;
        uint64_t spawned = now_ms();
        int mode = i % 4;
        if (mode == 1) {
            /* 5–300 ms after the start: some of these land inside bg_manager_open (store open,
             * WAL recovery) or the worker's recovery. */
            uint64_t end = spawned + 5 + (uint64_t)(rand_r(&seed) % 296);
            while (now_ms() < end)
                read_status(&c, (int)(end - now_ms()), 0, &in_complete, &worker_fails, &opened);
        } else {
            read_status(&c, 10000, 'O', &in_complete, &worker_fails, &opened);
            CHECK_MSG(opened, "worker %d did not open the directory within 10 s", (int)c.pid);
            if (mode == 3) {
                /* Right inside a Complete, when the worker starts one within 400 ms. */
                if (read_status(&c, 400, 'C', &in_complete, &worker_fails, &opened) &&
                    in_complete)
                    sleep_ms((uint64_t)(rand_r(&seed) % 3));
            } else {
                /* 5–300 ms after bg_manager_open returned. */
                uint64_t end = now_ms() + 5 + (uint64_t)(rand_r(&seed) % 296);
                while (now_ms() < end)
                    read_status(&c, (int)(end - now_ms()), 0, &in_complete, &worker_fails,
                                &opened);
            }
        }
        int status_before = 0;
        if (waitpid(c.pid, &status_before, WNOHANG) == c.pid) {
            /* It ended on its own: only a failure does that. */
            exited_early++;
            CHECK_MSG(0, "worker %d exited by itself (status 0x%x)", (int)c.pid,
                      (unsigned)status_before);
            forget_child_pid(c.pid);
            close(c.to);
            close(c.from);
        } else {
            kill(c.pid, SIGKILL);
            while (waitpid(c.pid, NULL, 0) < 0 && errno == EINTR) {
            }
            forget_child_pid(c.pid);
            read_status(&c, 0, 0, &in_complete, &worker_fails, &opened); /* what it wrote last */
            close(c.to);
            close(c.from);
            killed++;
            if (in_complete) killed_in_complete++;
            if (g_transferring) killed_transferring++;
            if (!opened) killed_before_open++;
        }
        char when[64];
        snprintf(when, sizeof when, "after kill %d", i + 1);
        checkpoint(when);
    }
    CHECK_EQ_INT(worker_fails, 0);
    CHECK_EQ_INT(exited_early, 0);
    {
        journal jr;
        journal_read(g_journal, &jr);
        printf("chaos: %d workers killed (%d inside a Complete, %d while transferring, %d before "
               "bg_manager_open returned) in %" PRIu64
               " ms; %d jobs journalled (%d intents); %d file checks\n",
               killed, killed_in_complete, killed_transferring, killed_before_open, now_ms() - t0,
               jr.n_guids, jr.max_intent + 1, g_files_checked);
    }

    section("chaos: a final worker finishes everything");
    {
        child c;
        spawn_child(&c, final_args);
        int st = child_wait_exit(&c, FINAL_TIMEOUT_MS + 30000);
        CHECK_MSG(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "the final worker ended with status 0x%x", (unsigned)st);
    }
    checkpoint("after the final worker");

    section("chaos: nothing lost, nothing duplicated, nothing left behind");
    journal jr;
    journal_read(g_journal, &jr);
    CHECK_EQ_INT(jr.duplicate_g, 0);
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(g_state, &m));
    bg_guid ids[MAX_JOBS + 8];
    size_t count = 0;
    CHECK_OK(bg_manager_enum_jobs(m, 0, ids, MAX_JOBS + 8, &count));
    CHECK_MSG((int)count <= jr.max_intent + 1, "%zu jobs listed, %d created", count,
              jr.max_intent + 1);
    for (size_t i = 0; i < count; i++)
        for (size_t q = 0; q < i; q++)
            CHECK_MSG(!guid_eq(&ids[i], &ids[q]), "%s listed twice", guid_text(&ids[i]).s);
    int acknowledged = 0, resumable = 0, lost = 0;
    for (int k = 0; k <= jr.max_intent; k++) {
        if (!jr.has_guid[k]) continue;
        bg_job job = 0;
        bg_hresult hr = bg_manager_get_job(m, &jr.guid[k], &job);
        job_spec s = spec_of(k);
        if (hr == S_OK) {
            bg_job_state st = job_state(job);
            uint32_t nf = 0;
            bg_job_get_file_count(job, &nf);
            int ok = st != BG_JOB_STATE_CANCELLED && st != BG_JOB_STATE_ACKNOWLEDGED &&
                     nf == (uint32_t)s.nfiles;
            CHECK_MSG(ok, "job %d: %s with %u files", k, state_name(st), nf);
            if (ok) resumable++;
            else lost++;
            bg_job_release(job);
        } else {
            CHECK_HR(BG_E_NOT_FOUND, hr);
            int all = 1;
            for (int j = 0; j < s.nfiles; j++) {
                char local[4096];
                local_path(k, j, local, sizeof local);
                if (!content_file_ok(local, s.f[j].size, s.f[j].seed, 1)) all = 0;
            }
            CHECK_MSG(all, "job %d (%s) is gone but its files are not all there", k,
                      guid_text(&jr.guid[k]).s);
            if (all) acknowledged++;
            else lost++;
        }
    }
    printf("chaos: %d jobs acknowledged with their files, %d still resumable, %d lost\n",
           acknowledged, resumable, lost);
    CHECK_MSG(resumable == 0, "%d jobs were not finished by the final worker", resumable);
    if (resumable == 0) {
        for (int d = 0; d < NDIRS; d++) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/d%d", g_dst, d);
            CHECK_EQ_INT(count_temps(dir, 1), 0);
        }
    }
    CHECK_OK(bg_manager_close(m));
    alarm(0);
    if (harness_failed_ == 0) remove_tree(g_base);
    TEST_MAIN_END();
}
