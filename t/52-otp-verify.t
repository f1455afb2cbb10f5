#!/usr/bin/perl
# hotline_otp_verify: the code read from the Telegram stand-in logs the
# agent in; the token verifies with an independent JWT library (Crypt::JWT)
# and carries sub, role, iat, exp (hotline_jwt_ttl), a 128-bit jti; the
# session cookie has exactly the __Host- attributes; a code works once;
# a newer code replaces the older one; wrong codes, other users' codes and
# names that are no agent fail with 401; bad bodies get 400.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT qw(decode_jwt);
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(post_json otp_request otp_code otp_verify login);

my ($t, $tg) = HotlineAuth->nginx(http => "hotline_jwt_ttl 2h;\n");

my $m0 = $t->metrics;

my $before = time;
my $r = login($t, $tg, 'alice', '4242');
my $after = time;
is($r->{status}, 200, 'alice logs in with the code from Telegram');
my $j = $r->{json} || {};
my $jwt = $j->{token} // '';

my $claims = eval { decode_jwt(token => $jwt, key => $t->secret,
                               accepted_alg => ['HS256'], verify_exp => 1) };
ok($claims, 'Crypt::JWT verifies the token with the shared key')
    or diag($@);
$claims ||= {};
is($claims->{sub}, 'alice', 'sub');
is($claims->{role}, 'agent', 'role agent');
like($claims->{jti} // '', qr/\A[0-9a-f]{32}\z/, 'jti: 128 bits in hex');
ok($claims->{iat} >= $before - 1 && $claims->{iat} <= $after + 1, 'iat now');
is($claims->{exp} - $claims->{iat}, 7200, 'exp = iat + hotline_jwt_ttl 2h');
is($claims->{name}, 'Alice Agent', 'name: the display name (shown to customers)');
is_deeply([sort keys %$claims], [qw(exp iat jti name role sub)], 'those claims only');
my ($hdr) = eval { decode_jwt(token => $jwt, key => $t->secret,
                              decode_header => 1) };
is($hdr->{alg}, 'HS256', 'header alg HS256');

ok(!eval { decode_jwt(token => $jwt, key => 'x' x 48); 1 },
   'and it does not verify with another key');

is($j->{expires_at}, $claims->{exp}, 'body: expires_at = exp');
is($j->{expires_in}, 7200, 'body: expires_in');
is($j->{token_type}, 'Bearer', 'body: token_type');
is($j->{sub}, 'alice', 'body: sub');
is($j->{name}, 'Alice Agent', 'body: the display name');
is($r->{headers}{'cache-control'}[0], 'no-store', 'Cache-Control: no-store');

my @cookies = @{ $r->{headers}{'set-cookie'} || [] };
is(scalar @cookies, 1, 'one Set-Cookie');
is($cookies[0], "__Host-hotline_session=$jwt; Path=/; Secure; HttpOnly; "
                . "SameSite=Strict; Max-Age=7200",
   'cookie: __Host- prefix, Path=/, Secure, HttpOnly, SameSite=Strict, '
   . 'Max-Age = ttl');

# the token opens the guarded location and the agent WebSocket
$r = $t->http_get('/api/me', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'Bearer token: the guarded location answers');
like($r->{body}, qr/^sub=alice role=agent jti=$claims->{jti} exp=$claims->{exp}$/m,
     'claims as variables');
$r = $t->http_get('/api/me', headers => [[Cookie => "__Host-hotline_session=$jwt"]]);
is($r->{status}, 200, 'cookie: the guarded location answers');
{
    my $ws = $t->ws_connect('/ws/agent', token => $jwt);
    my $w = $ws->wait_for('welcome', 5);
    is($w && $w->{agent}, 'alice', 'the issued token opens the agent WebSocket');
    $ws->drop;
    $ws = $t->ws_connect('/ws/agent', subprotocol => "hotline.v1, bearer.$jwt");
    $w = $ws->wait_for('welcome', 5);
    is($w && $w->{agent}, 'alice', 'also as a bearer.<jwt> subprotocol');
    $ws->drop;
}

# --- single use ------------------------------------------------------------

my $used = otp_code($tg, '4242', 1);
$r = otp_verify($t, 'alice', $used);
is($r->{status}, 401, 'the same code again: 401');
is(eval { json_decode($r->{body})->{error} }, 'invalid_code', 'invalid_code');
ok(!$r->{headers}{'set-cookie'}, 'no cookie on failure');

# two verifications racing for one code: exactly one wins
{
    otp_request($t, 'bob');
    my $code = otp_code($tg, '-1001234567');
    my @socks = map { $t->connect_tcp } 1 .. 2;
    my $body = Hotline::Test::json_encode({ username => 'bob', code => $code });
    my $req = "POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            . "Content-Type: application/json\r\nConnection: close\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
    Hotline::Test::write_all($_, $req) for @socks;
    my @st = sort map { Hotline::Test::read_http_response($_, 5)->{status} }
             @socks;
    is_deeply(\@st, [200, 401], 'a code raced on two connections: one 200, one 401');
}

# --- a newer code replaces the older one ------------------------------------

otp_request($t, 'alice');
my $old = otp_code($tg, '4242');
otp_request($t, 'alice');
my $new = otp_code($tg, '4242');
SKIP: {
    skip 'the two codes happen to be equal', 2 if $old eq $new;
    $r = otp_verify($t, 'alice', $old);
    is($r->{status}, 401, 'the older code no longer works');
    $r = otp_verify($t, 'alice', $new);
    is($r->{status}, 200, 'the newer one does');
}

# --- wrong code, another user's code, a name that is no agent -------------

{
    my ($t2, $tg2) = HotlineAuth->nginx;
    otp_request($t2, 'alice');
    my $code = otp_code($tg2, '4242');
    my $wrong = sprintf '%06d', ($code + 1) % 1000000;
    $r = otp_verify($t2, 'alice', $wrong);
    is($r->{status}, 401, 'a wrong code: 401');
    $r = otp_verify($t2, 'bob', $code);
    is($r->{status}, 401, "alice's code for bob: 401");
    $r = otp_verify($t2, 'mallory', $code);
    is($r->{status}, 401, 'a name that is no agent: 401');
    $r = otp_verify($t2, 'alice', $code);
    is($r->{status}, 200, 'the right code after two wrong ones still works');

    # a name that is no agent never logs in, even with "its" code: the
    # request stored one, which was sent nowhere
    otp_request($t2, 'mallory');
    my @st = map { otp_verify($t2, 'mallory', sprintf '%06d', $_)->{status} }
             0 .. 5;
    ok(!(grep { $_ == 200 } @st), 'no agent: no code works')
        or diag("@st");
    $t2->stop;
    $tg2->stop;
}

# --- bad bodies ---------------------------------------------------------------

my @bad = (
    [ 'no code',          '{"username":"alice"}',                 'bad_code' ],
    [ 'code as a number', '{"username":"alice","code":123456}',   'bad_code' ],
    [ 'code of 5 digits', '{"username":"alice","code":"12345"}',  'bad_code' ],
    [ 'code of 7 digits', '{"username":"alice","code":"1234567"}', 'bad_code' ],
    [ 'code with a letter', '{"username":"alice","code":"12a456"}', 'bad_code' ],
    [ 'code with a space', '{"username":"alice","code":" 23456"}', 'bad_code' ],
    [ 'extra member', '{"username":"alice","code":"123456","x":1}', 'bad_json' ],
    [ 'bad username', '{"username":"ALICE","code":"123456"}', 'bad_username' ],
);
for my $case (@bad) {
    my ($name, $body, $err) = @$case;
    $r = post_json($t, '/auth/verify', $body);
    is($r->{status}, 400, "$name: 400");
    is(eval { json_decode($r->{body})->{error} }, $err, "$name: $err");
}
$r = $t->http_get('/auth/verify');
is($r->{status}, 405, 'GET /auth/verify: 405');

# --- metrics ------------------------------------------------------------------

my $m = $t->metrics;
ok($m->{'hotline_auth_total{result="ok"}'}
   - ($m0->{'hotline_auth_total{result="ok"}'} // 0) >= 3,
   'logins counted as ok');
ok($m->{'hotline_auth_total{result="failed"}'}
   - ($m0->{'hotline_auth_total{result="failed"}'} // 0) >= 2,
   'failures counted as failed');

$t->stop;
$tg->stop;
done_testing;
