#!/usr/bin/perl
# A notice waiting for its retry is not dropped by a graceful reload or
# quit: the old worker keeps running until it is delivered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(workers => 1, retries => 3, backoff => '1500ms 3s');

# reload while a retry is pending
$tg->fail(1, '500');
my $r = $t->http_post('/notify-test', '{"customer":"Reload"}');
is($r->{status}, 202, 'queued');
my $call = (eval { json_decode($r->{body}) } || {})->{call_id} // 'none';
is(scalar $tg->wait_requests(1, 10, telegram => 1), 1, 'first attempt failed');
$t->reload;
my @req = $tg->wait_requests(2, 15, telegram => 1);
is(scalar @req, 2, 'the old worker made the retry after the reload');
is($req[1]{answer}, 200, 'and delivered the notice');
like($req[1]{json}{text} // '', qr/\Q$call\E/, 'that notice');
ok($t->wait_old_workers_gone(15), 'then the old worker exited');
unlike($t->error_log, qr/not delivered/, 'nothing was dropped');

# graceful quit while a retry is pending
$tg->fail(1, '500');
$r = $t->http_post('/notify-test', '{"customer":"Quit"}');
is($r->{status}, 202, 'queued');
is(scalar $tg->wait_requests(3, 10, telegram => 1), 3, 'first attempt failed');
$t->stop(quit => 1);
@req = $tg->requests(telegram => 1);
is(scalar @req, 4, 'the retry was made before the worker quit');
is($req[-1]{answer}, 200, 'and delivered');
unlike($t->error_log, qr/not delivered/, 'nothing was dropped');
unlike($t->error_log, qr/open socket/, 'no socket left open');

$tg->stop;
done_testing;
