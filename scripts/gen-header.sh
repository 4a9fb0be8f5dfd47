#!/usr/bin/env bash
# Regenerates the committed headers from src/ffi with the pinned cbindgen:
#   include/bgcopy.h       (cbindgen.toml)       for C and C++
#   include/bgcopy_cffi.h  (cbindgen-cffi.toml)  for Python cffi's cdef
# With --verify, only checks that they are current (exit 1 if not), as scripts/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

CBINDGEN_VERSION=0.29.4
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if [[ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]]; then
    echo "need cbindgen $CBINDGEN_VERSION: cargo install cbindgen --version $CBINDGEN_VERSION --locked" >&2
    exit 1
fi

verify=()
[[ "${1:-}" == "--verify" ]] && verify=(--verify)

status=0
for pair in "cbindgen.toml:include/bgcopy.h" "cbindgen-cffi.toml:include/bgcopy_cffi.h"; do
    config=${pair%%:*}
    header=${pair#*:}
    if ! cbindgen --quiet --config "$config" --crate bgcopy --output "$header" "${verify[@]}"; then
        if [[ ${#verify[@]} -gt 0 ]]; then
            echo "$header is stale: run scripts/gen-header.sh and commit" >&2
        else
            echo "cbindgen failed for $header ($config)" >&2
        fi
        status=1
    fi
done
exit $status
