#!/usr/bin/perl
# Zone memory follows what is in flight, not the replay buffer's maximum
# (issue 15: every agent kept its whole buffer, and the default zone
# filled at about 160 agents).  A pong says the client read everything
# written before its ping: the embedded store lets those messages go.
# /health warns when the zone is nearly full.  The embedded store only
# (Redis keeps its lists in Redis, trimmed by size).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

plan skip_all => 'the embedded store keeps inboxes in the zone'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

# (without a transcript, which keeps a call's chat in the zone on purpose:
# hotline_transcript, t/131-desk-transcript.t)
my $t = Hotline::Test->new(http => 'hotline_ping_interval 200ms; '
                                 . 'hotline_transcript off;')->start;

sub used { $t->health->{store}{used} }

my $base = used();
my ($c, $a) = $t->call(name => 'Chatty', sub => 'mem-agent');
my $first = $a->{accepted}{seq};

# ~45 KB from the customer (inside the 64k buffer), read as it comes
my $text = 'm' x 1500;
my $last;
for my $i (1 .. 30) {
    $c->send_json({ type => 'chat', text => "$i $text" });
    my $m = $a->wait_for('chat', 5) or last;
    $last = $m->{seq};
}
is($last, $first + 30, "all 30 chats delivered");
$a->take_all('chat');

# the agent keeps answering pings (Hotline::Test::WS answers them as it
# reads): what it read is let go
my $used;
my $ok = Hotline::Test::poll_until(10, sub {
    $a->pump_until(0.2, sub { 0 });
    $c->pump_until(0.01, sub { 0 });
    $used = used();
    $used - $base < 24 * 1024;
});
ok($ok, 'zone use comes back once the reader has read (pongs)')
    or diag("base $base, now $used");
cmp_ok(scalar @{ $a->{pings} // [] }, '>', 0, 'the agent was pinged');

# what was read is not kept any more: a resume from before it says so
$a->drop;
my $a2 = $t->ws_connect("/ws/agent?last_seq=$first",
                        token => $t->mint_jwt(sub => 'mem-agent'));
my $w = $a2->wait_for('welcome', 5);
ok($w && $w->{gap}, 'a resume from before what was read: gap')
    or diag(json_encode($w));
is(scalar(grep { $_->{type} eq 'chat' } @{ $a2->{inbox} }), 0,
   '... and nothing read is replayed');

# what is in flight stays: written after the last pong, never read
$a2->auto_pong(0);
$c->send_json({ type => 'chat', text => 'in flight', id => 'f' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'f' }), 'a chat in flight');
my $f = $a2->wait_for('chat', 5);
$a2->drop;
my $a3 = $t->ws_connect("/ws/agent?last_seq=$last",
                        token => $t->mint_jwt(sub => 'mem-agent'));
my $w3 = $a3->wait_for('welcome', 5);
ok($w3 && !$w3->{gap}, 'a resume from the last read: no gap');
my $again = $a3->wait_for('chat', 5);
is($again && $again->{text}, 'in flight', 'the unanswered one is replayed');
is($again && $again->{seq}, $f && $f->{seq}, '... with its seq');
$a3->send_json({ type => 'hangup' });
$c->wait_for('ended', 5);

# --- /health warns before the zone is full
{
    (my $conf = $Hotline::Test::DEFAULT_CONF)
        =~ s/hotline_zone 16m;/hotline_zone 1m;/ or die;
    my $s = Hotline::Test->new(conf => $conf)->start;
    my $h = $s->health;
    is_deeply($h->{warnings}, [], 'an empty zone: no warnings');
    # fill it: customers away in their grace period, each with what its
    # agent said buffered (up to hotline_replay_buffer, 64k)
    my @keep;
    my $full;
    my $big = 'z' x 1500;
    CALL: for my $i (1 .. 40) {
        my ($cu, $ag) = eval { $s->call(name => "Fill $i", sub => "fill$i") };
        last unless $cu;
        $cu->drop;
        push @keep, $ag;
        for my $j (1 .. 40) {
            $ag->send_json({ type => 'chat', text => "$j $big", id => "f$j" });
            my $r = $ag->wait_for('ack', 5) // $ag->wait_for('error', 0.1);
            last unless $r && $r->{type} eq 'ack';
        }
        $h = $s->health;
        if (grep { $_ eq 'zone_nearly_full' } @{ $h->{warnings} }) {
            $full = $h;
            last CALL;
        }
    }
    ok($full, 'zone_nearly_full before the zone is full')
        or diag(json_encode($h));
    cmp_ok($full ? $full->{store}{used} / $full->{store}{size} : 0, '>=', 0.9,
           '... at 90% used');
    is($full && $full->{status}, 'ok', '... and the node still serves');
    my $m = $s->metrics;
    ok(defined $m->{'hotline_store_bytes{kind="used"}'}, 'the metric too');
    ok(Hotline::Test::poll_until(5, sub {
           $s->error_log =~ /\[warn\].*hotline zone is \d+% used/ }),
       'the node logs it once') or diag($s->error_log_tail);
    $_->drop for @keep;
    $s->stop;
}

is_deeply([ $t->bad_log_lines ], [], 'no alerts or crashes in the error log');
$t->stop;
done_testing;
