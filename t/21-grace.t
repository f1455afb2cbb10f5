#!/usr/bin/perl
# Grace period: a party that does not come back within
# hotline_resume_timeout ends the call with reason gone and frees its state.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new(http => 'hotline_resume_timeout 1s;')->start;

# --- customer gone during a call
{
    my ($c, $a) = $t->call(name => 'Leaver', sub => 'grace-agent');
    $c->drop;
    my $p = $a->wait_for('peer', 5);
    is($p && $p->{state}, 'reconnecting', 'agent: peer reconnecting');
    my $e = $a->wait_for('ended', 6);
    ok($e, 'call ends after the grace period');
    is($e && $e->{reason}, 'gone', 'reason gone');
    is($e && $e->{call_id}, $c->{call_id}, 'ended names the call');
    like($e && $e->{duration}, qr/^\d+$/, 'duration recorded');
    ok(!$a->is_closed, 'agent stays connected');

    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $c->{token}, last_seq => 0 });
    my $xe = $x->wait_for('error', 5);
    is($xe && $xe->{code}, 'expired', 'resume after the grace period: expired');
    is($x->expect_close(5), 4004, '... closed with 4004');

    # the agent is idle again and takes the next call
    my ($c2, $a2) = $t->call(name => 'Next', agent => $a);
    ok($a2->{accepted}, 'agent accepts a new call after gone');
    $a->send_json({ type => 'hangup' });
    $c2->wait_for('ended', 5);
}

# --- agent gone during a call: the customer is told and closed
{
    my ($c, $a) = $t->call(name => 'Stayer', sub => 'vanishing-agent');
    $a->drop;
    my $p = $c->wait_for('peer', 5);
    is($p && $p->{state}, 'reconnecting', 'customer: peer reconnecting');
    my $e = $c->wait_for('ended', 6);
    is($e && $e->{reason}, 'gone', 'customer: ended gone');
    is($c->expect_close(5), 1000, 'customer closed with 1000');
}

# --- waiting customer gone: leaves the queue, the next one moves up
{
    my $watch = $t->agent(sub => 'watcher');
    my $w1 = $t->customer('W1');
    my $w2 = $t->customer('W2');
    $watch->wait_for('queue', 5, sub { @{ $_[0]{calls} } == 2 })
        or fail('watcher sees two calls');
    $w1->drop;
    my $q = $watch->wait_for('queue', 6, sub {
        my @n = map { $_->{name} } @{ $_[0]{calls} };
        "@n" eq 'W2' });
    ok($q, 'queue drops the gone customer');
    my $p = $w2->wait_for('position', 6, sub { $_[0]{position} == 1 });
    ok($p, 'next customer moves to position 1');
    my $h;
    Hotline::Test::poll_until(5, sub {
        $h = $t->health;
        $h->{calls}{waiting} == 1 && $h->{calls}{active} == 0;
    });
    is($h->{calls}{waiting}, 1, 'health: one waiting call left');
    is($h->{calls}{active}, 0, 'health: no active call left');
    my $m = $t->metrics;
    cmp_ok($m->{'hotline_calls_ended_total{reason="gone"}'} // 0, '>=', 3,
           'metrics count the gone calls');
}

$t->stop;

# --- the grace period also runs out for parties cut off by a reload (their
# old worker is gone by then)
{
    my $r = Hotline::Test->new(http => 'hotline_resume_timeout 3s;')->start;
    my $w = $r->customer('NeverBack');
    my ($c, $a) = $r->call(name => 'CallerNeverBack', sub => 'reload-grace');
    $r->reload;
    is($a->expect_close(10), 1001, 'agent closed with 1001 by the reload');
    $c->expect_close(10);
    $w->expect_close(10);
    my $na = $r->ws_connect('/ws/agent', token => $r->mint_jwt(sub => 'reload-grace'));
    $na->send_json({ type => 'resume', token => $a->{token},
                     last_seq => $a->{accepted}{seq} });
    ok($na->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'agent resumed after reload');
    my $e = $na->wait_for('ended', 10);
    is($e && $e->{reason}, 'gone', 'the customer who never came back: ended gone');
    my $q = $na->wait_for('queue', 10, sub {
        !grep { $_->{name} eq 'NeverBack' } @{ $_[0]{calls} } });
    ok($q, 'the waiting customer who never came back leaves the queue');
    ok(Hotline::Test::poll_until(5, sub {
        my $h = $r->health;
        $h->{calls}{waiting} == 0 && $h->{calls}{active} == 0 }),
       'no call left after the grace periods');
    $r->stop;
}
done_testing;
