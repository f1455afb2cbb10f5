#!/usr/bin/env bash
# The benchmark run of `make bench` (called by bench/Makefile's `run`).
#
# Starts nginx (2 workers, the module, a fresh 48-byte secret, own prefix)
# and bare_relay (2 threads) on free loopback ports, then runs hl_load:
#   1. idle:  IDLE customer connections that join and stay; nginx Pss per
#             connection (fresh nginx, alone on the machine's loopback)
#   2. relay: CALLS calls, max throughput (window WINDOW), nginx then bare
#   3. relay: CALLS calls at RATE msgs/s, latency, nginx then bare
# prints a table against the targets, and stops everything.  Whole run
# well under 3 minutes; every wait is bounded.
#
# Environment: BIN (hl_load, bare_relay), MODULE (.so), PREFIX (scratch
# directory, recreated), NGINX_BIN, CALLS, DURATION, IDLE, RATE, WINDOW.

set -euo pipefail

BIN=${BIN:?BIN}
MODULE=${MODULE:?MODULE}
PREFIX=${PREFIX:?PREFIX}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
# nginx reads $NGINX itself (inherited listening sockets): never pass it on
unset NGINX
CALLS=${CALLS:-100}
DURATION=${DURATION:-10}
IDLE=${IDLE:-10000}
RATE=${RATE:-10000}
WINDOW=${WINDOW:-8}

LOG=$PREFIX/bench.log
NGX_PID=$PREFIX/nginx.pid
BARE_PID=$PREFIX/bare.pid
bare_pid=

started=$(date +%s)

. "$(dirname "$0")/lib.sh"

workers_up() {
    [ "$(pgrep -c -P "$(cat "$NGX_PID")")" -ge 2 ]
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pid_gone() { ! pid_alive "$1"; }

start_nginx() {
    rm -f "$NGX_PID"
    "$NGINX_BIN" -p "$PREFIX/" -c "$PREFIX/nginx.conf" \
        -e "$PREFIX/logs/error.log"
    if ! wait_for 10 curl -sf "http://127.0.0.1:$PORT/health"; then
        echo "bench: nginx did not come up:"
        tail -3 "$PREFIX/logs/error.log"
        exit 1
    fi
    # the workers must be ready too: both present
    wait_for 5 workers_up || { echo "bench: no nginx workers"; exit 1; }
}

stop_nginx() {
    if pid_alive "$NGX_PID"; then
        kill -TERM "$(cat "$NGX_PID")"
        if ! wait_for 10 pid_gone "$NGX_PID"; then
            kill -KILL "$(cat "$NGX_PID")" 2>/dev/null || true
        fi
    fi
}

cleanup() {
    stop_nginx
    if [ -n "$bare_pid" ] && kill -0 "$bare_pid" 2>/dev/null; then
        kill -TERM "$bare_pid"
        wait "$bare_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

rm -rf "$PREFIX"
mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
: > "$LOG"

PORT=$(free_port)
BARE_PORT=$(free_port)
while [ "$BARE_PORT" = "$PORT" ]; do BARE_PORT=$(free_port); done

# a fresh secret of 48 random bytes (64 base64 characters) per run
head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/secret.key"
chmod 600 "$PREFIX/secret.key"

# a per-connection message rate limit is policy, not capacity: off here
RATE_OFF=
if grep -q hotline_message_rate "$MODULE"; then
    RATE_OFF="hotline_message_rate off;"
fi
# every customer of the load comes from 127.0.0.1: no cap per client
if grep -q hotline_queue_per_address "$MODULE"; then
    RATE_OFF="$RATE_OFF hotline_queue_per_address off;"
fi

cat > "$PREFIX/nginx.conf" <<EOF
load_module $MODULE;
worker_processes 2;
worker_rlimit_nofile 20000;
pid $NGX_PID;
error_log $PREFIX/logs/error.log warn;
events {
    worker_connections 16000;
}
http {
    access_log off;
    client_body_temp_path $PREFIX/tmp/body;
    proxy_temp_path $PREFIX/tmp/proxy;
    fastcgi_temp_path $PREFIX/tmp/fastcgi;
    uwsgi_temp_path $PREFIX/tmp/uwsgi;
    scgi_temp_path $PREFIX/tmp/scgi;

    hotline_zone 64m;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$PORT;
    hotline_queue_size $(( IDLE + 1000 ));
    $RATE_OFF

    server {
        listen 127.0.0.1:$PORT;
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
        location = /metrics     { hotline_metrics; }
    }
}
EOF

if ! "$NGINX_BIN" -t -q -p "$PREFIX/" -c "$PREFIX/nginx.conf" \
    -e "$PREFIX/logs/error.log"
then
    echo "bench: nginx -t failed:"
    tail -3 "$PREFIX/logs/error.log"
    exit 1
fi

say "== hotline bench: $(nproc) cores, $(uname -r), $("$NGINX_BIN" -v 2>&1)"
say "== load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(the machine is shared)"
say "== nginx 127.0.0.1:$PORT (2 workers), bare_relay 127.0.0.1:$BARE_PORT" \
    "(2 threads); calls $CALLS, $DURATION s per relay run, idle $IDLE"

LOAD="timeout -k 5 75 $BIN/hl_load"
BUDGET=150          # seconds: no new relay run starts after this

# 1. idle connections on a fresh nginx
start_nginx
say "-- idle: $IDLE customer connections (join, then stay)"
$LOAD idle --port "$PORT" -n "$IDLE" --sources 4 --pid-file "$NGX_PID" \
    --label idle 2>&1 | tee -a "$LOG" || true
stop_nginx

# 2, 3. relay on another fresh nginx (no waiting customers left over)
start_nginx
"$BIN/bare_relay" -p "$BARE_PORT" -t 2 -P "$BARE_PID" -T 600 &
bare_pid=$!
wait_for 5 test -s "$BARE_PID" \
    || { echo "bench: bare_relay did not come up"; exit 1; }

relay() {
    local label=$1
    shift
    if [ $(( $(date +%s) - started )) -gt "$BUDGET" ]; then
        say "-- relay $label: skipped, the run is over its time budget"
        return
    fi
    say "-- relay $label"
    $LOAD relay -n "$CALLS" --duration "$DURATION" --warmup 1 "$@" \
        --label "$label" 2>&1 | tee -a "$LOG" || true
}

NGX_ARGS=(--port "$PORT" --secret "$PREFIX/secret.key"
          --pid-file "$NGX_PID")
BARE_ARGS=(--bare --port "$BARE_PORT" --pid-file "$BARE_PID")

relay nginx-max --rate 0 --window "$WINDOW" "${NGX_ARGS[@]}"
relay bare-max --rate 0 --window "$WINDOW" "${BARE_ARGS[@]}"
relay nginx-rate --rate "$RATE" "${NGX_ARGS[@]}"
relay bare-rate --rate "$RATE" "${BARE_ARGS[@]}"

say "-- nginx metrics after the relay runs (counters that are not 0)"
curl -s "http://127.0.0.1:$PORT/metrics" \
    | grep -E '^hotline_(messages_relayed|errors|ws_closed|connections)' \
    | grep -v ' 0$' | tee -a "$LOG" || true

cleanup
trap - EXIT

say "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# the error log: anything worse than a warning, and crashed workers
bad=$(grep -cE '\[(alert|crit|emerg)\]|exited on signal' \
      "$PREFIX/logs/error.log" || true)
say "-- nginx error log: $bad alert/crit/emerg/crash lines" \
    "($PREFIX/logs/error.log)"
grep -E '\[(alert|crit|emerg)\]|exited on signal' "$PREFIX/logs/error.log" \
    | sort | uniq -c | sort -rn | head -5 | tee -a "$LOG" || true

# the table
val() {
    grep "^RESULT label=$1 " "$LOG" | tail -1 | tr ' ' '\n' \
        | sed -n "s/^$2=//p"
}

num() { [ -n "$1" ] && echo "$1" || echo "-"; }

verdict() {
    # verdict VALUE OP LIMIT
    if [ -z "$1" ] || [ "$1" = "-" ]; then echo "n/a"; return; fi
    if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then
        echo "PASS"
    else
        echo "FAIL"
    fi
}

nm=$(val nginx-max mps); bm=$(val bare-max mps)
ratio=
if [ -n "$nm" ] && [ -n "$bm" ] && [ "$bm" != 0 ]; then
    ratio=$(awk -v a="$nm" -v b="$bm" 'BEGIN { printf "%.1f", 100 * a / b }')
fi
np99=$(val nginx-rate p99_us)
kib=$(val idle kib_per_conn)

{
echo
echo "== results ($(date -u +%Y-%m-%dT%H:%MZ), $(( $(date +%s) - started )) s)"
printf '%-34s %12s %12s  %s\n' "measure" "nginx" "bare" "target"
printf '%-34s %12s %12s  %s\n' "relay max, msgs/s delivered" \
    "$(num "$nm")" "$(num "$bm")" ""
printf '%-34s %12s %12s  %s\n' "  nginx / bare" "$(num "$ratio")%" "" \
    ">= 50%: $(verdict "$ratio" '>=' 50)"
printf '%-34s %12s %12s  %s\n' "  max-run latency p50 / p99, us" \
    "$(num "$(val nginx-max p50_us)")/$(num "$(val nginx-max p99_us)")" \
    "$(num "$(val bare-max p50_us)")/$(num "$(val bare-max p99_us)")" ""
printf '%-34s %12s %12s  %s\n' "relay at $RATE msgs/s: delivered/s" \
    "$(num "$(val nginx-rate mps)")" "$(num "$(val bare-rate mps)")" ""
printf '%-34s %12s %12s  %s\n' "  latency p50, us" \
    "$(num "$(val nginx-rate p50_us)")" "$(num "$(val bare-rate p50_us)")" ""
printf '%-34s %12s %12s  %s\n' "  latency p99, us" "$(num "$np99")" \
    "$(num "$(val bare-rate p99_us)")" \
    "<= 2000: $(verdict "$np99" '<=' 2000)"
printf '%-34s %12s %12s  %s\n' "  latency p99.9, us" \
    "$(num "$(val nginx-rate p999_us)")" \
    "$(num "$(val bare-rate p999_us)")" ""
printf '%-34s %12s %12s  %s\n' "  cross-worker calls" \
    "$(num "$(val nginx-rate cross)")/$(num "$(val nginx-rate calls)")" \
    "$(num "$(val bare-rate cross)")/$(num "$(val bare-rate calls)")" ""
printf '%-34s %12s %12s  %s\n' "idle: Pss KiB per connection" \
    "$(num "$kib")" "" "<= 4: $(verdict "$kib" '<=' 4)"
printf '%-34s %12s %12s  %s\n' "  connections joined" \
    "$(num "$(val idle conns)")/$IDLE" "" ""
printf '%-34s %12s %12s  %s\n' "  Rss KiB per connection" \
    "$(num "$(val idle rss_kib_per_conn)")" "" ""
echo "full log: $LOG"
} | tee -a "$LOG"
