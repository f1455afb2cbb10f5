#!/usr/bin/perl
# WebSocket handshake: every reject of docs/protocol.md and a clean upgrade.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use MIME::Base64 qw(encode_base64);
use Hotline::Test qw(random_key ws_accept_for json_decode);

# the allow-list lives in the first server; the second server has none and
# therefore allows its own origin only
(my $conf = $Hotline::Test::DEFAULT_CONF) =~ s/^\s*hotline_allowed_origins .*\n//m;
$conf =~ s/(listen 127\.0\.0\.1:%%PORT%% %%LISTEN%%;\n)/$1        hotline_allowed_origins %%ORIGIN%% %%ORIGINS%%;\n/
    or die "template changed";
my $t = Hotline::Test->new(
    conf    => $conf,
    origins => 'http://app.example:8080 https://Support.Example.COM '
               . 'http://dflt.example:80',
    servers => <<'EOS',
    server {
        listen 127.0.0.1:%%PORT2%%;
        location = /ws/customer { hotline_signaling customer; }
    }
EOS
);
$t->start;

my $port = $t->port;
# the server's own origin, http:// or https:// (make test-tls), and the
# other scheme
my $own = $t->origin;
my ($scheme) = $own =~ /^(\w+)/;
my $other = $scheme eq 'https' ? 'http' : 'https';

sub is_error {
    my ($r, $status, $name) = @_;
    is($r->{status}, $status, "$name: $status")
        or diag("request:\n$r->{request}\nanswer:\n" . ($r->{head} // '')
                . ($r->{body} // ''));
    my $j = eval { json_decode($r->{body} // '') };
    ok($j && ref $j eq 'HASH' && defined $j->{error} && !ref $j->{error}
       && defined $j->{message}, "$name: JSON error body")
        or diag("body: " . ($r->{body} // ''));
    return $j;
}

# --- method
for my $m (qw(POST PUT DELETE)) {
    my $r = $t->handshake_raw(method => $m, body => '');
    is_error($r, 405, "$m");
    like(join(',', @{ $r->{headers}{allow} || [] }), qr/\bGET\b/,
         "$m: Allow: GET");
}

# --- Upgrade / Connection
for my $case (
    [ 'no Upgrade',           [ Upgrade => undef ] ],
    [ 'Upgrade: h2c',         [ Upgrade => 'h2c' ] ],
    [ 'no Connection',        [ Connection => undef ] ],
    [ 'Connection keep-alive', [ Connection => 'keep-alive' ] ],
    [ 'Connection upgraded-not-token', [ Connection => 'upgraded' ] ],
) {
    my ($name, $h) = @$case;
    my $r = $t->handshake_raw(headers => $h);
    is_error($r, 426, $name);
    like($r->{headers}{upgrade}[0] // '', qr/^websocket$/i,
         "$name: Upgrade: websocket");
}

# --- version
for my $v ('8', '12', '14', '13x') {
    my $r = $t->handshake_raw(headers => [ 'Sec-WebSocket-Version' => $v ]);
    is_error($r, 426, "version $v");
    is($r->{headers}{'sec-websocket-version'}[0], '13',
       "version $v: Sec-WebSocket-Version: 13");
}
{
    my $r = $t->handshake_raw(headers => [ 'Sec-WebSocket-Version' => undef ]);
    is_error($r, 426, "no version");
}

# --- key
for my $case (
    [ 'no key',            undef ],
    [ 'key not base64',    '!!!!not*base64!!!!!!!==' ],
    [ 'key of 15 bytes',   encode_base64('x' x 15, '') ],
    [ 'key of 17 bytes',   encode_base64('x' x 17, '') ],
    [ 'key empty',         '' ],
    [ 'key base64 without padding', substr(random_key(), 0, 22) ],
) {
    my ($name, $k) = @$case;
    my $r = $t->handshake_raw(headers => [ 'Sec-WebSocket-Key' => $k ]);
    is_error($r, 400, $name);
}

# --- Origin
for my $o (
    undef,
    'http://evil.com',
    'null',
    "http://127.0.0.1:$port.evil.com",
    "http://127.0.0.1:${port}0",
    "http://127.0.0.1:" . substr($port, 0, -1),
    "$other://127.0.0.1:$port",
    "$own/",
    "$own/path",
    "http://127.0.0.1",
    "http://app.example:8080.evil.com",
    "http://app.example:80800",
    "http://app.example:808",
    "http://app.example",
    "http://evil.app.example:8080",
    "http://app.example:8080\@evil.com",
    "https://support.example.com.evil.com",
    "http://support.example.com",
    "http://localhost:$port",
) {
    my $r = $t->handshake_raw(headers => [ Origin => $o ]);
    is_error($r, 403, 'Origin ' . ($o // 'missing'));
}
for my $o ($own, 'http://app.example:8080',
           'https://support.example.com', uc($scheme) . "://127.0.0.1:$port",
           'http://APP.example:8080') {
    my $r = $t->handshake_raw(headers => [ Origin => $o ]);
    is($r->{status}, 101, "Origin $o allowed") or diag($r->{head});
    close $r->{sock};
}

# ports compare as written (docs/directives.md: "the port must be written as
# the browser sends it"): an allow-list entry with :80 admits exactly that
{
    my $r = $t->handshake_raw(headers => [ Origin => 'http://dflt.example:80' ]);
    is($r->{status}, 101, 'allow-list http://dflt.example:80 admits it as written')
        or diag($r->{head});
    close $r->{sock};
    $r = $t->handshake_raw(headers => [ Origin => 'http://dflt.example' ]);
    is_error($r, 403, 'http://dflt.example without the port is compared exactly');
    $r = $t->handshake_raw(headers => [ Origin => 'http://dflt.example:8080' ]);
    is_error($r, 403, 'http://dflt.example:8080 is another origin');
}

# without hotline_allowed_origins: only the server's own origin
{
    my $p2 = $t->port2;
    my $r = $t->handshake_raw(port => $p2,
                              headers => [ Origin => "http://127.0.0.1:$p2" ]);
    is($r->{status}, 101, 'same origin allowed by default') or diag($r->{head});
    close $r->{sock};
    for my $o ("http://127.0.0.1:$port", "http://127.0.0.1:${p2}1",
               "http://127.0.0.1:$p2.evil.com", 'http://evil.com') {
        $r = $t->handshake_raw(port => $p2, headers => [ Origin => $o ]);
        is_error($r, 403, "default same-origin: $o rejected");
    }
}

# --- agent authentication (details in t/17-jwt.t)
{
    my $r = $t->handshake_raw(path => '/ws/agent');
    is_error($r, 401, 'agent without token');
    $r = $t->handshake_raw(path => '/ws/agent',
                           headers => [ Authorization => 'Bearer abc.def.ghi' ]);
    is_error($r, 401, 'agent with bad token');
    $r = $t->handshake_raw(path => '/ws/agent',
        headers => [ Authorization => 'Bearer '
            . $t->mint_jwt(-key => 'x' x 48) ]);
    is_error($r, 401, 'agent with token signed by another key');
}

# the Origin check guards the agent endpoint too, before authentication
{
    my $jwt = $t->mint_jwt(sub => 'origin-agent');
    my $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Origin => 'http://evil.com', Authorization => "Bearer $jwt" ]);
    is_error($r, 403, 'agent with a valid token from a foreign origin');
    $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Origin => undef, Authorization => "Bearer $jwt" ]);
    is_error($r, 403, 'agent with a valid token and no Origin');
    $r = $t->handshake_raw(path => '/ws/agent',
                           headers => [ Authorization => 'Basic YWdlbnQ6cHc=' ]);
    is_error($r, 401, 'agent with Basic credentials');
    $r = $t->handshake_raw(path => '/ws/agent',
                           headers => [ Authorization => "Bearer" ]);
    is_error($r, 401, 'agent with an empty Bearer');
}

# --- successful upgrade
{
    my $key = random_key();
    my $r = $t->handshake_raw(key => $key);
    is($r->{status}, 101, 'customer upgrade: 101');
    is($r->{headers}{'sec-websocket-accept'}[0], ws_accept_for($key),
       'Sec-WebSocket-Accept matches the key');
    like($r->{headers}{upgrade}[0] // '', qr/^websocket$/i, 'Upgrade: websocket');
    like($r->{headers}{connection}[0] // '', qr/\bupgrade\b/i,
         'Connection: upgrade');
    ok(!$r->{headers}{'sec-websocket-protocol'},
       'no subprotocol selected when none offered');
    close $r->{sock};
}
{
    # header names/values are case-insensitive, Connection is a token list
    my $key = random_key();
    my $r = $t->handshake_raw(key => $key, headers => [
        Upgrade => 'WebSocket', Connection => 'keep-alive, Upgrade' ]);
    is($r->{status}, 101, 'Upgrade: WebSocket, Connection: keep-alive, Upgrade');
    is($r->{headers}{'sec-websocket-accept'}[0], ws_accept_for($key),
       '... accept ok');
    close $r->{sock};
}
{
    my $r = $t->handshake_raw(headers => [
        'Sec-WebSocket-Protocol' => 'chat.v2, hotline.v1' ]);
    is($r->{status}, 101, 'upgrade with subprotocols');
    is($r->{headers}{'sec-websocket-protocol'}[0], 'hotline.v1',
       'hotline.v1 selected');
    close $r->{sock};
    $r = $t->handshake_raw(headers => [ 'Sec-WebSocket-Protocol' => 'chat.v2' ]);
    ok(!$r->{headers}{'sec-websocket-protocol'}
       || $r->{status} != 101, 'an unknown subprotocol is never selected');
    close $r->{sock};
}
{
    # the independent client library accepts the handshake and the session
    my $ws = $t->ws_connect('/ws/customer', subprotocol => 'hotline.v1');
    is($ws->{subprotocol}, 'hotline.v1', 'Protocol::WebSocket sees hotline.v1');
    $ws->send_json({ type => 'join', name => "Ay\x{15F}e" });
    my $w = $ws->wait_for('welcome', 5);
    ok($w, 'customer gets welcome after join');
    is($w->{role}, 'customer', 'welcome role customer');
    like($w->{resume} // '', qr/^[0-9a-f]{32}$/, 'resume token: 32 hex digits');
    ok(defined $w->{call_id} && length $w->{call_id}, 'call_id present');
    ok(JSON::PP::is_bool($w->{resumed}) && !$w->{resumed}, 'resumed: false');
    ok(!exists $w->{gap}, 'no gap member outside a resume');
    ok(!$ws->problems, 'server frames are well-formed') or diag($ws->problems);

    my $a = $t->agent(sub => 'mehmet');
    is($a->{welcome}{role}, 'agent', 'agent welcome role agent');
    is($a->{welcome}{agent}, 'mehmet', 'agent welcome carries sub');
    is(ref $a->{queue}{calls}, 'ARRAY', 'agent gets queue snapshot at once');
}

# no extension is ever negotiated (the module implements none)
{
    my $r = $t->handshake_raw(headers => [
        'Sec-WebSocket-Extensions' => 'permessage-deflate; client_max_window_bits' ]);
    is($r->{status}, 101, 'upgrade offering permessage-deflate');
    ok(!$r->{headers}{'sec-websocket-extensions'}, '... no extension accepted');
    my $ws = Hotline::Test::WS->new($r->{sock}, $r->{rest});
    $ws->send_json({ type => 'join', name => 'NoDeflate' });
    ok($ws->wait_for('welcome', 5), '... and plain frames work');
}

# RFC 6455 11.3.1: Sec-WebSocket-Key must not appear more than once
{
    my $port = $t->port;
    my $req = "GET /ws/customer HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: " . random_key() . "\r\n"
            . "Sec-WebSocket-Key: " . random_key() . "\r\n"
            . "Sec-WebSocket-Version: 13\r\nOrigin: " . $t->origin . "\r\n\r\n";
    my $r = $t->http_raw($req, head_only => 1);
    is($r->{status}, 400, 'two Sec-WebSocket-Key headers: 400') or diag($r->{head});
}

# two Origin headers (an allowed one and a foreign one) are not an allowed origin
for my $order ([ 'http://evil.com', undef ], [ undef, 'http://evil.com' ]) {
    my $port = $t->port;
    my @o = map { $_ // $t->origin } @$order;
    my $req = "GET /ws/customer HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: " . random_key() . "\r\n"
            . "Sec-WebSocket-Version: 13\r\n"
            . "Origin: $o[0]\r\nOrigin: $o[1]\r\n\r\n";
    my $r = $t->http_raw($req, head_only => 1);
    is($r->{status}, 403, "two Origin headers ($o[0] first): 403") or diag($r->{head});
}

# RFC 6455 4.1: the request must be at least HTTP/1.1
{
    my $port = $t->port;
    my $req = "GET /ws/customer HTTP/1.0\r\nHost: 127.0.0.1:$port\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: " . random_key() . "\r\n"
            . "Sec-WebSocket-Version: 13\r\nOrigin: " . $t->origin . "\r\n\r\n";
    my $r = $t->http_raw($req, head_only => 1);
    ok($r->{status} && $r->{status} >= 400 && $r->{status} < 500,
       'an HTTP/1.0 upgrade request gets a 4xx') or diag($r->{head} // 'no answer');
}

# frames sent in the same write as the upgrade request are not lost
{
    my $key = random_key();
    my $port = $t->port;
    my $req = "GET /ws/customer HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n"
            . "Origin: " . $t->origin . "\r\n\r\n"
            . Hotline::Test::raw_frame(payload => '{"type":"join","name":"Eager"}')
            . Hotline::Test::raw_frame(opcode => 9, payload => 'eager-ping');
    my $r = $t->http_raw($req, head_only => 1);
    is($r->{status}, 101, 'upgrade with frames in the same packet');
    my $ws = Hotline::Test::WS->new($r->{sock}, $r->{rest});
    ok($ws->wait_for('welcome', 5), 'the pipelined join is handled');
    ok($ws->pump_until(5, sub { @{ $ws->{pongs} } }), 'the pipelined ping is answered');
    is($ws->{pongs}[0], 'eager-ping', '... with its payload');
}

# Sec-WebSocket-Protocol may come as several header lines (RFC 6455 11.3.4)
{
    my $jwt = $t->mint_jwt(sub => 'split-proto');
    my $r = $t->handshake_raw(path => '/ws/agent', headers => [
        'Sec-WebSocket-Protocol' => 'hotline.v1' ]);
    is($r->{status}, 401, 'agent offering only hotline.v1: 401');
    my $req = $r->{request};
    my $port = $t->port;
    my $key = random_key();
    $req = "GET /ws/agent HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
         . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
         . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n"
         . "Origin: " . $t->origin . "\r\n"
         . "Sec-WebSocket-Protocol: hotline.v1\r\n"
         . "Sec-WebSocket-Protocol: bearer.$jwt\r\n\r\n";
    $r = $t->http_raw($req, head_only => 1);
    is($r->{status}, 101, 'hotline.v1 and bearer.<jwt> on two header lines');
    is_deeply($r->{headers}{'sec-websocket-protocol'}, ['hotline.v1'],
              '... hotline.v1 selected');
    close $r->{sock} if $r->{sock};
}

# the auth scheme is case-insensitive (RFC 7235 2.1)
{
    my $jwt = $t->mint_jwt(sub => 'lower-bearer');
    my $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Authorization => "bearer $jwt" ]);
    is($r->{status}, 101, 'Authorization: bearer (lower case)');
    close $r->{sock} if $r->{sock};
}

$t->stop;
done_testing;
