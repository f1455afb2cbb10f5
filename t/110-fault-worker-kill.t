#!/usr/bin/perl
# A worker killed with SIGKILL (a crash, the OOM killer) every second or
# so under traffic (issue 15): calls of both parties sending numbered
# chats (t/lib/Hotline/Traffic.pm), the parties of the dead worker come
# back on the others as docs/protocol.md says.  Every acknowledged message
# is delivered once, in order; no gap, no call lost.  Both stores
# (HOTLINE_STORE=redis runs it on Redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use Hotline::Traffic;

my $t = Hotline::Test->new(listen => 'reuseport')->start;
$t->allow_log(qr/worker process \d+ exited on signal 9/);

my $tr = Hotline::Traffic->new(nodes => [$t], calls => 12, rate => 20,
                               tag => 'kill')->setup;
$tr->run(1);

my $kills = 0;
for (1 .. 6) {
    my @w = $t->worker_pids;
    # a worker that holds parties, the oldest first
    my $victim = $w[ $kills % @w ];
    kill 'KILL', $victim;
    $kills++;
    ok(poll_until(10, sub {
        my @n = $t->worker_pids;
        @n == 2 && !grep { $_ == $victim } @n }), "worker $victim replaced");
    $tr->run(1.2);
}

ok($tr->settle(20), 'every party back, everything delivered');
$tr->check("$kills workers killed (" . $t->store . ')');
$tr->hangup('worker kills');
$t->stop;
done_testing;
