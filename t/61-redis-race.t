#!/usr/bin/perl
# Races on the Redis store between two nginx nodes: two agents, one on each
# node, accept the same call at the same moment, 20 times: exactly one
# wins, the other is told "taken", the customer sees one agent.  Two agents
# take "the next call" at once: they get different calls.  Customers that
# join on both nodes at once get distinct queue positions 1..N.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed' unless Hotline::Redis::available();

my $r  = Hotline::Redis->new->start;
# (every customer comes from 127.0.0.1: no cap on one client's calls)
my $http = $r->directive . "\nhotline_queue_per_address off;";
my $ta = Hotline::Test->new(http => $http)->start;
my $tb = Hotline::Test->new(http => $http)->start;

for my $t ($ta, $tb) {
    ok(Hotline::Redis->wait_store_up($t), 'node is up on redis');
}

my $x = $ta->agent(sub => 'race-x');
my $y = $tb->agent(sub => 'race-y');
my %wins = (x => 0, y => 0);

# the answer to an accept: 'ack' or the error's code
sub outcome {
    my ($ws, $id) = @_;
    my $res;
    $ws->pump_until(5, sub {
        for my $i (0 .. $#{ $ws->{inbox} }) {
            my $m = $ws->{inbox}[$i];
            next unless ($m->{id} // '') eq $id;
            next unless $m->{type} eq 'ack' || $m->{type} eq 'error';
            splice @{ $ws->{inbox} }, $i, 1;
            $res = $m->{type} eq 'ack' ? 'ack' : $m->{code};
            return 1;
        }
        0;
    });
    return $res // 'none';
}

for my $round (1 .. 20) {
    my $node = $round % 2 ? $ta : $tb;
    my $c = $node->customer("Race $round");
    my $id = $c->{call_id};

    # both frames leave before either answer can arrive; who sends
    # first alternates
    my $msg = { type => 'accept', call_id => $id };
    my @order = ([ $x, "x$round" ], [ $y, "y$round" ]);
    @order = reverse @order if $round % 4 >= 2;
    $_->[0]->send_json({ %$msg, id => $_->[1] }) for @order;

    my $ox = outcome($x, "x$round");
    my $oy = outcome($y, "y$round");
    my @acks = grep { $_ eq 'ack' } $ox, $oy;
    is(scalar @acks, 1, "round $round: exactly one accept wins")
        or diag("x: $ox, y: $oy");
    my ($winner, $loser, $lo) = $ox eq 'ack' ? ($x, $y, $oy) : ($y, $x, $ox);
    is($lo, 'taken', "round $round: the other is told taken");
    $wins{ $winner == $x ? 'x' : 'y' }++;

    my $acc = $c->wait_for('accepted', 5);
    is($acc && $acc->{peer}{name}, $winner->{sub},
       "round $round: the customer sees the winner");
    ok($winner->wait_for('accepted', 5), "round $round: the winner is in the call");
    ok(!$c->wait_for('accepted', 0.2), "round $round: one accepted only");

    $winner->send_json({ type => 'hangup', id => "h$round" });
    is(outcome($winner, "h$round"), 'ack', "round $round: hangup");
    ok($c->wait_for('ended', 5), "round $round: ended");
    $winner->wait_for('ended', 5);
    $c->expect_close(5);
}
diag("wins: x=$wins{x} y=$wins{y}");

# --- two agents take "the next call" at once: different calls
{
    my $c1 = $ta->customer('Next 1');
    my $c2 = $tb->customer('Next 2');
    $x->send_json({ type => 'accept', id => 'nx' });
    $y->send_json({ type => 'accept', id => 'ny' });
    is(outcome($x, 'nx'), 'ack', 'agent x got a call');
    is(outcome($y, 'ny'), 'ack', 'agent y got a call');
    my $ax = $x->wait_for('accepted', 5);
    my $ay = $y->wait_for('accepted', 5);
    ok($ax && $ay && $ax->{call_id} ne $ay->{call_id}, 'different calls')
        or diag(json_encode([$ax, $ay]));
    is_deeply([ sort $ax->{call_id}, $ay->{call_id} ],
              [ sort $c1->{call_id}, $c2->{call_id} ], 'the two waiting calls');
    for my $w ($x, $y) {
        $w->send_json({ type => 'hangup' });
        $w->wait_for('ended', 5);
    }
}

# --- customers joining on both nodes at once get distinct positions
{
    my @ws;
    for my $i (1 .. 20) {
        my $t = $i % 2 ? $ta : $tb;
        push @ws, $t->ws_connect('/ws/customer');
    }
    $_->send_json({ type => 'join', name => "Crowd" }) for @ws;
    my %last;
    my $ok = poll_until(15, sub {
        for my $i (0 .. $#ws) {
            while (my $p = $ws[$i]->wait_for('position', 0.01)) {
                $last{$i} = $p->{position};
            }
        }
        my @p = sort { $a <=> $b } values %last;
        @p == 20 && "@p" eq join(' ', 1 .. 20);
    });
    ok($ok, 'positions 1..20, each given once')
        or diag(join ' ', sort { $a <=> $b } values %last);
    # (a loaded machine: the positions above may have taken most of 15 s)
    my $q = $x->wait_for('queue', 15, sub { $_[0]{total} == 20 });
    ok($q, 'the agent sees 20 waiting')
        or diag('agent connection: eof ' . ($x->{eof} // 0) . ', close '
                . ($x->{close_code} // '-'));
    my %ids = map { $_->{call_id} => 1 } @{ $q->{calls} || [] };
    is(scalar keys %ids, 20, '20 distinct calls');
    $_->send_json({ type => 'cancel' }) for @ws;
    ok(poll_until(10, sub { $ta->health->{calls}{waiting} == 0 }),
       'all cancelled');
}

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
