#!/usr/bin/perl
# RFC 6455 framing: every violation and its close code, control frames,
# fragmentation, UTF-8, message size, close handshake.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(raw_frame json_encode);

my $MAX = 4096;
# (every test connection comes from 127.0.0.1: no cap on its waiting calls)
my $t = Hotline::Test->new(http => "hotline_max_message $MAX;\n"
                                   . "hotline_queue_per_address off;")->start;

sub fresh {
    my $ws = $t->ws_connect('/ws/customer');
    return $ws;
}

sub joined {
    my $ws = fresh();
    $ws->send_json({ type => 'join', name => 'frames' });
    $ws->wait_for('welcome', 5) or die "no welcome";
    return $ws;
}

# send bytes on a fresh (or joined) connection, expect a close code
sub violation {
    my ($name, $code, @frames) = @_;
    for my $state ('fresh', 'joined') {
        my $ws = $state eq 'fresh' ? fresh() : joined();
        $ws->send_raw(join '', @frames);
        my $got = $ws->expect_close(5);
        is($got, $code, "$name ($state): close $code")
            or diag("got " . ($got // 'no close frame') . ", eof="
                    . ($ws->{eof} ? 1 : 0));
        ok($ws->{eof}, "$name ($state): TCP closed after the close frame");
    }
}

my $join = json_encode({ type => 'join', name => 'x' });

violation('unmasked text frame', 1002, raw_frame(payload => $join, mask => 0));
violation('unmasked ping', 1002, raw_frame(opcode => 9, payload => 'p', mask => 0));
violation("RSV$_ set", 1002, raw_frame(payload => $join, rsv => $_))
    for 1 .. 7;
violation("RSV1 on ping", 1002, raw_frame(opcode => 9, rsv => 4));
violation("reserved opcode $_", 1002, raw_frame(opcode => $_, payload => 'x'))
    for 3, 7, 0xB, 0xF;
violation('fragmented ping', 1002,
          raw_frame(opcode => 9, fin => 0, payload => 'a'));
violation('fragmented close', 1002,
          raw_frame(opcode => 8, fin => 0, payload => pack('n', 1000)));
violation('ping of 126 bytes', 1002, raw_frame(opcode => 9, payload => 'p' x 126));
violation('close of 126 bytes', 1002,
          raw_frame(opcode => 8, payload => pack('n', 1000) . 'r' x 124));
violation('continuation without start', 1002,
          raw_frame(opcode => 0, payload => $join));
violation('text frame during a fragmented message', 1002,
          raw_frame(opcode => 1, fin => 0, payload => '{"type":'),
          raw_frame(opcode => 1, fin => 1, payload => '"join"}'));
violation('binary frame during a fragmented message', 1002,
          raw_frame(opcode => 1, fin => 0, payload => '{"type":'),
          raw_frame(opcode => 2, fin => 1, payload => 'x'));

violation('binary message', 1003, raw_frame(opcode => 2, payload => "\x00\x01"));
violation('fragmented binary message', 1003,
          raw_frame(opcode => 2, fin => 0, payload => "\x00"),
          raw_frame(opcode => 0, fin => 1, payload => "\x01"));

my $j1 = '{"type":"join","name":"';
violation('invalid UTF-8 (lone continuation byte)', 1007,
          raw_frame(payload => "$j1\x80\"}"));
violation('invalid UTF-8 (overlong /)', 1007,
          raw_frame(payload => "$j1\xC0\xAF\"}"));
violation('invalid UTF-8 (surrogate)', 1007,
          raw_frame(payload => "$j1\xED\xA0\x80\"}"));
violation('invalid UTF-8 (> U+10FFFF)', 1007,
          raw_frame(payload => "$j1\xF4\x90\x80\x80\"}"));
violation('invalid UTF-8 (truncated at the end)', 1007,
          raw_frame(payload => "\"\xC5"));
violation('invalid UTF-8 split across fragments', 1007,
          raw_frame(opcode => 1, fin => 0, payload => "$j1\xC5"),
          raw_frame(opcode => 0, fin => 1, payload => "a\"}"));

# --- message size: exactly max passes, max+1 is 1009
sub padded_join {
    my ($size, $name) = @_;
    my $head = '{"type":"join","name":"' . $name . '"';
    my $pad = $size - length($head) - 1;
    return $head . (' ' x $pad) . '}';
}
{
    my $msg = padded_join($MAX, 'max');
    is(length $msg, $MAX, "padded join is $MAX bytes");
    my $ws = fresh();
    $ws->send_text($msg);
    my $w = $ws->wait_for('welcome', 5);
    ok($w, "a message of exactly hotline_max_message ($MAX) is accepted");
    ok(!$ws->{closed}, '... and the connection stays open');

    $ws = fresh();
    # exactly max in three fragments
    my $m = padded_join($MAX, 'frag');
    $ws->send_raw(raw_frame(opcode => 1, fin => 0, payload => substr($m, 0, 1000))
                . raw_frame(opcode => 0, fin => 0, payload => substr($m, 1000, 2000))
                . raw_frame(opcode => 0, fin => 1, payload => substr($m, 3000)));
    ok($ws->wait_for('welcome', 5), "$MAX bytes in three fragments accepted");
}
violation('message of max+1 bytes', 1009,
          raw_frame(payload => padded_join($MAX + 1, 'big')));
{
    my $m = padded_join($MAX + 1, 'bigfrag');
    violation('max+1 bytes after reassembly', 1009,
              raw_frame(opcode => 1, fin => 0, payload => substr($m, 0, 2000)),
              raw_frame(opcode => 0, fin => 0, payload => substr($m, 2000, 2000)),
              raw_frame(opcode => 0, fin => 1, payload => substr($m, 4000)));
}
{
    # a header announcing 2^40 bytes is refused without waiting for them
    my $hdr = pack('CCNN', 0x81, 0x80 | 127, 256, 0) . pack('N', 0x01020304);
    violation('frame header announcing 1 TiB', 1009, $hdr);
    my $hdr63 = pack('CCNN', 0x81, 0x80 | 127, 0x80000000, 0) . 'mask';
    my $ws = fresh();
    $ws->send_raw($hdr63);
    my $c = $ws->expect_close(5);
    ok(defined $c && ($c == 1002 || $c == 1009),
       '64-bit length with the top bit set: 1002 or 1009')
        or diag('got ' . ($c // 'none'));
}

# --- control frames
{
    my $ws = fresh();
    $ws->ping('hello-ping');
    ok($ws->pump_until(5, sub { @{ $ws->{pongs} } }), 'ping answered');
    is($ws->{pongs}[0], 'hello-ping', 'pong echoes the payload');
    my $p125 = join '', map { chr(($_ * 7) % 256) } 1 .. 125;
    $ws->ping($p125);
    ok($ws->pump_until(5, sub { @{ $ws->{pongs} } >= 2 }), '125-byte ping answered');
    is($ws->{pongs}[1], $p125, 'pong echoes 125 binary bytes');
    $ws->ping('');
    ok($ws->pump_until(5, sub { @{ $ws->{pongs} } >= 3 }), 'empty ping answered');
    is($ws->{pongs}[2], '', 'empty pong');
    # unsolicited pong is ignored
    $ws->send_frame('pong', 'unsolicited');
    $ws->send_json({ type => 'join', name => 'after-pings' });
    ok($ws->wait_for('welcome', 5), 'session works after pings and a pong');
    ok(!$ws->{closed}, 'still open');
    ok(!$ws->problems, 'server frames are well-formed') or diag($ws->problems);
}

# --- fragmentation
{
    my $ws = fresh();
    my $m = json_encode({ type => 'join', name => 'Frag Mented' });
    my @parts = (substr($m, 0, 3), substr($m, 3, 10), '', substr($m, 13));
    $ws->send_raw(raw_frame(opcode => 1, fin => 0, payload => $parts[0])
                . raw_frame(opcode => 0, fin => 0, payload => $parts[1])
                . raw_frame(opcode => 0, fin => 0, payload => $parts[2])
                . raw_frame(opcode => 0, fin => 1, payload => $parts[3]));
    ok($ws->wait_for('welcome', 5), 'fragmented text message reassembled');

    # interleaved ping between fragments
    my $a = $t->agent(sub => 'frag-agent');
    my $q = $a->wait_for('queue', 5, sub {
        grep { $_->{name} eq 'Frag Mented' } @{ $_[0]{calls} } })
        // $a->{queue};
    ok((grep { $_->{name} eq 'Frag Mented' } @{ $q->{calls} }),
       'reassembled name reached the queue intact');

    my $ws2 = fresh();
    my $m2 = json_encode({ type => 'join', name => 'Interleaved' });
    $ws2->send_raw(raw_frame(opcode => 1, fin => 0, payload => substr($m2, 0, 8))
                 . raw_frame(opcode => 9, payload => 'mid')
                 . raw_frame(opcode => 0, fin => 0, payload => substr($m2, 8, 8))
                 . raw_frame(opcode => 10, payload => 'unsolicited-pong')
                 . raw_frame(opcode => 0, fin => 1, payload => substr($m2, 16)));
    ok($ws2->wait_for('welcome', 5), 'message with interleaved ping reassembled');
    is($ws2->{pongs}[0], 'mid', 'interleaved ping answered');

    # a UTF-8 character split across fragments is fine
    my $ws3 = fresh();
    my $m3 = "{\"type\":\"join\",\"name\":\"Ay\xC5\x9Fe\"}";
    my $cut = index($m3, "\xC5") + 1;
    $ws3->send_raw(raw_frame(opcode => 1, fin => 0, payload => substr($m3, 0, $cut))
                 . raw_frame(opcode => 0, fin => 1, payload => substr($m3, $cut)));
    ok($ws3->wait_for('welcome', 5), 'UTF-8 character split across fragments accepted');
    my $q3 = $a->wait_for('queue', 5, sub {
        grep { $_->{name} eq "Ay\x{15F}e" } @{ $_[0]{calls} } });
    ok($q3, 'split UTF-8 name arrives intact in the queue');
}

# --- a frame arriving one byte at a time
{
    my $ws = fresh();
    my $f = raw_frame(payload => json_encode({ type => 'join', name => 'Byte By Byte' }));
    $ws->send_raw($_) for split //, $f;
    ok($ws->wait_for('welcome', 5), 'a frame written byte by byte is reassembled');
    # two frames in one write, the second split over a later write
    my $two = raw_frame(opcode => 9, payload => 'one')
            . raw_frame(opcode => 9, payload => 'two');
    $ws->send_raw(substr($two, 0, 10));
    $ws->send_raw(substr($two, 10));
    ok($ws->pump_until(5, sub { @{ $ws->{pongs} } >= 2 }), 'frames across writes');
    is_deeply($ws->{pongs}, [ 'one', 'two' ], 'both answered in order');
}

# --- close handshake
for my $code (1000, 1001, 3001, 4999) {
    my $ws = fresh();
    $ws->{echo_close} = 0;
    $ws->{close_sent} = 1;
    my $got = $ws->close_ws($code, 'bye');
    is($got, $code, "client close $code echoed with the same code");
    ok($ws->{eof}, "close $code: server closes TCP");
}
# invalid close frames (RFC 6455 5.5.1, 7.4): a 1-byte body, codes that must
# never be sent on the wire, a reason that is not UTF-8
violation('close with a 1-byte body', 1002, raw_frame(opcode => 8, payload => "\x03"));
for my $code (0, 999, 1004, 1005, 1006, 1015, 1100, 2999, 5000, 65535) {
    violation("close with reserved code $code", 1002,
              raw_frame(opcode => 8, payload => pack('n', $code)));
}
violation('close reason not UTF-8', 1007,
          raw_frame(opcode => 8, payload => pack('n', 1000) . "\xC0\xAF"));

{
    my $ws = joined();
    $ws->{close_sent} = 1;
    $ws->send_frame('close', '');
    my $got = $ws->expect_close(5);
    ok(defined $got, 'empty client close answered with a close frame')
        or diag('no close frame');
    ok(!defined $got || $got == 1005 || $got == 1000,
       'empty close echoed empty or with 1000');
}

$t->stop;
done_testing;
