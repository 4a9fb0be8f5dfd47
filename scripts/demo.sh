#!/usr/bin/env bash
# THE demo command: ./scripts/demo.sh
# Installs what is missing (scripts/deps.sh), builds the library, the demo and the loopback test
# server, starts the server on 127.0.0.1 (an ephemeral port), and runs one job of three files
# end to end into a fresh temp directory with a state directory of its own; then checks every
# downloaded file byte for byte against what the server served.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
bash scripts/deps.sh
build_dir=${BGCOPY_BUILD_DIR:-build-demo}
echo "building (first run: a few minutes)..."
cmake -S . -B "$build_dir" -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build_dir" -j"${BGCOPY_JOBS:-2}" >/dev/null 2>&1 || cmake --build "$build_dir" -j1
cargo build --release -q -p bgcopy-testserver
server=target/release/bgcopy-testserver

work=$(mktemp -d /tmp/bgcopy-demo-XXXXXX)
"$server" serve --port 0 --port-file "$work/port" --lifetime 600 >/dev/null &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "demo: the test server did not start" >&2; exit 1; }
port=$(cat "$work/port")

BGCOPY_DEMO_BASE="http://127.0.0.1:$port" "$build_dir/examples/bgcopy_demo" "$work"
sizes=(50331648 16777216 1048576)
for i in 0 1 2; do
    "$server" verify "$work/downloads/file$i.bin" --size "${sizes[$i]}" --seed $((i + 1))
done
echo "demo finished: every file arrived byte for byte (checked against the server's content)"
