#!/usr/bin/env bash
# The cost of the edge guards, measured with wrk on one nginx, side by
# side (docs/performance.md, "Guards"):
#
#   auth: a location with hotline_auth_jwt on (HS256 verification and the
#         revocation lookup, per request) against the same location
#         without it (empty_gif), every request with the agent's token;
#         target >= 95%;
#   csp:  the customer page (html/index.html, 3 KiB) with hotline_csp on,
#         its nonce stamped by sub_filter and hotline_security_headers on,
#         against the same page with only the sub_filter (a fixed
#         string); target >= 90%.
#
#   bash bench/guards.sh                   (after make)
#
# Environment (defaults in brackets): MODULE [build/objs/...so], NGINX_BIN
# [/usr/sbin/nginx], PREFIX [build/bench/guards], ROUNDS [5], DURATION [5]
# seconds per wrk run, CONNS [32], THREADS [1], NGX_WORKERS [1]: one
# worker and wrk's one thread each have a core of the two (with two
# workers the three share them, and a round's ratio moves by 20 points
# where it moves by 5 with one; what a guard costs is per request, the
# same whatever the workers).  Each round runs wrk once
# on each side of a pair, back to back, alternating which goes first; a
# pair's result is the median of its rounds' ratios, so that the other
# users of the shared CPU weigh on both sides of a ratio alike.  Each run
# also reads the CPU time of the nginx workers (/proc/<pid>/stat): worker
# CPU per request, and the ratio of requests per worker CPU-second, the
# cost of the guard itself.  Last lines: "RESULT label=guard-<pair> ...".
# Everything started here is stopped on exit.
#
# COST=1 measures instead what each location costs per request in
# user-space instructions (callgrind; deterministic whatever else the
# machine runs, but without the kernel's share, the same on both sides):
# nginx as one process under valgrind, wrk -c4 for COST_SHORT [2] and
# COST_LONG [6] seconds on each location, (instructions of the long run -
# of the short run) / (requests of the long run - of the short run).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODULE=${MODULE:-$ROOT/build/objs/ngx_http_hotline_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
# nginx reads $NGINX itself (inherited listening sockets): never pass it on
unset NGINX
PREFIX=${PREFIX:-$ROOT/build/bench/guards}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
NGX_WORKERS=${NGX_WORKERS:-1}
COST=${COST:-0}
COST_SHORT=${COST_SHORT:-2}
COST_LONG=${COST_LONG:-6}

LOG=$PREFIX/guards.log

die() { echo "guards: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[ -f "$MODULE" ] || die "no module at $MODULE (run make)"
perl -MCrypt::JWT -e1 2>/dev/null \
    || die "Crypt::JWT is missing (apt-get install libcrypt-jwt-perl)"

rm -rf "$PREFIX"
mkdir -p "$PREFIX/logs" "$PREFIX/conf" "$PREFIX/tmp" "$PREFIX/html"
: > "$LOG"

. "$ROOT/bench/lib.sh"

PORT=$(free_port)

(umask 077 && head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/conf/jwt.key")
cp "$ROOT/html/index.html" "$PREFIX/html/index.html"

# write_conf FILE MAIN-CONTEXT-LINES
write_conf() {
    cat > "$1" <<EOF
load_module $MODULE;
$2
pid $PREFIX/nginx.pid;
error_log $PREFIX/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $PREFIX/tmp;
    proxy_temp_path $PREFIX/tmp;
    fastcgi_temp_path $PREFIX/tmp;
    uwsgi_temp_path $PREFIX/tmp;
    scgi_temp_path $PREFIX/tmp;
    keepalive_requests 1000000;
    default_type text/html;

    hotline_zone 16m;
    hotline_history_file off;
    hotline_jwt_secret_file $PREFIX/conf/jwt.key;

    server {
        listen 127.0.0.1:$PORT;
        root $PREFIX/html;

        location = /open    { empty_gif; }
        location = /guarded { hotline_auth_jwt on; empty_gif; }

        location = /page {
            sub_filter '__CSP_NONCE__' 'fixed-string-nonce-000';
            sub_filter_once off;
            try_files /index.html =404;
        }

        location = /page-csp {
            hotline_csp on;
            hotline_security_headers on;
            sub_filter '__CSP_NONCE__' \$hotline_csp_nonce;
            sub_filter_once off;
            try_files /index.html =404;
        }
    }
}
EOF
}

write_conf "$PREFIX/conf/nginx.conf" "worker_processes $NGX_WORKERS;"

"$NGINX_BIN" -t -q -p "$PREFIX/" -e "$PREFIX/logs/error.log" \
    -c "$PREFIX/conf/nginx.conf" || die "nginx -t failed"
"$NGINX_BIN" -p "$PREFIX/" -e "$PREFIX/logs/error.log" \
    -c "$PREFIX/conf/nginx.conf"

stop() {
    local pid
    pid=$(cat "$PREFIX/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -QUIT "$pid" 2>/dev/null || true
        wait_for 5 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null \
            || true
    fi
}
trap stop EXIT

wait_for 10 test -s "$PREFIX/nginx.pid" || die "nginx did not start"

# an agent token as issued by the module: sub, role, iat, exp, jti
TOKEN=$(perl -MCrypt::JWT=encode_jwt -e '
    open my $f, "<", $ARGV[0] or die; my $k = <$f>; chomp $k;
    print encode_jwt(payload => { sub => "bench", role => "agent",
                                  iat => time, exp => time + 3600,
                                  jti => "0123456789abcdef0123456789abcdef" },
                     key => $k, alg => "HS256");' "$PREFIX/conf/jwt.key")

URL=http://127.0.0.1:$PORT

# what each side answers: a guard that lets nothing through, or a page
# without its headers, would measure nothing
status() {
    curl -s -o /dev/null -w '%{http_code}' "$@"
}

wait_for 10 curl -sf -o /dev/null "$URL/open" || die "nginx does not answer"

for path in /open /guarded; do
    code=$(status -H "Authorization: Bearer $TOKEN" "$URL$path")
    [ "$code" = 200 ] || die "GET $path with the token: $code"
done

code=$(status "$URL/guarded")
[ "$code" = 401 ] || die "GET /guarded without a token: $code, not 401"

curl -s -D "$PREFIX/csp.headers" -o "$PREFIX/csp.body" "$URL/page-csp"
nonce=$(sed -n "s/^Content-Security-Policy: .*'nonce-\([^']*\)'.*/\1/p" \
        "$PREFIX/csp.headers" | tr -d '\r')
[ -n "$nonce" ] || die "/page-csp has no Content-Security-Policy nonce"
grep -q "nonce=\"$nonce\"" "$PREFIX/csp.body" \
    || die "/page-csp: the page does not carry the header's nonce"
grep -qi '^X-Content-Type-Options: nosniff' "$PREFIX/csp.headers" \
    || die "/page-csp has no security headers"
curl -s -o "$PREFIX/page.body" "$URL/page"
grep -q 'fixed-string-nonce-000' "$PREFIX/page.body" \
    || die "/page is not stamped by sub_filter"

# COST=1: instructions per request under callgrind, instead of wrk's rates

# cost_run PATH SECONDS: "instructions requests" of one run
cost_run() {
    local path=$1 seconds=$2 pid n ir

    rm -f "$PREFIX/cg.out"
    valgrind --tool=callgrind --callgrind-out-file="$PREFIX/cg.out" \
        "$NGINX_BIN" -p "$PREFIX/" -e "$PREFIX/logs/error.log" \
        -c "$PREFIX/conf/cost.conf" > "$PREFIX/valgrind.log" 2>&1 &
    pid=$!

    wait_for 60 curl -sf -o /dev/null "$URL/open" \
        || die "nginx under valgrind did not come up"

    n=$(wrk -t1 -c4 -d"${seconds}s" -H "Authorization: Bearer $TOKEN" \
            "$URL$path" | awk '/requests in/ { print $1 }')

    kill -QUIT "$pid"
    wait "$pid" || true

    ir=$(grep -m1 '^summary:' "$PREFIX/cg.out" | awk '{ print $2 }')
    echo "$ir $n"
}

if [ "$COST" = 1 ]; then
    command -v valgrind >/dev/null || die "COST=1 needs valgrind"
    stop
    write_conf "$PREFIX/conf/cost.conf" \
        "master_process off; daemon off; worker_processes 1;"

    say "== guards, COST=1: user-space instructions per request (callgrind," \
        "wrk -c4, ${COST_LONG} s - ${COST_SHORT} s)"

    for path in /open /guarded /page /page-csp; do
        read -r i1 n1 < <(cost_run "$path" "$COST_SHORT")
        read -r i2 n2 < <(cost_run "$path" "$COST_LONG")
        [ "$n2" -gt "$n1" ] || die "$path: no more requests in the long run"
        say "RESULT label=cost-${path#/} requests=$((n2 - n1))" \
            "instructions_per_request=$(( (i2 - i1) / (n2 - n1) ))"
    done

    exit 0
fi

# CPU time (user + system, clock ticks) of the nginx workers so far
WORKERS=$(pgrep -P "$(cat "$PREFIX/nginx.pid")" | tr '\n' ' ')
TICKS=$(getconf CLK_TCK)
worker_ticks() {
    local pid sum=0 f
    for pid in $WORKERS; do
        f=$(cut -d' ' -f14,15 "/proc/$pid/stat")
        sum=$((sum + ${f% *} + ${f#* }))
    done
    echo "$sum"
}

# one wrk run: "requests/s requests worker-CPU-seconds"
run() {
    local t0 t1 out
    t0=$(worker_ticks)
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
              -H "Authorization: Bearer $TOKEN" "$URL$1")
    t1=$(worker_ticks)
    echo "$out" | awk -v cpu="$(( t1 - t0 ))" -v hz="$TICKS" '
        /requests in/ { n = $1 }
        /^Requests\/sec:/ { rps = $2 }
        END { printf "%s %s %.2f\n", rps, n, cpu / hz }'
}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2];
          else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'; }
per_req() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", 1e6 * c / n }'; }

# pair LABEL BASE-PATH GUARDED-PATH TARGET
pair() {
    local label=$1 base=$2 guarded=$3 target=$4 i b g
    local brps bn bcpu grps gn gcpu
    local -a b_rps=() g_rps=() ratios=() cpu_ratios=() b_us=() g_us=()

    for i in $(seq 1 "$ROUNDS"); do
        if [ $((i % 2)) = 1 ]; then
            b=$(run "$base")
            g=$(run "$guarded")
        else
            g=$(run "$guarded")
            b=$(run "$base")
        fi

        read -r brps bn bcpu <<< "$b"
        read -r grps gn gcpu <<< "$g"

        b_rps+=("$brps")
        g_rps+=("$grps")
        ratios+=("$(ratio "$grps" "$brps")")
        b_us+=("$(per_req "$bcpu" "$bn")")
        g_us+=("$(per_req "$gcpu" "$gn")")
        cpu_ratios+=("$(ratio "${b_us[-1]}" "${g_us[-1]}")")

        say "$label round $i: $base $brps req/s (${b_us[-1]} us CPU/req)," \
            "$guarded $grps req/s (${g_us[-1]} us CPU/req):" \
            "${ratios[-1]}% of the requests/s, ${cpu_ratios[-1]}% per CPU"
    done

    say "RESULT label=guard-$label base=$base guarded=$guarded" \
        "base_rps=$(median "${b_rps[@]}") guarded_rps=$(median "${g_rps[@]}")" \
        "ratio=$(median "${ratios[@]}") base_us=$(median "${b_us[@]}")" \
        "guarded_us=$(median "${g_us[@]}")" \
        "cpu_ratio=$(median "${cpu_ratios[@]}") target=$target" \
        "rounds=$ROUNDS"
}

say "== guards: wrk -t$THREADS -c$CONNS -d${DURATION}s" \
    "-H 'Authorization: Bearer <jwt>' $URL/<path>, $ROUNDS rounds a pair," \
    "nginx with $NGX_WORKERS worker(s)"

# warm-up
wrk -t1 -c8 -d1s "$URL/open" >/dev/null
wrk -t1 -c8 -d1s "$URL/page-csp" >/dev/null

pair auth /open /guarded 95
pair csp /page /page-csp 90

if grep -E '\[(alert|emerg|crit)\]' "$PREFIX/logs/error.log"; then
    die "nginx logged alerts (see $PREFIX/logs/error.log)"
fi
