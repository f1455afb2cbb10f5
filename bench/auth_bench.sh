#!/usr/bin/env bash
# Auth overhead: requests/s through a location guarded by hotline_auth_jwt
# (HS256 verification + the revocation lookup in the store, per request)
# against the same location without the check, side by side in one run,
# with wrk.  Target: guarded >= 90% of unguarded.  docs/performance.md,
# "Auth overhead".
#
#   bash bench/auth_bench.sh
#
# Knobs (environment, defaults in brackets): MODULE [build/objs/...so],
# NGINX [/usr/sbin/nginx], PREFIX [build/bench/auth], ROUNDS [5],
# DURATION [5] seconds per wrk run, CONNS [32], THREADS [1].  Each round
# runs wrk once against each location, back to back (alternating which
# goes first); the result is the median of the rounds' ratios, so that the
# other users of the shared CPU affect both sides of a ratio alike.  Since
# requests/s on a shared machine swing with everyone else's load, each run
# also reads the CPU time the nginx workers used (/proc/<pid>/stat) and
# reports worker CPU per request and the ratio of requests per worker
# CPU-second: the cost of the check itself.  Everything started here is stopped on exit.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODULE=${MODULE:-$ROOT/build/objs/ngx_http_hotline_module.so}
NGINX=${NGINX:-/usr/sbin/nginx}
PREFIX=${PREFIX:-$ROOT/build/bench/auth}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}

die() { echo "auth_bench: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[ -f "$MODULE" ] || die "no module at $MODULE (run make)"
perl -MCrypt::JWT -e1 2>/dev/null \
    || die "Crypt::JWT is missing (apt-get install libcrypt-jwt-perl)"

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
                                      LocalPort => 0, Listen => 1) or die;
        print $s->sockport;'
}

PORT=$(free_port)

rm -rf "$PREFIX"
mkdir -p "$PREFIX/logs" "$PREFIX/conf" "$PREFIX/tmp"
(umask 077 && head -c 48 /dev/urandom | base64 -w0 > "$PREFIX/conf/jwt.key")

cat > "$PREFIX/conf/nginx.conf" <<EOF
load_module $MODULE;
worker_processes 2;
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

    hotline_zone 16m;
    hotline_jwt_secret_file $PREFIX/conf/jwt.key;

    server {
        listen 127.0.0.1:$PORT;
        location = /open    { empty_gif; }
        location = /guarded { hotline_auth_jwt on; empty_gif; }
    }
}
EOF

"$NGINX" -t -q -p "$PREFIX/" -e "$PREFIX/logs/error.log" \
    -c "$PREFIX/conf/nginx.conf" || die "nginx -t failed"
"$NGINX" -p "$PREFIX/" -e "$PREFIX/logs/error.log" \
    -c "$PREFIX/conf/nginx.conf"

stop() {
    local pid
    pid=$(cat "$PREFIX/nginx.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
}
trap stop EXIT

# an agent token as issued by the module: sub, role, iat, exp, jti
TOKEN=$(perl -MCrypt::JWT=encode_jwt -e '
    open my $f, "<", $ARGV[0] or die; my $k = <$f>; chomp $k;
    print encode_jwt(payload => { sub => "bench", role => "agent",
                                  iat => time, exp => time + 3600,
                                  jti => "0123456789abcdef0123456789abcdef" },
                     key => $k, alg => "HS256");' "$PREFIX/conf/jwt.key")

URL=http://127.0.0.1:$PORT

for path in /open /guarded; do
    code=$(perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new("127.0.0.1:$ARGV[0]") or die;
        print $s "GET $ARGV[1] HTTP/1.0\r\nAuthorization: Bearer $ARGV[2]\r\n\r\n";
        my $l = <$s>; print((split / /, $l)[1]);' "$PORT" "$path" "$TOKEN")
    [ "$code" = 200 ] || die "GET $path with the token: $code"
done
code=$(perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new("127.0.0.1:$ARGV[0]") or die;
    print $s "GET /guarded HTTP/1.0\r\n\r\n";
    my $l = <$s>; print((split / /, $l)[1]);' "$PORT")
[ "$code" = 401 ] || die "GET /guarded without a token: $code, not 401"

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

CMD="wrk -t$THREADS -c$CONNS -d${DURATION}s -H 'Authorization: Bearer <jwt>' $URL/{open,guarded}"

# warm-up
wrk -t1 -c8 -d1s "$URL/open" >/dev/null

open_rps=()
guarded_rps=()
ratios=()
cpu_ratios=()
open_us=()
guarded_us=()
for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) = 1 ]; then
        o=$(run /open)
        g=$(run /guarded)
    else
        g=$(run /guarded)
        o=$(run /open)
    fi
    read -r orps on ocpu <<< "$o"
    read -r grps gn gcpu <<< "$g"
    open_rps+=("$orps")
    guarded_rps+=("$grps")
    ratios+=("$(awk -v g="$grps" -v o="$orps" \
                'BEGIN { printf "%.1f", 100 * g / o }')")
    # worker CPU per request, and requests per CPU-second guarded / open
    open_us+=("$(awk -v c="$ocpu" -v n="$on" \
                 'BEGIN { printf "%.2f", 1e6 * c / n }')")
    guarded_us+=("$(awk -v c="$gcpu" -v n="$gn" \
                    'BEGIN { printf "%.2f", 1e6 * c / n }')")
    cpu_ratios+=("$(awk -v o="${open_us[-1]}" -v g="${guarded_us[-1]}" \
                    'BEGIN { printf "%.1f", 100 * o / g }')")
    echo "round $i: open $orps req/s (${open_us[-1]} us CPU/req)," \
         "guarded $grps req/s (${guarded_us[-1]} us CPU/req):" \
         "${ratios[-1]}% of the requests/s, ${cpu_ratios[-1]}% per CPU"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 }
    END { if (NR % 2) print a[(NR + 1) / 2];
          else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

OPEN=$(median "${open_rps[@]}")
GUARDED=$(median "${guarded_rps[@]}")
RATIO=$(median "${ratios[@]}")
CPU_RATIO=$(median "${cpu_ratios[@]}")
OPEN_US=$(median "${open_us[@]}")
GUARDED_US=$(median "${guarded_us[@]}")

grep -E '\[(alert|emerg|crit)\]' "$PREFIX/logs/error.log" \
    && die "nginx logged alerts (see $PREFIX/logs/error.log)"

cat <<EOF

Auth overhead ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs shared, nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), 2 workers)
command per run: $CMD
rounds: $ROUNDS (each: both locations back to back), medians:

| location | requests/s | worker CPU per request |
|---|---|---|
| unguarded (empty_gif) | $OPEN | $OPEN_US us |
| hotline_auth_jwt on (empty_gif) | $GUARDED | $GUARDED_US us |
| guarded / unguarded, requests/s (median of the rounds' ratios) | ${RATIO}% | |
| guarded / unguarded, requests per worker CPU-second (median) | ${CPU_RATIO}% | |

target: >= 90%
EOF
