#!/usr/bin/perl

# Runs each libFuzzer target briefly (REC_FUZZ_TIME seconds, default 5):
# no crash, no leak, no sanitizer report.  `make -C src/recorder fuzz
# FUZZ_TIME=600` runs them longer.

use strict;
use warnings;

use FindBin;
use Test::More;

my $b = $ENV{REC_BUILD} || "$FindBin::Bin/../../build/recorder";
my $seeds = "$FindBin::Bin/../../fuzz/recorder";
my $t = $ENV{REC_FUZZ_TIME} || 5;

for my $f (qw(fuzz_sdp fuzz_rtp fuzz_http fuzz_jwt fuzz_check)) {
    my $bin = "$b/fuzz/$f";
    ok(-x $bin, "$f built") or next;
    my $corpus = "$b/fuzz/corpus-$f";
    mkdir $corpus;
    my $out = `'$bin' -max_total_time=$t -max_len=8192 '$corpus' '$seeds/seeds-$f' 2>&1`;
    is($?, 0, "$f: no crash in ${t}s") or diag(substr($out, -3000));
    my ($runs) = $out =~ /Done (\d+) runs/;
    cmp_ok($runs // 0, '>', 100, "$f: ran " . ($runs // 0) . " inputs");
}

done_testing();
