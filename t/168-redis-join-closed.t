#!/usr/bin/perl
# A page that closes before its join is answered (Redis store): a proxy
# between nginx and Redis (Hotline::RespProxy, rule "stall") holds every
# answer while the customer sends its join and closes; nginx closes the
# session; then the answers go on, and the join's comes back to a
# session whose page is gone.  That answer used the freed session until
# 2026-12-06 (ddb7a9c; ASan saw it in t/165's chaos 2 runs of 4): here
# it happens every run, and make test-asan runs this test too.  The call
# the join made must not stay in the queue: with no page, it ends as
# gone after hotline_resume_timeout, as when a page closes after its
# welcome.
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

# no ban check before the join (a read of Redis whose answer, after the
# close, would drop the join unmade): the join is the call's commit alone
my ($r, $proxy, $t) = Hotline::RespProxy->nginx(http => <<'EOF');
    hotline_resume_timeout 1s;
    hotline_ban_time off;
EOF
my $workers = join ',', sort $t->worker_pids;

my $a = $t->agent(sub => 'watcher');     # an agent online: calls queue

# calls ended, whatever the reason
sub ended {
    my $m = $t->metrics;
    my $n = 0;
    $n += $m->{$_} for grep { /^hotline_calls_ended_total/ } keys %$m;
    return $n;
}

# customers' connections open, by nginx's count (the zone's; /metrics
# needs no answer from Redis)
sub customers { $t->metrics->{'hotline_connections{role="customer"}'} }

for my $round (1 .. 3) {
    my $name = "Gone$round";
    my $c = $t->ws_connect('/ws/customer');
    ok(poll_until(5, sub { customers() == 1 }),
       "$round: the page is connected");

    my $held = grep { $_ eq 'stall' } $proxy->rewrites;
    $proxy->rule('stall');
    $c->send_json({ type => 'join', name => $name });
    $c->drop;
    ok(poll_until(5, sub { customers() == 0 }),
       "$round: nginx closed the page's session, its join unanswered");
    # the join's answer among them: Redis made the call meanwhile
    ok(poll_until(5, sub {
           (grep { $_ eq 'stall' } $proxy->rewrites) > $held }),
       "$round: answers were held");
    $proxy->rule('off');

    # the join was made, and its call ended (no page to answer it)
    ok(poll_until(10, sub { ended() == $round }),
       "$round: the join's call was made and ended")
        or diag(json_encode({ map { $_ => $t->metrics->{$_} }
                              grep { /ended|calls/ } keys %{ $t->metrics } }));
}

is(join(',', sort $t->worker_pids), $workers, 'no worker crashed');

# nginx serves as before
$t->check_call('After');

is_deeply([ $t->bad_log_lines ], [], 'no alerts');

$t->stop;
$proxy->stop;
done_testing;
