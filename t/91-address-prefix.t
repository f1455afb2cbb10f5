#!/usr/bin/perl
# One client cannot fill the queue, and one IPv6 subscriber is one client:
# hotline_queue_per_address caps the calls waiting from one address at once
# (default 10; a join over it gets the error address_limit and the
# connection stays), a call that stops waiting (accepted, cancelled, gone)
# frees its place; every per-address limit, ban and cap counts an IPv6
# address by its network of hotline_ipv6_prefix bits (default /64), so
# the addresses of one /64 share the cap, the per-address limit of the
# login endpoints and an address ban, while another /64 does not;
# $hotline_client_prefix is that key, for hotline_limit.  Clients come
# "from" their addresses through realip (X-Forwarded-For), as behind a
# proxy; on both stores.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth;

my $REALIP = "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;\n";

sub from { (headers => [ 'X-Forwarded-For' => $_[0] ]) }

# a join from $ip: (ws, welcome or undef, error code or undef)
sub join_from {
    my ($t, $ip, $name) = @_;
    my $ws = $t->ws_connect('/ws/customer', from($ip));
    my $id = 'j' . int(rand 1e9);
    $ws->send_json({ type => 'join', name => $name, id => $id });
    my ($w, $e);
    $ws->pump_until(5, sub {
        ($w) = grep { $_->{type} eq 'welcome' } @{ $ws->{inbox} };
        ($e) = grep { $_->{type} eq 'error' } @{ $ws->{inbox} };
        $w || $e;
    });
    $ws->{call_id} = $w->{call_id} if $w;
    return ($ws, $w, $e && $e->{code});
}

# --- the default: 10 from one address ----------------------------------------

{
    my $t = Hotline::Test->new(http => $REALIP)->start;
    my @ws;
    for my $i (1 .. 10) {
        my ($ws, $w) = join_from($t, '10.91.0.1', "Default $i");
        push @ws, $ws;
        ok($w, "default cap: join $i from one address") or last;
    }
    my ($ws, $w, $e) = join_from($t, '10.91.0.1', 'Default 11');
    is($e, 'address_limit', 'the 11th waiting call from it: address_limit');
    ok(!$ws->is_closed, 'the connection stays');
    $_->drop for @ws, $ws;
    $t->stop;
}

# --- a cap of 3, IPv6 by /64 ---------------------------------------------------

my $t = Hotline::Test->new(
    http => $REALIP . "hotline_queue_per_address 3;\nhotline_queue_size 50;\n"
    . "hotline_ban_time 1h;\n",
    server => "location = /limited {\n"
            . "    hotline_limit key=\$hotline_client_prefix rate=1r/m "
            . "burst=2;\n"
            . "    add_header X-Client \$hotline_client_prefix always;\n"
            . "    default_type text/plain;\n"
            . "    alias %%ROOT%%/README.md;\n"
            . "}\n",
    listen => 'reuseport')->start;
note('store: ' . $t->store);

my @a;
for my $ip ('2001:db8:91:1::1', '2001:db8:91:1::2', '2001:db8:91:1:ffff::9') {
    my ($ws, $w) = join_from($t, $ip, "Net1 $ip");
    ok($w, "a join from $ip");
    push @a, $ws;
}
my ($x, $w, $e) = join_from($t, '2001:db8:91:1:abcd::1', 'Net1 fourth');
is($e, 'address_limit', 'a fourth address of the same /64: address_limit');
$x->drop;

($x, $w) = join_from($t, '2001:db8:91:2::1', 'Net2');
ok($w, 'another /64 joins');
my $other = $x;

($x, $w, $e) = join_from($t, '10.91.1.1', 'IPv4');
ok($w, 'an IPv4 address joins');
$x->drop;

# a place frees when a call stops waiting
$a[0]->send_json({ type => 'cancel', id => 'c1' });
ok($a[0]->wait_for('ended', 5), 'one of them cancels');
($x, $w) = join_from($t, '2001:db8:91:1::77', 'Net1 again');
ok($w, 'and the /64 may join once more');
push @a, $x;
($x, $w, $e) = join_from($t, '2001:db8:91:1::78', 'Net1 over');
is($e, 'address_limit', 'but not twice');
$x->drop;

my $agent = $t->agent(sub => 'prefix-agent');
$agent->send_json({ type => 'accept', call_id => $a[1]{call_id}, id => 'a1' });
ok($agent->wait_for('ack', 5, sub { $_[0]{id} eq 'a1' }),
   'an agent accepts one of them');
($x, $w) = join_from($t, '2001:db8:91:1::79', 'Net1 after accept');
ok($w, 'an accepted call frees its place');
push @a, $x;

# a ban of one address bans its /64 (and nothing else)
$agent->send_json({ type => 'hangup', id => 'h1' });
ok($agent->wait_for('ack', 5, sub { $_[0]{id} eq 'h1' }), 'the call ends');
$agent->send_json({ type => 'ban', call_id => $a[2]{call_id}, id => 'b1' });
ok($agent->wait_for('ack', 5, sub { $_[0]{id} eq 'b1' }),
   'the agent bans the call from 2001:db8:91:1:ffff::9');
($x, $w, $e) = join_from($t, '2001:db8:91:1:1234::1', 'Net1 banned');
is($e, 'banned', 'another address of that /64 is banned');
$x->drop;
($x, $w, $e) = join_from($t, '2001:db8:91:3::1', 'Net3');
ok($w, 'another /64 is not');
$x->drop;
like($t->error_log, qr{banned call_id=\w+ address 2001:db8:91:1::/64},
     'the log names the banned /64');

# the ack of a ban means the ban is stored: a join from its /64 sent right
# after the ack is refused, whichever worker takes it; ten times, a /64
# each (on Redis the ack once went out before the ban was written)
my $refused = 0;
for my $n (1 .. 10) {
    my $net = sprintf '2001:db8:91:%x::', 0x100 + $n;
    my ($c) = join_from($t, $net . '1', "Ban $n");
    $agent->send_json({ type => 'ban', call_id => $c->{call_id},
                        id => "bn$n" });
    if ($agent->wait_for('ack', 5, sub { $_[0]{id} eq "bn$n" })) {
        my ($y, undef, $ey) = join_from($t, $net . '2', "Ban $n again");
        $refused++ if ($ey // '') eq 'banned';
        $y->drop;
    }
    $c->drop;
}
is($refused, 10, 'ten bans acked: a join from each /64 right after the ack '
   . 'is refused every time');

# $hotline_client_prefix in hotline_limit: one budget for the /64
my @lim = map {
    $t->http_get('/limited', headers => [[ 'X-Forwarded-For', "2001:db8:91:5::$_" ]])
} 1 .. 4;
is($lim[0]{headers}{'x-client'}[0], '2001:db8:91:5::/64',
   '$hotline_client_prefix is the /64');
is_deeply([ map { $_->{status} } @lim ], [200, 200, 200, 429],
          'hotline_limit keyed on it: burst + 1 for the whole /64');
is($t->http_get('/limited', headers => [[ 'X-Forwarded-For', '2001:db8:91:6::1' ]])->{status},
   200, 'another /64 has its own budget');
is($t->http_get('/limited', headers => [[ 'X-Forwarded-For', '10.91.2.1' ]])
   ->{headers}{'x-client'}[0], '10.91.2.1', 'an IPv4 address is itself');
is($t->http_get('/limited', headers => [[ 'X-Forwarded-For', '::ffff:10.91.2.7' ]])
   ->{headers}{'x-client'}[0], '10.91.2.7', 'an IPv4-mapped address too');

$_->drop for @a, $other;
$agent->drop;
$t->stop;

# --- hotline_ipv6_prefix 48; the login endpoints --------------------------------

my ($u, $tg) = HotlineAuth->nginx(
    http => $REALIP . "hotline_ipv6_prefix 48;\n"
          . "hotline_otp_ip_rate 1r/m burst=2;\n");
# (each request for another name: the per-name limit stays out of it)
sub post_from {
    my ($path, $body, $ip) = @_;
    return $u->http_post($path, $body,
                         headers => [[ 'Content-Type', 'application/json' ],
                                     [ 'X-Forwarded-For', $ip ]])->{status};
}
my @codes = map {
    post_from('/auth/otp', qq({"username":"nobody$_"}), "2001:db8:91:$_\::1")
} 10 .. 13;
is_deeply(\@codes, [202, 202, 202, 429],
          'the per-address limit of /auth/otp counts the /48');
is(post_from('/auth/otp', '{"username":"nobody20"}', '2001:db8:92::1'), 202,
   'another /48 has its own');
my @v = map {
    post_from('/auth/verify', qq({"username":"nobody$_","code":"123456"}),
              "2001:db8:93:$_\::1")
} 30 .. 33;
is_deeply(\@v, [401, 401, 401, 429], 'and of /auth/verify too');
like($u->error_log,
     qr/hotline audit: otp_limited user=nobody13 ip=2001:db8:91:13::1 reason=ip/,
     'the audit line names the address itself');

$u->stop;
$tg->stop;

sub conf_ok {
    my $n = Hotline::Test->new(http => $_[0]);
    my ($ok, $out) = $n->nginx_t($n->{template});
    return ($ok, $out);
}
my ($ok, $out) = conf_ok("hotline_ipv6_prefix 129;");
ok(!$ok, 'nginx -t refuses hotline_ipv6_prefix 129');
like($out, qr/must be between 1 and 128/, 'and says why');
($ok, $out) = conf_ok("hotline_queue_per_address 0;");
ok(!$ok, 'and hotline_queue_per_address 0');
($ok, $out) = conf_ok("hotline_queue_per_address off;\nhotline_ipv6_prefix 56;");
ok($ok, 'but takes off, and a /56') or diag($out);

done_testing;
