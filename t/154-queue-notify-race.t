#!/usr/bin/perl
# A queue change noticed in the same event loop turn as the answer to an
# older read of the queue (Redis store, two nodes).  Node A reads the queue
# (read 1); node B's customer leaves the queue after read 1 ran in Redis;
# node A's worker finds the news and read 1's answer at once, the news
# first.  Read 1 predates the change; the agents of node A must still hear
# of it, from the read that the news starts.  They did not: the answer to
# read 1 took the "queue changed" mark with it, and the agent on node A
# saw the call that had left until the next change (t/61 failed on it in
# CI: the agent never saw the 20th customer of a crowd).
#
# Made to happen every time: node A's worker is stopped (SIGSTOP) while
# read 1 waits in a paused Redis (CLIENT PAUSE WRITE) with news behind it
# (Redis writes its pending answers to the clients that got one last
# first), the leaving waits behind them, and node A's worker goes on only
# once both of its connections to Redis hold what was written.
#
# The Redis store only: it configures its own Redis (the default suite
# runs it; `make test-redis` skips it rather than run it twice).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();
plan skip_all => 'configures its own Redis: runs in the default suite'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $r = Hotline::Redis->new->start;
my $http = $r->directive . "\nhotline_queue_per_address off;";
my $ta = Hotline::Test->new(http => $http, workers => 1)->start;
my $tb = Hotline::Test->new(http => $http, workers => 1)->start;

for my $t ($ta, $tb) {
    ok(Hotline::Redis->wait_store_up($t), 'node is up on redis');
}

my ($wa) = $ta->worker_pids;
my ($wb) = $tb->worker_pids;
# (a test that dies leaves no worker stopped behind)
END { kill 'CONT', $wa if $wa }

# a worker's connections to Redis: { local port => CLIENT LIST fields }
sub links {
    my ($pid) = @_;
    my %mine;
    for (`ss -tnpH state established dport = :${\ $r->port }`) {
        next unless /127\.0\.0\.1:(\d+)\s.*pid=$pid,/;
        $mine{$1} = 1;
    }
    my %l;
    for my $line (split /\n/, $r->cli('CLIENT', 'LIST')) {
        my %f = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split / /, $line;
        next unless ($f{addr} // '') =~ /:(\d+)$/ && $mine{$1};
        $l{$1} = \%f;
    }
    return \%l;
}

# the subscriber and the command connection of a worker
sub roles {
    my ($pid) = @_;
    my $l = links($pid);
    my ($sub) = grep { $l->{$_}{sub} || $l->{$_}{psub} } keys %$l;
    my @cmd = grep { !$l->{$_}{sub} && !$l->{$_}{psub} } keys %$l;
    return ($sub, \@cmd);
}

my ($sub_a, $cmd_a) = roles($wa);
my ($sub_b, $cmd_b) = roles($wb);
ok($sub_a && @$cmd_a, "node A's worker: subscriber and commands")
    or diag(json_encode(links($wa)));
ok($sub_b && @$cmd_b, "node B's worker: subscriber and commands")
    or diag(json_encode(links($wb)));

# a connection of one of these ports is postponed by the pause
sub postponed {
    my ($pid, $ports) = @_;
    my $l = links($pid);
    return grep { ($l->{$_}{flags} // '') =~ /b/ } @$ports;
}

# bytes waiting to be read on a worker's side of a connection
sub unread {
    my ($port) = @_;
    for (`ss -tnH state established sport = :$port`) {
        return $1 if /^\s*(\d+)\s/;
    }
    return 0;
}

my $x = $ta->agent(sub => 'watcher');
is($x->{queue}{total}, 0, 'the agent on node A sees an empty queue');
my $cb = $tb->customer('Leaving');
ok($x->wait_for('queue', 5, sub { $_[0]{total} == 1 }),
   'the agent on node A sees the call of node B');
# (what came before it is older: an empty queue is news from here on)
$x->{inbox} = [ grep { $_->{type} ne 'queue' } @{ $x->{inbox} } ];

SKIP: {
    skip 'no connections found', 7 unless $sub_a && @$cmd_a && $sub_b;

    # news of a change (none happened) waits for node A's stopped worker
    kill 'STOP', $wa;
    $r->cli('PUBLISH', 'hotline:queue', '1');
    ok(poll_until(5, sub { unread($sub_a) > 0 }),
       "the news waits on node A's subscriber");
    like($r->cli('CLIENT', 'PAUSE', '10000', 'WRITE'), qr/OK/, 'Redis paused');

    # node A reads the queue (read 1) for it
    kill 'CONT', $wa;
    ok(poll_until(5, sub { postponed($wa, $cmd_a) }),
       'read 1 of node A waits in Redis');

    # more news (none happened either) behind read 1: its answer and
    # this news are written to node A at once, the news first
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $r->cli('PUBLISH', 'hotline:queue', '1');
        POSIX::_exit(0);
    }
    ok(poll_until(5, sub {
        $r->cli('CLIENT', 'LIST') =~ /\bflags=b\b[^\n]*\bcmd=publish\b/
    }), 'the second news waits in Redis behind read 1');

    # node B's customer leaves the queue after read 1 (its reads wait
    # behind read 1 too), while node A's worker is stopped
    kill 'STOP', $wa;
    $cb->send_json({ type => 'cancel', id => 'c1' });
    ok(poll_until(5, sub { postponed($wb, $cmd_b) }),
       "node B's customer's leaving waits behind read 1");
    $r->cli('CLIENT', 'UNPAUSE');
    ok($cb->wait_for('ended', 5), "node B's customer left the queue");
    waitpid($pid, 0);

    # node A's worker finds the news of it and read 1's answer at once
    ok(poll_until(5, sub {
        unread($sub_a) > 0 && grep { unread($_) > 0 } @$cmd_a
    }), "the news and read 1's answer wait for node A's worker");
    kill 'CONT', $wa;
}

my $q = $x->wait_for('queue', 5, sub { $_[0]{total} == 0 });
ok($q, 'the agent on node A hears of it');

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
