#!/usr/bin/env bash
# Tests of the language bindings: bindings/test.sh
#
#   1. dependencies     Go (golang-go) and pytest; as root they are installed when missing
#                       (CI=true safe: nothing asks a question); otherwise the script says what
#                       to install and exits 1
#   2. cargo build      --release -p bgcopy -p bgcopy-testserver: target/release/libbgcopy.so
#                       and the loopback test server the tests start on 127.0.0.1
#   3. pytest           bindings/python/tests against that library (BGCOPY_LIBRARY)
#   4. go test -race    bindings/go with CGO_CFLAGS/CGO_LDFLAGS pointing at include/ and the
#                       library (rpath, so nothing needs installing)
#
# Stages 3 and 4 both run even when one fails; the script exits non-zero if either failed
# (pytest's exit code 5, "no tests collected", counts as a failure). The last lines it prints
# are pytest's and go test's summaries.
# Environment: CARGO_TARGET_DIR (default <repo>/target), BGCOPY_JOBS (cargo -j, default 2),
# PYTEST_ARGS (extra pytest arguments), GO_TEST_ARGS (extra go test arguments).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH:/usr/lib/go/bin"
jobs="${BGCOPY_JOBS:-2}"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
python="${PYTHON:-python3}"

stage() { printf '\n==== bindings: %s ====\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- 1. dependencies -------------------------------------------------------------------------
stage "dependencies"
apt_missing=()
have go || apt_missing+=(golang-go)
have gcc || have cc || apt_missing+=(gcc)
have cargo || { echo "bindings/test.sh: cargo not found (install the Rust toolchain)" >&2; exit 1; }
have "$python" || apt_missing+=(python3)
py_has() { "$python" -c "import $1" >/dev/null 2>&1; }

if [[ ${#apt_missing[@]} -gt 0 ]] || ! py_has pytest; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "bindings/test.sh: missing dependencies; install them with:" >&2
        [[ ${#apt_missing[@]} -gt 0 ]] && echo "  sudo apt-get install -y ${apt_missing[*]}" >&2
        py_has pytest || echo "  $python -m pip install pytest   (or: sudo apt-get install -y python3-pytest)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt_updated=""
    apt_install() {
        [[ -n "$apt_updated" ]] || apt-get update -qq </dev/null
        apt_updated=1
        echo "bindings/test.sh: apt-get install $*"
        apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
    }
    [[ ${#apt_missing[@]} -gt 0 ]] && apt_install "${apt_missing[@]}"
    if ! py_has pytest; then
        echo "bindings/test.sh: pip install pytest"
        if ! "$python" -m pip install --quiet pytest </dev/null; then
            # Debian's own python3 refuses pip (PEP 668): take Debian's package instead.
            apt_install python3-pytest
        fi
    fi
    # Optional, for the packaging tests (they skip without them): pip, setuptools, wheel.
    if [[ "$(command -v "$python")" == /usr/bin/python3 ]]; then
        opt=()
        py_has pip || opt+=(python3-pip)
        py_has setuptools || opt+=(python3-setuptools)
        py_has wheel || opt+=(python3-wheel)
        [[ ${#opt[@]} -gt 0 ]] && { apt_install "${opt[@]}" || true; }
    fi
fi
have go || { echo "bindings/test.sh: go still missing" >&2; exit 1; }
py_has pytest || { echo "bindings/test.sh: pytest still missing" >&2; exit 1; }
echo "go: $(go version | awk '{print $3}'), python: $("$python" -c 'import sys; print(sys.version.split()[0])'), pytest: $("$python" -c 'import pytest; print(pytest.__version__)')"

# ---- 2. the library and the test server ------------------------------------------------------
stage "cargo build --release -p bgcopy -p bgcopy-testserver ($target)"
(cd "$repo" && cargo build --release -j"$jobs" -p bgcopy -p bgcopy-testserver)
lib="$target/release/libbgcopy.so"
server="$target/release/bgcopy-testserver"
for f in "$lib" "$server"; do
    [[ -f "$f" ]] || { echo "bindings/test.sh: $f was not built" >&2; exit 1; }
done

export BGCOPY_LIBRARY="$lib"
export BGCOPY_TESTSERVER="$server"
export CGO_ENABLED=1
export CGO_CFLAGS="-I$repo/include"
export CGO_LDFLAGS="-L$target/release -lbgcopy -Wl,-rpath,$target/release"

failed=()
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

# ---- 3. pytest -------------------------------------------------------------------------------
stage "pytest bindings/python"
set +e
# shellcheck disable=SC2086 # PYTEST_ARGS is a list of words
(cd "$here/python" && "$python" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-}) 2>&1 | tee "$logs/pytest.log"
py_rc=${PIPESTATUS[0]}
set -e
case $py_rc in
    0) ;;
    5) echo "bindings/test.sh: pytest collected no tests" >&2; failed+=("pytest (no tests)") ;;
    *) failed+=("pytest") ;;
esac

# ---- 4. go test -race ------------------------------------------------------------------------
stage "go test -race ./... (bindings/go)"
set +e
# shellcheck disable=SC2086 # GO_TEST_ARGS is a list of words
(cd "$here/go" && go vet ./... && go test -race -count=1 ${GO_TEST_ARGS:-} ./...) 2>&1 | tee "$logs/go.log"
go_rc=${PIPESTATUS[0]}
set -e
[[ $go_rc -eq 0 ]] || failed+=("go test")

# ---- summary ---------------------------------------------------------------------------------
printf '\n==== bindings: summary ====\n'
py_summary="$(grep -E '^=*\s*[0-9]+ (passed|failed|error|errors|skipped|deselected|xfailed|xpassed)|no tests ran' "$logs/pytest.log" | tail -n 1 || true)"
go_summary="$(grep -E '^(ok|FAIL)\s' "$logs/go.log" | tail -n 3 | tr '\n' ' ' || true)"
echo "pytest:  ${py_summary:-(no summary line; exit code $py_rc)}"
echo "go test: ${go_summary:-(no summary line; exit code $go_rc)}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "bindings/test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
