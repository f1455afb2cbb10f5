#!/bin/sh
# hotline-recorder: CPU per stream-second with outside publishers.
#
# usage: gst_bench.sh [SECONDS] [STREAMS]      (as root: a network namespace)
#
# STREAMS (default 20) GStreamer webrtcbin publishers (t/recorder/lib/
# gst_publish.py) send the same pre-encoded media at real time (VP8
# 640x480 30 fps at 1 Mbit/s, a keyframe every 3 s, and Opus 32 kbit/s
# in 20 ms frames: no encoding in the publishers) to one recorder, in a
# loopback-only network namespace (they gather candidates on every
# interface otherwise).  Once all are connected and past their first
# keyframe, the recorder's own CPU (user + system, from /proc/PID/stat)
# over SECONDS (default 30) gives its CPU per stream-second; its metrics
# give the packets it received.  REC_ARGS: more recorder options
# (REC_ARGS="--batch-ms 20").  REC_PROFILE: a command run over the
# measured SECONDS instead of a sleep, with REC_PID and REC_SECS in its
# environment (REC_PROFILE='perf stat -e raw_syscalls:sys_enter -p
# $REC_PID -- sleep $REC_SECS').

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
b=$top/build/recorder
secs=${1:-30}
streams=${2:-20}

if [ -z "${REC_BENCH_NETNS:-}" ]; then
    export REC_BENCH_NETNS=1
    exec unshare -n sh -c 'ip link set lo up && exec sh "$0" "$@"' \
        "$0" "$secs" "$streams"
fi

media=$b/bench/media-$((secs + 60)).webm
mkdir -p "$b/bench"

if [ ! -s "$media" ]; then
    gst-launch-1.0 -q videotestsrc pattern=smpte horizontal-speed=8 num-buffers=$(( (secs + 60) * 30 )) \
        ! video/x-raw,width=640,height=480,framerate=30/1 \
        ! vp8enc deadline=1 cpu-used=8 target-bitrate=1000000 end-usage=cbr \
              keyframe-max-dist=90 \
        ! webmmux name=m ! filesink location="$media.tmp" \
        audiotestsrc wave=pink-noise num-buffers=$(( (secs + 60) * 50 )) \
            samplesperbuffer=960 \
        ! audio/x-raw,rate=48000,channels=1 ! opusenc bitrate=32000 ! m.
    mv "$media.tmp" "$media"
fi

tmp=$(mktemp -d /tmp/rec-gst-bench-XXXXXX)
pubs=""
cleanup() {
    for p in $pubs; do kill "$p" 2>/dev/null || true; done
    kill "$rec" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/rec"
head -c 48 /dev/urandom | base64 > "$tmp/secret"
chmod 600 "$tmp/secret"
port=8088

"$b/hotline-recorder" --listen "127.0.0.1:$port" --recordings "$tmp/rec" \
    --secret-file "$tmp/secret" --max-sessions 1000 --min-free-disk 0 \
    --merge off --log-level warn ${REC_ARGS:-} 2>"$tmp/recorder.log" &
rec=$!

until curl -s -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.1; done

i=0
while [ $i -lt "$streams" ]; do
    tok=$(perl -MMIME::Base64 -MDigest::SHA=hmac_sha256 -e '
        my ($call, $key) = @ARGV;
        sub b64 { my $s = encode_base64(shift, ""); $s =~ tr{+/}{-_};
                  $s =~ s/=+$//; $s }
        my $h = b64(q({"alg":"HS256","typ":"JWT"}));
        my $p = b64(sprintf q({"call":"%s","role":"customer","exp":%d}),
                    $call, time + 3600);
        print "$h.$p." . b64(hmac_sha256("$h.$p", $key));
    ' "bench-$i" "$(tr -d '\n' < "$tmp/secret")")
    /usr/bin/python3 "$top/t/recorder/lib/gst_publish.py" \
        "http://127.0.0.1:$port/whip" "$tok" $((secs + 30)) hold \
        "file:$media" > "$tmp/pub-$i.json" 2>"$tmp/pub-$i.log" &
    pubs="$pubs $!"
    i=$((i + 1))
done

deadline=$(( $(date +%s) + 60 ))
until [ "$(cat "$tmp"/pub-*.json 2>/dev/null | grep -c '"connected"')" \
        -ge "$streams" ]
do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "gst bench: not all publishers connected" >&2
        tail -5 "$tmp"/pub-*.log >&2
        exit 1
    fi
    sleep 0.2
done

sleep 4       # past the first keyframe of every stream

cpu() { awk '{ print $14 + $15 }' "/proc/$rec/stat"; }
pkts() { curl -s "http://127.0.0.1:$port/metrics" \
         | awk '/^hotline_recorder_rtp_packets_total/ { print $2 }'; }

c0=$(cpu); p0=$(pkts); t0=$(date +%s%N)
if [ -n "${REC_PROFILE:-}" ]; then
    REC_PID=$rec REC_SECS=$secs sh -c "$REC_PROFILE" >&2
else
    sleep "$secs"
fi
c1=$(cpu); p1=$(pkts); t1=$(date +%s%N)

hz=$(getconf CLK_TCK)
awk -v c="$((c1 - c0))" -v hz="$hz" -v n="$streams" -v p="$((p1 - p0))" \
    -v t="$(( (t1 - t0) / 1000000 ))" 'BEGIN {
    ms = c * 1000 / hz; s = t / 1000;
    printf "gstreamer: %d webrtcbin publishers x %.1f s: recorder cpu %.0f ms, " \
           "%.2f ms per stream-second, %.0f streams per core; " \
           "%.0f packets per stream-second, %.1f us per packet\n",
           n, s, ms, ms / (n * s), n * s * 1000 / ms, p / (n * s),
           ms * 1000 / p
}'

kill -TERM "$rec"
wait "$rec" || true
files=$(find "$tmp/rec" -name '*.webm' -size +0 | wc -l)
echo "gstreamer: $files files written"
