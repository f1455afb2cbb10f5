#!/usr/bin/perl
# A client that reads much gets a ping as soon as an eighth of its replay
# buffer (a quarter on Redis, where each report is a script call) was
# delivered since the last one, not only every hotline_ping_interval: its
# pong says it read all before the ping, and the store forgets that (the
# replay buffer holds what is in flight, not a whole buffer's worth of
# what was read).  A ping's payload numbers it (4 bytes); only a pong
# echoing the last ping's payload confirms anything.  A client that does
# not answer has one ping in flight, however much it is sent.  make
# test-redis runs this file on Redis.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

# 8k: a ping per 1,024 bytes delivered (2,048 on Redis), lines of about
# 230 bytes: one each 5 lines (9); no timer ping within the test
my $t = Hotline::Test->new(http => "hotline_replay_buffer 8k;\n"
                                   . "    hotline_ping_interval 1h;\n")->start;
note('store: ' . $t->store);
my $every = $t->store eq 'redis' ? 9 : 5;

sub chats { grep { $_->{type} eq 'chat' } @{ $_[0]{inbox} } }

# $n lines of about 230 bytes from $from to $to, each delivered before the
# next is sent; returns what $to got
sub lines {
    my ($from, $to, $tag, $n) = @_;
    my @got;
    for my $i (1 .. $n) {
        my $text = sprintf('%s%02d ', $tag, $i) . ('x' x 180);
        $from->send_json({ type => 'chat', text => $text, id => "$tag$i" });
        my $m = $to->wait_for('chat', 5, sub { $_[0]{text} eq $text })
            or last;
        push @got, $m;
    }
    return @got;
}

# the customer's page is reloaded: it resumes from the first line it got
sub reload {
    my ($c, $a, $from) = @_;
    $c->drop;
    ok($a->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' }),
       'the agent sees the customer go');
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => $c->{token},
                    last_seq => $from });
    my $w = $r->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'resumed') or diag(json_encode($r->{inbox}));
    return ($r, $w);
}

sub replayed {
    my ($r, $last) = @_;
    my @r;
    $r->pump_until(5, sub {
        @r = grep { defined $_->{seq} } @{ $r->{inbox} };
        @r && $r[-1]{seq} >= $last });
    return @r;
}

# --- a reader that answers: pinged early, what it read is forgotten
{
    my ($c, $a) = $t->call(name => 'Reader', sub => 'reader-agent');
    my $from = $c->{accepted}{seq};
    my @got = lines($a, $c, 'a', 20);
    is(scalar @got, 20, 'twenty lines delivered (4.6 KB)');
    my @pings = @{ $c->{pings} };
    cmp_ok(scalar @pings, '>=', int(20 / $every),
           'pinged by volume, long before the interval (1h)');
    is_deeply([ grep { length != 4 } @pings ], [],
              'each ping has a 4-byte payload');
    my @n = map { unpack 'V', $_ } @pings;
    is_deeply(\@n, [ 1 .. @n ], '... numbering the pings 1, 2, ...');

    # the last pong was handled: a request after it is answered in order
    is($c->request({ type => 'media', audio => JSON::PP::true() })->{type},
       'ack', 'a request after the pongs is answered');

    # and one more line, not confirmed: the replay has at least that
    $c->auto_pong(0);
    push @got, lines($a, $c, 'z', 1);

    my ($r, $w) = reload($c, $a, $from);
    ok($w && $w->{gap}, 'with a gap: what it confirmed is no longer kept');
    my @r = replayed($r, $got[-1]{seq});
    cmp_ok(scalar(grep { $_->{type} eq 'chat' } @r), '<', 21,
           'fewer lines replayed than were sent')
        or diag(json_encode([ map { [ $_->{seq}, $_->{type} ] } @r ]));
    cmp_ok(scalar(grep { $_->{type} eq 'chat' } @r), '<=', $every + 1,
           'at most what was delivered since the last confirmed ping');
    is(@r ? $r[-1]{seq} : 0, $got[-1]{seq}, 'the replay ends at the last');
    $a->send_json({ type => 'hangup' });
    ok($r->wait_for('ended', 5), 'hung up');
}

# --- a reader that does not answer: one ping in flight, nothing forgotten
{
    my ($c, $a) = $t->call(name => 'Deaf', sub => 'deaf-agent');
    $c->auto_pong(0);
    my $from = $c->{accepted}{seq};
    my @got = lines($a, $c, 'b', 12);
    is(scalar @got, 12, 'twelve lines delivered');
    is(scalar @{ $c->{pings} }, 1, 'one ping, unanswered: no other one');

    # a pong that is not the ping's echo confirms nothing
    $c->send_frame('pong', pack('V', 0));
    $c->send_frame('pong', '');
    $c->send_frame('pong', 'abcdefgh');
    is($c->request({ type => 'media', audio => JSON::PP::true() })->{type},
       'ack', 'the wrong pongs were handled');

    my ($r, $w) = reload($c, $a, $from);
    ok($w && !$w->{gap}, 'no gap: nothing was confirmed read')
        or diag(json_encode($w));
    my @r = replayed($r, $got[-1]{seq});
    is_deeply([ map { $_->{seq} } grep { $_->{type} eq 'chat' } @r ],
              [ map { $_->{seq} } @got ], 'all twelve lines replayed')
        or diag(json_encode([ map { [ $_->{seq}, $_->{type} ] } @r ]));
    $a->send_json({ type => 'hangup' });
    ok($r->wait_for('ended', 5), 'hung up');
}

# --- the echo of the ping confirms, even after other frames
{
    my ($c, $a) = $t->call(name => 'Late', sub => 'late-agent');
    $c->auto_pong(0);
    my $from = $c->{accepted}{seq};
    my @got = lines($a, $c, 'c', $every + 1);
    is(scalar @{ $c->{pings} }, 1, 'one ping');
    my ($ping) = @{ $c->{pings} };
    $c->send_frame('pong', $ping);
    is($c->request({ type => 'media', audio => JSON::PP::true() })->{type},
       'ack', 'the pong was handled');
    my @more = lines($a, $c, 'd', 2);
    my ($r, $w) = reload($c, $a, $from);
    ok($w && $w->{gap}, 'with a gap: the lines before the ping are gone');
    my @r = replayed($r, $more[-1]{seq});
    my @texts = map { substr $_->{text}, 0, 3 }
                grep { $_->{type} eq 'chat' } @r;
    my @all = ((map { sprintf 'c%02d', $_ } 1 .. $every + 1), 'd01', 'd02');
    cmp_ok(scalar @texts, '<', scalar @all,
           'the lines up to the ping are not replayed')
        or diag(json_encode(\@texts));
    is_deeply(\@texts, [ @all[@all - @texts .. $#all] ],
              'the lines after it are, in order')
        or diag(json_encode(\@texts));
    cmp_ok(scalar @texts, '>=', 2, '... the two sent after the pong too');
    $a->send_json({ type => 'hangup' });
    ok($r->wait_for('ended', 5), 'hung up');
}

done_testing;
