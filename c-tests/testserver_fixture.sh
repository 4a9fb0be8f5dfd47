#!/usr/bin/env bash
# ctest fixture for C tests that need the loopback test server (testserver/, bgcopy-testserver).
# Registered by c-tests/CMakeLists.txt as testserver_start / testserver_stop (and the _tls pair);
# a test asks for it with a comment line   /* ctest-fixtures: testserver */   (or testserver_tls)
# and then reads the port from $BGCOPY_TESTSERVER_PORT_FILE (harness.h: testserver_url()).
#
#   testserver_fixture.sh start <server binary> <state dir> [--tls]
#   testserver_fixture.sh stop  <state dir>
#
# The state dir holds: port (written by the server once it accepts), pid, log, ca.pem (--tls).
set -euo pipefail

cmd=${1:?usage: testserver_fixture.sh start|stop ...}
case "$cmd" in
start)
    bin=${2:?server binary}
    dir=${3:?state dir}
    tls=${4:-}
    mkdir -p "$dir"
    if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        kill "$(cat "$dir/pid")" 2>/dev/null || true # a server left over by an aborted run
    fi
    rm -f "$dir/port" "$dir/pid" "$dir/ca.pem"
    args=(serve --port-file "$dir/port" --lifetime 3600)
    [[ "$tls" == "--tls" ]] && args+=(--tls --cert-out "$dir/ca.pem")
    # Detached, with its output in a file: ctest must not wait on the server's pipes.
    setsid "$bin" "${args[@]}" </dev/null >"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 300); do
        if [[ -s "$dir/port" ]]; then
            echo "test server up: $(head -1 "$dir/log") (pid $(cat "$dir/pid"), port file $dir/port)"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            echo "test server exited before writing its port file; log:" >&2
            cat "$dir/log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "test server did not write $dir/port within 30 s; log:" >&2
    cat "$dir/log" >&2
    exit 1
    ;;
stop)
    dir=${2:?state dir}
    [[ -f "$dir/pid" ]] || { echo "no test server pid file in $dir"; exit 0; }
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true # SIGTERM: the server stops and removes its port file
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        echo "test server $pid did not stop on SIGTERM; killed" >&2
    fi
    rm -f "$dir/pid" "$dir/port"
    echo "test server stopped"
    ;;
*)
    echo "unknown command: $cmd" >&2
    exit 2
    ;;
esac
