#!/usr/bin/perl
# A login flood cannot push security state out of a small zone nor take
# the memory calls need: with hotline_zone 1m, thousands of code
# verifications for made-up names (realip, ten from each of 600
# addresses), leave an agent's lockout and another agent's failure counter
# as they were (they are never dropped before they expire), and
# afterwards agents still log in, customers still join and calls are
# still accepted.  Made-up names cost only records that make room for
# others (docs/auth.md); the keyed values take at most a quarter of the
# zone.  On the Redis store (HOTLINE_STORE=redis) the same holds.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(otp_request otp_code otp_verify login);

my $FLOOD = 6000;

my ($t, $tg) = HotlineAuth->nginx(
    agents => $HotlineAuth::AGENTS
              . "hotline_agent carol chat=777 name=Carol;\n",
    http => "set_real_ip_from 127.0.0.1;\n"
          . "real_ip_header X-Forwarded-For;\n");
$t->{template} =~ s/hotline_zone 16m;/hotline_zone 1m;/ or die 'no zone';
$t->stop;
$t->start;
note('store: ' . $t->store);

sub verify_from {
    my ($user, $code, $ip) = @_;
    return otp_verify($t, $user, $code, headers => [['X-Forwarded-For', $ip]]);
}

sub status_error {
    my ($r) = @_;
    my $e = eval { json_decode($r->{body})->{error} } // '';
    return "$r->{status} $e";
}

# alice locked, bob with two failures
for my $i (1 .. 5) {
    verify_from('alice', sprintf('%06d', $i), "10.80.0.$i");
}
my $r = verify_from('alice', '000006', '10.80.0.9');
is(status_error($r), '429 locked', 'alice is locked');
my $ra0 = $r->{headers}{'retry-after'}[0];

for my $i (1 .. 2) {
    is(verify_from('bob', sprintf('%06d', $i), "10.80.1.$i")->{status}, 401,
       "bob: failure $i");
}

# --- the flood: made-up names, many addresses, parallel sockets -----------

my %seen;
my $sent = 0;
while ($sent < $FLOOD) {
    my @socks;
    for (1 .. 100) {
        my $i = $sent++;
        # long names: more bytes per record
        my $body = sprintf '{"username":"%s%05d","code":"123456"}',
                           'nobody' x 9, $i;
        # eight from each address: the per-address limit (ten at once)
        # lets them pass, with room for the workers' clocks, each cached
        # per turn of its event loop, to differ by a few milliseconds
        my $a = int($i / 8);
        my $ip = sprintf '10.81.%d.%d', int($a / 250), $a % 250 + 1;
        my $s = $t->connect_tcp;
        Hotline::Test::write_all($s,
            "POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            . "Connection: close\r\nX-Forwarded-For: $ip\r\n"
            . "Content-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body");
        push @socks, $s;
    }
    for my $s (@socks) {
        my $x = Hotline::Test::read_http_response($s, 10);
        close $s;
        $seen{ status_error($x) }++;
    }
}
diag(join ', ', map { "$_: $seen{$_}" } sort keys %seen);
is($seen{'401 invalid_code'}, $FLOOD, "$FLOOD made-up names: 401 each");

# --- what had to stay --------------------------------------------------------

$r = verify_from('alice', '000007', '10.80.0.10');
is(status_error($r), '429 locked', 'alice is still locked');
my $ra = $r->{headers}{'retry-after'}[0] // 0;
ok($ra > 0 && $ra <= $ra0, "with the time it had left ($ra s)");

is(verify_from('bob', '000003', '10.80.1.3')->{status}, 401,
   'bob: failure 3');
is(verify_from('bob', '000004', '10.80.1.4')->{status}, 401,
   'bob: failure 4');
is(status_error(verify_from('bob', '000005', '10.80.1.5')), '429 locked',
   'bob: the fifth failure locks: his counter was kept');

# --- and the service goes on -------------------------------------------------

$r = login($t, $tg, 'carol', '777');
is($r->{status}, 200, 'another agent logs in');

my $c = $t->customer('After the flood');
ok($c->{welcome}, 'a customer joins');
my ($cc, $a) = $t->call(customer => $c, sub => 'carol');
ok($cc->{accepted}, 'and is accepted');

if ($t->store eq 'shm') {
    unlike($t->error_log, qr/the zone is full|no room for the store/,
           'the zone never ran out for calls');
}

$t->stop;
$tg->stop;
done_testing;
