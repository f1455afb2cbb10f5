#!/usr/bin/perl
# The customer page outside the opening hours, in a real browser
# (t/e2e/hours.test.mjs): hotline_hours (UTC) opens in two hours, for an
# hour every day; the page says it is closed and when it opens (in the
# visitor's time zone), allows no call, and takes a message instead.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use POSIX qw(strftime);
use HotlineE2E;

my $opens = (int(time() / 60) + 120) * 60;
my $hours = strftime('%H:%M', gmtime $opens) . '-'
          . strftime('%H:%M', gmtime($opens + 3600));
$ENV{HOTLINE_OPENS} = $opens * 1000;

HotlineE2E::run('hours.test.mjs', http => "hotline_hours UTC * $hours;\n");
