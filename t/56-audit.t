#!/usr/bin/perl
# The audit trail: one "hotline audit:" line at notice for every code
# request, login, failed login, lockout, logout and revocation, with the
# user and the client address (the realip module's, behind a trusted
# proxy; the per-IP limit uses that address too).  No code and no token in
# any log file, whatever happened.  Without Telegram configured a code
# request is still answered the same way and the log says why nothing was
# sent.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT ();
use Hotline::Test qw(json_decode);
use HotlineAuth qw(otp_request otp_code otp_codes otp_verify login logout
                   api_get);

my ($t, $tg) = HotlineAuth->nginx(http => <<'EOF');
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
hotline_otp_ip_rate 3r/m burst=2;
EOF

sub xff { [ ['X-Forwarded-For', $_[0]] ] }

# a code request and a login from 203.0.113.7, through the proxy
my $r = otp_request($t, 'alice', headers => xff('203.0.113.7'));
is($r->{status}, 202, 'code request via the proxy');
my $code = otp_code($tg, '4242');
$r = otp_verify($t, 'alice', sprintf('%06d', ($code + 1) % 1000000),
                headers => xff('203.0.113.7'));
is($r->{status}, 401, 'a failed login');
$r = otp_verify($t, 'alice', $code, headers => xff('203.0.113.7'));
is($r->{status}, 200, 'a login');
my $jwt = $r->{json}{token};
my ($jti) = Crypt::JWT::decode_jwt(token => $jwt, key => $t->secret)->{jti};
$r = logout($t, headers => [['Authorization', "Bearer $jwt"],
                            ['X-Forwarded-For', '198.51.100.9']]);
is($r->{status}, 200, 'a logout from another address');

# the unknown user, the lockout
otp_request($t, 'mallory', headers => xff('192.0.2.1'));
for my $i (1 .. 5) {
    otp_verify($t, 'bob', sprintf('%06d', $i), headers => xff("192.0.2.$i"));
}

# the per-IP limit follows the real address: 203.0.113.7 has used 1 code
# request, 192.0.2.1 one; a third address has its own bucket
my @st = map { otp_request($t, "u$_", headers => xff('192.0.2.50'))->{status} }
         1 .. 4;
is_deeply(\@st, [202, 202, 202, 429],
          'per-IP limit per real client address (3r/m burst=2)');
$r = otp_request($t, 'u9', headers => xff('192.0.2.51'));
is($r->{status}, 202, 'another address is not limited');

my $log = $t->error_log;
my @audit = grep { /hotline audit:/ } split /\n/, $log;
ok(!(grep { !/\[notice\]/ } @audit), 'audit lines are at notice');

my @want = (
    qr/hotline audit: otp_requested user=alice ip=203\.0\.113\.7,/,
    qr/hotline audit: login_failed user=alice ip=203\.0\.113\.7 reason=bad_code,/,
    qr/hotline audit: login_ok user=alice ip=203\.0\.113\.7 jti=$jti,/,
    qr/hotline audit: logout user=alice ip=198\.51\.100\.9 jti=$jti,/,
    qr/hotline audit: revoked user=alice ip=198\.51\.100\.9 jti=$jti reason=logout,/,
    qr/hotline audit: otp_requested user=mallory ip=192\.0\.2\.1 reason=unknown_user,/,
    qr/hotline audit: login_failed user=bob ip=192\.0\.2\.5 reason=bad_code,/,
    qr/hotline audit: lockout user=bob ip=192\.0\.2\.5,/,
    qr/hotline audit: otp_limited user=u4 ip=192\.0\.2\.50 reason=ip,/,
);
for my $re (@want) {
    ok((grep { $_ =~ $re } @audit), "audit line $re") or diag(join "\n", @audit);
}

my $logs = HotlineAuth::logs_text($t);
my @codes = otp_codes($tg, '4242');
ok(@codes, 'codes were sent');
for my $c (@codes) {
    ok(index($logs, $c) < 0, "code $c is in no log file");
}
ok(index($logs, $jwt) < 0, 'the token is in no log file');
my ($sig) = $jwt =~ /\.([^.]+)\z/;
ok(index($logs, $sig) < 0, 'nor its signature');

$t->stop;
$tg->stop;

# --- no Telegram configured -----------------------------------------------------

{
    my ($t2, $tg2) = HotlineAuth->nginx(no_telegram => 1);
    $tg2->stop;
    my $r2 = otp_request($t2, 'alice');
    is($r2->{status}, 202, 'without Telegram: still 202');
    my $r3 = otp_request($t2, 'nobody');
    is($r2->{body}, $r3->{body}, 'and the same answer as for an unknown user');
    like($t2->error_log,
         qr/hotline: the code for "alice" cannot be sent \(no Telegram configured\)/,
         'the log says the code was not sent');
    $t2->stop;
}

done_testing;
