#!/usr/bin/perl
# HTTP/2 beside the WebSocket signaling on one TLS server ("http2 on" from
# nginx 1.25.1, "listen ... ssl http2" before): /health, /metrics, the
# login endpoints (JSON bodies read over h2) and a hotline_auth_jwt
# location answer over h2 (curl, verifying the test certificate); a
# WebSocket request that arrives over h2 gets a JSON 426 without the
# connection-specific Upgrade header that h2 forbids (nghttp2's client
# checks the frames), and the same server still takes WebSockets over
# HTTP/1.1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode json_encode);
use HotlineAuth qw(otp_code);

my ($t, $tg) = HotlineAuth->nginx(tls => 1, Hotline::Test::http2_options(),
    agents => $HotlineAuth::AGENTS . "hotline_agent h2-agent chat=6;\n");
my $base = 'https://127.0.0.1:' . $t->port;
my $ca = $t->prefix . '/conf/tls.crt';

# curl over HTTP/2: {version, status, headers{lc => [..]}, body, json}
sub h2 {
    my ($method, $path, %o) = @_;
    my $dir = $t->prefix;
    my @cmd = ('curl', '-sS', '--http2', '--cacert', $ca, '-X', $method,
               '-D', "$dir/h2.head", '-o', "$dir/h2.body",
               '-w', '%{http_version}', '--max-time', '10');
    push @cmd, '-H', $_ for @{ $o{headers} || [] };
    push @cmd, '--data-binary', $o{body} if defined $o{body};
    my $version = Hotline::Test::run_capture(@cmd, "$base$path");
    my %r = (version => $version, headers => {});
    for (split /\r\n/, Hotline::Test::read_file("$dir/h2.head")) {
        $r{status} = $1 if m{^HTTP/\S+ (\d+)};
        push @{ $r{headers}{ lc $1 } }, $2 if /^([^:]+):\s*(.*)$/;
    }
    $r{body} = Hotline::Test::read_file("$dir/h2.body");
    $r{json} = eval { json_decode($r{body}) };
    return \%r;
}

my $r = h2(GET => '/health');
is($r->{version}, '2', '/health: answered over HTTP/2');
is($r->{status}, 200, '/health: 200');
is($r->{json} && $r->{json}{status}, 'ok', '/health: the JSON status');

$r = h2(GET => '/metrics');
is($r->{version}, '2', '/metrics over HTTP/2');
like($r->{body}, qr/^hotline_connections\{role="customer"\} \d+$/m,
     '/metrics: the exposition');

# the login: POST bodies over h2, the code from the Bot API stand-in
my $origin = ['Origin: ' . $t->origin, 'Content-Type: application/json'];
$r = h2(POST => '/auth/otp', headers => $origin,
        body => json_encode({ username => 'alice' }));
is($r->{version}, '2', '/auth/otp over HTTP/2');
is($r->{status}, 202, '/auth/otp: 202') or diag($r->{body});
my $code = otp_code($tg, '4242');
like($code // '', qr/^\d{6}$/, 'the code reached the agent');
$r = h2(POST => '/auth/verify', headers => $origin,
        body => json_encode({ username => 'alice', code => $code }));
is($r->{status}, 200, '/auth/verify over HTTP/2: 200') or diag($r->{body});
my $jwt = $r->{json} && $r->{json}{token};
ok($jwt, 'a token');
like(join(' ', @{ $r->{headers}{'set-cookie'} || [] }), qr/^__Host-/,
     'the session cookie');

$r = h2(GET => '/api/whoami', headers => ["Authorization: Bearer $jwt"]);
is($r->{status}, 200, 'hotline_auth_jwt over HTTP/2: 200');
like($r->{body}, qr/sub=alice /, 'the claims reach the location');
$r = h2(GET => '/api/whoami');
is($r->{status}, 401, 'without a token: 401');
is($r->{json} && $r->{json}{error}, 'unauthorized', 'a JSON error');

# a WebSocket request over h2: a clear error, nothing h2 forbids
for my $path ('/ws/customer', '/ws/agent') {
    $r = h2(GET => $path, headers => ['Origin: ' . $t->origin]);
    is($r->{version}, '2', "$path over HTTP/2");
    is($r->{status}, 426, "$path over HTTP/2: 426");
    is($r->{json} && $r->{json}{error}, 'http1_required',
       "$path over HTTP/2: error http1_required");
    ok(!$r->{headers}{upgrade}, "$path over HTTP/2: no Upgrade header");
    ok(!$r->{headers}{connection}, "$path over HTTP/2: no Connection header");

    my $out = Hotline::Test::run_capture('nghttp', '-v', '-H',
                                         'origin: ' . $t->origin,
                                         "$base$path");
    like($out, qr/:status: 426/, "$path: nghttp2's client reads the answer");
    unlike($out, qr/\[ERROR\]|PROTOCOL_ERROR|INVALID/,
           "$path: and finds no protocol error in it") or diag($out);
}

# and over HTTP/1.1 the same server upgrades (the client offers no ALPN h2)
my $c = $t->customer('Over h1');
ok($c->{sock}->isa('IO::Socket::SSL'), 'a WebSocket over TLS and HTTP/1.1');
is($c->{position}{position}, 1, 'in the queue');
my $a = $t->agent(sub => 'h2-agent');
my ($cc, $aa) = $t->call(customer => $c, agent => $a);
ok($aa->{accepted}, 'a call on the server that speaks h2 too');

# a plain HTTP/1.1 request without Upgrade keeps the RFC 6455 answer
my $h1 = $t->http_get('/ws/customer', headers => [[Origin => $t->origin]]);
is($h1->{status}, 426, 'HTTP/1.1 without Upgrade: 426');
is_deeply($h1->{headers}{upgrade}, ['websocket'],
          'HTTP/1.1: with Upgrade: websocket');
is($h1->{json} && $h1->{json}{error}, 'upgrade_required',
   'HTTP/1.1: error upgrade_required');

$t->stop;
$tg->stop;

done_testing;
