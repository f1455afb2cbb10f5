#!/usr/bin/perl
# A party's relays keep their order when its record changes under them.
# A connection relays with its view of its party's record; a change made
# by another (the agent puts the call on hold, takes a transfer) makes
# the relays in flight come back "conflict", and they go again after the
# view is read.  On Redis their answers come back while the view is read
# and the client's next messages are already waiting for it: every line
# must still reach the peer once, in the order it was sent.  (Before the
# fix, a conflict answered late went behind lines sent after it.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test;

my $t = Hotline::Test->new(
    http => 'hotline_message_rate off; hotline_queue_per_address off;',
)->start;

my $ROUNDS = 6;
my $LINES  = 60;
my $bad = 0;

for my $round (1 .. $ROUNDS) {
    my ($c, $a) = $t->call(name => "Order$round", sub => "order$round");

    # the customer's lines at once, the agent's hold and its end among
    # them: each changes the customer's record
    for my $i (1 .. $LINES) {
        $c->send_json({ type => 'chat', text => "l$i", id => "l$i" });
        if ($i % 10 == 0) {
            $a->send_json({ type => 'hold', on => ($i / 10) % 2 ? \1 : \0 });
        }
    }

    my @got;
    $a->pump_until(20, sub {
        @got = grep { $_->{type} eq 'chat' } @{ $a->{inbox} };
        @got >= $LINES;
    });
    my @acks;
    $c->pump_until(20, sub {
        @acks = grep { $_->{type} eq 'ack' && ($_->{id} // '') =~ /^l/ }
                     @{ $c->{inbox} };
        @acks >= $LINES;
    });
    my $order = join ',', map { $_->{text} } @got;
    my $want = join ',', map { "l$_" } 1 .. $LINES;
    if ($order ne $want) {
        $bad++;
        diag("round $round: $order");
    }
    is(scalar @acks, $LINES, "round $round: every line acked");
    ok(!grep({ $_->{type} eq 'error' } @{ $c->{inbox} }),
       "round $round: no line refused")
        or diag(join ' ', map { Hotline::Test::json_encode($_) }
                          grep { $_->{type} eq 'error' } @{ $c->{inbox} });
    $a->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
    $_->drop for $c, $a;
}

is($bad, 0, "every line reached the agent once, in order ($ROUNDS calls, "
            . "$LINES lines each, the hold changed $ROUNDS x 6 times)");

$t->stop;
done_testing;
