#!/usr/bin/perl
# An agent that comes back gets what it missed once, in order: the
# handshake takes ?last_seq and replays after it; a `resume` on that
# connection replays nothing more (issue 15: it used to replay twice, and
# the browser dropped what came out of order).  Both stores
# (HOTLINE_STORE=redis runs it on Redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new->start;

# chats from the customer, numbered; the agent reads `$read` of them, then
# its connection dies with the rest in flight (written by nginx, never read)
sub in_flight {
    my ($name, $sub, $n, $read) = @_;
    my ($c, $a) = $t->call(name => $name, sub => $sub);
    # it has read what it says it read, no more: a pong would tell the
    # store it read all that came before its ping (a slow machine's ping
    # timer can fire in the middle), and that is not kept for a replay
    $a->auto_pong(0);
    for my $i (1 .. $n) {
        $c->send_json({ type => 'chat', text => "n$i", id => "i$i" });
    }
    $c->pump_until(10, sub {
        (grep { $_->{type} eq 'ack' } @{ $c->{inbox} }) >= $n });
    is(scalar(grep { $_->{type} eq 'ack' } @{ $c->{inbox} }), $n,
       "$name: all $n chats acknowledged");
    $c->take_all('ack');
    my @got;
    $a->pump_until(10, sub {
        @got = grep { $_->{type} eq 'chat' } @{ $a->{inbox} };
        @got >= $read });
    my $last = $got[$read - 1]{seq};
    $a->drop;
    $c->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    # more while the agent is away
    for my $i ($n + 1 .. $n + 10) {
        $c->send_json({ type => 'chat', text => "n$i", id => "i$i" });
        $c->wait_for('ack', 5, sub { $_[0]{id} eq "i$i" });
    }
    return ($c, $a, $last, $got[0]{seq} - 1);
}

# every chat after $last once, in order, and nothing else numbered twice
sub check_once {
    my ($ws, $what, $last, $base, $n) = @_;
    my @chats;
    $ws->pump_until(10, sub {
        @chats = grep { $_->{type} eq 'chat' } @{ $ws->{inbox} };
        @chats && $chats[-1]{text} eq "n$n" });
    # anything late would show here
    $ws->pump_until(0.3, sub { 0 });
    @chats = grep { $_->{type} eq 'chat' } @{ $ws->{inbox} };
    my @seqs = map { $_->{seq} } grep { defined $_->{seq} } @{ $ws->{inbox} };
    my %seen;
    my @twice = grep { $seen{$_}++ } @seqs;
    is_deeply(\@twice, [], "$what: no seq twice") or diag("@seqs");
    my @want = map { "n$_" } ($last - $base + 1 .. $n);
    is_deeply([ map { $_->{text} } @chats ], \@want,
              "$what: each missed chat once, in order")
        or diag(json_encode([ map { [$_->{seq}, $_->{text}] } @chats ]));
    is_deeply([ map { $_->{seq} } @chats ],
              [ $chats[0]{seq} .. $chats[0]{seq} + $#chats ],
              "$what: seqs contiguous") if @chats;
    cmp_ok(@chats ? $chats[0]{seq} : 0, '==', $last + 1,
           "$what: replay starts right after last_seq");
}

# --- the browser's way: ?last_seq on the handshake, no resume
{
    my ($c, $a, $last, $base) = in_flight('Flight', 'flight-agent', 50, 12);
    my $a2 = $t->ws_connect("/ws/agent?last_seq=$last",
                            token => $t->mint_jwt(sub => 'flight-agent'));
    my $w = $a2->wait_for('welcome', 5);
    ok($w, 'agent welcomed back') or diag(json_encode($a2->{inbox}));
    is($w && $w->{call_id}, $c->{call_id}, 'in the same call');
    ok($w && !$w->{gap}, 'no gap');
    check_once($a2, 'handshake', $last, $base, 60);
    ok($c->wait_for('peer', 5, sub { $_[0]{state} eq 'back' }),
       'the customer sees the agent back');

    # the live path goes on, numbered after the replay
    $c->send_json({ type => 'chat', text => 'live', id => 'live' });
    my $m = $a2->wait_for('chat', 5, sub { $_[0]{text} eq 'live' });
    my $prev = (grep { $_->{type} eq 'chat' } @{ $a2->{inbox} })[-1];
    ok($m, 'a live chat after the replay');

    # a second drop, this time with nothing read since: nothing replayed
    my $top = $m ? $m->{seq} : 0;
    $a2->drop;
    $c->wait_for('peer', 5, sub { $_[0]{state} eq 'reconnecting' });
    my $a3 = $t->ws_connect("/ws/agent?last_seq=$top",
                            token => $t->mint_jwt(sub => 'flight-agent'));
    ok($a3->wait_for('welcome', 5), 'back again');
    $a3->pump_until(0.5, sub { 0 });
    is(scalar(grep { defined $_->{seq} && $_->{seq} <= $top }
              @{ $a3->{inbox} }), 0, 'nothing at or before last_seq again');

    # and an old client's resume on top: answered, replays nothing more
    $a3->send_json({ type => 'resume', token => $a->{token},
                     last_seq => $top - 5 });
    my $rw = $a3->wait_for('welcome', 5, sub { $_[0]{resumed} });
    ok($rw, 'a resume on a connection that holds the party: welcome');
    $a3->pump_until(0.5, sub { 0 });
    is(scalar(grep { defined $_->{seq} && $_->{seq} <= $top }
              @{ $a3->{inbox} }), 0, '... and no second replay');
    $a3->send_json({ type => 'hangup' });
    is(($c->wait_for('ended', 5) // {})->{reason}, 'hangup', 'call ends');
}

# --- the protocol's older way: handshake, then resume with last_seq; the
# handshake replays what was not yet written, the resume nothing twice
{
    my ($c, $a, $last, $base) = in_flight('Legacy', 'legacy-agent', 30, 30);
    my $a2 = $t->ws_connect('/ws/agent',
                            token => $t->mint_jwt(sub => 'legacy-agent'));
    ok($a2->wait_for('welcome', 5), 'agent welcomed back');
    $a2->send_json({ type => 'resume', token => $a->{token},
                     last_seq => $last });
    ok($a2->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'resumed');
    check_once($a2, 'handshake and resume', $last, $base, 40);
    $a2->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
}

# --- ?last_seq older than the buffer keeps: welcome says gap, the replay
# is contiguous from what is kept
{
    my ($c, $a) = $t->call(name => 'OldSeq', sub => 'old-agent');
    my $first = $a->{accepted}{seq};
    # (no pong: what it read stays kept as far as the buffer goes)
    $a->auto_pong(0);
    my $big = 'g' x 1900;
    my $got = 0;
    for my $i (1 .. 60) {
        $c->send_json({ type => 'chat', text => "$i $big" });
        $a->wait_for('chat', 5) and $got++;
    }
    is($got, 60, 'OldSeq: 60 big chats delivered live');
    $a->drop;
    my $a2 = $t->ws_connect("/ws/agent?last_seq=$first",
                            token => $t->mint_jwt(sub => 'old-agent'));
    my $w = $a2->wait_for('welcome', 5);
    ok($w && $w->{gap}, 'welcome: gap') or diag(json_encode($w));
    my @r;
    $a2->pump_until(5, sub {
        @r = grep { $_->{type} eq 'chat' } @{ $a2->{inbox} };
        @r && $r[-1]{text} =~ /^60 / });
    my @s = map { $_->{seq} } @r;
    ok(@s && $s[0] > $first + 1, 'the replay starts after the gap');
    is_deeply(\@s, [ $s[0] .. $s[0] + $#s ], '... contiguous to the latest');
    $a2->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
}

# --- a customer whose connection dies with `ended` in flight gets it on
# resume (issue 15: it got `expired`); one that read it (answered the
# close) finds its token dead
for my $case ('dropped', 'no answer') {
    my ($c, $a) = $t->call(name => "EndFlight $case", sub => 'end-agent');
    my $last = $c->{accepted}{seq};
    $c->{echo_close} = 0;
    $a->send_json({ type => 'hangup', id => 'h' });
    ok($a->wait_for('ended', 5), "$case: the agent hangs up");
    if ($case eq 'dropped') {
        # never read: the end and the close die in the socket
        $c->drop;
    } else {
        # read, but the close is never answered (the page died)
        $c->pump_until(5, sub { $c->{closed} });
        ok($c->{closed}, "$case: the close came");
        $last = (grep { $_->{type} eq 'ended' } @{ $c->{inbox} })[0]{seq} - 1;
        $c->drop;
    }
    my $r = $t->ws_connect('/ws/customer');
    $r->send_json({ type => 'resume', token => $c->{token},
                    last_seq => $last });
    my $w = $r->wait_for('welcome', 5);
    ok($w && $w->{resumed}, "$case: the resume is welcomed")
        or diag(json_encode($r->{inbox}));
    my $e = $r->wait_for('ended', 5);
    is($e && $e->{reason}, 'hangup', "$case: the end is replayed");
    is($e && $e->{seq}, $last + 1, "$case: ... with its seq");
    is($r->expect_close(5), 1000, "$case: then the close, 1000");
    # that one answered: the token dies with its worker's detach, a
    # moment after the close (make test-asan's Redis run once resumed in
    # between and got the end again)
    my ($code, $close) = $t->resume_dead_token($c->{token});
    is($code, 'expired', "$case: once read, the token is dead");
    is($close, 4004, "$case: ... 4004");
}

# --- bad last_seq: 400 with a JSON body, the session is not touched
for my $bad ('x', '-1', '1e3', '', '9999999999999999') {
    my $r = $t->handshake_raw(path => '/ws/agent?last_seq=' . $bad,
        headers => [ Authorization => 'Bearer '
                                      . $t->mint_jwt(sub => 'bad-agent') ]);
    is($r->{status}, 400, "last_seq='$bad': 400");
    like($r->{body} // '', qr/"bad_last_seq"/, '... code bad_last_seq');
}

is_deeply([ $t->bad_log_lines ], [], 'no alerts or crashes in the error log');
$t->stop;
done_testing;
