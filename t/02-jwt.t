#!/usr/bin/perl

# HS256 JWT verify and sign: C unit tests in t/unit/test_jwt.c.

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_jwt') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
