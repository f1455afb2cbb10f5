#!/usr/bin/perl
# A Bot API that takes the request and never answers does not stall the
# worker: with one worker, /health and /metrics are served while the
# attempt is still hanging (before its timeout is even logged); the
# attempt then times out and is retried; the notice arrives in the end.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use Time::HiRes qw(time);
use TelegramStub;

my $tg = TelegramStub->new->start;
# one worker: the worker that waits on the stub must answer /health itself
my $t = $tg->nginx(workers => 1, timeout => '4s', retries => 2,
                   backoff => '100ms 1s');

my $before = $t->metrics;
$tg->fail(2, 'hang');
my $r = $t->http_post('/notify-test', '{"customer":"Patient"}');
is($r->{status}, 202, 'queued while the API hangs');
my $call = (eval { json_decode($r->{body}) } || {})->{call_id} // 'none';

my @req = $tg->wait_requests(1, 10, telegram => 1);
is($req[0]{answer} // '', 'hang', 'the stand-in holds the first attempt');

# the attempt hangs (4s timeout): the same worker keeps serving
my $t0 = time;
my $h = eval { $t->http_get('/health', timeout => 30) } || {};
my $took = time - $t0;
is($h->{status}, 200, '/health answers while the attempt hangs');
my $hj = eval { json_decode($h->{body}) } || {};
ok($hj->{notifier}{enabled}, 'health: notifier enabled');
is($hj->{notifier}{queued}, 1, 'health: one notice queued (the hanging one)');
my $m = eval { $t->metrics } || {};
ok(exists $m->{'hotline_notifications_total{result="sent"}'},
   '/metrics answers too');
my $log = $t->error_log;
unlike($log, qr/Timeout was reached/,
       'and both came before the attempt timed out (the worker did not block)')
    or diag("took ${took}s");
is(scalar $tg->requests(telegram => 1), 1, 'no second attempt yet');
diag(sprintf '/health took %.3fs', $took);

# timeouts: attempt 1 and 2 hang, attempt 3 is delivered
@req = $tg->wait_requests(3, 30, telegram => 1);
is_deeply([map { $_->{answer} } @req], ['hang', 'hang', 200],
          'two hung attempts, then delivered');
cmp_ok($req[1]{t} - $req[0]{t}, '>=', 4 - 0.05,
       'the retry came after the 4s timeout');
ok(poll_until(10, sub {
    my $x = $t->metrics;
    $x->{'hotline_notifications_total{result="sent"}'}
        - $before->{'hotline_notifications_total{result="sent"}'} == 1 }),
   'sent +1');
$m = $t->metrics;
is($m->{'hotline_notifications_total{result="retried"}'}
   - $before->{'hotline_notifications_total{result="retried"}'}, 2,
   'retried +2');
like($t->error_log,
     qr/test notice for call \Q$call\E to chat 1001: attempt 1 of 3 failed \(Timeout was reached\)/,
     'the timeout is logged with the call id');

# many hanging attempts at once: still served
my $timeouts = () = $t->error_log =~ /Timeout was reached/g;
$tg->fail(5, 'hang');
for (1 .. 5) {
    is($t->http_post('/notify-test', '')->{status}, 202, "notice $_ queued");
}
$tg->wait_requests(3 + 5, 10, telegram => 1);
$h = eval { $t->http_get('/health', timeout => 30) } || {};
is($h->{status}, 200, '/health answers with five attempts hanging');
is(scalar(() = $t->error_log =~ /Timeout was reached/g), $timeouts,
   'before any of them timed out');

$t->stop;
unlike($t->error_log, qr/\Q${\ $tg->token }\E/, 'the bot token is in no log');
like($t->error_log, qr/not delivered: the worker exits/,
     'notices still queued when the worker stops are logged');
$tg->stop;
done_testing;
