#!/usr/bin/perl
# curl's sockets are only borrowed by the worker: after many deliveries,
# failures and timeouts the worker holds no more descriptors than before
# (plus curl's few kept-alive connections), and nothing is left queued.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(workers => 1, timeout => '1s', retries => 1,
                   backoff => '50ms 100ms');
my ($pid) = $t->worker_pids;

sub fds { my @f = glob("/proc/$pid/fd/*"); scalar @f }
sub counter {
    my ($result) = @_;
    $t->metrics->{"hotline_notifications_total{result=\"$result\"}"} // 0;
}

# warm up: curl's connection cache and nginx's own descriptors
is($t->http_post('/notify-test', '')->{status}, 202, 'first notice');
ok(poll_until(10, sub { counter('sent') == 1 }), 'delivered');
my $base = fds();

# 30 deliveries, 5 that hang until the timeout, 5 that fail with 500
for my $i (1 .. 30) {
    $t->http_post('/notify-test', '');
}
$tg->fail(5, 'hang');
$t->http_post('/notify-test', '') for 1 .. 5;
$tg->fail(10, '500');
$t->http_post('/notify-test', '') for 1 .. 5;

ok(poll_until(30, sub {
    counter('sent') + counter('failed') == 41 }),
   'all 40 notices came to an end') or diag(counter('sent') . ' sent, '
                                           . counter('failed') . ' failed');
ok(poll_until(10, sub { $t->health->{notifier}{queued} == 0 }),
   'nothing left queued');
my $after;
ok(poll_until(10, sub { $after = fds(); $after <= $base + 4 }),
   'the worker holds no more descriptors than before (+ curl cache)')
    or diag("before $base, after $after");

$t->stop;
$tg->stop;
done_testing;
