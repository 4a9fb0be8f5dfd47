/*
 * test_properties.c — job properties: defaults, every setter/getter round trip, the string
 * limits at their boundaries (counted in UTF-16 units, spec §3.12 and §10 #24), enum values,
 * the string-buffer convention of the getters, and the job times (never going backwards).
 */
#include "harness.h"

/* Part 1 of job_helpers.h only (repeat(), wall_ms()). */
#define JOB_HELPERS_BASIC_ONLY
#include "job_helpers.h"

static bg_manager g_mgr;
static char g_dir[4096];

/* ---- helpers ----------------------------------------------------------------------------- */

/* prefix + suffix, malloc'd; frees both. */
static char *concat_free(char *a, char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = (char *)malloc(na + nb + 1);
    if (s == NULL) abort();
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    free(a);
    free(b);
    return s;
}

typedef bg_hresult (*string_getter)(bg_job, char *, size_t, size_t *);

/* Reads a string property; returns a malloc'd copy or NULL (with a failed check). */
static char *get_string(bg_job job, string_getter getter)
{
    size_t needed = 0;
    int32_t hr = getter(job, NULL, 0, &needed);
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, hr);
    if (hr != BG_E_INSUFFICIENT_BUFFER || needed == 0) return NULL;
    char *buf = (char *)malloc(needed);
    if (buf == NULL) abort();
    size_t again = 0;
    hr = getter(job, buf, needed, &again);
    CHECK_OK(hr);
    CHECK_EQ_U64(again, needed);
    if (hr != S_OK) {
        free(buf);
        return NULL;
    }
    CHECK_EQ_U64(strlen(buf) + 1, needed);
    return buf;
}

static int string_is(bg_job job, string_getter getter, const char *want)
{
    char *got = get_string(job, getter);
    int same = got != NULL && strcmp(got, want) == 0;
    free(got);
    return same;
}

static bg_job_times times_of(bg_job job)
{
    bg_job_times t;
    memset(&t, 0, sizeof t);
    CHECK_OK(bg_job_get_times(job, &t));
    return t;
}

/* The times seen so far of one job: each new reading must not go backwards. */
typedef struct {
    bg_job job;
    bg_job_times last;
} time_watch;

static void watch_start(time_watch *w, bg_job job)
{
    w->job = job;
    w->last = times_of(job);
}

/* Checks the job's times against the last reading; `changed` = a change happened since. */
static void watch_step(time_watch *w, int changed, int line)
{
    bg_job_times t = times_of(w->job);
    CHECK_MSG(t.creation_time == w->last.creation_time, "line %d: creation time changed", line);
    CHECK_MSG(t.modification_time >= w->last.modification_time,
              "line %d: modification time went back %" PRId64 " -> %" PRId64, line,
              w->last.modification_time, t.modification_time);
    if (!changed)
        CHECK_MSG(t.modification_time == w->last.modification_time,
                  "line %d: a rejected call changed the modification time", line);
    CHECK_MSG(t.modification_time >= t.creation_time, "line %d: modification < creation", line);
    if (w->last.transfer_completion_time != 0)
        CHECK_MSG(t.transfer_completion_time == w->last.transfer_completion_time,
                  "line %d: transfer completion time changed", line);
    w->last = t;
}

#define WATCH(w, changed) watch_step((w), (changed), __LINE__)

/* ---- defaults -------------------------------------------------------------------------- */

static void test_defaults(void)
{
    bg_guid id;
    bg_job job = 0;
    memset(&id, 0, sizeof id);
    int64_t before = wall_ms();
    REQUIRE_OK(bg_manager_create_job(g_mgr, "defaults", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    int64_t after = wall_ms();

    bg_job_state state = -1;
    CHECK_OK(bg_job_get_state(job, &state));
    CHECK_EQ_INT(state, BG_JOB_STATE_SUSPENDED);
    bg_job_type type = -1;
    CHECK_OK(bg_job_get_type(job, &type));
    CHECK_EQ_INT(type, BG_JOB_TYPE_DOWNLOAD);
    bg_guid id2;
    memset(&id2, 0xFF, sizeof id2);
    CHECK_OK(bg_job_get_id(job, &id2));
    CHECK(memcmp(&id, &id2, sizeof id) == 0);
    static const bg_guid zero;
    CHECK(memcmp(&id, &zero, sizeof id) != 0);

    CHECK(string_is(job, bg_job_get_display_name, "defaults"));
    CHECK(string_is(job, bg_job_get_description, ""));

    bg_job_priority prio = -1;
    CHECK_OK(bg_job_get_priority(job, &prio));
    CHECK_EQ_INT(prio, BG_JOB_PRIORITY_NORMAL);
    uint32_t v = 0;
    CHECK_OK(bg_job_get_minimum_retry_delay(job, &v));
    CHECK_EQ_U64(v, 600);
    CHECK_OK(bg_job_get_no_progress_timeout(job, &v));
    CHECK_EQ_U64(v, 1209600);
    CHECK_OK(bg_job_get_notify_flags(job, &v));
    CHECK_EQ_U64(v, BG_NOTIFY_JOB_TRANSFERRED | BG_NOTIFY_JOB_ERROR);
    CHECK_OK(bg_job_get_maximum_download_time(job, &v));
    CHECK_EQ_U64(v, 7776000);
    v = 99;
    CHECK_OK(bg_job_get_error_count(job, &v));
    CHECK_EQ_U64(v, 0);
    v = 99;
    CHECK_OK(bg_job_get_file_count(job, &v));
    CHECK_EQ_U64(v, 0);

    bg_job_progress p;
    memset(&p, 0xA5, sizeof p);
    CHECK_OK(bg_job_get_progress(job, &p));
    CHECK_EQ_U64(p.bytes_total, 0); /* 0 without files (§4.1) */
    CHECK_EQ_U64(p.bytes_transferred, 0);
    CHECK_EQ_U64(p.files_total, 0);
    CHECK_EQ_U64(p.files_transferred, 0);

    bg_job_times t = times_of(job);
    CHECK_MSG(t.creation_time >= before - 1000 && t.creation_time <= after + 1000,
              "creation %" PRId64 " not within [%" PRId64 ", %" PRId64 "] (ms since epoch)",
              t.creation_time, before, after);
    CHECK(t.modification_time >= t.creation_time);
    CHECK_EQ_INT(t.transfer_completion_time, 0);

    bg_job_error e;
    CHECK_HR(BG_E_ERROR_INFORMATION_UNAVAILABLE, bg_job_get_error(job, &e, NULL, 0, NULL));

    /* A file before its transfer: size unknown, nothing transferred (header). */
    char src[4096], dest[4096], url[4200];
    REQUIRE(path_join(src, sizeof src, g_dir, "defaults-src") != NULL);
    REQUIRE(path_join(dest, sizeof dest, g_dir, "defaults-dest") != NULL);
    REQUIRE(file_url(url, sizeof url, src) != NULL);
    REQUIRE(make_pattern_file(src, 1000, 1) == 0);
    CHECK_OK(bg_job_add_file(job, url, dest));
    CHECK_OK(bg_job_get_progress(job, &p));
    CHECK_EQ_U64(p.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(p.bytes_transferred, 0);
    CHECK_EQ_U64(p.files_total, 1);
    CHECK_EQ_U64(p.files_transferred, 0);
    bg_file_progress fp;
    memset(&fp, 0xA5, sizeof fp);
    CHECK_OK(bg_job_get_file_progress(job, 0, &fp));
    CHECK_EQ_U64(fp.bytes_total, BG_SIZE_UNKNOWN);
    CHECK_EQ_U64(fp.bytes_transferred, 0);
    CHECK_EQ_INT(fp.completed, 0);
    {
        char buf[4200];
        size_t needed = 0;
        CHECK_OK(bg_job_get_file_remote_name(job, 0, buf, sizeof buf, &needed));
        CHECK_STR(buf, url);
        CHECK_EQ_U64(needed, strlen(url) + 1);
        CHECK_OK(bg_job_get_file_local_name(job, 0, buf, sizeof buf, &needed));
        CHECK_STR(buf, dest);
        CHECK_HR(S_FALSE, bg_job_get_file_temp_name(job, 0, buf, sizeof buf, &needed));
        CHECK_STR(buf, "");
        CHECK_EQ_U64(needed, 1);
    }

    /* out_id may be NULL; each job has its own GUID. */
    bg_job other = 0;
    CHECK_OK(bg_manager_create_job(g_mgr, "no id wanted", BG_JOB_TYPE_DOWNLOAD, NULL, &other));
    bg_guid oid;
    CHECK_OK(bg_job_get_id(other, &oid));
    CHECK(memcmp(&oid, &id, sizeof id) != 0);
    CHECK(memcmp(&oid, &zero, sizeof oid) != 0);

    CHECK_OK(bg_job_cancel(other));
    CHECK_OK(bg_job_release(other));
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- display name and description limits ------------------------------------------------ */

typedef struct {
    const char *what;
    char *text;
    int32_t expected;
} limit_case;

static void run_limit_cases(const char *prop, bg_job job,
                            bg_hresult (*setter)(bg_job, const char *), string_getter getter,
                            limit_case *cases, size_t n)
{
    time_watch w;
    watch_start(&w, job);
    for (size_t i = 0; i < n; i++) {
        char *before = get_string(job, getter);
        int32_t hr = setter(job, cases[i].text);
        CHECK_MSG(hr == cases[i].expected,
                  "%s %s (%zu bytes): expected 0x%08" PRIX32 " got 0x%08" PRIX32 " (%s)", prop,
                  cases[i].what, strlen(cases[i].text), (uint32_t)cases[i].expected,
                  (uint32_t)hr, harness_msg_(hr));
        char *after = get_string(job, getter);
        const char *want = hr == S_OK ? cases[i].text : before;
        CHECK_MSG(after != NULL && want != NULL && strcmp(after, want) == 0,
                  "%s %s: value after the call is not %s", prop, cases[i].what,
                  hr == S_OK ? "the new one" : "the old one");
        WATCH(&w, hr == S_OK);
        free(before);
        free(after);
    }
}

static void test_display_name(void)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "start", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    /* 'é' is 2 bytes and 1 UTF-16 unit, '€' 3 bytes and 1 unit, '😀' 4 bytes and 2 units. */
    limit_case cases[] = {
        {"plain ASCII", repeat("x", 10), S_OK},
        {"256 ASCII", repeat("a", 256), S_OK},
        {"257 ASCII", repeat("b", 257), BG_E_STRING_TOO_LONG},
        {"256 x e-acute (512 bytes)", repeat("\xC3\xA9", 256), S_OK},
        {"257 x e-acute", repeat("\xC3\xA9", 257), BG_E_STRING_TOO_LONG},
        {"256 x euro (768 bytes)", repeat("\xE2\x82\xAC", 256), S_OK},
        {"257 x euro", repeat("\xE2\x82\xAC", 257), BG_E_STRING_TOO_LONG},
        {"128 x emoji (256 units)", repeat("\xF0\x9F\x98\x80", 128), S_OK},
        {"129 x emoji (258 units)", repeat("\xF0\x9F\x98\x80", 129), BG_E_STRING_TOO_LONG},
        {"254 ASCII + emoji (256 units)",
         concat_free(repeat("c", 254), repeat("\xF0\x9F\x98\x80", 1)), S_OK},
        {"255 ASCII + emoji (257 units)",
         concat_free(repeat("d", 255), repeat("\xF0\x9F\x98\x80", 1)), BG_E_STRING_TOO_LONG},
        {"4096 ASCII", repeat("e", 4096), BG_E_STRING_TOO_LONG},
        /* The header does not forbid an empty display name (spec §3.2: non-NULL, <= 256). */
        {"empty", repeat("", 1), S_OK},
        {"back to text", repeat("name", 3), S_OK},
    };
    size_t n = sizeof cases / sizeof cases[0];
    run_limit_cases("SetDisplayName", job, bg_job_set_display_name, bg_job_get_display_name,
                    cases, n);

    /* The same limits at CreateJob. */
    for (size_t i = 0; i < n; i++) {
        bg_job j = 0xA5A5A5A5A5A5A5A5ull;
        int32_t hr = bg_manager_create_job(g_mgr, cases[i].text, BG_JOB_TYPE_DOWNLOAD, NULL, &j);
        CHECK_MSG(hr == cases[i].expected,
                  "CreateJob %s: expected 0x%08" PRIX32 " got 0x%08" PRIX32 " (%s)",
                  cases[i].what, (uint32_t)cases[i].expected, (uint32_t)hr, harness_msg_(hr));
        if (hr == S_OK) {
            CHECK_MSG(string_is(j, bg_job_get_display_name, cases[i].text),
                      "CreateJob %s: name does not read back", cases[i].what);
            CHECK_OK(bg_job_cancel(j));
            CHECK_OK(bg_job_release(j));
        } else {
            CHECK_MSG(j == 0xA5A5A5A5A5A5A5A5ull, "CreateJob %s: out_job written on failure",
                      cases[i].what);
        }
    }
    for (size_t i = 0; i < n; i++) free(cases[i].text);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

static void test_description(void)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "description", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    limit_case cases[] = {
        {"plain ASCII", repeat("some text ", 3), S_OK},
        {"empty", repeat("", 1), S_OK},
        {"1024 ASCII", repeat("a", 1024), S_OK},
        {"1025 ASCII", repeat("b", 1025), BG_E_STRING_TOO_LONG},
        {"1024 x e-acute (2048 bytes)", repeat("\xC3\xA9", 1024), S_OK},
        {"1025 x e-acute", repeat("\xC3\xA9", 1025), BG_E_STRING_TOO_LONG},
        {"512 x emoji (1024 units)", repeat("\xF0\x9F\x98\x80", 512), S_OK},
        {"513 x emoji (1026 units)", repeat("\xF0\x9F\x98\x80", 513), BG_E_STRING_TOO_LONG},
        {"1023 ASCII + emoji (1025 units)",
         concat_free(repeat("c", 1023), repeat("\xF0\x9F\x98\x80", 1)), BG_E_STRING_TOO_LONG},
        {"1022 ASCII + emoji (1024 units)",
         concat_free(repeat("d", 1022), repeat("\xF0\x9F\x98\x80", 1)), S_OK},
        {"multi-line", repeat("line\n", 4), S_OK},
        {"empty again", repeat("", 1), S_OK},
    };
    run_limit_cases("SetDescription", job, bg_job_set_description, bg_job_get_description, cases,
                    sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) free(cases[i].text);
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- the string-buffer convention (API.md) ------------------------------------------------ */

static void test_string_buffers(void)
{
    bg_job job = 0;
    const char *name = "buffer \xC3\xA9"; /* 9 bytes + NUL */
    REQUIRE_OK(bg_manager_create_job(g_mgr, name, BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    size_t len = strlen(name);

    size_t needed = 12345;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_job_get_display_name(job, NULL, 0, &needed));
    CHECK_EQ_U64(needed, len + 1);

    char buf[64];
    for (size_t cap = 1; cap <= len; cap++) {
        memset(buf, '#', sizeof buf);
        needed = 0;
        CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_job_get_display_name(job, buf, cap, &needed));
        CHECK_EQ_U64(needed, len + 1);
        int untouched = 1;
        for (size_t i = 0; i < sizeof buf; i++) untouched &= buf[i] == '#';
        CHECK_MSG(untouched, "cap %zu: the buffer was written on BG_E_INSUFFICIENT_BUFFER", cap);
    }
    memset(buf, '#', sizeof buf);
    needed = 0;
    CHECK_OK(bg_job_get_display_name(job, buf, len + 1, &needed)); /* exact fit */
    CHECK_STR(buf, name);
    CHECK_EQ_U64(needed, len + 1);
    CHECK_EQ_INT(buf[len + 1], '#'); /* nothing written past the NUL */

    /* The empty description needs 1 byte. */
    needed = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_job_get_description(job, NULL, 0, &needed));
    CHECK_EQ_U64(needed, 1);
    buf[0] = '#';
    CHECK_OK(bg_job_get_description(job, buf, 1, &needed));
    CHECK_EQ_INT(buf[0], '\0');

    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- enums and numbers ------------------------------------------------------------------ */

static void test_priority(void)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "priority", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    time_watch w;
    watch_start(&w, job);
    const bg_job_priority good[] = {BG_JOB_PRIORITY_FOREGROUND, BG_JOB_PRIORITY_HIGH,
                                    BG_JOB_PRIORITY_NORMAL, BG_JOB_PRIORITY_LOW,
                                    BG_JOB_PRIORITY_HIGH};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_OK(bg_job_set_priority(job, good[i]));
        bg_job_priority p = -1;
        CHECK_OK(bg_job_get_priority(job, &p));
        CHECK_EQ_INT(p, good[i]);
        WATCH(&w, 1);
    }
    const bg_job_priority bad[] = {4, -1, 5, 100, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(bg_job_set_priority(job, bad[i]) == E_NOTIMPL, "SetPriority(%d) not E_NOTIMPL",
                  (int)bad[i]);
        bg_job_priority p = -1;
        CHECK_OK(bg_job_get_priority(job, &p));
        CHECK_EQ_INT(p, BG_JOB_PRIORITY_HIGH);
        WATCH(&w, 0);
    }
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

static void test_notify_flags(void)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "notify", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    time_watch w;
    watch_start(&w, job);
    for (uint32_t f = 0; f <= 0x1F; f++) {
        CHECK_MSG(bg_job_set_notify_flags(job, f) == S_OK, "SetNotifyFlags(0x%X) refused", f);
        uint32_t got = 0xFFFFFFFF;
        CHECK_OK(bg_job_get_notify_flags(job, &got));
        CHECK_EQ_U64(got, f);
        WATCH(&w, 1);
    }
    CHECK_OK(bg_job_set_notify_flags(job, 0x0B));
    WATCH(&w, 1);
    const uint32_t bad[] = {0x20, 0x21, 0x3F, 0x40, 0x100, 0x80000000u, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(bg_job_set_notify_flags(job, bad[i]) == E_NOTIMPL,
                  "SetNotifyFlags(0x%X) not E_NOTIMPL", bad[i]);
        uint32_t got = 0;
        CHECK_OK(bg_job_get_notify_flags(job, &got));
        CHECK_EQ_U64(got, 0x0B);
        WATCH(&w, 0);
    }
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

typedef struct {
    const char *name;
    bg_hresult (*set)(bg_job, uint32_t);
    bg_hresult (*get)(bg_job, uint32_t *);
    uint32_t dflt;
} u32_prop;

static void test_u32_properties(void)
{
    const u32_prop props[] = {
        {"MinimumRetryDelay", bg_job_set_minimum_retry_delay, bg_job_get_minimum_retry_delay,
         600},
        {"NoProgressTimeout", bg_job_set_no_progress_timeout, bg_job_get_no_progress_timeout,
         1209600},
        {"MaximumDownloadTime", bg_job_set_maximum_download_time,
         bg_job_get_maximum_download_time, 7776000},
        {"MinimumNotificationInterval", bg_job_set_minimum_notification_interval,
         bg_job_get_minimum_notification_interval, 500},
    };
    const uint32_t values[] = {0, 1, 4, 5, 6, 60, 600, 3600, 1209600, 7776000, 0x7FFFFFFFu,
                               0x80000000u, UINT32_MAX, 42};
    for (size_t p = 0; p < sizeof props / sizeof props[0]; p++) {
        bg_job job = 0;
        REQUIRE_OK(bg_manager_create_job(g_mgr, props[p].name, BG_JOB_TYPE_DOWNLOAD, NULL, &job));
        uint32_t got = 0;
        CHECK_OK(props[p].get(job, &got));
        CHECK_MSG(got == props[p].dflt, "%s default %u", props[p].name, got);
        time_watch w;
        watch_start(&w, job);
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            uint32_t v = values[i];
            CHECK_MSG(props[p].set(job, v) == S_OK, "Set%s(%u) refused", props[p].name, v);
            got = 0xA5A5A5A5u;
            CHECK_OK(props[p].get(job, &got));
            if (props[p].set == bg_job_set_minimum_retry_delay && v < 5) {
                /* Spec §2.6: "values < 5 s are raised to 5 s"; the header puts the floor in the
                 * engine (the manager's retry floor). Either reading is accepted here. */
                CHECK_MSG(got == v || got == 5, "%s: set %u, read %u", props[p].name, v, got);
            } else {
                CHECK_MSG(got == v, "%s: set %u, read %u", props[p].name, v, got);
            }
            WATCH(&w, 1);
        }
        CHECK_OK(bg_job_cancel(job));
        CHECK_OK(bg_job_release(job));
    }
}

static void test_max_rate(void)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "max rate", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    uint64_t v = 99;
    CHECK_OK(bg_job_get_max_rate(job, &v));
    CHECK_EQ_U64(v, 0);
    time_watch w;
    watch_start(&w, job);
    const uint64_t values[] = {1, 1000, 1u << 20, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX,
                               0};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        CHECK_OK(bg_job_set_max_rate(job, values[i]));
        CHECK_OK(bg_job_get_max_rate(job, &v));
        CHECK_EQ_U64(v, values[i]);
        WATCH(&w, 1);
    }
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

static void test_security_flags(void)
{
    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "security", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    uint32_t got = 99;
    CHECK_OK(bg_job_get_security_flags(job, &got));
    CHECK_EQ_U64(got, 0);
    const uint32_t good[] = {
        BG_SSL_IGNORE_CERT_CN_INVALID,
        BG_SSL_IGNORE_UNKNOWN_CA,
        BG_SSL_IGNORE_CERT_CN_INVALID | BG_SSL_IGNORE_UNKNOWN_CA,
        BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT,
        BG_HTTP_REDIRECT_POLICY_DISALLOW,
        BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP,
        BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT | BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP |
            BG_SSL_IGNORE_UNKNOWN_CA,
        BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT,
    };
    time_watch w;
    watch_start(&w, job);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_MSG(bg_job_set_security_flags(job, good[i]) == S_OK, "SetSecurityFlags(0x%X)",
                  good[i]);
        CHECK_OK(bg_job_get_security_flags(job, &got));
        CHECK_EQ_U64(got, good[i]);
        WATCH(&w, 1);
    }
    CHECK_OK(bg_job_set_security_flags(job, BG_SSL_IGNORE_UNKNOWN_CA));
    WATCH(&w, 1);
    const uint32_t bad[] = {0x1, 0x4, 0x10, 0x300, 0x700, 0x1000, 0x80000000u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(bg_job_set_security_flags(job, bad[i]) == E_NOTIMPL,
                  "SetSecurityFlags(0x%X) not E_NOTIMPL", bad[i]);
        CHECK_OK(bg_job_get_security_flags(job, &got));
        CHECK_EQ_U64(got, BG_SSL_IGNORE_UNKNOWN_CA);
        WATCH(&w, 0);
    }
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

/* ---- times across a job's life -------------------------------------------------------------- */

static void test_times(void)
{
    char src[4096], dest[4096], url[4200];
    REQUIRE(path_join(src, sizeof src, g_dir, "times-src") != NULL);
    REQUIRE(path_join(dest, sizeof dest, g_dir, "times-dest") != NULL);
    REQUIRE(file_url(url, sizeof url, src) != NULL);
    REQUIRE(make_pattern_file(src, 5000, 7) == 0);

    bg_job job = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "times", BG_JOB_TYPE_DOWNLOAD, NULL, &job));
    time_watch w;
    watch_start(&w, job);

    CHECK_OK(bg_job_set_display_name(job, "times 2"));
    WATCH(&w, 1);
    CHECK_OK(bg_job_set_description(job, "d"));
    WATCH(&w, 1);
    CHECK_OK(bg_job_add_file(job, url, dest));
    WATCH(&w, 1);
    CHECK_HR(E_NOTIMPL, bg_job_set_priority(job, 9));
    WATCH(&w, 0);
    {
        char *long_name = repeat("z", 257);
        CHECK_HR(BG_E_STRING_TOO_LONG, bg_job_set_display_name(job, long_name));
        free(long_name);
    }
    WATCH(&w, 0);
    CHECK_EQ_INT(w.last.transfer_completion_time, 0);

    CHECK_OK(bg_job_resume(job));
    WATCH(&w, 1);
    bg_job_state s = -1;
    CHECK_OK(bg_job_wait(job, 30000, &s));
    CHECK_EQ_INT(s, BG_JOB_STATE_TRANSFERRED);
    WATCH(&w, 1);
    CHECK_MSG(w.last.transfer_completion_time >= w.last.creation_time &&
                  w.last.transfer_completion_time <= w.last.modification_time,
              "transfer completion %" PRId64 " outside [creation %" PRId64
              ", modification %" PRId64 "]",
              w.last.transfer_completion_time, w.last.creation_time, w.last.modification_time);

    CHECK_OK(bg_job_set_description(job, "after transfer"));
    WATCH(&w, 1);
    CHECK_OK(bg_job_complete(job));
    WATCH(&w, 1);
    CHECK(files_equal(src, dest));
    /* final: setters refused, nothing changes any more */
    CHECK_HR(BG_E_INVALID_STATE, bg_job_set_description(job, "too late"));
    WATCH(&w, 0);
    CHECK(string_is(job, bg_job_get_description, "after transfer"));
    CHECK(string_is(job, bg_job_get_display_name, "times 2"));
    CHECK_OK(bg_job_release(job));
}

/* ---- one job seen through two handles --------------------------------------------------- */

static void test_two_handles(void)
{
    bg_guid id;
    bg_job a = 0, b = 0;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "shared", BG_JOB_TYPE_DOWNLOAD, &id, &a));
    REQUIRE_OK(bg_manager_get_job(g_mgr, &id, &b));
    CHECK(a != b);
    CHECK_OK(bg_job_set_display_name(a, "renamed through a"));
    CHECK(string_is(b, bg_job_get_display_name, "renamed through a"));
    CHECK_OK(bg_job_set_priority(b, BG_JOB_PRIORITY_LOW));
    bg_job_priority p = -1;
    CHECK_OK(bg_job_get_priority(a, &p));
    CHECK_EQ_INT(p, BG_JOB_PRIORITY_LOW);
    CHECK_OK(bg_job_set_notify_flags(b, BG_NOTIFY_DISABLE));
    uint32_t f = 0;
    CHECK_OK(bg_job_get_notify_flags(a, &f));
    CHECK_EQ_U64(f, BG_NOTIFY_DISABLE);
    bg_job_times ta = times_of(a), tb = times_of(b);
    CHECK(memcmp(&ta, &tb, sizeof ta) == 0);
    /* releasing one handle leaves the other (and the job) alone */
    CHECK_OK(bg_job_release(a));
    CHECK(string_is(b, bg_job_get_display_name, "renamed through a"));
    bg_job_state s = -1;
    CHECK_OK(bg_job_get_state(b, &s));
    CHECK_EQ_INT(s, BG_JOB_STATE_SUSPENDED);
    CHECK_OK(bg_job_cancel(b));
    CHECK_OK(bg_job_release(b));
}

/* ---- GUID text and manager options ------------------------------------------------------- */

static void test_guid_text(void)
{
    bg_job job = 0;
    bg_guid id;
    REQUIRE_OK(bg_manager_create_job(g_mgr, "guid", BG_JOB_TYPE_DOWNLOAD, &id, &job));
    char text[64];
    size_t needed = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&id, NULL, 0, &needed));
    CHECK_EQ_U64(needed, 37);
    CHECK_OK(bg_guid_to_string(&id, text, 37, &needed));
    CHECK_EQ_U64(needed, 37);
    CHECK_EQ_U64(strlen(text), 36);
    CHECK(text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-');
    bg_guid back;
    memset(&back, 0, sizeof back);
    CHECK_OK(bg_guid_from_string(text, &back));
    CHECK(memcmp(&back, &id, sizeof id) == 0);
    /* braces and upper case */
    char braced[80];
    snprintf(braced, sizeof braced, "{%s}", text);
    for (char *c = braced; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
    memset(&back, 0, sizeof back);
    CHECK_OK(bg_guid_from_string(braced, &back));
    CHECK(memcmp(&back, &id, sizeof id) == 0);
    /* a known value: RFC 4122 byte order */
    CHECK_OK(bg_guid_from_string("00112233-4455-6677-8899-aabbccddeeff", &back));
    const uint8_t want[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                              0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    CHECK(memcmp(back.bytes, want, 16) == 0);
    CHECK_OK(bg_guid_to_string(&back, text, sizeof text, &needed));
    CHECK_STR(text, "00112233-4455-6677-8899-aabbccddeeff");
    CHECK_OK(bg_job_cancel(job));
    CHECK_OK(bg_job_release(job));
}

static void test_manager_option(void)
{
    bg_manager m = 0;
    REQUIRE_OK(bg_manager_open(":memory:", &m));
    uint64_t v = 0;
    CHECK_OK(bg_manager_get_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &v));
    CHECK_EQ_U64(v, 4);
    const uint64_t good[] = {1, 2, 255, 256, 4};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_OK(bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, good[i]));
        CHECK_OK(bg_manager_get_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &v));
        CHECK_EQ_U64(v, good[i]);
    }
    const uint64_t bad[] = {0, 257, 1000, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_HR(E_INVALIDARG, bg_manager_set_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, bad[i]));
        CHECK_OK(bg_manager_get_option(m, BG_OPTION_MAX_BACKGROUND_TRANSFERS, &v));
        CHECK_EQ_U64(v, 4);
    }
    CHECK_OK(bg_manager_close(m));
}

int main(void)
{
    REQUIRE(test_tmpdir(g_dir, sizeof g_dir) != NULL);
    REQUIRE_OK(bg_manager_open(":memory:", &g_mgr));

    test_defaults();
    test_display_name();
    test_description();
    test_string_buffers();
    test_priority();
    test_notify_flags();
    test_u32_properties();
    test_security_flags();
    test_max_rate();
    test_times();
    test_two_handles();
    test_guid_text();
    test_manager_option();

    CHECK_OK(bg_manager_close(g_mgr));
    CHECK(remove_tree(g_dir) == 0);
    TEST_MAIN_END();
}
