#!/usr/bin/perl
# hotline_auth_jwt: an access check for any location.  Tokens minted by
# Crypt::JWT with the shared key pass (Authorization: Bearer or the session
# cookie) and their claims reach the proxied request as variables; no
# token, alg none, HS512/HS384, a tampered or foreign signature, expired,
# not yet valid, a role other than agent: 401 with a JSON body and
# WWW-Authenticate: Bearer; the same tokens are refused by the agent
# WebSocket handshake.  "satisfy any" lets allow/deny decide; "off" in a
# nested location lifts the check.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use Hotline::Test qw(json_encode json_decode);
use HotlineAuth qw(api_get);

# (carol and dave get their tokens from elsewhere: listed all the same)
my ($t, $tg) = HotlineAuth->nginx(no_telegram => 1,
    agents => $HotlineAuth::AGENTS
              . "hotline_agent carol chat=3;\nhotline_agent dave chat=4;\n",
    server => <<'EOF');
location /any/ {
    satisfy any;
    allow 10.255.255.1;
    deny all;
    hotline_auth_jwt on;
    proxy_pass %%SCHEME%%://127.0.0.1:%%PORT%%/echo/;
    proxy_set_header X-Jwt-Sub $hotline_jwt_sub;
}
location /any-local/ {
    satisfy any;
    allow 127.0.0.1;
    deny all;
    hotline_auth_jwt on;
    proxy_pass %%SCHEME%%://127.0.0.1:%%PORT%%/echo/;
}
location = /metrics-agents {
    hotline_auth_jwt on;
    hotline_metrics;
}
location /api/public/ {
    hotline_auth_jwt off;
    proxy_pass %%SCHEME%%://127.0.0.1:%%PORT%%/echo/;
    proxy_set_header X-Jwt-Sub $hotline_jwt_sub;
}
EOF
$tg->stop;
my $now = time;

# --- good tokens -----------------------------------------------------------

my $jwt = $t->mint_jwt(sub => 'carol', jti => 'j-1', exp => $now + 600,
                       nbf => $now - 5);
my $r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'Crypt::JWT token as Bearer: 200');
is($r->{body}, "sub=carol role=agent jti=j-1 exp=" . ($now + 600) . "\n",
   '$hotline_jwt_sub/_role/_jti/_exp in the proxied request');
ok(!$r->{headers}{'www-authenticate'}, 'no WWW-Authenticate on success');

$r = api_get($t, '/api/x', headers => [[Cookie => "a=b; __Host-hotline_session=$jwt; c=d"]]);
is($r->{status}, 200, 'the same token in the session cookie: 200');

$r = api_get($t, '/api/x', headers => [[Authorization => "bearer $jwt"]]);
is($r->{status}, 200, 'the auth scheme is case-insensitive');

my $nojti = $t->mint_jwt(sub => 'dave');
$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $nojti"]]);
is($r->{status}, 200, 'a token without jti: 200');
like($r->{body}, qr/^sub=dave role=agent jti= exp=\d+$/m, 'empty jti');

# --- bad tokens -------------------------------------------------------------

sub handcraft {
    my ($header, $claims, $key) = @_;
    my $si = encode_base64url(json_encode($header)) . '.'
           . encode_base64url(json_encode($claims));
    return "$si." . encode_base64url(hmac_sha256($si, $key // $t->secret));
}
my %good = (sub => 'carol', role => 'agent', exp => $now + 600);

my @bad = (
    [ 'alg none',          $t->mint_jwt(-alg => 'none') ],
    [ 'alg none, HS256 signature kept', do {
          my @p = split /\./, handcraft({ alg => 'HS256' }, \%good);
          encode_base64url(json_encode({ alg => 'none' })) . ".$p[1].$p[2]" } ],
    [ 'alg HS512',         $t->mint_jwt(-alg => 'HS512') ],
    [ 'alg HS384',         $t->mint_jwt(-alg => 'HS384') ],
    [ 'tampered payload',  do {
          my @p = split /\./, $t->mint_jwt(sub => 'carol');
          $p[1] = encode_base64url(json_encode({ %good, sub => 'admin' }));
          join '.', @p } ],
    [ 'tampered signature', do {
          my $s = $t->mint_jwt;
          substr($s, -2, 1) = substr($s, -2, 1) eq 'A' ? 'B' : 'A';
          $s } ],
    [ 'foreign key',       $t->mint_jwt(-key => 'k' x 48) ],
    [ 'expired',           $t->mint_jwt(exp => $now - 60) ],
    [ 'nbf in the future', $t->mint_jwt(nbf => $now + 600) ],
    [ 'role customer',     $t->mint_jwt(role => 'customer') ],
    [ 'no role',           $t->mint_jwt(role => undef) ],
    [ 'no exp',            $t->mint_jwt(exp => undef) ],
    [ 'garbage',           'x.y.z' ],
);

for my $case (@bad) {
    my ($name, $tok) = @$case;
    for my $carrier ('bearer', 'cookie') {
        my $h = $carrier eq 'bearer' ? [Authorization => "Bearer $tok"]
                                     : [Cookie => "__Host-hotline_session=$tok"];
        $r = api_get($t, '/api/x', headers => [$h]);
        is($r->{status}, 401, "$name ($carrier): 401");
        is(eval { json_decode($r->{body})->{error} }, 'unauthorized',
           "$name ($carrier): JSON error");
        like($r->{headers}{'www-authenticate'}[0] // '',
             qr/\ABearer realm="hotline", error="invalid_token"\z/,
             "$name ($carrier): WWW-Authenticate: Bearer, invalid_token");
    }
    my $hs = $t->handshake_raw(path => '/ws/agent',
                               headers => [Authorization => "Bearer $tok"]);
    is($hs->{status}, 401, "$name: the agent WebSocket refuses it too");
    close $hs->{sock} if $hs->{sock};
}

$r = api_get($t, '/api/x');
is($r->{status}, 401, 'no token: 401');
is($r->{headers}{'www-authenticate'}[0], 'Bearer realm="hotline"',
   'no token: WWW-Authenticate: Bearer realm="hotline"');
$r = api_get($t, '/api/x', headers => [[Authorization => "Basic dXNlcjpwYXNz"]]);
is($r->{status}, 401, 'Basic credentials: 401');
$r = $t->http_raw("POST /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  . "Content-Length: 5\r\n\r\nhello");
is($r->{status}, 401, 'POST with a body and no token: 401');

# --- other locations --------------------------------------------------------

$r = api_get($t, '/open/x', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{body}, "sub= role= jti= exp=\n",
   'without the check the variables are empty (nothing verified)');

$r = api_get($t, '/api/public/x');
is($r->{status}, 200, 'hotline_auth_jwt off in a nested location: no check');

$r = api_get($t, '/any/x');
is($r->{status}, 401, 'satisfy any, no token, address denied: 401');
is($r->{headers}{'www-authenticate'}[0], 'Bearer realm="hotline"',
   'with WWW-Authenticate (the body is nginx\'s own)');
$r = api_get($t, '/any-local/x');
is($r->{status}, 200, 'satisfy any, no token, address allowed: 200');
$r = api_get($t, '/any/x', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'satisfy any with a good token: 200');
like($r->{body}, qr/^sub=carol /, 'and the claims');

# the module's own handlers can be guarded too
$r = api_get($t, '/metrics-agents');
is($r->{status}, 401, 'a guarded hotline_metrics: 401 without a token');
$r = api_get($t, '/metrics-agents', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'and 200 with one');
like($r->{body}, qr/hotline_auth_total/, 'the metrics');

$r = api_get($t, '/', headers => []);
is($r->{status}, 200, 'a location without the directive is open');

# nothing of the tokens in the logs
my $logs = HotlineAuth::logs_text($t);
ok(!(grep { index($logs, $_->[1]) >= 0 && length $_->[1] > 10 } @bad),
   'no rejected token in the logs');
ok(index($logs, $jwt) < 0, 'no accepted token in the logs');
like($logs, qr/hotline: token rejected: (bad signature|unsupported alg)/,
     'the reasons are logged (info)');

$t->stop;
done_testing;
