#!/usr/bin/perl
# Queue and call model: positions and ETA, agents' queue snapshots,
# accept (specific / next), reject, cancel, hangup, races between agents,
# roles, and parties trying to reach a call that is not theirs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $AHT = 60;
my $t = Hotline::Test->new(http => "hotline_average_handle_time ${AHT}s;")
                     ->start;

sub names { [ map { $_->{name} } @{ $_[0]{calls} } ] }

sub queue_is {
    my ($a, $want, $name) = @_;
    my $q = $a->wait_for('queue', 5, sub { "@{ names($_[0]) }" eq "@$want" });
    ok($q, $name) or diag('queue messages: ' . json_encode($a->{inbox}));
    return $q;
}

# $eta: a number, or [lo, hi] (the estimate counts down while a customer
# waits at a position, to what the calls ahead take at least)
sub position_is {
    my ($c, $pos, $eta, $name) = @_;
    my ($lo, $hi) = ref $eta ? @$eta : ($eta, $eta);
    my $p = $c->wait_for('position', 5, sub {
        $_[0]{position} == $pos
        && (!defined $eta || (defined $_[0]{eta} && $_[0]{eta} >= $lo
                              && $_[0]{eta} <= $hi)) });
    ok($p, $name) or diag("$c->{name}: " . json_encode($c->{inbox}));
    return $p;
}

sub error_is {
    my ($ws, $code, $id, $name) = @_;
    my $e = $ws->wait_for('error', 5, sub { ($_[0]{id} // '') eq $id });
    ok($e, "$name: error") or return;
    ok((ref $code ? (grep { $e->{code} eq $_ } @$code) : $e->{code} eq $code),
       "$name: code " . (ref $code ? join('|', @$code) : $code))
        or diag("got $e->{code}: $e->{message}");
    return $e;
}

sub ended_is {
    my ($ws, $reason, $by, $name) = @_;
    my $e = $ws->wait_for('ended', 5);
    ok($e, "$name: ended") or return;
    is($e->{reason}, $reason, "$name: reason $reason");
    is($e->{by}, $by, "$name: by $by") if defined $by;
    like($e->{duration} // '', qr/^\d+$/, "$name: duration is an integer");
    like($e->{seq} // '', qr/^\d+$/, "$name: ended carries seq");
    return $e;
}

# --- four customers, no agent: positions 1..4, the estimate is unknown
my @c = map { $t->customer("Cust$_") } 1 .. 4;
for my $i (0 .. 3) {
    my $p = $c[$i]{position};
    is($p->{position}, $i + 1, "Cust" . ($i + 1) . " at position " . ($i + 1));
    is($p->{call_id}, $c[$i]{call_id}, "position carries the call_id");
    ok(exists $p->{eta} && !defined $p->{eta},
       'no agent online: eta is null (unknown)');
    is($p->{agents}, 0, 'no agent takes calls');
}
my %ids;
$ids{ $_->{call_id} }++ for @c;
is(scalar keys %ids, 4, 'call ids are distinct');
my %tok;
$tok{ $_->{token} }++ for @c;
is(scalar keys %tok, 4, 'resume tokens are distinct');
isnt($c[0]{token}, $c[0]{call_id}, 'resume token is not the call id');

# --- an agent sees the queue, oldest first
my $a1 = $t->agent(sub => 'alice');
is_deeply(names($a1->{queue}), [ map { "Cust$_" } 1 .. 4 ],
          'agent snapshot lists the calls oldest first');
is_deeply([ map { $_->{call_id} } @{ $a1->{queue}{calls} } ],
          [ map { $_->{call_id} } @c ], 'snapshot call ids');
ok(!(grep { !defined $_->{waiting} || $_->{waiting} !~ /^\d+$/ }
     @{ $a1->{queue}{calls} }), 'waiting is a whole number of seconds');
is($a1->{queue}{agents}{online}, 1, 'agents online 1');
is($a1->{queue}{agents}{busy}, 0, 'agents busy 0');

# --- Cust2 cancels: later customers move up, agents see it
$c[1]->send_json({ type => 'cancel', id => 'c1' });
ok($c[1]->wait_for('ack', 5, sub { $_[0]{id} eq 'c1' }), 'cancel with id acked');
my $ce1 = ended_is($c[1], 'cancelled', undef, 'cancel');
is($ce1 && $ce1->{duration}, 0, 'a cancelled call never connected: duration 0');
is($c[1]->expect_close(5), 1000, 'cancelled customer closed with 1000');
position_is($c[2], 2, undef, 'Cust3 moves to position 2');
position_is($c[3], 3, undef, 'Cust4 moves to position 3');
queue_is($a1, [qw(Cust1 Cust3 Cust4)], 'agent queue drops the cancelled call');

# --- a second agent halves the ETA
my $a2 = $t->agent(sub => 'bob');
is($a2->{queue}{agents}{online}, 2, 'two agents online');
position_is($c[0], 1, [$AHT / 2 - 10, $AHT / 2],
            'Cust1 eta halves with two agents');
position_is($c[3], 3, [2 * $AHT / 2, 3 * $AHT / 2],
            'Cust4 eta halves with two agents');

# --- role checks
$c[0]->send_json({ type => 'accept', id => 'x1' });
error_is($c[0], 'not_allowed', 'x1', 'customer sends accept');
$c[0]->send_json({ type => 'reject', call_id => $c[0]{call_id}, id => 'x2' });
error_is($c[0], 'not_allowed', 'x2', 'customer sends reject');
$a1->send_json({ type => 'join', name => 'agent', id => 'x3' });
error_is($a1, 'not_allowed', 'x3', 'agent sends join');
$a1->send_json({ type => 'cancel', id => 'x4' });
error_is($a1, 'not_allowed', 'x4', 'agent sends cancel');
$a1->send_json({ type => 'reject', id => 'x5' });
my $e = error_is($a1, 'bad_field', 'x5', 'reject without call_id');
is($e->{field}, 'call_id', 'reject without call_id: field call_id') if $e;
$a1->send_json({ type => 'accept', call_id => '0' x 32, id => 'x6' });
error_is($a1, 'not_found', 'x6', 'accept of an unknown call');
$a1->send_json({ type => 'reject', call_id => '0' x 32, id => 'x7' });
error_is($a1, 'not_found', 'x7', 'reject of an unknown call');
$c[0]->send_json({ type => 'join', name => 'again', id => 'x8' });
error_is($c[0], 'bad_state', 'x8', 'join twice');
ok(!$c[0]->is_closed && !$a1->is_closed, 'errors do not disconnect');

# --- accept next: the oldest call (Cust1)
$a1->send_json({ type => 'accept', id => 'n1' });
ok($a1->wait_for('ack', 5, sub { $_[0]{id} eq 'n1' }), 'accept next acked');
my $acc = $a1->wait_for('accepted', 5);
ok($acc, 'agent gets accepted');
is($acc->{call_id}, $c[0]{call_id}, 'accept next takes the oldest call');
is_deeply($acc->{peer}, { role => 'customer', name => 'Cust1' },
          'agent learns the customer');
my $cacc = $c[0]->wait_for('accepted', 5);
ok($cacc, 'customer gets accepted');
is_deeply($cacc->{peer}, { role => 'agent', name => 'alice' },
          'customer learns the agent (sub)');
is($cacc->{call_id}, $c[0]{call_id}, 'customer accepted carries its call id');
like($cacc->{seq} // '', qr/^\d+$/, 'accepted carries seq');
position_is($c[2], 1, undef, 'Cust3 moves to position 1');
position_is($c[3], 2, undef, 'Cust4 moves to position 2');
my $q = queue_is($a2, [qw(Cust3 Cust4)], 'other agents see the call leave');
is($q->{agents}{busy}, 1, 'one agent busy') if $q;

# --- an agent in a call cannot accept another
$a1->send_json({ type => 'accept', call_id => $c[2]{call_id}, id => 'b1' });
error_is($a1, 'bad_state', 'b1', 'agent already in a call accepts');
$a1->send_json({ type => 'accept', id => 'b2' });
error_is($a1, 'bad_state', 'b2', 'agent already in a call accepts next');

# --- another agent cannot take or reject a call in progress
my $a3 = $t->agent(sub => 'carol');
$a3->send_json({ type => 'accept', call_id => $c[0]{call_id}, id => 't1' });
error_is($a3, [qw(taken not_found)], 't1', 'accept of a call in progress');
$a3->send_json({ type => 'reject', call_id => $c[0]{call_id}, id => 't2' });
error_is($a3, [qw(taken not_found)], 't2', 'reject of a call in progress');
# the call is intact
$c[0]->send_json({ type => 'chat', text => 'still here?', id => 'k1' });
ok($c[0]->wait_for('ack', 5, sub { $_[0]{id} eq 'k1' }), 'call intact: ack');
my $chat = $a1->wait_for('chat', 5);
is($chat && $chat->{text}, 'still here?', 'call intact: chat reaches its agent');
ok(!$a3->wait_for('chat', 0.3), 'the other agent does not see the chat');

# --- accept a specific call (Cust4, not the oldest)
$a2->send_json({ type => 'accept', call_id => $c[3]{call_id}, id => 's1' });
ok($a2->wait_for('ack', 5, sub { $_[0]{id} eq 's1' }), 'accept specific acked');
$acc = $a2->wait_for('accepted', 5);
is($acc && $acc->{call_id}, $c[3]{call_id}, 'specific call accepted');
ok($c[3]->wait_for('accepted', 5), 'Cust4 accepted');
queue_is($a3, [qw(Cust3)], 'queue holds Cust3 only');

# --- reject: the customer's call ends with rejected
$a3->send_json({ type => 'reject', call_id => $c[2]{call_id}, id => 'r1' });
ok($a3->wait_for('ack', 5, sub { $_[0]{id} eq 'r1' }), 'reject acked');
my $re = ended_is($c[2], 'rejected', undef, 'rejected customer');
is($re && $re->{duration}, 0, 'a rejected call: duration 0');
is($c[2]->expect_close(5), 1000, 'rejected customer closed with 1000');
queue_is($a3, [], 'queue empty after reject');
$a3->send_json({ type => 'accept', id => 'e1' });
error_is($a3, 'not_found', 'e1', 'accept next on an empty queue');

# --- hangup by the agent: both sides told, agent stays connected
$a1->send_json({ type => 'hangup', id => 'h1' });
ok($a1->wait_for('ack', 5, sub { $_[0]{id} eq 'h1' }), 'hangup with id acked');
ended_is($a1, 'hangup', 'agent', 'agent hangs up (agent side)');
my $ce = ended_is($c[0], 'hangup', 'agent', 'agent hangs up (customer side)');
is($ce->{call_id}, $c[0]{call_id}, 'ended carries the call id') if $ce;
is($c[0]->expect_close(5), 1000, 'customer closed with 1000 after hangup');
ok(!$a1->is_closed, 'agent keeps its connection after the call');

# --- hangup by the customer
$c[3]->send_json({ type => 'hangup' });
ended_is($a2, 'hangup', 'customer', 'customer hangs up (agent side)');
ended_is($c[3], 'hangup', 'customer', 'customer hangs up (customer side)');
is($c[3]->expect_close(5), 1000, 'customer closed with 1000');

# --- a waiting customer's hangup is a cancel
my $c5 = $t->customer('Cust5');
queue_is($a1, [qw(Cust5)], 'idle agent sees a new waiting call');
$c5->send_json({ type => 'hangup' });
ended_is($c5, 'cancelled', undef, 'waiting customer hangs up');
queue_is($a1, [], 'queue empty again');

# --- two agents race for one call: exactly one wins
my $c6 = $t->customer('Cust6');
for my $a ($a1, $a3) {
    $a->wait_for('queue', 5, sub { @{ names($_[0]) } == 1 });
}
$a1->send_json({ type => 'accept', call_id => $c6->{call_id}, id => 'race' });
$a3->send_json({ type => 'accept', call_id => $c6->{call_id}, id => 'race' });
my %res;
for my $a ($a1, $a3) {
    my $r;
    $a->pump_until(5, sub {
        for (@{ $a->{inbox} }) {
            next unless ($_->{id} // '') eq 'race';
            return $r = $_;
        }
        0;
    });
    push @{ $res{ $r ? ($r->{type} eq 'ack' ? 'ack' : $r->{code}) : 'none' } },
         $a;
}
is(scalar @{ $res{ack} || [] }, 1, 'exactly one agent wins the race');
is(scalar(@{ $res{taken} || [] }) + scalar(@{ $res{not_found} || [] }), 1,
   'the other gets taken or not_found');
ok($c6->wait_for('accepted', 5), 'customer accepted once');
ok(!$c6->wait_for('accepted', 0.3), 'and only once');

# --- a hung-up agent can take the next call
$a1->{inbox} = [];
$a3->{inbox} = [];
if (($res{ack}[0] // 0) == $a1) { $a1->send_json({ type => 'hangup' }) }
else { $a3->send_json({ type => 'hangup' }) }
ended_is($c6, 'hangup', 'agent', 'race winner hangs up');
my $c7 = $t->customer('Cust7');
my ($cc, $aa) = $t->call(customer => $c7, agent => $a1);
ok($aa->{accepted}, 'agent accepts a new call after its previous call ended');

$t->stop;
done_testing;
