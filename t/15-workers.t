#!/usr/bin/perl
# Customer and agent served by different nginx workers: the queue, the call,
# relay and resume all work across workers through the shared zone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);

# reuseport: each worker has its own listening socket, the kernel spreads
# connections by their ports, so repeated connects reach both workers
my $t = Hotline::Test->new(listen => 'reuseport')->start;
my @workers = $t->worker_pids;
is(scalar @workers, 2, 'two workers');

# connect until the connection is served by a worker (not) equal to $pid
my $a = $t->agent(sub => 'w-agent');
my $apid = $t->conn_pid($a);
ok($apid && (grep { $_ == $apid } @workers), "agent served by worker $apid");

my ($c, $cpid) = $t->ws_connect_on('/ws/customer', 0, $apid);
ok($c, "a customer connection landed on the other worker ($cpid)")
    or BAIL_OUT('could not reach the second worker');
isnt($cpid, $apid, 'different workers');

$c->send_json({ type => 'join', name => 'Cross Worker' });
my $w = $c->wait_for('welcome', 5);
ok($w, 'customer joined on its worker');
my $cid = $w->{call_id};
my $q = $a->wait_for('queue', 5, sub {
    grep { $_->{call_id} eq $cid } @{ $_[0]{calls} } });
ok($q, 'agent on the other worker sees the waiting call');

$a->send_json({ type => 'accept', call_id => $cid, id => 'x' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'x' }), 'cross-worker accept acked');
my $ca = $c->wait_for('accepted', 5);
ok($ca, 'customer gets accepted from the other worker');
is_deeply($ca && $ca->{peer}, { role => 'agent', name => 'w-agent' }, 'peer agent');

for my $i (1 .. 20) {
    $a->send_json({ type => 'chat', text => "a$i", id => "a$i" });
    $c->send_json({ type => 'chat', text => "c$i", id => "c$i" });
}
my (@toc, @toa);
$c->pump_until(5, sub { @toc = grep { $_->{type} eq 'chat' } @{ $c->{inbox} };
                        @toc == 20 });
$a->pump_until(5, sub { @toa = grep { $_->{type} eq 'chat' } @{ $a->{inbox} };
                        @toa == 20 });
is_deeply([ map { $_->{text} } @toc ], [ map { "a$_" } 1 .. 20 ],
          'agent -> customer across workers, in order');
is_deeply([ map { $_->{text} } @toa ], [ map { "c$_" } 1 .. 20 ],
          'customer -> agent across workers, in order');
is_deeply([ map { $_->{seq} } @toc ], [ $toc[0]{seq} .. $toc[0]{seq} + 19 ],
          'customer seqs contiguous');
my @acks_a = grep { $_->{type} eq 'ack' } @{ $a->{inbox} };
my @acks_c = grep { $_->{type} eq 'ack' } @{ $c->{inbox} };
$a->pump_until(5, sub { (grep { $_->{type} eq 'ack' } @{ $a->{inbox} }) >= 21 });
$c->pump_until(5, sub { (grep { $_->{type} eq 'ack' } @{ $c->{inbox} }) >= 20 });
is(scalar(grep { $_->{type} eq 'ack' && $_->{id} =~ /^a\d+$/ } @{ $a->{inbox} }),
   20, 'agent got 20 acks');
is(scalar(grep { $_->{type} eq 'ack' && $_->{id} =~ /^c\d+$/ } @{ $c->{inbox} }),
   20, 'customer got 20 acks');
$a->{inbox} = [];
$c->{inbox} = [];

# resume onto the agent's worker (the customer changes worker)
my $last = $toc[-1]{seq};
$c->drop;
$a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' })
    or fail('agent sees reconnecting');
$a->send_json({ type => 'chat', text => 'while away', id => 'wa' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'wa' }), 'buffered across workers');
my ($c2, $c2pid) = $t->ws_connect_on('/ws/customer', 1, $apid);
ok($c2, 'new customer connection on the agent\'s worker');
$c2->send_json({ type => 'resume', token => $w->{resume}, last_seq => $last });
my $w2 = $c2->wait_for('welcome', 5);
ok($w2 && $w2->{resumed}, 'resumed on another worker');
my $r = $c2->wait_for('chat', 5);
is($r && $r->{text}, 'while away', 'replay across workers');
is($r && $r->{seq}, $last + 1, 'replay seq');
ok($a->wait_for('peer', 5, sub { $_[0]{state} eq 'back' }), 'agent sees back');

# and back to the other worker for the agent this time
$a->drop;
$c2->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
my ($a2) = $t->ws_connect_on('/ws/agent', 0, $apid,
                      token => $t->mint_jwt(sub => 'w-agent'));
ok($a2, 'agent reconnects on the other worker');
$a2->send_json({ type => 'resume', token => $a->{token} });
ok($a2->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'agent resumed cross-worker');
$c2->send_json({ type => 'hangup' });
my $e = $a2->wait_for('ended', 5);
is($e && $e->{reason}, 'hangup', 'hangup crosses workers');
is($e && $e->{by}, 'customer', 'by customer');
is($c2->expect_close(5), 1000, 'customer closed 1000');

# health answers the same from both workers, once each has counted the
# call's end (a worker's counts follow the store's within a moment):
# ten reads in a row that say so, then thirty that must agree
ok(poll_until(5, sub {
       for (1 .. 10) {
           my $h = $t->health;
           return 0 unless ($h->{calls}{active} // -1) == 0
                           && ($h->{agents}{busy} // -1) == 0;
       }
       1;
   }), 'health counts the call ended, whichever worker answers');
my %seen;
for (1 .. 30) {
    my $h = $t->health;
    $seen{ json_encode([ $h->{calls}, $h->{agents} ]) }++;
}
is(scalar keys %seen, 1, 'health is consistent whichever worker answers')
    or diag(join "\n", keys %seen);

$t->stop;
done_testing;
