#!/usr/bin/perl
# The Redis store across nodes: two nginx instances (own prefixes, ports
# and workers) on one redis-server.  A customer on node A and an agent on
# node B: the queue is shared, the call is relayed both ways with acks and
# growing seq, each party resumes on the other node (missed messages are
# replayed), and the hangup ends it on both.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed' unless Hotline::Redis::available();

my $r  = Hotline::Redis->new->start;
my $ta = Hotline::Test->new(http => $r->directive)->start;
my $tb = Hotline::Test->new(http => $r->directive)->start;

for my $t ($ta, $tb) {
    ok(Hotline::Redis->wait_store_up($t), 'node is up on redis');
    my $h = $t->health;
    is($h->{store}{backend}, 'redis', 'health: backend redis');
    is($h->{store}{status}, 'ok', 'health: store ok');
}

# --- the queue is shared: a customer on A, an agent on B
my $c = $ta->customer('Ayşe');
is($c->{position}{position}, 1, 'customer on A: position 1');
my $a = $tb->agent(sub => 'mehmet');
my @names = map { $_->{name} } @{ $a->{queue}{calls} };
is_deeply(\@names, ['Ayşe'], 'agent on B sees the customer of A');

my $c2 = $tb->customer('Second');
is($c2->{position}{position}, 2, 'customer on B: position 2 (one queue)');
my $q = $a->wait_for('queue', 5, sub { $_[0]{total} == 2 });
ok($q, 'agent on B is told of the new call') or diag(json_encode($a->{inbox}));

# --- accept across nodes
($c, $a) = $ta->call(customer => $c, agent => $a);
is($c->{accepted}{peer}{name}, 'mehmet', 'customer: accepted by mehmet');
is($c->{accepted}{peer}{role}, 'agent', 'customer: peer is the agent');
is($a->{accepted}{peer}{name}, 'Ayşe', 'agent: the customer\'s name (UTF-8)');
ok($c2->wait_for('position', 5, sub { $_[0]{position} == 1 }),
   'the customer on B moves up to 1');

my %seq = (c => $c->{accepted}{seq}, a => $a->{accepted}{seq});
my $n = 0;

sub relay_ok {
    my ($from, $to, $key, $msg, $name) = @_;
    my $id = 'm' . ++$n;
    $from->send_json({ %$msg, id => $id });
    ok($from->wait_for('ack', 5, sub { $_[0]{id} eq $id }),
       "$name: acked") or diag(json_encode($from->{inbox}));
    my $got = $to->wait_for($msg->{type}, 5);
    ok($got, "$name: relayed across nodes") or return;
    is($got->{seq}, $seq{$key} + 1, "$name: seq grows by one");
    $seq{$key} = $got->{seq};
    for my $k (grep { $_ ne 'type' } keys %$msg) {
        is_deeply($got->{$k}, $msg->{$k}, "$name: $k");
    }
    return $got;
}

my $sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
relay_ok($a, $c, 'c', { type => 'offer', sdp => $sdp }, 'offer B->A');
relay_ok($c, $a, 'a', { type => 'answer', sdp => $sdp }, 'answer A->B');
relay_ok($c, $a, 'a', { type => 'ice', candidate => {
    candidate => 'candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host',
    sdpMid => '0', sdpMLineIndex => 0 } }, 'ice A->B');
my $ch = relay_ok($a, $c, 'c', { type => 'chat', text => "merhaba \"q\" \\ \n" },
                  'chat B->A with escapes');
like($ch->{ts} // '', qr/^\d{13}$/, 'chat carries ts') if $ch;
relay_ok($c, $a, 'a', { type => 'media', audio => JSON::PP::false },
         'media A->B');

# many messages keep their order across nodes
for my $i (1 .. 50) {
    $a->send_json({ type => 'chat', text => "burst $i" });
}
my @got;
poll_until(10, sub {
    while (my $m = $c->wait_for('chat', 0.05)) { push @got, $m }
    @got >= 50;
});
is(scalar @got, 50, '50 chats relayed');
is_deeply([ map { $_->{text} } @got ], [ map { "burst $_" } 1 .. 50 ],
          'in order');
is_deeply([ map { $_->{seq} } @got ], [ $seq{c} + 1 .. $seq{c} + 50 ],
          'seq contiguous');
$seq{c} += 50;

# --- the customer drops and resumes on the other node
my $ctoken = $c->{token};
$c->drop;
my $call_id = $c->{call_id};
my $pr = $a->wait_for('peer', 5);
is($pr && $pr->{state}, 'reconnecting', 'agent told: customer reconnecting');
is($pr && $pr->{seq}, $seq{a} + 1, '... as a buffered message');
$seq{a}++;
$a->send_json({ type => 'chat', text => 'are you there?', id => 'miss' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'miss' }),
   'chat to a detached customer is buffered and acked');

my $cb = $tb->ws_connect('/ws/customer');
$cb->send_json({ type => 'resume', token => $ctoken, last_seq => $seq{c} });
my $w = $cb->wait_for('welcome', 5);
ok($w && $w->{resumed}, 'customer resumed on node B') or diag(json_encode($cb->{inbox}));
is($w && $w->{call_id}, $call_id, 'same call');
ok($w && !$w->{gap}, 'no gap');
my $missed = $cb->wait_for('chat', 5);
is($missed && $missed->{text}, 'are you there?', 'the missed chat is replayed');
is($missed && $missed->{seq}, $seq{c} + 1, '... with the next seq');
$seq{c}++;
my $back = $a->wait_for('peer', 5, sub { $_[0]{state} eq 'back' });
ok($back, 'agent told: customer back');
$seq{a} = $back->{seq} if $back;
$c = $cb;
relay_ok($c, $a, 'a', { type => 'chat', text => 'yes, from B' }, 'chat after resume');

# --- the agent drops and resumes on node A
my $atoken = $a->{token};
$a->drop;
my $pa = $c->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
ok($pa, 'customer told: agent reconnecting');
my $aa = $ta->ws_connect('/ws/agent', token => $ta->mint_jwt(sub => 'mehmet'));
my $wa = $aa->wait_for('welcome', 5);
ok($wa && $wa->{resumed}, 'the agent takes its session back on node A');
is($wa && $wa->{call_id}, $call_id, '... in the same call');
my $pb = $c->wait_for('peer', 5, sub { $_[0]{state} eq 'back' });
ok($pb, 'customer told: agent back');
is($pb && $pb->{seq}, $seq{c} + 2, 'reconnecting and back: two messages');
$seq{c} += 2;
$a = $aa;
relay_ok($a, $c, 'c', { type => 'chat', text => 'back on A' }, 'chat A->B');

# --- hangup from the agent ends it on both nodes
$a->send_json({ type => 'hangup', id => 'bye' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'bye' }), 'hangup acked');
my $ec = $c->wait_for('ended', 5);
my $ea = $a->wait_for('ended', 5);
is($ec && $ec->{reason}, 'hangup', 'customer: ended, hangup');
is($ec && $ec->{by}, 'agent', 'customer: by agent');
is($ea && $ea->{reason}, 'hangup', 'agent: ended too');
is($c->expect_close(5), 1000, 'customer closed with 1000');
ok(!$a->is_closed, 'the agent stays connected');

# the ended call's token is dead on both nodes
for my $t ($ta, $tb) {
    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $ctoken });
    my $e = $x->wait_for('error', 5);
    is($e && $e->{code}, 'expired', 'ended call: resume expired');
}

# the agent takes the next call, waiting on node B
my ($c3, $a3) = $tb->call(customer => $c2, agent => $a);
ok($c3->{accepted}, 'the next call is accepted');
# the gauges come from Redis with each worker's sweep (every 0.5 s)
ok(poll_until(5, sub { $tb->health->{calls}{active} == 1 }),
   'health on B: 1 active');
ok(poll_until(5, sub { $ta->health->{agents}{busy} == 1 }),
   'health on A: the agent is busy');

my $m = $ta->metrics;
is($m->{hotline_store_up}, 1, 'metrics: store up');
ok($m->{hotline_messages_relayed_total} > 0, 'metrics: relayed on A');

$c3->send_json({ type => 'hangup' });
ok($a3->wait_for('ended', 5), 'second call ended');

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
