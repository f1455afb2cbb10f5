#!/usr/bin/perl
# A burst larger than twice the replay buffer, to a peer that reads: every
# message is accepted and delivered once, in order (issue 15: it got
# peer_backlog because the sender's worker read the whole burst before
# the reader's delivery could run).  One worker (sender and reader share
# it) and two.  Both stores (HOTLINE_STORE=redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $N = 120;                        # 120 chats of ~2000 bytes: ~240 KB
my $text = 'b' x 1990;

for my $workers (1, 2) {
    my $t = Hotline::Test->new(workers => $workers)->start;
    my ($c, $a) = $t->call(name => "Burst $workers", sub => "burst$workers");

    # one write: every frame at once
    my $burst = join '', map {
        Hotline::Test::raw_frame(payload => Hotline::Test::json_encode(
            { type => 'chat', text => sprintf('%03d %s', $_, $text),
              id => "b$_" }))
    } 1 .. $N;
    # written as fast as the socket takes it, the agent reading meanwhile
    # (a healthy reader; one that does not read is t/13's slow consumer)
    my $sent = 0;
    my $sock = $c->sock;
    my $deadline = time + 20;
    while ($sent < length $burst && time < $deadline) {
        my $n = syswrite($sock, $burst, 65536, $sent);
        $sent += $n if $n;
        $a->drain(0);
        $c->drain(0);
    }
    is($sent, length $burst, "$workers worker(s): a burst of "
       . int(length($burst) / 1024) . " KiB written at once");

    my (@chats, @acks, @errors);
    Hotline::Test::poll_until(20, sub {
        $a->drain(0);
        $c->drain(0);
        @chats = grep { $_->{type} eq 'chat' } @{ $a->{inbox} };
        @acks = grep { $_->{type} eq 'ack' } @{ $c->{inbox} };
        @errors = grep { $_->{type} eq 'error' } @{ $c->{inbox} };
        @acks + @errors >= $N && @chats >= @acks;
    });
    is(scalar @errors, 0, "$workers: no errors (peer_backlog)")
        or diag(json_encode($errors[0]));
    is(scalar @acks, $N, "$workers: every chat acknowledged");
    is_deeply([ map { $_->{id} } @acks ], [ map { "b$_" } 1 .. $N ],
              "$workers: acknowledged in order");
    is_deeply([ map { substr $_->{text}, 0, 3 } @chats ],
              [ map { sprintf '%03d', $_ } 1 .. $N ],
              "$workers: delivered once each, in order");
    my @seqs = map { $_->{seq} } @chats;
    is_deeply(\@seqs, [ $seqs[0] .. $seqs[0] + $N - 1 ],
              "$workers: seqs contiguous") if @seqs;
    is_deeply([ $t->bad_log_lines ], [], "$workers: no alerts");
    $t->stop;
}

done_testing;
