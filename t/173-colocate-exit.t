#!/usr/bin/perl
# hotline_colocate: a hand-over that reaches a worker on its way out,
# after its last turn of the event loop.  The worker takes no more (a
# send fails at once) and closes those already queued, releasing what
# they hold: their limit_conn places live in a zone that outlives the
# worker (and a reload), so a dropped one would stay taken.  The client
# sees its TCP connection end and resumes, as after any drop.
#
# The worker is held in its exit handler with gdb, which makes the window
# (a datagram after the last epoll_wait()) as wide as the test needs: it
# is asked to exit (SIGTERM), stops at ngx_http_hotline_exit_process, the
# other worker hands the customer over to it, and only then does it go
# on.  Half a WebSocket frame keeps the customer where it is until then
# (a connection moves between two messages only).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Handle;
use Protocol::WebSocket::Frame;
use Hotline::Test qw(poll_until);

plan skip_all => 'connections move on the embedded store only'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $t = Hotline::Test->new(
    listen => 'reuseport',
    http   => 'hotline_colocate on; hotline_queue_per_address off;'
              . ' hotline_resume_timeout 10s;'
              . ' limit_conn_zone $binary_remote_addr zone=exit_ip:1m;',
    server => 'location = /ws/limited { hotline_signaling customer;'
              . ' limit_conn exit_ip 3; }',
)->start;
$SIG{PIPE} = 'IGNORE';

# two calls, each agent on worker A, each customer on the other one, B;
# half a frame before the accept keeps each customer where it is

my $a = $t->agent(sub => 'exit-agent');
my $apid = $t->conn_pid($a);
my $a_2;
for (1 .. 60) {
    my $x = $t->agent(sub => 'exit-agent-2');
    if ($t->conn_pid($x) == $apid) { $a_2 = $x; last }
    $x->drop;
}
ok($a_2, 'two agents on worker A') or BAIL_OUT('no placement');

my ($cpid, @calls);
for my $k ([$a, 'Exit'], [$a_2, 'Stays']) {
    my ($ag, $name) = @$k;
    my ($cu, $pid) = $t->ws_connect_on('/ws/limited', 0, $apid,
                                       origin => $t->origin);
    ok($cu, "$name: the customer on the other worker")
        or BAIL_OUT('no placement');
    $cpid //= $pid;
    $cu->send_json({ type => 'join', name => $name });
    my $w = $cu->wait_for('welcome', 5);
    my $frame = Protocol::WebSocket::Frame->new(
        buffer => Hotline::Test::json_encode({ type => 'chat', id => $name,
                                               text => "$name: a line" }),
        type => 'text', masked => 1)->to_bytes;
    $cu->send_raw(substr($frame, 0, 4));
    $ag->wait_for('queue', 5, sub {
        grep { $_->{call_id} eq $w->{call_id} } @{ $_[0]{calls} } });
    $ag->send_json({ type => 'accept', call_id => $w->{call_id},
                     id => "acc-$name" });
    ok($cu->wait_for('accepted', 5), "$name: accepted");
    $ag->wait_for('accepted', 5);
    is($t->conn_pid($cu), $pid, "$name: half a frame, the customer stays");
    push @calls, { c => $cu, a => $ag, w => $w, frame => $frame,
                   pid => $pid };
}
my ($c, $w, $frame) = @{ $calls[0] }{qw(c w frame)};
my $c_2 = $calls[1]{c};
is($calls[1]{pid}, $cpid, 'both customers on worker B');

# what B says, on a connection of its own
my $sock = $t->worker_socket($cpid);
sub metric { $t->metrics(sock => $sock)->{$_[0]} }
my $moved = 'hotline_connections_moved_total{result="moved"}';
my $failed = 'hotline_connections_moved_total{result="failed"}';
is(metric($moved) // 0, 0, 'nothing handed over yet');

# the agent's worker asked to exit, held in its exit handler

my $gdb_out = $t->prefix . '/gdb.out';
open(my $gdb, '|-', "exec gdb -q -nx -p $apid > $gdb_out 2>&1")
    or BAIL_OUT("gdb: $!");
$gdb->autoflush(1);
print $gdb "set pagination off\nset confirm off\n",
           "handle SIGTERM nostop noprint pass\n",
           "break ngx_http_hotline_exit_process\n",
           "continue\n";
my $gdb_log = sub { -e $gdb_out ? Hotline::Test::read_file($gdb_out) : '' };
my $gdb_said = sub { $gdb_log->() =~ $_[0] };
ok(poll_until(30, sub { $gdb_said->(qr/Continuing\./) }),
   'gdb holds the worker') or diag($gdb_log->());
kill 'TERM', $apid;
ok(poll_until(10, sub { $gdb_said->(qr/Breakpoint 1, /) }),
   'the worker stops in its exit handler')
    or diag($gdb_log->());

# the rest of the frame: the line goes in, and the customer is handed
# over to the worker that is going

$c->send_raw(substr($frame, 4));
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'Exit' }), 'the line is acked');
ok(poll_until(5, sub { (metric($moved) // 0) == 1 }),
   'the connection was handed over');
ok(!$c->{eof}, 'its TCP connection is still open (its descriptor queued)');

# A goes on to the point where it refuses that connection: it takes no
# more by then, and the next hand-over fails at once (EPIPE), the
# customer staying on B

print $gdb "break ngx_http_hotline_ws_refuse\ncontinue\n";
ok(poll_until(10, sub { $gdb_said->(qr/Breakpoint 2, /) }),
   'the worker refuses the connection queued')
    or diag($gdb_log->());
$c_2->send_raw(substr($calls[1]{frame}, 4));
ok($c_2->wait_for('ack', 5, sub { $_[0]{id} eq 'Stays' }),
   'the second line is acked');
ok(poll_until(5, sub { (metric($failed) // 0) == 1 }),
   'the second hand-over failed at once');
is(metric($moved), 1, 'and was not sent');
like($t->error_log, qr/\[warn\] $cpid#\d+: .*hand-over to worker $apid failed/,
     'B says why');

# (detached: LeakSanitizer checks the worker at its exit, not under ptrace)
print $gdb "delete\ndetach\nquit\n";
close $gdb;

ok($c->pump_until(5, sub { $c->{eof} }),
   'the worker, on its way out, closes the connection handed over');
ok(!$c->{closed}, 'with no close frame: the client resumes, as after a drop');
like($t->error_log,
     qr/\[notice\] $apid#\d+: hotline: a connection handed over as this worker exits, closed/,
     'the worker says so');
ok(poll_until(10, sub {
       my @w = $t->worker_pids;
       @w == 2 && !grep { $_ == $apid } @w }),
   'the master replaced the worker');

# both resume, and the call goes on

# an agent whose worker went, back on a new connection
sub agent_back {
    my ($ag) = @_;
    my $ws = $t->ws_connect('/ws/agent', token => $ag->{jwt});
    $ws->send_json({ type => 'resume', token => $ag->{token} });
    ok($ws->wait_for('welcome', 5, sub { $_[0]{resumed} }),
       "$ag->{sub}: the agent resumed");
    return $ws;
}

my $a2 = agent_back($a);
my $c2 = $t->ws_connect('/ws/limited', origin => $t->origin);
$c2->send_json({ type => 'resume', token => $w->{resume} });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }),
   'the customer resumed');
$t->both_ways($c2, $a2, 'resumed');

# the second customer never left B: its connection stays, and so does
# its call once its agent resumes

ok(!$c_2->{eof} && !$c_2->{closed}, 'the second customer\'s connection '
                                     . 'is still open');
is($t->conn_pid($c_2), $cpid, 'on worker B');
my $a2_2 = agent_back($a_2);
$t->both_ways($c_2, $a2_2, 'never left');

# limit_conn: the closed connection's place was released (with the
# resumed one and the second customer open, one more is let in, not none)

$t->limit_conn_room('/ws/limited', 1,
                   'the connection closed on the way out holds no place');

for my $k ([$a2, $c2], [$a2_2, $c_2]) {
    $k->[0]->send_json({ type => 'hangup' });
    is(($k->[1]->wait_for('ended', 5) // {})->{reason}, 'hangup',
       'the hangup');
    $_->drop for @$k;
}
close $sock;

$t->stop;
done_testing;
