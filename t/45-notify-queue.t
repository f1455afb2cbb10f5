#!/usr/bin/perl
# The per-worker queue is bounded (hotline_notify_queue): a notice that
# does not fit is refused at once, counted as failed and logged with its
# call id; the queued ones are delivered; the queue has room again after.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(workers => 1, queue => 2, timeout => '3s', retries => 1,
                   backoff => '100ms 1s');

sub counter {
    my ($m, $result) = @_;
    return $m->{"hotline_notifications_total{result=\"$result\"}"} // 0;
}

my $before = $t->metrics;
$tg->fail(2, 'hang');

my @ok;
for my $i (1, 2) {
    my $r = $t->http_post('/notify-test', '');
    is($r->{status}, 202, "notice $i queued");
    push @ok, (eval { json_decode($r->{body}) } || {})->{call_id};
}
is(scalar $tg->wait_requests(2, 10, telegram => 1), 2,
   'both are under way (hanging)');

my @full;
for my $i (3, 4, 5) {
    my $r = $t->http_post('/notify-test', '');
    is($r->{status}, 503, "notice $i refused: 503");
    my $j = eval { json_decode($r->{body}) } || {};
    is($j->{error}, 'queue_full', 'error queue_full');
}

my $m = $t->metrics;
is(counter($m, 'failed') - counter($before, 'failed'), 3,
   'three overflows counted as failed');
my @lines = $t->error_log =~ /^(.*dropped: the notification queue is full.*)$/mg;
is(scalar @lines, 3, 'three overflows logged');
like($lines[0] // '', qr/\[error\].*test notice for call [0-9a-f]{32} to chat 1001 dropped: the notification queue is full \(hotline_notify_queue 2\)/,
     'at error level, with the call id and the limit');

# the two queued ones time out once, then are delivered
my @req = $tg->wait_requests(4, 20, telegram => 1);
is(scalar(grep { $_->{answer} eq '200' } @req), 2, 'the queued two delivered');
for my $call (@ok) {
    ok((grep { ($_->{json}{text} // '') =~ /\Q$call\E/ && $_->{answer} eq '200' } @req),
       "notice for $call delivered");
}
ok(poll_until(10, sub {
    counter($t->metrics, 'sent') - counter($before, 'sent') == 2 }),
   'sent +2');

# room again
my $r = $t->http_post('/notify-test', '');
is($r->{status}, 202, 'queued again once the queue drained');
ok(poll_until(10, sub {
    counter($t->metrics, 'sent') - counter($before, 'sent') == 3 }),
   'and delivered');
is(counter($t->metrics, 'failed') - counter($before, 'failed'), 3,
   'failed still +3');

$t->stop;
$tg->stop;
done_testing;
