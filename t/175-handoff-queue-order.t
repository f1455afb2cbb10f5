#!/usr/bin/perl
# The queue's order over a restart (hotline_handoff_file): the file holds
# the store's objects by key, not by place in the queue, and the new zone
# puts the waiting customers back by their tickets, at once for all of
# them (one by one, each walked the queue: 50,000 waiting customers held
# the zone locked for 28 s, docs/performance.md).  Forty customers join in
# turn; after a quit and a start each resumes and is told the place it
# had, and the first worker says how long the read took.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);

plan skip_all => 'the handoff file is the embedded store\'s'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $N = 40;

my $t = Hotline::Test->new(
    http => 'hotline_queue_per_address off; hotline_resume_timeout 60s;'
            . ' hotline_position_interval 0;',
)->start;

my @c;
for my $i (1 .. $N) {
    my $c = $t->customer("In line $i");
    push @c, $c;
    is($c->{position}{position}, $i, "customer $i joins at place $i")
        or BAIL_OUT('the queue is not in join order to begin with');
}
is($t->health->{calls}{waiting}, $N, "$N waiting");

# the file holds them by key: not in their order (else the test shows
# nothing)
$_->drop for @c;
$t->stop(quit => 1);
my $file = $t->prefix . '/logs/nginx.hotline_handoff.state';
ok(-s $file, 'a quit writes the handoff file');

$t->start;
is($t->health->{calls}{waiting}, $N, 'a start takes the queue back');
like($t->error_log,
     qr/\d+ objects of the calls taken over, written \d+ ms ago, read in \d+ us/,
     'and says how long the read held the zone');

my (%place, @ws);
for my $i (1 .. $N) {
    my $ws = $t->ws_connect('/ws/customer');
    $ws->send_json({ type => 'resume', token => $c[$i - 1]{token} });
    ok($ws->wait_for('welcome', 5, sub { $_[0]{resumed} }),
       "customer $i resumes") or next;
    my $p = $ws->wait_for('position', 5);
    $place{$i} = $p ? $p->{position} : -1;
    push @ws, $ws;
}
is_deeply([ map { $place{$_} } 1 .. $N ], [ 1 .. $N ],
          'each has the place it had before the restart');

$_->drop for @ws;
$t->stop;
done_testing;
