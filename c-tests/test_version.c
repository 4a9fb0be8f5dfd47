/*
 * test_version: the library-wide functions of include/bgcopy.h.
 *
 *  - bg_version() against BGCOPY_VERSION_STRING and the BGCOPY_VERSION_* macros;
 *  - bg_hresult_message(): a real text for every code we name, the HTTP facility done
 *    generically (418 has no BG_E_HTTP_ERROR_418 constant), one generic text for unknown codes;
 *  - BG_SUCCEEDED / BG_FAILED;
 *  - the exact numbers of the codes (spec/bits-semantics.md §5, bitsmsg.h, winerror.h);
 *  - bg_guid_to_string / bg_guid_from_string: round trip, the size query, a short buffer,
 *    bad texts, NULL arguments, and out-params left alone on every failure.
 */
#include "harness.h"

/* ---- version ------------------------------------------------------------------------------ */

static void test_version(void)
{
    const char *v = bg_version();
    REQUIRE(v != NULL);
    CHECK_STR(v, BGCOPY_VERSION_STRING);

    char built[64];
    int n = snprintf(built, sizeof built, "%d.%d.%d", (int)BGCOPY_VERSION_MAJOR,
                     (int)BGCOPY_VERSION_MINOR, (int)BGCOPY_VERSION_PATCH);
    REQUIRE(n > 0 && (size_t)n < sizeof built);
    CHECK_STR(v, built);
    CHECK_STR(BGCOPY_VERSION_STRING, built);

    /* A static string: the same pointer every time. */
    CHECK(bg_version() == v);
}

/* ---- messages ----------------------------------------------------------------------------- */

struct named_code {
    const char *name;
    int32_t code;
};

static void test_messages(void)
{
    const struct named_code known[] = {
        {"S_OK", S_OK},
        {"S_FALSE", S_FALSE},
        {"E_HANDLE", E_HANDLE},
        {"E_INVALIDARG", E_INVALIDARG},
        {"E_NOTIMPL", E_NOTIMPL},
        {"E_UNEXPECTED", E_UNEXPECTED},
        {"BG_E_INVALID_STATE", BG_E_INVALID_STATE},
        {"BG_E_NOT_FOUND", BG_E_NOT_FOUND},
        {"BG_E_EMPTY", BG_E_EMPTY},
        {"BG_S_PARTIAL_COMPLETE", BG_S_PARTIAL_COMPLETE},
        {"BG_S_UNABLE_TO_DELETE_FILES", BG_S_UNABLE_TO_DELETE_FILES},
        {"BG_E_HTTP_ERROR_404", BG_E_HTTP_ERROR_404},
        {"BG_E_INSUFFICIENT_BUFFER", BG_E_INSUFFICIENT_BUFFER},
        {"HTTP 418 (no constant)", (int32_t)0x801901A2u},
    };
    const size_t count = sizeof known / sizeof known[0];

    /* The generic texts: one for an unknown failure, and whatever an unknown success gets. */
    const char *unknown_a = bg_hresult_message(-1);
    const char *unknown_b = bg_hresult_message((int32_t)0x8020FFF0u);
    const char *unknown_success = bg_hresult_message((int32_t)0x7FFFFFF0);
    REQUIRE(unknown_a != NULL);
    REQUIRE(unknown_b != NULL);
    REQUIRE(unknown_success != NULL);
    CHECK(unknown_a[0] != '\0');
    CHECK(unknown_success[0] != '\0');
    /* Two different unknown codes get the same generic text. */
    CHECK_STR(unknown_a, unknown_b);
    /* A third unknown failure, in another facility, too. */
    CHECK_STR(bg_hresult_message((int32_t)0x80FF1234u), unknown_a);

    const char *texts[sizeof known / sizeof known[0]];
    for (size_t i = 0; i < count; i++) {
        const char *m = bg_hresult_message(known[i].code);
        texts[i] = m;
        CHECK_MSG(m != NULL, "%s: NULL message", known[i].name);
        if (m == NULL) continue;
        CHECK_MSG(m[0] != '\0', "%s: empty message", known[i].name);
        CHECK_MSG(strcmp(m, unknown_a) != 0, "%s (0x%08" PRIX32 "): generic text \"%s\"",
                  known[i].name, (uint32_t)known[i].code, m);
        CHECK_MSG(strcmp(m, unknown_success) != 0,
                  "%s (0x%08" PRIX32 "): generic success text \"%s\"", known[i].name,
                  (uint32_t)known[i].code, m);
        /* The same static text on a second call. */
        const char *again = bg_hresult_message(known[i].code);
        CHECK_MSG(again != NULL && strcmp(again, m) == 0, "%s: text changed between calls",
                  known[i].name);
    }

    /* Each named code has its own text. */
    for (size_t i = 0; i < count; i++) {
        for (size_t j = i + 1; j < count; j++) {
            if (texts[i] == NULL || texts[j] == NULL) continue;
            CHECK_MSG(strcmp(texts[i], texts[j]) != 0, "%s and %s share the text \"%s\"",
                      known[i].name, known[j].name, texts[i]);
        }
    }

    /* HTTP codes are handled generically: 418 has no constant but its text names the status. */
    const char *m418 = bg_hresult_message((int32_t)0x801901A2u);
    CHECK_MSG(m418 != NULL && strstr(m418, "418") != NULL, "HTTP 418 text: \"%s\"",
              m418 ? m418 : "(null)");
    const char *m404 = bg_hresult_message(BG_E_HTTP_ERROR_404);
    CHECK_MSG(m404 != NULL && strstr(m404, "404") != NULL, "HTTP 404 text: \"%s\"",
              m404 ? m404 : "(null)");
}

/* ---- success / failure -------------------------------------------------------------------- */

static void test_succeeded_failed(void)
{
    CHECK(BG_SUCCEEDED(S_OK));
    CHECK(!BG_FAILED(S_OK));
    CHECK(BG_SUCCEEDED(S_FALSE));
    CHECK(!BG_FAILED(S_FALSE));
    CHECK(BG_SUCCEEDED(BG_S_PARTIAL_COMPLETE));
    CHECK(!BG_FAILED(BG_S_PARTIAL_COMPLETE));
    CHECK(BG_SUCCEEDED(BG_S_UNABLE_TO_DELETE_FILES));
    CHECK(!BG_FAILED(BG_S_UNABLE_TO_DELETE_FILES));
    CHECK(!BG_SUCCEEDED(E_HANDLE));
    CHECK(BG_FAILED(E_HANDLE));
    CHECK(!BG_SUCCEEDED(BG_E_HTTP_ERROR_404));
    CHECK(BG_FAILED(BG_E_HTTP_ERROR_404));
    CHECK(BG_FAILED(E_UNEXPECTED));
    /* The macros take any integer expression (cast inside). */
    int32_t hr = BG_E_INVALID_STATE;
    CHECK(BG_FAILED(hr) && !BG_SUCCEEDED(hr));
    uint32_t raw = 0x80200002u;
    CHECK(BG_FAILED(raw) && !BG_SUCCEEDED(raw));
}

/* ---- numbers ------------------------------------------------------------------------------ */

#define CHECK_CODE(name, value) CHECK_EQ_INT((int32_t)(name), (int32_t)(value))

static void test_code_values(void)
{
    /* COM / Win32 (winerror.h) */
    CHECK_CODE(S_OK, 0x00000000u);
    CHECK_CODE(S_FALSE, 0x00000001u);
    CHECK_CODE(E_NOTIMPL, 0x80004001u);
    CHECK_CODE(E_POINTER, 0x80004003u);
    CHECK_CODE(E_FAIL, 0x80004005u);
    CHECK_CODE(E_UNEXPECTED, 0x8000FFFFu);
    CHECK_CODE(E_ACCESSDENIED, 0x80070005u);
    CHECK_CODE(E_HANDLE, 0x80070006u);
    CHECK_CODE(E_OUTOFMEMORY, 0x8007000Eu);
    CHECK_CODE(E_INVALIDARG, 0x80070057u);
    CHECK_CODE(BG_E_INSUFFICIENT_BUFFER, 0x8007007Au);
    /* BITS (bitsmsg.h) */
    CHECK_CODE(BG_S_ERROR_CONTEXT_NONE, 0x00200006u);
    CHECK_CODE(BG_S_PARTIAL_COMPLETE, 0x00200017u);
    CHECK_CODE(BG_S_UNABLE_TO_DELETE_FILES, 0x0020001Au);
    CHECK_CODE(BG_E_NOT_FOUND, 0x80200001u);
    CHECK_CODE(BG_E_INVALID_STATE, 0x80200002u);
    CHECK_CODE(BG_E_EMPTY, 0x80200003u);
    CHECK_CODE(BG_E_FILE_NOT_AVAILABLE, 0x80200004u);
    CHECK_CODE(BG_E_ERROR_INFORMATION_UNAVAILABLE, 0x8020000Fu);
    CHECK_CODE(BG_E_NETWORK_DISCONNECTED, 0x80200010u);
    CHECK_CODE(BG_E_MISSING_FILE_SIZE, 0x80200011u);
    CHECK_CODE(BG_E_INSUFFICIENT_RANGE_SUPPORT, 0x80200013u);
    CHECK_CODE(BG_E_TOO_MANY_FILES, 0x8020001Cu);
    CHECK_CODE(BG_E_STRING_TOO_LONG, 0x80200021u);
    CHECK_CODE(BG_E_TOO_MANY_FILES_IN_JOB, 0x80200051u);
    CHECK_CODE(BG_E_MAXDOWNLOAD_TIMEOUT, 0x80200054u);
    /* HTTP facility: 0x80190000 | status */
    CHECK_CODE(BG_E_HTTP_ERROR_401, 0x80190191u);
    CHECK_CODE(BG_E_HTTP_ERROR_404, 0x80190194u);
    CHECK_CODE(BG_E_HTTP_ERROR_407, 0x80190197u);
    CHECK_CODE(BG_E_HTTP_ERROR_500, 0x801901F4u);
    CHECK_CODE(BG_E_HTTP_ERROR_503, 0x801901F7u);
}

/* ---- GUID text ---------------------------------------------------------------------------- */

static int is_guid_text(const char *s)
{
    if (strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static int guid_eq(const bg_guid *a, const bg_guid *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

static void test_guid_text(void)
{
    bg_guid g;
    for (int i = 0; i < 16; i++) g.bytes[i] = (uint8_t)(i * 0x11 + 0x0F); /* 0f 20 31 ... fd 0e */

    /* Size query: buf NULL, cap 0. */
    size_t needed = 12345;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&g, NULL, 0, &needed));
    CHECK_EQ_U64(needed, 37);

    /* A buffer one byte short: nothing written into it, needed still set. */
    char small[64];
    memset(small, 'Z', sizeof small);
    needed = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&g, small, 36, &needed));
    CHECK_EQ_U64(needed, 37);
    {
        int untouched = 1;
        for (size_t i = 0; i < sizeof small; i++) untouched &= small[i] == 'Z';
        CHECK_MSG(untouched, "a too-small buffer was written to");
    }
    needed = 0;
    CHECK_HR(BG_E_INSUFFICIENT_BUFFER, bg_guid_to_string(&g, small, 1, &needed));
    CHECK_EQ_U64(needed, 37);
    CHECK(small[0] == 'Z');

    /* Exactly 37 bytes is enough. */
    char text[37];
    memset(text, 'Z', sizeof text);
    needed = 0;
    CHECK_OK(bg_guid_to_string(&g, text, sizeof text, &needed));
    CHECK_EQ_U64(needed, 37);
    CHECK(text[36] == '\0');
    CHECK_MSG(is_guid_text(text), "not a GUID text: \"%.37s\"", text);
    /* RFC 4122 byte order, the bytes in order. */
    CHECK_MSG(strcasecmp(text, "0f203142-5364-7586-97a8-b9cadbecfd0e") == 0, "text \"%s\"", text);

    /* Round trip, plain, upper case, and in braces. */
    bg_guid back;
    memset(&back, 0, sizeof back);
    CHECK_OK(bg_guid_from_string(text, &back));
    CHECK(guid_eq(&back, &g));

    char upper[37];
    for (int i = 0; i < 37; i++)
        upper[i] = (text[i] >= 'a' && text[i] <= 'f') ? (char)(text[i] - 'a' + 'A') : text[i];
    memset(&back, 0, sizeof back);
    CHECK_OK(bg_guid_from_string(upper, &back));
    CHECK(guid_eq(&back, &g));

    char braced[40];
    snprintf(braced, sizeof braced, "{%s}", text);
    memset(&back, 0, sizeof back);
    CHECK_OK(bg_guid_from_string(braced, &back));
    CHECK(guid_eq(&back, &g));

    /* Round trip of the job ids the library makes, and of the all-zero and all-ones GUIDs. */
    bg_manager m = 0;
    if (bg_manager_open(":memory:", &m) == S_OK) {
        for (int i = 0; i < 4; i++) {
            bg_guid id;
            bg_job j = 0;
            CHECK_OK(bg_manager_create_job(m, "guid text", BG_JOB_TYPE_DOWNLOAD, &id, &j));
            char t[37];
            CHECK_OK(bg_guid_to_string(&id, t, sizeof t, &needed));
            CHECK(is_guid_text(t));
            memset(&back, 0, sizeof back);
            CHECK_OK(bg_guid_from_string(t, &back));
            CHECK(guid_eq(&back, &id));
            CHECK_OK(bg_job_release(j));
        }
        CHECK_OK(bg_manager_close(m));
    } else {
        CHECK_MSG(0, "bg_manager_open(\":memory:\") failed");
    }
    for (int fill = 0; fill < 2; fill++) {
        bg_guid x;
        memset(x.bytes, fill ? 0xFF : 0x00, sizeof x.bytes);
        char t[37];
        CHECK_OK(bg_guid_to_string(&x, t, sizeof t, &needed));
        CHECK_STR(t, fill ? "ffffffff-ffff-ffff-ffff-ffffffffffff"
                          : "00000000-0000-0000-0000-000000000000");
        memset(&back, 0xA5, sizeof back);
        CHECK_OK(bg_guid_from_string(t, &back));
        CHECK(guid_eq(&back, &x));
    }

    /* Bad texts: E_INVALIDARG and *out_id untouched. */
    const char *bad[] = {
        "",
        "x",
        "not-a-guid",
        "0f203142-5364-7586-97a8-b9cadbecfdf",      /* 35 characters */
        "0f203142-5364-7586-97a8-b9cadbecfdfe0",    /* 37 characters */
        "0f20314253647586-97a8-b9cadbecfdfe----",   /* dashes in the wrong places */
        "0f203142-5364-7586-97a8b-9cadbecfdfe",     /* a dash moved by one */
        "0f2031425364758697a8b9cadbecfdfe",         /* no dashes */
        "0f203142+5364-7586-97a8-b9cadbecfdfe",     /* not a dash */
        "0g203142-5364-7586-97a8-b9cadbecfdfe",     /* not hex */
        "0f203142-5364-7586-97a8-b9cadbecfdf ",     /* trailing space */
        " 0f203142-5364-7586-97a8-b9cadbecfdfe",    /* leading space */
        "{0f203142-5364-7586-97a8-b9cadbecfdfe",    /* unbalanced braces */
        "0f203142-5364-7586-97a8-b9cadbecfdfe}",
        "{{0f203142-5364-7586-97a8-b9cadbecfdfe}}",
        "(0f203142-5364-7586-97a8-b9cadbecfdfe)",
        "0x0f203142-5364-7586-97a8-b9cadbecfd",     /* a 0x prefix */
        "\xc3\xa9" "203142-5364-7586-97a8-b9cadbecfdfe", /* U+00E9: 36 bytes, 35 chars */
        "\xff\xfe" "203142-5364-7586-97a8-b9cadbecfdfe", /* not UTF-8 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bg_guid out;
        memset(&out, 0xA5, sizeof out);
        int32_t hr = bg_guid_from_string(bad[i], &out);
        CHECK_MSG(hr == E_INVALIDARG, "bg_guid_from_string(\"%s\") = 0x%08" PRIX32 " (%s)",
                  bad[i], (uint32_t)hr, harness_msg_(hr));
        int untouched = 1;
        for (int k = 0; k < 16; k++) untouched &= out.bytes[k] == 0xA5;
        CHECK_MSG(untouched, "bg_guid_from_string(\"%s\") wrote *out_id on failure", bad[i]);
    }

    /* NULL arguments: E_INVALIDARG and the out-params untouched. */
    {
        bg_guid out;
        memset(&out, 0xA5, sizeof out);
        CHECK_HR(E_INVALIDARG, bg_guid_from_string(NULL, &out));
        int untouched = 1;
        for (int k = 0; k < 16; k++) untouched &= out.bytes[k] == 0xA5;
        CHECK(untouched);
        CHECK_HR(E_INVALIDARG, bg_guid_from_string(text, NULL));
        CHECK_HR(E_INVALIDARG, bg_guid_from_string(NULL, NULL));
    }
    {
        char buf[64];
        memset(buf, 'Z', sizeof buf);
        needed = 777;
        CHECK_HR(E_INVALIDARG, bg_guid_to_string(NULL, buf, sizeof buf, &needed));
        CHECK_EQ_U64(needed, 777);
        CHECK(buf[0] == 'Z');

        CHECK_HR(E_INVALIDARG, bg_guid_to_string(&g, buf, sizeof buf, NULL));
        CHECK(buf[0] == 'Z');

        CHECK_HR(E_INVALIDARG, bg_guid_to_string(&g, NULL, 37, &needed));
        CHECK_EQ_U64(needed, 777);

        CHECK_HR(E_INVALIDARG, bg_guid_to_string(&g, NULL, 0, NULL));
        CHECK_HR(E_INVALIDARG, bg_guid_to_string(NULL, NULL, 0, NULL));
        CHECK_EQ_U64(needed, 777);
        int untouched = 1;
        for (size_t i = 0; i < sizeof buf; i++) untouched &= buf[i] == 'Z';
        CHECK(untouched);
    }
}

int main(void)
{
    test_version();
    test_messages();
    test_succeeded_failed();
    test_code_values();
    test_guid_text();
    TEST_MAIN_END();
}
