#!/usr/bin/perl
# What Redis sends is walked before hiredis reads it (docs/redis.md): a
# proxy between nginx and Redis (Hotline::RespProxy) passes every answer
# on a few bytes at a time ("drip"): replies cut anywhere, at every depth,
# are put together before hiredis gets them, and calls, chats and joins
# work as before.  Then it follows a relay's answer with a reply that no
# command asked for ("extra"): hiredis aborts the worker on that (an
# assert in redisProcessCallbacks()); the module closes the connection
# instead, with an [error] line, answers what came before it, and the
# store connects again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;
use Hotline::RespProxy;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

# a chat's line goes into the transcript: its relay's answer is the one
# "extra" follows
my ($r, $proxy, $t) = Hotline::RespProxy->nginx(http => <<'EOF');
    hotline_transcript 16k;
EOF
my $workers = join ',', sort $t->worker_pids;

# ---- drip: every answer in pieces of 1 to 3 bytes

$proxy->rule('drip');

my ($c, $a) = $t->call(name => 'Drip', sub => 'drip');
for my $i (1 .. 5) {
    my $ack = $c->request({ type => 'chat', text => "to agent $i" });
    is($ack->{type}, 'ack', "drip: customer line $i acked")
        or diag(json_encode($ack));
    ok($a->wait_for('chat', 5, sub { $_[0]{text} eq "to agent $i" }),
       "drip: customer line $i relayed");
    $ack = $a->request({ type => 'chat', text => "to customer $i" });
    is($ack->{type}, 'ack', "drip: agent line $i acked");
    ok($c->wait_for('chat', 5, sub { $_[0]{text} eq "to customer $i" }),
       "drip: agent line $i relayed");
}
my $w = $t->customer('DripWaiting');
ok($w->{welcome}{call_id}, 'drip: a customer joins the queue');
ok($a->wait_for('queue', 5,
                sub { grep { $_->{name} eq 'DripWaiting' }
                           @{ $_[0]{calls} || [] } }),
   'drip: the agent sees it waiting');
$w->close_ws(1000);

$proxy->rule('off');
my $drips = grep { $_ eq 'drip' } $proxy->rewrites;
cmp_ok($drips, '>', 20, "drip: $drips answers cut in pieces");
unlike($t->error_log, qr/wrong shape/, 'drip: no answer was refused');

# ---- extra: a reply to no command, after a relay's answer

$t->allow_log(qr/wrong shape/);
$proxy->rule('extra');
my $ack = $c->request({ type => 'chat', text => 'extra 1' });
$proxy->rule('off');
my @extra = grep { $_ eq 'extra' } $proxy->rewrites;
is(scalar @extra, 1,
   'extra: a reply was added after the answer to the line')
    or diag(join ',', $proxy->rewrites);
is($ack->{type}, 'ack', 'extra: the line before it is acked')
    or diag(json_encode($ack));
ok($a->wait_for('chat', 5, sub { $_[0]{text} eq 'extra 1' }),
   'extra: and relayed');
my $closed = qr/redis command connection: a message of the wrong shape, (?x)
                the\ connection\ is\ closed/;
ok(poll_until(5, sub { $t->error_log =~ $closed }),
   'extra: the connection was closed, with an error line')
    or diag($t->error_log_tail);

is(join(',', sort $t->worker_pids), $workers, 'no worker crashed');
ok(Hotline::Redis->wait_store_up($t), 'every worker is up on redis again');

# the call goes on once the store is back (the connection's loss may
# have answered a line in between with "unavailable")
my $n = 0;
ok(poll_until(20, sub {
    my $r = $c->request({ type => 'chat', text => 'after ' . ++$n }, 2);
    $r && $r->{type} eq 'ack';
}, 0.3), 'the call goes on');
ok($a->wait_for('chat', 5, sub { $_[0]{text} eq "after $n" }),
   'and its line is relayed');

is_deeply([ $t->bad_log_lines ], [], 'no alerts');

$t->stop;
$proxy->stop;
done_testing;
