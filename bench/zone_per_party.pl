#!/usr/bin/perl
# Zone memory per party on the embedded store (docs/directives.md,
# hotline_zone; issue 15): how many bytes of hotline_zone each call in
# progress takes, once its parties have talked and read what they got.
#
# Starts nginx (the test harness, t/lib) with hotline_ping_interval PING,
# then CALLS calls one after the other; in each the customer and the
# agent send CHATS chats of BYTES characters to each other and read them.
# After every STEP calls it waits one ping interval and more (the pongs
# let go of what was read) and reports the zone's pages in use.  Prints
# "calls used_kib per_call_kib" lines and the slope at the end.
#
#   perl bench/zone_per_party.pl                       (after make)
#   CALLS=300 CHATS=40 BYTES=1500 perl bench/zone_per_party.pl
#   HOTLINE_MODULE=/path/to/other.so perl bench/zone_per_party.pl
#
# Everything it starts is stopped on exit; every wait is bounded.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Time::HiRes qw(time sleep);
use Hotline::Test;

my $CALLS = $ENV{CALLS} // 200;
my $CHATS = $ENV{CHATS} // 40;
my $BYTES = $ENV{BYTES} // 1500;
my $STEP  = $ENV{STEP}  // 50;
my $PING  = $ENV{PING}  // 1;     # seconds, at least 1

(my $conf = $Hotline::Test::DEFAULT_CONF)
    =~ s/worker_connections 1024/worker_connections 4096/;
my $t = Hotline::Test->new(conf => $conf,
                           http => "hotline_ping_interval ${PING}s;")->start;

sub used { $t->health->{store}{used} }

sub settle {
    # a ping interval and a half, everyone reading (and so answering)
    my ($all) = @_;
    my $until = time + 1.5 * $PING + 0.5;
    while (time < $until) {
        $_->drain(0) for @$all;
        sleep 0.05;
    }
}

my $base = used();
printf "%6s %10s %12s\n", 'calls', 'used_kib', 'per_call_kib';
printf "%6d %10.0f %12s\n", 0, $base / 1024, '-';

my (@all, @rows);
my $text = 'x' x $BYTES;
for my $i (1 .. $CALLS) {
    my ($c, $a) = $t->call(name => "Bench $i", sub => "bench$i");
    push @all, $c, $a;
    for my $j (1 .. $CHATS) {
        $c->send_json({ type => 'chat', text => "$j $text" });
        $a->send_json({ type => 'chat', text => "$j $text" });
        $a->wait_for('chat', 5) or die "agent $i: chat $j not delivered";
        $c->wait_for('chat', 5) or die "customer $i: chat $j not delivered";
        $a->take_all('ack');
        $c->take_all('ack');
    }
    $a->{inbox} = [];
    $c->{inbox} = [];
    # every party reads (and answers pings) as a browser would
    $_->drain(0) for @all;
    next if $i % $STEP;
    settle(\@all);
    my $u = used();
    push @rows, [ $i, $u ];
    printf "%6d %10.0f %12.1f\n", $i, $u / 1024, ($u - $base) / 1024 / $i;
}

if (@rows >= 2) {
    my ($x0, $y0) = @{ $rows[0] };
    my ($x1, $y1) = @{ $rows[-1] };
    printf "slope: %.1f KiB per call in progress (two parties), "
           . "%d chats of %d bytes each way\n",
           ($y1 - $y0) / 1024 / ($x1 - $x0), $CHATS, $BYTES;
}

$_->drop for @all;
$t->stop;
Test::More::done_testing();
