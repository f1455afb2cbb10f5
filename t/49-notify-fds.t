#!/usr/bin/perl
# curl's sockets are only borrowed by the worker: after many deliveries,
# failures and timeouts, each on a new connection, the worker has not
# run out of its few connection slots (a slot not given back would end
# in "worker_connections are not enough"), holds no more descriptors than
# before (plus curl's kept-alive connections), and nothing is left queued.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use TelegramStub;

my $SLOTS = 48;
(my $conf = $Hotline::Test::DEFAULT_CONF)
    =~ s/worker_connections \d+;/worker_connections $SLOTS;/
    or die 'no worker_connections in the template';

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(workers => 1, timeout => '1s', retries => 1,
                   backoff => '50ms 100ms', conf => $conf);
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

# every answer closes its connection: each attempt takes a new socket
$tg->close_connections(1);
my $n = 1;
for my $round (1 .. 5) {
    for (1 .. 20) {
        $t->http_post('/notify-test', '');
        $n++;
    }
    ok(poll_until(20, sub { counter('sent') + counter('failed') == $n }),
       "round $round: 20 more delivered ($n in all, $SLOTS slots)");
}
$tg->close_connections(0);

# hanging attempts time out, failing ones are retried, all on new sockets
$tg->fail(5, 'hang');
$t->http_post('/notify-test', '') for 1 .. 5;
# (the five hang before the next mode: else some of them get a 500)
ok(poll_until(10, sub {
    5 == grep { ($_->{answer} // '') eq 'hang' } $tg->requests(telegram => 1)
}), 'five attempts hang');
$tg->fail(10, '500');
$t->http_post('/notify-test', '') for 1 .. 5;
$n += 10;
ok(poll_until(30, sub { counter('sent') + counter('failed') == $n }),
   'timeouts and failures came to an end')
    or diag(counter('sent') . ' sent, ' . counter('failed') . ' failed');
is(counter('failed'), 5, 'the five 500s failed after their retry');

ok(poll_until(10, sub { $t->health->{notifier}{queued} == 0 }),
   'nothing left queued');
my $after;
ok(poll_until(10, sub { $after = fds(); $after <= $base + 4 }),
   'the worker holds no more descriptors than before (+ curl cache)')
    or diag("before $base, after $after");
unlike($t->error_log, qr/worker_connections are not enough/,
       'no connection slot was lost');

$t->stop;
$tg->stop;
done_testing;
