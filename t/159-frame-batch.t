#!/usr/bin/perl
# The frames a turn produces for a connection go out packed: each is
# written behind the frames already in the connection's last chunk
# (4,096 bytes) when it fits, in a chunk of its own when it does not, and
# in a buffer of its size when it is larger than a chunk.  Batches of
# chat lines of every size around those bounds, sent in one write and
# read by a separate client library (Protocol::WebSocket), arrive whole
# and in order, with their acks; so do they when the reader stops reading
# until a megabyte waits for it (frames go behind a chunk written in
# part).  make test-tls runs this file over nginx's own TLS, make
# test-redis on Redis.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode ();
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new(http => "hotline_message_rate off;\n"
                                   . "    hotline_replay_buffer 4m;\n"
                                   . "    hotline_ping_interval 1h;\n",
                             # small socket buffers: nginx holds what the
                             # stalled reader does not read
                             listen => 'sndbuf=64k')
                     ->start;
note('store: ' . $t->store);

# texts whose frames fall around the bounds: a few bytes, several to a
# chunk, nearly a chunk (1,900 two-byte characters), just over one (1,999
# of them: 3,998 bytes and the event's fields), larger than a chunk (2,000
# three-byte characters: 6,000 bytes)
my @shapes = (
    sub { 'a' },
    sub { 'b' x 150 },
    sub { 'c' x 700 },
    sub { "\x{e9}" x 1999 },
    sub { 'd' x 1800 },
    sub { "\x{20ac}" x 2000 },
    sub { 'e' x 40 },
    sub { "\x{e9}" x 1900 },
);

sub batch {
    my ($tag, $n) = @_;
    my @texts;
    for my $i (0 .. $n - 1) {
        my $text = $shapes[$i % @shapes]->();
        # a number to tell them apart, within 2,000 characters
        substr($text, 0, length "$tag$i ") = "$tag$i ";
        push @texts, $text;
    }
    return @texts;
}

# all of @texts in one write: one read, one turn for the server
sub send_batch {
    my ($from, $tag, @texts) = @_;
    my $bytes = '';
    for my $i (0 .. $#texts) {
        my $f = Protocol::WebSocket::Frame->new(
            buffer => json_encode({ type => 'chat', text => $texts[$i],
                                    id => "$tag-$i" }),
            type => 'text', masked => 1, max_payload_size => 0);
        $bytes .= $f->to_bytes;
    }
    return $from->send_raw($bytes);
}

sub got_chats {
    my ($to, $n, $timeout) = @_;
    my @got;
    $to->pump_until($timeout, sub {
        @got = grep { $_->{type} eq 'chat' } @{ $to->{inbox} };
        @got >= $n });
    return @got;
}

sub got_acks {
    my ($from, $tag, $n) = @_;
    my @acks;
    $from->pump_until(10, sub {
        @acks = grep { $_->{type} eq 'ack' && ($_->{id} // '') =~ /^\Q$tag\E-/ }
                @{ $from->{inbox} };
        @acks >= $n });
    return map { $_->{id} } @acks;
}

sub check_lines {
    my ($what, $got, $texts) = @_;
    is(scalar @$got, scalar @$texts, "$what: every line arrived");
    my @bad = grep { ($got->[$_]{text} // '') ne $texts->[$_] }
              0 .. $#$texts;
    is_deeply(\@bad, [], "$what: each whole, in the order sent")
        or diag("first bad: $bad[0]: "
                . substr($got->[$bad[0]]{text} // '', 0, 40));
    my @seq = map { $_->{seq} } @$got;
    is_deeply(\@seq, [ map { $seq[0] + $_ } 0 .. $#seq ],
              "$what: their seq numbers follow each other");
}

# --- both parties send a batch at once: relayed frames and acks mixed
{
    my ($c, $a) = $t->call(name => 'Batch', sub => 'batch-agent');
    my @to_c = batch('ac', 40);
    my @to_a = batch('ca', 40);
    ok(send_batch($a, 'ac', @to_c), 'the agent sends 40 lines in one write');
    ok(send_batch($c, 'ca', @to_a), 'the customer sends 40 in one write');

    my @c_got = got_chats($c, 40, 10);
    my @a_got = got_chats($a, 40, 10);
    check_lines('to the customer', \@c_got, \@to_c);
    check_lines('to the agent', \@a_got, \@to_a);
    is_deeply([ got_acks($a, 'ac', 40) ], [ map { "ac-$_" } 0 .. 39 ],
              'the agent has its 40 acks, in order');
    is_deeply([ got_acks($c, 'ca', 40) ], [ map { "ca-$_" } 0 .. 39 ],
              'the customer has its 40 acks, in order');
    is_deeply([ $c->problems, $a->problems ], [],
              'no frame the client library finds wrong');
    $c->drop;
    $a->drop;
}

# --- the reader stops reading: what it is sent waits in nginx, one line
# a turn; once the socket is full, a chunk is written in part and the
# next lines go behind it in that chunk
{
    # a small receive window: nginx soon holds what the reader leaves
    my $c = $t->customer('Stalled', rcvbuf => 8192, mss => 1400);
    my (undef, $a) = $t->call(customer => $c, sub => 'stalled-agent');
    my (@texts, @unacked);
    my $bytes = 0;
    for my $i (0 .. 599) {
        # small lines first, then all the shapes
        my $shape = $i < 400 ? (0, 1, 2, 6)[$i % 4] : $i % @shapes;
        my $text = $shapes[$shape]->();
        substr($text, 0, length "s$i ") = "s$i ";
        send_batch($a, "s$i", $text) or last;
        push @texts, $text;
        $bytes += length Encode::encode_utf8($text);
        # acked: the server took it, in a turn of its own
        if (got_acks($a, "s$i", 1) != 1) {
            push @unacked, $i;
            last;
        }
    }
    is(scalar @texts, 600, '600 lines sent one at a time');
    is_deeply(\@unacked, [], 'each acked before the next');
    ok(!$c->{bytes_in} || $c->{bytes_in} < $bytes,
       "the reader has not read them yet ($bytes bytes)");

    my @got = got_chats($c, scalar @texts, 30);
    check_lines('to the stalled reader', \@got, \@texts);
    is_deeply([ $c->problems ], [], 'no frame the client library finds wrong');
    is($c->{close_code}, undef, 'the reader was not closed');
    $c->drop;
    $a->drop;
}

done_testing();
