#!/usr/bin/perl
# Redis faults under traffic (issue 15), two nginx nodes on one Redis with
# its AOF on (appendfsync always), calls across the nodes, both parties
# sending numbered chats (t/lib/Hotline/Traffic.pm):
#
#  * Redis restarted (cleanly, and killed with SIGKILL) while parties
#    also drop and come back during the outage: nothing acknowledged is
#    lost or doubled, every call goes on (a party that dropped while
#    Redis was down used to crash every worker when it came back);
#  * one node cut off from Redis (its ACL user disabled, its connections
#    killed) while the other relays to its parties: what was published
#    meanwhile is caught up when it is back, although nothing follows;
#  * messages of a connected party lost by Redis while its node was cut
#    off: the client gets a `gap` message where they were;
#  * Redis restored from an older copy of its data (it went back in
#    time): the numbering goes on after what the clients have, nothing
#    new is dropped as seen already;
#  * whether Redis keeps the calls on disk (AOF, RDB snapshots, neither,
#    CONFIG renamed away) is checked and said in the log.
#
# The Redis store only: it configures its own Redis (the default suite
# runs it; `make test-redis` skips it rather than run it twice).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Path qw(remove_tree make_path);
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;
use Hotline::Traffic;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();
plan skip_all => 'configures its own Redis: runs in the default suite'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $r = Hotline::Redis->new(aof => 'always')->start;
$r->add_user('nodeb');
my $ta = Hotline::Test->new(http => $r->directive)->start;
my $tb = Hotline::Test->new(http => $r->directive(user => 'nodeb'))->start;
my @nodes = ($ta, $tb);
# (the outages are on purpose)
$_->allow_log(qr/redis store at .* unavailable|went back in time/)
    for @nodes;

# Redis stopped cleanly; its AOF directory replaced by (a copy of) another
sub copy_aof {
    my ($from, $to) = @_;
    $r->stop;
    remove_tree($to);
    make_path($to);
    copy($_, $to) or die "copy $_: $!" for glob("$from/*");
    $r->start;
    $r->add_user('nodeb');
}

sub all_up {
    my $ok = 1;
    $ok &&= Hotline::Redis->wait_store_up($_, 20) for @nodes;
    return $ok;
}

# --- Redis restarted under traffic, parties dropping meanwhile
{
    my $tr = Hotline::Traffic->new(nodes => \@nodes, calls => 10,
                                   rate => 20, tag => 'restart')->setup;
    $tr->run(1.5);
    for my $how (qw(restart kill restart kill)) {
        my @p = $tr->parties;
        if ($how eq 'kill') { $r->kill } else { $r->stop }
        $tr->drop($p[ rand @p ], after => 0.1) for 1 .. 4;
        $tr->run(0.4);
        $r->start;
        $r->add_user('nodeb');
        $tr->run(1.5, until => sub { 0 });
    }
    ok(all_up(), 'every worker of both nodes is back');
    ok($tr->settle(20), 'restarts: every party back, everything delivered');
    $tr->check('redis restarted 4 times');
    $tr->hangup('restarts');
}

# --- node B cut off while node A relays to its parties; then nothing more
{
    my $tr = Hotline::Traffic->new(nodes => \@nodes, calls => 6, rate => 20,
                                   tag => 'cut')->setup;
    $tr->run(1);
    $r->cut('nodeb');
    ok(Hotline::Redis->wait_store_down($tb), 'node B lost Redis');
    $tr->run(1.5);
    $r->admit('nodeb');
    # what A's parties sent meanwhile comes only from B's catch-up
    ok($tr->settle(20), 'cut: every party back, everything delivered');
    $tr->check('node B cut off');
    $tr->hangup('cut');
}

# --- messages lost while a connected party's node was cut off: a gap
{
    my ($c, $a) = $ta->call(customer => $ta->customer('Gap'),
                            agent => $tb->agent(sub => 'gap-agent'));
    my $base = $a->{accepted}{seq};
    $c->send_json({ type => 'chat', text => 'before', id => 'b' });
    ok($c->wait_for('ack', 5), 'gap: a chat acknowledged');
    is(($a->wait_for('chat', 5) // {})->{seq}, $base + 1, '... delivered');
    $r->cut('nodeb');
    ok(Hotline::Redis->wait_store_down($tb), 'node B lost Redis');
    for my $i (1 .. 6) {
        $c->send_json({ type => 'chat', text => "g$i", id => "g$i" });
        ok($c->wait_for('ack', 5, sub { $_[0]{id} eq "g$i" }),
           "gap: chat $i acknowledged");
    }
    # Redis loses the first three of them (as a restore or a bug would)
    my $key = "hotline:m:p:$a->{token}";
    is($r->cli('LLEN', $key) + 0, $base + 7, 'the inbox keeps them all');
    $r->cli('LTRIM', $key, -3, -1);
    $a->{inbox} = [];
    $r->admit('nodeb');
    ok(all_up(), 'node B back');
    my $g = $a->wait_for('gap', 10);
    is_deeply($g, { type => 'gap', from => $base + 2, to => $base + 4,
                    seq => $base + 4 }, 'the agent is told what was lost')
        or diag(json_encode($a->{inbox}));
    my @chats;
    $a->pump_until(5, sub {
        @chats = grep { $_->{type} eq 'chat' } @{ $a->{inbox} };
        @chats >= 3 });
    is_deeply([ map { [$_->{text}, $_->{seq}] } @chats ],
              [ map { ["g$_", $base + 1 + $_] } 4 .. 6 ],
              '... then the rest, in order');
    like($tb->error_log, qr/messages \d+ to \d+ of "p:\w+" are no longer kept/,
         'the node logs it');
    $c->send_json({ type => 'hangup' });
    ok($a->wait_for('ended', 5), 'gap: the call ends');
}

# --- Redis restored from an older copy: it went back in time
{
    my $tr = Hotline::Traffic->new(nodes => \@nodes, calls => 6, rate => 20,
                                   tag => 'rewind')->setup;
    $tr->run(1);
    ok($tr->settle(10), 'rewind: settled before the copy');
    my $aof = $r->dir . '/appendonlydir';
    my $copy = $r->dir . '/copy';
    copy_aof($aof, $copy);
    ok(all_up(), 'back after the copy');
    $tr->run(2);
    ok($tr->settle(10), 'rewind: everything delivered before the restore');
    copy_aof($copy, $aof);
    ok(all_up(), 'Redis restored from the copy, every worker back');
    $tr->run(2);
    ok($tr->settle(20), 'rewind: every party back, everything delivered');
    $tr->check('redis went back in time');
    like($ta->error_log . $tb->error_log, qr/went back in time/,
         'the nodes log that Redis went back in time');
    $tr->hangup('rewind');
}

# --- whether Redis keeps the calls on disk: checked, said in the log
like($ta->error_log,
     qr/\[notice\].*redis at \S+ keeps its data in an append-only file \(appendfsync always\)/,
     'persistence: the AOF (appendfsync always) is noticed');
$_->stop for @nodes;

for my $case (
    [ 'no persistence', [], qr/\[warn\].*keeps no data on disk/ ],
    [ 'RDB only', ['--save', '3600 1'],
      qr/\[notice\].*keeps its data in RDB snapshots only \(save "3600 1"\)/ ],
    [ 'no AOF, CONFIG renamed away', ['--rename-command', 'CONFIG', ''],
      qr/\[warn\].*has no append-only file, and whether it takes RDB snapshots cannot be read/ ],
) {
    my ($what, $args, $re) = @$case;
    my $rr = Hotline::Redis->new(args => $args)->start;
    my $t = Hotline::Test->new(http => $rr->directive)->start;
    ok(poll_until(5, sub { $t->error_log =~ $re }), "persistence: $what")
        or diag($t->error_log_tail);
    my $said = () = $t->error_log =~ /redis at \S+ (?:keeps|has no)/g;
    is($said, 1, "persistence: $what: said once by the node");
    $t->stop;
    $rr->stop;
}

done_testing;
