#!/usr/bin/perl
# New-call notices reach the Telegram Bot API stand-in: one sendMessage per
# configured chat, on /bot<TOKEN>/sendMessage, with a JSON body in
# Telegram's shape and the customer's name escaped for HTML mode; counted
# as sent; the bot token appears in no log.  The operator's test location
# takes POST only and checks its body.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(chats => '1001 -1002003004 @hotline_agents');

my $before = $t->metrics;

my $name = qq{<b>Ann</b> & "Co" \x{e7}a\x{11f}r\x{131}};
my $body = JSON::PP->new->utf8->encode({ customer => $name });
my $r = $t->http_post('/notify-test', $body,
                      headers => [['Content-Type', 'application/json']]);
is($r->{status}, 202, 'test notice accepted (202)');
my $j = eval { json_decode($r->{body}) } || {};
is($j->{queued}, 3, 'one notice per chat queued');
like($j->{call_id} // '', qr/\A[0-9a-f]{32}\z/, 'a fresh call id (32 hex)');
my $call = $j->{call_id} // 'none';

my @req = $tg->wait_requests(3, 10, telegram => 1);
is(scalar @req, 3, 'three sendMessage requests');
is_deeply([sort map { $_->{json}{chat_id} } @req],
          [sort '1001', '-1002003004', '@hotline_agents'],
          'one to each chat, chat_id as configured');

for my $q (@req) {
    is($q->{method}, 'POST', 'POST');
    is($q->{path}, '/bot' . $tg->token . '/sendMessage',
       'path /bot<TOKEN>/sendMessage');
    like($q->{content_type}, qr{^application/json}, 'JSON content type');
    ok($q->{json}, 'the body is JSON') or next;
    is($q->{json}{parse_mode}, 'HTML', 'parse_mode HTML');
    ok(JSON::PP::is_bool($q->{json}{disable_web_page_preview})
       && $q->{json}{disable_web_page_preview},
       'disable_web_page_preview true');
    my $text = $q->{json}{text} // '';
    like($text, qr/\Q$call\E/, 'the text has the call id');
    like($text, qr/&lt;b&gt;Ann&lt;\/b&gt; &amp; &quot;Co&quot;/,
         'the name is escaped for HTML mode');
    unlike($text, qr/<b>Ann/, 'no raw tag from the name');
    like($text, qr/\x{e7}a\x{11f}r\x{131}/, 'UTF-8 of the name kept');
    is_deeply([sort keys %{ $q->{json} }],
              [qw(chat_id disable_web_page_preview parse_mode text)],
              'only the fields of sendMessage');
}

my $after;
ok(poll_until(5, sub {
    $after = $t->metrics;
    $after->{'hotline_notifications_total{result="sent"}'}
        - $before->{'hotline_notifications_total{result="sent"}'} == 3 }),
   'notifications_total{result="sent"} +3');
is($after->{'hotline_notifications_total{result="failed"}'}
   - $before->{'hotline_notifications_total{result="failed"}'}, 0,
   'nothing failed');
is($after->{'hotline_notifications_total{result="retried"}'}
   - $before->{'hotline_notifications_total{result="retried"}'}, 0,
   'nothing retried');

# without a body: a default customer name
$r = $t->http_post('/notify-test', '');
is($r->{status}, 202, 'empty body accepted');
@req = $tg->wait_requests(6, 10, telegram => 1);
is(scalar @req, 6, 'three more requests');

# the operator location checks method and body
$r = $t->http_get('/notify-test');
is($r->{status}, 405, 'GET: 405');
is($r->{headers}{allow}[0] // '', 'POST', 'Allow: POST');
like($r->{body} // '', qr/"error":"method_not_allowed".*use POST/,
     '... and the JSON error');
$r = $t->http_post('/notify-test', '{"customer": 42}');
is($r->{status}, 400, 'customer not a string: 400');
is((eval { json_decode($r->{body}) } || {})->{error}, 'bad_json', 'bad_json');
$r = $t->http_post('/notify-test', 'not json');
is($r->{status}, 400, 'not JSON: 400');
$r = $t->http_post('/notify-test', '{"customer":"' . ('x' x 5000) . '"}');
is($r->{status}, 413, 'body over 4k: 413');
is(scalar $tg->requests(telegram => 1), 6, 'refused requests sent nothing');

# a long name is cut, control characters do not pass
$r = $t->http_post('/notify-test',
                   JSON::PP->new->utf8->encode({ customer => ("\x{e9}" x 300) . "\x01\x02" }));
is($r->{status}, 202, 'long name accepted');
@req = $tg->wait_requests(9, 10, telegram => 1);
my ($long) = grep { ($_->{json}{text} // '') =~ /\x{e9}{10}/ } @req;
ok($long, 'the long-name notice arrived') and do {
    my ($n) = $long->{json}{text} =~ /Customer: <b>(.*?)<\/b>/s;
    ok(defined $n && length($n) == 128, 'the name is cut to 256 bytes on a character boundary')
        or diag(length($n // ''));
};

my $logs = $t->error_log . Hotline::Test::read_file($t->prefix . '/logs/access.log');
like($t->error_log, qr/test notice for call \Q$call\E to chat 1001 sent/,
     'the delivery is logged with the call id');
unlike($logs, qr/\Q${\ $tg->token }\E/, 'the bot token is in no log');
my ($secret) = $tg->token =~ /:(.*)/;
unlike($logs, qr/\Q$secret\E/, 'not even its secret part');

$t->stop;
$tg->stop;
done_testing;
