#!/usr/bin/perl
# hotline_logout revokes the token it is given (Bearer or the session
# cookie) until the token would have expired: afterwards the access check
# and the agent WebSocket handshake (every carrier, every worker) refuse it
# with 401, while the user's other sessions keep working.  The cookie is
# cleared with the same attributes.  Tokens without a jti can be revoked
# too.  Revocations are counted and audited.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT qw(decode_jwt);
use Hotline::Test qw(json_decode);
use HotlineAuth qw(login logout api_get worker_request);

# (erin gets her tokens from elsewhere: listed all the same)
my ($t, $tg) = HotlineAuth->nginx(
    agents => $HotlineAuth::AGENTS . "hotline_agent erin chat=5;\n");
my @pids = $t->worker_pids;
my $m0 = $t->metrics;

my $r = login($t, $tg, 'alice', '4242');
is($r->{status}, 200, 'alice: session 1');
my $jwt = $r->{json}{token};
$r = login($t, $tg, 'alice', '4242');
is($r->{status}, 200, 'alice: session 2');
my $jwt2 = $r->{json}{token};
my $jti = decode_jwt(token => $jwt, key => $t->secret)->{jti};

sub carriers {
    my ($tok) = @_;
    return ([ Authorization => "Bearer $tok" ],
            [ Cookie => "__Host-hotline_session=$tok" ],
            [ 'Sec-WebSocket-Protocol' => "hotline.v1, bearer.$tok" ]);
}

$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'before logout: the guarded location answers');

# every worker has verified the token and found it not revoked (what the
# embedded store lets a worker remember until a revocation is written)
for my $pid (@pids) {
    for my $n (1, 2) {
        $r = worker_request($t, $pid, sub {
            $t->http_raw("GET /api/x HTTP/1.1\r\nHost: x\r\n"
                         . "Connection: close\r\n"
                         . "Authorization: Bearer $jwt\r\n\r\n",
                         sock => $_[0]);
        });
        is($r->{status}, 200, "before logout, worker $pid: 200 ($n)");
    }
}
for my $h (carriers($jwt)) {
    my $hs = $t->handshake_raw(path => '/ws/agent', headers => $h);
    is($hs->{status}, 101, "before logout: WebSocket with $h->[0]: 101");
    close $hs->{sock} if $hs->{sock};
}

# a live agent connection with the token on one worker; the logout goes
# to the other (one connection per agent: a newer one replaces it)
my $live_hs = worker_request($t, $pids[0], sub {
    my $port = $t->port;
    $t->http_raw("GET /ws/agent HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                 . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 . "Sec-WebSocket-Key: " . Hotline::Test::random_key()
                 . "\r\nSec-WebSocket-Version: 13\r\n"
                 . "Origin: " . $t->origin . "\r\n"
                 . "Authorization: Bearer $jwt\r\n\r\n",
                 sock => $_[0], head_only => 1);
});
is($live_hs->{status}, 101, "a live agent WebSocket on worker $pids[0]");
my $live = Hotline::Test::WS->new($live_hs->{sock}, $live_hs->{rest});
ok($live->wait_for('welcome', 5), 'welcomed');

# --- logout -------------------------------------------------------------------

$r = worker_request($t, $pids[1], sub {
    HotlineAuth::post_json($t, '/auth/logout', '', type => undef,
                           headers => [[Authorization => "Bearer $jwt"]],
                           sock => $_[0]);
});
is($r->{status}, 200, "logout on worker $pids[1]: 200");
is($r->{headers}{'x-pid'}[0], $pids[1], 'served by that worker');
is(eval { json_decode($r->{body})->{status} }, 'logged_out', 'logged_out');
is_deeply($r->{headers}{'set-cookie'},
          ['__Host-hotline_session=; Path=/; Secure; HttpOnly; '
           . 'SameSite=Strict; Max-Age=0'],
          'the cookie is cleared with the same attributes');

for my $pid (@pids) {
    $r = worker_request($t, $pid, sub {
        my $s = shift;
        $t->http_raw("GET /api/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     . "Authorization: Bearer $jwt\r\n\r\n", sock => $s);
    });
    is($r->{status}, 401, "after logout, worker $pid: access check 401");
    like($r->{headers}{'www-authenticate'}[0] // '', qr/^Bearer /,
         'WWW-Authenticate: Bearer');
}
$r = api_get($t, '/api/x', headers => [[Cookie => "__Host-hotline_session=$jwt"]]);
is($r->{status}, 401, 'after logout: the cookie carrier is refused too');

for my $h (carriers($jwt)) {
    for my $pid (@pids) {
        my $hs = worker_request($t, $pid, sub {
            my $port = $t->port;
            $t->http_raw("GET /ws/agent HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                         . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                         . "Sec-WebSocket-Key: " . Hotline::Test::random_key()
                         . "\r\nSec-WebSocket-Version: 13\r\n"
                         . "Origin: " . $t->origin . "\r\n"
                         . "$h->[0]: $h->[1]\r\n\r\n",
                         sock => $_[0], head_only => 1);
        });
        is($hs->{status}, 401,
           "after logout, worker $pid: WebSocket with $h->[0]: 401");
        close $hs->{sock} if $hs->{sock};
    }
}
ok(!eval { $t->ws_connect('/ws/agent', token => $jwt); 1 },
   'Protocol::WebSocket client: the handshake fails');

is($live->expect_close(10), 4001,
   'the live connection with the revoked token (other worker) is closed '
   . 'with 4001');

# the other session of the same agent is not affected
$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $jwt2"]]);
is($r->{status}, 200, "alice's other session still works");

# logout again with the revoked token: nothing left to do, still 200
$r = logout($t, headers => [[Authorization => "Bearer $jwt"]]);
is($r->{status}, 200, 'logging out twice is harmless');

# logout with the cookie
$r = logout($t, headers => [[Cookie => "__Host-hotline_session=$jwt2"]]);
is($r->{status}, 200, 'logout with the session cookie: 200');
$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $jwt2"]]);
is($r->{status}, 401, 'that session is revoked');

# --- tokens from elsewhere, with and without jti ------------------------------

my $minted = $t->mint_jwt(sub => 'erin', jti => 'ext-1');
my $bare = $t->mint_jwt(sub => 'erin', iat => time - 1);
my $bare2 = $t->mint_jwt(sub => 'erin', iat => time - 2);
$r = logout($t, headers => [[Authorization => "Bearer $minted"]]);
is($r->{status}, 200, 'a Crypt::JWT token with a jti: logged out');
$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $minted"]]);
is($r->{status}, 401, 'and revoked');
$r = logout($t, headers => [[Authorization => "Bearer $bare"]]);
is($r->{status}, 200, 'a token without jti: logged out');
$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $bare"]]);
is($r->{status}, 401, 'and revoked');
my $hs = $t->handshake_raw(path => '/ws/agent',
                           headers => [Authorization => "Bearer $bare"]);
is($hs->{status}, 401, 'also for the WebSocket');
$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $bare2"]]);
is($r->{status}, 200, 'another token without jti is not');

# --- refusals -------------------------------------------------------------------

$r = logout($t);
is($r->{status}, 401, 'logout without a token: 401');
is(eval { json_decode($r->{body})->{error} }, 'unauthorized', 'JSON error');
like($r->{headers}{'set-cookie'}[0] // '', qr/^__Host-hotline_session=; .*Max-Age=0$/,
     'the cookie is cleared anyway');
$r = logout($t, headers => [[Authorization => "Bearer "
                            . $t->mint_jwt(-key => 'q' x 40)]]);
is($r->{status}, 401, 'logout with a forged token: 401');
$r = logout($t, headers => [[Authorization => "Bearer "
                            . $t->mint_jwt(exp => time - 10)]]);
is($r->{status}, 401, 'logout with an expired token: 401');
$r = $t->http_get('/auth/logout', headers => [[Authorization => "Bearer $jwt2"]]);
is($r->{status}, 405, 'GET /auth/logout: 405');

# --- metrics and audit ----------------------------------------------------------

my $m = $t->metrics;
is($m->{'hotline_auth_total{result="revoked"}'}
   - ($m0->{'hotline_auth_total{result="revoked"}'} // 0), 5,
   'revocations counted (5 logouts)');
my $log = $t->error_log;
like($log, qr/hotline audit: logout user=alice ip=127\.0\.0\.1 jti=$jti/,
     'audit: logout with user, ip and jti');
like($log, qr/hotline audit: revoked user=alice ip=127\.0\.0\.1 jti=$jti reason=logout/,
     'audit: revocation');
like($log, qr/hotline audit: revoked user=erin ip=127\.0\.0\.1 jti=#[0-9a-f]{32}/,
     'audit: a token without jti is named by its hash');
my $logs = HotlineAuth::logs_text($t);
ok(!(grep { index($logs, $_) >= 0 } $jwt, $jwt2, $minted, $bare),
   'no token in any log');

$t->stop;
$tg->stop;
done_testing;
