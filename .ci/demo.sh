#!/usr/bin/env bash
# The hotline demo: `make run` (start) and `make stop` (stop).
#
#   bash .ci/demo.sh start   write run/, start (or reload) nginx on
#                            127.0.0.1:8080, print the customer and agent URLs
#   bash .ci/demo.sh stop    stop that nginx
#
# run/ (git-ignored) is the nginx prefix: nginx.conf (from .ci/demo.conf.in
# with absolute paths), logs/, tmp/, nginx.pid and secret.key (the HS256 key,
# made once, mode 0600).  HOTLINE_PORT changes the port, HOTLINE_RUN the
# directory (an absolute path), HOTLINE_MODULE the module (the tests' own
# build: make test-asan's), HOTLINE_NGINX (the tests') or NGINX (make run
# NGINX=...) the nginx, HOTLINE_ICE_ARGS the parameters of the pages' ICE
# servers location (hotline_ice_servers, docs/directives.md; none by
# default since the demo is local), for example
#   HOTLINE_ICE_ARGS='stun=stun:stun.example.com:3478' make run

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${HOTLINE_RUN:-$ROOT/run}
HTML=$ROOT/html
MODULE=${HOTLINE_MODULE:-$ROOT/build/objs/ngx_http_hotline_module.so}
TEMPLATE=$ROOT/.ci/demo.conf.in
CONF=$RUN/nginx.conf
PIDFILE=$RUN/nginx.pid
SECRET=$RUN/secret.key
NGINX_CMD=${HOTLINE_NGINX:-${NGINX:-/usr/sbin/nginx}}
# nginx takes NGINX in its environment for the sockets of a binary
# upgrade: with it, it stays in the foreground and the module waits for
# the calls of old workers that are not there
unset NGINX
PORT=${HOTLINE_PORT:-8080}
ICE_ARGS=${HOTLINE_ICE_ARGS:-}

die() {
    echo "demo: $*" >&2
    exit 1
}

# Prints the pid of the demo's nginx master if it runs, else nothing.
running_pid() {
    local pid

    [ -s "$PIDFILE" ] || return 0
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    case "$pid" in ''|*[!0-9]*) return 0 ;; esac
    if kill -0 "$pid" 2>/dev/null \
       && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = nginx ]; then
        echo "$pid"
    fi
}

write_prefix() {
    local ice
    [ -f "$MODULE" ] || die "no module at $MODULE (run make first)"
    [ -f "$TEMPLATE" ] || die "no template $TEMPLATE"
    case "$PORT" in ''|*[!0-9]*) die "bad HOTLINE_PORT: $PORT" ;; esac
    # parameters of one nginx directive, and a sed replacement
    [[ "$ICE_ARGS" =~ ^[A-Za-z0-9\ :._/?=+-]*$ ]] \
        || die "bad HOTLINE_ICE_ARGS: only letters, digits, spaces and :._/?=+-"
    if [ -n "$ICE_ARGS" ]; then
        ice="hotline_ice_servers $ICE_ARGS;"
    else
        ice="default_type application/json; return 200 '{\"iceServers\":[]}';"
    fi

    mkdir -p "$RUN/logs" "$RUN/tmp"

    if [ ! -s "$SECRET" ]; then
        (umask 077 && head -c 48 /dev/urandom | base64 -w0 > "$SECRET")
    fi
    chmod 0600 "$SECRET"

    sed -e "s|@MODULE@|$MODULE|g" \
        -e "s|@RUN@|$RUN|g" \
        -e "s|@HTML@|$HTML|g" \
        -e "s|@PORT@|$PORT|g" \
        -e "s|@ICE@|$ice|g" \
        -e "s|^@HTTP_EXTRA@$||" \
        -e "s|^@SERVER_EXTRA@$||" \
        "$TEMPLATE" > "$CONF.new"
    mv "$CONF.new" "$CONF"
}

# Polls /health until it answers 200 or a deadline passes.
wait_healthy() {
    local i reply

    for i in $(seq 1 50); do
        reply=$( (exec 3<>/dev/tcp/127.0.0.1/"$PORT" \
                  && printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 \
                  && head -n1 <&3) 2>/dev/null || true)
        case "$reply" in *" 200 "*) return 0 ;; esac
        sleep 0.1
    done
    return 1
}

# A 12-hour agent token (sub=demo, name "Demo Agent", role=agent, HS256),
# minted with Crypt::JWT from the same key file the module reads: the
# demo's way in, since its agent has no Telegram chat to receive a code.
mint_token() {
    perl -MCrypt::JWT=encode_jwt -e '
        open my $f, "<", $ARGV[0] or die "secret: $!\n";
        my $k = do { local $/; <$f> }; $k =~ s/\r?\n\z//;
        print encode_jwt(payload => { sub => "demo", name => "Demo Agent",
                                      role => "agent", iat => time },
                         key => $k, alg => "HS256", relative_exp => 43200);
    ' "$SECRET"
}

start() {
    local pid token

    write_prefix
    "$NGINX_CMD" -t -q -p "$RUN/" -e "$RUN/logs/error.log" -c "$CONF" \
        || die "configuration test failed (see above)"

    pid=$(running_pid)
    if [ -n "$pid" ] && [ "$MODULE" -nt "$PIDFILE" ]; then
        # a reload keeps the module the master loaded (dlopen() of the
        # same path gives the same code): a rebuilt one needs a restart
        echo "demo: the module was rebuilt; restarting nginx"
        stop
        pid=
    fi

    if [ -n "$pid" ]; then
        echo "demo: already running (pid $pid); reloading the configuration"
        "$NGINX_CMD" -p "$RUN/" -e "$RUN/logs/error.log" -c "$CONF" -s reload
    else
        if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
            die "127.0.0.1:$PORT is in use by another program"
        fi
        "$NGINX_CMD" -p "$RUN/" -e "$RUN/logs/error.log" -c "$CONF"
    fi

    wait_healthy || die "nginx does not answer on 127.0.0.1:$PORT" \
                        "(see $RUN/logs/error.log)"

    token=$(mint_token) || die "could not mint the agent token"

    cat <<MSG

hotline demo is running on 127.0.0.1:$PORT (logs in run/logs/)

  customer:  http://127.0.0.1:$PORT/
  agent:     http://127.0.0.1:$PORT/agent.html#token=$token

The agent token is valid for 12 hours; it sits in the URL fragment, so it
never reaches a server log.  Open the two URLs in two tabs (docs/ui.md).

The agent console signs in with a one-time code from Telegram (docs/auth.md),
but the demo has no Telegram bot to deliver the code, so use the token
above.  "Sign out" in the console revokes it.

Stop with: make stop

MSG
}

stop() {
    local pid i

    pid=$(running_pid)
    if [ -z "$pid" ]; then
        echo "demo: not running"
        return 0
    fi

    # Graceful: WebSocket clients get 1001 and may resume elsewhere.
    kill -QUIT "$pid"
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { echo "demo: stopped"; return 0; }
        sleep 0.1
    done
    echo "demo: nginx did not quit in 10 s; terminating it" >&2
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { echo "demo: stopped"; return 0; }
        sleep 0.1
    done
    die "nginx (pid $pid) is still running"
}

case "${1:-}" in
    start) start ;;
    stop)  stop ;;
    *)     echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
