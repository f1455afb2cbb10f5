#!/usr/bin/perl
# hotline_colocate: a customer's connection goes to the worker of the agent
# that accepted its call, between two messages, with no message lost,
# repeated or reordered and nothing the client sees; its limit_conn place
# goes with it.  Where it cannot go (TLS, the Redis store, the directive
# off) it stays.  The hand-over socket takes nothing from a process that
# is not a worker of the node.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);
use Protocol::WebSocket::Frame;

my $t = Hotline::Test->new(
    listen  => 'reuseport',
    http    => 'limit_conn_zone $binary_remote_addr zone=co_ip:1m;'
               . ' hotline_queue_per_address off; hotline_resume_timeout 1s;',
    servers => <<'CONF')->start;
    server {
        listen 127.0.0.1:%%PORT2%% reuseport;
        hotline_colocate on;
        location = /ws/customer {
            hotline_signaling customer;
            limit_conn co_ip 3;
        }
        location = /ws/customers { hotline_signaling customer; }
    }
CONF
my $moves = $t->store eq 'shm';
my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two workers');

sub counter {
    $t->metrics->{"hotline_connections_moved_total{result=\"$_[0]\"}"};
}

# a customer on the worker that is not the agent's, in a call with it
sub cross_call {
    my ($a, $apid, $port, $name) = @_;
    my ($c, $cpid) = $t->ws_connect_on('/ws/customer', 0, $apid,
                                       port => $port, origin => $t->origin);
    ok($c, "$name: the customer is on the other worker")
        or BAIL_OUT('could not reach the second worker');
    $c->send_json({ type => 'join', name => $name });
    my $w = $c->wait_for('welcome', 5);
    my $cid = $w->{call_id};
    $a->wait_for('queue', 5, sub {
        grep { $_->{call_id} eq $cid } @{ $_[0]{calls} } });
    $a->send_json({ type => 'accept', call_id => $cid, id => "acc-$name" });
    ok($c->wait_for('accepted', 5), "$name: accepted");
    $a->wait_for('accepted', 5);
    $c->{welcome} = $w;
    return ($c, $cpid);
}

# n lines each way, sent at once: both sides get all of them, in order,
# with contiguous seqs, each line acked once; the last seq the customer got
sub chat_burst {
    my ($c, $a, $n, $tag) = @_;
    $_->{inbox} = [] for $c, $a;
    for my $i (1 .. $n) {
        $a->send_json({ type => 'chat', text => "a$tag$i", id => "a$tag$i" });
        $c->send_json({ type => 'chat', text => "c$tag$i", id => "c$tag$i" });
    }
    my (@toc, @toa);
    my $acks = sub { scalar grep { $_->{type} eq 'ack' } @{ $_[0]{inbox} } };
    $c->pump_until(10, sub {
        @toc = grep { $_->{type} eq 'chat' } @{ $c->{inbox} };
        @toc >= $n && $acks->($c) >= $n });
    $a->pump_until(10, sub {
        @toa = grep { $_->{type} eq 'chat' } @{ $a->{inbox} };
        @toa >= $n && $acks->($a) >= $n });
    is_deeply([ map { $_->{text} } @toc ], [ map { "a$tag$_" } 1 .. $n ],
              "$tag: agent -> customer, each line once, in order");
    is_deeply([ map { $_->{text} } @toa ], [ map { "c$tag$_" } 1 .. $n ],
              "$tag: customer -> agent, each line once, in order");
    is_deeply([ map { $_->{seq} } @toc ],
              [ map { ($toc[0]{seq} // 0) + $_ } 0 .. $n - 1 ],
              "$tag: the customer's seqs are contiguous");
    for my $ws ([ $c, 'c', 'customer' ], [ $a, 'a', 'agent' ]) {
        is_deeply([ sort map { $_->{id} } grep { $_->{type} eq 'ack' }
                    @{ $ws->[0]{inbox} } ],
                  [ sort map { "$ws->[1]$tag$_" } 1 .. $n ],
                  "$tag: each $ws->[2] line acked once");
    }
    return @toc ? $toc[-1]{seq} : undef;
}

# 1. the customer goes to the agent's worker while both send

my $a = $t->agent(sub => 'co-agent');
my $apid = $t->conn_pid($a);
my ($c, $cpid) = cross_call($a, $apid, $t->port2, 'Mover');
chat_burst($c, $a, 100, 'x');

if ($moves) {
    ok(poll_until(5, sub { ($t->conn_pid($c) // 0) == $apid }),
       'the customer\'s connection is the agent\'s worker\'s now');
    is(counter('moved'), 1, 'one connection moved');
} else {
    is($t->conn_pid($c), $cpid, 'Redis: the customer stays (no owner known)');
    is(counter('moved'), 0, 'Redis: no connection moved');
}
is(counter('failed'), 0, 'no hand-over failed');
is($t->metrics->{'hotline_connections{role="customer"}'}, 1,
   'one customer connection counted');

# the old worker's release starts a grace period (in case the new one
# never attaches), the attach ends it: past hotline_resume_timeout (1s)
# the call goes on
select(undef, undef, undef, 1.5);
$t->http_get('/health');
$c->pump_until(0.5, sub { 0 });
ok(!grep({ $_->{type} eq 'ended' } @{ $c->{inbox} }, @{ $a->{inbox} }),
   'the call outlives the grace period of the release');
my $last = chat_burst($c, $a, 20, 'y');

# limit_conn still counts the moved connection: two more are let in, not
# three (its place went with it, and was not released where it left)

my @held = map {
    $t->ws_connect('/ws/customer', port => $t->port2, origin => $t->origin)
} 1 .. 2;
ok(!eval { $t->ws_connect('/ws/customer', port => $t->port2,
                          origin => $t->origin); 1 },
   'limit_conn counts the moved connection');
like($@ // '', qr/\b503\b/, 'a fourth gets 503');
$_->drop for @held;

# 2. after the move: a reload of the page resumes, the call ends as usual

$c->drop;
ok($a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' }),
   'the agent sees the customer reconnecting');
$a->send_json({ type => 'chat', text => 'while away', id => 'wa' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'wa' }), 'kept while away');
my $c2 = $t->ws_connect('/ws/customer', port => $t->port2,
                                origin => $t->origin);
$c2->send_json({ type => 'resume', token => $c->{welcome}{resume},
                 last_seq => $last });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'resumed');
my $r = $c2->wait_for('chat', 5);
is($r && $r->{text}, 'while away', 'the replay after the move');
is($r && $r->{seq}, $last + 1, 'from the seq the client had');
$a->send_json({ type => 'hangup' });
is(($c2->wait_for('ended', 5) // {})->{reason}, 'hangup', 'hangup');
is($c2->expect_close(5), 1000, 'closed 1000');

# 3. limit_conn: the moved connection's place was released, once

@held = ();
ok(poll_until(5, sub {
       $_->drop for @held;
       @held = ();
       for (1 .. 3) {
           my $ws = eval {
               $t->ws_connect('/ws/customer', port => $t->port2,
                              origin => $t->origin);
           } or return 0;
           push @held, $ws;
       }
       1;
   }), 'three connections from one address, the limit, are let in');
ok(!eval { $t->ws_connect('/ws/customer', port => $t->port2,
                                origin => $t->origin); 1 },
   'a fourth is refused: the moved one was not released twice');
like($@ // '', qr/\b503\b/, 'with 503');
$_->drop for @held;

# 4. where the directive is off, the customer stays on its worker

my $before = counter('moved');
my ($c3, $c3pid) = cross_call($a, $apid, $t->port, 'Stayer');
chat_burst($c3, $a, 20, 'z');
is($t->conn_pid($c3), $c3pid, 'hotline_colocate off: the customer stays');
is(counter('moved'), $before, 'nothing moved');
$a->send_json({ type => 'hangup' });
$c3->wait_for('ended', 5);

# 4a. a transferred call: the customer moves to its agent's worker, and
# again to the worker of the agent that takes the transfer

{
    my $from = $t->agent(sub => 'co-from');
    my $frompid = $t->conn_pid($from);
    my ($to, $topid);
    for (1 .. 60) {
        $to = $t->agent(sub => 'co-to');
        $topid = $t->conn_pid($to);
        last if $topid != $frompid;
        $to->drop;
    }
    isnt($topid, $frompid, 'transfer: the agents on different workers');
    my $base = counter('moved');
    my ($cu, $cupid) = cross_call($from, $frompid, $t->port2, 'Passed');
    chat_burst($cu, $from, 10, 't1');
    ok(poll_until(5, sub { ($t->conn_pid($cu) // 0) == $frompid }),
       'transfer: the customer on the first agent\'s worker')
        if $moves;
    my $r = $from->request({ type => 'transfer', to => 'co-to' });
    is($r->{type}, 'ack', 'transfer: sent to the other agent');
    ok($cu->wait_for('transfer', 5, sub { $_[0]{state} eq 'waiting' }),
       'transfer: the customer waits');
    my $cid = $cu->{welcome}{call_id};
    $to->wait_for('queue', 5, sub {
        grep { $_->{call_id} eq $cid } @{ $_[0]{calls} } });
    $r = $to->request({ type => 'accept', call_id => $cid });
    is($r->{type}, 'ack', 'transfer: taken');
    ok($cu->wait_for('accepted', 5), 'transfer: the customer is told');
    chat_burst($cu, $to, 100, 't2');
    if ($moves) {
        ok(poll_until(5, sub { ($t->conn_pid($cu) // 0) == $topid }),
           'transfer: the customer moved on, to the new agent\'s worker');
        is(counter('moved') - $base, 2, 'transfer: two moves');
    } else {
        is($t->conn_pid($cu), $cupid, 'transfer: Redis, the customer stays');
    }
    $to->send_json({ type => 'hangup' });
    is(($cu->wait_for('ended', 5) // {})->{reason}, 'hangup',
       'transfer: the hangup ends it');
    $_->drop for $cu, $from, $to;
}

# 4b. many at once: 16 calls across the workers, every party sending; the
# hand-overs queue up at the receiving worker (a Unix socket holds 10 by
# default: the rest wait for a later turn), none is lost

my @calls;
for my $i (1 .. 16) {
    my $ag = $t->agent(sub => "co-many-$i");
    my $agpid = $t->conn_pid($ag);
    my ($cu, $cupid) = $t->ws_connect_on('/ws/customers', 0, $agpid,
                                         port => $t->port2,
                                         origin => $t->origin);
    $cu->send_json({ type => 'join', name => "Many $i" });
    my $w = $cu->wait_for('welcome', 5);
    push @calls, [ $cu, $ag, $agpid, $w->{call_id} ];
}
$before = counter('moved');
for my $k (@calls) {
    my ($cu, $ag, undef, $cid) = @$k;
    $ag->wait_for('queue', 5, sub {
        grep { $_->{call_id} eq $cid } @{ $_[0]{calls} } });
    $ag->send_json({ type => 'accept', call_id => $cid, id => 'acc' });
}
ok(!grep({ !$_->[0]->wait_for('accepted', 5) } @calls),
   'many: every call accepted');
for my $i (1 .. 30) {
    for my $k (@calls) {
        $k->[1]->send_json({ type => 'chat', text => "a$i", id => "a$i" });
        $k->[0]->send_json({ type => 'chat', text => "c$i", id => "c$i" });
    }
}
my $bad = 0;
for my $k (@calls) {
    my ($cu, $ag) = @$k;
    my (@toc, @toa);
    $cu->pump_until(10, sub {
        @toc = grep { $_->{type} eq 'chat' } @{ $cu->{inbox} }; @toc >= 30 });
    $ag->pump_until(10, sub {
        @toa = grep { $_->{type} eq 'chat' } @{ $ag->{inbox} }; @toa >= 30 });
    $bad++ unless join(',', map { $_->{text} } @toc)
                  eq join(',', map { "a$_" } 1 .. 30)
               && join(',', map { $_->{text} } @toa)
                  eq join(',', map { "c$_" } 1 .. 30);
}
is($bad, 0, 'many: every line of every call once, in order');
if ($moves) {
    ok(poll_until(5, sub {
           !grep { ($t->conn_pid($_->[0]) // 0) != $_->[2] } @calls }),
       'many: every customer on its agent\'s worker');
    is(counter('moved') - $before, 16, 'many: 16 moves');
}
is(counter('failed'), 0, 'many: no hand-over failed');
for my $k (@calls) {
    $k->[1]->send_json({ type => 'hangup' });
    $k->[0]->wait_for('ended', 5);
    $_->drop for $k->[0], $k->[1];
}

# 4c. a hand-over that is not taken in time (the agent's worker stopped):
# the release's grace period ends the call as after a drop; the worker,
# once it runs again, finds the party gone and closes the connection with
# 4004.  Half a frame holds the customer where it is over the accept (a
# connection moves between two messages only); the rest of it, sent once
# the agent's worker is stopped, lets it go there

if ($moves) {
    my $ag = $t->agent(sub => 'co-stopped');
    my $agpid = $t->conn_pid($ag);
    my ($cu, $cupid) = $t->ws_connect_on('/ws/customer', 0, $agpid,
                                         port => $t->port2,
                                         origin => $t->origin);
    $cu->send_json({ type => 'join', name => 'Stopped' });
    my $cid = $cu->wait_for('welcome', 5)->{call_id};
    my $frame = Protocol::WebSocket::Frame->new(
        buffer => Hotline::Test::json_encode({ type => 'chat', id => 'st',
                                               text => 'to a stopped worker' }),
        type => 'text', masked => 1)->to_bytes;
    $cu->send_raw(substr($frame, 0, 4));
    $ag->wait_for('queue', 5, sub {
        grep { $_->{call_id} eq $cid } @{ $_[0]{calls} } });
    $ag->send_json({ type => 'accept', call_id => $cid, id => 'acc-st' });
    ok($cu->wait_for('accepted', 5), 'stopped: accepted');
    $ag->wait_for('accepted', 5);
    # what the running worker says, on a connection of its own (a new
    # one may land on the stopped worker)
    my $sock = $t->worker_socket($cupid);
    my $get = sub {
        my $r = $t->http_raw("GET $_[0] HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                             sock => $sock);
        return $r->{body} // '';
    };
    is($t->conn_pid($cu), $cupid,
       'half a frame: the customer stays while it is read');
    my ($moved0) = $get->('/metrics') =~ /result="moved"\} (\d+)/;
    kill 'STOP', $agpid;
    $cu->send_raw(substr($frame, 4));
    ok($cu->wait_for('ack', 5, sub { $_[0]{id} eq 'st' }),
       'stopped: the line is acked (the store has it)');
    ok(poll_until(5, sub {
           my ($m) = $get->('/metrics') =~ /result="moved"\} (\d+)/;
           ($m // 0) > ($moved0 // 0) }),
       'stopped: the connection was handed over');
    ok(poll_until(10, sub {
           $get->('/health') =~ /"active":0\b/ }),
       'stopped: the grace period ended the call');
    kill 'CONT', $agpid;
    is($cu->expect_close(5), 4004,
       'stopped: the worker finds the party gone, closes with 4004');
    my $e = $ag->wait_for('ended', 5);
    is($e && $e->{reason}, 'gone', 'stopped: the agent is told it is over');
    $ag->drop;
    close $sock;
}

# 4d. after a reload: the new workers (a generation of their own) move
# connections among themselves

if ($moves) {
    $t->reload;
    my $ag = $t->agent(sub => 'co-reload');
    my $agpid = $t->conn_pid($ag);
    my ($cu) = cross_call($ag, $agpid, $t->port2, 'Reloaded');
    chat_burst($cu, $ag, 20, 'r');
    ok(poll_until(5, sub { ($t->conn_pid($cu) // 0) == $agpid }),
       'after a reload: the customer moved to its agent\'s new worker');
    @workers = $t->worker_pids;
    $ag->send_json({ type => 'hangup' });
    $cu->wait_for('ended', 5);
    $_->drop for $cu, $ag;
}

# 5. a hand-over from a process that is not a worker of the node: its
# descriptor (one end of a socket pair) is closed, which the other end
# sees as EOF

SKIP: {
    skip 'python3 needed', 4 unless -x '/usr/bin/python3';
    my $pid = $workers[0];
    my ($uid) = Hotline::Test::read_file("/proc/$pid/status")
                =~ /^Uid:\s+(\d+)/m;
    my $forge = $t->prefix . '/forge.py';
    Hotline::Test::write_file($forge, <<'PY');
import socket, sys
a, b = socket.socketpair()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendmsg([b'hlmv' + bytes(600)],
          [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
            b.fileno().to_bytes(4, sys.byteorder))],
          0, '\0ngx_hotline_move.' + sys.argv[1])
b.close()
a.settimeout(5)
try:
    print('closed' if a.recv(1) == b'' else 'data')
except socket.timeout:
    print('kept')
PY
    my $logged = sub {
        my $n = $_[0];
        poll_until(5, sub {
            my @l = $t->error_log =~ /a hand-over that is not a worker's/g;
            @l >= $n });
    };
    $t->allow_log(qr/a hand-over that is not a worker's/);
    is(`/usr/bin/python3 $forge $pid 2>&1`, "closed\n",
       'from another user: its descriptor is closed');
    ok($logged->(1), 'and logged');
    skip 'the workers run as root', 2 if !$uid;
    chmod 0755, $t->prefix;
    chmod 0644, $forge;
    my $as = "setpriv --reuid=$uid --regid=$uid --clear-groups";
    is(`$as /usr/bin/python3 $forge $pid 2>&1`, "closed\n",
       'from the workers\' user, not a worker: its descriptor is closed');
    ok($logged->(2), 'and logged');
}

ok(poll_until(5, sub {
       ($t->metrics->{'hotline_connections{role="customer"}'} // -1) == 0 }),
   'no customer connection left counted');

$t->stop;

# 6. TLS: a connection whose keys are its worker's own stays there

$t = Hotline::Test->new(tls => 1, listen => 'reuseport',
                        http => 'hotline_colocate on;')->start;
my $sa = $t->agent(sub => 'tls-agent');
my $sapid = $t->conn_pid($sa);
my ($sc, $scpid) = cross_call($sa, $sapid, $t->port, 'TLS');
chat_burst($sc, $sa, 20, 't');
is($t->conn_pid($sc), $scpid, 'TLS: the customer stays on its worker');
is(counter('moved'), 0, 'TLS: nothing moved');
is(counter('failed'), 0, 'TLS: nothing failed');
$t->stop;

done_testing;
