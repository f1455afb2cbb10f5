#!/usr/bin/perl
# Answers of a Redis gone wrong: a proxy between nginx and Redis
# (Hotline::RespProxy, rule "chaos") corrupts every third array Redis
# answers, at any depth (the scripts' answers, a batch's parts, what the
# channels carry, the connection's handshake): an element becomes a nil,
# a negative or huge number, a string, an empty or nil array, an error,
# or the array loses its last element.  Meanwhile both parties of a call
# chat, customers join and leave and an agent takes calls.  nginx must
# not crash (the same workers), log no alert, and serve as before once
# Redis answers right again: a new call, its chat, its hangup.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_encode);
use Hotline::Redis;
use Hotline::RespProxy;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my ($r, $proxy, $t) = Hotline::RespProxy->nginx(http => <<'EOF');
    hotline_resume_timeout 5s;
    hotline_message_rate off;
    hotline_queue_per_address off;
EOF
my $workers = join ',', sort $t->worker_pids;

my ($c, $a) = $t->call(name => 'Chaos', sub => 'chaos');

$proxy->rule('chaos');

# everything at once for 4 seconds, and on until more than 20 answers
# were corrupted (a loaded machine passes fewer through the proxy in 4
# seconds: a worker whose connection broke waits out its back-off); any
# answer will do, or none
my ($start, $sent, @joined) = (time, 0);
my $corrupted = sub { scalar grep { $_ eq 'chaos' } $proxy->rewrites };
while (time < $start + 4 || ($corrupted->() <= 20 && time < $start + 60)) {
    for my $ws ($c, $a) {
        eval { $ws->send_json({ type => 'chat', text => 'x' . $sent++,
                                id => "c$sent" }); 1 } or last;
    }
    if ($sent % 20 == 0) {
        my $w = eval { $t->ws_connect('/ws/customer', timeout => 2) };
        if ($w) {
            eval { $w->send_json({ type => 'join', name => "J$sent" }) };
            push @joined, $w;
        }
        my $q = shift @joined if @joined > 3;
        eval { $q->drop } if $q;
    }
    for my $ws ($c, $a, @joined) {
        eval { $ws->drain(0.01) };
    }
}

$proxy->rule('off');
my $chaos = $corrupted->();
cmp_ok($chaos, '>', 20, "$chaos answers corrupted");

eval { $_->drop } for $c, $a, @joined;

is(join(',', sort $t->worker_pids), $workers, 'no worker crashed');
ok(Hotline::Redis->wait_store_up($t), 'every worker is up on redis again');

# serving as before: a new call, both ways, and its end.  A worker whose
# setup with Redis was cut short by the chaos connects again after its
# timeout and back-off: within seconds, not at once
my ($c2, $a2, $why);
my $n = 0;
ok(Hotline::Test::poll_until(20, sub {
    ($c2, $a2) = eval { $t->call(name => 'After' . ++$n, sub => "after$n") };
    $why = $@;
    $c2 && $a2;
}, 0.5), 'a new call is set up') or diag($why);
SKIP: {
    skip 'no call', 3 unless $c2 && $a2;
    is($c2->request({ type => 'chat', text => 'hello' })->{type}, 'ack',
       'the customer\'s line is acked');
    ok($a2->wait_for('chat', 5, sub { $_[0]{text} eq 'hello' }),
       'and relayed to the agent');
    $a2->send_json({ type => 'hangup' });
    ok($c2->wait_for('ended', 5), 'the hangup ends it for the customer');
}

$t->allow_log(qr/redis/i);
is_deeply([ grep { /\[(alert|crit|emerg)\]|signal \d+|core dumped/ }
            split /\n/, $t->error_log ], [],
          'no alert, no crash in the error log');

$t->stop;
$proxy->stop;
done_testing;
