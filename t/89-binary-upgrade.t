#!/usr/bin/perl
# nginx's binary upgrade (USR2, then WINCH and QUIT to the old master), as
# docs/deployment.md describes it: the new master starts its own workers
# beside the old ones; WINCH closes the old workers' WebSockets with 1001
# and the clients come back to the new workers.  On the embedded store the
# new master has a zone of its own (shared memory does not cross exec()):
# the calls are lost and a resume is answered "expired".  On the Redis
# store the state outlives both masters: the call resumes and goes on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

my @masters;    # old masters to end whatever happens
END { kill 'KILL', grep { $_ && kill(0, $_) } @masters }

sub read_pid {
    my ($f) = @_;
    return -s $f ? 0 + Hotline::Test::read_file($f) : 0;
}

# USR2 + WINCH: returns when the old workers are gone; the harness then
# follows the new master
sub upgrade {
    my ($t) = @_;
    my $pidfile = $t->prefix . '/logs/nginx.pid';
    my $old = $t->master_pid;
    push @masters, $old;
    kill 'USR2', $old;
    my $new;
    ok(poll_until(10, sub {
        $new = read_pid($pidfile);
        $new && $new != $old && -s "$pidfile.oldbin"
    }), 'USR2: a new master, the old pid file kept as nginx.pid.oldbin');
    ok(poll_until(10, sub {
        my @w = grep { /worker process/ } `ps --ppid $new -o args=`;
        @w == 2;
    }), 'the new master runs its workers');
    # (the new master is a child of the old one too)
    my @old_workers = map { /^\s*(\d+)\s+.*worker process/ ? $1 : () }
                      `ps --ppid $old -o pid=,args=`;
    is(scalar @old_workers, 2, 'the old workers run beside the new ones');
    kill 'WINCH', $old;
    ok(poll_until(15, sub { !grep { kill(0, $_) } @old_workers }),
       'WINCH: the old workers are gone');
    $t->{master} = $new;
    return $old;
}

sub finish {
    my ($t, $old) = @_;
    kill 'QUIT', $old;
    ok(poll_until(10, sub { !kill(0, $old) }), 'QUIT: the old master exits');
    $t->stop;
}

# ------------------------------------------------------------ embedded store
{
    my $t = Hotline::Test->new->start;
    my ($c, $a) = $t->call(name => 'Shm call', sub => 'shm-agent');
    my $old = upgrade($t);
    is($c->expect_close(10), 1001, 'shm: the customer is closed with 1001');
    is($a->expect_close(10), 1001, 'shm: the agent too');
    my $ws = $t->ws_connect('/ws/customer');
    $ws->send_json({ type => 'resume', token => $c->{token} });
    my $e = $ws->wait_for('error', 5);
    is($e && $e->{code}, 'expired',
       'shm: the call is lost, the resume is answered "expired"');
    is($t->health->{calls}{active}, 0, 'shm: the new zone is empty');
    $ws->drop;
    my $n = $t->customer('After the upgrade');
    ok($n->{welcome}, 'shm: new calls are served');
    $n->drop;
    finish($t, $old);
}

# ------------------------------------------------------------ Redis store
SKIP: {
    skip 'no redis-server', 1 unless Hotline::Redis::available();
    my $r = Hotline::Redis->new->start;
    my $t = Hotline::Test->new(http => $r->directive)->start;
    my ($c, $a) = $t->call(name => 'Redis call', sub => 'redis-agent');
    $a->send_json({ type => 'chat', text => 'before', id => 'b' });
    my $before = $c->wait_for('chat', 5);
    my $old = upgrade($t);
    Hotline::Redis->wait_store_up($t);
    is($c->expect_close(10), 1001, 'redis: the customer is closed with 1001');
    is($a->expect_close(10), 1001, 'redis: the agent too');

    my $c2 = $t->ws_connect('/ws/customer');
    $c2->send_json({ type => 'resume', token => $c->{token},
                     last_seq => $before ? $before->{seq} : 0 });
    my $w = $c2->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'redis: the customer resumes on the new workers')
        or diag(json_encode($c2->{inbox}));
    my $a2 = $t->ws_connect('/ws/agent',
                            token => $t->mint_jwt(sub => 'redis-agent'));
    $a2->send_json({ type => 'resume', token => $a->{token} });
    ok($a2->wait_for('welcome', 5, sub { $_[0]{resumed} }),
       'redis: the agent resumes');
    $a2->send_json({ type => 'chat', text => 'after', id => 'a' });
    ok($c2->wait_for('chat', 5, sub { $_[0]{text} eq 'after' }),
       'redis: the call goes on across the upgrade');
    $c2->drop;
    $a2->drop;
    finish($t, $old);
    $r->stop;
}

done_testing;
