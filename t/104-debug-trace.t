#!/usr/bin/perl
# `error_log ... debug` traces one chat message through every layer, from
# the customer's socket to the agent's (issue 10): the frame read, the
# message parsed, the relay and its commit in the store, the reader told
# and its pull, the event delivered with its seq, the frame written, in
# that order and on the right connections.  Both stores (HOTLINE_STORE=
# redis runs it on Redis).  Needs an nginx built --with-debug (Debian's
# is): without it there is nothing to trace and the test says so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test;

my $v = `nginx -V 2>&1`;
plan skip_all => 'this nginx has no debug log (--with-debug)'
    unless $v =~ /--with-debug/;

# (a transcript retention: its sweep is one more of the workers' timers)
my $t = Hotline::Test->new(
    main => 'error_log %%PREFIX%%/logs/debug.log debug;',
    http => 'hotline_transcript_retention 1h;')->start;
my $log = "$t->{prefix}/logs/debug.log";

my ($c, $a) = $t->call(name => 'Trace Customer', sub => 'trace-agent');

# a message of a length nothing else has
my $text = 'trace ' . ('x' x 311);
my $json = Hotline::Test::json_encode({ type => 'chat', text => $text,
                                        id => 'trace-1' });
my $from = -s $log;
$c->send_json({ type => 'chat', text => $text, id => 'trace-1' });
ok($c->wait_for('ack', 5, sub { ($_[0]{id} // '') eq 'trace-1' }),
   'the customer has its ack');
my $got = $a->wait_for('chat', 5);
is($got && $got->{text}, $text, 'the agent has the chat');
my $seq = $got ? $got->{seq} : -1;

# the lines after the send (every worker writes the one file)
my @lines;
my $deadline = time() + 5;
while (1) {
    open(my $fh, '<', $log) or die "$log: $!";
    seek($fh, $from, 0);
    @lines = <$fh>;
    last if grep { /hotline session: deliver seq $seq,/ } @lines;
    last if time() > $deadline;
    select(undef, undef, undef, 0.05);
}
ok(scalar(grep { /hotline session: deliver seq $seq,/ } @lines),
   'the debug log has the trace');

my $len = length $json;
my $store = $t->store;
# the chain of cause and effect, in log order; a step marked "aside"
# follows the one before it but not the ones after (the writer logs its
# commit's answer while the reader's worker, told by then, may be first)
my @steps = (
    [ 'frame in', qr/\*(\d+) hotline ws: frame in, opcode 1, $len bytes/ ],
    [ 'message parsed',
      qr/\*(\d+) hotline session: message of $len bytes, type \d+, rc 0/ ],
    [ 'relay', qr/hotline call: relay of \d+ bytes, view \d+/ ],
    $store eq 'shm'
    # (the append is logged under the lock, the commit after it)
    ? ([ 'inbox',
         qr/hotline shm: inbox seq $seq, \d+ bytes, reader [1-9]\d*/ ],
       [ 'commit', qr/hotline shm: commit of \d+ steps, error 0/, 'aside' ],
       [ 'reader woken', qr/hotline shm: woken, [1-9]\d* mails/ ],
       [ 'pulled', qr/hotline shm: pulled [1-9]\d* bytes, to seq $seq\b/ ])
    : ([ 'commit', qr/hotline redis: commit of \d+ operations/ ],
       [ 'commit answered', qr/hotline redis: commit answered, error 0/,
         'aside' ],
       [ 'reader told', qr/hotline redis: a consumer is told \d+/ ],
       [ 'pulled', qr/hotline redis: pulled [1-9]\d* bytes, to seq $seq\b/ ]),
    [ 'delivered', qr/\*(\d+) hotline session: deliver seq $seq, \d+ bytes/ ],
    [ 'frame out', qr/\*(\d+) hotline ws: frame out, \d+ bytes/ ],
);

my ($i, %conn) = (0);
for my $step (@steps) {
    my ($name, $re, $aside) = @$step;
    my ($found, $j) = (0, $i);
    while ($j < @lines) {
        my $l = $lines[$j++];
        next unless $l =~ $re;
        my $cn = $1;
        # the frame written is the agent's, after its delivery
        next if $name eq 'frame out' && defined $cn
                && $cn ne ($conn{delivered} // '');
        $conn{$name} = $cn;
        $found = 1;
        last;
    }
    $i = $j unless $aside;
    ok($found, "$store: $name, in order") or last;
}
is($conn{'message parsed'}, $conn{'frame in'},
   'parsed on the connection that read it');
isnt($conn{delivered}, $conn{'frame in'},
     'delivered on another connection (the agent\'s)');

$t->stop;
done_testing;
