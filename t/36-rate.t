#!/usr/bin/perl
# hotline_message_rate (docs/directives.md): GCRA per connection; over the
# limit a message is dropped with error rate_limited (the connection stays);
# another whole burst while refused closes with 1008.  Default: off.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);
use Protocol::WebSocket::Frame;

my $t = Hotline::Test->new(servers => <<'EOS')->start;
    server {
        listen 127.0.0.1:%%PORT2%%;
        hotline_message_rate 10r/s burst=5;
        location = /ws/agent { hotline_signaling agent; }
    }
EOS

sub frames {
    join '', map {
        Protocol::WebSocket::Frame->new(buffer => json_encode($_), type => 'text',
                                        masked => 1)->to_bytes } @_;
}
sub answers {
    my ($ws, $n, $prefix) = @_;
    $ws->pump_until(5, sub {
        $ws->{closed} || (grep { ($_->{id} // '') =~ /^$prefix/ } @{ $ws->{inbox} }) >= $n });
    return grep { ($_->{id} // '') =~ /^$prefix/ } @{ $ws->{inbox} };
}
my $origin = $t->origin;
my @bogus = map { { type => 'accept', call_id => '0' x 32, id => "r$_" } } 1 .. 20;

# default: off -- 200 messages at once are all answered normally
{
    my $a = $t->agent(sub => 'unlimited');
    $a->send_raw(frames(map { { type => 'accept', call_id => '0' x 32, id => "u$_" } } 1 .. 200));
    my @r = answers($a, 200, 'u');
    is(scalar(grep { $_->{type} eq 'error' && $_->{code} eq 'not_found' } @r), 200,
       'without hotline_message_rate 200 messages at once are all handled');
    ok(!$a->is_closed, '... and the connection stays');
}

# 10r/s burst=5: 20 at once
{
    my $a = $t->agent(sub => 'limited', port => $t->port2, origin => $origin);
    $a->send_raw(frames(@bogus));
    my $code = $a->expect_close(5);
    my @r = grep { $_->{type} eq 'error' } @{ $a->{inbox} };
    diag(json_encode($a->{inbox})) if $ENV{DEBUG};
    my @handled = grep { $_->{code} eq 'not_found' } @r;
    my @limited = grep { $_->{code} eq 'rate_limited' } @r;
    ok(@handled >= 5 && @handled <= 7,
       'the burst (5, +1 for the first) is handled: ' . scalar(@handled));
    ok(@limited >= 1, 'then messages are refused with rate_limited: ' . scalar(@limited));
    ok(!(grep { !defined $_->{id} } @limited), 'rate_limited echoes the id');
    is($code, 1008, 'a whole burst more while refused: close 1008');
    my $m = $t->metrics;
    cmp_ok($m->{'hotline_errors_total{code="rate_limited"}'} // 0, '>=', scalar @limited,
           'rate_limited errors counted');
    cmp_ok($m->{'hotline_ws_closed_total{code="1008"}'} // 0, '>=', 1, '1008 counted');
}

# a burst within the limit passes
{
    my $a = $t->agent(sub => 'polite', port => $t->port2, origin => $origin);
    $a->send_raw(frames(map { { type => 'accept', call_id => '0' x 32, id => "p$_" } } 1 .. 5));
    my @r = answers($a, 5, 'p');
    is(scalar(grep { $_->{code} eq 'not_found' } @r), 5, 'five at once: all handled');
    ok(!$a->is_closed, 'the polite client stays');
}

$t->stop;
done_testing;
