#!/usr/bin/env bash
# Cross-node relay through Redis (docs/performance.md, "Cross-node relay
# through Redis").
#
# Runs hl_load's relay mode (CALLS calls, chat both ways, RATE msgs/s, then
# as fast as it goes) against
#   1. one nginx node on the embedded store (2 workers; calls paired across
#      the workers, as in `make bench`), and
#   2. two nginx nodes (2 workers each, own prefixes; NODE_WORKERS) on one
#      redis-server, both listening on the same port with SO_REUSEPORT, so
#      the kernel spreads customers and agents over the workers of the nodes:
#      about half of the calls are cross-node, the rest cross-worker; with
#      the Redis store every message goes through Redis either way;
#   3. at light load (LIGHT_CALLS calls, one message in flight per party)
#      the two nodes, then the bare relay (bench/bare_relay.c, one thread,
#      acks on) with the same traffic,
# and prints p50/p99 side by side.  Every wait is bounded; everything it
# starts is stopped on exit.
#
#   bash bench/redis_bench.sh              (after make)
#   CALLS=100 DURATION=8 RATE=10000 bash bench/redis_bench.sh
#
# Environment: BIN (hl_load), MODULE (.so), PREFIX (scratch directory,
# recreated), NGINX, REDIS (redis-server), CALLS, DURATION, RATE, WINDOW,
# LIGHT_CALLS, ONLY=redis (skip the embedded runs), HTTP_EXTRA (directives
# added to every node's http block, e.g. 'hotline_transcript off;'),
# NODE_WORKERS (each node's worker_processes, 2; the embedded node's too).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bench}
MODULE=${MODULE:-$ROOT/build/objs/ngx_http_hotline_module.so}
PREFIX=${PREFIX:-$ROOT/build/bench/redis}
NGINX=${NGINX:-/usr/sbin/nginx}
# not in nginx's environment: it reads NGINX as a binary upgrade's sockets
export -n NGINX
REDIS=${REDIS:-/usr/bin/redis-server}
CALLS=${CALLS:-100}
DURATION=${DURATION:-8}
RATE=${RATE:-10000}
WINDOW=${WINDOW:-8}
LIGHT_CALLS=${LIGHT_CALLS:-10}
NODE_WORKERS=${NODE_WORKERS:-2}

LOG=$PREFIX/bench.log
KEYS=bench:
redis_pid=
bare_pid=

. "$ROOT/bench/lib.sh"

[ -f "$MODULE" ] || { echo "redis_bench: no $MODULE; run make"; exit 1; }
[ -x "$REDIS" ] || { echo "redis_bench: no $REDIS (apt-get install redis-server)"; exit 1; }

if [ ! -x "$BIN/hl_load" ]; then
    make -s -C "$ROOT/bench" OBJS="$(dirname "$MODULE")" all
fi

rm -rf "$PREFIX"
mkdir -p "$PREFIX/redis"
: > "$LOG"

head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/secret.key"
chmod 600 "$PREFIX/secret.key"

PORT_SHM=$(free_port)
PORT=$(free_port)
RPORT=$(free_port)
BARE_PORT=$(free_port)

RATE_OFF=
if grep -q hotline_message_rate "$MODULE"; then
    RATE_OFF="hotline_message_rate off;"
fi
# every customer of the load comes from 127.0.0.1: no cap per client
if grep -q hotline_queue_per_address "$MODULE"; then
    RATE_OFF="$RATE_OFF hotline_queue_per_address off;"
fi

# node_conf NAME PORT LISTEN-OPTIONS STORE-DIRECTIVE
node_conf() {
    local dir=$PREFIX/$1
    mkdir -p "$dir/logs" "$dir/tmp"
    nginx_conf_head "$dir" "$MODULE" "$NODE_WORKERS" "$dir/nginx.pid" \
        > "$dir/nginx.conf"
    cat >> "$dir/nginx.conf" <<EOF

    hotline_zone 64m;
    hotline_history_file $dir/hotline_calls.jsonl;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$2;
    hotline_queue_size 5000;
    $RATE_OFF
    ${HTTP_EXTRA:-}
    $4

    server {
        listen 127.0.0.1:$2 $3;
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
    }
}
EOF
}

start_node() {
    local dir=$PREFIX/$1
    "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
    wait_for 10 test -s "$dir/nginx.pid" \
        || { echo "redis_bench: $1 did not start"; tail -3 "$dir/logs/error.log"; exit 1; }
    wait_for 10 curl -sf "http://127.0.0.1:$2/health" \
        || { echo "redis_bench: $1 not healthy"; tail -3 "$dir/logs/error.log"; exit 1; }
}

stop_node() {
    local pidf=$PREFIX/$1/nginx.pid pid
    [ -s "$pidf" ] || return 0
    pid=$(cat "$pidf")
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    wait_for 10 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    stop_node shm
    stop_node node-a
    stop_node node-b
    if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
        kill -TERM "$redis_pid"
        wait "$redis_pid" 2>/dev/null || true
    fi
    if [ -n "$bare_pid" ] && kill -0 "$bare_pid" 2>/dev/null; then
        kill -TERM "$bare_pid"
        wait "$bare_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

REDIS_URL="redis://127.0.0.1:$RPORT/0"
node_conf shm "$PORT_SHM" "" ""
node_conf node-a "$PORT" reuseport "hotline_redis $REDIS_URL prefix=$KEYS;"
node_conf node-b "$PORT" reuseport "hotline_redis $REDIS_URL prefix=$KEYS;"

LOAD="timeout -k 5 90 $BIN/hl_load"

relay() {
    local label=$1
    shift
    say "-- relay $label"
    $LOAD relay -n "$CALLS" --duration "$DURATION" --warmup 1 \
        --secret "$PREFIX/secret.key" "$@" --label "$label" 2>&1 \
        | tee -a "$LOG" || true
}

say "== redis bench: $(nproc) cores, $(uname -r), $("$NGINX" -v 2>&1)," \
    "$("$REDIS" --version | cut -d' ' -f1-3)"
say "== load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(the machine is shared)"

# 1. the embedded store, one node (ONLY=redis skips it)
if [ "${ONLY:-}" != redis ]; then
    start_node shm "$PORT_SHM"
    relay shm-rate --rate "$RATE" --port "$PORT_SHM" \
        --pid-file "$PREFIX/shm/nginx.pid"
    relay shm-max --rate 0 --window "$WINDOW" --port "$PORT_SHM" \
        --pid-file "$PREFIX/shm/nginx.pid"
    stop_node shm
fi

# 2. two nodes on one Redis
start_redis "$PREFIX/redis" "$RPORT" \
    || { echo "redis_bench: redis-server did not start"; exit 1; }

start_node node-a "$PORT"
start_node node-b "$PORT"

# where the parties of the calls are, sampled in the middle of a run:
# same worker, other worker of the same node, other node
placement() {
    local a_pids b_pids line c_ow a_ow same=0 worker=0 node=0
    a_pids=" $(pgrep -P "$(cat "$PREFIX/node-a/nginx.pid")" | tr '\n' ' ') "
    b_pids=" $(pgrep -P "$(cat "$PREFIX/node-b/nginx.pid")" | tr '\n' ' ') "
    node_of() {
        local pid
        pid=$(echo "$1" | cut -d: -f4)
        case "$a_pids" in *" $pid "*) echo "A$pid"; return;; esac
        case "$b_pids" in *" $pid "*) echo "B$pid"; return;; esac
        echo "?$pid"
    }
    while read -r line; do
        c_ow=$(echo "$line" | cut -d' ' -f1)
        a_ow=$(echo "$line" | cut -d' ' -f2)
        [ -n "$c_ow" ] && [ -n "$a_ow" ] || continue
        c_ow=$(node_of "$c_ow")
        a_ow=$(node_of "$a_ow")
        if [ "$c_ow" = "$a_ow" ]; then
            same=$(( same + 1 ))
        elif [ "${c_ow:0:1}" = "${a_ow:0:1}" ]; then
            worker=$(( worker + 1 ))
        else
            node=$(( node + 1 ))
        fi
    done < <(redis-cli -p "$RPORT" --raw EVAL "
        local out = {}
        local cur = '0'
        repeat
            local r = redis.call('SCAN', cur, 'MATCH', ARGV[1] .. 'p:*', 'COUNT', 1000)
            cur = r[1]
            for _, k in ipairs(r[2]) do
                local h = redis.call('HMGET', k, 'r', 'st', 'pe', 'ow')
                if h[1] == '1' and h[2] == '2' then
                    local a = redis.call('HGET', ARGV[1] .. 'p:' .. h[3], 'ow')
                    out[#out + 1] = h[4] .. ' ' .. (a or '')
                end
            end
        until cur == '0'
        return table.concat(out, '\n')" 0 "$KEYS")
    echo "calls: $node cross-node, $worker cross-worker, $same same worker"
}

# CPU of redis-server over a run, % of one core
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$redis_pid/stat"; }
redis_cpu() {
    local t0=$1 s0=$2 t1 s1
    t1=$(cpu_ticks)
    s1=$(date +%s%N)
    awk -v d="$(( t1 - t0 ))" -v ns="$(( s1 - s0 ))" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.0f", 100 * d / hz / (ns / 1e9) }'
}

# Redis' own count of the commands a run cost it (those of the scripts
# included) and of the time in them, per message delivered: unlike its
# CPU share, these do not depend on what else the machine runs
redis_cost() {
    local delivered
    delivered=$(grep "^RESULT label=$1 " "$LOG" | tail -1 | tr ' ' '\n' \
                | sed -n 's/^delivered=//p')
    redis-cli -p "$RPORT" info commandstats | tr -d '\r' | awk -F'[:=,]' \
        -v d="${delivered:-0}" -v hz="$(getconf CLK_TCK)" \
        -v t="$(( $(cpu_ticks) - $2 ))" '
        /^cmdstat_/ { calls += $3 }
        /^cmdstat_eval/ { ev += $3; evus += $5 }
        END { if (d == 0) { print "no messages"; exit }
              printf "%.2f commands (%.3f script calls), %.1f us in" \
                     " scripts, %.1f us of redis-server CPU (setup" \
                     " included) per message delivered\n",
                     calls / d, ev / d, evus / d, 1e6 * t / hz / d }'
}

# the same count by command: "name calls us-per-call", most calls first
redis_mix() {
    local delivered
    delivered=$(grep "^RESULT label=$1 " "$LOG" | tail -1 | tr ' ' '\n' \
                | sed -n 's/^delivered=//p')
    [ -n "$delivered" ] && [ "$delivered" != 0 ] || { echo "-"; return; }
    redis-cli -p "$RPORT" info commandstats | tr -d '\r' \
        | awk -F'[:=,]' -v d="$delivered" '
            /^cmdstat_/ { sub(/^cmdstat_/, "", $1)
                          printf "%s %.2f %.1f\n", $1, $3 / d, $7 }' \
        | sort -k2,2 -rn | awk '{ printf "%s%s %s (%s us)", s, $1, $2, $3
                                  s = ", " }'
}

( sleep $(( 1 + DURATION / 2 + 3 )); placement > "$PREFIX/placement" ) &
sampler=$!
redis-cli -p "$RPORT" config resetstat > /dev/null
c0=$(cpu_ticks); n0=$(date +%s%N)
relay redis-rate --rate "$RATE" --port "$PORT" \
    --pid-file "$PREFIX/node-a/nginx.pid"
say "-- redis-server cpu over the redis-rate run (setup included):" \
    "$(redis_cpu "$c0" "$n0")% of a core"
say "-- redis-rate cost: $(redis_cost redis-rate "$c0")"
say "-- redis-rate commands per message: $(redis_mix redis-rate)"
wait "$sampler" 2>/dev/null || true
say "-- redis-rate placement (mid-run): $(cat "$PREFIX/placement" 2>/dev/null)"
redis-cli -p "$RPORT" config resetstat > /dev/null
c0=$(cpu_ticks); n0=$(date +%s%N)
relay redis-max --rate 0 --window "$WINDOW" --port "$PORT" \
    --pid-file "$PREFIX/node-a/nginx.pid"
say "-- redis-server cpu over the redis-max run (setup included):" \
    "$(redis_cpu "$c0" "$n0")% of a core"
say "-- redis-max cost: $(redis_cost redis-max "$c0")"
say "-- redis-max commands per message: $(redis_mix redis-max)"

# 3. light load: one message in flight per party, across the nodes
redis-cli -p "$RPORT" config resetstat > /dev/null
c0=$(cpu_ticks); n0=$(date +%s%N)
relay redis-light --rate 0 --window 1 -n "$LIGHT_CALLS" --port "$PORT" \
    --pid-file "$PREFIX/node-a/nginx.pid"
say "-- redis-server cpu over the redis-light run (setup included):" \
    "$(redis_cpu "$c0" "$n0")% of a core"
say "-- redis-light cost: $(redis_cost redis-light "$c0")"
say "-- redis-light commands per message: $(redis_mix redis-light)"

say "-- redis: $(redis-cli -p "$RPORT" info stats | grep -E '^total_commands_processed' | tr -d '\r')," \
    "$(redis-cli -p "$RPORT" info memory | grep -E '^used_memory_human' | tr -d '\r')"

cleanup

# the bare relay's one thread with the same light traffic
"$BIN/bare_relay" -p "$BARE_PORT" -t 1 -A -P "$PREFIX/bare.pid" -T 300 &
bare_pid=$!
wait_for 5 test -s "$PREFIX/bare.pid" \
    || { echo "redis_bench: bare_relay did not come up"; exit 1; }
relay bare-light --bare --acks --rate 0 --window 1 -n "$LIGHT_CALLS" \
    --port "$BARE_PORT" --pid-file "$PREFIX/bare.pid" --rounds 1

cleanup
trap - EXIT

say "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

bad=$(cat "$PREFIX"/*/logs/error.log \
      | grep -cE '\[(alert|crit|emerg)\]|exited on signal' || true)
say "-- nginx error logs: $bad alert/crit/emerg/crash lines"

# (val, num, verdict: bench/lib.sh)

rp99=$(val redis-rate p99_us)

{
echo
echo "== results ($(date -u +%Y-%m-%dT%H:%MZ))"
printf '%-36s %16s %16s  %s\n' "measure" "embedded, 1 node" "redis, 2 nodes" "target"
printf '%-36s %16s %16s  %s\n' "relay at $RATE msgs/s: delivered/s" \
    "$(num "$(val shm-rate mps)")" "$(num "$(val redis-rate mps)")" ""
printf '%-36s %16s %16s  %s\n' "  latency p50, us" \
    "$(num "$(val shm-rate p50_us)")" "$(num "$(val redis-rate p50_us)")" ""
printf '%-36s %16s %16s  %s\n' "  latency p99, us" \
    "$(num "$(val shm-rate p99_us)")" "$(num "$rp99")" \
    "<= 3000: $(verdict "$rp99" '<=' 3000)"
printf '%-36s %16s %16s  %s\n' "  latency p99.9, us" \
    "$(num "$(val shm-rate p999_us)")" "$(num "$(val redis-rate p999_us)")" ""
printf '%-36s %16s %16s  %s\n' "relay max, msgs/s delivered" \
    "$(num "$(val shm-max mps)")" "$(num "$(val redis-max mps)")" \
    ">= 100000: $(verdict "$(val redis-max mps)" '>=' 100000)"
printf '%-36s %16s %16s  %s\n' "  max-run latency p50 / p99, us" \
    "$(num "$(val shm-max p50_us)")/$(num "$(val shm-max p99_us)")" \
    "$(num "$(val redis-max p50_us)")/$(num "$(val redis-max p99_us)")" ""
lp99=$(val redis-light p99_us)
bp99=$(val bare-light p99_us)
lratio=-
if [ -n "$lp99" ] && [ -n "$bp99" ] && [ "$bp99" != 0 ]; then
    lratio=$(awk -v a="$lp99" -v b="$bp99" 'BEGIN { printf "%.2f", a / b }')
fi
printf '%-36s %16s %16s  %s\n' "light load ($LIGHT_CALLS calls, 1 in flight)" \
    "bare, 1 thread" "redis, 2 nodes" ""
printf '%-36s %16s %16s  %s\n' "  p50 / p99, us" \
    "$(num "$(val bare-light p50_us)")/$(num "$bp99")" \
    "$(num "$(val redis-light p50_us)")/$(num "$lp99")" ""
printf '%-36s %16s %16s  %s\n' "  p99 redis / bare" "" "${lratio}x" \
    "<= 4x: $(verdict "$lratio" '<=' 4)"
printf '%-36s %16s %16s  %s\n' "  cross-worker calls (node A)" "" \
    "$(num "$(val redis-light cross)")/$(num "$(val redis-light calls)")" ""
echo "full log: $LOG"
} | tee -a "$LOG"
