#!/usr/bin/env bash
# Checks (and, as root, installs) what the build and the tests need beyond the Rust toolchain:
#   cmake, pkg-config, libcurl's dev files, a C++ compiler, valgrind (Debian packages),
#   cbindgen exactly 0.29.4 (crates.io), Python's cffi and pytest (PyPI).
# Quiet when everything is there. Not root: prints what is missing and exits 1.
# Safe with CI=true and no stdin (nothing asks a question).
set -euo pipefail

CBINDGEN_VERSION=0.29.4
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in *":$cargo_bin:"*) ;; *) export PATH="$cargo_bin:$PATH" ;; esac

apt_missing=()
need_cbindgen=""
pip_missing=()

have() { command -v "$1" >/dev/null 2>&1; }

have cmake      || apt_missing+=(cmake)
have pkg-config || apt_missing+=(pkg-config)
if ! have pkg-config || ! pkg-config --exists libcurl; then
    apt_missing+=(libcurl4-openssl-dev)
fi
have c++ || have g++ || apt_missing+=(g++)
have valgrind   || apt_missing+=(valgrind)

if ! have cbindgen; then
    need_cbindgen="missing"
elif [[ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]]; then
    need_cbindgen="$(cbindgen --version 2>/dev/null || echo unknown), need $CBINDGEN_VERSION"
fi

python3 -c 'import cffi' 2>/dev/null   || pip_missing+=(cffi)
python3 -c 'import pytest' 2>/dev/null || pip_missing+=(pytest)

if [[ ${#apt_missing[@]} -eq 0 && -z "$need_cbindgen" && ${#pip_missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "scripts/deps.sh: missing build/test dependencies; install them with:" >&2
    if [[ ${#apt_missing[@]} -gt 0 ]]; then
        echo "  sudo apt-get install -y ${apt_missing[*]}" >&2
    fi
    if [[ -n "$need_cbindgen" ]]; then
        echo "  cargo install cbindgen --version $CBINDGEN_VERSION --locked --force   # now: $need_cbindgen" >&2
    fi
    if [[ ${#pip_missing[@]} -gt 0 ]]; then
        echo "  python3 -m pip install ${pip_missing[*]}" >&2
    fi
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=""
apt_update_once() {
    [[ -n "$apt_updated" ]] || apt-get update -qq </dev/null
    apt_updated=1
}

if [[ ${#apt_missing[@]} -gt 0 ]]; then
    echo "scripts/deps.sh: apt-get install ${apt_missing[*]}"
    apt_update_once
    apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" </dev/null >/dev/null
fi
if [[ -n "$need_cbindgen" ]]; then
    echo "scripts/deps.sh: cargo install cbindgen $CBINDGEN_VERSION ($need_cbindgen)"
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --force --quiet </dev/null
fi
if [[ ${#pip_missing[@]} -gt 0 ]]; then
    echo "scripts/deps.sh: pip install ${pip_missing[*]}"
    if ! python3 -m pip install --quiet "${pip_missing[@]}" </dev/null; then
        # Debian's own python3 refuses pip (PEP 668): take Debian's packages instead.
        echo "scripts/deps.sh: pip refused; apt-get install ${pip_missing[*]/#/python3-}"
        apt_update_once
        apt-get install -y -qq --no-install-recommends "${pip_missing[@]/#/python3-}" </dev/null >/dev/null
    fi
fi

# Re-check, so a failed install is reported here and not as a confusing build error later.
fail=0
have cmake || { echo "deps.sh: cmake still missing" >&2; fail=1; }
pkg-config --exists libcurl || { echo "deps.sh: libcurl dev files still missing" >&2; fail=1; }
have c++ || have g++ || { echo "deps.sh: C++ compiler still missing" >&2; fail=1; }
have valgrind || { echo "deps.sh: valgrind still missing" >&2; fail=1; }
[[ "$(cbindgen --version 2>/dev/null)" == "cbindgen $CBINDGEN_VERSION" ]] \
    || { echo "deps.sh: cbindgen $CBINDGEN_VERSION still missing" >&2; fail=1; }
python3 -c 'import cffi, pytest' 2>/dev/null || { echo "deps.sh: cffi/pytest still missing" >&2; fail=1; }
exit $fail
