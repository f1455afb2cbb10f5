#!/usr/bin/perl
# Redis high availability through Sentinel (issue 15): a master, a
# replica and three sentinels (Debian's redis-sentinel) on loopback; nginx
# finds the master through `hotline_redis sentinel://...`.  The master is
# killed (SIGKILL) under traffic, both parties of the calls sending
# numbered chats (t/lib/Hotline/Traffic.pm): the sentinels promote the
# replica, every worker follows (+switch-master, or asking again) and
# catches up.  Every acknowledged message is delivered once, in order, or
# its gap is told; every call goes on.
#
# The Redis store only: it configures its own Redis (the default suite
# runs it; `make test-redis` skips it rather than run it twice).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(poll_until);
use Hotline::Redis;
use Hotline::Traffic;

plan skip_all => 'redis-server and redis-sentinel are not installed'
    unless Hotline::Redis::sentinel_available();
plan skip_all => 'configures its own Redis: runs in the default suite'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $m = Hotline::Redis->new(aof => 'always')->start;
my $rep = $m->replica(aof => 'always')->start;
ok($rep->wait_synced, 'the replica is in sync');
my @s = map { Hotline::Redis->new(sentinel => { master => $m, name => 'hl',
                                                quorum => 2 })->start } 1 .. 3;
my $mport = $m->port;
ok(poll_until(10, sub { !grep { $_->master_of('hl') ne "127.0.0.1:$mport" }
                        @s }), 'the sentinels watch the master');
# every sentinel knows the others and the replica before the failover
ok(poll_until(10, sub {
    $s[0]->cli('SENTINEL', 'master', 'hl') =~ /num-other-sentinels\s+2\b/
    && $s[0]->cli('SENTINEL', 'replicas', 'hl') =~ /$rep->{port}/ }),
   'the sentinels know each other and the replica');

my $url = Hotline::Redis->sentinel_url(\@s, 'hl');

# --- replicas=1: what clients are told waits until the replica has it
{
    my $d = 'hotline_redis redis://127.0.0.1:' . $m->port
            . '/0 prefix=w: replicas=1 replica_timeout=%s;';
    my $tw = Hotline::Test->new(http => sprintf($d, '30s'))->start;
    my ($c, $a) = $tw->call(name => 'Durable', sub => 'durable-agent');
    $c->send_json({ type => 'chat', text => 'one', id => 'd1' });
    ok($c->wait_for('ack', 5) && $a->wait_for('chat', 5),
       'replicas=1: acknowledged and delivered while the replica is there');
    kill 'STOP', $rep->pid;
    $c->send_json({ type => 'chat', text => 'two', id => 'd2' });
    $c->pump_until(1, sub { grep { $_->{type} eq 'ack' } @{ $c->{inbox} } });
    $a->pump_until(0.2, sub { 0 });
    ok(!grep({ $_->{type} eq 'ack' } @{ $c->{inbox} })
       && !grep({ $_->{type} eq 'chat' } @{ $a->{inbox} }),
       'the replica stopped: no ack, no delivery (for 1 s)');
    kill 'CONT', $rep->pid;
    ok($c->wait_for('ack', 10), 'the replica back: the ack comes');
    is(($a->wait_for('chat', 10) // {})->{text}, 'two', '... and the chat');
    $c->send_json({ type => 'hangup' });
    $a->wait_for('ended', 5);
    $tw->stop;

    # a replica that does not answer in time: the node goes on without
    $tw = Hotline::Test->new(http => sprintf($d, '200ms'))->start;
    ($c, $a) = $tw->call(name => 'Lagging', sub => 'lagging-agent');
    kill 'STOP', $rep->pid;
    $c->send_json({ type => 'chat', text => 'three', id => 'd3' });
    my $ack = $c->wait_for('ack', 5);
    kill 'CONT', $rep->pid;
    ok($ack && $a->wait_for('chat', 5),
       'a replica that does not answer in 200ms: it goes on without');
    like($tw->error_log, qr/\[warn\].*0 of 1 replicas have the writes after 200 ms, going on without them/,
         '... and says so');
    ok($rep->wait_synced, 'the replica is in sync again');
    ok(poll_until(10, sub {
        $c->send_json({ type => 'chat', text => 'again' });
        $tw->error_log =~ /1 replicas have the writes again/ }, 0.3),
       'it waits for the replica again once it answers');
    $c->send_json({ type => 'hangup' });
    $a->wait_for('ended', 5);
    $tw->stop;
}

# --- nginx -t: the syntax, with clear errors
my $t0 = Hotline::Test->new;
my $many = join ',', map { "127.0.0.1:$_" } 1 .. 17;
for my $bad (
    [ 'sentinel://127.0.0.1:26379', qr/the name of the master is missing/ ],
    [ 'sentinel://127.0.0.1:26379/', qr/the name of the master is missing/ ],
    [ 'sentinel://127.0.0.1:26379/na*me', qr/invalid master name "na\*me"/ ],
    [ 'sentinel://127.0.0.1:26379/' . ('n' x 65), qr/invalid master name/ ],
    [ "sentinel://$many/hl", qr/more than 16 sentinels/ ],
    [ 'sentinel://127.0.0.1:99999/hl', qr/invalid redis address "127\.0\.0\.1:99999"/ ],
    [ 'sentinel://127.0.0.1:26379,/hl', qr/invalid redis address ""/ ],
    [ 'sentinel://127.0.0.1:26379/hl/x', qr/invalid redis database number/ ],
    [ 'sentinel://user@127.0.0.1:26379/hl', qr/user:password@/ ],
    [ 'sentinel://127.0.0.1:26379/hl sentinel_password=', qr/sentinel password must be 1-512 bytes/ ],
    [ 'redis://127.0.0.1:6379/0 sentinel_password=x', qr/"sentinel_password" needs a "sentinel:\/\/" URL/ ],
    [ 'rediss://127.0.0.1:6379/0', qr/must start with "redis:\/\/" or "sentinel:\/\/"/ ])
{
    my $conf = $t0->render;
    $conf =~ s/^http \{/http {\n    hotline_redis $bad->[0];/m;
    my ($ok, $out) = $t0->nginx_t($conf);
    ok(!$ok, "nginx -t fails: $bad->[0]");
    like($out, $bad->[1], '... with a clear message') or diag($out);
}
{
    my $conf = $t0->render;
    $conf =~ s/^http \{/http {\n    hotline_redis sentinel:\/\/:pw\@127.0.0.1:26379,127.0.0.1,localhost:1\/hl-1.a_b\/2 prefix=x: sentinel_password=sp;/m;
    my ($ok, $out) = $t0->nginx_t($conf);
    ok($ok, 'nginx -t passes: three sentinels (default port), a password, '
            . 'a database, a prefix and a password for the sentinels')
        or diag($out);
}

# --- a name the sentinels do not know: the store stays down, and says why
{
    my $u = Hotline::Redis->sentinel_url(\@s, 'nope');
    my $tn = Hotline::Test->new(http => "hotline_redis $u prefix=nope:;",
                                wait_store => 0)->start;
    ok(poll_until(10, sub { $tn->error_log =~
           /sentinel \S+ does not tell where the master "nope" is: it does not know that name/ }),
       'a name no sentinel knows: each one is asked, the reason logged');
    ok(poll_until(10, sub { $tn->error_log =~
           /no sentinel told where the master is, next attempt/ }),
       '... then it tries again later');
    is($tn->http_get('/health')->{status}, 503, '... /health says 503');
    $tn->stop;
}
my $t = Hotline::Test->new(http => "hotline_redis $url prefix=ha: replicas=1;")
                       ->start;
$t->allow_log(qr/redis store at .* unavailable|no longer kept/);
like($t->error_log, qr/sentinel \S+: the master "hl" is at 127\.0\.0\.1:$mport/,
     'the workers asked the sentinels where the master is');

my $tr = Hotline::Traffic->new(nodes => [$t], calls => 10, rate => 20,
                               tag => 'ha')->setup;
$tr->run(2);

# the master dies; the sentinels promote the replica
$m->kill;
my $killed = time();
my $rport = $rep->port;
$tr->run(30, until => sub {
    !grep { $_->master_of('hl') ne "127.0.0.1:$rport" } @s });
is($s[0]->master_of('hl'), "127.0.0.1:$rport", 'the replica is the master');
note(sprintf 'failover %.1f s after the kill', time() - $killed);
$tr->run(30, until => sub { Hotline::Redis->store_workers($t)->{-status}
                            == 200 });
ok(Hotline::Redis->wait_store_up($t), 'every worker is up on the new master');
note(sprintf 'every worker up %.1f s after the kill', time() - $killed);
like($t->error_log, qr/the master "hl" moved from 127\.0\.0\.1:$mport to 127\.0\.0\.1:$rport/,
     'a worker heard of the failover from a sentinel');

$tr->run(3);
ok($tr->settle(20), 'every party back, everything delivered');
$tr->check('the master killed', gaps => 1);
$tr->hangup('failover');
$t->stop;
done_testing;
