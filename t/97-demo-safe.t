#!/usr/bin/perl
# The demo (`make run`: .ci/demo.sh and .ci/demo.conf.in) runs the safe
# configuration that nginx.conf.example shows: /health and /metrics answer
# this machine only (another address gets 403), a WebSocket's messages
# are rate limited (a burst past hotline_message_rate is answered
# rate_limited), joins are limited per client, and the pages carry the
# CSP and the security headers.  The demo runs in a private directory on
# a free port and is stopped at the end.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use Hotline::Test qw(poll_until);
use Hotline::Port;

my $root = $Hotline::Test::ROOT;
my $run = tempdir('hotline-demo-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = Hotline::Port::take();

local $ENV{HOTLINE_RUN} = $run;
local $ENV{HOTLINE_PORT} = $port;
# the build and the nginx under test (make test-asan's are not build/objs),
# the nginx as `make run NGINX=...` gives it: in NGINX, which nginx itself
# reads as a binary upgrade's sockets (the demo started in the foreground,
# waiting for the calls of old workers, until demo.sh stopped passing it)
local $ENV{HOTLINE_MODULE} = $Hotline::Test::MODULE;
local $ENV{HOTLINE_NGINX} = $Hotline::Test::NGINX;
local $ENV{NGINX} = $Hotline::Test::NGINX;

sub demo {
    # bounded: an nginx that stays in the foreground holds it up
    my $out = Hotline::Test::run_capture('timeout', '60', 'bash',
                                         "$root/.ci/demo.sh", @_);
    return ($? == 0, $out);
}

END { demo('stop') if $run && -s "$run/nginx.pid" }

my ($ok, $out) = demo('start');
ok($ok, 'the demo starts') or BAIL_OUT($out);

# the harness's clients, pointed at the demo
my $t = Hotline::Test->new;
$t->{port} = $port;

for my $path ('/health', '/metrics') {
    is($t->http_get($path)->{status}, 200, "$path from this machine: 200");
    is($t->http_get($path, local => '127.0.0.2')->{status}, 403,
       "$path from another address: 403");
}

my $page = $t->http_get('/');
is($page->{status}, 200, 'the customer page');
like($page->{headers}{'content-security-policy'}[0] // '',
     qr/script-src 'self' 'nonce-[A-Za-z0-9+\/=]{24}'/, 'with its CSP nonce');
unlike($page->{headers}{'content-security-policy'}[0] // '',
       qr/unsafe-inline/, 'and no unsafe-inline');
is($page->{headers}{'x-frame-options'}[0], 'DENY', 'and the security headers');

# a burst of 300 messages: the first ones pass, the rest are refused
my $c = $t->ws_connect('/ws/customer');
$c->send_json({ type => 'join', name => 'Burst', id => 'j' });
ok($c->wait_for('welcome', 5), 'a customer joins');
$c->send_json({ type => 'accept', id => "m$_" }) for 1 .. 300;
my %codes;
$c->pump_until(10, sub {
    %codes = ();
    $codes{ $_->{code} // '' }++ for grep { $_->{type} eq 'error' }
                                    @{ $c->{inbox} };
    ($codes{not_allowed} // 0) + ($codes{rate_limited} // 0) >= 300;
});
ok($codes{rate_limited}, "past the burst: rate_limited ($codes{rate_limited})");
cmp_ok($codes{not_allowed} // 0, '>=', 200, 'the burst itself went through');
$c->drop;

# joins per client: 60 a minute, 30 at once
my @st;
for (1 .. 35) {
    my $r = $t->handshake_raw(path => '/ws/customer', local => '127.0.0.5');
    push @st, $r->{status};
    close $r->{sock};
}
is((grep { $_ == 429 } @st) > 0 ? 1 : 0, 1,
   'joins from one client are limited (' . (grep { $_ == 101 } @st)
   . ' of 35 upgraded)');

($ok, $out) = demo('stop');
ok($ok, 'the demo stops') or diag($out);
done_testing;
