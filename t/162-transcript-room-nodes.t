#!/usr/bin/perl
# A call's transcript across two nodes on one redis-server: each party's
# node learns the room the transcript has left from the answers to its
# own relays and sends no longer line (a full transcript costs a relay
# nothing).  A long line left out on one node does not keep the other
# node's lines out, a short line from either party still goes in while it
# fits, and what the transcript keeps is the same whichever node reads
# it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my $r = Hotline::Redis->new->start;
my %conf = (http => $r->directive . "\n    hotline_transcript 1k;\n"
                    . "    hotline_resume_timeout 5s;\n");
my $ta = Hotline::Test->new(%conf)->start;
my $tb = Hotline::Test->new(%conf)->start;

for my $t ($ta, $tb) {
    ok(Hotline::Redis->wait_store_up($t), 'node is up on redis');
}

# the customer on A, the agent on B
my $c = $ta->customer('Nodes');
my $a = $tb->agent(sub => 'nodes');
($c, $a) = $ta->call(customer => $c, agent => $a);
ok($c->{accepted} && $a->{accepted}, 'a call across the nodes');

my $n = 0;

sub chat {
    my ($from, $to, $text) = @_;
    my $id = 'm' . ++$n;
    $from->send_json({ type => 'chat', text => $text, id => $id });
    ok($from->wait_for('ack', 5, sub { $_[0]{id} eq $id }),
       substr($text, 0, 1) . ': acked');
    ok($to->wait_for('chat', 5, sub { $_[0]{text} eq $text }),
       substr($text, 0, 1) . ': relayed to the other node');
}

# about 260 bytes a stored line: three fit into 1k, the fourth does not,
# and two short ones after them do
my $long = 'x' x 200;
chat($c, $a, "1$long");               # A
chat($a, $c, "2$long");               # B
chat($c, $a, "3$long");               # A
chat($a, $c, "4$long");               # B: left out, B learns the room
chat($c, $a, "5$long");               # A: left out, A learns the room
chat($a, $c, "6$long");               # B: not sent to the transcript
chat($a, $c, 'b');                    # B: short, goes in
chat($c, $a, 'a');                    # A: short, goes in
chat($c, $a, "7$long");               # A: not sent

# the transcript, read on each node: the customer resumes on B, the
# agent's console takes its session over on A
sub transcript_of {
    my ($ws, $what) = @_;
    my $tr = $ws->wait_for('transcript', 5);
    ok($tr, "$what: the transcript after the welcome")
        or diag(json_encode($ws->{inbox}));
    return [ map { substr($_->{text}, 0, 1) } @{ $tr ? $tr->{lines} : [] } ];
}

my $c2 = $tb->ws_connect('/ws/customer');
$c2->send_json({ type => 'resume', token => $c->{token}, last_seq => 0 });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }),
   'the customer resumes on B');
is_deeply(transcript_of($c2, 'customer on B'), [ qw(1 2 3 b a) ],
          'the long lines that fit, then the short ones of both parties');

my $a2 = $ta->agent(sub => 'nodes');
ok($a2->{welcome}{call_id}, 'the agent\'s console on A is back in the call');
is_deeply(transcript_of($a2, 'agent on A'), [ qw(1 2 3 b a) ],
          'the same transcript read on A');

# what Redis keeps: within its bound
my $lines = $r->cli('EVAL', "local t = {} for _, k in ipairs(redis.call("
                    . "'KEYS', '*m:t:*')) do t[#t + 1] = k end return #t", 0);
chomp $lines;
is($lines, 1, 'one transcript in redis');

$a2->send_json({ type => 'hangup' });
ok($c2->wait_for('ended', 5), 'the call ends');

$ta->stop;
$tb->stop;
done_testing;
