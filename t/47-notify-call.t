#!/usr/bin/perl
# A customer who joins the queue is announced to every hotline_notify_chat:
# the notice has the call id the customer got in its welcome and the name
# it typed, escaped for Telegram's HTML mode.  Joining never waits for
# Telegram: with the API hanging, customers still join at once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(chats => '1001 -2002', timeout => '5s');

my $before = $t->metrics;
my $c = $t->customer('<b>Eve</b> & <i>co</i>');
my $call = $c->{call_id} // 'none';
like($call, qr/\A[0-9a-f]{32}\z/, 'the customer has a call id');

my @req = $tg->wait_requests(2, 10, telegram => 1);
is(scalar @req, 2, 'a notice to each of the two chats');
is_deeply([sort map { $_->{json}{chat_id} } @req], ['-2002', '1001'],
          'chat ids as configured');
for my $q (@req) {
    my $text = $q->{json}{text} // '';
    like($text, qr/New support call/, 'a new-call notice');
    like($text, qr/<code>\Q$call\E<\/code>/, 'with the call id of the welcome');
    like($text, qr/&lt;b&gt;Eve&lt;\/b&gt; &amp; &lt;i&gt;co&lt;\/i&gt;/,
         'the name escaped for HTML mode');
    unlike($text, qr/<b>Eve|<i>co/, 'no tag of the customer gets through');
    is($q->{json}{parse_mode}, 'HTML', 'parse_mode HTML');
}
ok(poll_until(5, sub {
    $t->metrics->{'hotline_notifications_total{result="sent"}'}
        - $before->{'hotline_notifications_total{result="sent"}'} == 2 }),
   'sent +2');
like($t->error_log, qr/new-call notice for call \Q$call\E to chat 1001 sent/,
     'logged with the call id');

# Telegram hangs: joining does not wait for it
$tg->fail(10, 'hang');
my @more;
for my $i (1 .. 3) {
    my $x = eval { $t->customer("Waiting $i") };
    ok($x, "customer $i joined while the API hangs") or diag($@);
    push @more, $x;
}
ok(poll_until(10, sub {
    grep({ $_->{answer} eq 'hang' } $tg->requests(telegram => 1)) == 6 }),
   'their notices are under way (held by the stand-in)');
unlike($t->error_log, qr/Timeout was reached/, 'none has timed out yet');

$_->close_ws(1000) for grep { $_ } $c, @more;
$t->stop;
$tg->stop;
done_testing;
