#!/usr/bin/perl
# Redis outages under two nginx nodes with calls in progress.
#
# 1. The connections drop but Redis keeps its data (CLIENT KILL): every
#    open WebSocket is told "unavailable" and stays open, the workers
#    reconnect by themselves and the call goes on where it was.
# 2. Redis is killed (SIGKILL) and comes back empty: health says degraded
#    (503), new handshakes get 503 on every worker, messages get
#    "unavailable", nothing crashes (the harness fails on [alert]/[crit] or
#    a worker crash); once Redis is back, health is ok again, every worker
#    of both nodes takes handshakes (not only the first to reconnect), the
#    sessions whose state was lost are told (expired, close 4004) and new
#    calls work across the nodes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);
use Hotline::Redis;
use Protocol::WebSocket::Frame;

plan skip_all => 'redis-server is not installed' unless Hotline::Redis::available();

my $r  = Hotline::Redis->new->start;
my $ta = Hotline::Test->new(http => $r->directive)->start;
my $tb = Hotline::Test->new(http => $r->directive)->start;

sub up_ok {
    my ($t, $what) = @_;
    ok(Hotline::Redis->wait_store_up($t), $what);
}

# how long the nodes took, for the record (docs/redis.md)
sub recovered {
    diag(sprintf 'every worker of node %s up %s ms after redis-server was '
                 . 'started', $_->[0], $r->recovery_ms($_->[1]) // '?')
        for [ A => $ta ], [ B => $tb ];
}

# a customer handshake on each worker of a node: its status per worker
sub handshakes {
    my ($t) = @_;
    my %st;
    for my $pid ($t->worker_pids) {
        my $hs = $t->handshake_raw(path => '/ws/customer',
                                   sock => $t->worker_socket($pid));
        $st{$pid} = $hs->{status};
        close $hs->{sock};
    }
    return \%st;
}

sub every_worker {
    my ($t, $status, $what) = @_;
    my $st = handshakes($t);
    is_deeply([ values %$st ], [ ($status) x 2 ], $what)
        or diag(json_encode($st));
}

up_ok($_, 'node is up on redis') for $ta, $tb;

my $c = $ta->customer('Outage');
my $a = $tb->agent(sub => 'outage-agent');
($c, $a) = $ta->call(customer => $c, agent => $a);
my $w = $tb->customer('Waiting');

# --- 1. the connections to Redis drop, the data stays
$r->cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
$r->cli('CLIENT', 'KILL', 'TYPE', 'normal');

for my $x ([ customer => $c ], [ agent => $a ], [ waiting => $w ]) {
    my $e = $x->[1]->wait_for('error', 10, sub { $_[0]{code} eq 'unavailable' });
    ok($e, "$x->[0] told: unavailable");
}
up_ok($_, 'the node reconnects by itself') for $ta, $tb;
ok(!$c->is_closed && !$a->is_closed, 'the call kept its connections');

$a->send_json({ type => 'chat', text => 'still here?', id => 'k1' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'k1' }), 'relay acked after the blip');
my $m = $c->wait_for('chat', 5);
is($m && $m->{text}, 'still here?', 'the call goes on after the blip');
$c->send_json({ type => 'chat', text => 'yes', id => 'k2' });
ok($a->wait_for('chat', 5, sub { $_[0]{text} eq 'yes' }), 'both ways');
ok($w->wait_for('position', 0.5) || 1, 'the waiting customer is still there');
is($ta->health->{calls}{waiting}, 1, 'the queue survived the blip');

# --- 2. Redis is killed, with messages in flight: each one is answered,
# with an ack or with "unavailable", none silently lost
$a->send_raw(join '', map {
    Protocol::WebSocket::Frame->new(
        buffer => Hotline::Test::json_encode(
            { type => 'chat', text => "burst $_", id => "f$_" }),
        type => 'text', masked => 1)->to_bytes } 1 .. 300);
$r->kill;
my %answer;
$a->pump_until(15, sub {
    for my $m (@{ $a->{inbox} }) {
        next unless ($m->{id} // '') =~ /^f\d+$/;
        $answer{ $m->{id} } //= $m->{type} eq 'ack' ? 'ack' : $m->{code};
    }
    keys %answer == 300;
});
is(scalar keys %answer, 300, 'every message in flight is answered');
ok(!(grep { $_ ne 'ack' && $_ ne 'unavailable' } values %answer),
   '... with an ack or "unavailable"')
    or diag(join ' ', sort values %answer);
$a->{inbox} = [ grep { ($_->{id} // '') !~ /^f\d+$/ } @{ $a->{inbox} } ];
diag(sprintf '%d acked, %d unavailable',
     scalar(grep { $_ eq 'ack' } values %answer),
     scalar(grep { $_ ne 'ack' } values %answer));

for my $x ([ customer => $c ], [ agent => $a ], [ waiting => $w ]) {
    my $e = $x->[1]->wait_for('error', 10, sub { $_[0]{code} eq 'unavailable' });
    ok($e, "$x->[0] told: unavailable");
    ok(!$x->[1]->is_closed, "$x->[0] stays connected");
}

for my $t ($ta, $tb) {
    ok(Hotline::Redis->wait_store_down($t),
       'health: 503, store down on every worker');
    my $h = $t->http_get('/health');
    my $j = eval { Hotline::Test::json_decode($h->{body}) } || {};
    is($j->{status}, 'degraded', 'health: degraded');
    my @w = @{ $j->{store}{workers} || [] };
    is(scalar @w, 2, 'health: both workers listed');
    ok(!(grep { $_->{status} eq 'up' } @w), '... none of them up')
        or diag($h->{body});
    my $mt = $t->metrics;
    is($mt->{hotline_store_up}, 0, 'metrics: hotline_store_up 0');
    is($mt->{'hotline_store_workers{state="up"}'}, 0,
       'metrics: no worker up');
    every_worker($t, 503, 'a new handshake on every worker: 503');
}

my $hs = $ta->handshake_raw(path => '/ws/customer');
is($hs->{status}, 503, 'a new customer handshake: 503');
my $hj = eval { Hotline::Test::json_decode($hs->{body} // '') } || {};
is($hj->{error}, 'unavailable', '... with the JSON error unavailable');
my $hsb = $ta->handshake_raw(path => '/ws/agent',
    headers => [ Authorization => 'Bearer ' . $ta->mint_jwt(sub => 'late') ]);
is($hsb->{status}, 503, 'a new agent handshake: 503');

$c->send_json({ type => 'chat', text => 'hello?', id => 'o1' });
my $oe = $c->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'o1' });
is($oe && $oe->{code}, 'unavailable', 'a message during the outage: unavailable, with its id');
ok(!$c->is_closed, '... and the connection stays open');
$a->send_json({ type => 'hangup', id => 'o2' });
my $he = $a->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'o2' });
is($he && $he->{code}, 'unavailable', 'hangup during the outage: unavailable');

for my $t ($ta, $tb) {
    like($t->error_log, qr/\[error\].*redis store .* is unavailable/,
         'the outage is logged at [error]');
}

# --- Redis comes back, empty
$r->start;
up_ok($_, 'health is ok again once Redis is back') for $ta, $tb;
recovered();
for my $t ($ta, $tb) {
    my $hj = $t->health;
    is($hj->{store}{status}, 'ok', 'store ok');
    is(scalar(grep { $_->{status} eq 'up' } @{ $hj->{store}{workers} }), 2,
       'both workers up');
    my $mt = $t->metrics;
    is($mt->{hotline_store_up}, 1, 'metrics: hotline_store_up 1');
    is($mt->{'hotline_store_workers{state="up"}'}, 2, 'metrics: 2 workers up');
    every_worker($t, 101, 'every worker takes a new handshake again');
}

for my $x ([ customer => $c ], [ agent => $a ], [ waiting => $w ]) {
    my $e = $x->[1]->wait_for('error', 10, sub { $_[0]{code} eq 'expired' });
    ok($e, "$x->[0]: its lost session is reported expired");
    is($x->[1]->expect_close(10), 4004, "$x->[0]: closed with 4004");
}

# new calls work across the nodes
my $c2 = $tb->customer('After');
is($c2->{position}{position}, 1, 'a new customer joins (position 1)');
my $a2 = $ta->agent(sub => 'outage-agent');
ok(!$a2->{welcome}{resumed}, 'the agent starts a fresh session');
($c2, $a2) = $tb->call(customer => $c2, agent => $a2);
$c2->send_json({ type => 'chat', text => 'recovered', id => 'n1' });
ok($c2->wait_for('ack', 5, sub { $_[0]{id} eq 'n1' }), 'relay acked after recovery');
my $rm = $a2->wait_for('chat', 5);
is($rm && $rm->{text}, 'recovered', 'relay works after recovery');
$a2->send_json({ type => 'hangup' });
my $e2 = $c2->wait_for('ended', 5);
is($e2 && $e2->{reason}, 'hangup', 'hangup after recovery');

# a second outage while idle, and back
$r->kill;
ok(Hotline::Redis->wait_store_down($_), 'second outage seen') for $ta, $tb;
$r->start;
up_ok($_, 'second recovery') for $ta, $tb;
recovered();
every_worker($_, 101, 'every worker serves after the second recovery')
    for $ta, $tb;
my $c3 = $ta->customer('Third');
ok($c3->{welcome}, 'joins after the second recovery');

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
