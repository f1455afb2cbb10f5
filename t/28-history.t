#!/usr/bin/perl
# Call history: every ended call is one line of the journal; the history
# location lists them newest first with filters and paging, counts days,
# answers bad queries with 400 JSON; the journal and the daily limit hold
# across an nginx stop and start.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode json_encode poll_until);

my %conf = (
    http   => 'hotline_daily_limit 5;',
    server => 'location = /history { hotline_history; }',
);

my $t = Hotline::Test->new(%conf)->start;

sub history {
    my ($q) = @_;
    my $r = $t->http_get('/history' . ($q // ''));
    return ($r->{status}, $r->{status} == 200 || $r->{body} =~ /^\{/
                          ? json_decode($r->{body}) : undef, $r);
}

my ($st, $h) = history();
is($st, 200, 'history answers before any call');
is_deeply($h->{calls}, [], 'no calls yet');

# 1: answered, hung up by the agent after a moment
my ($c1, $a) = $t->call(name => 'Ayşe', sub => 'mehmet');
$a->send_json({ type => 'hangup', id => 'h1' });
ok($c1->wait_for('ended', 5), 'call 1 ended');
$a->wait_for('ended', 5);

# 2: rejected
my $c2 = $t->customer('Bora');
$a->send_json({ type => 'reject', call_id => $c2->{call_id}, id => 'r' });
ok($c2->wait_for('ended', 5), 'call 2 rejected');

# 3: cancelled by the customer, a name that needs escaping
my $c3 = $t->customer('Can "<b>"');
$c3->send_json({ type => 'cancel' });
ok($c3->wait_for('ended', 5), 'call 3 cancelled');

my $calls;
ok(poll_until(5, sub { ($st, $h) = history(); @{ $h->{calls} || [] } == 3 }),
   'three calls in the history');
$calls = $h->{calls};
is_deeply([ map { $_->{outcome} } @$calls ], [qw(cancelled rejected hangup)],
          'newest first, with their outcomes');
is($calls->[2]{customer}, 'Ayşe', 'UTF-8 name kept');
is($calls->[0]{customer}, 'Can "<b>"', 'quotes and markup kept as text');
is($calls->[2]{agent}, 'mehmet', 'the agent of the answered call');
is($calls->[2]{by}, 'agent', 'hung up by the agent');
ok(defined $calls->[2]{accepted} && $calls->[2]{accepted} >= $calls->[2]{joined},
   'accepted after joined');
ok(!defined $calls->[0]{accepted}, 'a cancelled call was never accepted');
is($calls->[2]{call_id}, $c1->{call_id}, 'the call id');
ok(JSON::PP::is_bool($calls->[2]{recorded}) && !$calls->[2]{recorded},
   'not recorded');
is($h->{next}, undef, 'one page');

# filters and paging
($st, $h) = history('?agent=mehmet');
is_deeply([ map { $_->{outcome} } @{ $h->{calls} } ], [qw(rejected hangup)],
          'agent filter');
($st, $h) = history('?outcome=rejected');
is(scalar @{ $h->{calls} }, 1, 'outcome filter');
($st, $h) = history('?limit=2');
is(scalar @{ $h->{calls} }, 2, 'a page of 2');
ok(defined $h->{next}, 'with a next cursor');
my ($st2, $h2) = history("?limit=2&before=$h->{next}");
is_deeply([ map { $_->{call_id} } @{ $h2->{calls} } ], [ $c1->{call_id} ],
          'the next page holds the oldest call');
is($h2->{next}, undef, 'and is the last');

($st, $h) = history('?days=3');
is(scalar @{ $h->{days} }, 3, 'three days');
is($h->{days}[0]{calls}, 3, 'today: 3 calls');
is($h->{days}[0]{answered}, 1, 'today: 1 answered');
is($h->{days}[0]{rejected}, 1, 'today: 1 rejected');
is($h->{days}[1]{calls}, 0, 'yesterday: none');

for my $q ('?limit=0', '?limit=201', '?limit=x', '?days=91', '?before=-1',
           '?outcome=exploded') {
    my ($s, $b) = history($q);
    is($s, 400, "bad query $q: 400");
    is($b && $b->{error}, 'bad_query', '... with a JSON error');
}
my $r = $t->http_post('/history', '{}');
is($r->{status}, 405, 'POST: 405');
is(($r->{headers}{allow} // [])->[0], 'GET, HEAD, DELETE', '... with Allow');
like($r->{body} // '', qr/"error":"method_not_allowed".*DELETE to erase/,
     '... and the JSON error');

# the daily limit: 5 calls a day, 3 made
my @more = map { $t->customer("More$_") } 1 .. 2;
my $over = $t->ws_connect('/ws/customer');
$over->send_json({ type => 'join', name => 'Over', id => 'j' });
my $e = $over->wait_for('error', 5);
is($e && $e->{code}, 'daily_limit', 'the 6th call of the day is refused');
is($e && $e->{id}, 'j', '... with its id');
$_->send_json({ type => 'cancel' }) for @more;
$_->wait_for('ended', 5) for @more;

# stop and start: the journal and today's count survive
$t->stop;
$t->start;
($st, $h) = history();
is(scalar @{ $h->{calls} }, 5, 'five calls after a restart');
my $again = $t->ws_connect('/ws/customer');
$again->send_json({ type => 'join', name => 'AfterRestart' });
$e = $again->wait_for('error', 5);
is($e && $e->{code}, 'daily_limit', 'the daily limit holds across a restart');

$t->stop;
done_testing;
