#!/usr/bin/env bash
# The benchmark run of `make bench` (called by bench/Makefile's `run`).
#
# Starts nginx (2 workers, the module, a fresh 48-byte secret, own prefix)
# and bare_relay (2 threads) on free loopback ports, then runs hl_load:
#   1. idle:  IDLE customer connections that join and stay; nginx Pss per
#             connection (fresh nginx, alone on the machine's loopback)
#   2. relay: CALLS calls, max throughput (window WINDOW), nginx then bare
#   3. relay: CALLS calls at RATE msgs/s, latency, nginx then bare
#   4. throughput per core: one nginx worker against a one-thread bare
#             relay, then two against two, the same traffic (both parties
#             send, every message acked: bare_relay -A), the generator in
#             GEN_PROCS processes; messages per second of server CPU
#   5. light load: LIGHT_CALLS calls, one message in flight per party,
#             latency, one worker / one thread, then two / two with the
#             parties on different workers
#   6. guards: bench/guards.sh (wrk), GUARD_ROUNDS rounds of GUARD_SECONDS
# prints a table against the targets, and stops everything.  Whole run
# about 4 minutes; every wait is bounded.
#
# Environment: BIN (hl_load, bare_relay), MODULE (.so), PREFIX (scratch
# directory, recreated), NGINX_BIN, CALLS, DURATION, IDLE, RATE, WINDOW,
# GEN_PROCS, LIGHT_CALLS, CORE_ROUNDS (per-core rounds, 3), GUARD_ROUNDS,
# GUARD_SECONDS, GUARDS (0: skip),
# ONLY (idle: the idle step alone, its RESULT line printed).

set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_env
CALLS=${CALLS:-100}
DURATION=${DURATION:-10}
IDLE=${IDLE:-10000}
RATE=${RATE:-10000}
WINDOW=${WINDOW:-8}
GEN_PROCS=${GEN_PROCS:-2}
LIGHT_CALLS=${LIGHT_CALLS:-10}
CORE_ROUNDS=${CORE_ROUNDS:-3}
GUARD_ROUNDS=${GUARD_ROUNDS:-3}
GUARD_SECONDS=${GUARD_SECONDS:-3}
GUARDS=${GUARDS:-1}

LOG=$PREFIX/bench.log
NGX_PID=$PREFIX/nginx.pid
BARE_PID=$PREFIX/bare.pid
NGX1=$PREFIX/one                # the one-worker nginx of the per-core rows
NGX2X=$PREFIX/across            # two workers, hotline_colocate off
bare_pids=()

started=$(date +%s)


# workers_up PIDFILE N
workers_up() {
    [ "$(pgrep -c -P "$(cat "$1")")" -ge "$2" ]
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pid_gone() { ! pid_alive "$1"; }

# start_nginx [DIR PORT WORKERS]: the main nginx, or the one in DIR
start_nginx() {
    local dir=${1:-$PREFIX} port=${2:-$PORT} workers=${3:-2}
    rm -f "$dir/nginx.pid"
    "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
    if ! wait_for 10 curl -sf "http://127.0.0.1:$port/health"; then
        echo "bench: nginx did not come up:"
        tail -3 "$dir/logs/error.log"
        exit 1
    fi
    # the workers must be ready too: all present
    wait_for 5 workers_up "$dir/nginx.pid" "$workers" \
        || { echo "bench: no nginx workers"; exit 1; }
}

# stop_nginx [DIR]
stop_nginx() {
    local pid_file=${1:-$PREFIX}/nginx.pid
    if pid_alive "$pid_file"; then
        kill -TERM "$(cat "$pid_file")"
        if ! wait_for 10 pid_gone "$pid_file"; then
            kill -KILL "$(cat "$pid_file")" 2>/dev/null || true
        fi
    fi
}

# start_bare PORT THREADS PIDFILE [-A]
start_bare() {
    "$BIN/bare_relay" -p "$1" -t "$2" -P "$3" -T 600 ${4:-} &
    bare_pids+=($!)
    wait_for 5 test -s "$3" \
        || { echo "bench: bare_relay did not come up"; exit 1; }
}

cleanup() {
    local pid
    stop_nginx
    stop_nginx "$NGX1"
    stop_nginx "$NGX2X"
    for pid in "${bare_pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            wait "$pid" 2>/dev/null || true
        fi
    done
    bare_pids=()
}
trap cleanup EXIT

rm -rf "$PREFIX"
mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
: > "$LOG"

# distinct free ports: nginx, bare_relay, then those of the per-core rows
PORTS=()
while [ "${#PORTS[@]}" -lt 6 ]; do
    p=$(free_port)
    case " ${PORTS[*]} " in *" $p "*) continue ;; esac
    PORTS+=("$p")
done
PORT=${PORTS[0]}
BARE_PORT=${PORTS[1]}
NGX1_PORT=${PORTS[2]}
BARE1_PORT=${PORTS[3]}
BARE2_PORT=${PORTS[4]}
NGX2X_PORT=${PORTS[5]}

# a fresh secret of 48 random bytes (64 base64 characters) per run
head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/secret.key"
chmod 600 "$PREFIX/secret.key"

# no calls kept across a restart (a build before it has no directive)
HANDOFF_OFF=
if grep -q hotline_handoff_file "$MODULE"; then
    HANDOFF_OFF="hotline_handoff_file off;"
fi

# a per-connection message rate limit is policy, not capacity: off here
RATE_OFF=
if grep -q hotline_message_rate "$MODULE"; then
    RATE_OFF="hotline_message_rate off;"
fi
# every customer of the load comes from 127.0.0.1: no cap per client
if grep -q hotline_queue_per_address "$MODULE"; then
    RATE_OFF="$RATE_OFF hotline_queue_per_address off;"
fi

# a customer's connection goes to its agent's worker (COLOCATE=0: the
# parties stay where the kernel put them, on two workers)
COLOCATE_ON=
if [ "${COLOCATE:-1}" = 1 ] && grep -q hotline_colocate "$MODULE"; then
    COLOCATE_ON="hotline_colocate on;"
fi

# nginx_conf DIR PORT WORKERS [COLOCATE]
nginx_conf() {
    local dir=$1 port=$2 workers=$3 colocate=${4-$COLOCATE_ON}
    mkdir -p "$dir/logs" "$dir/tmp"
    nginx_conf_head "$dir" "$MODULE" "$workers" "$dir/nginx.pid" \
        > "$dir/nginx.conf"
    cat >> "$dir/nginx.conf" <<EOF

    hotline_zone 64m;
    $HANDOFF_OFF
    hotline_history_file $dir/hotline_calls.jsonl;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$port;
    hotline_queue_size $(( IDLE + 1000 ));
    $RATE_OFF
    $colocate

    server {
        listen 127.0.0.1:$port;
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
        location = /metrics     { hotline_metrics; }
    }
}
EOF
}

nginx_conf "$PREFIX" "$PORT" 2

nginx_conf "$NGX1" "$NGX1_PORT" 1
# with hotline_colocate on above: the same two workers with the parties of
# every call kept on different workers, the layout of the rows before it
if [ -n "$COLOCATE_ON" ]; then
    nginx_conf "$NGX2X" "$NGX2X_PORT" 2 ""
fi

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
BUDGET=330          # seconds: no new relay run starts after this

# 1. idle connections on a fresh nginx
start_nginx
say "-- idle: $IDLE customer connections (join, then stay)"
$LOAD idle --port "$PORT" -n "$IDLE" --sources 4 --pid-file "$NGX_PID" \
    --label idle 2>&1 | tee -a "$LOG" || true
stop_nginx

if [ "${ONLY:-}" = idle ]; then
    exit 0
fi

# 2, 3. relay on another fresh nginx (no waiting customers left over)
start_nginx
start_bare "$BARE_PORT" 2 "$BARE_PID"

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

# 4, 5. per core and at light load: one nginx worker against one bare
# relay thread, two against two; these bare relays ack as the module does
start_nginx "$NGX1" "$NGX1_PORT" 1
start_bare "$BARE1_PORT" 1 "$PREFIX/bare1.pid" -A
start_bare "$BARE2_PORT" 2 "$PREFIX/bare2.pid" -A

NGX1_ARGS=(--port "$NGX1_PORT" --secret "$PREFIX/secret.key"
           --pid-file "$NGX1/nginx.pid" --rounds 1)
BARE1_ARGS=(--bare --acks --port "$BARE1_PORT" --pid-file "$PREFIX/bare1.pid"
            --rounds 1)
BARE2_ARGS=(--bare --acks --port "$BARE2_PORT"
            --pid-file "$PREFIX/bare2.pid")
CORE=(--rate 0 --window "$WINDOW" --procs "$GEN_PROCS")
LIGHT=(-n "$LIGHT_CALLS" --rate 0 --window 1)

# CORE_ROUNDS rounds, nginx and bare in turn: one run of the one-thread
# bare relay moves by 7% from one to the next on this machine, as much as
# a change measured; the rows give the median of each side
say "-- throughput per core: $CALLS calls, window $WINDOW, acks on both," \
    "$GEN_PROCS generator processes, $CORE_ROUNDS rounds"
for round in $(seq 1 "$CORE_ROUNDS"); do
    relay "core1-nginx-$round" "${CORE[@]}" "${NGX1_ARGS[@]}"
    relay "core1-bare-$round" "${CORE[@]}" "${BARE1_ARGS[@]}"
done
for round in $(seq 1 "$CORE_ROUNDS"); do
    relay "core2-nginx-$round" "${CORE[@]}" "${NGX_ARGS[@]}"
    relay "core2-bare-$round" "${CORE[@]}" "${BARE2_ARGS[@]}"
    if [ -n "$COLOCATE_ON" ]; then
        if [ "$round" = 1 ]; then
            start_nginx "$NGX2X" "$NGX2X_PORT" 2
        fi
        relay "core2x-nginx-$round" "${CORE[@]}" --port "$NGX2X_PORT" \
            --secret "$PREFIX/secret.key" --pid-file "$NGX2X/nginx.pid"
    fi
done

say "-- light load: $LIGHT_CALLS calls, one message in flight per party"
relay light1-nginx "${LIGHT[@]}" "${NGX1_ARGS[@]}"
relay light1-bare "${LIGHT[@]}" "${BARE1_ARGS[@]}"
relay light2-nginx "${LIGHT[@]}" "${NGX_ARGS[@]}"
relay light2-bare "${LIGHT[@]}" "${BARE2_ARGS[@]}"
if [ -n "$COLOCATE_ON" ]; then
    relay light2x-nginx "${LIGHT[@]}" --port "$NGX2X_PORT" \
        --secret "$PREFIX/secret.key" --pid-file "$NGX2X/nginx.pid"
    stop_nginx "$NGX2X"
fi

say "-- nginx metrics after the relay runs (counters that are not 0)"
curl -s "http://127.0.0.1:$PORT/metrics" \
    | grep -E '^hotline_(messages_relayed|errors|ws_closed|connections)' \
    | grep -v ' 0$' | tee -a "$LOG" || true

cleanup
trap - EXIT

# 6. guards, on their own nginx, with wrk
if [ "$GUARDS" != 0 ]; then
    say "-- guards (bench/guards.sh)"
    ROUNDS=$GUARD_ROUNDS DURATION=$GUARD_SECONDS MODULE=$MODULE \
        NGINX_BIN=$NGINX_BIN PREFIX=$PREFIX/guards \
        bash "$(dirname "$0")/guards.sh" 2>&1 | tee -a "$LOG" || true
fi

say "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# the error logs: anything worse than a warning, and crashed workers
for errlog in "$PREFIX/logs/error.log" "$NGX1/logs/error.log" \
              "$NGX2X/logs/error.log"; do
    [ -f "$errlog" ] || continue
    bad=$(grep -cE '\[(alert|crit|emerg)\]|exited on signal' "$errlog" \
          || true)
    say "-- nginx error log: $bad alert/crit/emerg/crash lines ($errlog)"
    grep -E '\[(alert|crit|emerg)\]|exited on signal' "$errlog" \
        | sort | uniq -c | sort -rn | head -5 | tee -a "$LOG" || true
done

# the table
# (val, num, verdict: bench/lib.sh)

nm=$(val nginx-max mps); bm=$(val bare-max mps)
ratio=
if [ -n "$nm" ] && [ -n "$bm" ] && [ "$bm" != 0 ]; then
    ratio=$(awk -v a="$nm" -v b="$bm" 'BEGIN { printf "%.1f", 100 * a / b }')
fi
np99=$(val nginx-rate p99_us)
kib=$(val idle kib_per_conn)

# pct A B: 100 * A / B, or nothing
pct() {
    [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'
}

# ratio_x A B: A / B, or nothing
ratio_x() {
    [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# med LABEL FIELD: the median of FIELD over the rounds LABEL-1.. (the
# lower of the middle two for an even count), or nothing
med() {
    local round
    for round in $(seq 1 "$CORE_ROUNDS"); do
        val "$1-$round" "$2"
    done | grep . | sort -n \
        | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# core_rows N: the rows of core<N>-nginx against core<N>-bare, medians
core_rows() {
    local n=$1 r round each=
    r=$(pct "$(med "core$n-nginx" per_core)" "$(med "core$n-bare" per_core)")
    for round in $(seq 1 "$CORE_ROUNDS"); do
        each="$each $(num "$(pct "$(val "core$n-nginx-$round" per_core)" \
                                  "$(val "core$n-bare-$round" per_core)")")"
    done
    printf '%-34s %12s %12s  %s\n' \
        "  $n worker(s) / $n thread(s): msgs/s" \
        "$(num "$(med "core$n-nginx" mps)")" \
        "$(num "$(med "core$n-bare" mps)")" ""
    printf '%-34s %12s %12s  %s\n' "    server CPU, % of one core" \
        "$(num "$(med "core$n-nginx" server_cpu)")" \
        "$(num "$(med "core$n-bare" server_cpu)")" ""
    printf '%-34s %12s %12s  %s\n' "    msgs per server CPU-second" \
        "$(num "$(med "core$n-nginx" per_core)")" \
        "$(num "$(med "core$n-bare" per_core)")" ""
    printf '%-34s %12s %12s  %s\n' "    nginx / bare, per core" \
        "$(num "$r")%" "" ">= 80%: $(verdict "$r" '>=' 80)"
    printf '%-34s %s\n' "    each round, nginx / bare (%)" "$each"
    printf '%-34s %12s %12s  %s\n' "    busiest generator process, CPU%" \
        "$(num "$(med "core$n-nginx" gen_max)")" \
        "$(num "$(med "core$n-bare" gen_max)")" "< 90"
    printf '%-34s %12s %12s  %s\n' "    cross-worker calls, start / end" \
        "$(num "$(med "core$n-nginx" cross)")/$(num \
            "$(med "core$n-nginx" cross_end)")" "" ""
}

# across_rows: the two workers with hotline_colocate off (every call's
# parties on different workers) against the same bare relay rounds
across_rows() {
    local r round each=
    r=$(pct "$(med core2x-nginx per_core)" "$(med core2-bare per_core)")
    for round in $(seq 1 "$CORE_ROUNDS"); do
        each="$each $(num "$(pct "$(val "core2x-nginx-$round" per_core)" \
                                  "$(val "core2-bare-$round" per_core)")")"
    done
    printf '%-34s %12s %12s  %s\n' "  2 workers, colocate off: msgs/s" \
        "$(num "$(med core2x-nginx mps)")" "" ""
    printf '%-34s %12s %12s  %s\n' "    msgs per server CPU-second" \
        "$(num "$(med core2x-nginx per_core)")" "" ""
    printf '%-34s %12s %12s  %s\n' "    nginx / bare, per core" \
        "$(num "$r")%" "" ""
    printf '%-34s %s\n' "    each round, nginx / bare (%)" "$each"
    printf '%-34s %12s %12s  %s\n' "    cross-worker calls, start / end" \
        "$(num "$(med core2x-nginx cross)")/$(num \
            "$(med core2x-nginx cross_end)")" "" ""
}

# light_rows N TARGET: latency of light<N>-nginx against light<N>-bare
light_rows() {
    local n=$1 r
    r=$(ratio_x "$(val "light$n-nginx" p99_us)" "$(val "light$n-bare" p99_us)")
    printf '%-34s %12s %12s  %s\n' "  $n worker(s): p50 / p99, us" \
        "$(num "$(val "light$n-nginx" p50_us)")/$(num \
            "$(val "light$n-nginx" p99_us)")" \
        "$(num "$(val "light$n-bare" p50_us)")/$(num \
            "$(val "light$n-bare" p99_us)")" ""
    printf '%-34s %12s %12s  %s\n' "    p99 nginx / bare" "$(num "$r")x" \
        "" "${2:+<= ${2}x: $(verdict "$r" '<=' "$2")}"
    printf '%-34s %12s %12s  %s\n' "    cross-worker calls" \
        "$(num "$(val "light$n-nginx" cross)")/$(num \
            "$(val "light$n-nginx" calls)")" \
        "$(num "$(val "light$n-bare" cross)")/$(num \
            "$(val "light$n-bare" calls)")" ""
    printf '%-34s %12s %12s  %s\n' "      ... at the end (colocate)" \
        "$(num "$(val "light$n-nginx" cross_end)")" "" ""
}

# guard_rows NAME TITLE: a pair of bench/guards.sh
guard_rows() {
    printf '%-34s %12s %12s  %s\n' "  $2, req/s" \
        "$(num "$(val "guard-$1" guarded_rps)")" \
        "$(num "$(val "guard-$1" base_rps)")" ""
    printf '%-34s %12s %12s  %s\n' "    guarded / plain, req/s" \
        "$(num "$(val "guard-$1" ratio)")%" "" \
        ">= $(val "guard-$1" target)%: $(verdict "$(val "guard-$1" ratio)" \
            '>=' "$(val "guard-$1" target)")"
    printf '%-34s %12s %12s  %s\n' "    guarded / plain, per worker CPU" \
        "$(num "$(val "guard-$1" cpu_ratio)")%" "" ""
}

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
printf '%-34s %12s %12s  %s\n' "    ... at the end (colocate)" \
    "$(num "$(val nginx-rate cross_end)")" "" ""
printf '%-34s %12s %12s  %s\n' "idle: Pss KiB per connection" \
    "$(num "$kib")" "" "<= 4: $(verdict "$kib" '<=' 4)"
printf '%-34s %12s %12s  %s\n' "  connections joined" \
    "$(num "$(val idle conns)")/$IDLE" "" ""
printf '%-34s %12s %12s  %s\n' "  Rss KiB per connection" \
    "$(num "$(val idle rss_kib_per_conn)")" "" ""
echo "throughput per core ($CALLS calls, window $WINDOW, acks on both," \
     "$GEN_PROCS generator processes; medians of $CORE_ROUNDS rounds):"
core_rows 1
core_rows 2
if [ -n "$COLOCATE_ON" ]; then
    across_rows
fi
echo "light load ($LIGHT_CALLS calls, 1 message in flight per party):"
light_rows 1
light_rows 2 2
if [ -n "$COLOCATE_ON" ]; then
    r=$(ratio_x "$(val light2x-nginx p99_us)" "$(val light2-bare p99_us)")
    printf '%-34s %12s %12s  %s\n' "  2 workers, colocate off: p50/p99" \
        "$(num "$(val light2x-nginx p50_us)")/$(num \
            "$(val light2x-nginx p99_us)")" "" ""
    printf '%-34s %12s %12s  %s\n' "    p99 nginx / bare" "$(num "$r")x" \
        "" "<= 2x: $(verdict "$r" '<=' 2)"
fi
if [ "$GUARDS" != 0 ]; then
    echo "guards (wrk, median of $GUARD_ROUNDS rounds):"
    printf '%-34s %12s %12s  %s\n' "" "guarded" "plain" ""
    guard_rows auth "hotline_auth_jwt on / off"
    guard_rows csp "CSP+nonce+headers / sub_filter"
fi
echo "full log: $LOG"
} | tee -a "$LOG"
