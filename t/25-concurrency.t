#!/usr/bin/perl
# Many calls at once across both workers: every message reaches the right
# peer, in order, with contiguous seqs, and every sender gets its acks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);
use Protocol::WebSocket::Frame;

my $t = Hotline::Test->new(listen => 'reuseport')->start;
my $CALLS = 20;
my $MSGS = 50;

my @pairs;
for my $i (1 .. $CALLS) {
    my ($c, $a) = $t->call(name => "Conc$i", sub => "conc-agent-$i");
    push @pairs, [ $c, $a, $i ];
}
my %pids;
$pids{ $t->conn_pid($_) // 0 }++ for map { @$_[0, 1] } @pairs[0 .. 4];
cmp_ok(scalar keys %pids, '>=', 2, 'connections spread over both workers');

sub frame {
    Protocol::WebSocket::Frame->new(buffer => json_encode($_[0]), type => 'text',
                                    masked => 1)->to_bytes;
}
# everyone sends all its messages at once
for my $p (@pairs) {
    my ($c, $a, $i) = @$p;
    $c->send_raw(join '', map {
        frame({ type => 'chat', text => "c$i-$_", id => "c$i-$_" }) } 1 .. $MSGS);
    $a->send_raw(join '', map {
        frame({ type => 'chat', text => "a$i-$_", id => "a$i-$_" }) } 1 .. $MSGS);
}
my @all = map { @$_[0, 1] } @pairs;
my $done = sub {
    for my $p (@pairs) {
        for my $w (@$p[0, 1]) {
            my $chats = grep { $_->{type} eq 'chat' } @{ $w->{inbox} };
            my $acks = grep { $_->{type} eq 'ack' } @{ $w->{inbox} };
            return 0 unless $chats >= $MSGS && $acks >= $MSGS;
        }
    }
    1;
};
my $deadline = time + 20;
until ($done->() || time > $deadline) {
    $_->pump_until(0.01, sub { 0 }) for @all;
}
ok($done->(), 'all messages and acks arrived');

my ($order_ok, $seq_ok, $cross, $acks_ok) = (1, 1, 0, 1);
for my $p (@pairs) {
    my ($c, $a, $i) = @$p;
    for my $side ([ $c, 'a' ], [ $a, 'c' ]) {
        my ($w, $from) = @$side;
        my @chats = grep { $_->{type} eq 'chat' } @{ $w->{inbox} };
        my @texts = map { $_->{text} } @chats;
        $cross++ if grep { !/^$from$i-\d+$/ } @texts;
        $order_ok = 0 unless "@texts" eq join ' ', map { "$from$i-$_" } 1 .. $MSGS;
        my @s = map { $_->{seq} } @chats;
        $seq_ok = 0 unless @s && "@s" eq join ' ', $s[0] .. $s[0] + $#s;
        my $own = $from eq 'a' ? 'c' : 'a';
        my %ack = map { $_->{id} => 1 } grep { $_->{type} eq 'ack' } @{ $w->{inbox} };
        $acks_ok = 0 if grep { !$ack{"$own$i-$_"} } 1 .. $MSGS;
    }
}
is($cross, 0, 'no message reached another call');
ok($order_ok, 'per-sender order kept');
ok($seq_ok, 'seqs contiguous per receiver');
ok($acks_ok, 'every message acked to its sender');
ok(!(grep { $_->{type} eq 'error' } map { @{ $_->{inbox} } } @all),
   'no errors') or diag(json_encode([ grep { $_->{type} eq 'error' }
                                      map { @{ $_->{inbox} } } @all ]));
ok(!(grep { $_->is_closed } @all), 'nobody was disconnected');

my $m = $t->metrics;
cmp_ok($m->{hotline_messages_relayed_total}, '>=', 2 * $CALLS * $MSGS,
       'relayed counter');
$t->stop;
done_testing;
