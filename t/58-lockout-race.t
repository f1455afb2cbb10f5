#!/usr/bin/perl
# Concurrent guesses cannot beat the lockout: "count the attempt, check the
# lock, hand out the stored code" is one atomic step of the store.  200
# wrong codes for one agent, each from an address of its own (realip), are
# written on 200 parallel sockets spread over four workers (reuseport) and,
# on the Redis store (HOTLINE_STORE=redis), over two nginx nodes sharing
# one Redis: at most 5 codes are ever compared (hotline_otp_compared_total
# summed over the nodes, and one audit line per comparison), every other
# guess is refused as locked, and the right code sent afterwards is refused
# too, on both nodes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(otp_request otp_code otp_verify);

my $GUESSES = 200;
my $redis = ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $http = "set_real_ip_from 127.0.0.1;\n"
         . "real_ip_header X-Forwarded-For;\n"
         . "hotline_otp_ip_rate 600r/m burst=100;\n";
my $rd;
if ($redis) {
    require Hotline::Redis;
    $rd = Hotline::Redis->new(prefix => 'hl58:')->start;
    $http .= $rd->directive . "\n";
}

my $tg = TelegramStub->new->start;
my @nodes;
for my $n (1 .. ($redis ? 2 : 1)) {
    push @nodes, $tg->nginx(workers => 4, listen => 'reuseport',
                            http => $HotlineAuth::AGENTS . $http,
                            server => $HotlineAuth::LOCATIONS);
}
# (the Telegram directives come from the stand-in; the listen parameter too)
my $t = $nodes[0];

sub compared {
    my $n = 0;
    $n += $_->metrics->{hotline_otp_compared_total} // 0 for @nodes;
    return $n;
}

my $before = compared();

is(otp_request($t, 'alice')->{status}, 202, 'a code for alice');
my $code = otp_code($tg, '4242');
ok($code, 'it reached Telegram');

# every guess is wrong; each comes from its own address, so no per-address
# limit stands in the way: only the lockout does
# all but the last byte first, then the last bytes together: the
# requests become complete at once, and each worker starts many of them
# in one turn of its event loop
my @socks;
for my $i (0 .. $GUESSES - 1) {
    my $node = $nodes[$i % @nodes];
    my $guess = sprintf '%06d', ($code + 1 + $i) % 1000000;
    my $body = qq({"username":"alice","code":"$guess"});
    my $ip = sprintf '10.58.%d.%d', int($i / 250), $i % 250 + 1;
    my $req = "POST /auth/verify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            . "Connection: close\r\nX-Forwarded-For: $ip\r\n"
            . "Content-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $s = $node->connect_tcp;
    Hotline::Test::write_all($s, substr($req, 0, -1));
    push @socks, [$s, substr($req, -1)];
}
Hotline::Test::write_all($_->[0], $_->[1]) for @socks;

my (%status, %pid);
for my $x (@socks) {
    my $r = Hotline::Test::read_http_response($x->[0], 30);
    close $x->[0];
    my $st = $r->{status} // 'none';
    my $err = eval { json_decode($r->{body})->{error} } // '';
    $status{"$st $err"}++;
    $pid{ $r->{headers}{'x-pid'}[0] // 0 }++;
}
diag(join ', ', map { "$_: $status{$_}" } sort keys %status);

my $workers = grep { $_ } keys %pid;
cmp_ok($workers, '>=', 2, "the guesses were answered by $workers workers");

my $answered = 0;
$answered += $status{$_} for grep { /^(401 invalid_code|429 locked)$/ }
                             keys %status;
is($answered, $GUESSES, 'every guess: 401 invalid_code or 429 locked');
cmp_ok($status{'401 invalid_code'} // 0, '<=', 4,
       'at most four wrong codes are answered 401');

# the count of comparisons, two ways
my $n = compared() - $before;
cmp_ok($n, '<=', 5, "at most 5 codes were compared ($n)");
cmp_ok($n, '>=', 1, 'and some were');

my $audit = 0;
for my $node (@nodes) {
    my $log = $node->error_log;
    $audit += () = $log =~ /hotline audit: login_failed user=alice ip=10\.58\.\S+ reason=bad_code/g;
    $audit += () = $log =~ /hotline audit: login_ok user=alice /g;
}
cmp_ok($audit, '<=', 5, "at most 5 comparisons in the audit trail ($audit)");

# the right code, now: locked, on every node
for my $node (@nodes) {
    my $r = otp_verify($node, 'alice', $code,
                       headers => [['X-Forwarded-For', '10.58.99.1']]);
    is($r->{status}, 429, 'the right code afterwards: 429');
    is(eval { json_decode($r->{body})->{error} }, 'locked', 'locked');
}
is(compared() - $before, $n, 'and it was not compared');

$_->stop for @nodes;
$tg->stop;
$rd->stop if $rd;
done_testing;
