#!/usr/bin/env bash
# A restart with many customers waiting (`make -C bench handoff`,
# docs/performance.md): for each size of SIZES, a fresh nginx (WORKERS
# workers, the embedded store, hotline_handoff_file on) and LOADERS hl_load
# idle processes whose customers join and wait.  Once the queue holds them
# all, nginx is stopped (QUIT: the last worker writes the queue to the
# handoff file) and started again: the first worker of the new zone reads
# the file with the zone locked.  Reported per size: the objects written,
# how long the read held the zone (the worker's own figure, in its error
# log), and the time from the start until /health answers with the whole
# queue back.  Every wait is bounded.
#
# Environment: BIN (hl_load), MODULE (.so), PREFIX (scratch directory,
# recreated), NGINX_BIN, SIZES ("5000 50000"), WORKERS (4), LOADERS (4),
# JOIN_TIMEOUT (120).

set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_env
SIZES=${SIZES:-5000 50000}
WORKERS=${WORKERS:-4}
LOADERS=${LOADERS:-4}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-120}

LOG=$PREFIX/handoff.log
NGX_PID=$PREFIX/nginx.pid
loaders=()


stop_loaders() {
    local p
    for p in "${loaders[@]}"; do
        kill -USR1 "$p" 2>/dev/null || true
    done
    for p in "${loaders[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    loaders=()
}
cleanup() { stop_loaders; stop_pid_file "$NGX_PID" 20; }
trap cleanup EXIT

fresh_prefix
cp "$MODULE" "$PREFIX/module.so"
ulimit -n "$(ulimit -Hn)"

# the queue's length on port $1, as /health says it
waiting() {
    curl -sf "http://127.0.0.1:$1/health" \
        | sed -n 's/.*"waiting":\([0-9]*\).*/\1/p'
}

# (for wait_for) the queue on port $1 holds $2, at least or exactly
queue_at_least() { local w; w=$(waiting "$1"); [ "${w:-0}" -ge "$2" ]; }
queue_is() { [ "$(waiting "$1")" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

run_size() {
    local n=$1 port per i t0 t1 line written
    port=$(free_port)
    per=$(( (n + LOADERS - 1) / LOADERS ))
    {
        nginx_conf_head "$PREFIX" "$PREFIX/module.so" "$WORKERS" "$NGX_PID" \
            | sed 's/ warn;$/ notice;/'
        cat <<EOC
    hotline_zone 512m;
    hotline_history_file off;
    hotline_handoff_file $PREFIX/handoff.state;
    hotline_resume_timeout 10m;
    hotline_queue_size $(( n + 1000 ));
    hotline_queue_per_address off;
    hotline_handshake_timeout 60s;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$port;
    server {
        listen 127.0.0.1:$port reuseport;
        location = /ws/customer { hotline_signaling customer; }
        location = /health      { hotline_status; }
    }
}
EOC
    } > "$PREFIX/nginx.conf"
    start_prefix_nginx "$port" handoff

    for i in $(seq 1 "$LOADERS"); do
        "$BIN/hl_load" idle --port "$port" -n "$per" --sources 8 \
            --join-timeout "$JOIN_TIMEOUT" --hold $(( JOIN_TIMEOUT + 600 )) \
            --pid-file "$NGX_PID" \
            --label "handoff-$n-$i" > "$PREFIX/load.$n.$i" 2>&1 &
        loaders+=($!)
    done

    if ! wait_for $(( JOIN_TIMEOUT + 60 )) \
             queue_at_least "$port" $(( per * LOADERS ))
    then
        say "handoff: $n: only $(waiting "$port") of $(( per * LOADERS ))" \
            "waiting after $(( JOIN_TIMEOUT + 60 )) s"
        stop_loaders
        stop_pid_file "$NGX_PID" 20
        return
    fi
    n=$(waiting "$port")

    # the stop: the last worker writes the queue; the clients go too
    kill -QUIT "$(cat "$NGX_PID")"
    wait_for 60 gone "$(cat "$NGX_PID")" \
        || say "handoff: $n: nginx did not stop in 60 s"
    stop_loaders
    written=$(grep -o '[0-9]* objects of the calls written' \
                  "$PREFIX/logs/error.log" | tail -1 | cut -d' ' -f1 || true)

    # the start: until /health has the whole queue back
    : > "$PREFIX/logs/error.log"
    t0=$(date +%s%N)
    "$NGINX_BIN" -p "$PREFIX/" -c "$PREFIX/nginx.conf" \
        -e "$PREFIX/logs/error.log"
    wait_for 120 queue_is "$port" "$n" \
        || say "handoff: $n: the queue not back in 120 s" \
               "($(waiting "$port") waiting)"
    t1=$(date +%s%N)

    line=$(grep -o 'objects of the calls taken over.*read in [0-9]* us' \
               "$PREFIX/logs/error.log" | tail -1 || true)
    say "handoff: $n waiting, ${written:-?} objects written; $line;" \
        "/health with the queue back $(( (t1 - t0) / 1000000 )) ms after" \
        "the start"
    echo "RESULT label=handoff-$n waiting=$n objects=${written:-}" \
         "read_us=$(echo "$line" | sed -n 's/.*read in \([0-9]*\) us.*/\1/p')" \
         "back_ms=$(( (t1 - t0) / 1000000 ))" | tee -a "$LOG"

    stop_pid_file "$NGX_PID" 20
}

say "handoff: $(date -u +%FT%TZ), $(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg), $WORKERS workers, $LOADERS loaders"
for n in $SIZES; do
    run_size "$n"
done
