#!/usr/bin/perl
# Agents' presence: available, away, busy (in a call), wrap-up after a
# call (hotline_wrapup_time) until its time is over or the agent says it
# is available or away; the console's desk message; only agents who take
# calls count for the ETA (unknown without them) and the queue snapshot,
# /health and /metrics show agents by state; the estimate counts down
# while a customer waits; misuse.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes ();
use Hotline::Test qw(json_encode poll_until);

my $t = Hotline::Test->new(http => <<'EOF')->start;
    hotline_average_handle_time 60s;
    hotline_resume_timeout 1s;
    hotline_wrapup_time 2s;
    hotline_away_after 5m;
    hotline_dispositions solved later spam;
EOF

my $n = 0;

# sends a presence change and waits for its ack and the event it makes
sub presence {
    my ($a, $state, $shows) = @_;
    my $id = 'p' . ++$n;
    $a->send_json({ type => 'presence', state => $state, id => $id });
    ok($a->wait_for('ack', 5, sub { $_[0]{id} eq $id }), "$state: acked")
        or diag(json_encode($a->{inbox}));
    my $ev = $a->wait_for('presence', 5, sub { $_[0]{state} eq $shows });
    ok($ev, "$state: the console is told it is $shows");
    return $ev;
}

sub agents_are {
    my ($a, $want, $name) = @_;
    my $q = $a->wait_for('queue', 5, sub {
        my $g = $_[0]{agents};
        !grep { ($g->{$_} // -1) != $want->{$_} } keys %$want });
    ok($q, $name) or diag(json_encode([ map { $_->{agents} }
                                        grep { $_->{type} eq 'queue' }
                                        @{ $a->{inbox} } ]));
}

sub metrics_are {
    my ($want, $name) = @_;
    my $m;
    my $ok = poll_until(5, sub {
        $m = $t->metrics;
        !grep { ($m->{"hotline_agents{state=\"$_\"}"} // -1) != $want->{$_} }
            keys %$want;
    });
    ok($ok, $name) or diag(join ' ', map { "$_=" . ($m->{$_} // 'none') }
                           grep { /^hotline_agents/ } sort keys %$m);
}

# --- a console learns its presence and the desk's settings
my $a = $t->agent(sub => 'ayla');
my $desk = $a->wait_for('desk', 5);
ok($desk, 'the console gets a desk message after its welcome');
is($desk->{presence}, 'available', 'a new agent is available');
is_deeply($desk->{dispositions}, [qw(solved later spam)],
          'the dispositions of hotline_dispositions');
is($desk->{wrapup}, 2, 'wrap-up time in seconds');
is($desk->{away_after}, 300, 'away after 5 minutes without focus');
is($desk->{transfer_timeout}, 30, 'transfer timeout (default 30s)');
is_deeply($a->{queue}{agents}, { online => 1, available => 1, away => 0,
                                 busy => 0, wrapup => 0 },
          'queue: one agent, available');

# --- a customer's estimate counts on available agents only
my $c = $t->customer('Cem');
is($c->{position}{agents}, 1, 'the customer hears one agent takes calls');
ok(defined $c->{position}{eta}, 'with an agent the estimate is a number');

presence($a, 'away', 'away');
agents_are($a, { online => 1, available => 0, away => 1 },
           'queue: the agent is away');
my $p = $c->wait_for('position', 5, sub { !defined $_[0]{eta} });
ok($p, 'nobody available: the estimate is unknown (null)');
is($p && $p->{agents}, 0, 'and no agent takes calls');
metrics_are({ online => 1, away => 1, available => 0 },
            '/metrics: the agent away');
my $h = $t->health;
is($h->{agents}{away}, 1, '/health: agents away');

# away again changes nothing and is acked
$a->send_json({ type => 'presence', state => 'away', id => 'same' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'same' }), 'away twice: acked');

presence($a, 'available', 'available');
$p = $c->wait_for('position', 5, sub { defined $_[0]{eta} });
ok($p && $p->{eta} <= 60, 'available again: the estimate is back')
    or diag(json_encode($p));

# --- the estimate counts down while the customer waits at its place
my $w = $t->customer('Wait');
my $first = $w->{position}{eta};
$p = $w->wait_for('position', 12, sub { $_[0]{position} == 2
                                        && $_[0]{eta} < $first });
ok($p, "the estimate counts down without a queue change ($first ->"
       . ($p ? " $p->{eta})" : ' none)'));
ok($p && $p->{eta} >= 60, 'but not below what the call ahead takes');

# --- in a call the agent is busy; away in a call is for after it
$t->call(customer => $c, agent => $a);
ok($a->wait_for('presence', 5, sub { $_[0]{state} eq 'busy' }),
   'accepting a call makes the agent busy');
agents_are($a, { online => 1, busy => 1, available => 0 },
           'queue: the agent is busy');
metrics_are({ busy => 1, available => 0 }, '/metrics: busy');

$a->send_json({ type => 'presence', state => 'away', id => 'later' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'later' }),
   'away in a call: acked');
ok($a->wait_for('presence', 5, sub { $_[0]{state} eq 'busy' }),
   'the agent stays busy in the call');
$a->send_json({ type => 'hangup' });
ok($c->wait_for('ended', 5), 'the call ends');
ok($a->wait_for('presence', 5, sub { $_[0]{state} eq 'away' }),
   'after the call the agent is away, without wrap-up');
agents_are($a, { online => 1, away => 1, busy => 0, wrapup => 0 },
           'queue: away after the call');

# --- wrap-up after a call, over by itself
presence($a, 'available', 'available');
$t->call(customer => $w, agent => $a);
$a->send_json({ type => 'hangup' });
ok($w->wait_for('ended', 5), 'the second call ends');
my $wu = $a->wait_for('presence', 5, sub { $_[0]{state} eq 'wrapup' });
ok($wu, 'after the call the agent is in wrap-up');
my $now = Time::HiRes::time() * 1000;
ok($wu && $wu->{until} > $now - 500 && $wu->{until} <= $now + 2500,
   'wrap-up says when it ends (in 2 s)')
    or diag(json_encode($wu) . " now $now");
agents_are($a, { online => 1, wrapup => 1, available => 0 },
           'queue: one agent in wrap-up');
metrics_are({ wrapup => 1, available => 0 }, '/metrics: wrap-up');
ok($a->wait_for('presence', 6, sub { $_[0]{state} eq 'available' }),
   'the wrap-up time over, the agent is available again');
agents_are($a, { wrapup => 0, available => 1 }, 'queue: wrap-up over');

# --- wrap-up ended early, and a call taken in wrap-up
my $c3 = $t->customer('Three');
$t->call(customer => $c3, agent => $a);
$a->send_json({ type => 'hangup' });
ok($a->wait_for('presence', 5, sub { $_[0]{state} eq 'wrapup' }),
   'wrap-up again');
presence($a, 'available', 'available');
agents_are($a, { wrapup => 0, available => 1 },
           'wrap-up ended early by the agent');

my $c4 = $t->customer('Four');
$t->call(customer => $c4, agent => $a);
$a->send_json({ type => 'hangup' });
ok($a->wait_for('presence', 5, sub { $_[0]{state} eq 'wrapup' }),
   'wrap-up once more');
my $c5 = $t->customer('Five');
$t->call(customer => $c5, agent => $a);
agents_are($a, { wrapup => 0, busy => 1 }, 'a call taken in wrap-up');
$a->send_json({ type => 'hangup' });
ok($a->wait_for('presence', 5, sub { $_[0]{state} eq 'wrapup' }),
   'and wrap-up after it');
presence($a, 'away', 'away');
agents_are($a, { wrapup => 0, away => 1 }, 'wrap-up ended into away');

# --- a reloaded console is told where it is
my $a2 = $t->agent(sub => 'ayla');
my $d2 = $a2->wait_for('desk', 5);
is($d2 && $d2->{presence}, 'away', 'a console taking the session over '
   . 'learns the agent is away');
is($a->expect_close(5), 4000, 'the older console is closed (replaced)');

# --- misuse
$a2->send_json({ type => 'presence', state => 'busy', id => 'bad1' });
my $e = $a2->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'bad1' });
is($e && $e->{code}, 'bad_field', 'busy cannot be chosen: bad_field');
is($e && $e->{field}, 'state', 'the field is state');
$a2->send_json({ type => 'presence', id => 'bad2' });
$e = $a2->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'bad2' });
is($e && $e->{code}, 'bad_field', 'presence without a state: bad_field');
$a2->send_json({ type => 'presence', state => 'away', mood => 1,
                 id => 'bad3' });
$e = $a2->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'bad3' });
is($e && $e->{field}, 'mood', 'an unknown member is named');
my $c6 = $t->customer('Six');
$c6->send_json({ type => 'presence', state => 'away', id => 'bad4' });
$e = $c6->wait_for('error', 5, sub { ($_[0]{id} // '') eq 'bad4' });
is($e && $e->{code}, 'not_allowed', 'a customer has no presence');

# --- an agent who goes is counted out of its state
$a2->close_ws;
metrics_are({ online => 0, away => 0, available => 0, busy => 0,
              wrapup => 0 }, 'the agent gone: every state at 0');

$t->stop;
done_testing;
