#!/usr/bin/env python3
"""cffi reads include/bgcopy_cffi.h as it is and calls the library through it.

    python3 c-tests/cffi_parse.py <path to libbgcopy.so> <path to include/bgcopy_cffi.h>

Registered with ctest as `cffi_parse`. Catches header shapes that Python bindings cannot read
(casts in #defines, enums with a fixed underlying type, preprocessor blocks).

If cffi is missing: as root under CI (CI set) it is pip-installed; otherwise the test fails
with "cffi missing: pip install cffi" (a missing binding tool must not pass silently).
"""
import os
import subprocess
import sys

E_HANDLE = -2147024890  # 0x80070006

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}", file=sys.stderr)


def import_cffi():
    try:
        import cffi  # noqa: F401

        return cffi
    except ImportError:
        pass
    if os.environ.get("CI") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("cffi missing: installing it (root, CI)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "cffi"], check=False)
        try:
            import cffi  # noqa: F401

            return cffi
        except ImportError:
            pass
    print("cffi missing: pip install cffi", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    libpath, header = sys.argv[1], sys.argv[2]
    cffi = import_cffi()

    with open(header, encoding="utf-8") as f:
        source = f.read()
    ffi = cffi.FFI()
    try:
        ffi.cdef(source)
    except Exception as e:  # cffi raises CDefError, VerificationError, pycparser errors...
        print(f"FAIL: cffi could not parse {header}: {type(e).__name__}: {e}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    check(True, "cdef")

    lib = ffi.dlopen(libpath)

    version = ffi.string(lib.bg_version()).decode("utf-8")
    check(version != "", "bg_version() is non-empty")

    message_ptr = lib.bg_hresult_message(E_HANDLE)
    check(message_ptr != ffi.NULL, "bg_hresult_message(E_HANDLE) is not NULL")
    message = ffi.string(message_ptr).decode("utf-8") if message_ptr != ffi.NULL else ""
    check(message != "", "bg_hresult_message(E_HANDLE) is non-empty")

    # Constants defined in the header must come through as plain integers.
    for name in ("E_HANDLE", "BG_E_HANDLE"):
        if hasattr(lib, name):
            check(getattr(lib, name) == E_HANDLE, f"{name} == {E_HANDLE}")

    print(f"bg_version() = {version!r}; bg_hresult_message(E_HANDLE) = {message!r}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
