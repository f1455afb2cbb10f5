#!/usr/bin/perl

# Builds one unit test binary of t/unit (make is a no-op when it is up to
# date) and runs it in place of this process, so prove reads its TAP.
#
#     perl t/unit/run.pl test_ws_frame

use strict;
use warnings;

use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $name = shift or die "usage: $0 test_<unit>\n";
my $unit = dirname(abs_path(__FILE__));
my $top = abs_path("$unit/../..");
my $bin = ($ENV{BUILD} // "$top/build") . "/unit/$name";

if (system('make', '-s', '-C', $unit, $bin) != 0) {
    print "1..1\nnot ok 1 - build $bin (make -C t/unit)\n";
    exit 1;
}

exec($bin) or do {
    print "1..1\nnot ok 1 - exec $bin: $!\n";
    exit 1;
};
