#!/usr/bin/perl
# The Redis store sends the commits of one pass of a worker's event loop
# as one call of its script, and what they publish to one worker's channel
# as one message ("b<len>:<message>..."): a burst of chat lines written at
# once costs fewer script calls and PUBLISHes than lines, and still
# arrives complete, in order, each acknowledged once, in order.  A batch
# that cannot be read on the channel is logged and dropped; the worker
# goes on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my $r = Hotline::Redis->new->start;
my $t = Hotline::Test->new(http => $r->directive, workers => 1)->start;
ok(Hotline::Redis->wait_store_up($t), 'the node is up on redis');

my ($c, $a) = $t->call(name => 'Batch');

# Redis' own counts of the commands it ran, scripts' commands included
sub stats {
    my %n;
    for (split /\r?\n/, $r->cli('INFO', 'commandstats')) {
        $n{$1} = $2 if /^cmdstat_(\w+):calls=(\d+)/;
    }
    return \%n;
}

sub burst {
    my ($from, $to, $n, $tag) = @_;
    my $bytes = '';
    for my $i (1 .. $n) {
        $bytes .= Hotline::Test::raw_frame(payload => json_encode(
                      { type => 'chat', text => "$tag $i", id => "$tag$i" }));
    }
    $r->cli('CONFIG', 'RESETSTAT');
    ok($from->send_raw($bytes), "$tag: $n chat lines written at once");

    my @acks;
    poll_until(10, sub {
        $from->pump_until(0.05, sub { 0 });
        @acks = grep { $_->{type} eq 'ack' } @{ $from->{inbox} };
        @acks >= $n;
    });
    is_deeply([ map { $_->{id} } @acks ], [ map { "$tag$_" } 1 .. $n ],
              "$tag: every line acknowledged once, in order")
        or diag(json_encode($from->{inbox}));

    my @got;
    poll_until(10, sub {
        $to->pump_until(0.05, sub { 0 });
        @got = grep { $_->{type} eq 'chat' } @{ $to->{inbox} };
        @got >= $n;
    });
    is_deeply([ map { $_->{text} } @got ], [ map { "$tag $_" } 1 .. $n ],
              "$tag: the peer has every line, in order");
    my @seq = map { $_->{seq} } @got;
    is_deeply(\@seq, [ $seq[0] .. $seq[0] + $n - 1 ],
              "$tag: their seq grow by one");

    my $s = stats();
    @{ $from->{inbox} } = ();
    @{ $to->{inbox} } = ();
    return $s;
}

my $n = 60;
my $s = burst($c, $a, $n, 'c');
my $calls = ($s->{evalsha} // 0) + ($s->{eval} // 0);
cmp_ok($calls, '<', $n / 2,
       "$n lines written at once took fewer than half as many script calls"
       . " ($calls)");
cmp_ok($s->{publish} // 0, '<', $n / 2,
       "... and fewer than half as many PUBLISHes (" . ($s->{publish} // 0)
       . ')');

$s = burst($a, $c, $n, 'a');
cmp_ok(($s->{evalsha} // 0) + ($s->{eval} // 0), '<', $n / 2,
       'the other way too');

# one line at a time: each its own call, as before
$r->cli('CONFIG', 'RESETSTAT');
for my $i (1 .. 5) {
    $c->send_json({ type => 'chat', text => "one $i", id => "one$i" });
    ok($c->wait_for('ack', 5, sub { $_[0]{id} eq "one$i" }),
       "line $i alone: acknowledged");
    ok($a->wait_for('chat', 5, sub { $_[0]{text} eq "one $i" }),
       "line $i alone: relayed");
}

# a batch on the worker's channel that cannot be read: logged, dropped
my ($ch) = grep { /w:/ } split /\r?\n/, $r->cli('PUBSUB', 'CHANNELS', '*');
ok($ch, "the worker's channel ($ch)");
$t->allow_log(qr/a bad batch on the channel/);
for my $bad ('b', 'b9', 'b999:m1:1:-:{}', 'bx:', 'b0:', 'b3:b1:', 'b5:m1:1') {
    $r->cli('PUBLISH', $ch, $bad);
}
ok(poll_until(5, sub {
       () = $t->error_log =~ /a bad batch on the channel/g;
   }), 'a batch that cannot be read is logged');

$c->send_json({ type => 'chat', text => 'after', id => 'after' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'after' }),
   'the worker goes on: acknowledged');
ok($a->wait_for('chat', 5, sub { $_[0]{text} eq 'after' }),
   'the worker goes on: relayed');

my @bad = $t->bad_log_lines;
is(scalar @bad, 0, 'no alert, crash or unexpected error in the log')
    or diag(join "\n", @bad);

$t->stop;
$r->stop;
done_testing;
