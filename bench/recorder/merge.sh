#!/bin/sh
# hotline-recorder: CPU of the merge job per recorded minute.
#
# usage: merge.sh [SECONDS]
#
# Two participants' files of SECONDS (default 120) are made by GStreamer
# (VP8 640x480 30 fps at up to 1 Mbit/s and Opus mono, as the recorder
# writes them: a moving ball on one side, moving colour bars on the
# other), the agent 2 s after the customer; then the recorder's merge job
# (hotline-recorder --job merge) makes the call's file from them and
# reports the CPU it used (getrusage of the job).

set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
b=$top/build/recorder
secs=${1:-120}
tmp=$(mktemp -d /tmp/rec-merge-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

make_file() {
    gst-launch-1.0 -q videotestsrc $2 num-buffers=$((secs * 30)) \
        ! video/x-raw,width=640,height=480,framerate=30/1 \
        ! vp8enc deadline=1 cpu-used=8 target-bitrate=1000000 \
        ! webmmux name=m ! filesink location="$1" \
        audiotestsrc wave=sine freq=$3 num-buffers=$((secs * 50)) \
            samplesperbuffer=960 \
        ! audio/x-raw,rate=48000,channels=1 ! opusenc ! m.
}

make_file "$tmp/customer.webm" "pattern=ball" 440
make_file "$tmp/agent.webm" "pattern=smpte horizontal-speed=4" 660

out=$("$b/hotline-recorder" --job merge "$tmp/call.webm" \
      "$tmp/customer.webm" left 0 "$tmp/agent.webm" right 2000)

echo "$out" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
minutes = r["duration_ms"] / 60000
print("merge: %.1f s of call (two %s s files), %d ms of CPU: "
      "%.2f s of CPU per recorded minute, %.1f%% of a core in real time; "
      "output %d bytes (%d audio, %d video frames)" % (
          r["duration_ms"] / 1000, sys.argv[1], r["cpu_ms"],
          r["cpu_ms"] / 1000 / minutes, r["cpu_ms"] / r["duration_ms"] * 100,
          r["size"], r["audio_frames"], r["video_frames"]))
' "$secs"
