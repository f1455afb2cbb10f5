#!/usr/bin/perl
# Configuration checks of the notification directives done by `nginx -t`:
# the bot token file (missing, empty, not a token, a directory), chat ids,
# URLs, bounds; the token never appears in nginx -t's output.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test;
use TelegramStub;

my $t = Hotline::Test->new;
my $dir = $t->prefix . '/conf';
my $base = $Hotline::Test::DEFAULT_CONF;
my $token = $TelegramStub::TOKEN;
my $tokfile = "$dir/bot.token";
Hotline::Test::write_file($tokfile, "$token\n");

my @outputs;

sub conf {
    my ($http, $server) = @_;
    my $c = $base;
    $c =~ s/%%HTTP%%/$http/;
    $c =~ s/%%SERVER%%/$server \/\/ ''/e;
    return $c;
}
sub conf_ok {
    my ($http, $name, $server) = @_;
    my ($ok, $out) = $t->nginx_t(conf($http, $server));
    push @outputs, $out;
    ok($ok, "nginx -t passes: $name") or diag($out);
}
sub conf_fails {
    my ($http, $name, $re, $server) = @_;
    my ($ok, $out) = $t->nginx_t(conf($http, $server));
    push @outputs, $out;
    ok(!$ok, "nginx -t fails: $name") or diag($out);
    like($out, $re, "$name: the message says why") if $re && !$ok;
}
sub token_file {
    my ($content) = @_;
    my $f = "$dir/tok-" . int(rand 1e9);
    Hotline::Test::write_file($f, $content);
    return $f;
}

my $good = "hotline_telegram_token_file $tokfile; hotline_notify_chat 1001;";
my $test_loc = 'location = /notify-test { hotline_notify_test; }';

conf_ok('', 'no notification directives at all');
conf_ok($good, 'token file and a chat');
conf_ok($good, 'with the test location', $test_loc);
conf_ok("$good hotline_telegram_api http://127.0.0.1:9/;"
        . ' hotline_notify_retries 0; hotline_notify_backoff 10ms 10ms;'
        . ' hotline_notify_timeout 100ms; hotline_notify_queue 1;'
        . ' hotline_notify_fallback https://hooks.example.com/hotline;',
        'every directive, at the low bounds');
conf_ok("$good hotline_notify_retries 20; hotline_notify_backoff 1s 1h;"
        . ' hotline_notify_timeout 10m; hotline_notify_queue 100000;',
        'every directive, at the high bounds');
conf_ok("hotline_telegram_token_file $tokfile;", 'token without chats (OTP only)');
conf_ok("hotline_telegram_token_file " . token_file("  $token \r\n\n") . ";"
        . ' hotline_notify_chat 1001;', 'white space around the token');
conf_ok("$good hotline_notify_chat -100123 \@agents_room;",
        'group and channel chat ids, several lines');

# the token file
conf_fails("hotline_telegram_token_file $dir/no-such.token; hotline_notify_chat 1;",
           'missing token file', qr/no-such\.token/);
conf_fails("hotline_telegram_token_file " . token_file('') . "; hotline_notify_chat 1;",
           'empty token file', qr/empty/);
conf_fails("hotline_telegram_token_file " . token_file("\n\n") . "; hotline_notify_chat 1;",
           'token file of newlines', qr/empty/);
my $junk = 'not-a-token/../../etc?x=1';
conf_fails("hotline_telegram_token_file " . token_file($junk) . "; hotline_notify_chat 1;",
           'token file without a token', qr/does not hold a bot token/);
conf_fails("hotline_telegram_token_file " . token_file("12345:abc def") . ";",
           'a token with a space', qr/does not hold a bot token/);
conf_fails("hotline_telegram_token_file $dir; hotline_notify_chat 1;",
           'token path is a directory');
conf_fails("hotline_telegram_token_file " . token_file('1:' . ('a' x 2000)) . ";",
           'token file too large');
conf_fails("$good hotline_telegram_token_file $tokfile;", 'duplicate token file',
           qr/duplicate/);

# what needs the token
conf_fails('hotline_notify_chat 1001;', 'chat without token',
           qr/hotline_telegram_token_file/);
conf_fails('', 'test location without token', qr/hotline_telegram_token_file/,
           $test_loc);
conf_fails("$good hotline_notify_test;", 'hotline_notify_test outside a location');

# values
conf_fails("$good hotline_notify_chat abc;", 'chat id not a number', qr/invalid chat id/);
conf_fails("$good hotline_notify_chat 12a;", 'chat id with a letter', qr/invalid chat id/);
conf_fails("$good hotline_notify_chat \@;", 'bare @', qr/invalid chat id/);
conf_fails("$good hotline_notify_chat -;", 'bare -', qr/invalid chat id/);
conf_fails("$good hotline_notify_chat " . ('1' x 65) . ";", 'chat id too long',
           qr/invalid chat id/);
conf_fails("$good hotline_telegram_api ftp://api.telegram.org;", 'api not http(s)',
           qr/http/);
conf_fails("$good hotline_telegram_api http://;", 'api without a host');
conf_fails("$good hotline_telegram_api \"http://a b\";", 'api with a space');
conf_fails("$good hotline_notify_fallback hooks.example.com;", 'fallback not a URL',
           qr/hotline_notify_fallback/);
conf_fails("$good hotline_notify_retries 21;", 'retries above 20');
conf_fails("$good hotline_notify_retries -1;", 'negative retries');
conf_fails("$good hotline_notify_backoff 5s 1s;", 'backoff base above max',
           qr/hotline_notify_backoff/);
conf_fails("$good hotline_notify_backoff 5ms 1s;", 'backoff base below 10ms');
conf_fails("$good hotline_notify_backoff 1s 2h;", 'backoff max above 1h');
conf_fails("$good hotline_notify_backoff soon later;", 'backoff not times');
conf_fails("$good hotline_notify_backoff 1s;", 'backoff needs two values');
conf_fails("$good hotline_notify_timeout 50ms;", 'timeout below 100ms',
           qr/hotline_notify_timeout/);
conf_fails("$good hotline_notify_timeout 11m;", 'timeout above 10m');
conf_fails("$good hotline_notify_queue 0;", 'queue 0');
conf_fails('', 'hotline_notify_chat in a server', undef,
           "hotline_telegram_token_file $tokfile; hotline_notify_chat 1;");

my ($secret) = $token =~ /:(.*)/;
ok(!grep({ /\Q$secret\E/ } @outputs), 'no nginx -t output shows the token');
ok(!grep({ /\Q$junk\E/ } @outputs), 'nor what a bad token file holds');

done_testing;
