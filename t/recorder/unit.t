#!/bin/sh
# C unit tests; the binary prints TAP itself
exec "${REC_BUILD:-$(dirname "$0")/../../build/recorder}/unit"
