/* A consumer of the installed library: built through find_package(bgcopy), through
 * pkg-config, and (static_link test) against libbgcopy.a. Exits 0 when the library it runs
 * against is the one whose header it was compiled with. */
#include <bgcopy.h>

#include <stdio.h>
#include <string.h>

#ifndef E_HANDLE
#define E_HANDLE (-2147024890) /* 0x80070006 */
#endif

int main(void)
{
    const char *version = bg_version();
    const char *message = bg_hresult_message(E_HANDLE);

    if (version == NULL || strcmp(version, BGCOPY_VERSION_STRING) != 0) {
        fprintf(stderr, "bg_version() = \"%s\", header says \"%s\"\n",
                version ? version : "(null)", BGCOPY_VERSION_STRING);
        return 1;
    }
    if (message == NULL || message[0] == '\0') {
        fprintf(stderr, "bg_hresult_message(E_HANDLE) is empty\n");
        return 1;
    }
    printf("bgcopy %s; E_HANDLE: %s\n", version, message);
    return 0;
}
