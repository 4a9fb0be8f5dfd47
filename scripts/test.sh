#!/usr/bin/env bash
# THE test command: ./scripts/test.sh  (CI runs it through .ci/run)
#
#   1. scripts/deps.sh                 missing tools (installs them when root)
#   2. header checks                   include/bgcopy.h and include/bgcopy_cffi.h are what the
#                                      pinned cbindgen makes from src/ffi; every item documented
#   3. cargo fmt --check, cargo clippy  formatting and lints (-D warnings), when installed
#      cargo test                      the Rust tests, with the test-hooks feature
#   4. cmake + ctest                   C tests, header as C/C++, cffi, valgrind, install consumers
#   5. bindings/test.sh                pytest (Python package) and go test -race (Go module)
#
# Exits non-zero if anything fails. Stages 3 and 4 both run even when one fails, so one run
# shows every failure. Environment: BGCOPY_BUILD_DIR (default build), BGCOPY_JOBS (default 2),
# BGCOPY_CMAKE_ARGS (extra configure arguments), CTEST_ARGS (extra ctest arguments, e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
build_dir=${BGCOPY_BUILD_DIR:-build}
jobs=${BGCOPY_JOBS:-2}

stage() { printf '\n==== %s ====\n' "$*"; }

stage "dependencies"
bash scripts/deps.sh

stage "header is current (cbindgen $(cbindgen --version | awk '{print $2}') --verify)"
if ! cbindgen --quiet --config cbindgen.toml --crate bgcopy --output include/bgcopy.h --verify; then
    echo "include/bgcopy.h is stale: run scripts/gen-header.sh and commit" >&2
    exit 1
fi
if ! cbindgen --quiet --config cbindgen-cffi.toml --crate bgcopy --output include/bgcopy_cffi.h --verify; then
    echo "include/bgcopy_cffi.h is stale: run scripts/gen-header.sh and commit" >&2
    exit 1
fi
echo "include/bgcopy.h and include/bgcopy_cffi.h are current"

stage "header doc comments"
python3 scripts/check_header_docs.py include/bgcopy.h
echo "every item in include/bgcopy.h has a doc comment"

failed=()

stage "lint: cargo fmt --check, cargo clippy -D warnings"
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --all -- --check || failed+=("cargo fmt")
else
    echo "rustfmt is not installed (rustup component add rustfmt): format check skipped"
fi
if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --workspace --all-targets --features bgcopy/test-hooks -j"$jobs" -- -D warnings ||
        failed+=("cargo clippy")
else
    echo "clippy is not installed (rustup component add clippy): lint skipped"
fi

stage "cargo test --workspace --features bgcopy/test-hooks"
if ! cargo test --workspace --features bgcopy/test-hooks; then
    failed+=("cargo test")
fi

stage "cmake configure + build ($build_dir)"
# shellcheck disable=SC2086 # BGCOPY_CMAKE_ARGS is a list of words
cmake -S . -B "$build_dir" -DBGCOPY_TEST_HOOKS=ON -DBGCOPY_VALGRIND=ON ${BGCOPY_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$jobs"

stage "ctest"
rm -rf "$build_dir/test-tmp" && mkdir -p "$build_dir/test-tmp" # leftovers of an earlier run
# shellcheck disable=SC2086
if ! ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" ${CTEST_ARGS:-}; then
    failed+=("ctest")
fi

stage "bindings: pytest and go test -race"
if ! bash bindings/test.sh; then
    failed+=("bindings")
fi

if [[ ${#failed[@]} -gt 0 ]]; then
    printf '\nscripts/test.sh: FAILED: %s\n' "${failed[*]}" >&2
    exit 1
fi
# Nothing printed after the runners' summaries on success: CI reads their closing lines.
