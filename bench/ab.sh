#!/usr/bin/env bash
# Builds side by side, at the same time: per-core throughput of two or
# more module builds (or the bare relay) measured in the same seconds.
#
# On a shared machine one 10 s run of the same build moves by 20% from
# the next (other tenants, the host's clock): runs in turn cannot show a
# change of 3%.  Here every build runs its own nginx, and one load
# generator per build drives them all at once, so that whatever slows the
# machine slows every build alike; each round gives each build's messages
# per server CPU-second (hl_load's per_core) and its ratio to the first
# build's in the same round.  The summary is the mean and the median of
# each, and the median of the paired ratios, and their mean with its
# standard error.
#
#   bash bench/ab.sh BEFORE.so AFTER.so [MORE.so | bare ...]
#
# "bare" is the bare relay (one thread per worker, acks on), for the
# ratio of issue 16 measured in the same seconds.
#
# Environment: BIN (hl_load, bare_relay), NGINX_BIN, WORKERS (1), ROUNDS
# (10), DURATION (3 s a round), CALLS (100), WINDOW (8), GEN_PROCS (1 per
# build), PREFIX (scratch directory), EXTRA_<i>: directives for the http
# block of the i-th build (from 0), so that one build may be compared
# with itself under another configuration:
#
#   EXTRA_1='hotline_colocate on;' WORKERS=2 bash bench/ab.sh A.so A.so
#
# MODE=turns runs the builds one after the other instead, each alone on
# the machine, in the order of the arguments in odd rounds and reversed
# in even ones (A B, B A, A B, ...): a drift of the machine over a round
# pair weighs on both sides alike.  Side by side, every process is
# runnable at once and a cost that shows when a process sleeps and wakes
# (a wake-up of another worker) weighs less than it does alone.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bench}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WORKERS=${WORKERS:-1}
ROUNDS=${ROUNDS:-10}
DURATION=${DURATION:-3}
CALLS=${CALLS:-100}
WINDOW=${WINDOW:-8}
GEN_PROCS=${GEN_PROCS:-1}
MODE=${MODE:-side}
PREFIX=${PREFIX:-$ROOT/build/bench/ab}
LOG=$PREFIX/ab.log
# nginx reads $NGINX itself (inherited listening sockets): never pass it on
unset NGINX

. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || { echo "usage: bench/ab.sh A.so B.so [C.so | bare ...]"; exit 2; }
case "$MODE" in
    side|turns) ;;
    *) echo "ab: MODE is side or turns, not $MODE"; exit 2 ;;
esac
[ -x "$BIN/hl_load" ] || { echo "ab: no $BIN/hl_load (make -C bench)"; exit 1; }

for b in "$@"; do
    [ "$b" = bare ] || [ -f "$b" ] || { echo "ab: no such build: $b"; exit 1; }
done

rm -rf "$PREFIX"
mkdir -p "$PREFIX"
: > "$LOG"

dirs=() ports=() pids=()

cleanup() {
    local i
    for i in "${!dirs[@]}"; do
        stop_pid_file "${dirs[$i]}/pid"
    done
}
trap cleanup EXIT

# each build: its own prefix, port and secret
i=0
for b in "$@"; do
    d=$PREFIX/$i
    mkdir -p "$d/logs" "$d/tmp"
    head -c 48 /dev/urandom | base64 -w0 > "$d/secret.key"
    p=$(free_port)
    while [[ " ${ports[*]} " == *" $p "* ]]; do p=$(free_port); done
    dirs+=("$d") ports+=("$p")

    if [ "$b" = bare ]; then
        "$BIN/bare_relay" -p "$p" -t "$WORKERS" -P "$d/pid" -T 3600 -A &
        wait_for 5 test -s "$d/pid" || { echo "ab: bare_relay failed"; exit 1; }
    else
        extra=EXTRA_$i
        nginx_conf_head "$d" "$b" "$WORKERS" "$d/pid" > "$d/nginx.conf"
        cat >> "$d/nginx.conf" <<EOF
    hotline_zone 64m;
    hotline_handoff_file off;
    hotline_history_file off;
    hotline_jwt_secret_file $d/secret.key;
    hotline_allowed_origins http://127.0.0.1:$p;
    hotline_message_rate off;
    hotline_queue_per_address off;
    ${!extra:-}
    server {
        listen 127.0.0.1:$p;
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
    }
}
EOF
        "$NGINX_BIN" -p "$d/" -c "$d/nginx.conf" -e "$d/logs/error.log"
        wait_for 10 curl -sf "http://127.0.0.1:$p/health" \
            || { echo "ab: nginx with $b did not start"; exit 1; }
    fi
    i=$((i + 1))
done

names=("$@")
n=${#names[@]}

# one generator per build, all at once (MODE=turns: one after the other,
# the order reversed every other round); one line per build and round
for r in $(seq 1 "$ROUNDS"); do
    order=$(seq 0 $((n - 1)))
    [ "$MODE" = turns ] && [ $((r % 2)) = 0 ] && order=$(seq $((n - 1)) -1 0)
    for i in $order; do
        args=(--port "${ports[$i]}" --pid-file "${dirs[$i]}/pid")
        if [ "${names[$i]}" = bare ]; then
            args+=(--bare --acks)
        else
            args+=(--secret "${dirs[$i]}/secret.key")
        fi
        [ "$WORKERS" = 1 ] && args+=(--rounds 1)
        timeout -k 5 $((DURATION + 60)) "$BIN/hl_load" relay -n "$CALLS" \
            --duration "$DURATION" --warmup 1 --rate 0 --window "$WINDOW" \
            --procs "$GEN_PROCS" "${args[@]}" --label "ab$i" \
            > "$PREFIX/out.$i" 2>&1 &
        pids[$i]=$!
        [ "$MODE" = turns ] && { wait "${pids[$i]}" || true; }
    done
    for i in $(seq 0 $((n - 1))); do
        wait "${pids[$i]}" || true
        pc=$(grep -o 'RESULT .*' "$PREFIX/out.$i" | tr ' ' '\n' \
             | sed -n 's/^per_core=//p')
        echo "round $r build $i per_core ${pc:-none}" >> "$LOG"
    done
done

# the summary: per build, and paired with the first build
for i in $(seq 0 $((n - 1))); do
    awk -v i="$i" '$4 == i && $6 != "none" { print $6 }' "$LOG" | sort -n \
    | awk -v name="${names[$i]}" '
        { x[NR] = $1; s += $1 }
        END {
            if (NR == 0) { printf "%-40s no result\n", name; exit }
            m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
            printf "%-40s rounds %2d  mean %8.0f  median %8.0f", \
                   name, NR, s / NR, m
        }'
    if [ "$i" -gt 0 ]; then
        # the ratios of the rounds where both have a result
        awk -v i="$i" '
            $6 != "none" && $4 == 0 { a[$2] = $6 }
            $6 != "none" && $4 == i { b[$2] = $6 }
            END { for (r in b) if (r in a) print b[r] / a[r] }' "$LOG" \
        | sort -n | awk '
            { x[NR] = $1; s += $1; s2 += $1 * $1 }
            END {
                if (NR < 2) exit
                mean = s / NR; sd = sqrt((s2 - NR * mean * mean) / (NR - 1))
                m = (NR % 2) ? x[(NR + 1) / 2] \
                             : (x[NR / 2] + x[NR / 2 + 1]) / 2
                printf "  / first: median %.4f, mean %.4f +- %.4f", \
                       m, mean, sd / sqrt(NR)
            }'
    fi
    echo
done
