#!/usr/bin/env bash
# bgcopy download benchmark: bgcopy against curl, wget2 and aria2c, from nginx on 127.0.0.1.
# See bench/README.md. Not part of CI.
#
#   bench/run.sh                      # 5 rounds, work dir /tmp/bgcopy-bench
#   ROUNDS=3 bench/run.sh
#   BENCH_DIR=/var/tmp/bb WORKLOADS="medium small" TOOLS="bgcopy curl" bench/run.sh
#
# Environment:
#   ROUNDS          rounds per workload and tool (default 5)
#   BENCH_DIR       work dir: data sets, nginx, outputs, raw results (default /tmp/bgcopy-bench)
#   WORKLOADS       any of: large medium small (default all three)
#   TOOLS           any of: bgcopy curl curl-p50 wget2 aria2c (default all five), and
#                   bgcopy-poll (diagnostic: bgcopy_bench --poll-ms 5 polls the job state
#                   instead of blocking in bg_job_wait; not a peer, not run by default) and
#                   bgcopy-mem (diagnostic: --state-dir :memory:, no persistence) and
#                   bgcopy-base (bgcopy built from BASELINE_REV, or BASELINE_SNAPSHOT: an earlier
#                   library run in alternation with this one, to measure what a change did)
#   BASELINE_REV    a git revision of this repository: bgcopy-base's library is built from it
#                   (git archive into \$BENCH_DIR/baseline, its own target dir, kept for reuse)
#   BASELINE_SNAPSHOT  instead: a DIR holding lib/libbgcopy.so and include/bgcopy.h
#   NGINX_WORKERS   nginx worker_processes (default 1: leaves the second core to the client)
#   RESULTS         where the markdown goes (default bench/results.md)
#   SKIP_BUILD=1    use the existing target/release/libbgcopy.so as it is
#   BGCOPY_SNAPSHOT DIR holding lib/libbgcopy.so and include/bgcopy.h to use instead of building
#                   (e.g. \$BENCH_DIR/snapshot of an earlier run, to compare with the same library)
#   QUIET_WAIT      before each run, wait up to this many seconds for other processes to leave
#                   the CPUs idle (default 600; 0 = do not wait)
set -Eeuo pipefail

ROUNDS=${ROUNDS:-5}
BENCH_DIR=${BENCH_DIR:-/tmp/bgcopy-bench}
WORKLOADS=${WORKLOADS:-"large medium small"}
TOOLS=${TOOLS:-"bgcopy curl curl-p50 wget2 aria2c"}
NGINX_WORKERS=${NGINX_WORKERS:-1}
PAR=8 # concurrency of every multi-file client (bgcopy: 8 jobs)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS=${RESULTS:-$REPO/bench/results.md}
export PATH="$PATH:/usr/sbin:/sbin"

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
    printf '\n*** BENCHMARK ABORTED: %s\n\n' "$*" >&2
    exit 1
}

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$ROUNDS'"
case $BENCH_DIR in /*) ;; *) BENCH_DIR=$PWD/$BENCH_DIR ;; esac
for w in $WORKLOADS; do case $w in large | medium | small) ;; *) die "unknown workload $w" ;; esac; done
for t in $TOOLS; do case $t in bgcopy | bgcopy-poll | bgcopy-mem | bgcopy-base | curl | curl-p50 | wget2 | aria2c) ;; *) die "unknown tool $t" ;; esac; done
if [[ " $TOOLS " == *" bgcopy-base "* && -z ${BASELINE_REV:-} && -z ${BASELINE_SNAPSHOT:-} ]]; then
    die "bgcopy-base needs BASELINE_REV (a git revision) or BASELINE_SNAPSHOT (a library snapshot dir)"
fi

# ---------------------------------------------------------------------------------------------
# 1. Tools
# ---------------------------------------------------------------------------------------------
need_pkgs=()
command -v nginx >/dev/null || need_pkgs+=(nginx-light)
command -v wget2 >/dev/null || need_pkgs+=(wget2)
command -v aria2c >/dev/null || need_pkgs+=(aria2)
command -v curl >/dev/null || need_pkgs+=(curl)
[[ -x /usr/bin/time ]] || need_pkgs+=(time)
command -v gcc >/dev/null || need_pkgs+=(gcc)
if ((${#need_pkgs[@]})); then
    if [[ $EUID -eq 0 ]]; then
        log "installing ${need_pkgs[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
        # Debian starts the packaged nginx service on port 80 where it can; this benchmark
        # runs its own instance and never touches that one.
    else
        die "missing tools; install them with: sudo apt-get install ${need_pkgs[*]}"
    fi
fi
command -v cargo >/dev/null || die "cargo not found (the Rust toolchain is needed to build bgcopy)"

# ---------------------------------------------------------------------------------------------
# 2. Build: the library in release, then the benchmark client
# ---------------------------------------------------------------------------------------------
mkdir -p "$BENCH_DIR"/{bin,data,lists,nginx/tmp,out,logs}
SNAP_SRC_LIB=$REPO/target/release/libbgcopy.so SNAP_SRC_INC=$REPO/include/bgcopy.h
if [[ -n ${BGCOPY_SNAPSHOT:-} ]]; then
    SNAP_SRC_LIB=$BGCOPY_SNAPSHOT/lib/libbgcopy.so SNAP_SRC_INC=$BGCOPY_SNAPSHOT/include/bgcopy.h
    SKIP_BUILD=1
fi
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release (2 jobs)"
    (cd "$REPO" && cargo build --release -j2 --quiet) || die "cargo build --release failed"
fi
[[ -f $SNAP_SRC_LIB && -f $SNAP_SRC_INC ]] || die "$SNAP_SRC_LIB or $SNAP_SRC_INC not found"
# A snapshot of the library and header: target/ is shared with whoever else builds in this
# checkout, and every run of one benchmark must use the same library.
SNAP=$BENCH_DIR/snapshot
LIBDIR=$SNAP/lib
mkdir -p "$LIBDIR" "$SNAP/include"
if [[ $(realpath "$SNAP_SRC_LIB") != $(realpath -m "$LIBDIR/libbgcopy.so") ]]; then
    cp "$SNAP_SRC_LIB" "$LIBDIR/libbgcopy.so.tmp"
    mv -f "$LIBDIR/libbgcopy.so.tmp" "$LIBDIR/libbgcopy.so"
    cp "$SNAP_SRC_INC" "$SNAP/include/bgcopy.h.tmp"
    mv -f "$SNAP/include/bgcopy.h.tmp" "$SNAP/include/bgcopy.h"
    (cd "$REPO" && { git rev-parse --short HEAD 2>/dev/null || echo unknown; }
        [[ -z ${BGCOPY_SNAPSHOT:-} && -n $(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]] &&
        echo dirty || echo clean) | paste -sd' ' >"$SNAP/commit.txt"
    [[ -n ${BGCOPY_SNAPSHOT:-} && -f $BGCOPY_SNAPSHOT/commit.txt ]] && cp "$BGCOPY_SNAPSHOT/commit.txt" "$SNAP/commit.txt"
fi
BGCOPY_BENCH=$BENCH_DIR/bin/bgcopy_bench
gcc -O2 -Wall -Wextra -I"$SNAP/include" -o "$BGCOPY_BENCH" "$REPO/bench/bgcopy_bench.c" \
    -L"$LIBDIR" -lbgcopy -Wl,-rpath,"$LIBDIR" -ldl || die "cannot build bgcopy_bench"
LIB_SHA=$(sha256sum "$LIBDIR/libbgcopy.so" | cut -c1-16)

# The baseline library (bgcopy-base), built once per revision and kept.
BASE=$BENCH_DIR/baseline
BGCOPY_BENCH_BASE=$BENCH_DIR/bin/bgcopy_bench_base
if [[ " $TOOLS " == *" bgcopy-base "* ]]; then
    mkdir -p "$BASE/lib" "$BASE/include"
    if [[ -n ${BASELINE_REV:-} ]]; then
        base_rev=$(git -C "$REPO" rev-parse --short "$BASELINE_REV^{commit}") ||
            die "BASELINE_REV=$BASELINE_REV is not a revision of $REPO"
        if [[ ! -f $BASE/lib/libbgcopy.so || $(cat "$BASE/commit.txt" 2>/dev/null) != "$base_rev clean" ]]; then
            log "building the baseline library from $base_rev (its own target dir; 2 jobs)"
            rm -rf "$BASE/src" && mkdir -p "$BASE/src"
            git -C "$REPO" archive "$base_rev" | tar -x -C "$BASE/src"
            (cd "$BASE/src" && CARGO_TARGET_DIR=$BASE/target cargo build --release -j2 --quiet -p bgcopy) ||
                die "cannot build $base_rev"
            cp "$BASE/target/release/libbgcopy.so" "$BASE/lib/libbgcopy.so"
            cp "$BASE/src/include/bgcopy.h" "$BASE/include/bgcopy.h"
            echo "$base_rev clean" >"$BASE/commit.txt"
        fi
    elif [[ $(realpath "$BASELINE_SNAPSHOT") != $(realpath "$BASE") ]]; then
        [[ -f $BASELINE_SNAPSHOT/lib/libbgcopy.so && -f $BASELINE_SNAPSHOT/include/bgcopy.h ]] ||
            die "BASELINE_SNAPSHOT=$BASELINE_SNAPSHOT has no lib/libbgcopy.so and include/bgcopy.h"
        cp "$BASELINE_SNAPSHOT/lib/libbgcopy.so" "$BASE/lib/libbgcopy.so"
        cp "$BASELINE_SNAPSHOT/include/bgcopy.h" "$BASE/include/bgcopy.h"
        cat "$BASELINE_SNAPSHOT/commit.txt" >"$BASE/commit.txt" 2>/dev/null || echo "unknown" >"$BASE/commit.txt"
    fi
    # The same client source as bgcopy's, against the baseline's header and library.
    gcc -O2 -Wall -Wextra -I"$BASE/include" -o "$BGCOPY_BENCH_BASE" "$REPO/bench/bgcopy_bench.c" \
        -L"$BASE/lib" -lbgcopy -Wl,-rpath,"$BASE/lib" -ldl || die "cannot build bgcopy_bench against the baseline"
fi

# ---------------------------------------------------------------------------------------------
# 3. Data sets (random bytes, made once and reused)
# ---------------------------------------------------------------------------------------------
DATA=$BENCH_DIR/data
declare -A W_COUNT=([large]=1 [medium]=1000 [small]=10000)
declare -A W_SIZE=([large]=$((1 << 30)) [medium]=$((64 << 10)) [small]=$((4 << 10)))
declare -A W_DESC=([large]="(a) 1 × 1 GiB" [medium]="(b) 1,000 × 64 KiB" [small]="(c) 10,000 × 4 KiB")

make_set() { # name count size
    local name=$1 count=$2 size=$3 dir=$DATA/$1
    local spec="$count x $size v1"
    if [[ -f $dir/.complete && $(<"$dir/.complete") == "$spec" ]]; then
        return
    fi
    log "generating data set $name: $count × $size bytes from /dev/urandom"
    rm -rf "$dir"
    mkdir -p "$dir"
    if ((count == 1)); then
        head -c "$size" /dev/urandom >"$dir/big.bin"
    else
        head -c $((count * size)) /dev/urandom |
            split -b "$size" -d -a 5 --additional-suffix=.bin - "$dir/f"
    fi
    chmod -R a+rX "$dir"
    [[ $(find "$dir" -type f -name '*.bin' | wc -l) -eq $count ]] || die "data set $name is incomplete"
    echo "$spec" >"$dir/.complete"
}
for w in $WORKLOADS; do make_set "$w" "${W_COUNT[$w]}" "${W_SIZE[$w]}"; done
chmod a+rx "$BENCH_DIR" "$DATA"

# ---------------------------------------------------------------------------------------------
# 4. nginx on 127.0.0.1, a random free port, everything in the work dir
# ---------------------------------------------------------------------------------------------
NG=$BENCH_DIR/nginx
NGINX_PID=
stop_nginx() {
    if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
        kill -QUIT "$NGINX_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$NGINX_PID" 2>/dev/null && kill -TERM "$NGINX_PID" 2>/dev/null
    fi
    NGINX_PID=
}
trap stop_nginx EXIT
trap 'exit 130' INT TERM

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' && return
    fi
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

start_nginx() {
    local attempt
    for attempt in 1 2 3 4 5; do
        PORT=$(free_port)
        local user_line=""
        [[ $EUID -eq 0 ]] && user_line="user root;" # workers read the data as we wrote it
        cat >"$NG/nginx.conf" <<EOF
# generated by bench/run.sh
$user_line
worker_processes $NGINX_WORKERS;
daemon on;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    types { application/octet-stream bin; }
    default_type application/octet-stream;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
        server_name localhost;
        root $DATA;
    }
}
EOF
        rm -f "$NG/nginx.pid"
        if nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" 2>>"$NG/error.log"; then
            for _ in $(seq 50); do [[ -s $NG/nginx.pid ]] && break; sleep 0.1; done
            NGINX_PID=$(cat "$NG/nginx.pid" 2>/dev/null || true)
            if [[ -n $NGINX_PID ]] &&
                [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/") =~ ^[2-4][0-9][0-9]$ ]]; then
                log "nginx $NGINX_PID listening on 127.0.0.1:$PORT (worker_processes $NGINX_WORKERS)"
                return
            fi
            stop_nginx
        fi
        log "nginx did not start on port $PORT (attempt $attempt); see $NG/error.log"
    done
    die "cannot start nginx; $(tail -3 "$NG/error.log")"
}
start_nginx

# URL lists for this port: plain (bgcopy, wget2, aria2c) and a curl config.
for w in $WORKLOADS; do
    (cd "$DATA/$w" && find . -maxdepth 1 -type f -name '*.bin' -printf '%f\n' | sort) |
        sed "s|^|http://127.0.0.1:$PORT/$w/|" >"$BENCH_DIR/lists/$w.txt"
    sed 's|.*|url = "&"|' "$BENCH_DIR/lists/$w.txt" >"$BENCH_DIR/lists/$w.curl"
    first=$(head -1 "$BENCH_DIR/lists/$w.txt")
    curl -sf -o /dev/null "$first" || die "nginx does not serve $first"
done

# ---------------------------------------------------------------------------------------------
# 5. Runs
# ---------------------------------------------------------------------------------------------
RAW=$BENCH_DIR/results.tsv
PHASES=$BENCH_DIR/bgcopy-phases.tsv
printf 'round\tworkload\ttool\twall_s\tuser_s\tsys_s\tmaxrss_kb\tnginx_cpu_s\tother_cpu_s\n' >"$RAW"
printf 'round\tworkload\ttool\tsetup_ms\ttransfer_ms\tcomplete_ms\tclose_ms\ttotal_ms\n' >"$PHASES"
OUT=$BENCH_DIR/out/dl        # every run downloads here (fresh each time)
STATE=$BENCH_DIR/out/state   # bgcopy's state dir, beside it (fresh each time)

# The command line of one tool on one workload, into the array CMD.
tool_cmd() { # tool workload
    local tool=$1 w=$2 list=$BENCH_DIR/lists/$2.txt
    local url
    url=$(head -1 "$list")
    if [[ $w == large ]]; then
        case $tool in
        bgcopy) CMD=("$BGCOPY_BENCH" --jobs 1 --state-dir "$STATE" --out "$OUT" "$list") ;;
        bgcopy-poll) CMD=("$BGCOPY_BENCH" --jobs 1 --poll-ms 5 --state-dir "$STATE" --out "$OUT" "$list") ;;
        bgcopy-mem) CMD=("$BGCOPY_BENCH" --jobs 1 --state-dir :memory: --out "$OUT" "$list") ;;
        bgcopy-base) CMD=("$BGCOPY_BENCH_BASE" --jobs 1 --state-dir "$STATE" --out "$OUT" "$list") ;;
        curl) CMD=(curl -s -o "$OUT/big.bin" "$url") ;;
        wget2) CMD=(wget2 -q -O "$OUT/big.bin" "$url") ;;
        aria2c) CMD=(aria2c -q -x1 -s1 -d "$OUT" -o big.bin --allow-overwrite=true
            --auto-file-renaming=false --file-allocation=none "$url") ;;
        *) return 1 ;;
        esac
    else
        case $tool in
        bgcopy) CMD=("$BGCOPY_BENCH" --jobs $PAR --state-dir "$STATE" --out "$OUT" "$list") ;;
        bgcopy-poll) CMD=("$BGCOPY_BENCH" --jobs $PAR --poll-ms 5 --state-dir "$STATE" --out "$OUT" "$list") ;;
        bgcopy-mem) CMD=("$BGCOPY_BENCH" --jobs $PAR --state-dir :memory: --out "$OUT" "$list") ;;
        bgcopy-base) CMD=("$BGCOPY_BENCH_BASE" --jobs $PAR --state-dir "$STATE" --out "$OUT" "$list") ;;
        curl) CMD=(curl -s --no-progress-meter --parallel --parallel-max $PAR --remote-name-all --output-dir "$OUT"
            --config "$BENCH_DIR/lists/$w.curl") ;;
        curl-p50) CMD=(curl -s --no-progress-meter --parallel --remote-name-all --output-dir "$OUT"
            --config "$BENCH_DIR/lists/$w.curl") ;;
        wget2) CMD=(wget2 -q --max-threads=$PAR --no-robots -nd -P "$OUT" -i "$list") ;;
        aria2c) CMD=(aria2c -q -j $PAR -i "$list" -d "$OUT" --allow-overwrite=true
            --auto-file-renaming=false --file-allocation=none) ;;
        esac
    fi
}

verify_output() { # tool workload
    local tool=$1 w=$2 count=${W_COUNT[$2]} size=${W_SIZE[$2]}
    local files bytes
    files=$(find "$OUT" -mindepth 1 | wc -l)
    bytes=$(find "$OUT" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
    [[ $files -eq $count && $bytes -eq $((count * size)) ]] ||
        die "$tool/$w left $files entries / $bytes bytes in $OUT, expected $count files / $((count * size)) bytes"
    [[ $tool == bgcopy* ]] || return 0
    local names
    if [[ $w == small ]]; then
        names=$(cd "$DATA/$w" && ls -- *.bin | shuf -n 100)
    else
        names=$(cd "$DATA/$w" && ls -- *.bin)
    fi
    local n=0 f
    for f in $names; do
        cmp -s "$DATA/$w/$f" "$OUT/$f" || die "bgcopy/$w: $OUT/$f differs from $DATA/$w/$f (output kept)"
        n=$((n + 1))
    done
    log "    verified: $n file(s) byte-identical to their sources"
}

# CPU accounting, in clock ticks: the whole machine, and nginx's processes.
HZ=$(getconf CLK_TCK)
QUIET_WAIT=${QUIET_WAIT:-600}
cpu_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
nginx_ticks() {
    local t=0 p f
    for p in $NGINX_PID $(pgrep -P "$NGINX_PID" 2>/dev/null); do
        f=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${f% *} + ${f#* }))
    done
    echo "$t"
}
# Waits until the machine is idle (under 10% of one CPU busy over a second), so that other
# people's builds and tests do not run inside a measurement.
wait_quiet() {
    ((QUIET_WAIT > 0)) || return 0
    local start=$SECONDS a b said=0
    while :; do
        a=$(cpu_busy)
        sleep 1
        b=$(cpu_busy)
        ((b - a < HZ / 10)) && return 0
        if ((SECONDS - start >= QUIET_WAIT)); then
            log "  the machine is still busy after ${QUIET_WAIT}s; measuring anyway (see other_cpu_s)"
            return 0
        fi
        ((said)) || log "  waiting for the machine to be idle (other processes are using the CPUs)"
        said=1
    done
}

run_one() { # round tool workload
    local r=$1 tool=$2 w=$3
    tool_cmd "$tool" "$w" || return 0
    rm -rf "$OUT" "$STATE"
    mkdir -p "$OUT"
    sync # start every run with no dirty data of earlier runs on the file system
    wait_quiet
    local tf=$BENCH_DIR/logs/time.txt lf=$BENCH_DIR/logs/$w-$tool-$r.log
    local rc=0 busy0 busy1 ng0 ng1
    busy0=$(cpu_busy) ng0=$(nginx_ticks)
    /usr/bin/time -f '%e %U %S %M' -o "$tf" -- "${CMD[@]}" >"$lf" 2>&1 || rc=$?
    busy1=$(cpu_busy) ng1=$(nginx_ticks)
    if ((rc != 0)); then
        tail -20 "$lf" >&2
        die "$tool/$w round $r exited with $rc: ${CMD[*]} (log $lf)"
    fi
    local wall user sys rss
    read -r wall user sys rss < <(tail -1 "$tf")
    local ngcpu other
    ngcpu=$(awk -v a="$ng0" -v b="$ng1" -v hz="$HZ" 'BEGIN {printf "%.2f", (b - a) / hz}')
    other=$(awk -v a="$busy0" -v b="$busy1" -v hz="$HZ" -v u="$user" -v s="$sys" -v n="$ngcpu" \
        'BEGIN {o = (b - a) / hz - u - s - n; printf "%.2f", (o < 0 ? 0 : o)}')
    verify_output "$tool" "$w"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$w" "$tool" "$wall" "$user" "$sys" "$rss" "$ngcpu" "$other" >>"$RAW"
    local extra=""
    if [[ $tool == bgcopy* ]]; then
        local line
        line=$(grep '^bgcopy_bench: concurrency=' "$lf" | tail -1)
        extra=" | ${line#bgcopy_bench: }"
        ph() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$w" "$tool" "$(ph setup_ms)" "$(ph transfer_ms)" \
            "$(ph complete_ms)" "$(ph close_ms)" "$(ph total_ms)" >>"$PHASES"
    fi
    log "  $(printf '%-8s %-11s wall %6ss  cpu %5s+%-5ss  rss %7s KiB  nginx %5ss  other %5ss' "$w" "$tool" "$wall" "$user" "$sys" "$rss" "$ngcpu" "$other")$extra"
    rm -rf "$OUT" "$STATE"
}

log "warming the page cache with the data sets"
for w in $WORKLOADS; do find "$DATA/$w" -type f -name '*.bin' -exec cat {} + >/dev/null; done

read -r -a TOOL_LIST <<<"$TOOLS"
NT=${#TOOL_LIST[@]}
for ((r = 1; r <= ROUNDS; r++)); do
    log "round $r of $ROUNDS"
    for w in $WORKLOADS; do
        for ((i = 0; i < NT; i++)); do
            run_one "$r" "${TOOL_LIST[$(((i + r - 1) % NT))]}" "$w"
        done
    done
done
stop_nginx

# ---------------------------------------------------------------------------------------------
# 6. Tables
# ---------------------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { # workload tool column-expression(awk, fields: 4 wall 5 user 6 sys 7 rss)
    awk -F'\t' -v w="$1" -v t="$2" "NR > 1 && \$2 == w && \$3 == t {print $3}" "$RAW"
}

workload_table() { # workload
    local w=$1 tool best_wall="" best_cpu="" best_wall_tool="" best_cpu_tool=""
    declare -A MW MC MR LO HI
    for tool in "${TOOL_LIST[@]}"; do
        [[ -n $(col "$w" "$tool" '$4') ]] || continue
        MW[$tool]=$(col "$w" "$tool" '$4' | median)
        MC[$tool]=$(col "$w" "$tool" '$5 + $6' | median)
        MR[$tool]=$(col "$w" "$tool" '$7 / 1024' | median)
        LO[$tool]=$(col "$w" "$tool" '$4' | sort -g | head -1)
        HI[$tool]=$(col "$w" "$tool" '$4' | sort -g | tail -1)
        [[ $tool == bgcopy* ]] && continue
        if [[ -z $best_wall ]] || awk "BEGIN {exit !(${MW[$tool]} < $best_wall)}"; then
            best_wall=${MW[$tool]} best_wall_tool=$tool
        fi
        if [[ -z $best_cpu ]] || awk "BEGIN {exit !(${MC[$tool]} < $best_cpu)}"; then
            best_cpu=${MC[$tool]} best_cpu_tool=$tool
        fi
    done
    echo "### ${W_DESC[$w]}"
    echo
    echo "Wall ratio against the fastest peer (${best_wall_tool:-none}), CPU ratio against the peer using the least CPU (${best_cpu_tool:-none}); peers exclude bgcopy."
    echo
    echo "| tool | median wall s | wall min–max s | median CPU s (user+sys) | median peak RSS MiB | wall × fastest peer | CPU × leanest peer |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for tool in "${TOOL_LIST[@]}"; do
        [[ -n ${MW[$tool]:-} ]] || continue
        awk -v t="$tool" -v mw="${MW[$tool]}" -v mc="${MC[$tool]}" -v mr="${MR[$tool]}" \
            -v lo="${LO[$tool]}" -v hi="${HI[$tool]}" -v bw="${best_wall:-0}" -v bc="${best_cpu:-0}" 'BEGIN {
            rw = (bw > 0) ? sprintf("%.2f", mw / bw) : "n/a"
            rc = (bc > 0) ? sprintf("%.2f", mc / bc) : "n/a"
            if (t ~ /^bgcopy/) { t = "**" t "**"; rw = "**" rw "**"; rc = "**" rc "**" }
            printf "| %s | %.2f | %.2f–%.2f | %.2f | %.1f | %s | %s |\n", t, mw, lo, hi, mc, mr, rw, rc
        }'
    done
    awk -F'\t' -v w="$w" 'NR > 1 && $2 == w {n++; if ($9 > 0.3) busy++; if ($9 > max) max = $9; ng += $8}
        END {if (n) printf "\nCPU used by anything but the client and nginx during a run (kernel writeback threads included): at most %.2f s; %d of %d runs above 0.3 s. nginx: %.2f s per run on average.\n", max, busy, n, ng / n}' "$RAW"
    for tool in "${TOOL_LIST[@]}"; do
        [[ $tool == bgcopy* ]] || continue
        awk -F'\t' -v w="$w" -v t="$tool" 'NR > 1 && $2 == w && $3 == t {f = 1} END {exit !f}' "$PHASES" || continue
        local p s t c cl tot
        p() { awk -F'\t' -v w="$w" -v t="$tool" -v c="$1" 'NR > 1 && $2 == w && $3 == t {print $c}' "$PHASES" | median; }
        s=$(p 4) t=$(p 5) c=$(p 6) cl=$(p 7) tot=$(p 8)
        echo
        echo "$tool, bgcopy_bench's own clock (median ms): until the last job was resumed $s, waiting for jobs to be TRANSFERRED $t, inside Complete $c (total $tot, the three overlap with the transfers); release+close afterwards $cl."
    done
    echo
}

fs_journal() { # " (no journal)" for a journal-less ext4 work dir: see README, caveats
    local dev
    dev=$(findmnt -no SOURCE -T "$BENCH_DIR" 2>/dev/null | head -1)
    [[ -n $dev && $(cat "/sys/fs/ext4/${dev##*/}/journal_task" 2>/dev/null) == "<none>" ]] && echo " (ext4 without a journal)"
    return 0
}

tool_versions() {
    echo "- curl: \`$(curl --version | head -1)\`"
    echo "- wget2: \`$(wget2 --version | head -1)\`"
    echo "- aria2c: \`$(aria2c --version | head -1)\`"
    echo "- nginx: \`$(nginx -v 2>&1 | head -1)\` (worker_processes $NGINX_WORKERS, sendfile on, access_log off)"
    echo "- bgcopy / libcurl used by bgcopy: \`$("$BGCOPY_BENCH" --version)\`"
    local commit dirty
    read -r commit dirty <"$SNAP/commit.txt"
    echo "- bgcopy: commit \`$commit\`$([[ $dirty == dirty ]] && echo ' plus uncommitted changes in src/ or Cargo.* (others were editing the tree)'); library sha256 \`$LIB_SHA…\` (release build, snapshot in \`\$BENCH_DIR/snapshot\`)"
    if [[ " $TOOLS " == *" bgcopy-base "* ]]; then
        echo "- bgcopy-base: commit \`$(cut -d' ' -f1 "$BASE/commit.txt")\`; library sha256 \`$(sha256sum "$BASE/lib/libbgcopy.so" | cut -c1-16)…\` (the same client, \`\$BENCH_DIR/baseline\`)"
    fi
}

{
    echo "# bgcopy benchmark results"
    echo
    echo "Generated by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); ROUNDS=$ROUNDS; medians over the rounds."
    echo "All runs are warm-cache (the data sets were read once before the first round, nothing is dropped from the page cache);"
    echo "\`sync\` runs (untimed) before every run. Times are \`/usr/bin/time\` of the whole client process."
    echo
    echo "## Machine"
    echo
    echo "- nproc: $(nproc); CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
    echo "- kernel: $(uname -srm)"
    echo "- work dir: \`$BENCH_DIR\` on $(df -T "$BENCH_DIR" | awk 'NR == 2 {print $2 " (" $1 ")"}'), mount options \`$(findmnt -no OPTIONS -T "$BENCH_DIR" 2>/dev/null | head -1)\`$(fs_journal)"
    echo "- memory (\`free -h\`):"
    echo
    echo '```'
    free -h
    echo '```'
    echo
    tool_versions
    echo
    echo "## Results"
    echo
    for w in $WORKLOADS; do workload_table "$w"; done
    echo "## Command lines"
    echo
    for w in $WORKLOADS; do
        for tool in "${TOOL_LIST[@]}"; do
            tool_cmd "$tool" "$w" || continue
            echo "- $w / $tool: \`${CMD[*]//$BENCH_DIR/\$BENCH_DIR}\`"
        done
    done
    echo
    echo "<details><summary>Raw runs</summary>"
    echo
    echo "| round | workload | tool | wall s | user s | sys s | max RSS KiB | nginx CPU s | other CPU s |"
    echo "|---:|---|---|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' 'NR > 1 {printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RAW"
    echo
    echo "bgcopy_bench phases (ms):"
    echo
    echo "| round | workload | tool | setup | transfer | complete | close | total |"
    echo "|---:|---|---|---:|---:|---:|---:|---:|"
    awk -F'\t' 'NR > 1 {printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$PHASES"
    echo
    echo "</details>"
} >"$RESULTS"

log "raw results: $RAW; tables written to $RESULTS"
sed -n '/^## Results/,/^## Command lines/p' "$RESULTS" | sed '$d'
