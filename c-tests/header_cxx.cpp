// bgcopy.h on its own as C++17: compiled with -std=c++17 -Wall -Wextra -Wpedantic -Werror.
// Included twice to prove the include guard; linking bg_version() proves the extern "C" block.
#include "bgcopy.h"
#include "bgcopy.h"

int main()
{
    const char *v = bg_version();
    constexpr const char *header_version = BGCOPY_VERSION_STRING;
    static_assert(BGCOPY_VERSION_MAJOR + BGCOPY_VERSION_MINOR + BGCOPY_VERSION_PATCH + 1 > 0,
                  "version macros are integer constants");
    return (v != nullptr && v[0] != '\0' && header_version[0] != '\0') ? 0 : 1;
}
