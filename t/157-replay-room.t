#!/usr/bin/perl
# What a party's replay buffer keeps once it is full.  The embedded store
# makes room as it is needed: an append that does not fit drops the
# oldest delivered messages until it fits.  The Redis store makes room a
# quarter of the buffer at a time: until the buffer and the append take
# at most 3/4 of hotline_replay_buffer (two commands per quarter, not an
# LPOP per append: docs/directives.md).  With a 4k buffer and chat lines
# of about 480 bytes, eight fit; on Redis the ninth makes room down to
# five, the twelfth again, so after twelve the buffer holds the last six;
# on the embedded store the last eight (between 460 and 510 bytes a line,
# the same).  A resume from before the first replays exactly those, after
# a gap.  make test-redis runs this file on Redis.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new(http => 'hotline_replay_buffer 4k;')->start;

my ($c, $a) = $t->call(name => 'Room', sub => 'room-agent');
my $first = $c->{accepted}{seq};

# the customer confirms nothing read (no pong): what is delivered goes only
# as room is needed (t/158-read-confirm.t: what a pong lets go)
$c->auto_pong(0);

# two lines of 2,000 characters (the most a line may have) first: the
# second makes room by dropping what was there before (accepted) and the
# first, so that what follows starts from it alone, whatever the size of
# accepted
for my $b ('A', 'B') {
    my $big = $b x 2000;
    $a->send_json({ type => 'chat', text => $big, id => "big$b" });
    ok($c->wait_for('chat', 5, sub { $_[0]{text} eq $big }),
       "a line of 2,000 characters ($b)");
}

# 480 bytes each in the store (the line, 59 bytes of JSON and its kind),
# each read by the customer (delivered) before the next is sent
my @got;
for my $i (1 .. 12) {
    my $text = sprintf('%02d ', $i) . ('r' x 418);
    $a->send_json({ type => 'chat', text => $text, id => "r$i" });
    my $m = $c->wait_for('chat', 5, sub { $_[0]{text} eq $text }) or last;
    push @got, $m;
}
is(scalar @got, 12, 'twelve chat lines delivered live');
my @seq = map { $_->{seq} } @got;

$c->drop;
ok($a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' }),
   'the agent sees the customer go');

my $r = $t->ws_connect('/ws/customer');
$r->send_json({ type => 'resume', token => $c->{token}, last_seq => $first });
my $w = $r->wait_for('welcome', 5);
ok($w && $w->{resumed}, 'resumed') or diag(json_encode($w));
ok($w && $w->{gap}, 'with a gap: the first lines are no longer kept');

my @r;
$r->pump_until(5, sub {
    @r = grep { defined $_->{seq} } @{ $r->{inbox} };
    @r && $r[-1]{seq} >= $seq[-1] });
my $redis = ($ENV{HOTLINE_STORE} // '') eq 'redis';
my $kept = $redis ? 6 : 8;
is_deeply([ map { $_->{seq} } @r ], [ @seq[12 - $kept .. 11] ],
          "the replay is the last $kept lines ("
          . ($redis ? 'room made down to 3/4' : 'room made as needed') . ')')
    or diag(json_encode([ map { [ $_->{seq}, $_->{type} ] } @r ]));
is_deeply([ map { substr $_->{text}, 0, 2 } @r ],
          [ map { sprintf '%02d', $_ } 13 - $kept .. 12 ],
          'their texts, in order');

$a->send_json({ type => 'hangup' });
ok($a->wait_for('ended', 5), 'hung up');

done_testing;
