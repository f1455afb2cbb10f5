#!/usr/bin/perl

# The numbers every delivered message carries (its seq, a chat line's
# ts), written two digits at a time, the last ts kept: C unit tests in
# t/unit/test_proto_digits.c, against snprintf().

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_proto_digits') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
