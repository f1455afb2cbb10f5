#!/usr/bin/perl
# A worker killed with SIGKILL (an OOM kill, a crash): the master starts a
# new one, the shared state stays usable (no lock left held), the parties
# that lived on the dead worker count as disconnected (their peers are told,
# they can resume, or their calls end with gone).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);

my $t = Hotline::Test->new(listen => 'reuseport',
                           http => 'hotline_resume_timeout 3s;')->start;

my $a = $t->agent(sub => 'survivor');
my $apid = $t->conn_pid($a);
my $victim_pid = (grep { $_ != $apid } $t->worker_pids)[0];
ok($victim_pid, "victim worker $victim_pid, agent on $apid");

# a call whose customer lives on the victim, a waiting customer there too
my $c = $t->ws_connect_on('/ws/customer', 1, $victim_pid);
ok($c, 'customer on the victim worker') or BAIL_OUT('no connection on the victim');
$c->send_json({ type => 'join', name => 'OnVictim' });
my $w = $c->wait_for('welcome', 5);
$a->send_json({ type => 'accept', call_id => $w->{call_id}, id => 'acc' });
ok($a->wait_for('accepted', 5), 'call accepted across workers');
my $cacc = $c->wait_for('accepted', 5);
my $waiting = $t->ws_connect_on('/ws/customer', 1, $victim_pid);
$waiting->send_json({ type => 'join', name => 'WaitingOnVictim' });
my $ww = $waiting->wait_for('welcome', 5);

$t->kill_worker($victim_pid);

# the customer resumes its call at once (well inside the 3 s grace)
my $r = $t->ws_connect('/ws/customer');
$r->send_json({ type => 'resume', token => $w->{resume},
                last_seq => $cacc ? $cacc->{seq} : 0 });
my $rw = $r->wait_for('welcome', 5);
ok($rw && $rw->{resumed}, 'the customer of the dead worker resumes its call')
    or diag(json_encode($r->{inbox}));
$a->send_json({ type => 'chat', text => 'you are back', id => 'b' });
my $m = $r->wait_for('chat', 5);
is($m && $m->{text}, 'you are back', 'the call goes on');
my @peer;
$a->pump_until(3, sub {
    @peer = map { $_->{state} } grep { $_->{type} eq 'peer' } @{ $a->{inbox} };
    @peer >= 2 });
is("@peer", 'reconnecting back',
   'the agent was told: peer reconnecting, then back')
    or diag(json_encode($a->{inbox}));

# the store still works (no lock held by the dead worker)
my $h;
ok(poll_until(5, sub { $h = eval { $t->health } }), 'health answers');
my $n = eval { $t->customer('AfterCrash') };
ok($n && $n->{welcome}, 'new customers join after the crash')
    or diag($@);

# the waiting customer never comes back: it leaves the queue after the grace
my $q = $a->wait_for('queue', 10, sub {
    !grep { $_->{name} eq 'WaitingOnVictim' } @{ $_[0]{calls} } });
ok($q, 'the waiting customer of the dead worker leaves the queue after the grace');

ok(poll_until(5, sub {
    my $x = $t->health;
    $x->{connections}{customer} == 1 + ($rw ? 1 : 0)
        && $x->{connections}{agent} == 1 }),
   'connection counts drop the dead worker\'s connections')
    or diag(json_encode($t->health));

$t->stop;
done_testing;
