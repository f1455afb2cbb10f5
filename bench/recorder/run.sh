#!/bin/sh
# hotline-recorder benchmark: see bench_recorder.c and docs/recorder.md.
# usage: run.sh [SECONDS_OF_MEDIA] [SESSIONS] [HANDSHAKES]
set -eu
b=$(cd "$(dirname "$0")/../.." && pwd)/build/recorder
exec "$b/bench/bench_recorder" "${1:-60}" "${2:-20}" "${3:-2000}"
