#!/usr/bin/perl
# hotline_limit on the Redis store: the answer comes later from the event
# loop, so the request waits in the preaccess phase and is resumed.  The
# budget is shared by both workers and by two nginx instances (two nodes)
# on the same Redis; requests that wait while Redis is blocked are all
# answered; several limits in a row each wait; Redis down: 503
# {"error":"unavailable"} (fail closed) on every worker, and every worker
# recovers when Redis is back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use Socket ();
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_decode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed' unless Hotline::Redis::available();

my $redis = Hotline::Redis->new->start;

my %o = (
    http   => $redis->directive,
    listen => 'reuseport',
    server => q{
        add_header X-Pid $pid always;
        add_header X-Limit $hotline_limit_status always;

        location /l/ {
            hotline_limit key=$http_x_key rate=1r/m burst=3;
            alias %%PREFIX%%/html/;
        }
        location /multi/ {
            hotline_limit key=$http_x_key rate=1r/m burst=5;
            hotline_limit key=$http_x_user rate=1r/m burst=1;
            alias %%PREFIX%%/html/;
        }
    },
);

my $t = Hotline::Test->new(%o);
my $t2 = Hotline::Test->new(%o);    # a second node, same configuration

for my $n ($t, $t2) {
    my $html = $n->prefix . '/html';
    mkdir $html or die "$html: $!";
    chmod 0711, $n->prefix;
    chmod 0755, $html;
    Hotline::Test::write_file("$html/a.txt", "a\n");
    $n->start;
}

sub get {
    my ($node, $path, %h) = @_;
    return $node->http_get($path, headers => [ map { [$_ => $h{$_}] } keys %h ]);
}

# a GET answered by the given worker
sub on_worker {
    my ($node, $pid, $path, %h) = @_;
    my $hdrs = join '', map { "$_: $h{$_}\r\n" } keys %h;
    my $r = $node->http_raw("GET $path HTTP/1.1\r\nHost: x\r\n"
                            . "Connection: close\r\n$hdrs\r\n",
                            sock => $node->worker_socket($pid));
    close $r->{sock};
    return $r;
}

sub statuses {
    my ($node, $n, $path, %h) = @_;
    return join ' ', map { get($node, $path, %h)->{status} } 1 .. $n;
}

# ------------------------------------------------ one budget, both workers
{
    my (%passed, %rejected, $last);
    my $n = 0;
    poll_until(30, sub {
        my $r = get($t, '/l/a.txt', 'X-Key' => 'shared');
        $n++;
        my $pid = $r->{headers}{'x-pid'}[0] // 'none';
        if ($r->{status} == 200) { $passed{$pid}++ }
        else { $rejected{$pid}++; $last = $r }
        keys %rejected >= 2 || $n >= 400;
    }, 0.001);
    is(scalar keys %rejected, 2, "both workers refused a request ($n requests)");
    my $total = 0;
    $total += $_ for values %passed;
    is($total, 4, 'burst=3: exactly 4 passed in all');
    my $j = eval { json_decode($last->{body}) } || {};
    is($last->{status}, 429, 'then 429');
    is($j->{error}, 'rate_limited', '{"error":"rate_limited"}');
    my $ra = $last->{headers}{'retry-after'}[0] // '';
    ok($ra =~ /^\d+$/ && $ra >= 55 && $ra <= 60, "Retry-After $ra (1r/m)");
    like($redis->cli('--scan', '--pattern', '*rl:1:shared*'), qr/rl:1:shared/,
         'the limit\'s record is in Redis');
}

# ------------------------------------------------ two nodes, one budget
{
    is(statuses($t, 2, '/l/a.txt', 'X-Key' => 'nodes'), '200 200',
       'node 1: two requests');
    is(statuses($t2, 3, '/l/a.txt', 'X-Key' => 'nodes'), '200 200 429',
       'node 2: two more, then the shared budget is spent');
    is(statuses($t, 1, '/l/a.txt', 'X-Key' => 'nodes'), '429',
       'node 1 sees it spent too');
}

# ------------------------------------------------ several limits, each waits
is(statuses($t, 3, '/multi/a.txt', 'X-Key' => 'm', 'X-User' => 'ann'),
   '200 200 429', 'two limits on Redis: the tighter one refuses');
is(statuses($t, 3, '/multi/a.txt', 'X-Key' => 'm'), '200 200 200',
   'two limits on Redis: the first one goes on counting');

# ------------------------------------------------ requests wait for a slow Redis
{
    my $port = $t->port;
    my @socks;
    like($redis->cli('CLIENT', 'PAUSE', '1500', 'ALL'), qr/OK/,
         'Redis paused for 1.5s');
    for my $i (1 .. 4) {
        my $s = $t->connect_tcp;
        Hotline::Test::write_all($s, "GET /l/a.txt HTTP/1.1\r\n"
                                     . "Host: 127.0.0.1:$port\r\n"
                                     . "X-Key: slow\r\nConnection: close\r\n\r\n");
        push @socks, $s;
    }
    my $sel = IO::Select->new(@socks);
    my @early = $sel->can_read(0.3);
    is(scalar @early, 0, 'while Redis is paused the requests wait');
    my @st = map { Hotline::Test::read_http_response($_, 10)->{status} // 'none' }
             @socks;
    close $_ for @socks;
    is("@st", '200 200 200 200',
       'four requests sent while Redis was paused are answered when it goes on');
    is(statuses($t, 1, '/l/a.txt', 'X-Key' => 'slow'), '429',
       'and they were counted');
}

# ------------------------------------------------ the client leaves meanwhile
{
    my $port = $t->port;
    like($redis->cli('CLIENT', 'PAUSE', '700', 'ALL'), qr/OK/, 'Redis paused');
    for my $i (1 .. 3) {
        my $s = $t->connect_tcp;
        Hotline::Test::write_all($s, "GET /l/a.txt HTTP/1.1\r\n"
                                     . "Host: 127.0.0.1:$port\r\n"
                                     . "X-Key: gone\r\n\r\n");
        # reset, not a FIN: the connection is gone at once
        setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_LINGER(),
                   pack('ii', 1, 0));
        close $s;
    }
    my $r;
    poll_until(10, sub {
        $r = get($t, '/l/a.txt', 'X-Key' => 'after-gone');
        $r->{status} == 200;
    }, 0.05);
    is($r->{status}, 200,
       'clients that left while their answer was out leave nothing broken');
    my @pids = $t->worker_pids;
    is(scalar @pids, 2, 'both workers still run');
}

# ------------------------------------------------ Redis down: fail closed
{
    $redis->kill;
    my $r;
    poll_until(10, sub {
        $r = get($t, '/l/a.txt', 'X-Key' => 'down');
        $r->{status} == 503;
    }, 0.05);
    my $j = eval { json_decode($r->{body}) } || {};
    is($r->{status}, 503, 'Redis down: 503');
    is($j->{error}, 'unavailable', '{"error":"unavailable"}');
    is($r->{headers}{'x-limit'}[0], 'UNAVAILABLE',
       '$hotline_limit_status: UNAVAILABLE');
    is(get($t, '/', )->{status}, 200, 'a location without limits is served');

    ok(Hotline::Redis->wait_store_down($t), 'every worker saw Redis go');
    for my $pid ($t->worker_pids) {
        is(on_worker($t, $pid, '/l/a.txt', 'X-Key' => 'down')->{status}, 503,
           "worker $pid: 503");
    }

    # every worker passes requests again, not only the first to reconnect
    $redis->start;
    ok(Hotline::Redis->wait_store_up($t), 'Redis back: every worker is up');
    diag('every worker up ' . ($redis->recovery_ms($t) // '?')
         . ' ms after redis-server was started');
    for my $pid ($t->worker_pids) {
        is(on_worker($t, $pid, '/l/a.txt', 'X-Key' => "back-$pid")->{status},
           200, "worker $pid: the limit passes requests again");
    }
}

$t->stop;
$t2->stop;
$redis->stop;

done_testing();
