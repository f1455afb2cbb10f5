#!/usr/bin/perl
# Agent authentication: HS256 JWTs minted by Crypt::JWT, through all three
# carriers (Authorization, __Host-hotline_session cookie, Sec-WebSocket-
# Protocol bearer.<jwt>); every bad token is a 401.
use strict;
use utf8;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use Hotline::Test qw(json_encode json_decode);

# a second server with its own key (hotline_jwt_secret_file at server level)
my $t = Hotline::Test->new(
    # expiry is checked on the ping timer: a location with a short one
    server => '        location = /ws/agent-1s { hotline_signaling agent; '
            . 'hotline_ping_interval 1s; }',
    servers => <<'EOS');
    server {
        listen 127.0.0.1:%%PORT2%%;
        hotline_jwt_secret_file %%PREFIX%%/conf/other.key;
        location = /ws/agent { hotline_signaling agent; }
    }
EOS
my $other_key = Hotline::Test::random_string(40);
Hotline::Test::write_file($t->prefix . '/conf/other.key', $other_key);
$t->start;
my $now = time;

sub handcraft {
    my ($header, $claims, $key) = @_;
    my $si = encode_base64url(json_encode($header)) . '.'
           . encode_base64url(json_encode($claims));
    return "$si." . encode_base64url(hmac_sha256($si, $key // $t->secret));
}
my %good = (sub => 'agent1', role => 'agent', exp => $now + 600);
# a correctly signed token from raw header and payload text
sub rawjwt {
    my ($header, $payload) = @_;
    my $si = encode_base64url($header) . '.' . encode_base64url($payload);
    return "$si." . encode_base64url(hmac_sha256($si, $t->secret));
}

my %carrier = (
    authorization => sub { [ Authorization => "Bearer $_[0]" ] },
    cookie        => sub { [ Cookie => "theme=dark; __Host-hotline_session=$_[0]; lang=tr" ] },
    subprotocol   => sub { [ 'Sec-WebSocket-Protocol' => "hotline.v1, bearer.$_[0]" ] },
);

my @bad = (
    [ 'expired',            $t->mint_jwt(exp => $now - 120) ],
    [ 'forged signature',   $t->mint_jwt(-key => 'y' x 48) ],
    [ 'tampered payload',   do {
          my @p = split /\./, $t->mint_jwt(sub => 'agent1');
          $p[1] = encode_base64url(json_encode({ %good, sub => 'admin' }));
          join '.', @p } ],
    [ 'alg none',           $t->mint_jwt(-alg => 'none') ],
    [ 'alg none, HS256 signature', do {
          my $s = handcraft({ alg => 'HS256', typ => 'JWT' }, \%good);
          my @p = split /\./, $s;
          encode_base64url(json_encode({ alg => 'none' })) . ".$p[1].$p[2]" } ],
    [ 'alg HS512',          $t->mint_jwt(-alg => 'HS512') ],
    [ 'alg HS384',          $t->mint_jwt(-alg => 'HS384') ],
    [ 'alg hs256 (case)',   handcraft({ alg => 'hs256' }, \%good) ],
    [ 'no alg',             handcraft({ typ => 'JWT' }, \%good) ],
    [ 'no exp',             $t->mint_jwt(exp => undef) ],
    [ 'exp as a string',    $t->mint_jwt(exp => '' . ($now + 600) . 'x') ],
    [ 'nbf in the future',  $t->mint_jwt(nbf => $now + 600) ],
    [ 'role customer',      $t->mint_jwt(role => 'customer') ],
    [ 'no role',            $t->mint_jwt(role => undef) ],
    [ 'no sub',             $t->mint_jwt(sub => undef) ],
    [ 'empty sub',          $t->mint_jwt(sub => '') ],
    [ 'sub of 65 bytes',    $t->mint_jwt(sub => 's' x 65) ],
    [ 'garbage',            'not-a-jwt' ],
    [ 'two parts',          join('.', (split /\./, $t->mint_jwt)[0, 1]) ],
    [ 'empty signature',    join('.', (split /\./, $t->mint_jwt)[0, 1]) . '.' ],
    [ 'bad base64',         '!!!.???.***' ],
    [ 'duplicate role (customer, agent)', rawjwt('{"alg":"HS256"}',
          qq({"sub":"a","role":"customer","role":"agent","exp":@{[ $now + 600 ]}})) ],
    [ 'duplicate role (agent, customer)', rawjwt('{"alg":"HS256"}',
          qq({"sub":"a","role":"agent","role":"customer","exp":@{[ $now + 600 ]}})) ],
    [ 'duplicate alg (HS256, none)', rawjwt('{"alg":"HS256","alg":"none"}',
          qq({"sub":"a","role":"agent","exp":@{[ $now + 600 ]}})) ],
    [ 'duplicate alg (none, HS256)', rawjwt('{"alg":"none","alg":"HS256"}',
          qq({"sub":"a","role":"agent","exp":@{[ $now + 600 ]}})) ],
    [ 'unknown crit header', rawjwt('{"alg":"HS256","crit":["x"],"x":1}',
          qq({"sub":"a","role":"agent","exp":@{[ $now + 600 ]}})) ],
    [ 'exp as a numeric string', rawjwt('{"alg":"HS256"}',
          qq({"sub":"a","role":"agent","exp":"@{[ $now + 600 ]}"})) ],
    [ 'nbf not a number', $t->mint_jwt(nbf => 'soon') ],
    [ 'sub not a string', $t->mint_jwt(sub => 5) ],
    [ 'role array', $t->mint_jwt(role => ['agent']) ],
    [ 'payload not an object', rawjwt('{"alg":"HS256"}', '["agent"]') ],
    [ 'signed with key + newline', $t->mint_jwt(-key => $t->secret . "\n") ],
    [ 'signed with a key prefix',  $t->mint_jwt(-key => substr($t->secret, 0, 32)) ],
);

for my $cname (sort keys %carrier) {
    for my $case (@bad) {
        my ($name, $jwt) = @$case;
        my $r = $t->handshake_raw(path => '/ws/agent',
                                  headers => $carrier{$cname}->($jwt));
        is($r->{status}, 401, "$cname: $name -> 401")
            or diag($r->{head});
        my $j = eval { json_decode($r->{body}) };
        ok($j && $j->{error}, "$cname: $name: JSON error body") or diag($r->{body});
        ok(index($r->{head} // '', $jwt) < 0, "$cname: $name: token not echoed");
        close $r->{sock} if $r->{sock};
    }
}

# valid tokens on every carrier
my @valid;
for my $cname (sort keys %carrier) {
    my $sub = "ok-$cname";
    my $jwt = $t->mint_jwt(sub => $sub, nbf => $now - 5, extra => 'claim');
    push @valid, $jwt;
    my $r = $t->handshake_raw(path => '/ws/agent',
                              headers => $carrier{$cname}->($jwt));
    is($r->{status}, 101, "$cname: valid token -> 101") or diag($r->{head});
    ok(index($r->{head} // '', $jwt) < 0, "$cname: token never echoed");
    if ($cname eq 'subprotocol') {
        is_deeply($r->{headers}{'sec-websocket-protocol'}, ['hotline.v1'],
                  'subprotocol: exactly hotline.v1 selected');
    }
    my $ws = Hotline::Test::WS->new($r->{sock}, $r->{rest});
    my $w = $ws->wait_for('welcome', 5);
    is($w && $w->{agent}, $sub, "$cname: welcome names the agent");
    ok($ws->wait_for('queue', 5), "$cname: queue snapshot");
    $ws->drop;
}
{
    # through the independent client library too
    my $jwt = $t->mint_jwt(sub => 'lib-agent');
    push @valid, $jwt;
    my $ws = $t->ws_connect('/ws/agent',
                            subprotocol => "hotline.v1, bearer.$jwt");
    is($ws->{subprotocol}, 'hotline.v1', 'Protocol::WebSocket: hotline.v1');
    my $w = $ws->wait_for('welcome', 5);
    is($w && $w->{agent}, 'lib-agent', 'agent via subprotocol carrier');
}
{
    my $jwt = $t->mint_jwt(sub => 's' x 64);
    push @valid, $jwt;
    my $r = $t->handshake_raw(path => '/ws/agent',
                              headers => [ Authorization => "Bearer $jwt" ]);
    is($r->{status}, 101, 'sub of 64 bytes accepted');
    close $r->{sock};
}

# positive control for the hand-made tokens above
{
    my $jwt = rawjwt('{"alg":"HS256","typ":"JWT"}',
                     qq({"sub":"raw","role":"agent","exp":@{[ $now + 600 ]}}));
    push @valid, $jwt;
    my $r = $t->handshake_raw(path => '/ws/agent',
                              headers => [ Authorization => "Bearer $jwt" ]);
    is($r->{status}, 101, 'a hand-made well-formed token is accepted');
    close $r->{sock} if $r->{sock};
}

# the first carrier present is the one used
{
    my $ok = $t->mint_jwt(sub => 'first');
    my $forged = $t->mint_jwt(-key => 'z' x 40);
    push @valid, $ok;
    my $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Authorization => "Bearer $ok",
        Cookie => "__Host-hotline_session=$forged" ]);
    is($r->{status}, 101, 'valid Authorization wins over a bad cookie');
    close $r->{sock};
    $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Authorization => "Bearer $forged",
        Cookie => "__Host-hotline_session=$ok" ]);
    is($r->{status}, 401, 'a bad Authorization is not rescued by the cookie');
    $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Cookie => "__Host-hotline_session=$forged",
        'Sec-WebSocket-Protocol' => "hotline.v1, bearer.$ok" ]);
    is($r->{status}, 401, 'a bad cookie is not rescued by the subprotocol');
    $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Cookie => "x__Host-hotline_session=$ok" ]);
    is($r->{status}, 401, 'a cookie with a longer name is not the session');
}

# keys are per server
{
    my $origin = $t->origin;
    my $r = $t->handshake_raw(port => $t->port2, path => '/ws/agent', headers => [
        Origin => $origin, Authorization => 'Bearer ' . $t->mint_jwt(sub => 'k1') ]);
    is($r->{status}, 401, "the http-level key's token is refused by a server with its own key");
    $r = $t->handshake_raw(port => $t->port2, path => '/ws/agent', headers => [
        Origin => $origin,
        Authorization => 'Bearer ' . $t->mint_jwt(sub => 'k2', -key => $other_key) ]);
    is($r->{status}, 101, "the server's own key is used");
    close $r->{sock} if $r->{sock};
    $r = $t->handshake_raw(path => '/ws/agent', headers => [
        Authorization => 'Bearer ' . $t->mint_jwt(sub => 'k3', -key => $other_key) ]);
    is($r->{status}, 401, "the other server's key does not open this one");
}

# the customer endpoint needs no token and ignores one
{
    my $r = $t->handshake_raw(path => '/ws/customer', headers => [
        Authorization => 'Bearer garbage' ]);
    is($r->{status}, 101, 'customer endpoint ignores Authorization');
    close $r->{sock};
}

# a token that expires while the agent is connected closes it with 4001
# (docs/protocol.md close codes); the check runs with the pings
{
    my $jwt = $t->mint_jwt(sub => 'short-lived', exp => int(time) + 2);
    push @valid, $jwt;
    my $ws = $t->ws_connect('/ws/agent-1s', token => $jwt);
    ok($ws->wait_for('welcome', 5), 'agent with a token valid for 2 more seconds');
    is($ws->expect_close(10), 4001, 'closed with 4001 once the token expired');
}

# the name the customer sees: the token's "name" claim (a display name),
# else its sub; a "name" that is not a plain short string is ignored
for my $case (['Mehmet Yılmaz', 'display-agent', 'Mehmet Yılmaz',
               'a display name in the token is what the customer sees'],
              [undef, 'plain-agent', 'plain-agent',
               'without one the customer sees the sub'],
              [[1, 2], 'odd-agent', 'odd-agent',
               'a name that is not a string is ignored (the sub is shown)'],
              ["bad\x{01}name", 'ctl-agent', 'ctl-agent',
               'a name with a control character is ignored'],
              ['x' x 65, 'long-agent', 'long-agent',
               'a name over 64 bytes is ignored']) {
    my ($name, $sub, $want, $what) = @$case;
    my $jwt = $t->mint_jwt(sub => $sub, name => $name);
    push @valid, $jwt;
    my $a = $t->ws_connect('/ws/agent', token => $jwt);
    ok($a->wait_for('welcome', 5) && $a->wait_for('queue', 5),
       "agent $sub connects");
    my ($c) = $t->call(name => "Caller of $sub", agent => $a);
    is($c->{accepted}{peer}{name}, $want, $what);
    $a->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
    $a->drop;
}

# no secret or token in the logs
{
    my $log = $t->error_log;
    ok(index($log, $t->secret) < 0, 'secret not in the error log');
    ok(!(grep { index($log, $_) >= 0 } @valid), 'tokens not in the error log');
    ok(!(grep { index($log, $_->[1]) >= 0 && length $_->[1] > 20 } @bad),
       'rejected tokens not in the error log');
}

$t->stop;
done_testing;
