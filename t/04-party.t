#!/usr/bin/perl

# The party record's encoding (version 1 for a party without support
# desk fields, version 2 otherwise): C unit tests in t/unit/test_party.c.

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_party') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
