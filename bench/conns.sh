#!/usr/bin/env bash
# Many idle WebSockets on one node: how nginx's workers share them with one
# listening socket, and with "listen ... reuseport" (docs/deployment.md,
# docs/performance.md).  `make -C bench OBJS=$PWD/build/objs conns`.
#
# For each listen mode: a fresh nginx (WORKERS workers, worker_connections
# PER_WORKER, worker_rlimit_nofile = the machine's hard limit), LOADERS
# hl_load processes at once, each opening CONNS customer connections that
# join and stay (hl_load idle); meanwhile the connections each worker holds
# are sampled once a second (ss), and the peak is kept.  Reported per mode:
# the peak per worker, the joined and the refused connections, the
# "worker_connections are not enough" lines of the error log, the kernel's
# memory (TCP buffers, slab) and nginx's Pss at the peak.  Every wait
# is bounded.
#
# Environment: BIN (hl_load), MODULE (.so), PREFIX (scratch directory,
# recreated), NGINX_BIN, WORKERS (4), PER_WORKER (6000), LOADERS (2),
# CONNS (9000).  hl_load gives its connections 60 s to join: keep
# LOADERS x CONNS to what the machine opens in that time.

set -euo pipefail

BIN=${BIN:?BIN}
MODULE=${MODULE:?MODULE}
PREFIX=${PREFIX:?PREFIX}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
unset NGINX
WORKERS=${WORKERS:-4}
PER_WORKER=${PER_WORKER:-6000}
LOADERS=${LOADERS:-2}
CONNS=${CONNS:-9000}
NOFILE=$(ulimit -Hn)

LOG=$PREFIX/conns.log
NGX_PID=$PREFIX/nginx.pid

. "$(dirname "$0")/lib.sh"

pids=()

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    stop_pid_file "$NGX_PID"
}
trap cleanup EXIT

fresh_prefix

ulimit -n "$NOFILE"

# kernel memory in KiB: the TCP buffers (sockstat counts pages), and the
# slab caches, where sockets, their files and the TCP state live (the
# whole machine's: others' activity is noise in it)
tcp_kib() {
    awk -v pg="$(getconf PAGESIZE)" \
        '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "mem")
                            print $(i + 1) * pg / 1024 }' /proc/net/sockstat
}

slab_kib() {
    awk '$1 == "Slab:" { print $2 }' /proc/meminfo
}

# Pss of the master and its workers, KiB
nginx_pss() {
    local m p total=0
    m=$(cat "$NGX_PID")
    for p in "$m" $(pgrep -P "$m"); do
        total=$(( total + $(awk '/^Pss:/ { print $2 }' \
                            "/proc/$p/smaps_rollup") ))
    done
    echo "$total"
}

# established connections on the port, per worker pid: "pid count" lines
per_worker() {
    ss -Htnp state established "( sport = :$PORT )" \
        | { grep -o 'pid=[0-9]*' || true; } | sort | uniq -c \
        | awk '{ sub("pid=", "", $2); print $2, $1 }'
}

run_mode() {
    local mode=$1 listen=$2 i out peak_file tcp0 tcp1 pss0 pss1 total
    local slab0 slab1
    local deadline refused

    PORT=$(free_port)
    cat > "$PREFIX/nginx.conf" <<EOF
load_module $MODULE;
worker_processes $WORKERS;
worker_rlimit_nofile $NOFILE;
pid $NGX_PID;
error_log $PREFIX/logs/error.log notice;
events { worker_connections $PER_WORKER; }
http {
    access_log off;
    client_body_temp_path $PREFIX/tmp;
    hotline_zone 256m;
    hotline_history_file off;
    hotline_handoff_file off;
    hotline_queue_size 100000;
    hotline_handshake_timeout 60s;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$PORT;
    server {
        listen 127.0.0.1:$PORT$listen;
        location = /ws/customer { hotline_signaling customer; }
        location = /health { hotline_status; }
    }
}
EOF
    start_prefix_nginx "$PORT" conns

    tcp0=$(tcp_kib)
    slab0=$(slab_kib)
    pss0=$(nginx_pss)
    peak_file=$PREFIX/peak.$mode
    : > "$peak_file"

    pids=()
    for i in $(seq 1 "$LOADERS"); do
        "$BIN/hl_load" idle --port "$PORT" -n "$CONNS" --sources 4 \
            --pid-file "$NGX_PID" --label "$mode-$i" \
            > "$PREFIX/load.$mode.$i" 2>&1 &
        pids+=($!)
    done

    # sample until every loader is done (bounded: 5 minutes)
    deadline=$(( $(date +%s) + 300 ))
    tcp1=$tcp0
    slab1=$slab0
    pss1=$pss0
    while :; do
        out=$(per_worker)
        total=$(echo "$out" | awk '{ s += $2 } END { print s + 0 }')
        if [ "$total" -gt "$(awk '{ s += $2 } END { print s + 0 }' \
                             "$peak_file")" ]; then
            echo "$out" > "$peak_file"
            tcp1=$(tcp_kib)
            slab1=$(slab_kib)
            pss1=$(nginx_pss)
        fi
        local running=0
        for i in "${pids[@]}"; do
            kill -0 "$i" 2>/dev/null && running=1
        done
        [ "$running" = 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "conns: $mode: loaders still running after 300 s"
            break
        fi
        sleep 1
    done
    for i in "${pids[@]}"; do
        wait "$i" 2>/dev/null || true
    done
    pids=()

    refused=$(grep -c "worker_connections are not enough" \
                  "$PREFIX/logs/error.log" || true)
    total=$(awk '{ s += $2 } END { print s + 0 }' "$peak_file")
    say "-- $mode (listen 127.0.0.1:PORT$listen), $WORKERS workers," \
        "worker_connections $PER_WORKER, $LOADERS x $CONNS connections"
    say "   peak per worker (pid connections): $(tr '\n' ';' < "$peak_file")"
    say "   peak total $total"
    cat "$PREFIX"/load."$mode".* | grep -E "open and joined|refused|errors" \
        | sed 's/^/   /' | tee -a "$LOG"
    say "   \"worker_connections are not enough\": $refused lines"
    say "   at the peak: kernel TCP buffers $tcp0 -> $tcp1 KiB," \
        "kernel slab $slab0 -> $slab1 KiB, nginx Pss $pss0 -> $pss1 KiB"
    if [ "$total" -gt 0 ]; then
        say "   per connection: kernel slab" \
            "$(awk -v a="$slab0" -v b="$slab1" -v n="$total" \
                   'BEGIN { printf "%.2f", (b - a) / n }') KiB (both ends" \
            "of the loopback connection), nginx" \
            "$(awk -v a="$pss0" -v b="$pss1" -v n="$total" \
                   'BEGIN { printf "%.2f", (b - a) / n }') KiB"
    fi
    echo "RESULT mode=$mode total=$total refused_lines=$refused" \
         "per_worker=$(tr '\n' ',' < "$peak_file" | tr ' ' ':')" \
        | tee -a "$LOG"

    kill -TERM "$(cat "$NGX_PID")"
    wait_for 20 sh -c "! kill -0 $(cat "$NGX_PID") 2>/dev/null" || true
}

say "conns: $(date -u +%FT%TZ), nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///')," \
    "RLIMIT_NOFILE hard $NOFILE, $(nproc) cores"
run_mode single ""
run_mode reuseport " reuseport"
