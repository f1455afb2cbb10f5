#!/usr/bin/perl
# nginx's limit_conn bounds hotline WebSockets for their whole life, as it
# bounds proxied ones: with the stock "limit_conn_zone $binary_remote_addr"
# and "limit_conn addr 2", a client address holds at most two signaling
# connections (customers and agents, on any worker); a third is refused
# with limit_conn's status, and a place is free again once a WebSocket ends
# (closed by the client, dropped, or closed by the server).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);

my $conf = $Hotline::Test::DEFAULT_CONF;
$conf =~ s{(location = /ws/customer \{)}{$1 limit_conn addr 2;} or die;
$conf =~ s{(location = /ws/agent    \{)}{$1 limit_conn addr 2;} or die;

my $t = Hotline::Test->new(
    conf => $conf,
    http => "limit_conn_zone \$binary_remote_addr zone=addr:1m;\n"
          . "limit_conn_status 429;\n")->start;

# the status of a handshake (101, or the refusal)
sub try_customer {
    my $r = $t->handshake_raw(path => '/ws/customer');
    my $ws = $r->{status} && $r->{status} == 101
        ? Hotline::Test::WS->new($r->{sock}, $r->{rest}) : undef;
    close $r->{sock} unless $ws;
    return ($r->{status}, $ws);
}

# a place frees within a deadline: the next handshake is a 101
sub place_frees {
    my ($what, $within) = @_;
    my $ws;
    ok(poll_until($within // 5, sub {
        my ($st, $w) = try_customer();
        $ws = $w;
        $st == 101;
    }), "$what: a place is free again");
    return $ws;
}

my $c1 = $t->customer('One');
my $c2 = $t->customer('Two');
ok(!$c1->is_closed && !$c2->is_closed, 'two WebSockets from one address');

my ($st) = try_customer();
is($st, 429, 'a third is refused by limit_conn, after the first two '
             . 'upgraded and their requests ended');

# an agent counts against the same address
my $agent = eval { $t->agent(sub => 'limited') };
ok(!$agent, 'an agent from that address is refused too');

# the two connections are alive and used
$c1->send_json({ type => 'cancel', id => 'c' });
ok($c1->wait_for('ended', 5), 'the first still talks');

# the server closed the first after its call ended: a place frees as
# soon as the client answers the close frame (RFC 6455, 5.5.1: both closes
# seen, the server closes the TCP connection), though this client keeps
# its end open; not after the server's linger (5 s)
is($c1->expect_close(5), 1000, 'the server closes the first');
my $c3 = place_frees('after a close by the server', 2);
($st) = try_customer();
is($st, 429, 'and only one');

# a dropped connection frees its place
$c2->drop;
my $c4 = place_frees('after a drop');

# a client close frees its place as soon as the server has answered it
# (both closes seen), though this client keeps its end open; not after
# the server's linger (5 s)
is($c3->close_ws(1000), 1000, 'the client closes the second, answered');
my $c5 = place_frees('after a close by the client', 2);
$c3->drop;

# the limit is per address, across workers: many tries, never more than two
my @held = grep { defined } ($c4, $c5);
is(scalar @held, 2, 'two held');
my $refused = 0;
for (1 .. 8) {
    my ($s2) = try_customer();
    $refused++ if $s2 == 429;
}
is($refused, 8, 'eight more tries on both workers: all refused');

$_->drop for @held;
my $c6 = place_frees('after both dropped');
$c6->drop if $c6;

# without limit_conn nothing is limited (the counting is limit_conn's)
my $u = Hotline::Test->new->start;
my @many = map { $u->customer("M$_") } 1 .. 4;
is(scalar(grep { !$_->is_closed } @many), 4,
   'without limit_conn: four from one address');
$u->stop;

$t->stop;

done_testing;
