#!/usr/bin/perl

# The embedded store's inbox unit tests (t/unit/test_shm_inbox.c) built
# with -U__SSE2__: a key's hex spelling checked byte by byte, as a machine
# without SSE2 does (t/unit/Makefile, WORD).

use strict;
use warnings;
use FindBin;

exec($^X, "$FindBin::Bin/unit/run.pl", 'test_shm_inbox_word') or do {
    print "1..1\nnot ok 1 - exec t/unit/run.pl: $!\n";
    exit 1;
};
