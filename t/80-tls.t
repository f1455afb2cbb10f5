#!/usr/bin/perl
# Signaling through nginx's own TLS (`listen ... ssl`, the layout operators
# deploy): the upgrade answer and every frame reach the client at once (the
# module's buffers ask nginx's TLS layer for a flush), a burst larger than
# the TLS buffer and a reader that stalls get everything in order, close
# frames of both sides and the 1001 of a reload go out, and the HTTP
# endpoints answer over TLS.  The client verifies a certificate made for
# 127.0.0.1 at test time (Hotline::Test, tls => 1).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until raw_frame random_key);

# room for the bursts below in each party's buffer, whatever the pace of
# the reader; a small socket send buffer, so that nginx's TLS layer is
# often left holding what the socket did not take
my $t = Hotline::Test->new(tls => 1, listen => 'sndbuf=4k',
                           http => 'hotline_replay_buffer 1m;')->start;

ok($t->is_tls, 'the listener is "ssl"');
like($t->origin, qr{^https://127\.0\.0\.1:\d+$}, 'the origin is https');

# --- HTTP endpoints over TLS
{
    my $r = $t->http_get('/health');
    is($r->{status}, 200, '/health over TLS');
    is($t->health->{status}, 'ok', 'health is ok');
    like($t->metrics->{__raw}, qr/^hotline_connections/m,
         '/metrics over TLS');
}

# --- the 101 and the first messages arrive without more client traffic
{
    my $c = $t->ws_connect('/ws/customer');
    ok($c->{sock}->isa('IO::Socket::SSL'), 'the WebSocket is TLS');
    is($c->{response}{status}, 101, '101 Switching Protocols over TLS');
    $c->send_json({ type => 'join', name => 'Tls' });
    my $w = $c->wait_for('welcome', 5);
    ok($w, 'welcome over TLS') or diag(json_encode($c->{inbox}));
    ok($c->wait_for('position', 5), 'position over TLS');
    $c->send_json({ type => 'cancel', id => 'x' });
    ok($c->wait_for('ended', 5), 'ended over TLS');
    is($c->expect_close(5), 1000, 'the server closes with 1000 over TLS');
    ok($c->{eof}, 'and ends the connection');
}

# --- a join sent in the same TLS write as the handshake
{
    my $s = $t->connect_tcp;
    my $key = random_key();
    Hotline::Test::write_all($s,
        "GET /ws/customer HTTP/1.1\r\nHost: 127.0.0.1:" . $t->port . "\r\n"
        . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n"
        . "Origin: " . $t->origin . "\r\n\r\n"
        . raw_frame(payload => json_encode({ type => 'join',
                                             name => 'Pipelined' })));
    my $r = Hotline::Test::read_http_response($s, 5, head_only => 1);
    is($r->{status}, 101, 'pipelined join: 101');
    my $ws = Hotline::Test::WS->new($s, $r->{rest});
    ok($ws->wait_for('welcome', 5), 'pipelined join: welcome');
    $ws->drop;
}

# --- a call: relay, a burst bigger than the TLS buffer, a stalled reader
{
    my ($c, $a) = $t->call(name => 'Burst', sub => 'tls-agent');
    $a->send_json({ type => 'offer', sdp => "v=0\r\n", id => 'o' });
    my $o = $c->wait_for('offer', 5);
    is($o && $o->{sdp}, "v=0\r\n", 'offer relayed over TLS');

    # 120 chats of 1900 bytes: about 230 KiB, fourteen times nginx's 16k
    # TLS buffer, each message acked, all arriving in order
    my @sent = map { sprintf('%04d', $_) . ('t' x 1896) } 1 .. 120;
    $a->send_json({ type => 'chat', text => $sent[$_], id => "b$_" })
        for 0 .. $#sent;
    ok($a->pump_until(10, sub {
        grep { $_->{type} eq 'ack' && $_->{id} eq "b$#sent" }
        @{ $a->{inbox} } }), 'the burst is acked')
        or diag(json_encode([ grep { $_->{type} ne 'ack' } @{ $a->{inbox} } ])
                . " eof=$a->{eof} " . $t->error_log_tail);
    my @got;
    $c->pump_until(10, sub {
        @got = grep { $_->{type} eq 'chat' } @{ $c->{inbox} };
        @got == @sent });
    is(scalar @got, scalar @sent, 'every message of the burst arrives');
    is_deeply([ map { $_->{text} } @got ], \@sent, 'in order, intact');
    $c->take_all('chat');

    $c->close_ws(1000);
    ok($c->{eof}, 'close handshake over TLS');
    ok($a->wait_for('peer', 5), 'the peer hears of it');
}

# a customer with a small receive buffer that stops reading: what nginx's
# TLS layer holds when the socket is full must still go out later
{
    my $c = $t->customer('Stall', rcvbuf => 4096);
    my $a = $t->agent(sub => 'stall-agent');
    ($c, $a) = $t->call(customer => $c, agent => $a);
    my @sent = map { sprintf('%04d', $_) . ('s' x 996) } 1 .. 60;
    for my $i (0 .. $#sent) {
        $a->send_json({ type => 'chat', text => $sent[$i], id => "s$i" });
    }
    ok($a->pump_until(10, sub {
        grep { $_->{type} eq 'ack' && $_->{id} eq "s$#sent" }
        @{ $a->{inbox} } }), 'the messages to the stalled reader are acked');
    # the customer has read nothing since 'accepted': now it reads
    my @got;
    $c->pump_until(10, sub {
        @got = grep { $_->{type} eq 'chat' } @{ $c->{inbox} };
        @got == @sent });
    is_deeply([ map { $_->{text} } @got ], \@sent,
              'the stalled reader gets every message, in order, once it reads');
    ok(!$c->is_closed, 'and stays connected');
    $c->drop;
    $a->drop;
}

# --- a bad frame: the server's close frame goes out over TLS
{
    my $c = $t->ws_connect('/ws/customer');
    $c->send_raw(raw_frame(payload => '{"type":"join","name":"u"}',
                           mask => 0));
    is($c->expect_close(5), 1002, 'an unmasked frame: close 1002 over TLS');
}

# --- a reload: 1001 to every TLS client, and the call resumes
{
    my ($c, $a) = $t->call(name => 'Reload', sub => 'reload-tls');
    $t->reload;
    is($c->expect_close(10), 1001, 'customer: 1001 over TLS on reload');
    is($a->expect_close(10), 1001, 'agent: 1001 over TLS on reload');
    my $ws = $t->ws_connect('/ws/customer');
    $ws->send_json({ type => 'resume', token => $c->{token} });
    my $w = $ws->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'the customer resumes over TLS after the reload')
        or diag(json_encode($ws->{inbox}));
}

$t->stop;

done_testing;
