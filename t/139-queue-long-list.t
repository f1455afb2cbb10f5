#!/usr/bin/perl
# A queue longer than the agents' list (issue 16, memory): every worker
# keeps a small item per waiting call and the names only for the first
# 200, and a read of the whole queue maps its buffer on its own and gives
# it back at once (300 calls need more than the 256 KiB a worker keeps).
# The list still shows the oldest 200 by name, in order, with the total;
# an accept brings the 201st into it; the last customer's position is
# right.  Both stores (HOTLINE_STORE=redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $N    = 300;                     # customers waiting
my $LIST = 200;                     # what an agent's list shows

my $t = Hotline::Test->new(http => <<"EOF2")->start;
    hotline_queue_per_address off;
    hotline_message_rate off;
EOF2

my @c = map { $t->customer("L$_") } 1 .. $N;
is($c[-1]{position}{position}, $N, "the last of $N customers is told $N");

my $a = $t->agent(sub => 'lister');

# the list of the whole queue once every join is in it
sub names_ok {
    my ($q, $first, $total) = @_;
    return 0 unless $q->{total} == $total && @{ $q->{calls} } == $LIST;
    for my $i (0 .. $LIST - 1) {
        my $call = $q->{calls}[$i];
        return 0 unless $call->{name} eq 'L' . ($first + $i)
                        && $call->{call_id} eq $c[$first + $i - 1]{call_id};
    }
    return 1;
}

my $q = $a->{queue};
$q = $a->wait_for('queue', 10, sub { $_[0]{total} == $N }) unless $q->{total} == $N;
ok($q && names_ok($q, 1, $N),
   "the agents' list: the oldest $LIST of $N by name, in order, total $N")
    or diag(json_encode({ total => $q->{total},
                          n => scalar @{ $q->{calls} || [] },
                          first => $q->{calls}[0], last => $q->{calls}[-1] }));

# an accept: the 201st comes into the list with its name
my $r = $a->request({ type => 'accept', call_id => $c[0]{call_id} });
is($r->{type}, 'ack', 'the agent accepts the oldest call');
$q = $a->wait_for('queue', 10, sub { $_[0]{total} == $N - 1 });
ok($q && names_ok($q, 2, $N - 1),
   "after it: L2 to L" . ($LIST + 1) . " by name, total " . ($N - 1))
    or diag(json_encode({ total => $q->{total}, last => $q->{calls}[-1] }));

# and the last customer moves up one
my $last = $c[-1];
ok(Hotline::Test::poll_until(10, sub {
    $last->drain(0);
    my @p = $last->take_all('position');
    $last->{position} = $p[-1] if @p;
    $last->{position}{position} == $N - 1;
}), "the last customer is told " . ($N - 1));

is_deeply([ $t->bad_log_lines ], [], 'no alert or crash in the error log');
$t->stop;
done_testing();
