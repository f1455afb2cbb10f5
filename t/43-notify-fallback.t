#!/usr/bin/perl
# After the last failed attempt the notice is counted as failed, logged
# with its call id, and the fallback webhook gets a JSON report
# {kind, call_id, chat_id, attempts, error}.  A final Telegram error (400)
# is not retried.  A webhook that fails too is logged, and the notice is
# still counted as failed (never lost silently).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(retries => 2, backoff => '100ms 1s');

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

sub post_test {
    my ($customer) = @_;
    my $r = $t->http_post('/notify-test',
                          JSON::PP->new->utf8->encode({ customer => $customer }));
    is($r->{status}, 202, "test notice for $customer queued");
    return (eval { json_decode($r->{body}) } || {})->{call_id} // 'none';
}

# every attempt fails: 1 + 2 retries, then the webhook
my $before = $t->metrics;
$tg->fail(3, '500');
my $call = post_test('Fallback <one>');

my @fb = $tg->wait_requests(1, 15, fallback => 1);
is(scalar @fb, 1, 'the fallback webhook was called once');
my @req = $tg->requests(telegram => 1);
is(scalar @req, 3, 'three sendMessage attempts before it');
cmp_ok($fb[0]{t}, '>', $req[-1]{t}, 'the webhook came after the last attempt');
is($fb[0]{method}, 'POST', 'webhook: POST');
like($fb[0]{content_type}, qr{^application/json}, 'webhook: JSON');
is_deeply($fb[0]{json}, { kind => 'test', call_id => $call, chat_id => '1001',
                          attempts => 3,
                          error => 'HTTP 500: Internal Server Error' },
          'webhook report: kind, call_id, chat_id, attempts, error')
    or diag($fb[0]{body});
delta_is($before, { sent => 0, retried => 2, failed => 1, fallback => 1 },
         'retried +2, failed +1, fallback +1');
like($t->error_log,
     qr/\[error\].*test notice for call \Q$call\E to chat 1001 failed after 3 attempts: HTTP 500: Internal Server Error, calling the fallback webhook/,
     'the failure is logged at error level with the call id');
like($t->error_log,
     qr/test notice for call \Q$call\E to chat 1001: the fallback webhook took the report/,
     'the webhook delivery is logged');

# a final error (chat not found) is not retried
$before = $t->metrics;
$tg->fail(1, '400');
$call = post_test('Nobody');
@fb = $tg->wait_requests(2, 15, fallback => 1);
is(scalar @fb, 2, 'the webhook was called at once');
is(scalar $tg->requests(telegram => 1), 4, 'one attempt only');
is($fb[1]{json}{call_id}, $call, 'report for that call');
is($fb[1]{json}{attempts}, 1, 'attempts 1');
is($fb[1]{json}{error}, 'HTTP 400: Bad Request: chat not found',
   'Telegram\'s description in the report');
delta_is($before, { sent => 0, retried => 0, failed => 1, fallback => 1 },
         '400: failed +1, fallback +1, no retry');

# the webhook fails too: logged, counted as failed, not as fallback
$before = $t->metrics;
$tg->fallback_status(503);
$tg->fail(3, '500');
$call = post_test('Unlucky');
@fb = $tg->wait_requests(3, 15, fallback => 1);
is(scalar @fb, 3, 'the webhook was tried');
is($fb[2]{answer}, 503, 'and answered 503');
delta_is($before, { sent => 0, retried => 2, failed => 1, fallback => 0 },
         'failed +1, fallback +0');
ok(poll_until(5, sub { $t->error_log =~
     /test notice for call \Q$call\E to chat 1001: the fallback webhook failed too: HTTP 503/ }),
   'the webhook failure is logged with the call id');
$tg->fallback_status(200);

# the stand-in works again: delivered, no webhook
$before = $t->metrics;
post_test('Fine');
delta_is($before, { sent => 1, retried => 0, failed => 0, fallback => 0 },
         'sent +1');
is(scalar $tg->requests(fallback => 1), 3, 'no webhook call for a delivery');

my $logs = $t->error_log;
unlike($logs, qr/\Q${\ $tg->token }\E/, 'the bot token is in no log');
for my $f ($tg->requests(fallback => 1)) {
    unlike($f->{body}, qr/\Q${\ $tg->token }\E/, 'no token in a report');
}

$t->stop;
$tg->stop;
done_testing;
