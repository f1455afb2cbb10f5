#!/usr/bin/perl
# Hold and cold transfer.  Hold: both parties are told, the call and its
# relays go on, the time on hold is kept.  Transfer: the customer goes
# back into the queue at its place, held for the agent named (only that
# agent may take it) until it accepts, declines (reject), or
# hotline_transfer_timeout passes; then any agent may.  The agent that
# transferred is done with it; the one that takes it gets the
# conversation so far; the call keeps its id, its transcript and its
# record (transfers, hold).  On Redis the agent taking it is on another
# nginx node.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use Hotline::Test qw(json_decode json_encode poll_until);

my $conf = "hotline_transfer_timeout 5s;\nhotline_wrapup_time 60s;\n";
my $history = 'location = /history { hotline_history; }';
my ($ta, $tb);

if (($ENV{HOTLINE_STORE} // '') eq 'redis') {
    require Hotline::Redis;
    my $r = Hotline::Redis->new->start;
    $ta = Hotline::Test->new(http => $r->directive . $conf,
                             server => $history)->start;
    $tb = Hotline::Test->new(http => $r->directive . $conf)->start;
    Hotline::Redis->wait_store_up($_) for $ta, $tb;
} else {
    $ta = $tb = Hotline::Test->new(http => $conf, server => $history)->start;
}


my $alice = $ta->agent(sub => 'alice');
my $bob = $tb->agent(sub => 'bob');
my ($c, $x) = $ta->call(name => 'Ceren', agent => $alice);

# --- hold
my $r = $alice->request({ type => 'hold', on => JSON::PP::true });
is($r->{type}, 'ack', 'hold: acked');
ok($c->wait_for('hold', 5, sub { $_[0]{state} eq 'on' }),
   'the customer is told it is on hold');
ok($alice->wait_for('hold', 5, sub { $_[0]{state} eq 'on' }),
   'and the agent');
$r = $alice->request({ type => 'hold', on => JSON::PP::true });
is($r->{type}, 'ack', 'hold again: acked, nothing changes');
$c->send_json({ type => 'chat', text => 'hâlâ burada mısınız?', id => 'h1' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'h1' }),
   'on hold the call goes on: a chat is relayed')
    or diag(json_encode($c->{inbox}));
ok($alice->wait_for('chat', 5), 'the agent gets it');
$alice->send_json({ type => 'offer', sdp => 'v=0 held', id => 'o1' });
ok($c->wait_for('offer', 5), 'and media negotiation goes on');
my $t0 = Time::HiRes::time();
poll_until(1.2, sub { 0 });
$r = $alice->request({ type => 'hold', on => JSON::PP::false });
is($r->{type}, 'ack', 'back from hold: acked');
ok($c->wait_for('hold', 5, sub { $_[0]{state} eq 'off' }),
   'the customer is told the agent is back');
$r = $c->request({ type => 'hold', on => JSON::PP::true });
is($r->{code}, 'not_allowed', 'a customer puts nobody on hold');
$r = $bob->request({ type => 'hold', on => JSON::PP::true });
is($r->{code}, 'bad_state', 'an agent without a call: bad_state');
$r = $alice->request({ type => 'hold', on => 'yes' });
is($r->{field}, 'on', 'on must be a boolean');

# --- transfers that cannot be made
$r = $alice->request({ type => 'transfer', to => 'nobody', reason => 'x' });
is($r->{code}, 'agent_unavailable', 'to an agent who is not online: '
   . 'agent_unavailable');
$r = $alice->request({ type => 'transfer', to => 'alice' });
is($r->{code}, 'agent_unavailable', 'to itself: agent_unavailable');
$r = $bob->request({ type => 'presence', state => 'away' });
$r = $alice->request({ type => 'transfer', to => 'bob' });
is($r->{code}, 'agent_unavailable', 'to an agent who is away: '
   . 'agent_unavailable');
$r = $bob->request({ type => 'presence', state => 'available' });
$r = $alice->request({ type => 'transfer', to => 'bob',
                       reason => 'x' x 65 });
is($r->{field}, 'reason', 'a reason over 64 characters: bad_field');

# --- a cold transfer to bob
my $dave = $ta->agent(sub => 'dave');
$r = $alice->request({ type => 'transfer', to => 'bob',
                       reason => 'fatura sorusu' });
is($r->{type}, 'ack', 'alice transfers the call to bob');
my $out = $alice->wait_for('transfer', 5);
is($out && $out->{state}, 'out', 'alice is told the call went');
is($out && $out->{to}, 'bob', 'to bob');
ok($alice->wait_for('presence', 5, sub { $_[0]{state} eq 'wrapup' }),
   'alice is in wrap-up, done with it');
my $tw = $c->wait_for('transfer', 5);
is($tw && $tw->{state}, 'waiting', 'the customer waits for the transfer');
is($tw && $tw->{to}, 'bob', 'for bob');
is($tw && $tw->{reason}, 'fatura sorusu', 'and hears why');
ok($tw && $tw->{until} > Time::HiRes::time() * 1000, 'until when');
my $p = $c->wait_for('position', 5);
is($p && $p->{position}, 1, 'the customer is back in the queue, first');
my $q = $bob->wait_for('queue', 5, sub { @{ $_[0]{calls} } == 1
                                         && $_[0]{calls}[0]{transfer} });
my $item = $q && $q->{calls}[0];
is($item && $item->{call_id}, $c->{call_id}, 'bob sees the call');
is_deeply($item && $item->{transfer} && [ @{ $item->{transfer} }{qw(from to reason)} ],
          [ 'alice', 'bob', 'fatura sorusu' ], 'transferred from alice to him');

$r = $dave->request({ type => 'accept', call_id => $c->{call_id} });
is($r->{code}, 'taken', 'another agent cannot take it meanwhile: taken');
$r = $dave->request({ type => 'accept' });
is($r->{code}, 'not_found', 'nor as the next call: it is passed over');

$r = $bob->request({ type => 'accept', call_id => $c->{call_id} });
is($r->{type}, 'ack', 'bob takes it');
my $acc = $c->wait_for('accepted', 5);
is($acc && $acc->{peer}{name}, 'bob', 'the customer is with bob');
is($acc && $acc->{call_id}, $c->{call_id}, 'the same call');
my $tr = $bob->wait_for('transcript', 5);
ok($tr, 'bob gets the conversation so far');
my @kinds = map { $_->{type} } @{ $tr->{lines} || [] };
is_deeply(\@kinds, [qw(chat transfer)], 'the chat and the transfer');
is($tr && $tr->{lines}[1]{reason}, 'fatura sorusu', 'with its reason');
$bob->send_json({ type => 'chat', text => 'merhaba, ben Bob', id => 'b1' });
ok($c->wait_for('chat', 5, sub { $_[0]{text} eq 'merhaba, ben Bob' }),
   'bob and the customer talk');

# --- the call's record
$bob->send_json({ type => 'hangup' });
ok($c->wait_for('ended', 5), 'the call ends');
my $rec;
ok(poll_until(5, sub {
    my $res = $ta->http_get("/history?call_id=$c->{call_id}");
    $rec = $res->{status} == 200 && json_decode($res->{body})->{calls}[0];
}), 'the call is in the history');
is($rec && $rec->{agent}, 'bob', 'the agent who ended it');
is($rec && scalar @{ $rec->{transfers} || [] }, 1, 'one transfer');
is($rec && $rec->{transfers}[0]{from}, 'alice', 'from alice');
cmp_ok($rec && $rec->{hold}, '>=', 1, "time on hold ($rec->{hold} s)");
is($rec && scalar @{ $rec->{transcript} || [] }, 2, 'the whole transcript');

# --- declined: bob rejects it, anyone may take it, the call goes on
# (bob, in wrap-up after the call, is available again)
$bob->request({ type => 'presence', state => 'available' });
$alice->request({ type => 'presence', state => 'available' });
my $c2 = $ta->customer('Deniz');
($c2) = $ta->call(customer => $c2, agent => $alice);
$r = $alice->request({ type => 'transfer', to => 'bob' });
is($r->{type}, 'ack', 'another call to bob');
$c2->wait_for('transfer', 5, sub { $_[0]{state} eq 'waiting' });
$r = $bob->request({ type => 'reject', call_id => $c2->{call_id} });
is($r->{type}, 'ack', 'bob declines it');
my $open = $c2->wait_for('transfer', 5, sub { $_[0]{state} eq 'open' });
ok($open, 'the customer is told any agent may take it now');
ok(!$c2->wait_for('ended', 0.5), 'its call goes on');
$r = $dave->request({ type => 'accept' });
is($r->{type}, 'ack', 'dave takes it as the next call');
ok($c2->wait_for('accepted', 5, sub { $_[0]{peer}{name} eq 'dave' }),
   'the customer is with dave');

# --- not taken in time: anyone may
$alice->request({ type => 'presence', state => 'available' });
my $c3 = $ta->customer('Ela');
($c3) = $ta->call(customer => $c3, agent => $alice);
$r = $alice->request({ type => 'transfer', to => 'bob', reason => 'acil' });
is($r->{type}, 'ack', 'a third to bob');
my $t1 = Time::HiRes::time();
$open = $c3->wait_for('transfer', 9, sub { $_[0]{state} eq 'open' });
ok($open, sprintf('bob did not take it in time: open after %.1f s',
                  Time::HiRes::time() - $t1));
$q = $bob->wait_for('queue', 5, sub {
    my ($i) = grep { $_->{call_id} eq $c3->{call_id} } @{ $_[0]{calls} };
    $i && !exists $i->{transfer}{to} });
ok($q, 'the queue says it is held for nobody now');

# --- to anyone
$r = $dave->request({ type => 'hangup' });
$dave->request({ type => 'presence', state => 'available' });
$r = $dave->request({ type => 'accept', call_id => $c3->{call_id} });
is($r->{type}, 'ack', 'dave takes the third');
$r = $dave->request({ type => 'transfer', reason => 'başka birim' });
is($r->{type}, 'ack', 'and transfers it to anyone');
$tw = $c3->wait_for('transfer', 5, sub { $_[0]{state} eq 'waiting'
                                          && $_[0]{reason} eq 'başka birim' });
ok($tw && exists $tw->{to} && !defined $tw->{to},
   'the customer waits for any agent');
$r = $bob->request({ type => 'accept' });
is($r->{type}, 'ack', 'bob takes it as the next call');

$_->stop for grep { $_ } ($ta == $tb ? ($ta) : ($ta, $tb));
done_testing;
