#!/usr/bin/perl
# hotline_limit: store-backed GCRA limits.  burst+1 requests pass at once,
# the next gets 429 with Retry-After and {"error":"rate_limited"}; the
# budget is one for both workers (requests on separate connections until
# both worker pids have refused one); it comes back after the interval
# (polled) and not before; keys, zones and limits are independent; long
# keys are hashed, not cut; an empty key is not limited; an internal
# redirect is not counted twice; WebSocket joins per IP; the refusals are
# counted in hotline_rate_limited_total.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_decode poll_until);

my $t = Hotline::Test->new(
    listen => 'reuseport',
    server => q{
        add_header X-Pid $pid always;
        add_header X-Limit $hotline_limit_status always;

        location /l/ {
            hotline_limit key=$http_x_key rate=1r/m burst=3;
            alias %%PREFIX%%/html/;
        }
        location /fast/ {
            hotline_limit key=$http_x_key rate=2r/s burst=1;
            alias %%PREFIX%%/html/;
        }
        location /z1/ {
            hotline_limit key=$http_x_key rate=1r/m burst=1 zone=shared;
            alias %%PREFIX%%/html/;
        }
        location /z2/ {
            hotline_limit key=$http_x_key rate=1r/m burst=1 zone=shared;
            alias %%PREFIX%%/html/;
        }
        location /idx/ {
            hotline_limit key=$http_x_key rate=1r/m burst=2;
            alias %%PREFIX%%/html/;
            index a.txt;
        }
        location /multi/ {
            hotline_limit key=$http_x_key rate=1r/m burst=5;
            hotline_limit key=$http_x_user rate=1r/m burst=1;
            alias %%PREFIX%%/html/;
        }
        location /unavailable/ {
            hotline_limit key=$http_x_key rate=1r/m status=503;
            alias %%PREFIX%%/html/;
        }
        location = /ws/limited {
            hotline_signaling customer;
            hotline_limit key=$binary_remote_addr rate=1r/m burst=1;
        }
    },
);

my $html = $t->prefix . '/html';
mkdir $html or die "$html: $!";
chmod 0711, $t->prefix;
chmod 0755, $html;
Hotline::Test::write_file("$html/a.txt", "a\n");

$t->start;

my $refused = 0;    # every refusal seen, for the metrics

sub get {
    my ($path, %h) = @_;
    my $r = $t->http_get($path, headers => [ map { [$_ => $h{$_}] } keys %h ]);
    $refused++ if $r->{status} && $r->{status} >= 400;
    return $r;
}

sub statuses {
    my ($n, $path, %h) = @_;
    return join ' ', map { get($path, %h)->{status} } 1 .. $n;
}

sub limited_ok {
    my ($r, $name) = @_;
    my $j = eval { json_decode($r->{body}) } || {};
    ok($r->{status} == 429 && ($j->{error} // '') eq 'rate_limited',
       "$name: 429 rate_limited") or diag("$r->{status} $r->{body}");
}

my $m0 = $t->metrics->{hotline_rate_limited_total};
ok(defined $m0, 'metrics: hotline_rate_limited_total is there');

# ------------------------------------------------ one budget, both workers
{
    my %passed;        # pid => requests passed
    my %rejected;      # pid => requests refused
    my ($last, $n);
    my $both = poll_until(30, sub {
        my $r = get('/l/a.txt', 'X-Key' => 'shared');
        $n++;
        my $pid = $r->{headers}{'x-pid'}[0] // 'none';
        if ($r->{status} == 200) {
            $passed{$pid}++;
        } else {
            $rejected{$pid}++;
            $last = $r;
        }
        keys %rejected >= 2 || $n >= 400;
    }, 0.001);
    ok($both, "both workers refused a request ($n requests)")
        or diag(explain { passed => \%passed, rejected => \%rejected });
    my $total = 0;
    $total += $_ for values %passed;
    is($total, 4, 'burst=3: exactly 4 requests passed in all, '
                  . 'whichever worker served them')
        or diag(explain \%passed);
    limited_ok($last, 'over the budget');
    my $ra = $last->{headers}{'retry-after'}[0] // '';
    ok($ra =~ /^\d+$/ && $ra >= 55 && $ra <= 60,
       "Retry-After is the interval in whole seconds (1r/m: 60, got $ra)");
    is($last->{headers}{'x-limit'}[0], 'REJECTED',
       '$hotline_limit_status: REJECTED');
    like($last->{headers}{'content-type'}[0] // '', qr{^application/json},
         'the refusal is JSON');
    like($t->error_log, qr/hotline: limited by "rl:1:", retry after \d+ms/,
         'the refusal is logged');
}

# ------------------------------------------------ keys are independent
{
    my $r = get('/l/a.txt', 'X-Key' => 'other');
    is($r->{status}, 200, 'another key has its own budget');
    is($r->{headers}{'x-limit'}[0], 'PASSED', '$hotline_limit_status: PASSED');
    is(statuses(3, '/l/a.txt', 'X-Key' => 'other'), '200 200 200',
       'another key: burst+1 in all');
    limited_ok(get('/l/a.txt', 'X-Key' => 'other'), 'another key, over');

    is(statuses(8, '/l/a.txt'), join(' ', (200) x 8),
       'an empty key is not limited');

    my $long = 'k' x 300;
    is(statuses(5, '/l/a.txt', 'X-Key' => "${long}1"), '200 200 200 200 429',
       'a key longer than the store takes is limited');
    is(statuses(5, '/l/a.txt', 'X-Key' => "${long}2"), '200 200 200 200 429',
       'a long key with the same first 300 bytes is another key (hashed)');
}

# ------------------------------------------------ zones, several limits
{
    is(statuses(1, '/z1/a.txt', 'X-Key' => 'z'), '200', 'zone=shared: first');
    is(statuses(1, '/z2/a.txt', 'X-Key' => 'z'), '200',
       'zone=shared: second, other location');
    limited_ok(get('/z1/a.txt', 'X-Key' => 'z'),
               'zone=shared: one budget for both locations');
    limited_ok(get('/z2/a.txt', 'X-Key' => 'z'), 'zone=shared, other location');
    is(statuses(1, '/l/a.txt', 'X-Key' => 'z'), '200',
       'the same key in another limit is another budget');

    is(statuses(3, '/multi/a.txt', 'X-Key' => 'm', 'X-User' => 'ann'),
       '200 200 429', 'two limits: the tighter one refuses');
    is(statuses(2, '/multi/a.txt', 'X-Key' => 'm', 'X-User' => 'bob'),
       '200 200', 'two limits: another user passes the first limit');
    is(statuses(3, '/multi/a.txt', 'X-Key' => 'm'), '200 429 429',
       'two limits: the first holds at 6 (burst+1), and counted the '
       . 'request the second refused');
    my $r = get('/unavailable/a.txt', 'X-Key' => 'u');
    is($r->{status}, 200, 'burst=0: one request');
    $r = get('/unavailable/a.txt', 'X-Key' => 'u');
    is($r->{status}, 503, 'status=503: the code of the refusal');
    ok($r->{headers}{'retry-after'}, 'status=503: with Retry-After');
}

# ------------------------------------------------ internal redirects
is(statuses(4, '/idx/', 'X-Key' => 'i'), '200 200 200 429',
   'index (an internal redirect) is counted once: burst=2 lets 3 pass');

# ------------------------------------------------ recovery
{
    is(statuses(2, '/fast/a.txt', 'X-Key' => 'r'), '200 200',
       '2r/s burst=1: two at once');
    my $r = get('/fast/a.txt', 'X-Key' => 'r');
    limited_ok($r, '2r/s burst=1: the third');
    is($r->{headers}{'retry-after'}[0], '1', 'Retry-After: 500ms rounds up to 1');
    my $t0 = time;
    my $ok;
    poll_until(3, sub {
        $ok = get('/fast/a.txt', 'X-Key' => 'r');
        $ok->{status} == 200;
    }, 0.05);
    my $dt = time - $t0;
    is($ok->{status}, 200, sprintf('passes again after the interval (%.2fs)',
                                   $dt));
    cmp_ok($dt, '>=', 0.3, 'and not before it (500ms from the first)');
    limited_ok(get('/fast/a.txt', 'X-Key' => 'r'),
               'one interval gave back one request');
}

# ------------------------------------------------ WebSocket joins per IP
{
    my @ws = map { $t->ws_connect('/ws/limited') } 1 .. 2;
    is(scalar @ws, 2, 'two handshakes pass (burst=1)');
    my $r = $t->handshake_raw(path => '/ws/limited');
    is($r->{status}, 429, 'the third handshake from the IP: 429');
    $refused++;
    ok($r->{headers}{'retry-after'}, 'with Retry-After');
    my $c = $t->ws_connect('/ws/customer');
    ok($c, 'an unlimited signaling location still opens');
    $_->drop for @ws, $c;
}

# ------------------------------------------------ metrics
{
    my $m1 = $t->metrics->{hotline_rate_limited_total};
    is($m1 - $m0, $refused,
       "hotline_rate_limited_total grew by the refusals seen ($refused)");
}

$t->stop;

# ------------------------------------------------ nginx -t
sub conf_fails {
    my ($args, $name, $re) = @_;
    my $c = Hotline::Test->new(http => "hotline_limit $args;");
    my ($ok, $out) = $c->nginx_t($Hotline::Test::DEFAULT_CONF);
    ok(!$ok, "nginx -t fails: $name") or diag($out);
    like($out, $re, "$name: the message says why") if $re && !$ok;
}

my $k = 'key=$binary_remote_addr';
conf_fails('rate=1r/s burst=1', 'no key', qr/needs key=/);
conf_fails('rate=1r/s', 'one parameter', qr/invalid number of arguments/);
conf_fails("$k burst=3", 'no rate', qr/needs rate=/);
conf_fails("$k rate=10", 'rate without unit', qr/invalid rate/);
conf_fails("$k rate=0r/s", 'rate 0', qr/invalid rate/);
conf_fails("$k rate=1001r/s", 'rate over 1000r/s', qr/invalid rate/);
conf_fails("$k rate=5r/h", 'unknown unit', qr/invalid rate/);
conf_fails("$k rate=1r/s burst=-1", 'negative burst', qr/invalid burst/);
conf_fails("$k rate=1r/s burst=x", 'burst not a number', qr/invalid burst/);
conf_fails("$k rate=1r/s status=200", 'status not 4xx/5xx', qr/invalid status/);
conf_fails("$k rate=1r/s status=444", 'status 444', qr/invalid status/);
conf_fails("$k rate=1r/s zone=a:b", 'zone name', qr/invalid zone/);
conf_fails("$k rate=1r/s nodelay", 'unknown parameter', qr/invalid parameter/);
conf_fails('key=$no_such_variable rate=1r/s', 'unknown variable',
           qr/unknown .*variable/);
{
    my $c = Hotline::Test->new(http => "hotline_limit $k rate=30r/m burst=5 "
                                       . "status=503 zone=api;");
    my ($ok, $out) = $c->nginx_t($Hotline::Test::DEFAULT_CONF);
    ok($ok, 'nginx -t passes: every parameter') or diag($out);
}

done_testing();
