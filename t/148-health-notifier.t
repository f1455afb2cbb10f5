#!/usr/bin/perl
# /health's notifier: "enabled" when the notification queue delivers
# anything (Telegram, webhooks, or both), "telegram" and "webhooks" say
# what, and "queued" counts webhook deliveries too.  Three servers: none
# configured; two webhooks only (a receiver that takes the connection and
# never answers, so an event stays queued); Telegram only.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Hotline::Test qw(poll_until);
use TelegramStub;

sub notifier_is {
    my ($t, $want, $what) = @_;
    my $n = $t->health->{notifier};
    for my $k (qw(enabled telegram)) {
        ok(JSON::PP::is_bool($n->{$k}) && !!$n->{$k} == !!$want->{$k},
           "$what: $k " . ($want->{$k} ? 'true' : 'false'));
    }
    is($n->{webhooks}, $want->{webhooks}, "$what: webhooks $want->{webhooks}");
    return $n;
}

# --- nothing configured

my $t = Hotline::Test->new->start;
notifier_is($t, { enabled => 0, telegram => 0, webhooks => 0 },
            'no Telegram, no webhook');
is($t->health->{notifier}{queued}, 0, '... nothing queued');
$t->stop;

# --- webhooks only: a receiver that never answers

my $hang = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                 LocalPort => Hotline::Test::free_port(),
                                 Listen => 16, ReuseAddr => 1)
    or BAIL_OUT("listen: $!");
my $url = 'http://127.0.0.1:' . $hang->sockport;
my $conf_t = Hotline::Test->new;
my $dir = $conf_t->prefix . '/conf';
Hotline::Test::write_file("$dir/wh.secret",
                          'whsec_' . Hotline::Test::random_string(32) . "\n");
$t = Hotline::Test->new(
    workers => 1,
    http => "hotline_webhook $url/a secret_file=$dir/wh.secret;\n"
          . "hotline_webhook $url/b secret_file=$dir/wh.secret "
          . "events=call.queued;\n"
          . "hotline_notify_timeout 60s;\n",
)->start;
notifier_is($t, { enabled => 1, telegram => 0, webhooks => 2 },
            'webhooks only');
my $c = $t->customer('Webhook Only');
ok(poll_until(10, sub { $t->health->{notifier}{queued} == 2 }),
   'webhooks only: call.queued to both webhooks, queued and counted')
    or diag(explain($t->health->{notifier}));
$c->close_ws;
$t->stop;
close $hang;

# --- Telegram only

my $tg = TelegramStub->new->start;
$t = $tg->nginx(workers => 1);
notifier_is($t, { enabled => 1, telegram => 1, webhooks => 0 },
            'Telegram only');
$t->stop;
$tg->stop;

done_testing;
