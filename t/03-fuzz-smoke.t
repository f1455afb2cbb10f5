#!/usr/bin/perl

# Runs every libFuzzer target of fuzz/ briefly (make -C fuzz smoke: seeds
# in fuzz/corpus/<target>/, a bounded number of runs) and reports one test
# per target.  Skipped only when clang-14 or its libFuzzer runtime is
# missing (apt-get install clang-14 libclang-rt-14-dev).

use strict;
use warnings;

use FindBin;
use Cwd qw(abs_path);

my $top = abs_path("$FindBin::Bin/..");
my $fuzz = "$top/fuzz";

# every fuzz_*.c, and the differential ones again without SSE2 (_word)
my @targets = sort split ' ', `make -s -C $fuzz list`;

if (!grep { /^fuzz_\w+_word$/ } @targets) {
    print "1..1\nnot ok 1 - make -C fuzz list names the targets\n";
    exit 1;
}

my $clang = `command -v clang-14 2>/dev/null`;
chomp $clang;

my @libfuzzer = glob('/usr/lib/llvm-14/lib/clang/*/lib/linux/'
                     . 'libclang_rt.fuzzer-*.a');

if (!$clang || !@libfuzzer) {
    print "1..0 # SKIP clang-14 or libFuzzer missing "
          . "(apt-get install clang-14 libclang-rt-14-dev)\n";
    exit 0;
}

print '1..', scalar(@targets) + 1, "\n";

my $out = `make -s -C $fuzz smoke 2>&1`;
my $rc = $? >> 8;

my $n = 0;

for my $t (@targets) {
    $n++;

    if ($out =~ /^\Q$t\E: ok \(([^)]*)\)$/m) {
        print "ok $n - $t smoke ($1)\n";

    } else {
        print "not ok $n - $t smoke\n";
    }
}

$n++;
print $rc == 0 ? "ok $n" : "not ok $n", " - make -C fuzz smoke exits 0\n";

if ($rc != 0) {
    print map { "# $_\n" } split /\n/, $out;
}
