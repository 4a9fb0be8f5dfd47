#!/usr/bin/env bash
# ctest fixture "http" of the HTTP C tests (c-tests/http/CMakeLists.txt): two loopback
# bgcopy-testserver instances, plain and TLS, for the whole test run.
#
#   server.sh start <dir> <bgcopy-testserver binary>
#   server.sh stop  <dir>
#
# <dir> receives: http.port, https.port (written by the servers once they accept),
# tls-ca.pem (the TLS server's throw-away CA), http.pid, https.pid, http.log, https.log.
set -euo pipefail

cmd=${1:?usage: server.sh start|stop <dir> [binary]}
dir=${2:?state dir}

# Stops the named servers: SIGTERM to all first (each takes a moment to wind down), then waits.
stop_servers() { # <name>...
    local name pid pids=()
    for name in "$@"; do
        [[ -f "$dir/$name.pid" ]] || continue
        pid=$(cat "$dir/$name.pid")
        # SIGTERM: the server stops and removes its port file.
        if kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null; then
            pids+=("$pid")
        fi
    done
    for pid in ${pids[@]+"${pids[@]}"}; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            echo "test server $pid did not stop on SIGTERM; killed" >&2
        fi
    done
    for name in "$@"; do
        rm -f "$dir/$name.pid" "$dir/$name.port"
    done
}

case "$cmd" in
start)
    bin=${3:?server binary}
    [[ -x "$bin" ]] || { echo "no test server binary at $bin" >&2; exit 1; }
    mkdir -p "$dir"
    stop_servers http https # left over by an aborted run
    rm -f "$dir/tls-ca.pem"
    # Detached, output in files: ctest must not wait on the servers' pipes.
    setsid "$bin" serve --port-file "$dir/http.port" --lifetime 1800 \
        </dev/null >"$dir/http.log" 2>&1 &
    echo $! >"$dir/http.pid"
    setsid "$bin" serve --tls --cert-out "$dir/tls-ca.pem" --port-file "$dir/https.port" \
        --lifetime 1800 </dev/null >"$dir/https.log" 2>&1 &
    echo $! >"$dir/https.pid"
    for _ in $(seq 1 300); do
        if [[ -s "$dir/http.port" && -s "$dir/https.port" ]]; then
            echo "http server:  $(head -1 "$dir/http.log") (pid $(cat "$dir/http.pid"))"
            echo "https server: $(head -1 "$dir/https.log") (pid $(cat "$dir/https.pid"))"
            exit 0
        fi
        for name in http https; do
            if ! kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
                echo "the $name server exited before writing its port file; log:" >&2
                cat "$dir/$name.log" >&2
                stop_servers http https
                exit 1
            fi
        done
        sleep 0.1
    done
    echo "the servers did not write their port files within 30 s" >&2
    cat "$dir/http.log" "$dir/https.log" >&2 || true
    stop_servers http https
    exit 1
    ;;
stop)
    stop_servers http https
    echo "http test servers stopped"
    ;;
*)
    echo "unknown command: $cmd" >&2
    exit 2
    ;;
esac
