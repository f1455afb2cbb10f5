#!/usr/bin/perl
# ETA = position * average handling time / agents who take calls (online
# and not away), less the time waited at that position (but never less
# than what the calls ahead take), the average an EWMA (weight 1/8) of
# ended calls' durations starting at hotline_average_handle_time; unknown
# (null) when no agent takes calls.  The rounding of eta to whole seconds
# is not specified: any of floor/round/ceil of the exact value passes, and
# the count down lets an estimate be up to 2 s under its bound.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX qw(floor ceil);
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new(http => 'hotline_average_handle_time 80s;')->start;

sub eta_ok {
    my ($p, $lo, $hi, $name) = @_;
    my $e = $p ? $p->{eta} : undef;
    ok(defined $e && $e >= floor($lo) - 2 && $e <= ceil($hi),
       "$name: eta in [" . (floor($lo) - 2) . ', ' . ceil($hi) . ']')
        or diag('got ' . json_encode($p));
}

my $c = $t->customer('First');
my $w1 = $t->customer('Second');
my $w2 = $t->customer('Third');
for ([$c, 1], [$w1, 2], [$w2, 3]) {
    my ($who, $pos) = @$_;
    ok(exists $who->{position}{eta} && !defined $who->{position}{eta},
       "position $pos, no agent: eta unknown (null)");
}

my $a = $t->agent(sub => 'eta-agent');
my $p = $w2->wait_for('position', 5, sub { defined $_[0]{eta} });
eta_ok($p, 240, 240, 'an agent online: Third at position 3: 3 * 80');

$t->call(customer => $c, agent => $a);
$p = $w1->wait_for('position', 5, sub { $_[0]{position} == 1 });
eta_ok($p, 80, 80, 'Second at position 1: eta 80');

# the first call ends: average = 80 * 7/8 + d/8, d < duration + 1
$a->send_json({ type => 'hangup' });
my $e = $c->wait_for('ended', 5);
my $d1 = $e ? $e->{duration} : 0;
cmp_ok($d1, '<=', 3, "short call (duration $d1)");
my ($lo1, $hi1) = (70, 70 + ($d1 + 1) / 8);
$p = $w1->wait_for('position', 5, sub { $_[0]{eta} < 75 });
eta_ok($p, $lo1, $hi1, 'after one short call the average is ~70 (EWMA 1/8)');
$p = $w2->wait_for('position', 5, sub { $_[0]{eta} < 150 && $_[0]{position} == 2 });
eta_ok($p, 2 * $lo1, 2 * $hi1, 'Third at position 2: 2 * ~70');

# second call: avg * 7/8 + d/8
$t->call(customer => $w1, agent => $a);
$a->send_json({ type => 'hangup' });
$e = $w1->wait_for('ended', 5);
my $d2 = $e ? $e->{duration} : 0;
my ($lo2, $hi2) = ($lo1 * 7 / 8, $hi1 * 7 / 8 + ($d2 + 1) / 8);
$p = $w2->wait_for('position', 5, sub { $_[0]{position} == 1 && $_[0]{eta} < 66 });
eta_ok($p, $lo2, $hi2, 'after a second short call: ~61.25');

# two agents online halve it
my $a2 = $t->agent(sub => 'eta-agent-2');
$p = $w2->wait_for('position', 5, sub { $_[0]{eta} < floor($lo2) - 2 });
eta_ok($p, $lo2 / 2, $hi2 / 2, 'two agents online halve the eta');

$t->stop;

# An estimate that stays unknown is not told again (a fresh node: no
# agent).  A fourth customer joins behind three: the queue changed, and
# each worker reads its head and looks at its waiting customers again.
# Their positions and unknown estimates are what they were told, so
# nothing is sent (a session keeps the estimate told in 32 bits: the
# unknown one must compare as unchanged).
$t = Hotline::Test->new(http => 'hotline_average_handle_time 80s;')->start;
my @ahead = map { $t->customer("Ahead $_") } 1 .. 3;
my $w4 = $t->customer('Fourth');
ok($w4->{position} && $w4->{position}{position} == 4
   && !defined $w4->{position}{eta}, 'Fourth at position 4, eta unknown');
my @again;
for my $who (@ahead) {
    my $m = $who->wait_for('position', 1.5);
    push @again, $m if $m;
}
ok(!@again, 'no second position for the three ahead: nothing changed')
    or diag(json_encode(\@again));

$t->stop;
done_testing;
