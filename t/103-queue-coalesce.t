#!/usr/bin/perl
# Positions at scale (issue 16): accepts in a burst, one after the other,
# move everybody in the queue, but a waiting customer is told its
# position at most once per hotline_position_interval (plus the first one
# and "you are next" at once), and every customer still ends with the
# right position and ETA.  With the interval 0 (each event-loop turn, the
# behaviour before) the same burst costs a message per accept per
# customer, and the test says so.  Both stores (HOTLINE_STORE=redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_encode);

my $N   = 200;                      # customers waiting
my $K   = 20;                       # accepts of the burst
my $AHT = 60;                       # average handle time, s
my $INTERVAL = $ENV{HOTLINE_POSITION_INTERVAL} // 1;

my $t = Hotline::Test->new(http => <<"EOF")->start;
    hotline_position_interval ${INTERVAL}s;
    hotline_average_handle_time ${AHT}s;
    hotline_queue_per_address off;
    hotline_message_rate off;
EOF

my @c = map { $t->customer("Q$_") } 1 .. $N;
# (no agent takes calls yet: no estimate)
my @bad = grep { $c[$_]{position}{position} != $_ + 1
                 || defined $c[$_]{position}{eta} } 0 .. $N - 1;
ok(!@bad, "$N customers: first positions 1..$N at join")
    or diag(json_encode($c[$bad[0]]{position}));

# what each customer was told, read from all sockets
my @last = map { $_->{position} } @c;
my @count = (0) x $N;
sub pump {
    for my $i (0 .. $N - 1) {
        my $c = $c[$i];
        $c->drain(0);
        for my $m ($c->take_all('position')) {
            $count[$i]++;
            $last[$i] = $m;
        }
    }
}

# the agents (after the customers: an agent's "queue" lists up to 200
# calls, and every join would send each one another); agents online
# change every ETA.  What they get is read as bytes, not decoded: a
# pure-Perl JSON decoder takes longer over their lists than the burst.
my @a = map { $t->agent(sub => "co$_") } 1 .. $K;
*raw_read = \&Hotline::Test::raw_read;
*raw_drain = \&Hotline::Test::raw_drain;
sub raw_wait {
    my ($ws, $needle, $timeout) = @_;
    my $deadline = time + $timeout;
    while (index($ws->{raw} // '', $needle) < 0) {
        return 0 if time >= $deadline;
        raw_read($ws, 0.05);
        pump();
    }
    return 1;
}
# the estimate at a position counts down from position * AHT / agents to
# what the calls ahead take at least
my $eta_ok = sub {
    my ($m, $pos) = @_;
    return defined $m->{eta} && $m->{eta} <= $pos * $AHT / $K
           && $m->{eta} >= ($pos - 1) * $AHT / $K;
};
ok(Hotline::Test::poll_until(10, sub {
    pump();
    raw_drain(@a);
    !grep { !$eta_ok->($last[$_], $_ + 1) } 0 .. $N - 1;
}), "the ETAs of $K agents online reach every customer");
@count = (0) x $N;

# the burst: each agent accepts the oldest call once the one before was
# accepted, so the accepts fall in many event-loop turns
my $t0 = time;
for my $k (0 .. $K - 1) {
    raw_drain(@a);
    $a[$k]->send_json({ type => 'accept', id => "b$k" });
    ok(raw_wait($a[$k], qq{"type":"accepted","call_id":"$c[$k]{call_id}"},
                10), "accept $k takes Q" . ($k + 1))
        or diag(substr($a[$k]{raw} // '', -300));
}
my $burst = time - $t0;

# everybody behind them moves up by K, with the ETA of the new position
my $settled = Hotline::Test::poll_until(10, sub {
    pump();
    raw_drain(@a);
    for my $i ($K .. $N - 1) {
        my $want = $i + 1 - $K;
        return 0 unless $last[$i]{position} == $want
                        && $eta_ok->($last[$i], $want);
    }
    1;
});
ok($settled, 'every waiting customer ends with its position and ETA')
    or diag(join ' ', map { "Q" . ($_ + 1) . "=$last[$_]{position}" }
                      grep { $last[$_]{position} != $_ + 1 - $K } $K .. $N - 1);
# the last of the held back positions is sent one interval after the one
# before it; whatever came meanwhile is read
pump();

# once per interval, whatever the burst's length (and the first one of
# the burst at once), plus the last interval's, plus one where the
# estimates' count down (every 5 s) fell in
my $allowed = 3 + int($burst / ($INTERVAL || 1e9));
my @over = grep { $count[$_] > $allowed } $K .. $N - 1;
ok(!@over, sprintf('burst of %d accepts in %.2f s: at most %d position '
                   . 'messages per customer', $K, $burst, $allowed))
    or diag(scalar(@over) . " customers got more, e.g. Q" . ($over[0] + 1)
            . ": $count[$over[0]]");
my $total = 0;
$total += $count[$_] for $K .. $N - 1;
cmp_ok($total / $K, '<=', $allowed * ($N - $K) / $K,
       'position messages per accept do not grow with every accept')
    or diag("$total position messages for $K accepts");
diag(sprintf('%d accepts in %.2f s, %d position messages (%.1f per accept)',
             $K, $burst, $total, $total / $K));

raw_drain(@a);
$t->stop;

# a long interval: who is held back and who is not.  After an accept the
# customer who becomes next is told at once, the one behind is not (its
# message would come in the same event-loop turn); a new customer gets
# its first position at once.
$t = Hotline::Test->new(http => <<"EOF")->start;
    hotline_position_interval 60s;
    hotline_queue_per_address off;
EOF
my $ag = $t->agent(sub => 'long');
my @w = map { $t->customer("W$_") } 1 .. 3;
$ag->send_json({ type => 'accept', id => 'w1' });
ok($ag->wait_for('accepted', 10), 'accept the oldest');
my $p1 = $w[1]->wait_for('position', 10, sub { $_[0]{position} == 1 });
ok($p1, 'the customer who is next is told position 1 at once');
$w[2]->drain(0.5);
ok(!$w[2]->take_all('position'), 'the one behind it is held back');
my $late = $t->customer('Late');
is($late->{position}{position}, 3, 'a new customer gets its first '
   . 'position at join');

$t->stop;
done_testing;
