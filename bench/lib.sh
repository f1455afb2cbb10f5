# Shell helpers of the benchmark scripts (sourced by bench/run.sh,
# bench/redis_bench.sh, conns.sh, queue_scale.sh, handoff_restart.sh,
# ab.sh); they expect $LOG to be set.

say() { echo "$@" | tee -a "$LOG"; }

# bench_env: what every script of a bench nginx takes, BIN (hl_load,
# bare_relay), MODULE (.so) and PREFIX (scratch directory) required and
# NGINX_BIN (Debian's nginx); nginx reads $NGINX itself (inherited
# listening sockets): never pass it on
bench_env() {
    BIN=${BIN:?BIN}
    MODULE=${MODULE:?MODULE}
    PREFIX=${PREFIX:?PREFIX}
    NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
    unset NGINX
}

# free_port: a loopback TCP port nobody uses now
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 12000 ))
        if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# wait_for SECONDS COMMAND...: poll a condition with a deadline
wait_for() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.05
    done
}

# start_redis DIR PORT: $REDIS (a redis-server) of the script's own on
# 127.0.0.1:PORT, no persistence, its files in DIR; $redis_pid its pid;
# false if it does not answer within 10 s
start_redis() {
    mkdir -p "$1"
    "$REDIS" --port "$2" --bind 127.0.0.1 --dir "$1" \
        --save '' --appendonly no --daemonize no --loglevel warning \
        > "$1/redis.log" 2>&1 &
    redis_pid=$!
    wait_for 10 redis-cli -p "$2" ping
}

# stop_pid_file FILE [SECONDS]: TERM the process a pid file names and wait
# (bounded) until it is gone
stop_pid_file() {
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait_for "${2:-10}" sh -c "! kill -0 $pid 2>/dev/null" || true
    fi
}

# fresh_prefix: $PREFIX recreated with logs/ and tmp/, an empty $LOG and
# a new secret (48 random bytes, base64) in $PREFIX/secret.key
fresh_prefix() {
    rm -rf "$PREFIX"
    mkdir -p "$PREFIX/logs" "$PREFIX/tmp"
    : > "$LOG"
    head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/secret.key"
    chmod 600 "$PREFIX/secret.key"
}

# start_prefix_nginx PORT NAME: nginx of $PREFIX/nginx.conf, a fresh error
# log, up when /health answers on PORT (NAME in the message if not)
start_prefix_nginx() {
    : > "$PREFIX/logs/error.log"
    "$NGINX_BIN" -p "$PREFIX/" -c "$PREFIX/nginx.conf" \
        -e "$PREFIX/logs/error.log"
    wait_for 10 curl -sf "http://127.0.0.1:$1/health" \
        || { say "$2: nginx did not start"; exit 1; }
}

# the summary tables: field $2 of the last "RESULT label=$1" line of $LOG
val() {
    grep "^RESULT label=$1 " "$LOG" | tail -1 | tr ' ' '\n' \
        | sed -n "s/^$2=//p"
}

num() { [ -n "$1" ] && echo "$1" || echo "-"; }

# verdict VALUE OP LIMIT: PASS, FAIL, or n/a when there is no value
verdict() {
    if [ -z "$1" ] || [ "$1" = "-" ]; then echo "n/a"; return; fi
    if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then
        echo "PASS"
    else
        echo "FAIL"
    fi
}

# nginx_conf_head DIR MODULE WORKERS PIDFILE: the start of a bench nginx's
# configuration (main context, events, the first lines of the http
# block: no access log, temporary files in DIR/tmp); the caller writes
# the rest of the http block and closes it
nginx_conf_head() {
    cat <<EOF
load_module $2;
worker_processes $3;
worker_rlimit_nofile 20000;
pid $4;
error_log $1/logs/error.log warn;
events { worker_connections 16000; }
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
EOF
}
