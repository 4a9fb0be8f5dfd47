#!/usr/bin/env bash
# THE demo command: ./scripts/demo.sh
# Installs what is missing (scripts/deps.sh), builds the library and the demo with CMake, and
# runs one job end to end in a fresh temp directory that it creates.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash scripts/deps.sh
build_dir=${BGCOPY_BUILD_DIR:-build-demo}
cmake -S . -B "$build_dir" -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build_dir" -j"${BGCOPY_JOBS:-2}" >/dev/null
exec "$build_dir/examples/bgcopy_demo" "$@"
