#!/usr/bin/perl
# Agent login on the Redis store, whose answers come later from the event
# loop: every handler takes its asynchronous path (the code endpoints'
# state machines, the access check resuming the phases, the agent
# WebSocket handshake and logout finishing after NGX_DONE).  Login,
# lockout across workers, the access check, logout and the handshake
# refusal work as with the embedded store; codes are stored as HMACs; a
# revocation lives as long as the token would have; while Redis is down
# everything fails closed with 503 on every worker, and every worker
# serves again once it is back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT qw(decode_jwt);
use Hotline::Test qw(json_decode poll_until);
use Hotline::Redis;
use HotlineAuth qw(otp_request otp_code otp_verify login logout api_get
                   worker_request);

plan skip_all => 'redis-server is not installed' unless Hotline::Redis->available;

my $rd = Hotline::Redis->new(prefix => 'hl57:')->start;
my ($t, $tg) = HotlineAuth->nginx(http => $rd->directive . "\n"
                                  . "hotline_otp_ip_rate 600r/m burst=100;\n");
my @pids = $t->worker_pids;

# --- login -------------------------------------------------------------------

my $asked = time;
my $r = otp_request($t, 'alice');
is($r->{status}, 202, 'code request: 202');
my $code = otp_code($tg, '4242');
ok($code, 'the code reached Telegram');
my $stored = $rd->cli('GET', 'hl57:otp:alice');
$stored =~ s/\s+\z//;
like($stored, qr/\A[0-9a-f]{64}\z/, 'Redis holds an HMAC for the code');
ok(index($stored, $code) < 0, 'not the code itself');
my $ttl = $rd->cli('PTTL', 'hl57:otp:alice');
my $asked_gone = time - $asked;
ok($ttl <= 300000 && $ttl >= 300000 - ($asked_gone + 1) * 1000,
   "for 5 minutes ($ttl ms, $asked_gone s after the request)");

$r = otp_verify($t, 'alice', $code);
is($r->{status}, 200, 'login');
my $jwt = $r->{json}{token};
my $claims = eval { decode_jwt(token => $jwt, key => $t->secret) } || {};
is($claims->{sub}, 'alice', 'Crypt::JWT verifies the token');
$r = otp_verify($t, 'alice', $code);
is($r->{status}, 401, 'the code works once');

# --- the access check and the handshake ---------------------------------------

$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'access check: 200');
like($r->{body}, qr/^sub=alice role=agent jti=$claims->{jti} /, 'claims');
$r = api_get($t, '/api/x');
is($r->{status}, 401, 'no token: 401');
my $hs = $t->handshake_raw(path => '/ws/agent',
                           headers => [Authorization => "Bearer $jwt"]);
is($hs->{status}, 101, 'agent WebSocket: 101');
my $ws = Hotline::Test::WS->new($hs->{sock}, $hs->{rest});
my $w = $ws->wait_for('welcome', 5);
is($w && $w->{agent}, 'alice', 'welcome');

# --- logout --------------------------------------------------------------------

$r = logout($t, headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'logout');
is($ws->expect_close(10), 4001, 'the live agent WebSocket is closed: 4001');
$ttl = $rd->cli('TTL', "hl57:revoked:$claims->{jti}");
ok($ttl > 28700 && $ttl <= 28800, "revoked until the token expires ($ttl s)");
for my $pid (@pids) {
    $r = worker_request($t, $pid, sub {
        $t->http_raw("GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     . "Authorization: Bearer $jwt\r\n\r\n", sock => $_[0]);
    });
    is($r->{status}, 401, "worker $pid: the revoked token is refused");
}
$hs = $t->handshake_raw(path => '/ws/agent',
                        headers => [Cookie => "__Host-hotline_session=$jwt"]);
is($hs->{status}, 401, 'the agent WebSocket refuses it: 401');
close $hs->{sock} if $hs->{sock};

# --- lockout across workers ------------------------------------------------------

otp_request($t, 'bob');
my $bob = otp_code($tg, '-1001234567');
my $bob_locked;
for my $i (1 .. 5) {
    my $pid = $pids[$i % 2];
    $bob_locked = time if $i == 5;
    $r = worker_request($t, $pid, sub {
        otp_verify($t, 'bob', sprintf('%06d', ($bob + $i) % 1000000),
                   sock => $_[0]);
    });
    is($r->{status}, $i < 5 ? 401 : 429, "wrong code $i on worker $pid");
}
for my $pid (@pids) {
    $r = worker_request($t, $pid, sub {
        otp_verify($t, 'bob', $bob, sock => $_[0]);
    });
    is($r->{status}, 429, "worker $pid: locked, even with the right code");
}
$ttl = $rd->cli('TTL', 'hl57:lock:bob');
my $bob_gone = time - $bob_locked;
ok($ttl <= 900 && $ttl >= 900 - $bob_gone - 1,
   "the lock lives 15 minutes in Redis ($ttl s, $bob_gone s after it)");

# --- Redis down: fail closed ---------------------------------------------------------

my $other = login($t, $tg, 'alice', '4242')->{json}{token};
ok($other, 'a fresh session before the outage');
# the access check with $other on the given worker
sub api_on {
    my ($pid) = @_;
    return worker_request($t, $pid, sub {
        $t->http_raw("GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     . "Authorization: Bearer $other\r\n\r\n", sock => $_[0]);
    });
}

$rd->kill;
ok(Hotline::Redis->wait_store_down($t), 'store down on every worker (health)');
for my $pid (@pids) {
    $r = api_on($pid);
    is($r->{status}, 503, "worker $pid: the access check answers 503");
    is(eval { json_decode($r->{body})->{error} }, 'unavailable',
       "worker $pid: JSON error");
}
$hs = $t->handshake_raw(path => '/ws/agent',
                        headers => [Authorization => "Bearer $other"]);
is($hs->{status}, 503, 'the agent handshake: 503');
close $hs->{sock} if $hs->{sock};
is(otp_request($t, 'alice')->{status}, 503, 'code request: 503');
is(otp_verify($t, 'alice', '123456')->{status}, 503, 'verification: 503');
is(logout($t, headers => [[Authorization => "Bearer $other"]])->{status}, 503,
   'logout: 503');

# every worker serves again, not only the first one to reconnect
$rd->start;
ok(Hotline::Redis->wait_store_up($t), 'Redis back: every worker is up (health)');
diag('every worker up ' . ($rd->recovery_ms($t) // '?')
     . ' ms after redis-server was started');
for my $pid (@pids) {
    is(api_on($pid)->{status}, 200,
       "worker $pid: the access check works again");
    $r = worker_request($t, $pid, sub {
        otp_request($t, 'alice', sock => $_[0]);
    });
    is($r->{status}, 202, "worker $pid: and code requests");
}

my $logs = HotlineAuth::logs_text($t);
ok(!(grep { index($logs, $_) >= 0 } $code, $bob, $jwt, $other),
   'no code or token in any log');

$t->stop;
$tg->stop;
$rd->stop;
done_testing;
