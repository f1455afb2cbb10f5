#!/usr/bin/perl

# The frame parser's unit tests (t/unit/test_ws_frame.c) built with
# -U__SSE2__: the unmasking's word-at-a-time path, which a machine without
# SSE2 takes (t/unit/Makefile, WORD).

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_ws_frame_word') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
