#!/usr/bin/env bash
# The queue at scale (`make bench-queue`, docs/performance.md): for each
# size of SIZES, a fresh nginx (WORKERS workers, "listen ... reuseport",
# the embedded store) and one hl_load queue run, its customers held by
# PROCS processes (a process may hold RLIMIT_NOFILE descriptors, and the
# hard limit cannot be raised here): that many customers join and wait,
# AGENTS agents come online, then ROUNDS times the agents accept the
# AGENTS oldest calls all at once ("burst") and hang up, then ROUNDS
# times one after the other, each when the one before has its "accepted"
# ("serial": a burst over many event-loop turns).  Reported per mode:
# accept latency (an agent's accept sent -> its "accepted") p50/p99,
# position messages the waiting customers got per accept until each had
# its new position, queue messages to the agents per accept, the server's
# CPU per accept.  Every wait is bounded.
#
# Environment: BIN (hl_load), MODULE (.so), PREFIX (scratch directory,
# recreated), NGINX_BIN, SIZES ("5000 50000"), AGENTS (50), ROUNDS (2),
# WORKERS (4), PROCS (4), INTERVAL (hotline_position_interval; empty: the
# default).

set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_env
SIZES=${SIZES:-5000 50000}
AGENTS=${AGENTS:-50}
ROUNDS=${ROUNDS:-2}
WORKERS=${WORKERS:-4}
PROCS=${PROCS:-4}
INTERVAL=${INTERVAL:-}

LOG=$PREFIX/queue.log
NGX_PID=$PREFIX/nginx.pid


stop_nginx() { stop_pid_file "$NGX_PID" 20; }
trap stop_nginx EXIT

fresh_prefix
# a copy: a build meanwhile does not change the module under test
cp "$MODULE" "$PREFIX/module.so"

# every worker and every holder process: as many as the hard limit allows
NOFILE=$(ulimit -Hn)
ulimit -n "$NOFILE"

POS=
if [ -n "$INTERVAL" ]; then
    POS="hotline_position_interval $INTERVAL;"
fi

run_size() {
    local n=$1 port
    port=$(free_port)
    cat > "$PREFIX/nginx.conf" <<EOC
load_module $PREFIX/module.so;
worker_processes $WORKERS;
worker_rlimit_nofile $NOFILE;
pid $NGX_PID;
error_log $PREFIX/logs/error.log warn;
events { worker_connections $(( NOFILE - 100 )); }
http {
    access_log off;
    client_body_temp_path $PREFIX/tmp;
    hotline_zone 512m;
    hotline_history_file off;
    hotline_handoff_file off;
    hotline_queue_size $(( n + 1000 ));
    hotline_queue_per_address off;
    hotline_message_rate off;
    hotline_handshake_timeout 60s;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$port;
    $POS
    server {
        listen 127.0.0.1:$port reuseport;
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
    }
}
EOC
    start_prefix_nginx "$port" queue

    timeout -k 5 900 "$BIN/hl_load" queue --port "$port" -n "$n" \
        --agents "$AGENTS" --rounds "$ROUNDS" --procs "$PROCS" --sources 8 \
        --secret "$PREFIX/secret.key" --pid-file "$NGX_PID" \
        --label "queue-$n" 2>&1 | tee -a "$LOG" || true

    stop_nginx
}

say "queue: $(date -u +%FT%TZ), $(nproc) cores, load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg), nginx" \
    "$("$NGINX_BIN" -v 2>&1 | sed 's/.*\///'), $WORKERS workers, embedded" \
    "store, $PROCS customer processes," \
    "$AGENTS agents, $ROUNDS rounds, position interval ${INTERVAL:-default}"
for n in $SIZES; do
    run_size "$n"
done
