#!/usr/bin/perl
# A full queue: hotline_queue_size (default 1000) waiting customers, the
# next one gets queue_full, an agent's snapshot lists the 200 oldest and the
# total, positions run 1..1000.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_encode poll_until);

(my $conf = $Hotline::Test::DEFAULT_CONF)
    =~ s/worker_connections 1024;/worker_connections 4096;/ or die;
# (the 1000 come from 127.0.0.1: no cap on one client's waiting calls)
my $t = Hotline::Test->new(conf => $conf,
                           http => 'hotline_queue_per_address off;')->start;

my $N = 1000;
my $t0 = time;
my @c;
my $bad = 0;
for my $i (1 .. $N) {
    # 64-byte names make the snapshot large (~130 KB)
    my $name = sprintf('%04d', $i) . ('n' x 60);
    # join i is sent once join i-1 was welcomed, so positions are known;
    # the position messages are collected afterwards
    my $ws = eval { $t->ws_connect('/ws/customer') };
    unless ($ws) { diag("customer $i: $@"); last }
    $ws->send_json({ type => 'join', name => $name });
    $ws->{welcome} = $ws->wait_for('welcome', 5) or last;
    $ws->{call_id} = $ws->{welcome}{call_id};
    push @c, $ws;
}
is(scalar @c, $N, "$N customers joined");
for my $i (0 .. $#c) {
    my $p = $c[$i]->wait_for('position', 5);
    $bad++ unless $p && $p->{position} == $i + 1;
}
is($bad, 0, 'each got the position it joined at');
note(sprintf('%d joins in %.1fs', $N, time - $t0));

my $x = $t->ws_connect('/ws/customer');
$x->send_json({ type => 'join', name => 'one too many', id => 'full' });
my $e = $x->wait_for('error', 5);
is($e && $e->{code}, 'queue_full', "customer $N + 1: queue_full");

my $a = $t->agent(sub => 'scale-agent');
# docs/protocol.md: calls lists at most the 200 oldest, total counts all
my $calls = $a->{queue}{calls};
is(scalar @$calls, 200, "the agent's snapshot lists the 200 oldest calls");
is_deeply([ map { $_->{call_id} } @$calls ],
          [ map { $_->{call_id} } @c[0 .. 199] ], 'oldest first');
is($a->{queue}{total}, $N, "total: $N");
my $h = $t->health;
is($h->{calls}{waiting}, $N, "health: $N waiting");
is($h->{connections}{customer}, $N + 1, 'health: customer connections');

# the head of the queue leaves: the last customer moves to N - 1
$a->send_json({ type => 'accept', id => 'acc' });
ok($a->wait_for('accepted', 5), 'agent accepts the oldest');
my $p = $c[-1]->wait_for('position', 10, sub { $_[0]{position} == $N - 1 });
ok($p, "the last customer moves to position " . ($N - 1));
$p = $c[1]->wait_for('position', 10, sub { $_[0]{position} == 1 });
ok($p, 'the second customer moves to position 1');

$t->stop;
done_testing;
