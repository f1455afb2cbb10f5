#!/usr/bin/perl
# The places where the embedded and the Redis store used to answer
# differently, asserted on the store this run uses (HOTLINE_STORE=redis
# runs it on Redis): the common behaviour of docs/protocol.md, "Store
# backends: one behaviour".
#   - a console that takes its live session over without last_seq is
#     replayed what came after the last message its predecessor's client
#     read (it answered a ping sent after it): Redis replayed from its last
#     quarter-of-the-buffer report, the embedded store only what was not
#     yet written;
#   - a page reloaded after it read everything (resume, last_seq 0) finds
#     what it read no longer kept: the embedded store forgot it, Redis
#     replayed it all;
#   - a connection closed for its message rate (1008) gets the answers of
#     all it sent before, in the order sent, before the close frame (Redis
#     used to close with them at the store, and wrote the refusals found
#     before the model ahead of the answers still at the store);
#   - every message with an id is answered in the order sent, whatever
#     the steps of its operation (on Redis an accept or a transfer, a
#     round trip a step, was answered after the cheaper messages sent
#     after it);
#   - the model's errors are the same codes (the Redis scripts used to
#     return bare error numbers).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);
use Protocol::WebSocket::Frame;

my $t = Hotline::Test->new(http => "    hotline_ping_interval 2s;\n",
                           servers => <<'EOS')->start;
    server {
        listen 127.0.0.1:%%PORT2%%;
        hotline_message_rate 10r/s burst=5;
        location = /ws/agent { hotline_signaling agent; }
    }
EOS
note('store: ' . $t->store);

sub chats { grep { $_->{type} eq 'chat' } @{ $_[0]{inbox} } }

# $ws answers a ping sent after what it has read, and the server has
# handled the pong: a request made after it is answered (a connection's
# frames are handled in order, and on Redis the report goes ahead of the
# request's transaction on the same link)
sub confirm_read {
    my ($ws, $other) = @_;
    @{ $ws->{pings} } = ();
    my $ok = 0;
    for (1 .. 60) {
        $ok = $ws->pump_until(0.1, sub { @{ $ws->{pings} } });
        last if $ok;
        $other->pump_until(0.01, sub { 0 }) if $other;
    }
    ok($ok, 'a ping came and was answered') or return;
    my $r = $ws->request({ type => 'media', audio => JSON::PP::true() });
    is($r->{type}, 'ack', '... and a request after the pong is answered');
}

sub send_chats {
    my ($from, $to, @texts) = @_;
    for my $x (@texts) {
        my $r = $from->request({ type => 'chat', text => $x });
        is($r->{type}, 'ack', "$x acknowledged") or diag(json_encode($r));
    }
    $to->pump_until(5, sub {
        (grep { $_->{text} eq $texts[-1] } chats($to)) }) if $to;
}

# --- a live takeover without last_seq: after what the client read
{
    my ($c, $a) = $t->call(name => 'Takeover', sub => 'take-agent');
    send_chats($c, $a, map { "m$_" } 1 .. 5);
    confirm_read($a, $c);
    my ($read) = grep { $_->{text} eq 'm5' } chats($a);
    # written to the first tab, not confirmed read: no pong from now on
    $a->auto_pong(0);
    send_chats($c, $a, map { "m$_" } 6 .. 10);
    is(scalar(grep { $_->{text} eq 'm10' } chats($a)), 1,
       'the first tab got m6..m10 (written to it)');
    $a->ping('alive');
    my $a2 = $t->ws_connect('/ws/agent',
                            token => $t->mint_jwt(sub => 'take-agent'));
    my $w = $a2->wait_for('welcome', 5);
    ok($w, 'the second tab is welcomed') or diag(json_encode($a2->{inbox}));
    is($w && $w->{call_id}, $c->{call_id}, '... in the call');
    ok($w && !$w->{gap}, '... no gap');
    my $desk = $a2->wait_for('desk', 5);
    my @got;
    $a2->pump_until(5, sub {
        @got = chats($a2);
        @got && $got[-1]{text} eq 'm10' });
    $a2->pump_until(0.3, sub { 0 });
    @got = chats($a2);
    is_deeply([ map { $_->{text} } @got ], [ map { "m$_" } 6 .. 10 ],
              'replayed: exactly what came after the read point')
        or diag(json_encode([ map { [$_->{seq}, $_->{text}] } @got ]));
    ok(!(grep { defined $_->{seq} && $_->{seq} <= $read->{seq} }
         @{ $a2->{inbox} }), 'nothing at or before the read point again');
    cmp_ok($desk && $desk->{replay_to} // 0, '>=', @got ? $got[-1]{seq} : 1,
           'replay_to covers the replay');
    is($a->expect_close(5), 4000, 'the first tab is closed 4000');
    $a2->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
}

# --- a page reloaded after it read (resume with last_seq 0): what it read
# is no longer kept, on both stores
{
    my ($c, $a) = $t->call(name => 'Reload', sub => 'reload-agent');
    send_chats($a, $c, map { "r$_" } 1 .. 5);
    confirm_read($c, $a);
    my ($read) = grep { $_->{text} eq 'r5' } chats($c);
    $c->drop;
    ok($a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' }),
       'the agent sees the customer go');
    my $c2 = $t->ws_connect('/ws/customer');
    $c2->send_json({ type => 'resume', token => $c->{token},
                     last_seq => 0 });
    my $w = $c2->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'the reloaded page is welcomed back')
        or diag(json_encode($c2->{inbox}));
    ok($w && $w->{gap}, '... with gap: what it read is no longer kept');
    my $tr = $c2->wait_for('transcript', 5);
    is_deeply([ map { $_->{text} } @{ $tr ? $tr->{lines} : [] } ],
              [ map { "r$_" } 1 .. 5 ], 'the chat comes in the transcript');
    $c2->pump_until(0.5, sub { 0 });
    is_deeply([ map { $_->{text} } chats($c2) ], [],
              'no chat it read is replayed')
        or diag(json_encode($c2->{inbox}));
    ok(!(grep { defined $_->{seq} && $_->{seq} <= $read->{seq} }
         @{ $c2->{inbox} }), 'nothing at or before the read point');
    $a->send_json({ type => 'hangup' });
    $c2->wait_for('ended', 5);
}

# --- the 1008 close comes after the answers of all that was sent before
{
    my $ag = $t->agent(sub => 'rate-agent', port => $t->port2,
                      origin => $t->origin);
    $ag->send_raw(join '', map {
        Protocol::WebSocket::Frame->new(
            buffer => json_encode({ type => 'accept', call_id => '0' x 32,
                                    id => "r$_" }),
            type => 'text', masked => 1)->to_bytes } 1 .. 20);
    is($ag->expect_close(5), 1008, 'a burst over the rate: closed 1008');
    my (@ids, %by);
    for my $f (@{ $ag->{frames} }) {
        last if $f->[0] == 8;
        next unless $f->[0] == 1;
        my $m = Hotline::Test::json_decode($f->[1]);
        next unless $m->{type} eq 'error' && defined $m->{id};
        push @ids, $m->{id};
        push @{ $by{ $m->{code} } }, $m->{id};
    }
    my $num = sub { my ($x) = @_; $x =~ /(\d+)/; $1 };
    cmp_ok(scalar @ids, '>=', 6, 'the handled and the refused answered: '
                                 . scalar @ids);
    is_deeply(\@ids, [ map { "r$_" } 1 .. @ids ],
              'every message before the close is answered once, in the '
              . 'order sent, before the close frame') or diag("@ids");
    my @handled = sort { $num->($a) <=> $num->($b) }
                  @{ $by{not_found} || [] };
    is_deeply(\@handled, [ map { "r$_" } 1 .. @handled ],
              'the first ones handled, the rest refused: '
              . scalar @handled);
    my @late = grep { $_->[0] == 1 } @{ $ag->{frames} }[
        (grep { $ag->{frames}[$_][0] == 8 } 0 .. $#{ $ag->{frames} })[0]
        .. $#{ $ag->{frames} } ];
    is(scalar @late, 0, 'nothing after the close frame');
}

# --- answers in the order sent, whatever the steps of their operations
# $ws sends @msgs in one write; the ids of the answers (ack or error) to
# them, in the order they came
sub answers_in_order {
    my ($ws, @msgs) = @_;
    my %mine = map { $_->{id} => 1 } @msgs;
    $ws->send_raw(join '', map {
        Protocol::WebSocket::Frame->new(buffer => json_encode($_),
                                        type => 'text', masked => 1)
                                  ->to_bytes } @msgs);
    my @got;
    $ws->pump_until(5, sub {
        my @keep;
        for my $m (@{ $ws->{inbox} }) {
            if (($m->{type} eq 'ack' || $m->{type} eq 'error')
                && defined $m->{id} && $mine{ $m->{id} })
            {
                push @got, $m;
            } else {
                push @keep, $m;
            }
        }
        $ws->{inbox} = \@keep;
        @got >= @msgs;
    });
    return @got;
}

{
    my $c = $t->customer('Order');
    my $a = $t->agent(sub => 'order-agent');
    my $b = $t->agent(sub => 'order-agent2');
    my $true = JSON::PP::true();
    # accept: several steps at the store; then one step (a relay, the
    # agent's presence), none (connected), and a refusal
    my @got = answers_in_order($a,
        { type => 'accept', call_id => $c->{call_id}, id => 'o1' },
        { type => 'media', audio => $true, id => 'o2' },
        { type => 'connected', id => 'o3' },
        { type => 'presence', state => 'available', id => 'o4' },
        { type => 'nonsense', id => 'o5' },
        { type => 'chat', text => 'first words', id => 'o6' });
    is_deeply([ map { $_->{id} } @got ], [ map { "o$_" } 1 .. 6 ],
              'accept and what follows it: answered in the order sent')
        or diag(json_encode(\@got));
    is($got[0] && $got[0]{type}, 'ack', '... the accept acked');
    is($got[4] && $got[4]{code}, 'bad_type', '... the refusal in its place');
    ok($c->wait_for('accepted', 5), 'the customer is in the call');
    ok($a->wait_for('accepted', 5), '... and the agent');

    # transfer: the call goes back to the queue; then cheaper ones
    @got = answers_in_order($a,
        { type => 'transfer', reason => 'order', id => 't1' },
        { type => 'media', audio => $true, id => 't2' },
        { type => 'connected', id => 't3' },
        { type => 'nonsense', id => 't4' },
        { type => 'presence', state => 'away', id => 't5' });
    is_deeply([ map { $_->{id} } @got ], [ map { "t$_" } 1 .. 5 ],
              'a transfer and what follows it: answered in the order sent')
        or diag(json_encode(\@got));
    is($got[0] && $got[0]{type}, 'ack', '... the transfer acked');
    ok($c->wait_for('transfer', 5, sub { $_[0]{state} eq 'waiting' }),
       'the customer is back in the queue');
    is($b->request({ type => 'accept', call_id => $c->{call_id} })->{type},
       'ack', 'another agent takes the call');
    $b->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
}

# --- at most 512 messages wait for their answers: a client that packs
# more into one read behind an operation still at the store is closed
# (1008) after their answers (on the embedded store none waits).  Small
# frames, so that 601 come in one read: {"id":"N"} is refused bad_type.
{
    my $a = $t->agent(sub => 'bound-agent');
    $a->send_raw(join '', map {
        Protocol::WebSocket::Frame->new(buffer => json_encode($_),
                                        type => 'text', masked => 1)
                                  ->to_bytes }
        { type => 'accept', call_id => 'e' x 32, id => 'b0' },
        map { { id => "b$_" } } 1 .. 600);
    my @ids;
    $a->pump_until(5, sub {
        @ids = map { $_->{id} } grep { defined $_->{id} } @{ $a->{inbox} };
        $a->{closed} || @ids >= 601;
    });
    if ($t->store eq 'redis') {
        is($a->expect_close(5), 1008, 'more than 512 waiting: closed 1008');
        is_deeply(\@ids, [ map { "b$_" } 0 .. 511 ],
                  '... after the answers of the 512, in the order sent')
            or diag("@ids");
    } else {
        is_deeply(\@ids, [ map { "b$_" } 0 .. 600 ],
                  'all answered at once, in the order sent') or diag("@ids");
        ok(!$a->is_closed, '... and the connection stays');
    }
}

# --- the model's errors, by name
{
    my $a = $t->agent(sub => 'err-agent');
    is($a->request({ type => 'accept', call_id => 'f' x 32 })->{code},
       'not_found', 'accept of an unknown call: not_found');
    is($a->request({ type => 'chat', text => 'x' })->{code}, 'bad_state',
       'chat outside a call: bad_state');
    is($a->request({ type => 'reject', call_id => 'f' x 32 })->{code},
       'not_found', 'reject of an unknown call: not_found');
    my $c = $t->customer('Taken');
    my $b = $t->agent(sub => 'err-agent2');
    $b->request({ type => 'accept', call_id => $c->{call_id} });
    is($a->request({ type => 'accept', call_id => $c->{call_id} })->{code},
       'taken', 'accept of a call another agent took: taken');
    is($c->request({ type => 'join', name => 'Again' })->{code}, 'bad_state',
       'join twice: bad_state');
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => '0' x 32 });
    my $e = $r->wait_for('error', 5);
    is($e && $e->{code}, 'expired', 'resume with an unknown token: expired');
    is($r->expect_close(5), 4004, '... and close 4004');
    $b->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
}

$t->stop;

# the bounds of the model: queue_full, daily_limit
my $u = Hotline::Test->new(http => "    hotline_queue_size 1;\n"
                                 . "    hotline_daily_limit 2;\n")->start;
{
    my $c1 = $u->customer('First');
    my $c2 = $u->ws_connect('/ws/customer');
    $c2->send_json({ type => 'join', name => 'Second' });
    my $e = $c2->wait_for('error', 5);
    is($e && $e->{code}, 'queue_full', 'a join beyond the queue: queue_full');
    $c1->send_json({ type => 'cancel' });
    $c1->wait_for('ended', 5);
    # the refused join did not count: one more may join today
    my $c3 = $u->customer('Third');
    ok($c3->{welcome}, 'the second join of the day is welcomed');
    $c3->send_json({ type => 'cancel' });
    $c3->wait_for('ended', 5);
    my $c4 = $u->ws_connect('/ws/customer');
    $c4->send_json({ type => 'join', name => 'Fourth' });
    $e = $c4->wait_for('error', 5);
    is($e && $e->{code}, 'daily_limit', 'the third join of the day: '
                                         . 'daily_limit');
    ok(!$c4->is_closed, '... and the connection stays');
}
$u->stop;

done_testing;
