#!/usr/bin/env bash
# Many idle WebSockets on one node: how nginx's workers share them with one
# listening socket, and with "listen ... reuseport" (docs/deployment.md,
# docs/performance.md).  `make -C bench OBJS=$PWD/build/objs conns`, and
# 100,000 customers: `make -C bench OBJS=$PWD/build/objs hundredk`.
#
# For each listen mode of MODES: a fresh nginx (WORKERS workers,
# worker_connections PER_WORKER, worker_rlimit_nofile = the machine's hard
# limit), LOADERS hl_load processes at once, each opening CONNS customer
# connections (from SOURCES addresses 127.0.0.2..) that join and stay
# (hl_load idle, JOIN_TIMEOUT seconds to join).  Once every loader has
# joined its connections (or given up), while they are all held: the
# connections each worker holds (ss), the waiting customers and the zone
# in use (/health), the kernel's memory (TCP buffers, slab), nginx's Pss,
# and METRICS requests to /metrics one after the other (curl's
# time_total); then the loaders let go.  Reported per mode: those, the
# joined and the refused connections, the time from the first connect to
# the last "welcome" over all loaders, the "worker_connections are not
# enough" lines of the error log and the kernel's listen queue overflows
# (nstat).  Every wait is bounded.
#
# STORE=redis puts the node on a redis-server of its own (REDIS, a free
# loopback port, no persistence) and reports also what Redis holds for
# the customers: used_memory and keys, before and while they are held.
#
# Environment: BIN (hl_load), MODULE (.so), PREFIX (scratch directory,
# recreated), NGINX_BIN, WORKERS (4), PER_WORKER (6000), LOADERS (2),
# CONNS (9000), MODES ("single reuseport"), SOURCES (4), JOIN_TIMEOUT
# (60), METRICS (20), ZONE (256m), BACKLOG (of the listen directive;
# empty: nginx's default, 511), STORE (shm), REDIS (redis-server).  A process may hold only `ulimit -Hn`
# descriptors: keep CONNS, and the connections of a worker, below it.

set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_env
WORKERS=${WORKERS:-4}
PER_WORKER=${PER_WORKER:-6000}
LOADERS=${LOADERS:-2}
CONNS=${CONNS:-9000}
MODES=${MODES:-single reuseport}
SOURCES=${SOURCES:-4}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-60}
METRICS=${METRICS:-20}
ZONE=${ZONE:-256m}
BACKLOG=${BACKLOG:-}
STORE=${STORE:-shm}
REDIS=${REDIS:-/usr/bin/redis-server}
NOFILE=$(ulimit -Hn)

LOG=$PREFIX/conns.log
NGX_PID=$PREFIX/nginx.pid


pids=()
redis_pid=
REDIS_CONF=

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    stop_pid_file "$NGX_PID" 30
    if [ -n "$redis_pid" ]; then
        kill -TERM "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fresh_prefix

case $STORE in
shm)   ;;
redis)
    [ -x "$REDIS" ] || { echo "conns: no $REDIS"; exit 1; }
    RPORT=$(free_port)
    start_redis "$PREFIX/redis" "$RPORT" \
        || { echo "conns: redis-server did not start"; exit 1; }
    REDIS_CONF="hotline_redis redis://127.0.0.1:$RPORT/0 prefix=conns:;"
    ;;
*)     echo "conns: STORE is shm or redis"; exit 1 ;;
esac

# what Redis holds: "used_memory keys"
redis_held() {
    [ -n "$redis_pid" ] || { echo "0 0"; return; }
    echo "$(redis-cli -p "$RPORT" info memory \
                | awk -F: '$1 == "used_memory" { printf "%d", $2 }')" \
         "$(redis-cli -p "$RPORT" dbsize)"
}

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

# the kernel's listen queue overflows and drops since boot: "N N"
listen_drops() {
    nstat -asz TcpExtListenOverflows TcpExtListenDrops 2>/dev/null \
        | awk '$1 == "TcpExtListenOverflows" { o = $2 }
               $1 == "TcpExtListenDrops" { d = $2 }
               END { print o + 0, d + 0 }'
}

# a number of /health's JSON: health_field '"waiting":'
health_field() {
    curl -s "http://127.0.0.1:$PORT/health" \
        | grep -o "$1[0-9]*" | head -1 | sed 's/.*://' || true
}

# true while a loader has neither printed its "joined N of M" line nor
# exited
loaders_joining() {
    local i
    for i in $(seq 1 "$LOADERS"); do
        if kill -0 "${pids[$((i - 1))]}" 2>/dev/null \
           && ! grep -q ": joined [0-9]* of" "$PREFIX/load.$MODE.$i"
        then
            return 0
        fi
    done
    return 1
}

# METRICS requests to /metrics one after the other: "p50 max" in ms
metrics_latency() {
    local i
    for i in $(seq 1 "$METRICS"); do
        curl -s -o /dev/null -w '%{time_total}\n' \
            "http://127.0.0.1:$PORT/metrics"
    done | sort -n \
         | awk '$1 > 0 { t[++n] = $1 }
                END { if (n) printf "%.1f %.1f",
                                    t[int((n + 1) / 2)] * 1000, t[n] * 1000
                      else printf "- -" }' || true
}

# the earliest t_first and the latest t_welcome of the loaders' RESULT
# lines (one monotonic clock): seconds
admit_seconds() {
    cat "$PREFIX"/load."$MODE".* | { grep '^RESULT' || true; } \
        | awk '{ for (i = 2; i <= NF; i++) {
                     split($i, kv, "=")
                     if (kv[1] == "t_first" && kv[2] > 0 &&
                         (f == "" || kv[2] < f)) f = kv[2]
                     if (kv[1] == "t_welcome" && kv[2] > l) l = kv[2]
                 } }
               END { printf "%.1f", (l > f ? l - f : 0) / 1e9 }'
}

run_mode() {
    local mode=$1 listen=$2 i out tcp0 tcp1 pss0 pss1 slab0 slab1 total
    local deadline refused drops0 drops1 waiting used lat admit qsize
    local redis0 redis1

    MODE=$mode
    PORT=$(free_port)
    qsize=$(( LOADERS * CONNS + 1000 ))
    [ "$qsize" -gt 100000 ] && qsize=100000
    [ -n "$BACKLOG" ] && listen="$listen backlog=$BACKLOG"
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
    hotline_zone $ZONE;
    hotline_history_file off;
    hotline_handoff_file off;
    hotline_queue_size $qsize;
    hotline_queue_per_address off;
    hotline_message_rate off;
    hotline_handshake_timeout 60s;
    hotline_jwt_secret_file $PREFIX/secret.key;
    hotline_allowed_origins http://127.0.0.1:$PORT;
    $REDIS_CONF
    server {
        listen 127.0.0.1:$PORT$listen;
        location = /ws/customer { hotline_signaling customer; }
        location = /health { hotline_status; }
        location = /metrics { hotline_metrics; }
    }
}
EOF
    start_prefix_nginx "$PORT" conns

    tcp0=$(tcp_kib)
    slab0=$(slab_kib)
    pss0=$(nginx_pss)
    drops0=$(listen_drops)
    redis0=$(redis_held)

    pids=()
    for i in $(seq 1 "$LOADERS"); do
        "$BIN/hl_load" idle --port "$PORT" -n "$CONNS" --sources "$SOURCES" \
            --join-timeout "$JOIN_TIMEOUT" --hold $(( JOIN_TIMEOUT + 600 )) \
            --pid-file "$NGX_PID" --label "$mode-$i" \
            > "$PREFIX/load.$mode.$i" 2>&1 &
        pids+=($!)
    done

    # until every loader has joined its connections or given up (bounded)
    deadline=$(( $(date +%s) + JOIN_TIMEOUT + 120 ))
    while loaders_joining; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "conns: $mode: loaders still joining after" \
                "$(( JOIN_TIMEOUT + 120 )) s"
            break
        fi
        sleep 1
    done

    # all of them held: what the node holds
    sleep 2
    out=$(per_worker)
    total=$(echo "$out" | awk '{ s += $2 } END { print s + 0 }')
    waiting=$(health_field '"waiting":')
    used=$(health_field '"used":')
    tcp1=$(tcp_kib)
    slab1=$(slab_kib)
    pss1=$(nginx_pss)
    drops1=$(listen_drops)
    lat=$(metrics_latency)
    redis1=$(redis_held)

    for i in "${pids[@]}"; do
        kill -USR1 "$i" 2>/dev/null || true
    done
    for i in "${pids[@]}"; do
        wait "$i" 2>/dev/null || true
    done
    pids=()

    admit=$(admit_seconds)
    refused=$(grep -c "worker_connections are not enough" \
                  "$PREFIX/logs/error.log" || true)
    say "-- $mode (listen 127.0.0.1:PORT$listen), $WORKERS workers," \
        "worker_connections $PER_WORKER, $LOADERS x $CONNS connections" \
        "from $SOURCES addresses"
    say "   per worker (pid connections): $(echo "$out" | tr '\n' ';')"
    say "   $total connections held, ${waiting:-?} waiting (/health)," \
        "zone used $(( ${used:-0} / 1048576 )) MiB of $ZONE"
    say "   admitted in $admit s (first connect to last welcome, all loaders)"
    cat "$PREFIX"/load."$mode".* \
        | { grep -E "open and joined|joined [0-9]* of|refused|errors|closes" \
            || true; } \
        | sed 's/^/   /' | tee -a "$LOG"
    say "   \"worker_connections are not enough\": $refused lines;" \
        "listen queue overflows, drops meanwhile (the machine's):" \
        "$(echo "$drops0 $drops1" | awk '{ print $3 - $1 ", " $4 - $2 }')"
    say "   /metrics while they are held, $METRICS requests: p50 max" \
        "$lat ms"
    say "   held: kernel TCP buffers $tcp0 -> $tcp1 KiB," \
        "kernel slab $slab0 -> $slab1 KiB, nginx Pss $pss0 -> $pss1 KiB"
    if [ "$total" -gt 0 ]; then
        say "   per connection: kernel slab" \
            "$(awk -v a="$slab0" -v b="$slab1" -v n="$total" \
                   'BEGIN { printf "%.2f", (b - a) / n }') KiB (both ends" \
            "of the loopback connection), nginx" \
            "$(awk -v a="$pss0" -v b="$pss1" -v n="$total" \
                   'BEGIN { printf "%.2f", (b - a) / n }') KiB"
    fi
    if [ -n "$redis_pid" ] && [ "$total" -gt 0 ]; then
        say "   Redis: used_memory ${redis0% *} -> ${redis1% *} bytes," \
            "keys ${redis0#* } -> ${redis1#* }; per connection" \
            "$(awk -v a="${redis0% *}" -v b="${redis1% *}" -v n="$total" \
                   'BEGIN { printf "%.0f", (b - a) / n }') bytes," \
            "$(awk -v a="${redis0#* }" -v b="${redis1#* }" -v n="$total" \
                   'BEGIN { printf "%.2f", (b - a) / n }') keys"
    fi
    echo "RESULT mode=$mode total=$total waiting=${waiting:-0}" \
         "admit_s=$admit metrics_ms=$(echo "$lat" | tr ' ' '/')" \
         "refused_lines=$refused" \
         "per_worker=$(echo "$out" | tr '\n' ',' | tr ' ' ':')" \
        | tee -a "$LOG"

    kill -TERM "$(cat "$NGX_PID")"
    wait_for 30 sh -c "! kill -0 $(cat "$NGX_PID") 2>/dev/null" || true
    [ -z "$redis_pid" ] || redis-cli -p "$RPORT" flushall > /dev/null
}

say "conns: $(date -u +%FT%TZ), nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///')," \
    "RLIMIT_NOFILE hard $NOFILE, $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "   somaxconn $(sysctl -n net.core.somaxconn)," \
    "ip_local_port_range $(sysctl -n net.ipv4.ip_local_port_range \
                           | tr '\t' -)," \
    "file-max $(sysctl -n fs.file-max)," \
    "tcp_max_syn_backlog $(sysctl -n net.ipv4.tcp_max_syn_backlog)"
for m in $MODES; do
    case $m in
    single)    run_mode single "" ;;
    reuseport) run_mode reuseport " reuseport" ;;
    *)         say "conns: unknown mode $m"; exit 1 ;;
    esac
done
say "conns: done, load average $(cut -d' ' -f1-3 /proc/loadavg)"
