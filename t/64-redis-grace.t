#!/usr/bin/perl
# Grace periods on the Redis store across nodes (hotline_resume_timeout
# 1s): a party that does not come back ends its call ("gone") for the
# peer on the other node, once (every worker of both nodes sweeps); a
# worker killed with SIGKILL leaves parties that the others detach, and
# their calls end the same way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed' unless Hotline::Redis::available();

# /health as the given worker sees it
sub worker_health {
    my ($t, $pid) = @_;
    my $r = $t->http_raw("GET /health HTTP/1.1\r\nHost: x\r\n"
                         . "Connection: close\r\n\r\n",
                         sock => $t->worker_socket($pid));
    close $r->{sock};
    return eval { Hotline::Test::json_decode($r->{body}) } || {};
}

my $r  = Hotline::Redis->new->start;
my %o  = (http => $r->directive . "\n    hotline_resume_timeout 1s;");
my $ta = Hotline::Test->new(%o)->start;
my $tb = Hotline::Test->new(%o)->start;
ok(Hotline::Redis->wait_store_up($_), 'node is up on redis') for $ta, $tb;

my $keep;    # grace-b stays connected throughout

# --- the customer (node A) leaves for good
{
    my ($c, $a) = $ta->call(customer => $ta->customer('Gone'),
                            agent => $tb->agent(sub => 'grace-b'));
    $c->drop;
    my $p = $a->wait_for('peer', 5);
    is($p && $p->{state}, 'reconnecting', 'agent on B: customer reconnecting');
    my $e = $a->wait_for('ended', 6);
    is($e && $e->{reason}, 'gone', 'after the grace: ended, gone');
    ok(!$a->wait_for('ended', 1.5), 'ended once, though four workers sweep');
    ok(!$a->is_closed, 'the agent stays connected');
    $keep = $a;
    # the gauges are each worker's own snapshot: ask every worker
    for my $pid ($tb->worker_pids) {
        my $h;
        ok(poll_until(5, sub {
            $h = worker_health($tb, $pid);
            $h->{agents}{busy} == 0;
        }), "worker $pid: the agent is idle again") or diag(json_encode($h));
    }

    # and takes the next call
    my ($c2, $a2) = $ta->call(customer => $tb->customer('Next'), agent => $a);
    ok($c2->{accepted}, 'the agent takes the next call');
    $a2->send_json({ type => 'hangup' });
    $c2->wait_for('ended', 5);
    $a->wait_for('ended', 5);

    my $x = $tb->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $c->{token} });
    my $xe = $x->wait_for('error', 5);
    is($xe && $xe->{code}, 'expired', 'the gone customer cannot resume');
}

# --- the agent (node B) leaves for good
{
    my ($c, $a) = $ta->call(customer => $ta->customer('Left'),
                            agent => $tb->agent(sub => 'grace-b2'));
    $a->drop;
    my $e = $c->wait_for('ended', 6);
    is($e && $e->{reason}, 'gone', 'customer on A: ended, gone');
    is($c->expect_close(5), 1000, 'customer closed with 1000');
    ok(poll_until(5, sub { $ta->health->{agents}{online} == 1 }),
       'the gone agent is offline (grace-b is left)')
        or diag(json_encode($ta->health));
}

# --- a worker of node A is killed: its parties are detached by the others
{
    my $a = $tb->agent(sub => 'grace-b3');
    my $c = $ta->customer('Victim');
    my $victim = $ta->conn_pid($c);
    ok($victim, "the customer's worker on A: $victim");
    ($c, $a) = $ta->call(customer => $c, agent => $a);
    $ta->allow_log(qr/worker process $victim exited on signal 9/)
        if $ta->can('allow_log');
    kill 'KILL', $victim;
    my $p = $a->wait_for('peer', 8);
    is($p && $p->{state}, 'reconnecting', 'agent told: customer reconnecting');
    my $e = $a->wait_for('ended', 8);
    is($e && $e->{reason}, 'gone', '... then ended, gone');
}

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
