#!/usr/bin/perl
# Relay between the two parties of a call with ack, seq and from; schema
# errors (bad_json, bad_type, bad_field + field, not_allowed, bad_state) that
# never disconnect; a party can never reach another call.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new->start;

my ($c, $a) = $t->call(name => 'Relay Customer', sub => 'relay-agent');
my %last_seq = (c => $c->{accepted}{seq}, a => $a->{accepted}{seq});
like($last_seq{c}, qr/^\d+$/, 'customer accepted seq');
like($last_seq{a}, qr/^\d+$/, 'agent accepted seq');

my $n = 0;
# send from one side, check ack to the sender and the relayed copy
sub relay_ok {
    my ($from, $to, $msg, $name) = @_;
    my ($fw, $tw, $tk) = $from eq 'customer' ? ($c, $a, 'a') : ($a, $c, 'c');
    my $id = 'm' . ++$n;
    $fw->send_json({ %$msg, id => $id });
    my $ack = $fw->wait_for('ack', 5, sub { ($_[0]{id} // '') eq $id });
    ok($ack, "$name: ack to the sender") or diag(json_encode($fw->{inbox}));
    is_deeply([ sort keys %$ack ], [qw(id type)], "$name: ack is {type,id}")
        if $ack;
    my $got = $tw->wait_for($msg->{type}, 5);
    ok($got, "$name: relayed to the peer") or return;
    is($got->{from}, $from, "$name: from $from");
    is($got->{seq}, $last_seq{$tk} + 1, "$name: seq grows by one")
        or diag(json_encode($got));
    $last_seq{$tk} = $got->{seq};
    ok(!exists $got->{id}, "$name: the sender's id is not relayed");
    for my $k (keys %$msg) {
        is_deeply($got->{$k}, $msg->{$k}, "$name: member $k relayed");
    }
    my %allowed = map { $_ => 1 } keys(%$msg), qw(from seq ts);
    my @extra = grep { !$allowed{$_} } keys %$got;
    ok(!@extra, "$name: no unexpected members") or diag("@extra");
    return $got;
}

my $sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
relay_ok('agent', 'customer', { type => 'offer', sdp => $sdp }, 'offer a->c');
relay_ok('customer', 'agent', { type => 'answer', sdp => $sdp }, 'answer c->a');
relay_ok('customer', 'agent', { type => 'offer', sdp => $sdp }, 'offer c->a');
relay_ok('agent', 'customer', { type => 'answer', sdp => 'v=0' }, 'answer a->c');
my $cand = { candidate => 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
             sdpMid => '0', sdpMLineIndex => 0, usernameFragment => 'abcd' };
relay_ok('agent', 'customer', { type => 'ice', candidate => $cand }, 'ice a->c');
relay_ok('customer', 'agent',
         { type => 'ice', candidate => { candidate => 'candidate:2 1 udp 1 127.0.0.1 1 typ host',
                                         sdpMid => undef, sdpMLineIndex => undef } },
         'ice with null members');
relay_ok('customer', 'agent', { type => 'ice', candidate => undef },
         'ice end-of-candidates (null)');
my $ch = relay_ok('customer', 'agent',
                  { type => 'chat', text => "Merhaba, \x{15F}\x{131}\x{11F} \x{1F600}\nline\ttab" },
                  'chat c->a (UTF-8, newline, tab)');
like($ch->{ts} // '', qr/^\d{13}$/, 'chat carries ts in ms') if $ch;
ok(abs(($ch->{ts} // 0) / 1000 - time()) < 60, 'ts is now') if $ch;
relay_ok('agent', 'customer', { type => 'chat', text => 'x' x 2000 },
         'chat of 2000 characters');
relay_ok('customer', 'agent', { type => 'chat', text => "\x{15F}" x 2000 },
         'chat of 2000 Turkish characters (4000 bytes)');
relay_ok('customer', 'agent', { type => 'chat', text => "\x{1F600}" x 2000 },
         'chat of 2000 characters of 4 bytes');
relay_ok('agent', 'customer', { type => 'media', audio => JSON::PP::false },
         'media audio false');
relay_ok('customer', 'agent',
         { type => 'media', audio => JSON::PP::true, video => JSON::PP::false,
           screen => JSON::PP::true }, 'media all three');

relay_ok('agent', 'customer',
         { type => 'ice', candidate => { candidate => '', sdpMid => '0',
                                         sdpMLineIndex => 0 } },
         'ice with an empty candidate string (browsers end candidates so)');
relay_ok('agent', 'customer',
         { type => 'ice', candidate => { candidate => 'c' x 1024, sdpMid => 'm' x 64,
                                         sdpMLineIndex => 255,
                                         usernameFragment => 'u' x 256 } },
         'ice at every length limit');
relay_ok('customer', 'agent',
         { type => 'offer', sdp => join('', map { "a=x-line-$_:" . ('s' x 80) . "\r\n" } 1 .. 300) },
         'offer of ~30 KB');

# without id: relayed, no ack
$c->send_json({ type => 'chat', text => 'no id' });
my $g = $a->wait_for('chat', 5);
is($g && $g->{text}, 'no id', 'message without id relayed');
$last_seq{a} = $g->{seq} if $g;
$c->send_json({ type => 'chat', text => 'sync', id => 'sync1' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'sync1' }), 'later ack arrives');
ok(!(grep { $_->{type} eq 'ack' && !defined $_->{id} } @{ $c->{inbox} }),
   'no ack for the message without id');
$g = $a->wait_for('chat', 5);
$last_seq{a} = $g->{seq} if $g;

# --- schema errors: error with code (and field), echo id, never disconnect
my $e = 0;
sub err_ok {
    my ($ws, $raw, $code, $field, $name) = @_;
    my $id = 'e' . ++$e;
    my $text = ref $raw ? json_encode({ %$raw, id => $id }) : $raw;
    $ws->send_text($text);
    my $err = $ws->wait_for('error', 5, sub {
        !ref $raw || ($_[0]{id} // '') eq $id });
    ok($err, "$name: error") or return diag(json_encode($ws->{inbox}));
    if (defined $code) {
        is($err->{code}, $code, "$name: code $code")
            or diag("message: $err->{message}");
    } else {
        like($err->{code}, qr/^(bad_json|bad_field)$/,
             "$name: code bad_json or bad_field");
    }
    ok(defined $err->{message} && length $err->{message},
       "$name: has a message");
    is($err->{field}, $field, "$name: field $field") if defined $field;
    is($err->{id}, $id, "$name: error echoes the id") if ref $raw;
    # still connected, still in the call
    my $pid = 'p' . $e;
    $ws->send_json({ type => 'media', video => JSON::PP::true, id => $pid });
    ok($ws->wait_for('ack', 5, sub { ($_[0]{id} // '') eq $pid }),
       "$name: connection and call survive");
    my $peer = $ws == $c ? $a : $c;
    my $m = $peer->wait_for('media', 5);
    ($ws == $c ? $last_seq{a} : $last_seq{c}) = $m->{seq} if $m;
    return $err;
}

err_ok($c, 'not json', 'bad_json', undef, 'garbage text');
err_ok($c, '[1,2]', 'bad_json', undef, 'JSON array');
err_ok($c, '"str"', 'bad_json', undef, 'JSON string');
err_ok($c, 'null', 'bad_json', undef, 'JSON null');
err_ok($c, '{"type":"chat","text":"a"', 'bad_json', undef, 'truncated object');
err_ok($c, '', 'bad_json', undef, 'empty message');
err_ok($c, '{}', 'bad_type', undef, 'no type');
err_ok($c, { type => 42 }, 'bad_type', undef, 'numeric type');
err_ok($c, { type => 'teleport' }, 'bad_type', undef, 'unknown type');
err_ok($c, { type => 'offer' }, 'bad_field', 'sdp', 'offer without sdp');
err_ok($c, { type => 'offer', sdp => '' }, 'bad_field', 'sdp', 'offer with empty sdp');
err_ok($c, { type => 'offer', sdp => 7 }, 'bad_field', 'sdp', 'offer with numeric sdp');
err_ok($c, { type => 'answer', sdp => undef }, 'bad_field', 'sdp', 'answer with null sdp');
err_ok($c, { type => 'offer', sdp => 'v=0', call_id => 'x' x 32 },
       'bad_field', 'call_id', 'relay with a foreign call_id member');
err_ok($a, { type => 'chat', text => 'hi', call_id => $c->{call_id} },
       'bad_field', 'call_id', 'relay addressing a call id (even its own)');
err_ok($a, { type => 'chat', text => 'hi', to => 'customer' },
       'bad_field', 'to', 'relay with a to member');
err_ok($c, { type => 'chat' }, 'bad_field', 'text', 'chat without text');
err_ok($c, { type => 'chat', text => '' }, 'bad_field', 'text', 'empty chat');
err_ok($c, { type => 'chat', text => 'x' x 2001 }, 'bad_field', 'text', 'chat of 2001 characters');
err_ok($c, { type => 'chat', text => "\x{15F}" x 2001 }, 'bad_field', 'text',
       'chat of 2001 Turkish characters');
err_ok($c, { type => 'chat', text => "a\x01b" }, 'bad_field', 'text', 'chat with a control character');
err_ok($c, { type => 'chat', text => "a\rb" }, 'bad_field', 'text', 'chat with CR');
err_ok($c, { type => 'chat', text => ['a'] }, 'bad_field', 'text', 'chat text array');
err_ok($c, { type => 'media' }, 'bad_field', undef, 'media without members');
err_ok($c, { type => 'media', audio => 'yes' }, 'bad_field', 'audio', 'media audio string');
err_ok($c, { type => 'media', video => 1 }, 'bad_field', 'video', 'media video number');
err_ok($c, { type => 'media', audio => JSON::PP::true, mic => JSON::PP::true },
       'bad_field', 'mic', 'media unknown member');
err_ok($c, { type => 'ice' }, 'bad_field', 'candidate', 'ice without candidate');
err_ok($c, { type => 'ice', candidate => 'a=candidate' }, 'bad_field',
       'candidate', 'ice candidate string');
err_ok($c, { type => 'ice', candidate => { sdpMid => '0' } }, 'bad_field',
       undef, 'ice object without candidate');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', sdpMLineIndex => 256 } },
       'bad_field', undef, 'ice sdpMLineIndex 256');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', sdpMLineIndex => -1 } },
       'bad_field', undef, 'ice sdpMLineIndex -1');
err_ok($c, { type => 'ice', candidate => { candidate => 'c' x 1025 } },
       'bad_field', undef, 'ice candidate of 1025 bytes');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', sdpMid => 'm' x 65 } },
       'bad_field', undef, 'ice sdpMid of 65 bytes');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', extra => 1 } },
       'bad_field', undef, 'ice candidate with an unknown member');
err_ok($c, '{"type":"chat","text":"x","id":"bad id!"}', 'bad_field', 'id',
       'id with a space and !');
err_ok($c, '{"type":"chat","text":"x","id":""}', 'bad_field', 'id', 'empty id');
err_ok($c, '{"type":"chat","text":"x","id":"' . ('i' x 65) . '"}', 'bad_field',
       'id', 'id of 65 characters');
err_ok($c, '{"type":"chat","text":"x","id":5}', 'bad_field', 'id', 'numeric id');
err_ok($c, { type => 'hangup', reason => 'bye' }, 'bad_field', 'reason',
       'hangup with an unknown member');
err_ok($c, { type => 'chat', text => 'x', from => 'agent' }, 'bad_field', 'from',
       'chat claiming to be from the agent');
err_ok($c, { type => 'chat', text => 'x', seq => 99 }, 'bad_field', 'seq',
       'chat carrying a seq');
err_ok($c, { type => 'chat', text => 'x', ts => 1 }, 'bad_field', 'ts',
       'chat carrying a ts');
err_ok($c, { type => 'CHAT', text => 'x' }, 'bad_type', undef, 'type in upper case');
err_ok($c, { type => 'chat ', text => 'x' }, 'bad_type', undef, 'type with a space');
err_ok($c, { type => 'media', audio => undef }, 'bad_field', 'audio', 'media audio null');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', usernameFragment => 'u' x 257 } },
       'bad_field', undef, 'ice usernameFragment of 257 bytes');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', sdpMLineIndex => 1.5 } },
       'bad_field', undef, 'ice sdpMLineIndex 1.5');
err_ok($c, { type => 'ice', candidate => { candidate => 'c', sdpMLineIndex => '1' } },
       'bad_field', undef, 'ice sdpMLineIndex as a string');
err_ok($c, '{"type":"ice","candidate":{"candidate":"c","sdpMLineIndex":1e400}}',
       undef, undef, 'ice sdpMLineIndex 1e400');
err_ok($c, '{"type":"chat","text":"a\u0000b"}', undef, undef, 'chat with \\u0000');
err_ok($c, '{"type":"chat","text":"a\ud800b"}', undef, undef, 'chat with a lone surrogate escape');
err_ok($c, ('[' x 20000) . (']' x 20000), 'bad_json', undef, 'nesting 20000 deep');
err_ok($c, '{"type":"chat","text":' . ('{"a":' x 3000) . '1' . ('}' x 3000) . '}',
       undef, undef, 'nested object as chat text');
err_ok($c, '{"type":"chat","text":"x"} trailing', 'bad_json', undef, 'trailing garbage');
err_ok($c, "{\"type\":\"chat\",\"text\":\"x\"}\x00", 'bad_json', undef, 'trailing NUL');
err_ok($c, { type => 'join', name => 'again' }, 'bad_state', undef,
       'join during a call');
err_ok($a, { type => 'accept' }, 'bad_state', undef, 'accept during a call');
err_ok($a, { type => 'join', name => 'x' }, 'not_allowed', undef, 'agent join');

# id charset: all allowed characters, 64 long
{
    my $id = join '', ('A' .. 'Z', 'a' .. 'z', '0' .. '9', '_', '.', ':', '-');
    $id = substr($id x 2, 0, 64);
    $c->send_json({ type => 'chat', text => 'id test', id => $id });
    ok($c->wait_for('ack', 5, sub { ($_[0]{id} // '') eq $id }),
       'id of 64 allowed characters acked');
    my $m = $a->wait_for('chat', 5);
    $last_seq{a} = $m->{seq} if $m;
}

# --- relay outside a call: bad_state, and nobody receives it
my $w = $t->customer('Waiting');
$w->send_json({ type => 'offer', sdp => 'v=0', id => 'o1' });
my $we = $w->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'o1' });
is($we && $we->{code}, 'bad_state', 'waiting customer relays: bad_state');
$w->send_json({ type => 'chat', text => 'hello?', id => 'o2' });
$we = $w->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'o2' });
is($we && $we->{code}, 'bad_state', 'waiting customer chats: bad_state');
my $idle = $t->agent(sub => 'idle-agent');
$idle->send_json({ type => 'chat', text => 'anyone?', id => 'o3' });
$we = $idle->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'o3' });
is($we && $we->{code}, 'bad_state', 'idle agent chats: bad_state');
$idle->send_json({ type => 'hangup', id => 'o4' });
$we = $idle->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'o4' });
is($we && $we->{code}, 'bad_state', 'idle agent hangs up: bad_state');

# --- join validation and the customer's first message
{
    my $f = $t->ws_connect('/ws/customer');
    my $k = 0;
    for my $case (
        [ { type => 'chat', text => 'first' }, 'bad_state', undef, 'chat as first message' ],
        [ { type => 'cancel' }, 'bad_state', undef, 'cancel as first message' ],
        [ { type => 'join' }, 'bad_field', 'name', 'join without name' ],
        [ { type => 'join', name => '' }, 'bad_field', 'name', 'empty name' ],
        [ { type => 'join', name => '    ' }, 'bad_field', 'name', 'name of spaces' ],
        [ { type => 'join', name => 'n' x 65 }, 'bad_field', 'name', 'name of 65 characters' ],
        [ { type => 'join', name => "\x{15F}" x 64 . 'x' }, 'bad_field', 'name',
          'name of 65 characters (129 bytes of UTF-8)' ],
        [ { type => 'join', name => "\x{1F600}" x 64 }, 'bad_field', 'name',
          'name of 64 characters but 256 bytes (over 192)' ],
        [ { type => 'join', name => "a\x07b" }, 'bad_field', 'name', 'name with BEL' ],
        [ { type => 'join', name => "a\nb" }, 'bad_field', 'name', 'name with newline' ],
        [ { type => 'join', name => 42 }, 'bad_field', 'name', 'numeric name' ],
        [ { type => 'join', name => 'ok', role => 'agent' }, 'bad_field', 'role',
          'join with an unknown member' ],
    ) {
        my ($msg, $code, $field, $name) = @$case;
        my $id = 'j' . ++$k;
        $f->send_json({ %$msg, id => $id });
        my $err = $f->wait_for('error', 5, sub { ($_[0]{id} // '') eq $id });
        is($err && $err->{code}, $code, "$name: $code")
            or diag(json_encode($err // $f->{inbox}));
        is($err && $err->{field}, $field, "$name: field $field") if $field;
    }
    ok(!$f->is_closed, 'join errors do not disconnect');
    # limits count characters: 64 Turkish letters are 128 bytes
    my $name64 = "\x{15F}" x 64;
    $f->send_json({ type => 'join', name => $name64, id => 'ok' });
    my $w = $f->wait_for('welcome', 5);
    ok($w, 'name of 64 characters (128 bytes) accepted after the errors');
    my $q = $idle->wait_for('queue', 5, sub {
        grep { $_->{name} eq $name64 } @{ $_[0]{calls} } });
    ok($q, 'the name reaches agents unchanged');
    $f->send_json({ type => 'cancel' });
    $f->wait_for('ended', 5);
}

# --- a second call: messages never cross calls
my ($c2, $a2) = $t->call(name => 'Other', sub => 'other-agent');
$c2->send_json({ type => 'chat', text => 'for other-agent', id => 'x1' });
ok($c2->wait_for('ack', 5, sub { $_[0]{id} eq 'x1' }), 'second call relays');
my $m2 = $a2->wait_for('chat', 5);
is($m2 && $m2->{text}, 'for other-agent', 'second call: right peer');
$c->send_json({ type => 'chat', text => 'for relay-agent', id => 'x2' });
my $m1 = $a->wait_for('chat', 5);
is($m1 && $m1->{text}, 'for relay-agent', 'first call: right peer');
ok(!$a->wait_for('chat', 0.3) && !$a2->wait_for('chat', 0.3)
   && !$idle->wait_for('chat', 0.1) && !$w->wait_for('chat', 0.1),
   'no message leaked to another party');

# --- a burst to a peer that reads: everything arrives, nobody is cut.
# 60 chats of 1900 bytes (~114 KB) stay far below hotline_send_queue (256k).
{
    my $n = 60;
    my $big = 'b' x 1900;
    $a->{inbox} = [];
    $c->{inbox} = [];
    $a->send_raw(join '', map {
        Protocol::WebSocket::Frame->new(
            buffer => json_encode({ type => 'chat', text => "$_ $big", id => "burst$_" }),
            type => 'text', masked => 1, max_payload_size => 0)->to_bytes } 1 .. $n);
    my @got;
    $c->pump_until(10, sub {
        @got = grep { $_->{type} eq 'chat' } @{ $c->{inbox} };
        @got == $n || $c->{closed} });
    is(scalar @got, $n, "a reading peer gets a burst of $n chats (~114 KB)");
    ok(!$c->{closed}, 'the reading peer is not closed')
        or diag('closed with ' . ($c->{close_code} // '?'));
    $a->pump_until(5, sub {
        (grep { ($_->{id} // '') =~ /^burst/ } @{ $a->{inbox} }) == $n });
    my @errs = grep { $_->{type} eq 'error' } @{ $a->{inbox} };
    ok(!@errs, 'the sender gets acks, no errors')
        or diag(scalar(@errs) . ' errors, first ' . json_encode($errs[0]));
}

# --- a later seq never goes backwards on either side
ok(!$c->problems && !$a->problems, 'server frames well-formed')
    or diag($c->problems, $a->problems);

$t->stop;
done_testing;
