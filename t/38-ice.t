#!/usr/bin/perl
# The ICE servers location: STUN and TURN URLs, TURN credentials in the REST
# scheme of coturn's use-auth-secret (checked with Digest::SHA's HMAC-SHA1),
# expiring after ttl, different every time, never cached; bad
# configurations fail nginx -t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(hmac_sha1_base64);
use File::Temp ();
use Hotline::Test qw(json_decode);

my $dir = File::Temp::tempdir(CLEANUP => 1);
my $secret = Hotline::Test::random_string(32);
Hotline::Test::write_file("$dir/turn.key", "$secret\n");

my $t = Hotline::Test->new(server => <<"EOF")->start;
        location = /ice {
            hotline_ice_servers stun=stun:127.0.0.1:3478
                                turn=turn:127.0.0.1:3478?transport=udp
                                turn=turns:turn.example.org:5349
                                turn_secret_file=$dir/turn.key ttl=10m;
        }
        location = /stun-only { hotline_ice_servers stun=stun:127.0.0.1:3478; }
EOF

my $r = $t->http_get('/ice');
is($r->{status}, 200, 'GET /ice');
like($r->{headers}{'content-type'}[0] // '', qr{^application/json}, 'JSON');
is($r->{headers}{'cache-control'}[0], 'no-store', 'never cached');
my $j = json_decode($r->{body});
is_deeply($j->{iceServers}[0]{urls}, ['stun:127.0.0.1:3478'], 'STUN entry');
my $turn = $j->{iceServers}[1];
is_deeply($turn->{urls}, ['turn:127.0.0.1:3478?transport=udp',
                          'turns:turn.example.org:5349'], 'TURN entry');
my ($exp) = ($turn->{username} // '') =~ /^(\d+):hotline-[0-9a-f]{16}$/;
ok($exp, 'username is <expiry>:<random name>');
ok($exp && $exp > time + 590 && $exp <= time + 601, 'expires after ttl');
my $want = hmac_sha1_base64($turn->{username}, $secret);
$want .= '=' while length($want) % 4;
is($turn->{credential}, $want, 'credential = base64(HMAC-SHA1(secret, username))');
is($j->{ttl}, 600, 'ttl in seconds');
unlike($r->{body}, qr/\Q$secret\E/, 'the secret is not in the answer');

my $j2 = json_decode($t->http_get('/ice')->{body});
isnt($j2->{iceServers}[1]{username}, $turn->{username}, 'a fresh name each time');

my $s = json_decode($t->http_get('/stun-only')->{body});
is(scalar @{ $s->{iceServers} }, 1, 'STUN only: one entry');
ok(!exists $s->{iceServers}[0]{credential}, '... without credentials');

{
    my $r = $t->http_post('/ice', '{}');
    is($r->{status}, 405, 'POST: 405');
    is(($r->{headers}{allow} // [])->[0], 'GET, HEAD', '... with Allow');
}
$t->stop;

for my $bad ('hotline_ice_servers turn=turn:x:3478;',
             'hotline_ice_servers stun=http://x;',
             'hotline_ice_servers "stun=stun:x\"y";',
             "hotline_ice_servers turn=turn:x turn_secret_file=$dir/none;",
             "hotline_ice_servers stun=stun:x ttl=5s;",
             'hotline_ice_servers stun=stun:x foo=bar;') {
    my $b = Hotline::Test->new(server => "location = /ice { $bad }");
    $b->write_conf;
    my ($ok, $out) = $b->nginx_t;
    ok(!$ok, "nginx -t fails: $bad") or diag($out);
}

done_testing;
