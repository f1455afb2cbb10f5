#!/usr/bin/perl
# Login codes go through the same queue: a failed delivery is retried, and
# after the last attempt the fallback webhook learns which user's code was
# not delivered, but never the code; no log line has the code either.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use HotlineAuth qw(otp_request otp_codes);

my ($t, $tg) = HotlineAuth->nginx(
    http => "hotline_otp_ip_rate 600r/m burst=100;\n");

sub counter {
    my ($m, $result) = @_;
    return $m->{"hotline_notifications_total{result=\"$result\"}"} // 0;
}

# delivered after two failures
my $before = $t->metrics;
$tg->fail(2, '500');
is(otp_request($t, 'alice')->{status}, 202, 'code requested');
my @req = $tg->wait_requests(3, 15, telegram => 1);
is_deeply([map { $_->{answer} } @req], [500, 500, 200],
          'two failed attempts, then delivered');
my @codes = otp_codes($tg, '4242');
is(scalar @codes, 3, 'every attempt carries the code');
is(scalar(do { my %u = map { $_ => 1 } @codes; keys %u }), 1,
   'the same code each time');
ok(poll_until(10, sub {
    my $m = $t->metrics;
    counter($m, 'sent') - counter($before, 'sent') == 1
        && counter($m, 'retried') - counter($before, 'retried') == 2 }),
   'sent +1, retried +2');
like($t->error_log, qr/login code for user "alice" to chat 4242: attempt 1 of 4 failed \(HTTP 500/,
     'the retry is logged with the user');

# never delivered: the webhook gets the user, not the code
$before = $t->metrics;
$tg->fail(4, '500');
is(otp_request($t, 'bob')->{status}, 202, 'code requested for bob');
my @fb = $tg->wait_requests(1, 20, fallback => 1);
is(scalar @fb, 1, 'the fallback webhook was called');
is_deeply([sort keys %{ $fb[0]{json} || {} }],
          [qw(attempts chat_id error kind user)],
          'report fields: kind, user, chat_id, attempts, error');
is($fb[0]{json}{kind}, 'otp', 'kind otp');
is($fb[0]{json}{user}, 'bob', 'user bob');
is($fb[0]{json}{chat_id}, '-1001234567', "bob's chat");
is($fb[0]{json}{attempts}, 4, 'after 4 attempts');
my @bob = otp_codes($tg, '-1001234567');
is(scalar @bob, 4, 'four attempts carried the code');
my $code = $bob[0] // 'none';
# (the chat id's digits left out: a code may be six of them)
(my $rest = $fb[0]{body}) =~ s/"chat_id":"[^"]*"//;
unlike($rest, qr/\Q$code\E/, 'the report does not have the code');
unlike($rest, qr/\d{6}/, 'nor any 6 digits (besides the chat id)');
ok(poll_until(10, sub {
    my $m = $t->metrics;
    counter($m, 'failed') - counter($before, 'failed') == 1
        && counter($m, 'fallback') - counter($before, 'fallback') == 1 }),
   'failed +1, fallback +1');
like($t->error_log,
     qr/\[error\].*login code for user "bob" to chat -1001234567 failed after 4 attempts/,
     'the failure is logged with the user');

# a code is not retried past its lifetime (5 minutes): Telegram asking
# to wait 10 minutes ends it at once
$before = $t->metrics;
my $n = scalar $tg->requests(telegram => 1);
my $nfb = scalar $tg->requests(fallback => 1);
$tg->fail(1, '429', retry_after => 600);
is(otp_request($t, 'alice')->{status}, 202, 'code requested');
@fb = $tg->wait_requests($nfb + 1, 15, fallback => 1);
is(scalar @fb, $nfb + 1, 'the webhook was called without a retry');
is(scalar $tg->requests(telegram => 1), $n + 1, 'one attempt only');
like($fb[-1]{json}{error} // '', qr/^HTTP 429: .*the code expires before the next attempt/,
     'the report says why');
ok(poll_until(10, sub {
    my $m = $t->metrics;
    counter($m, 'failed') - counter($before, 'failed') == 1
        && counter($m, 'retried') - counter($before, 'retried') == 0 }),
   'failed +1, not retried');
push @codes, otp_codes($tg, '4242');

$t->stop;
my $logs = '';
opendir my $dh, $t->prefix . '/logs' or die;
$logs .= Hotline::Test::read_file($t->prefix . "/logs/$_")
    for grep { -f $t->prefix . "/logs/$_" } readdir $dh;
for my $c (@codes, @bob) {
    unlike($logs, qr/\Q$c\E/, "code $c is in no log file");
}
unlike($logs, qr/\Q${\ $tg->token }\E/, 'nor is the bot token');
$tg->stop;
done_testing;
