#!/usr/bin/perl
# The histograms SREs watch (issue 9): time in the queue (accepted, or
# left unanswered), call duration, and time from accepted to each party's
# media, as its page reports it with {"type":"connected"}.  Counts, sums
# and cumulative buckets checked against what the test did, and the
# exposition against promtool.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new->start;

sub scrape { $t->metrics }

my $m0 = scrape();
for my $h ('hotline_queue_wait_seconds_count{outcome="accepted"}',
           'hotline_queue_wait_seconds_count{outcome="unanswered"}',
           'hotline_call_duration_seconds_count',
           'hotline_call_connect_seconds_count{role="customer"}',
           'hotline_call_connect_seconds_count{role="agent"}') {
    is($m0->{$h}, 0, "$h exposed at 0");
}
is($m0->{'hotline_queue_wait_seconds_bucket{outcome="accepted",le="+Inf"}'},
   0, 'buckets exposed at 0');

# a customer waits ~1.2 s, is accepted, talks ~1.1 s
my $c = $t->customer('Histo');
my $t0 = time;
sleep 1.2;
my ($c1, $a) = $t->call(customer => $c, sub => 'histo-agent');
my $waited = time - $t0;

# "connected" before any call: bad_state; in the call: acked, counted once
my $idle = $t->agent(sub => 'idle-agent');
$idle->send_json({ type => 'connected', id => 'x' });
is(($idle->wait_for('error', 5) // {})->{code}, 'bad_state',
   'connected outside a call: bad_state');
$c->send_json({ type => 'connected', id => 'k1' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'k1' }), 'customer: connected acked');
$c->send_json({ type => 'connected', id => 'k2' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'k2' }), '... a second one too');
$a->send_json({ type => 'connected', id => 'k3', extra => 1 });
is(($a->wait_for('error', 5) // {})->{code}, 'bad_field',
   'connected with a member: bad_field');
$a->send_json({ type => 'connected', id => 'k4' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'k4' }), 'agent: connected acked');

sleep 1.1;
$a->send_json({ type => 'hangup' });
ok($c->wait_for('ended', 5), 'the call ends');

# another waits ~0.5 s and gives up
my $g = $t->customer('Gives up');
sleep 0.5;
$g->send_json({ type => 'cancel' });
ok($g->wait_for('ended', 5), 'the second customer cancels');

my $m;
Hotline::Test::poll_until(5, sub {
    $m = scrape();
    ($m->{'hotline_queue_wait_seconds_count{outcome="unanswered"}'} // 0) == 1
        && ($m->{'hotline_call_duration_seconds_count'} // 0) == 1;
});
is($m->{'hotline_queue_wait_seconds_count{outcome="accepted"}'}, 1,
   'one wait that ended accepted');
my $ws = $m->{'hotline_queue_wait_seconds_sum{outcome="accepted"}'};
cmp_ok($ws, '>=', 1.2, "its sum: at least the 1.2 s waited ($ws)");
cmp_ok($ws, '<=', $waited + 1, '... and not more than measured here');
is($m->{'hotline_queue_wait_seconds_bucket{outcome="accepted",le="1.000"}'},
   0, '... not in the 1 s bucket');
is($m->{'hotline_queue_wait_seconds_bucket{outcome="accepted",le="5.000"}'},
   1, '... in the 5 s bucket');
is($m->{'hotline_queue_wait_seconds_count{outcome="unanswered"}'}, 1,
   'one wait that ended unanswered');
cmp_ok($m->{'hotline_queue_wait_seconds_sum{outcome="unanswered"}'}, '>=',
       0.5, '... of at least 0.5 s');
is($m->{'hotline_call_duration_seconds_count'}, 1, 'one call duration');
cmp_ok($m->{'hotline_call_duration_seconds_sum'}, '>=', 1.1,
       '... of at least 1.1 s');
is($m->{'hotline_call_duration_seconds_bucket{le="30.000"}'}, 1,
   '... in the 30 s bucket');
is($m->{'hotline_call_connect_seconds_count{role="customer"}'}, 1,
   'one customer connect (the second report is not counted)');
is($m->{'hotline_call_connect_seconds_count{role="agent"}'}, 1,
   'one agent connect');
is($m->{'hotline_call_connect_seconds_bucket{role="agent",le="+Inf"}'}, 1,
   '... +Inf holds it');

# cumulative buckets, as Prometheus wants them
my @b = map { $m->{"hotline_call_duration_seconds_bucket{le=\"$_\"}"} }
    qw(30.000 60.000 120.000 300.000 600.000 900.000 1200.000 1800.000
       3600.000 +Inf);
is_deeply(\@b, [ (1) x 10 ], 'buckets are cumulative');

SKIP: {
    skip 'promtool not installed', 1 unless -x '/usr/bin/promtool';
    my $r = $t->http_get('/metrics');
    my $f = $t->prefix . '/metrics.txt';
    Hotline::Test::write_file($f, $r->{body});
    my $out = `promtool check metrics < $f 2>&1`;
    is($?, 0, 'promtool check metrics accepts the histograms')
        or diag($out);
}

$t->stop;
done_testing;
