#!/usr/bin/perl
# Big messages: up to hotline_max_message through a small send queue, and a
# message bigger than the replay buffer (never buffered, never a crash).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha1_hex);
use Hotline::Test qw(json_encode);

{
    my $t = Hotline::Test->new(http => 'hotline_max_message 1m; '
        . 'hotline_replay_buffer 4m; hotline_send_queue 4k;')->start;
    my ($c, $a) = $t->call(name => 'Big', sub => 'big-agent');
    my $sdp = join '', map { chr(97 + $_ % 26) } 1 .. 1000 * 1000;
    $a->send_json({ type => 'offer', sdp => $sdp, id => 'big' });
    my $o = $c->wait_for('offer', 15);
    ok($o, 'a 1 MB offer arrives');
    is($o && sha1_hex($o->{sdp}), sha1_hex($sdp), '... intact');
    ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'big' }), '... and is acked');
    # and back, fragmented by the client into 64 KB frames
    my $text = json_encode({ type => 'answer', sdp => $sdp, id => 'back' });
    my @parts = unpack '(a65536)*', $text;
    my $raw = '';
    for my $i (0 .. $#parts) {
        $raw .= Hotline::Test::raw_frame(opcode => $i ? 0 : 1,
                                         fin => $i == $#parts ? 1 : 0,
                                         payload => $parts[$i]);
    }
    $c->send_raw($raw);
    my $ans = $a->wait_for('answer', 15);
    is($ans && sha1_hex($ans->{sdp}), sha1_hex($sdp),
       'a 1 MB answer in ' . scalar(@parts) . ' fragments arrives intact');
    ok(!$c->is_closed && !$a->is_closed, 'both still connected');
    $t->stop;
}

{
    my $t = Hotline::Test->new(http => 'hotline_max_message 256k; '
                                     . 'hotline_replay_buffer 64k;')->start;
    my ($c, $a) = $t->call(name => 'TooBig', sub => 'toobig-agent');
    $a->send_json({ type => 'offer', sdp => 'v=0 ' . ('x' x 100000), id => 'tb' });
    my $r = $a->wait_for('ack', 5, sub { $_[0]{id} eq 'tb' })
         || $a->wait_for('error', 1, sub { ($_[0]{id} // '') eq 'tb' });
    ok($r, 'a message bigger than the replay buffer is answered');
    if ($r && $r->{type} eq 'error') {
        is($r->{code}, 'peer_backlog', '... with peer_backlog');
    } else {
        ok($c->wait_for('offer', 5), '... and delivered');
    }
    $a->send_json({ type => 'chat', text => 'small', id => 's' });
    ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 's' }), 'the call goes on');
    my $m = $c->wait_for('chat', 5);
    is($m && $m->{text}, 'small', 'small messages still arrive');
    $t->stop;
}

done_testing;
