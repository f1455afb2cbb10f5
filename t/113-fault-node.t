#!/usr/bin/perl
# A whole nginx node killed (SIGKILL to its master and workers, as when
# the machine dies) under traffic (issue 15): two nodes on one Redis,
# calls across them, both parties sending numbered chats
# (t/lib/Hotline/Traffic.pm); the parties of the dead node come back on
# the other one as docs/protocol.md says.  Every acknowledged message is
# delivered once, in order; an agent is not replayed what it has (it came
# back with ?last_seq); no connection the client uses is told it was
# replaced; no call lost.
#
# The Redis store only (nodes share calls only through it): it configures
# its own Redis (the default suite runs it; `make test-redis` skips it
# rather than run it twice).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use Hotline::Redis;
use Hotline::Traffic;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();
plan skip_all => 'configures its own Redis: runs in the default suite'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $r = Hotline::Redis->new->start;
my $ta = Hotline::Test->new(http => $r->directive)->start;
# (one JWT key for both, as in a cluster)
my $tb = Hotline::Test->new(http => $r->directive, secret => $ta->secret)
                        ->start;

my $tr = Hotline::Traffic->new(nodes => [$ta, $tb], calls => 12, rate => 20,
                               tag => 'node')->setup;
$tr->run(2);

# node A dies
my @pids = ($ta->master_pid, $ta->child_pids);
kill 'KILL', @pids;
ok(poll_until(10, sub { !grep { kill 0, $_ } @pids }), 'node A is gone');
$ta->{master} = undef;

# long enough for node B to reap the dead workers (silent for 10 s)
$tr->run(12);
ok($tr->settle(30), 'every party back on node B, everything delivered');
$tr->check('node A killed');
my @moved = grep { $_->{node} == 1 && $_->{reconnects} } $tr->parties;
is(scalar(@moved), 12, 'the 12 parties of node A moved to node B');
my @agents = grep { $_->{role} eq 'agent' } @moved;
my $replayed = 0;
$replayed += $_->{dup_seq} for @agents;
is($replayed, 0, 'the agents that moved are not replayed what they had');
$tr->hangup('node killed');
$tb->stop;
done_testing;
