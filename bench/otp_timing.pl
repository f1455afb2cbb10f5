#!/usr/bin/perl
# Does POST /auth/otp tell agents from made-up names by its timing
# (docs/performance.md, "Login timing")?  Starts nginx (one worker, the
# embedded store, the Telegram Bot API stand-in of the tests, N agents in
# an agents file, no per-address limit), then sends N code requests for
# agents and N for made-up names, alternating, each name once (so no
# per-name limit answers), on one keep-alive connection, and measures
# each two ways:
#
#   client   from the request's first byte written to the answer's last
#            byte read, as a client sees it (on a busy machine the client
#            also waits for a CPU, which the worker may hold after it
#            answered);
#   server   in the worker, from the recvfrom() of the request to the
#            writev() of the answer, from strace -ttt's timestamps (strace
#            slows every system call alike: compare the two, not the
#            values with the client's);
#
# and prints p10, median and p90 of each and the difference of the
# medians; the answers are identical (t/92-otp-same-work.t checks that too).
#
#   perl bench/otp_timing.pl                       (after make)
#   N=1000 perl bench/otp_timing.pl
#   HOTLINE_MODULE=/path/to/other.so perl bench/otp_timing.pl
#
# Everything it starts is stopped on exit; every wait is bounded.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use POSIX ();
use Time::HiRes qw(time sleep);
use Hotline::Test;
use TelegramStub;

my $N = $ENV{N} // 300;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(workers => 1, no_start => 1,
                   http => "hotline_agents_file %%PREFIX%%/conf/agents.txt;\n"
                         . "hotline_otp_ip_rate off;\n",
                   server => "location = /auth/otp { hotline_otp_request; }\n");
Hotline::Test::write_file($t->prefix . '/conf/agents.txt',
    join '', map { sprintf "agent%04d %d Agent %d\n", $_, 1000 + $_, $_ }
             1 .. $N);
$t->start;

my ($worker) = $t->worker_pids;
my $trace = $t->prefix . '/logs/strace.txt';
my $strace = ($ENV{STRACE} // 1) && -x '/usr/bin/strace' ? fork : undef;
if (defined $strace && !$strace) {
    exec '/usr/bin/strace', '-ttt', '-s', '256', '-e', 'trace=recvfrom,writev',
         '-o', $trace, '-p', $worker;
    POSIX::_exit(127);
}
if ($strace) {
    Hotline::Test::poll_until(10, sub { -s $trace || 0 }) ;
    sleep 1;
}

my $s = $t->connect_tcp;
my (@known, @unknown, %answers);

sub ask {
    my ($name) = @_;
    my $body = qq({"username":"$name"});
    my $req = "POST /auth/otp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            . "Content-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $t0 = time();
    Hotline::Test::write_all($s, $req);
    my $r = Hotline::Test::read_http_response($s, 5);
    my $us = (time() - $t0) * 1e6;
    die "no answer for $name\n" unless $r->{status};
    $answers{"$r->{status} $r->{body}"}++;
    return $us;
}

# warm up: the first requests pay for allocations
ask(sprintf 'warmup%04d', $_) for 1 .. 20;
%answers = ();

for my $i (1 .. $N) {
    if ($i % 2) {
        push @known, ask(sprintf 'agent%04d', $i);
        push @unknown, ask(sprintf 'nobody%04d', $i);
    } else {
        push @unknown, ask(sprintf 'nobody%04d', $i);
        push @known, ask(sprintf 'agent%04d', $i);
    }
}

close $s;

if ($strace) {
    kill 'INT', $strace;
    waitpid $strace, 0;
}

$t->stop;
$tg->stop;
Test::More::done_testing();

sub quantile {
    my ($v, $p) = @_;
    my @s = sort { $a <=> $b } @$v;
    return $s[int($p * $#s + 0.5)];
}

printf "answers: %s\n", join ', ', map { "$answers{$_} x $_" } keys %answers;
printf "%-8s %8s %8s %8s  (us, %d requests each)\n", '', 'p10', 'median',
       'p90', $N;
for ([known => \@known], [unknown => \@unknown]) {
    printf "%-8s %8.0f %8.0f %8.0f  (client)\n", $_->[0], quantile($_->[1], 0.1),
           quantile($_->[1], 0.5), quantile($_->[1], 0.9);
}
printf "client median difference: %+.0f us\n",
       quantile(\@known, 0.5) - quantile(\@unknown, 0.5);

# the worker's side: a request's recvfrom to the next writev on its fd
my (%in, %server);
open my $fh, '<', $trace or exit 0;
while (<$fh>) {
    if (/^(\d+\.\d+) recvfrom\((\d+), "POST \/auth\/otp.*username\\":\\"(\w+?)\d{4}\\"/) {
        $in{$2} = [$1, $3];
    } elsif (/^(\d+\.\d+) writev\((\d+), \[\{iov_base="HTTP\/1.1 202/ && $in{$2}) {
        my ($t0, $kind) = @{ delete $in{$2} };
        push @{ $server{$kind} }, ($1 - $t0) * 1e6;
    }
}
close $fh;
exit 0 unless $server{agent} && $server{nobody};
for ([known => $server{agent}], [unknown => $server{nobody}]) {
    printf "%-8s %8.0f %8.0f %8.0f  (server, %d)\n", $_->[0],
           quantile($_->[1], 0.1), quantile($_->[1], 0.5),
           quantile($_->[1], 0.9), scalar @{ $_->[1] };
}
printf "server median difference: %+.0f us\n",
       quantile($server{agent}, 0.5) - quantile($server{nobody}, 0.5);
