#!/usr/bin/perl
# Failed sendMessage attempts (500, no answer, 429) are retried with
# exponential backoff and jitter: the gaps between attempts are at least
# the base and grow; a 429's retry_after is waited out; each retry is
# counted; the notice arrives in the end and is counted as sent once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use TelegramStub;

my $BASE = 0.2;    # hotline_notify_backoff 200ms 5s

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(backoff => '200ms 5s', retries => 4);

sub counter {
    my ($m, $result) = @_;
    return $m->{"hotline_notifications_total{result=\"$result\"}"} // 0;
}

sub delta_is {
    my ($before, $want, $name) = @_;
    my $m;
    my $ok = poll_until(10, sub {
        $m = $t->metrics;
        !grep { counter($m, $_) - counter($before, $_) != $want->{$_} }
            keys %$want;
    });
    ok($ok, $name) or diag(join ', ', map {
        "$_: " . (counter($m, $_) - counter($before, $_)) } sort keys %$want);
}

# three 500s, then success
my $before = $t->metrics;
$tg->fail(3, '500');
my $r = $t->http_post('/notify-test', '{"customer":"Retry"}');
is($r->{status}, 202, 'queued');
my $call = (eval { json_decode($r->{body}) } || {})->{call_id} // 'none';

my @req = $tg->wait_requests(4, 15, telegram => 1);
is(scalar @req, 4, 'four attempts: three failed, one delivered');
is_deeply([map { $_->{answer} } @req], [500, 500, 500, 200],
          'answers 500, 500, 500, 200');
is(scalar(grep { $_->{body} eq $req[0]{body} } @req), 4,
   'every attempt sends the same message');

my @gap = map { $req[$_]{t} - $req[$_ - 1]{t} } 1 .. $#req;
diag(sprintf 'gaps: %s', join ' ', map { sprintf '%.3fs', $_ } @gap);
for my $i (0 .. $#gap) {
    cmp_ok($gap[$i], '>=', $BASE - 0.02, "gap $i is at least the base");
}
for my $i (1 .. $#gap) {
    # windows [b*2^k, b*2^(k+1)]: each gap at least the previous one
    cmp_ok($gap[$i], '>=', $gap[$i - 1] - 0.05, "gap $i grows");
}
cmp_ok($gap[-1], '>', $gap[0], 'the last gap is longer than the first');

delta_is($before, { sent => 1, retried => 3, failed => 0, fallback => 0 },
         'sent +1, retried +3, nothing failed');
is(scalar $tg->requests(fallback => 1), 0, 'no fallback call');

my $log = $t->error_log;
like($log, qr/test notice for call \Q$call\E to chat 1001: attempt 1 of 5 failed \(HTTP 500: Internal Server Error\), next in \d+ms/,
     'a failed attempt is logged with the call id, status and delay');
like($log, qr/test notice for call \Q$call\E to chat 1001 sent \(attempt 4\)/,
     'the delivery is logged with its attempt');

# 429: retry_after is honoured even though it is above the backoff
$before = $t->metrics;
my $n = scalar $tg->requests(telegram => 1);
$tg->fail(1, '429', retry_after => 2);
$r = $t->http_post('/notify-test', '{"customer":"Flood"}');
is($r->{status}, 202, 'queued');
@req = $tg->wait_requests($n + 2, 15, telegram => 1);
is(scalar @req, $n + 2, 'two attempts');
my ($a, $b) = @req[-2, -1];
is($a->{answer}, 429, 'first answered 429');
is($b->{answer}, 200, 'then delivered');
cmp_ok($b->{t} - $a->{t}, '>=', 2 - 0.02, 'retry_after (2s) waited out');
delta_is($before, { sent => 1, retried => 1, failed => 0 },
         '429: sent +1, retried +1');

# an unreachable API (nothing listens) is retried as well
my $dead = Hotline::Test::free_port();
my $t2 = $tg->nginx(retries => 2, backoff => '100ms 1s', no_fallback => 1,
                    api => "http://127.0.0.1:$dead", workers => 1);
$before = $t2->metrics;
$r = $t2->http_post('/notify-test', '');
is($r->{status}, 202, 'queued for an API that is down');
my $m;
ok(poll_until(15, sub {
    $m = $t2->metrics;
    counter($m, 'failed') - counter($before, 'failed') == 1 }),
   'failed +1 after the retries');
is(counter($m, 'retried') - counter($before, 'retried'), 2, 'retried +2');
like($t2->error_log, qr/attempt 1 of 3 failed \(Couldn't connect to server\)/,
     'the connection error is logged');
like($t2->error_log, qr/failed after 3 attempts: Couldn't connect to server/,
     'the final failure is logged');
$t2->stop;

$t->stop;
$tg->stop;
done_testing;
