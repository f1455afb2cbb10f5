#!/usr/bin/perl
# Resume after a lost connection: replay in seq order, peer reconnecting /
# back, bogus tokens (expired + 4004), takeover (4000), agent resume.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new->start;

sub seqs { [ map { $_->{seq} } @_ ] }

# --- customer drops abruptly in a call, agent keeps talking
my ($c, $a) = $t->call(name => 'Resumer', sub => 'res-agent');
$a->send_json({ type => 'chat', text => 'm0', id => 'm0' });
my $m0 = $c->wait_for('chat', 5);
ok($m0, 'chat before the drop delivered');
my $last = $m0->{seq};
is($last, $c->{accepted}{seq} + 1, 'seq after accepted grows by one');

$c->drop;
my $p = $a->wait_for('peer', 5);
ok($p, 'agent told about the peer');
is($p && $p->{state}, 'reconnecting', 'peer state reconnecting');
like($p && $p->{seq}, qr/^\d+$/, 'peer message carries seq');

my @sent = ('m1', 'm2', 'm3');
for my $i (1 .. 3) {
    $a->send_json({ type => 'chat', text => "m$i", id => "m$i" });
    ok($a->wait_for('ack', 5, sub { $_[0]{id} eq "m$i" }),
       "m$i acked while the customer is away (buffered)");
}
$a->send_json({ type => 'offer', sdp => 'v=0 resumed', id => 'o1' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'o1' }), 'offer buffered and acked');

my $c2 = $t->ws_connect('/ws/customer');
$c2->send_json({ type => 'resume', token => $c->{token}, last_seq => $last });
my $w = $c2->wait_for('welcome', 5);
ok($w, 'welcome on resume') or diag(json_encode($c2->{inbox}));
ok($w && $w->{resumed}, 'resumed: true');
is($w && $w->{call_id}, $c->{call_id}, 'same call id');
is($w && $w->{role}, 'customer', 'role customer');
ok($w && JSON::PP::is_bool($w->{gap}) && !$w->{gap}, 'gap: false');
my $token = ($w && $w->{resume}) // $c->{token};
like($token, qr/^[0-9a-f]{32}$/, 'resume token in the welcome');

my @got;
$c2->pump_until(5, sub {
    @got = grep { $_->{type} eq 'chat' || $_->{type} eq 'offer' }
           @{ $c2->{inbox} };
    @got >= 4;
});
is_deeply([ map { $_->{text} // $_->{sdp} } @got ],
          [ 'm1', 'm2', 'm3', 'v=0 resumed' ],
          'missed messages replayed in order');
is_deeply(seqs(@got), [ $last + 1 .. $last + 4 ], 'replayed seqs follow last_seq');
ok(!(grep { $_->{type} eq 'chat' && $_->{text} eq 'm0' } @{ $c2->{inbox} }),
   'nothing at or before last_seq is replayed');
$c2->take_all('chat');
$c2->take_all('offer');
$last = $last + 4;

my $back = $a->wait_for('peer', 5);
is($back && $back->{state}, 'back', 'agent sees the peer back');

$c2->send_json({ type => 'chat', text => 'I am back', id => 'b1' });
ok($c2->wait_for('ack', 5, sub { $_[0]{id} eq 'b1' }), 'resumed customer acked');
my $bm = $a->wait_for('chat', 5);
is($bm && $bm->{text}, 'I am back', 'resumed customer reaches the agent');
$a->send_json({ type => 'chat', text => 'welcome back' });
my $wb = $c2->wait_for('chat', 5);
is($wb && $wb->{seq}, $last + 1, 'live message after replay continues the seq');
$last = $wb->{seq} if $wb;

# --- resume from an older last_seq: everything after it again, contiguous
{
    $c2->drop;
    $a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    my $c3 = $t->ws_connect('/ws/customer');
    my $from = $last - 3;
    $c3->send_json({ type => 'resume', token => $token, last_seq => $from });
    my $w3 = $c3->wait_for('welcome', 5);
    ok($w3 && $w3->{resumed}, 'second resume ok');
    $token = $w3->{resume} if $w3 && $w3->{resume};
    my @r;
    $c3->pump_until(5, sub {
        @r = grep { defined $_->{seq} } @{ $c3->{inbox} };
        @r && $r[-1]{seq} >= $last;
    });
    my @s = @{ seqs(@r) };
    ok(@s && $s[-1] == $last, 'replay reaches the latest seq') or diag("@s");
    is_deeply(\@s, [ $s[0] .. $s[-1] ], 'replay is contiguous');
    if ($w3 && $w3->{gap}) {
        cmp_ok($s[0], '>', $from + 1, 'gap: true only when messages are missing');
    } else {
        is($s[0], $from + 1, 'replay starts right after last_seq');
    }
    $c2 = $c3;
    $c2->{inbox} = [];
    $a->wait_for('peer', 5, sub { $_[0]{state} eq 'back' });
}

# --- takeover: resuming while the old connection is alive closes it (4000)
{
    my $c4 = $t->ws_connect('/ws/customer');
    $c4->send_json({ type => 'resume', token => $token, last_seq => $last });
    my $w4 = $c4->wait_for('welcome', 5);
    ok($w4 && $w4->{resumed}, 'resume while still connected works');
    $token = $w4->{resume} if $w4 && $w4->{resume};
    is($c2->expect_close(5), 4000, 'the replaced connection is closed with 4000');
    $a->send_json({ type => 'chat', text => 'to the newest' });
    my $n = $c4->wait_for('chat', 5);
    is($n && $n->{text}, 'to the newest', 'messages go to the newest connection');
    $c2 = $c4;
}

# --- bogus tokens
for my $case ([ 'unknown token', '0' x 32 ],
              [ 'random unknown token', join('', map { sprintf '%x', rand 16 } 1 .. 32) ]) {
    my ($name, $tok) = @$case;
    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $tok, last_seq => 0, id => 'r' });
    my $e = $x->wait_for('error', 5);
    is($e && $e->{code}, 'expired', "$name: error expired");
    is($x->expect_close(5), 4004, "$name: closed with 4004");
}
{
    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => 'not-a-token', id => 'r' });
    my $e = $x->wait_for('error', 5);
    ok($e && ($e->{code} eq 'bad_field' || $e->{code} eq 'expired'),
       'malformed token: bad_field or expired')
        or diag(json_encode($e));
    is($e->{field}, 'token', 'malformed token: field token')
        if $e && $e->{code} eq 'bad_field';
    $x->send_json({ type => 'resume', token => $token, last_seq => -1, id => 'r2' });
    $e = $x->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'r2' });
    if (!$x->{closed}) {
        ok($e && $e->{code} eq 'bad_field', 'last_seq -1: bad_field');
        is($e && $e->{field}, 'last_seq', 'last_seq -1: field last_seq');
    } else {
        pass('connection closed after the malformed token');
        pass('(4004 semantics)');
    }
}

# --- a customer's token cannot resume an agent session
{
    my $x = $t->ws_connect('/ws/agent', token => $t->mint_jwt(sub => 'thief'));
    $x->wait_for('welcome', 5);
    $x->send_json({ type => 'resume', token => $token, id => 'steal' });
    my $e = $x->wait_for('error', 5);
    ok($e, "an agent cannot resume with a customer's token")
        or diag(json_encode($x->{inbox}));
    ok(!$x->wait_for('welcome', 0.3, sub { $_[0]{resumed} }),
       'no resumed welcome for the thief');
    $a->send_json({ type => 'chat', text => 'still yours' });
    my $n = $c2->wait_for('chat', 5);
    is($n && $n->{text}, 'still yours', 'the call stays with its customer');
}

# --- the agent drops and resumes
{
    $a->drop;
    my $pc = $c2->wait_for('peer', 5);
    is($pc && $pc->{state}, 'reconnecting', 'customer told the agent is reconnecting');
    $c2->send_json({ type => 'chat', text => 'hello? agent?', id => 'q1' });
    ok($c2->wait_for('ack', 5, sub { $_[0]{id} eq 'q1' }),
       'chat to an absent agent is buffered and acked');
    my $a2 = $t->ws_connect('/ws/agent', token => $t->mint_jwt(sub => 'res-agent'));
    ok($a2->wait_for('welcome', 5), 'agent reconnects');
    $a2->send_json({ type => 'resume', token => $a->{token},
                     last_seq => $a->{accepted}{seq} });
    my $wa = $a2->wait_for('welcome', 5, sub { $_[0]{resumed} });
    ok($wa, 'agent resumed') or diag(json_encode($a2->{inbox}));
    is($wa && $wa->{call_id}, $c->{call_id}, 'agent back in the same call');
    my $q1 = $a2->wait_for('chat', 5, sub { $_[0]{text} eq 'hello? agent?' });
    ok($q1, 'the agent gets the chat it missed');
    my $pb = $c2->wait_for('peer', 5, sub { $_[0]{state} eq 'back' });
    ok($pb, 'customer sees the agent back');
    $a2->send_json({ type => 'hangup' });
    my $e = $c2->wait_for('ended', 5);
    is($e && $e->{reason}, 'hangup', 'call ends normally after resumes');
    is($c2->expect_close(5), 1000, 'customer closed with 1000');
    # the ended call's token is dead, a moment after the close (a resume
    # at once got the end again in a make test run)
    my ($code, $close) = $t->resume_dead_token($token);
    is($code, 'expired', 'token of an ended call: expired');
    is($close, 4004, '... and 4004');
}

# --- tokens only resume their own session
{
    my ($cx, $ax) = $t->call(name => 'Guarded', sub => 'owner-agent');
    # another agent presents owner-agent's resume token
    my $thief = $t->agent(sub => 'other-agent');
    $thief->send_json({ type => 'resume', token => $ax->{token}, id => 's1' });
    my $e = $thief->wait_for('error', 5);
    ok($e, "an agent cannot resume another agent's session")
        or diag(json_encode($thief->{inbox}));
    ok(!$thief->wait_for('welcome', 0.3, sub { $_[0]{resumed} }),
       '... no resumed welcome');
    ok(!$ax->is_closed, '... the owner is not replaced');
    # the agent's token on the customer endpoint
    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $ax->{token} });
    my $xe = $x->wait_for('error', 5);
    is($xe && $xe->{code}, 'expired', "agent's token on the customer endpoint: expired");
    is($x->expect_close(5), 4004, '... closed with 4004');
    $cx->send_json({ type => 'chat', text => 'owner?' });
    my $m = $ax->wait_for('chat', 5);
    is($m && $m->{text}, 'owner?', 'the guarded call is intact');

    # last_seq beyond what exists: nothing replayed, the session goes on
    $cx->drop;
    $ax->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => $cx->{token}, last_seq => 1000000 });
    my $w = $r->wait_for('welcome', 5);
    my $re = $w ? undef : $r->wait_for('error', 1);
    ok($w || ($re && $re->{code} eq 'bad_field'),
       'last_seq beyond the latest: resumed or bad_field') or diag(json_encode($r->{inbox}));
    if ($w) {
        ok(!(grep { defined $_->{seq} } @{ $r->{inbox} }), 'nothing replayed');
        $ax->send_json({ type => 'chat', text => 'after future last_seq' });
        my $n = $r->wait_for('chat', 5);
        is($n && $n->{text}, 'after future last_seq', 'new messages still delivered');
    }
    $ax->send_json({ type => 'hangup' });
    $ax->wait_for('ended', 5);
}

# --- gap: delivered messages are evicted from the bounded buffer
{
    my ($cg, $ag) = $t->call(name => 'Gap', sub => 'gap-agent');
    my $first = $cg->{accepted}{seq};
    # (no pong: what it read stays kept as far as the buffer goes;
    # t/158-read-confirm.t is what a pong lets go)
    $cg->auto_pong(0);
    my $big = 'g' x 1900;
    # ~114 KB through a 64 KB replay buffer, each chat read before the next
    # (bursts are t/13-relay.t's business)
    my @got;
    for my $i (1 .. 60) {
        $ag->send_json({ type => 'chat', text => "$i $big" });
        my $m = $cg->wait_for('chat', 5) or last;
        push @got, $m;
    }
    is(scalar @got, 60, 'all 60 chats delivered live');
    my $latest = $got[-1]{seq};
    $cg->drop;
    $ag->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => $cg->{token}, last_seq => $first });
    my $w = $r->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'resumed from an old last_seq');
    ok($w && JSON::PP::is_bool($w->{gap}) && $w->{gap},
       'gap: true when the buffer no longer holds everything after last_seq')
        or diag(json_encode($w));
    my @r;
    $r->pump_until(5, sub {
        @r = grep { defined $_->{seq} } @{ $r->{inbox} };
        @r && $r[-1]{seq} >= $latest });
    my @s = map { $_->{seq} } @r;
    ok(@s && $s[0] > $first + 1, 'the replay starts after a gap');
    is_deeply(\@s, [ $s[0] .. $latest ], 'the replay is contiguous up to the latest')
        or diag("@s");
    my $bytes = 0;
    $bytes += length($_->{text} // '') for @r;
    cmp_ok($bytes, '<=', 64 * 1024, 'the replay fits hotline_replay_buffer');
    $ag->send_json({ type => 'hangup' });
    $ag->wait_for('ended', 5);
}

# --- things that happen while a party is away reach it on resume
{
    # accepted while the customer is away
    my $cw = $t->customer('AwayWhileAccepted');
    $cw->drop;
    my $ag = $t->agent(sub => 'away-agent');
    $ag->send_json({ type => 'accept', call_id => $cw->{call_id}, id => 'aw' });
    ok($ag->wait_for('ack', 5, sub { $_[0]{id} eq 'aw' }),
       'a waiting customer in its grace period can be accepted');
    my $acc = $ag->wait_for('accepted', 5);
    is($acc && $acc->{call_id}, $cw->{call_id}, 'agent: accepted');
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => $cw->{token}, last_seq => 0 });
    my $w = $r->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'customer resumes');
    my $ra = $r->wait_for('accepted', 5);
    is($ra && $ra->{call_id}, $cw->{call_id}, 'the accepted message is replayed');
    is_deeply($ra && $ra->{peer}, { role => 'agent', name => 'away-agent' },
              '... with the agent');
    ok($ag->wait_for('peer', 5, sub { $_[0]{state} eq 'back' }),
       'the agent sees the customer back');

    # the call ends while the customer is away
    $r->drop;
    $ag->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    $ag->send_json({ type => 'hangup' });
    my $ae = $ag->wait_for('ended', 5);
    is($ae && $ae->{reason}, 'hangup', 'agent hangs up an absent customer');
    my $r2 = $t->ws_connect('/ws/customer');
    $r2->send_json({ type => 'resume', token => $cw->{token},
                     last_seq => $ra ? $ra->{seq} : 0 });
    my $w2 = $r2->wait_for('welcome', 5);
    my $e2 = $w2 ? $r2->wait_for('ended', 5) : $r2->wait_for('error', 5);
    ok($e2 && $e2->{type} eq 'ended' && $e2->{reason} eq 'hangup',
       'resuming after the call ended: the ended message is replayed')
        or diag(json_encode($e2));
    is($r2->expect_close(5), $w2 ? 1000 : 4004, '... then the session closes');
}

# --- an agent's second connection takes over its call too
{
    my ($ct, $at) = $t->call(name => 'TakeoverCall', sub => 'takeover-agent');
    my $a2 = $t->ws_connect('/ws/agent', token => $t->mint_jwt(sub => 'takeover-agent'));
    is($at->expect_close(5), 4000, 'the first agent connection is replaced: 4000');
    my $w = $a2->wait_for('welcome', 5);
    ok($w, 'the new connection is welcomed');
    is($w && $w->{call_id}, $ct->{call_id}, 'its welcome names the call in progress');
    $ct->send_json({ type => 'chat', text => 'to the new connection' });
    my $m = $a2->wait_for('chat', 5, sub { $_[0]{text} eq 'to the new connection' });
    ok($m, 'the call now goes to the new connection');
    $a2->send_json({ type => 'hangup' });
    ok($ct->wait_for('ended', 5), 'and it can end the call');
}

# --- agent takeover by a second connection with the same sub
{
    my $x1 = $t->agent(sub => 'twin');
    my $x2 = $t->agent(sub => 'twin');
    is($x1->expect_close(5), 4000, 'older agent connection replaced: 4000');
    ok(!$x2->is_closed, 'newer agent connection stays');
}

$t->stop;
done_testing;
