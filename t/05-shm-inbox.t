#!/usr/bin/perl

# The embedded store's inbox: 64 bytes, the replay's end from its low half,
# the attach's 29-bit number: C unit tests in t/unit/test_shm_inbox.c.

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_shm_inbox') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
