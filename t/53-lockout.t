#!/usr/bin/perl
# Brute force: five wrong codes lock the user for 15 minutes, across the
# workers (the failures are sent on connections owned by both workers, and
# both then refuse even the right code with 429 "locked" and Retry-After);
# other users are not affected; lockouts are counted and audited.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(post_json otp_request otp_code otp_verify login
                   worker_request);

my ($t, $tg) = HotlineAuth->nginx(http => "hotline_otp_ip_rate 600r/m burst=100;\n");
my @pids = $t->worker_pids;
is(scalar @pids, 2, 'two workers');

my $m0 = $t->metrics;

otp_request($t, 'alice');
my $code = otp_code($tg, '4242');
ok($code, 'alice has a code');
my @wrong = map { sprintf '%06d', ($code + $_) % 1000000 } 1 .. 5;

# failures 1-4 alternate between the workers; each says invalid_code
my %served;
for my $i (0 .. 3) {
    my $pid = $pids[$i % 2];
    my $r = worker_request($t, $pid, sub {
        otp_verify($t, 'alice', $wrong[$i], sock => $_[0]);
    });
    is($r->{status}, 401, 'wrong code ' . ($i + 1) . ": 401 (worker $pid)");
    $served{ $r->{headers}{'x-pid'}[0] // 0 }++;
}
is_deeply([sort keys %served], [sort @pids], 'failures went to both workers');

# the fifth failure locks
my $locked_at = time;
my $r = worker_request($t, $pids[0], sub {
    otp_verify($t, 'alice', $wrong[4], sock => $_[0]);
});
is($r->{status}, 429, 'the fifth wrong code: 429');
is(eval { json_decode($r->{body})->{error} }, 'locked', 'error "locked"');
is($r->{headers}{'retry-after'}[0], 900, 'Retry-After: 15 minutes');

# now even the right code is refused, by each worker
for my $pid (@pids) {
    $r = worker_request($t, $pid, sub {
        otp_verify($t, 'alice', $code, sock => $_[0]);
    });
    is($r->{status}, 429, "worker $pid: the right code is refused: 429");
    is($r->{headers}{'x-pid'}[0], $pid, "answered by worker $pid");
    is(eval { json_decode($r->{body})->{error} }, 'locked', 'locked');
    my $ra = $r->{headers}{'retry-after'}[0] // 0;
    # it counts down with the time gone by since the lock (whole seconds)
    my $gone = time - $locked_at;
    ok($ra <= 900 && $ra >= 900 - $gone - 1,
       "Retry-After counts down from 900 ($ra, $gone s after the lock)");
}

# a fresh code does not unlock
otp_request($t, 'alice');
my $fresh = otp_code($tg, '4242');
$r = otp_verify($t, 'alice', $fresh);
is($r->{status}, 429, 'a fresh code while locked: 429');

# another agent is not affected
$r = login($t, $tg, 'bob', '-1001234567');
is($r->{status}, 200, 'bob logs in meanwhile');

# a name that is no agent locks the same way (no difference to observe)
my @st = map { otp_verify($t, 'mallory', sprintf('%06d', $_))->{status} }
         1 .. 6;
is_deeply(\@st, [401, 401, 401, 401, 429, 429],
          'unknown user: 4 x 401, then locked like an agent');

my $m = $t->metrics;
is($m->{'hotline_auth_total{result="locked"}'}
   - ($m0->{'hotline_auth_total{result="locked"}'} // 0), 6,
   'two lockouts and four refusals while locked counted as locked');

my $log = $t->error_log;
my @lock = $log =~ /hotline audit: lockout user=alice ip=127\.0\.0\.1/g;
is(scalar @lock, 1, 'one audit line for the lockout');
ok($log =~ /hotline audit: login_failed user=alice ip=127\.0\.0\.1 reason=locked/,
   'refusals while locked are audited');

$t->stop;
$tg->stop;
done_testing;
