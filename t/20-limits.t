#!/usr/bin/perl
# Limits: heartbeat (4003 for a silent client, a pong-answering client
# stays), handshake timeout (4003), slow consumer (4002) with the server
# staying healthy, peer_backlog when the replay buffer is full, queue_full.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_encode poll_until);

# pump several connections at once until $cond or the deadline
sub pump_all {
    my ($timeout, $cond, @ws) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        return 1 if $cond->();
        for my $w (@ws) {
            next if $w->{eof};
            $w->pump_until(0.05, sub { 0 });
        }
    }
    return $cond->();
}

# ---------------------------------------------------------------- timers
{
    my $t = Hotline::Test->new(http => 'hotline_ping_interval 1s; '
                                     . 'hotline_handshake_timeout 1s;')->start;

    my $silent = $t->ws_connect('/ws/customer');       # never joins
    my $pingonly = $t->ws_connect('/ws/customer');     # pings, never joins
    my $deaf = $t->customer('Deaf');                   # joined, no pongs
    $deaf->auto_pong(0);
    $deaf->{echo_close} = 0;                           # a dead peer
    my $deaf_agent = $t->agent(sub => 'deaf-agent');
    $deaf_agent->auto_pong(0);
    my $alive = $t->customer('Alive');                 # joined, pongs
    my $alive_agent = $t->agent(sub => 'alive-agent');

    my $t0 = time;
    my $next_ping = $t0;
    pump_all(8, sub {
        if (time >= $next_ping && !$pingonly->{closed}) {
            $pingonly->ping('x');
            $next_ping = time + 0.3;
        }
        $silent->{closed} && $pingonly->{closed} && $deaf->{closed}
            && $deaf_agent->{closed}
            && @{ $alive->{pings} } >= 3 && @{ $alive_agent->{pings} } >= 3;
    }, $silent, $pingonly, $deaf, $deaf_agent, $alive, $alive_agent);

    is($silent->{close_code}, 4003, 'no join within the handshake timeout: 4003');
    is($pingonly->{close_code}, 4003, 'pings are not a join: 4003');
    cmp_ok(scalar @{ $deaf->{pings} }, '>=', 1, 'the server pings');
    is($deaf->{close_code}, 4003, 'customer not answering pings: 4003');
    ok($deaf->pump_until(10, sub { $deaf->{eof} }),
       'a dead peer that never answers the close is dropped (TCP closed)');
    is($deaf_agent->{close_code}, 4003, 'agent not answering pings: 4003');
    cmp_ok(scalar @{ $alive->{pings} }, '>=', 3, 'three pings to a live customer');
    ok(!$alive->is_closed, 'a customer answering pings stays connected');
    ok(!$alive_agent->is_closed, 'an agent answering pings stays connected');
    is_deeply([ grep { $_ ne '' && length > 125 } @{ $alive->{pings} } ], [],
              'ping payloads fit a control frame');
    $alive->send_json({ type => 'cancel', id => 'bye' });
    ok($alive->wait_for('ended', 5), 'the live customer still talks');
    $t->stop;
}

# ------------------------------------------------ slow consumer, backlog
{
    my $t = Hotline::Test->new(
        listen => 'sndbuf=4k',
        http => 'hotline_send_queue 8k; hotline_replay_buffer 256k; '
              . 'hotline_queue_size 4;',
        # the flooding agent below reads its acks only now and then: it
        # gets room for them, so that only the customer is a slow consumer
        server => 'location = /ws/agent-flood { hotline_signaling agent; '
                . 'hotline_send_queue 1m; }')->start;

    # a client that sends pings and never reads the pongs: its send queue
    # fills with pongs until it is closed with 4002
    {
        my $before = $t->metrics;
        my $p = $t->customer('PingFlood', rcvbuf => 4096);
        my $payload = 'p' x 125;
        my $n = 0;
        for (1 .. 3000) {
            last unless $p->send_frame('ping', $payload);
            $n++;
            last if $n % 100 == 0 && !Hotline::Test::poll_until(0, sub {
                my $m = $t->metrics;
                ($m->{'hotline_ws_closed_total{code="4002"}'} // 0)
                    == ($before->{'hotline_ws_closed_total{code="4002"}'} // 0)
            });
        }
        my $m;
        ok(poll_until(5, sub {
            $m = $t->metrics;
            ($m->{'hotline_ws_closed_total{code="4002"}'} // 0)
                - ($before->{'hotline_ws_closed_total{code="4002"}'} // 0) == 1 }),
           "a client not reading its pongs is cut (after $n pings): "
           . 'ws_closed_total{code="4002"} +1');
        is($p->expect_close(10), 4002, 'its stream ends with close 4002');
        is($t->health->{status}, 'ok', 'server healthy after it');
    }

    # a customer that never reads (small receive buffer), an agent flooding
    # chat: the customer cannot keep up and is closed with 4002
    my $c = $t->customer('Slow', rcvbuf => 4096);
    my $fa = $t->ws_connect('/ws/agent-flood',
                            token => $t->mint_jwt(sub => 'flooder'));
    $fa->wait_for('welcome', 5) && $fa->wait_for('queue', 5)
        or BAIL_OUT('the flooding agent did not start');
    my ($cc, $a) = $t->call(customer => $c, agent => $fa);
    my $before = $t->metrics;
    my $text = 'z' x 1900;
    my $sent = 0;
    my $gone;
    my $deadline = time + 20;
    while (time < $deadline && $sent < 3000) {
        $a->send_json({ type => 'chat', text => $text, id => "f$sent" });
        $sent++;
        $a->drain(0);
        $gone = $a->wait_for('peer', 0, sub { $_[0]{state} eq 'reconnecting' });
        last if $gone;
    }
    $a->pump_until(5, sub {
        grep { ($_->{id} // '') eq 'f' . ($sent - 1) } @{ $a->{inbox} } });
    my @errs = grep { $_->{type} eq 'error' } @{ $a->{inbox} };
    my @acks = grep { $_->{type} eq 'ack' } @{ $a->{inbox} };
    ok($gone, "a customer not reading a chat flood is cut: its peer is told "
              . "it is reconnecting (after $sent chats of 1900 bytes)")
        or diag('instead: ' . json_encode($errs[0] // 'nothing'));
    # what the server accepted for it is bounded by its buffers: twice the
    # replay buffer while connected (docs/directives.md), the send queue,
    # the socket buffers
    cmp_ok(scalar(@acks) * 1900, '<=', 2 * 256 * 1024 + 8 * 1024 + 128 * 1024,
           'messages accepted for the slow consumer are bounded ('
           . scalar(@acks) . ' acked)');
    ok(!(grep { $_->{code} ne 'peer_backlog' } @errs),
       'the sender sees at most peer_backlog while the consumer is cut')
        or diag(json_encode(\@errs));
    ok(!$a->is_closed, 'the flooding agent stays connected');
    my $m = $t->metrics;
    is(($m->{'hotline_ws_closed_total{code="4002"}'} // 0)
       - ($before->{'hotline_ws_closed_total{code="4002"}'} // 0),
       $gone ? 1 : 0, 'ws_closed_total{code="4002"} +1 when it was cut');
    if ($gone) {
        # read what the slow customer got: its stream ends with close 4002
        is($c->expect_close(10), 4002, 'slow consumer closed with 4002');
    } else {
        fail('slow consumer closed with 4002 (it is still connected)');
    }
    my $h = $t->health;
    is($h->{status}, 'ok', 'server healthy after the slow consumer');
    my $n = $t->customer('After');
    ok($n->{welcome}, 'new customers still served');

    # the slow customer resumes: its buffered messages are replayed
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => $c->{token},
                    last_seq => $c->{accepted}{seq} });
    my $w = $r->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'slow consumer resumes');
    # its buffer may still be over the limit (it was cut while connected,
    # with up to twice the buffer): the agent's next message is refused
    # with peer_backlog until the replay has moved on; then it goes through
    my ($got, $tries) = (undef, 0);
    $a->{inbox} = [];
    while (!$got && $tries++ < 50) {
        my $id = "sync$tries";
        $a->send_json({ type => 'chat', text => 'sync', id => $id });
        my $ans;
        $a->pump_until(5, sub {
            ($ans) = grep { ($_->{id} // '') eq $id } @{ $a->{inbox} };
            $ans });
        last unless $ans;
        if ($ans->{type} eq 'error') {
            if ($ans->{code} ne 'peer_backlog') {
                fail("refused only for the backlog, not $ans->{code}");
                last;
            }
            $r->pump_until(0.2, sub { 0 });
            next;
        }
        $got = $r->wait_for('chat', 10, sub { $_[0]{text} eq 'sync' });
    }
    ok($got, 'the replay ends with the newest message');

    # a message bigger than hotline_send_queue (8k) still reaches a client
    # that reads: the queue bounds what waits, not the size of one message
    {
        my ($bc, $ba) = $t->call(name => 'BigReader', sub => 'big-sender');
        my $big = 'v=0 ' . ('o' x 60000);
        $ba->send_json({ type => 'offer', sdp => $big, id => 'big' });
        my $o = $bc->wait_for('offer', 10);
        is($o && length $o->{sdp}, length $big,
           'a 60 KB offer through an 8k send queue reaches a reading client');
        ok(!$bc->{closed}, '... without closing it')
            or diag('closed ' . ($bc->{close_code} // '?'));
        $ba->send_json({ type => 'hangup' });
        $bc->wait_for('ended', 5);
    }

    # peer_backlog: the customer goes away, the agent fills its buffer
    $r->drop;
    $a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    $a->{inbox} = [];
    my $backlog;
    my $acked = 0;
    # 16 KB offers: few messages, so a per-connection message rate limit
    # (if one is configured by default) does not get in the way
    my $sdp = 'v=0 ' . ('s' x 16000);
    for my $i (1 .. 100) {
        $a->send_json({ type => 'offer', sdp => $sdp, id => "b$i" });
        $a->pump_until(5, sub {
            grep { ($_->{id} // '') eq "b$i" } @{ $a->{inbox} } });
        my ($res) = grep { ($_->{id} // '') eq "b$i" } @{ $a->{inbox} };
        last unless $res;
        if ($res->{type} eq 'error') { $backlog = $res; last }
        $acked++;
    }
    ok($backlog, "peer_backlog once the replay buffer is full ($acked acked)");
    is($backlog && $backlog->{code}, 'peer_backlog', 'error code peer_backlog');
    cmp_ok($acked * 16000, '<=', 256 * 1024, 'no more than the buffer was accepted');
    cmp_ok($acked, ">", 0, "new messages are buffered while the peer is away");
    ok(!$a->is_closed, 'peer_backlog does not disconnect');
    $a->send_json({ type => 'hangup' });
    ok($a->wait_for('ended', 5), 'agent can still hang up');

    # queue_full: hotline_queue_size 4; fill what is left of it
    my $waiting = $t->health->{calls}{waiting};
    cmp_ok($waiting, '<', 4, "$waiting calls waiting before the fill");
    my @q = map { $t->customer("Q$_") } 1 .. 4 - $waiting;
    is($t->health->{calls}{waiting}, 4, 'queue holds 4 calls');
    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'join', name => 'Overflow', id => 'j' });
    my $e = $x->wait_for('error', 5);
    is($e && $e->{code}, 'queue_full', 'one more than hotline_queue_size: queue_full');
    is($e && $e->{id}, 'j', 'queue_full echoes the id');
    $q[0]->send_json({ type => 'cancel' });
    $q[0]->expect_close(5);
    my $ok;
    poll_until(5, sub {
        $x->send_json({ type => 'join', name => 'Overflow', id => 'j2' });
        my $res = $x->wait_for('welcome', 0.5) || $x->wait_for('error', 0.5);
        $ok = $res && $res->{type} eq 'welcome';
    });
    ok($ok, 'after a cancel the queue takes a new customer');
    $t->stop;
}

done_testing;
