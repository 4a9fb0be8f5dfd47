/* bgcopy.h on its own as C11: compiled with -std=c11 -Wall -Wextra -Wpedantic -Werror and
 * nothing else included first. Included twice to prove the include guard. */
#include "bgcopy.h"
#include "bgcopy.h"

int main(void)
{
    /* Link and call through the C declarations; the version macro must be a string literal. */
    const char *v = bg_version();
    static const char header_version[] = BGCOPY_VERSION_STRING;
    long numbers = (long)BGCOPY_VERSION_MAJOR + (long)BGCOPY_VERSION_MINOR + (long)BGCOPY_VERSION_PATCH;
    (void)numbers;
    return (v != 0 && v[0] != '\0' && header_version[0] != '\0') ? 0 : 1;
}
