#!/usr/bin/perl

# RFC 6455 frame parser, frame header encoder and UTF-8 checker:
# C unit tests in t/unit/test_ws_frame.c.

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_ws_frame') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
