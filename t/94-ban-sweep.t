#!/usr/bin/perl
# A ban removes every call and session of the banned client, not only the
# call it names: the client's other waiting calls end with the outcome
# `banned` (connected ones are closed with 4005; one whose connection is
# gone leaves the queue and can be neither resumed nor accepted), its call
# in progress with another agent is hung up at once and its connection
# closed with 4005, and a connection of it that has not joined yet is
# closed too; on every worker (reuseport) and, on Redis, through the
# store's broadcast.  An IPv6 client is its /64.  Other clients stay.  On
# both stores.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);

my $t = Hotline::Test->new(
    http => "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n",
    server => "location = /history { hotline_history; }\n",
    listen => 'reuseport')->start;
note('store: ' . $t->store);

sub from { (headers => [ 'X-Forwarded-For' => $_[0] ]) }

sub queue_ids {
    my ($q) = @_;
    return join ' ', sort map { $_->{call_id} } @{ $q->{calls} || [] };
}

my $bob = $t->agent(sub => 'bob');
my $carol = $t->agent(sub => 'carol');

# the banned client: four waiting calls (one of them no longer connected),
# one in a call with bob, one connection that has not joined yet
my @w = map { $t->customer("Waiting $_", from('10.94.0.1')) } 1 .. 4;
my $gone = pop @w;
$gone->drop;
my $talking = $t->customer('Talking', from('10.94.0.1'));
$t->call(customer => $talking, agent => $bob);
my $idle = $t->ws_connect('/ws/customer', from('10.94.0.1'));

# another client, waiting
my $other = $t->customer('Other', from('10.94.0.2'));

my $alice = $t->agent(sub => 'alice');
$alice->send_json({ type => 'ban', call_id => $w[0]{call_id}, id => 'b1' });
ok($alice->wait_for('ack', 5, sub { $_[0]{id} eq 'b1' }), 'alice bans one');

# (the waiting ones hear `ended` first, or are closed first by their own
# worker, which the broadcast reached before the agent's sweep did)
for my $i (0 .. $#w) {
    is($w[$i]->expect_close(10), 4005,
       "waiting call $i of the client: closed with 4005");
}

my $pe = $bob->wait_for('ended', 10);
ok($pe, 'bob\'s call with the client ends at once')
    or diag(json_encode($bob->{inbox}));
is($talking->expect_close(10), 4005, 'the client in the call: closed 4005');
is($idle->expect_close(10), 4005, 'the connection that had not joined: 4005');

# the queue holds only the other client now, for every agent
my $want = $other->{call_id};
for my $a ($alice, $carol) {
    ok($a->wait_for('queue', 10, sub { queue_ids($_[0]) eq $want }),
       "$a->{sub}: the queue holds only the other client")
        or diag(json_encode($a->{inbox}));
}

# the call whose connection was gone: not accepted, not resumed
$carol->send_json({ type => 'accept', call_id => $gone->{call_id},
                    id => 'a1' });
my $e = $carol->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'a1' });
is($e && $e->{code}, 'not_found', 'the gone one cannot be accepted');
my $back = $t->ws_connect('/ws/customer', from('10.94.9.9'));
$back->send_json({ type => 'resume', token => $gone->{token}, last_seq => 0 });
$e = $back->wait_for('error', 5);
is($e && $e->{code}, 'expired', 'nor resumed, from anywhere');

ok(!$other->is_closed, 'the other client stays');
ok($other->wait_for('position', 5, sub { $_[0]{position} == 1 }),
   'and moves up');
like($t->error_log, qr/banned call_id=\w+ of the same client too/,
     'the log names the other calls');

# the outcomes: every waiting call of the client banned, the call in
# progress hung up by the client (as it was: at once)
my %outcome;
ok(poll_until(10, sub {
    my $r = $t->http_get('/history?limit=50');
    my $h = eval { Hotline::Test::json_decode($r->{body}) } || {};
    %outcome = map { $_->{call_id} => $_->{outcome} } @{ $h->{calls} || [] };
    5 == grep { $outcome{$_} } map { $_->{call_id} } @w, $gone, $talking;
}), 'the history has the six calls') or diag(json_encode(\%outcome));
is_deeply([ map { $outcome{ $_->{call_id} } // '' } @w, $gone ],
          [ ('banned') x 4 ], 'every waiting call of the client: banned');
is($outcome{ $talking->{call_id} }, 'hangup', 'the call in progress: ended');

# IPv6: the /64 is the client
my $v1 = $t->customer('V1', from('2001:db8:94:1::5'));
my $v2 = $t->customer('V2', from('2001:db8:94:1:ffff::6'));
my $v3 = $t->customer('V3', from('2001:db8:94:2::6'));
$alice->send_json({ type => 'ban', call_id => $v1->{call_id}, id => 'b2' });
ok($alice->wait_for('ack', 5, sub { $_[0]{id} eq 'b2' }), 'an IPv6 ban');
is($v2->expect_close(10), 4005, 'another address of the /64: closed too');
ok(poll_until(10, sub {
    my $r = $t->http_get('/history?outcome=banned&limit=50');
    $r->{body} =~ /\Q$v2->{call_id}\E/;
}), 'and its call banned');
ok(!$v3->is_closed && $v3->wait_for('position', 5),
   'another /64 stays');

$t->stop;
done_testing;
