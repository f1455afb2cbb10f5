#!/usr/bin/perl
# Behind a TLS-terminating proxy, configured as docs/deployment.md says
# ("Behind a TLS-terminating proxy"): an nginx server with TLS passes
# /ws/ to the module's server over plain HTTP/1.1 with the Upgrade and
# Connection headers and X-Forwarded-For, and the module's server takes
# the client's address from it (realip, set_real_ip_from the proxy
# only).  Clients are on loopback addresses of their own (127.0.0.2,
# ...), as clients behind a proxy are.  (The proxy is a server of the
# same nginx: its connections to the module's server are new TCP
# connections all the same.)
#
#   - the handshake, the agent's token (in Sec-WebSocket-Protocol, as the
#     console sends it), the call and chat both ways go through the
#     proxy; the proxy's origin is listed, another is refused
#     with 403 and a JSON body;
#   - hotline_colocate moves the customer's connection (the proxy's
#     connection to the module, plain HTTP) to the agent's worker, and
#     the call goes on through the proxy (on the Redis store connections
#     do not move: it stays, and the call goes on the same);
#   - limit_conn counts the client's address, not the proxy's: one client
#     at its limit does not hold another back;
#   - a customer whose connection to the proxy drops resumes through it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);

plan skip_all => 'the proxy terminates TLS: the module\'s server is plain'
    if $ENV{HOTLINE_TLS};

my $t = Hotline::Test->new(
    http    => 'hotline_colocate on; hotline_resume_timeout 10s;'
               . ' limit_conn_zone $binary_remote_addr zone=client:1m;',
    server  => 'set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;'
               . ' location = /ws/limited { hotline_signaling customer;'
               . ' limit_conn client 2; }',
    origins => 'https://127.0.0.1:%%PORT2%%',
    servers => <<'EOF',
    server {
        listen 127.0.0.1:%%PORT2%% ssl;
        ssl_certificate %%TLS_CERT%%;
        ssl_certificate_key %%TLS_KEY%%;

        location /ws/ {
            proxy_pass http://127.0.0.1:%%PORT%%;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
        }
    }
EOF
)->start;
$SIG{PIPE} = 'IGNORE';

my $front = $t->port2;
my $origin = $t->origin($front);
ok($t->is_tls($front), 'the proxy speaks TLS');
ok(!$t->is_tls($t->port), 'the module\'s server plain HTTP');

# the proxy's connections to the module (sport: the module's port), by
# the proxy's port: the worker that holds each (the test's own connection
# for /metrics left out)
my $sock;
sub held {
    my %h;
    for (`ss -Htnp state established '( sport = :${\ $t->port} )'`) {
        next unless /127\.0\.0\.1:\d+\s+127\.0\.0\.1:(\d+)\b.*pid=(\d+)/;
        $h{$1} = $2 unless $sock && $1 == $sock->sockport;
    }
    return \%h;
}
sub on { my %n; $n{$_}++ for values %{ held() }; return \%n }

# a WebSocket through the proxy whose proxied connection a worker for
# which want(pid) holds (the kernel places it: tries until one lands
# there, bounded); (ws, that worker's pid)
sub proxied {
    my ($path, $want, %o) = @_;
    for (1 .. 60) {
        my %before = %{ held() };
        my $ws = $t->ws_connect($path, port => $front, origin => $origin,
                                %o);
        my ($pid) = map { $_->[1] } grep { !$before{ $_->[0] } }
                    map { [ $_, held()->{$_} ] } keys %{ held() };
        return ($ws, $pid) if $pid && $want->($pid);
        $ws->drop;
        poll_until(5, sub { keys %{ held() } == keys %before });
    }
    return;
}

# 1. the agent, its token through the proxy

# (as the console sends it: a Sec-WebSocket-Protocol value beside the
# protocol's own, which the proxy passes both ways)
my $jwt = $t->mint_jwt(sub => 'proxied');
my ($a, $A) = proxied('/ws/agent', sub { 1 },
                      subprotocol => "hotline.v1, bearer.$jwt",
                      local => '127.0.0.2');
ok($a && $a->wait_for('welcome', 5), 'the agent\'s handshake through the '
                                     . 'proxy');
is($a->{subprotocol}, 'hotline.v1', 'its subprotocol answered through it');
$a->wait_for('queue', 5);
ok($A, "the proxy's connection for the agent is on worker A ($A)");

# 2. a customer on the other worker, B, from another address

my ($c, $B) = proxied('/ws/limited', sub { $_[0] != $A },
                      local => '127.0.0.3');
ok($c, "the proxy's connection for the customer is on worker B ($B)")
    or BAIL_OUT('no placement');
$c->send_json({ type => 'join', name => 'Proxied' });
my $w = $c->wait_for('welcome', 5);
ok($w && $w->{call_id}, 'the customer joined through the proxy');
is_deeply(on(), { $A => 1, $B => 1 }, 'one connection on each worker');
$sock = $t->worker_socket($B);
sub metric { $t->metrics(sock => $sock)->{$_[0]} }
my $moved = 'hotline_connections_moved_total{result="moved"}';
is(metric($moved) // 0, 0, 'nothing moved yet');

# 3. the accept moves the customer's connection to the module; the call
# goes on through the proxy

$a->wait_for('queue', 5, sub {
    grep { $_->{call_id} eq $w->{call_id} } @{ $_[0]{calls} } });
$a->send_json({ type => 'accept', call_id => $w->{call_id}, id => 'acc' });
ok($c->wait_for('accepted', 5), 'accepted, through the proxy');
$a->wait_for('accepted', 5);
if ($t->store eq 'shm') {
    ok(poll_until(5, sub { (metric($moved) // 0) == 1 }),
       'the customer\'s connection was handed over');
    ok(poll_until(5, sub {
           my $n = on();
           ($n->{$A} // 0) == 2 && !$n->{$B} }),
       'both of the proxy\'s connections are on worker A');
}
$t->both_ways($c, $a, 'after the accept');
if ($t->store eq 'redis') {
    is(metric($moved) // 0, 0, 'Redis: nothing moved');
    is_deeply(on(), { $A => 1, $B => 1 }, 'Redis: the customer stays on B');
}

# 4. limit_conn counts clients, not the proxy: 127.0.0.3 has one
# connection; it gets one more, not a third; 127.0.0.4 still gets in

my @more = ($t->ws_connect('/ws/limited', port => $front, origin => $origin,
                           local => '127.0.0.3'));
ok(!eval { $t->ws_connect('/ws/limited', port => $front, origin => $origin,
                          local => '127.0.0.3'); 1 },
   'limit_conn: a client\'s third connection is refused');
like($@ // '', qr/\b503\b/, 'with 503, through the proxy');
push @more, eval { $t->ws_connect('/ws/limited', port => $front,
                                  origin => $origin, local => '127.0.0.4') };
is(scalar(@more), 2, 'another client is let in meanwhile');
$_->drop for @more;

# 5. another origin is refused (the proxy's is listed, not any)

ok(!eval { $t->ws_connect('/ws/customer', port => $front,
                          origin => 'https://elsewhere.example',
                          local => '127.0.0.5'); 1 },
   'a foreign origin through the proxy');
like($@ // '', qr/\b403\b.*"error"/s, 'is refused with 403 and a JSON body');

# 6. the customer's connection to the proxy drops; it resumes through it

$c->drop;
my $c2 = $t->ws_connect('/ws/limited', port => $front, origin => $origin,
                        local => '127.0.0.3');
$c2->send_json({ type => 'resume', token => $w->{resume} });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }),
   'the customer resumed through the proxy');
$t->both_ways($c2, $a, 'resumed');

$a->send_json({ type => 'hangup' });
is(($c2->wait_for('ended', 5) // {})->{reason}, 'hangup', 'the hangup');
$_->drop for $c2, $a;
close $sock;

$t->stop;
done_testing;
