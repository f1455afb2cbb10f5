#!/usr/bin/env bash
# The CPU cost of relaying one message, in instructions: deterministic,
# whatever else the machine runs (callgrind counts instructions, not
# time), so that two builds can be compared on a shared machine.
#
# nginx runs as one process (master_process off) under callgrind; hl_load
# relays chat at RATE messages/s between CALLS calls (both parties
# sending, acks on), once for SHORT and once for LONG seconds; the
# difference in instructions over the difference in messages is the
# marginal cost of a message: its parse, its relay through the store, its
# delivery to the peer and its ack.  Setup (handshakes, joins, accepts)
# is the same in both runs and cancels out.
#
#   bash bench/cost.sh [MODULE ...]     one line per module
#
# Environment: BIN (hl_load), NGINX_BIN, CALLS (10), RATE (200), SHORT (5),
# LONG (15), PREFIX (scratch directory), CG_KEEP (a path: each run's
# profile kept as PATH.<seconds>.out); RATE stays well below what nginx
# under callgrind can relay, so that no message waits for another.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bench}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
CALLS=${CALLS:-10}
RATE=${RATE:-200}
SHORT=${SHORT:-5}
LONG=${LONG:-15}
PREFIX=${PREFIX:-$ROOT/build/bench/cost}
unset NGINX

. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || set -- "$ROOT/build/objs/ngx_http_hotline_module.so"
command -v valgrind >/dev/null || { echo "cost: needs valgrind"; exit 1; }
[ -x "$BIN/hl_load" ] || { echo "cost: no $BIN/hl_load (make -C bench)"; exit 1; }

# one measured run: prints "<instructions> <messages delivered>"
run() {
    local module=$1 seconds=$2 port out ir msgs pid off

    # Nothing at start or exit may grow with the run: the call journal is
    # read back at a start (today's calls) and the calls are written to
    # the handoff file at the exit, both more in the longer run (which
    # made half of the figure before), so both are off (builds before the
    # handoff file do not know its directive)
    off="hotline_history_file off;"
    if grep -q hotline_handoff_file "$module"; then
        off="$off hotline_handoff_file off;"
    fi

    rm -rf "$PREFIX" && mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
    head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/secret.key"
    port=$(free_port)

    cat > "$PREFIX/nginx.conf" <<EOF
load_module $module;
master_process off;
daemon off;
worker_processes 1;
pid $PREFIX/nginx.pid;
error_log $PREFIX/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $PREFIX/tmp/body;
    proxy_temp_path $PREFIX/tmp/proxy;
    fastcgi_temp_path $PREFIX/tmp/fastcgi;
    uwsgi_temp_path $PREFIX/tmp/uwsgi;
    scgi_temp_path $PREFIX/tmp/scgi;
    hotline_zone 16m;
    $off
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$port;
    server {
        listen 127.0.0.1:$port;
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
    }
}
EOF


    valgrind --tool=callgrind --callgrind-out-file="$PREFIX/cg.out" \
        "$NGINX_BIN" -p "$PREFIX/" -c "$PREFIX/nginx.conf" \
        -e "$PREFIX/logs/error.log" > "$PREFIX/valgrind.log" 2>&1 &
    pid=$!

    wait_for 60 curl -sf "http://127.0.0.1:$port/health" \
        || { echo "cost: nginx did not come up"; kill "$pid"; exit 1; }

    out=$(timeout -k 5 120 "$BIN/hl_load" relay -n "$CALLS" --rate "$RATE" \
              --duration "$seconds" --warmup 1 --port "$port" \
              --secret "$PREFIX/secret.key" --label cost 2>&1 || true)
    echo "$out" > "$PREFIX/hl_load.out"
    msgs=$(echo "$out" | grep '^RESULT' | tr ' ' '\n' \
           | sed -n 's/^delivered=//p' | head -1)

    kill -QUIT "$pid"
    wait "$pid" || true

    # CG_KEEP=/tmp/cg: the profile kept as /tmp/cg.<seconds>.out
    if [ -n "${CG_KEEP:-}" ]; then
        cp "$PREFIX/cg.out" "$CG_KEEP.$seconds.out"
    fi

    ir=$(grep -m1 '^summary:' "$PREFIX/cg.out" | awk '{print $2}')
    echo "$ir ${msgs:-0}"
}

for module in "$@"; do
    read -r ir1 m1 < <(run "$module" "$SHORT")
    read -r ir2 m2 < <(run "$module" "$LONG")

    if [ "$m2" -le "$m1" ]; then
        echo "cost: $module: no more messages in the long run ($m1, $m2)"
        continue
    fi

    echo "COST module=$module messages=$((m2 - m1))" \
         "instructions_per_message=$(( (ir2 - ir1) / (m2 - m1) ))"
done
