#!/usr/bin/perl
# hotline_messages_relayed_total is a counter of the node: each worker
# counts what it relays in its own mailbox (no locked add per message),
# /metrics adds the workers' counts to the node's, and a worker that dies
# (SIGKILL) or exits (a reload) leaves its count in the node's.  The total
# loses nothing and never goes down.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);

my $t = Hotline::Test->new(listen => 'reuseport',
                           http => 'hotline_resume_timeout 2s;')->start;

sub relayed { $t->metrics->{hotline_messages_relayed_total} // 0 }

# from sends n chats to to, each one read there
sub chats {
    my ($from, $to, $n, $tag) = @_;
    for my $i (1 .. $n) {
        $from->send_json({ type => 'chat', text => "$tag $i" });
        my $m = $to->wait_for('chat', 5);
        return 0 unless $m && $m->{text} eq "$tag $i";
    }
    return 1;
}

sub health_pids { map { $_->{pid} } @{ $t->health->{store}{workers} } }

is(relayed(), 0, 'a new node has relayed nothing');

# a call across the two workers: each side's chats are counted by the
# worker that serves it
my $a = $t->agent(sub => 'count-agent');
my $apid = $t->conn_pid($a);
my ($c, $cpid) = $t->ws_connect_on('/ws/customer', 0, $apid);
ok($c, "customer on worker $cpid, agent on $apid")
    or BAIL_OUT('no connection on the other worker');
$c->send_json({ type => 'join', name => 'Counted' });
$c->{welcome} = $c->wait_for('welcome', 5);
$c->{call_id} = $c->{welcome}{call_id};
$t->call(customer => $c, agent => $a);

ok(chats($c, $a, 4, 'from the customer'), 'four chats to the agent');
ok(chats($a, $c, 3, 'from the agent'), 'three chats to the customer');
is(relayed(), 7, 'relayed: the two workers\' counts added up');

# the customer's worker dies: its four stay in the count, before and
# after its mailbox is reaped
$t->kill_worker($cpid);
ok(poll_until(10, sub { !grep { $_ == $cpid } health_pids() }),
   'the dead worker\'s mailbox is gone')
    or diag(json_encode($t->health));
is(relayed(), 7, 'relayed: the dead worker\'s count kept');

# a new call; then every client leaves and nginx reloads: the old
# workers exit and their counts stay
my ($cc, $ca) = $t->call(name => 'AfterCrash', sub => 'b2');
ok(chats($ca, $cc, 5, 'second call'), 'five chats in a new call');
is(relayed(), 12, 'relayed: 7 + 5');

$_->close_ws(1000) for $cc, $ca, $a;
my @new = $t->reload;
ok(@new == 2, 'reloaded');
ok($t->wait_old_workers_gone(15), 'the old workers exited');
is(relayed(), 12, 'relayed: the exited workers\' counts kept');

my ($c3, $a3) = $t->call(name => 'AfterReload', sub => 'b3');
ok(chats($c3, $a3, 2, 'third call'), 'two chats after the reload');
is(relayed(), 14, 'relayed: counted by the new workers');

# many senders at once on both workers: nothing lost
my $w0 = ($t->worker_pids)[0];
my @calls;
for my $i (1 .. 6) {
    my $cw = $t->ws_connect_on('/ws/customer', $i % 2, $w0);
    my $aw = $t->ws_connect_on('/ws/agent', 1 - $i % 2, $w0,
                               token => $t->mint_jwt(sub => "m$i"));
    $aw->wait_for('queue', 5);
    $cw->send_json({ type => 'join', name => "Many$i" });
    $cw->{welcome} = $cw->wait_for('welcome', 5);
    $cw->{call_id} = $cw->{welcome}{call_id};
    push @calls, [ $t->call(customer => $cw, agent => $aw) ];
}
for my $i (1 .. 20) {
    for my $p (@calls) {
        $p->[0]->send_json({ type => 'chat', text => "m $i" });
        $p->[1]->send_json({ type => 'chat', text => "m $i" });
    }
}
my $got = 0;
for my $p (@calls) {
    for my $side (0, 1) {
        my $peer = $p->[1 - $side];
        $peer->pump_until(10, sub {
            (grep { $_->{type} eq 'chat' && $_->{text} eq 'm 20' }
                  @{ $peer->{inbox} }) });
        $got += grep { $_->{type} eq 'chat' && $_->{text} =~ /^m \d+$/ }
                     @{ $peer->{inbox} };
    }
}
is($got, 6 * 2 * 20, 'every chat of the burst arrived');
is(relayed(), 14 + 6 * 2 * 20, 'relayed: the burst counted exactly');

$t->stop;
done_testing;
