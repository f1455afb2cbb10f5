#!/usr/bin/perl
# Answers of a Sentinel gone wrong: the proxy of t/165 (Hotline::RespProxy,
# rule "chaos-all") between nginx and the one sentinel it asks, from
# nginx's start on: every array the sentinel sends, at any depth, gets an
# element of another type or loses its last one: the master's address,
# and the subscribe confirmations on the connection that listens for
# +switch-master (where hiredis would abort the worker on a message of
# the wrong shape: the module's walk closes that connection instead, and
# it connects again, into the chaos again), and a host name where the
# master's IP address should be (a worker would wait for its lookup).
# nginx must not crash, log an alert, nor look a name up, and once the
# sentinel answers right, it finds the master and serves a call.
#
# The Redis store only: it configures its own Redis (the default suite
# runs it; `make test-redis` skips it rather than run it twice).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;
use Hotline::RespProxy;

plan skip_all => 'redis-server and redis-sentinel are not installed'
    unless Hotline::Redis::sentinel_available();
plan skip_all => 'configures its own Redis: runs in the default suite'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $m = Hotline::Redis->new->start;
my $s = Hotline::Redis->new(sentinel => { master => $m, name => 'hl',
                                          quorum => 1 })->start;
my $mport = $m->port;
ok(poll_until(10, sub { $s->master_of('hl') eq "127.0.0.1:$mport" }),
   'the sentinel watches the master');

my $proxy = Hotline::RespProxy->new(upstream => $s->port)->start;
$proxy->rule('chaos-all');

my $t = Hotline::Test->new(http => '    hotline_redis sentinel://127.0.0.1:'
                                   . $proxy->port . '/hl prefix=sc:;')
                     ->start;
my $workers = join ',', sort $t->worker_pids;

# the chaos until it has hit a dozen of the sentinel's answers: the
# workers ask again, and listen again, while no answer is right
ok(poll_until(30, sub {
       (grep { $_ eq 'chaos-all' } $proxy->rewrites) >= 12 }, 0.1),
   'the sentinel\'s answers were corrupted')
    or diag(join ',', $proxy->rewrites);
$proxy->rule('off');

is(join(',', sort $t->worker_pids), $workers, 'no worker crashed');
# a master "at" a host name (an element replaced by a string) is not
# looked up: hiredis would resolve it, the worker waiting
like($t->error_log, qr/does not tell where the master "hl" is: not an IP/,
     'an address that is not an IP address was refused');
unlike($t->error_log, qr/Name or service not known|name resolution/,
       'no host name was resolved');
ok(Hotline::Redis->wait_store_up($t, 30), 'every worker found the master');

$t->check_call('AfterChaos');

is_deeply([ $t->bad_log_lines ], [], 'no alerts');

$t->stop;
$proxy->stop;
done_testing;
