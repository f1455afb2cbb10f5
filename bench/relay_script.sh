#!/usr/bin/env bash
# The relay's cost inside Redis (docs/performance.md, "A full transcript
# costs a relay nothing"): the module's commit script, as lua_dump prints
# it, loaded into a redis-server of its own and run by redis-benchmark
# (4 clients) as a relay alone, the way a node sends one:
#   1. without a transcript line (a relay that is not chat);
#   2. with a line into a full transcript (what a node sent for every
#      chat message before it learned the transcript's room);
#   3. an empty script with the same arguments (what any EVALSHA costs);
# and prints Redis' own time per call (INFO commandstats), so the figures
# do not depend on the generator.  The parties' records are as a call
# has them; the receiver's bound is so large that no room is made.
#
#   make -C bench relay-script            (N=200000 calls each)
#
# Environment: BIN (lua_dump), REDIS (redis-server), N, PREFIX (scratch
# directory, recreated; build/bench/relay_script).

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/bench}
REDIS=${REDIS:-/usr/bin/redis-server}
N=${N:-200000}
PREFIX=${PREFIX:-$ROOT/build/bench/relay_script}
LOG=$PREFIX/bench.log
redis_pid=

. "$ROOT/bench/lib.sh"

cleanup() {
    if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
        kill -TERM "$redis_pid"
        wait "$redis_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT

[ -x "$BIN/lua_dump" ] || { echo "relay_script: no $BIN/lua_dump; make -C bench relay-script"; exit 1; }

# the scratch directory, as the other benchmarks have theirs: recreated,
# kept after the run (its log)
rm -rf "$PREFIX"
mkdir -p "$PREFIX"
: > "$LOG"

PORT=$(free_port)
start_redis "$PREFIX/redis" "$PORT" \
    || { echo "relay_script: redis-server did not start"; exit 1; }

R="redis-cli -p $PORT"
COMMIT=$($R script load "$("$BIN/lua_dump" commit)")
EMPTY=$($R script load "return {0, 0}")

# the sender (version 5, this channel, consumer 7), the receiver (another
# channel), the call's transcript (16 KiB, full)
$R hset b:r:p:S v 5 d x ow CH g 7 > /dev/null
$R hset b:r:p:K v 1 d y ow CH2 g 3 sq 0 by 0 dl 0 > /dev/null
$R hset b:r:t:L v 1 d z sq 100 by 16384 > /dev/null

MSG='c{"type":"chat","text":"hello there, this is a fairly ordinary support chat message of about 150 bytes in all, give or take a few..","id":"m1"}'
RELAY=(0 b: CH R 9 p:S 5 7 p:K "$MSG" 1000000000 0 105 0)
LINE=(t:L 16384 '}')

# run LABEL SHA ARGS...: N calls, Redis' time per call
run() {
    local label=$1 sha=$2
    shift 2
    $R config resetstat > /dev/null
    redis-benchmark -p "$PORT" -n "$N" -c 4 -q evalsha "$sha" "$@" > /dev/null
    $R info commandstats | tr -d '\r' | awk -F'[:=,]' -v l="$label" '
        /^cmdstat_evalsha:/ { printf "%-44s %s us per call (%s calls)\n",
                              l, $7, $3 }'
}

say "== relay script: $("$REDIS" --version | cut -d' ' -f1-3), $N calls each"
run "relay alone, no transcript line" "$COMMIT" "${RELAY[@]}"
# with the line: 12 arguments, not 9
RELAY[4]=12
run "relay alone, a line into a full transcript" "$COMMIT" \
    "${RELAY[@]}" "${LINE[@]}"
run "empty script, the same arguments" "$EMPTY" "${RELAY[@]}" "${LINE[@]}"
say "-- the receiver's inbox: $($R llen b:m:p:K) messages;" \
    "the transcript's: $($R llen b:m:t:L) (full: none go in)"
