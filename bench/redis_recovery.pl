#!/usr/bin/perl
# Recovery after a Redis outage (docs/redis.md, "Recovery bound"): how long
# from redis-server starting again until every worker of every node serves.
#
# Starts a private redis-server and NODES nginx nodes of WORKERS workers
# each (the test harness, t/lib), then OUTAGES times: kills Redis
# (SIGKILL), waits until every worker of every node has seen it, leaves it
# down for a random DOWN_MIN..DOWN_MAX seconds (long enough for the
# backoff to reach its cap), starts it again and measures, per node:
#
#   health   from redis-server's start to the last worker up, from the
#            workers' own "for" in /health (precise; needs store.workers)
#   probes   from redis-server's start to the first request answered by
#            each worker (X-Pid) through a hotline_limit check (a store
#            request: 503 while the worker's link is down), new connections
#            back to back: what clients see; works with any build
#
# and counts the workers woken by another one ("reconnecting now" in the
# error log) against those that got through on their own timer.  Both
# times include redis-server's own start-up.  Prints one line per outage
# and min / median / p90 / max at the end.
#
#   perl bench/redis_recovery.pl                  (after make)
#   OUTAGES=20 NODES=2 WORKERS=4 perl bench/redis_recovery.pl
#   HOTLINE_MODULE=/path/to/other.so perl bench/redis_recovery.pl
#
# Everything it starts is stopped on exit; every wait is bounded.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Time::HiRes qw(time sleep);
use Hotline::Test;
use Hotline::Redis;

my $OUTAGES  = $ENV{OUTAGES}  // 10;
my $NODES    = $ENV{NODES}    // 2;
my $WORKERS  = $ENV{WORKERS}  // 4;
my $DOWN_MIN = $ENV{DOWN_MIN} // 2;
my $DOWN_MAX = $ENV{DOWN_MAX} // 5;
my $DEADLINE = 30;    # s: a node that takes longer is reported, not waited

my $r = Hotline::Redis->new->start;
my @nodes = map {
    Hotline::Test->new(http => $r->directive, workers => $WORKERS,
                       server => q{
        add_header X-Pid $pid always;
        location = /probe {
            hotline_limit key=$request_id rate=1r/s burst=1;
            root /nonexistent;
            try_files /none =204;
        }})->start
} 1 .. $NODES;

# all nodes in turn: per node, { pid => seconds after $t0 of its first
# answer through the store }
sub probe {
    my ($t0) = @_;
    my @want = map { { map { $_ => 1 } $_->worker_pids } } @nodes;
    my @first = map { {} } @nodes;
    my $deadline = time() + $DEADLINE;
    while (time() < $deadline) {
        my $left = 0;
        for my $n (0 .. $#nodes) {
            next if keys %{ $first[$n] } == keys %{ $want[$n] };
            $left = 1;
            my $res = eval { $nodes[$n]->http_get('/probe', timeout => 2) }
                      or next;
            my $pid = $res->{headers}{'x-pid'}[0];
            next unless $pid && $want[$n]{$pid};
            $first[$n]{$pid} //= time() - $t0
                if ($res->{status} // 0) == 204;
        }
        last unless $left;
    }
    return @first;
}

sub stats {
    my @v = sort { $a <=> $b } @_;
    return 'no data' unless @v;
    my $q = sub { $v[ int($_[0] * $#v + 0.5) ] };
    return sprintf 'min %d, median %d, p90 %d, max %d ms (%d values)',
                   $v[0], $q->(0.5), $q->(0.9), $v[-1], scalar @v;
}

my (@health, @probes, $woken, $own);
# the log lines before the first outage are not counted
my %seen_log = map { my @l = split /^/, $nodes[$_]->error_log; ($_ => 0 + @l) }
               0 .. $#nodes;

printf "%d outages, %d nodes x %d workers, Redis down %g-%g s each\n",
       $OUTAGES, $NODES, $WORKERS, $DOWN_MIN, $DOWN_MAX;

for my $i (1 .. $OUTAGES) {
    $r->kill;
    for my $t (@nodes) {
        Hotline::Redis->wait_store_down($t, $DEADLINE)
            or die "outage $i: a node did not see Redis go\n";
    }
    my $down = $DOWN_MIN + rand($DOWN_MAX - $DOWN_MIN);
    sleep $down;

    $r->start;
    my $t0 = $r->{started};
    my (@h, @p);
    my @first = probe($t0);
    for my $n (0 .. $#nodes) {
        my $t = $nodes[$n];
        my @ms = map { int($_ * 1000 + 0.5) } values %{ $first[$n] };
        my $ok = @ms == $WORKERS;
        push @p, $ok ? (sort { $b <=> $a } @ms)[0] : 'timeout';
        # a build without store.workers in /health: the probes only
        my $w = Hotline::Redis->store_workers($t) || {};
        if (grep { !/^-/ } keys %$w) {
            Hotline::Redis->wait_store_up($t, $DEADLINE)
                or die "outage $i: node $n not up\n";
            push @h, $r->recovery_ms($t) // 'n/a';
        } else {
            push @h, 'n/a';
        }

        # the log lines of this recovery: woken by the doorbell, or not
        my @log = split /^/, $t->error_log;
        my @new = @log[ $seen_log{$n} .. $#log ];
        $seen_log{$n} = @log;
        my $rung = grep { /reached by another worker, reconnecting now/ } @new;
        my $up = grep { /redis store at .* is up/ } @new;
        $woken += $rung;
        $own += $up - $rung;
    }
    push @health, grep { /^\d+$/ } @h;
    push @probes, grep { /^\d+$/ } @p;
    printf "outage %2d: down %.1f s; every worker up after: health %s ms, "
           . "probes %s ms\n", $i, $down, join('/', @h), join('/', @p);
}

print "\n";
print "health (last worker of a node up):  ", stats(@health), "\n";
print "probes (last worker of a node 204): ", stats(@probes), "\n";
printf "workers that reconnected on their own timer: %d, woken by the "
       . "doorbell: %d\n", $own // 0, $woken // 0;

$_->stop for @nodes;
$r->stop;
Test::More::done_testing();
