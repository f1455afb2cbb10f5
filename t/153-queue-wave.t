#!/usr/bin/perl
# A queue longer than its head (issue 16, queue at scale): the customers
# behind the first 200 are told their positions by a wave that writes a
# bounded batch per event-loop turn, from a copy of the last whole read.
# After several accepts every one of them still ends with its exact
# position, the one who becomes next is told at once, and the estimates'
# count down (every 5 s, from the positions told, without a whole read)
# reaches the last customer too.  Both stores (HOTLINE_STORE=redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $N   = 900;                      # customers waiting: 700 behind the head
my $K   = 5;                        # agents, each accepts one call
my $AHT = 60;                       # average handle time, s

my $t = Hotline::Test->new(http => <<"EOF")->start;
    hotline_position_interval 1s;
    hotline_average_handle_time ${AHT}s;
    hotline_queue_per_address off;
    hotline_message_rate off;
EOF

my @c = map { $t->customer("V$_") } 1 .. $N;
my @bad = grep { $c[$_]{position}{position} != $_ + 1 } 0 .. $N - 1;
ok(!@bad, "$N customers: first positions 1..$N at join")
    or diag(json_encode($c[$bad[0]]{position}));

# the last position message each customer got
my @last = map { $_->{position} } @c;
sub pump {
    for my $i (0 .. $N - 1) {
        $c[$i]->drain(0);
        for my $m ($c[$i]->take_all('position')) {
            $last[$i] = $m;
        }
    }
}

# agents online (after the customers: every join would send each one its
# list); what they get is read as bytes and forgotten, except what a
# test waits for
my @a = map { $t->agent(sub => "wave$_") } 1 .. $K;
*raw_read = \&Hotline::Test::raw_read;
*raw_drain = \&Hotline::Test::raw_drain;

# every customer knows the agents are there: an estimate at its position
ok(Hotline::Test::poll_until(20, sub {
    pump();
    raw_drain(@a);
    !grep { !defined $last[$_]{eta} || $last[$_]{position} != $_ + 1 }
        0 .. $N - 1;
}), "the estimates of $K agents online reach all $N customers");

# the accepts, one after the other (many event-loop turns, and each one
# a snapshot that comes while a wave of the one before may still run)
for my $k (0 .. $K - 1) {
    raw_drain(@a);
    $a[$k]->send_json({ type => 'accept', id => "w$k" });
    my $deadline = time + 10;
    my $want = qq{"type":"accepted","call_id":"$c[$k]{call_id}"};
    while (index($a[$k]{raw} // '', $want) < 0 && time < $deadline) {
        raw_read($a[$k], 0.05);
        pump();
    }
    ok(index($a[$k]{raw} // '', $want) >= 0,
       "accept $k takes V" . ($k + 1));
}

# the one who became next: position 1 without waiting for the interval
ok($c[$K]->wait_for('position', 5, sub { $_[0]{position} == 1 })
   || $last[$K]{position} == 1, 'the customer who is next is told 1');
$last[$K] = { position => 1, eta => 0 } if $last[$K]{position} != 1;

# everybody behind them, far behind the head too, moves up by K
my $settled = Hotline::Test::poll_until(20, sub {
    pump();
    raw_drain(@a);
    !grep { $last[$_]{position} != $_ + 1 - $K } $K .. $N - 1;
});
ok($settled, 'every waiting customer ends with its exact position')
    or diag(join ' ', map { "V" . ($_ + 1) . "=$last[$_]{position}" }
                      grep { $last[$_]{position} != $_ + 1 - $K }
                      $K .. $N - 1);

# the count down: the last customer's estimate goes down while nothing
# moves (a wave from the positions told, every 5 s)
my $tail = $N - 1;
my $eta0 = $last[$tail]{eta};
ok(Hotline::Test::poll_until(15, sub {
    pump();
    raw_drain(@a);
    $last[$tail]{position} == $N - $K && $last[$tail]{eta} < $eta0;
}), "the last customer's estimate counts down ($eta0 s)")
    or diag(json_encode($last[$tail]));
is($last[$tail]{position}, $N - $K, 'at the same position');

raw_drain(@a);
$t->stop;
done_testing;
