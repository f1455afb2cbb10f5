#!/usr/bin/perl
# Slow clients cannot take every connection (docs/guards.md, "Slow
# clients"): with the configuration documented there, a stream front that
# counts connections per client address before a byte of HTTP is read
# (limit_conn in stream{}, proxy_protocol to the http listener) and short
# header and WebSocket handshake timeouts, one address that opens 600
# connections and never finishes a request header holds 20 of them, for
# client_header_timeout at most, while a client from another address is
# served all along (its WebSocket joins the queue, its address seen through
# proxy_protocol); a WebSocket that never sends its join is closed after
# hotline_handshake_timeout (4003).  The workers have 256 connections
# each: without the front the 600 would take them all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use Hotline::Test qw(poll_until);

my $STREAM = '/usr/lib/nginx/modules/ngx_stream_module.so';
plan skip_all => "$STREAM is missing (.ci/deps.sh installs "
                 . "libnginx-mod-stream)" unless -f $STREAM;

my $conf = <<"EOF";
load_module %%MODULE%%;
load_module $STREAM;
worker_processes 2;
pid %%PREFIX%%/logs/nginx.pid;
error_log %%PREFIX%%/logs/error.log info;
events { worker_connections 256; }

stream {
    # per client address, counted when the connection is accepted
    limit_conn_zone \$binary_remote_addr zone=conns:1m;

    server {
        listen 127.0.0.1:%%PORT%%;
        limit_conn conns 20;
        proxy_protocol on;
        proxy_pass 127.0.0.1:%%PORT2%%;
    }
}

http {
    access_log %%PREFIX%%/logs/access.log;
    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;

    hotline_zone 16m;
    hotline_jwt_secret_file %%SECRET_FILE%%;
    hotline_allowed_origins %%ORIGIN%%;
%%HTTP%%
    # the client address comes with the connection from the front
    set_real_ip_from 127.0.0.1;
    real_ip_header proxy_protocol;

    client_header_timeout 5s;
    keepalive_timeout 10s;
    hotline_handshake_timeout 2s;

    server {
        listen 127.0.0.1:%%PORT2%% proxy_protocol;

        location = /ws/customer { hotline_signaling customer; }
        location = /health      { hotline_status; }
        location = /who {
            add_header X-Client \$hotline_client_prefix always;
            return 204;
        }
        location / { return 200 "ok\\n"; }
    }
}
EOF

my $t = Hotline::Test->new(conf => $conf)->start;
note('store: ' . $t->store);

# the attack: 600 connections from 127.0.0.2, each with half a header
my (@open, $refused);
for (1 .. 600) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->port,
                                  LocalAddr => '127.0.0.2',
                                  Proto => 'tcp', Timeout => 2);
    unless ($s) { $refused++; next }
    syswrite($s, "GET /ws/customer HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    push @open, $s;
}

# which of them nginx keeps: the others it closes at once
my %eof;
sub alive {
    my @live = grep { !$eof{$_} } @open;
    return 0 unless @live;
    for my $s (IO::Select->new(@live)->can_read(0)) {
        my $buf;
        my $r = sysread($s, $buf, 1024);
        $eof{$s} = 1 unless $r;
    }
    return scalar grep { !$eof{$_} } @open;
}
my $kept;
ok(poll_until(3, sub { $kept = alive(); $kept <= 20 }),
   "the front keeps at most 20 of the address's 600 connections ($kept)");
cmp_ok($kept, '>', 0, 'those until client_header_timeout');

# meanwhile another address is served, through the front
my $who = $t->http_get('/who', local => '127.0.0.3');
is($who->{status}, 204, 'another address: served');
is($who->{headers}{'x-client'}[0], '127.0.0.3',
   'its address seen through proxy_protocol');
my $c = $t->ws_connect('/ws/customer', local => '127.0.0.3');
$c->send_json({ type => 'join', name => 'Patient' });
ok($c->wait_for('welcome', 5), 'and its WebSocket joins the queue');

# the 20 half-open ones end with client_header_timeout (5 s)
my $t0 = time;
ok(poll_until(15, sub { alive() == 0 }),
   'the half-open connections are closed by client_header_timeout');
my $took = time - $t0;
cmp_ok($took, '<', 8, sprintf 'within client_header_timeout (%.1f s)', $took);
like($t->error_log, qr/client timed out .* while reading client request headers/,
     'the log says which timeout');

# a WebSocket that never joins: hotline_handshake_timeout
my $idle = $t->ws_connect('/ws/customer', local => '127.0.0.4');
is($idle->expect_close(10), 4003, 'a WebSocket without a join: 4003');

# the front counts again once they are gone
my $again = $t->http_get('/who', local => '127.0.0.2');
is($again->{status}, 204, 'the address may connect again afterwards');

close $_ for @open;
$c->drop;
$t->stop;
done_testing;
