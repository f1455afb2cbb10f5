#!/bin/sh
# hotline-recorder benchmark (docs/recorder.md, "Performance").
#
# usage: run.sh [SECONDS] [STREAMS] [HANDSHAKES]
#
# 1. in process: the recorder's media path (SRTP unprotect, RTP, jitter,
#    depacketize, mux, libwebm, disk) as fast as possible, both SRTP
#    profiles; DTLS handshakes per core-second (recorder side)
# 2. over loopback at real-time rate: STREAMS synthetic WHIP publishers
#    (libnice + OpenSSL DTLS + libsrtp2) against a running recorder; its
#    CPU from /proc gives ms per stream-second, the whole receive path
#    (sockets, GLib, libnice) included.
# 3. the same with STREAMS outside publishers: GStreamer's webrtcbin
#    (gst_bench.sh, in a loopback-only network namespace).
# 4. the merge job's CPU per recorded minute (merge.sh).

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
b=$top/build/recorder
secs=${1:-30}
streams=${2:-20}
hs=${3:-2000}

"$b/bench/bench_recorder" 60 "$streams" "$hs"

tmp=$(mktemp -d /tmp/rec-bench-XXXXXX)
trap 'kill $rec 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir "$tmp/rec"
head -c 48 /dev/urandom | base64 > "$tmp/secret"
port=$(( 20000 + $$ % 20000 ))

"$b/hotline-recorder" --listen "127.0.0.1:$port" --recordings "$tmp/rec" \
    --secret-file "$tmp/secret" --max-sessions 1000 --min-free-disk 0 \
    --merge off --log-level warn 2>"$tmp/recorder.log" &
rec=$!

i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null \
      || [ $i -ge 50 ]
do
    i=$((i + 1))
    sleep 0.1
done

# as browsers do (GCM first), then AES-CM only
"$b/bench/publisher" "http://127.0.0.1:$port/whip" "$tmp/secret" "$rec" \
    "$streams" "$secs"
BENCH_SRTP_PROFILE=SRTP_AES128_CM_SHA1_80 \
"$b/bench/publisher" "http://127.0.0.1:$port/whip" "$tmp/secret" "$rec" \
    "$streams" "$secs"

kill -TERM $rec
wait $rec
echo "network: $(grep -l '"finished"' "$tmp"/rec/*/manifest.json | wc -l)" \
     "manifests finished, $(find "$tmp/rec" -name '*.webm' | wc -l) files"

sh "$top/bench/recorder/gst_bench.sh" "$secs" "$streams"
sh "$top/bench/recorder/merge.sh" 120
