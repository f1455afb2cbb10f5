#!/usr/bin/perl
# Call history on the Redis store across two nginx nodes on one
# redis-server: every ended call goes to the cluster-wide stream, so
# /history on either node lists the calls of both, newest first, with the
# same records (UTF-8 and markup kept as text); pages followed through
# their `next` cursor (also with agent/outcome filters) give the whole
# list once, and a cursor points strictly older (a call ended after page
# 1 is not on page 2); ?days=N counts are cluster-wide and identical on
# both nodes; bad queries get 400 JSON; the records survive an nginx stop
# and start; with Redis down /history answers 503 "unavailable" at once on
# both nodes, and 200 again once Redis is back (Redis is saved with SAVE
# before it is killed, so it comes back with its data).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;
use POSIX qw(strftime);
use Time::Local qw(timegm);

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my $HISTORY = 'location = /history { hotline_history; }';

my $r  = Hotline::Redis->new->start;
my $ta = Hotline::Test->new(http => $r->directive, server => $HISTORY)->start;
my $tb = Hotline::Test->new(http => $r->directive, server => $HISTORY)->start;
my %node = ($ta => 'A', $tb => 'B');

# GET /history?query on a node: (status, decoded JSON or undef, response)
sub history {
    my ($t, $q) = @_;
    my $res = eval { $t->http_get('/history' . ($q // ''), timeout => 5) }
              || { status => undef, body => '' };
    return ($res->{status} // 0, $res->{json}, $res);
}

# the list of a node (one page, checked to be the whole list); with a
# worker pid, as that worker answers it
sub full_list {
    my ($t, $pid) = @_;
    my ($st, $h) = defined $pid ? history_on($t, $pid, '?limit=200')
                                : history($t, '?limit=200');
    return undef unless $st == 200 && $h && ref $h->{calls} eq 'ARRAY';
    return undef if defined $h->{next};
    return $h->{calls};
}

# history() on a connection accepted by the given worker
sub history_on {
    my ($t, $pid, $q) = @_;
    my $res = eval {
        my $r = $t->http_raw("GET /history" . ($q // '') . " HTTP/1.1\r\n"
                             . "Host: x\r\nConnection: close\r\n\r\n",
                             sock => $t->worker_socket($pid));
        close $r->{sock};
        $r;
    } || { status => undef, body => '' };
    return ($res->{status} // 0, $res->{json}, $res);
}

sub ids { [ map { $_->{call_id} } @{ $_[0] || [] } ] }

# follow `next` from the first page (or from the cursor $before) until it
# is null; returns the union of the pages, or undef with a diagnostic when
# a page is wrong
sub collect {
    my ($t, $q, $limit, $before) = @_;
    my (@all, $why);
    for my $page (1 .. 100) {
        my $url = "?limit=$limit" . ($q ? "&$q" : '')
                  . (defined $before ? "&before=$before" : '');
        my ($st, $h) = history($t, $url);
        if ($st != 200 || !$h || ref $h->{calls} ne 'ARRAY') {
            $why = "GET /history$url: $st";
        } elsif (@{ $h->{calls} } > $limit) {
            $why = "GET /history$url: more than $limit records";
        } elsif (defined $h->{next} && $h->{next} !~ /^\d+$/) {
            $why = "GET /history$url: next is not an integer: $h->{next}";
        } elsif (defined $h->{next} && defined $before
                 && $h->{next} >= $before) {
            $why = "GET /history$url: next $h->{next} is not older";
        }
        if ($why) { diag($why); return undef }
        push @all, @{ $h->{calls} };
        return \@all unless defined $h->{next};
        $before = $h->{next};
    }
    diag("more than 100 pages for $q");
    return undef;
}

sub newest_first {
    my ($calls) = @_;
    for my $i (1 .. $#$calls) {
        return 0 if $calls->[$i]{ended} > $calls->[$i - 1]{ended};
    }
    return 1;
}

# ---------------------------------------------------------------------------
# 1. calls ended on both nodes

for my $t ($ta, $tb) {
    my ($st, $h, $res) = history($t);
    is($st, 200, "node $node{$t}: /history answers before any call");
    is_deeply($h && $h->{calls}, [], "node $node{$t}: no calls yet");
    ok($h && exists $h->{next} && !defined $h->{next},
       "node $node{$t}: next is null");
    like($res->{headers}{'content-type'}[0] // '', qr{^application/json},
         "node $node{$t}: application/json");
}

my @expect;    # newest first, as the scenario makes them

# call 1: customer on A, agent on B, hung up by the agent
my $n1 = 'Ayşe';
my ($c1, $a1) = $ta->call(customer => $ta->customer($n1),
                          agent => $tb->agent(sub => 'mehmet'));
$a1->send_json({ type => 'hangup', id => 'h1' });
ok($a1->wait_for('ack', 5, sub { $_[0]{id} eq 'h1' }), 'call 1: hangup acked');
ok($c1->wait_for('ended', 5), 'call 1: ended for the customer on A');
ok($a1->wait_for('ended', 5), 'call 1: ended for the agent on B');
unshift @expect, { id => $c1->{call_id}, customer => $n1, agent => 'mehmet',
                   outcome => 'hangup', by => 'agent', answered => 1 };

# call 2: customer on B, rejected by an agent on A
my $a2 = $ta->agent(sub => 'zeynep');
my $c2 = $tb->customer('Bora');
$a2->send_json({ type => 'reject', call_id => $c2->{call_id}, id => 'r2' });
my $e2 = $c2->wait_for('ended', 5);
ok($e2, 'call 2: rejected, ended for the customer on B');
unshift @expect, { id => $c2->{call_id}, customer => 'Bora', agent => 'zeynep',
                   outcome => 'rejected', by => 'agent', answered => 0 };

# call 3: customer on A cancels
my $n3 = 'Can "<b>"';
my $c3 = $ta->customer($n3);
$c3->send_json({ type => 'cancel' });
ok($c3->wait_for('ended', 5), 'call 3: cancelled on A');
unshift @expect, { id => $c3->{call_id}, customer => $n3, agent => undef,
                   outcome => 'cancelled', by => 'customer', answered => 0 };

# call 4: customer on B cancels
my $n4 = "Dilek 'ü' </script>&amp; \\";
my $c4 = $tb->customer($n4);
$c4->send_json({ type => 'cancel' });
ok($c4->wait_for('ended', 5), 'call 4: cancelled on B');
unshift @expect, { id => $c4->{call_id}, customer => $n4, agent => undef,
                   outcome => 'cancelled', by => 'customer', answered => 0 };

# every record checked against what the scenario did
sub records_ok {
    my ($calls, $what) = @_;
    is_deeply(ids($calls), [ map { $_->{id} } @expect ],
              "$what: the calls of both nodes, newest first")
        or return diag(json_encode($calls));
    ok(newest_first($calls), "$what: ended times descend");
    for my $i (0 .. $#expect) {
        my ($c, $x) = ($calls->[$i], $expect[$i]);
        my $n = "$what: call " . (@expect - $i);
        my $ok = 1;
        $ok &&= is($c->{customer}, $x->{customer}, "$n: customer kept exactly");
        $ok &&= is($c->{agent}, $x->{agent},
                   "$n: agent " . ($x->{agent} // 'null'));
        $ok &&= is($c->{outcome}, $x->{outcome}, "$n: outcome $x->{outcome}");
        $ok &&= is($c->{by}, $x->{by}, "$n: by $x->{by}");
        $ok &&= ok(JSON::PP::is_bool($c->{recorded}) && !$c->{recorded},
                   "$n: recorded false");
        $ok &&= like("$c->{joined} $c->{ended} $c->{duration}",
                     qr/^\d{13} \d{13} \d+$/, "$n: joined, ended, duration");
        $ok &&= ok($c->{joined} <= $c->{ended}, "$n: joined <= ended");
        if ($x->{answered}) {
            $ok &&= ok(defined $c->{accepted} && $c->{accepted} =~ /^\d{13}$/
                       && $c->{joined} <= $c->{accepted}
                       && $c->{accepted} <= $c->{ended},
                       "$n: accepted between joined and ended");
            $ok &&= ok($c->{duration} * 1000 <= $c->{ended} - $c->{accepted}
                                                + 1000,
                       "$n: duration fits accepted..ended");
        } else {
            $ok &&= ok(exists $c->{accepted} && !defined $c->{accepted},
                       "$n: accepted null");
            $ok &&= is($c->{duration}, 0, "$n: no talk");
        }
        diag(json_encode($c)) unless $ok;
    }
}

my ($la, $lb);
ok(poll_until(5, sub { $la = full_list($ta); $la && @$la == @expect }),
   'node A lists the 4 calls') or diag(json_encode($la));
ok(poll_until(5, sub { $lb = full_list($tb); $lb && @$lb == @expect }),
   'node B lists the 4 calls') or diag(json_encode($lb));
records_ok($la, 'node A');
is_deeply($lb, $la, 'node B gives the same records in the same order');
is($r->cli('XLEN', 'hotline:history') + 0, 4,
   'the stream in Redis holds 4 records');

# ---------------------------------------------------------------------------
# 2. a cursor points strictly older: a call ended after page 1 is not on
# page 2

my ($st, $p1) = history($tb, '?limit=2');
is_deeply(ids($p1 && $p1->{calls}), [ map { $_->{id} } @expect[0, 1] ],
          'page 1 of 2: the two newest calls');
ok(defined $p1->{next} && $p1->{next} =~ /^\d+$/, 'page 1: an integer next')
    or diag(json_encode($p1));

# call 5: customer on B, accepted by the agent on A, hung up by the customer
my ($c5, $a5) = $tb->call(customer => $tb->customer('Eda'), agent => $a2);
$c5->send_json({ type => 'hangup', id => 'h5' });
ok($c5->wait_for('ended', 5), 'call 5: ended for the customer on B');
ok($a5->wait_for('ended', 5), 'call 5: ended for the agent on A');
unshift @expect, { id => $c5->{call_id}, customer => 'Eda', agent => 'zeynep',
                   outcome => 'hangup', by => 'customer', answered => 1 };
ok(poll_until(5, sub { my $l = full_list($ta); $l && @$l == 5 }),
   'call 5 is in the history');

my ($st2, $p2) = history($tb, "?limit=2&before=$p1->{next}");
is($st2, 200, 'page 2 answers');
is_deeply(ids($p2 && $p2->{calls}), [ map { $_->{id} } @expect[3, 4] ],
          'page 2: the next older calls, not the call ended since');
my $rest = defined $p2->{next} ? collect($ta, '', 2, $p2->{next}) : [];
is_deeply($rest, [],
          'nothing older than page 2 (followed on node A until next is null)');
is_deeply(ids(collect($ta, '', 1, $p1->{next})),
          [ map { $_->{id} } @expect[3, 4] ],
          'the cursor of page 1, in pages of 1 on node A: the same two calls');

# ---------------------------------------------------------------------------
# 3. paging and filters, followed through next until null, on both nodes

$la = full_list($ta);
records_ok($la, 'node A, 5 calls');
is_deeply(full_list($tb), $la, 'node B: the same 5 records');

for my $t ($ta, $tb) {
    for my $limit (1, 2) {
        my $all = collect($t, '', $limit);
        is_deeply($all, $la,
                  "node $node{$t}: pages of $limit give the whole list once");
    }
    for my $f ([ agent => 'mehmet' ], [ agent => 'zeynep' ],
               [ agent => 'nobody' ], [ outcome => 'cancelled' ],
               [ outcome => 'hangup' ], [ outcome => 'rejected' ],
               [ outcome => 'gone' ]) {
        my ($k, $v) = @$f;
        my @want = grep { ($_->{$k} // '') eq $v } @$la;
        for my $limit (1, 50) {
            my $all = collect($t, "$k=$v", $limit);
            is_deeply($all, \@want, "node $node{$t}: $k=$v, limit=$limit: "
                      . scalar(@want) . ' matching records across pages');
        }
    }
    my $both = collect($t, 'agent=zeynep&outcome=hangup', 1);
    is_deeply(ids($both), [ $expect[0]{id} ],
              "node $node{$t}: agent and outcome filters together");
}

# ---------------------------------------------------------------------------
# 4. days: cluster-wide counts, the same on both nodes

sub utc_date { strftime('%Y-%m-%d', gmtime($_[0])) }

my %by_day;
for my $c (@$la) {
    my $d = $by_day{ utc_date(int($c->{ended} / 1000)) } //= {
        calls => 0, answered => 0, talk_seconds => 0,
        hangup => 0, rejected => 0, cancelled => 0, gone => 0 };
    $d->{calls}++;
    $d->{answered}++ if defined $c->{accepted};
    $d->{talk_seconds} += $c->{duration};
    $d->{ $c->{outcome} }++;
}

for my $n (1, 3) {
    my %got;
    for my $t ($ta, $tb) {
        my ($s, $h, $res) = history($t, "?days=$n");
        is($s, 200, "node $node{$t}: days=$n answers");
        $got{$t} = $h;
        my $days = $h && $h->{days};
        is(ref $days eq 'ARRAY' && @$days, $n, "node $node{$t}: $n days")
            or next;
        my $now = time;
        # today (UTC) first, then one day back each
        ok(utc_date($now) eq $days->[0]{date}
           || utc_date($now - 60) eq $days->[0]{date},
           "node $node{$t}: today (UTC) first")
            or diag(json_encode($days));
        my $first = $days->[0]{date};
        my ($y, $m, $d) = $first =~ /^(\d{4})-(\d\d)-(\d\d)$/;
        my $t0 = timegm(0, 0, 12, $d, $m - 1, $y);
        is_deeply([ map { $_->{date} } @$days ],
                  [ map { utc_date($t0 - 86400 * $_) } 0 .. $n - 1 ],
                  "node $node{$t}: consecutive dates, newest first");
        for my $day (@$days) {
            my $want = $by_day{ $day->{date} } // {
                calls => 0, answered => 0, talk_seconds => 0,
                hangup => 0, rejected => 0, cancelled => 0, gone => 0 };
            my %have = map { $_ => $day->{$_} } keys %$want;
            is_deeply(\%have, $want,
                      "node $node{$t}: $day->{date}: counts of both nodes'"
                      . ' calls (talk_seconds = sum of durations)');
        }
    }
    is_deeply($got{$tb}, $got{$ta}, "days=$n: the same on both nodes");
}
my ($today) = values %by_day;
is(scalar keys %by_day == 1 && $today->{calls}, 5,
   'the 5 calls ended today (sanity of the expectation)');

# ---------------------------------------------------------------------------
# 5. bad queries

for my $q ('?limit=0', '?limit=201', '?limit=x', '?days=0', '?days=91',
           '?outcome=bogus', '?before=-1', '?before=abc') {
    for my $t ($ta, $tb) {
        my ($s, $h, $res) = history($t, $q);
        is($s, 400, "node $node{$t}: bad query $q: 400");
        is($h && $h->{error}, 'bad_query', '... with the JSON error bad_query')
            or diag($res->{body});
    }
}
my $post = $tb->http_post('/history', '{}');
is($post->{status}, 405, 'POST /history: 405');
is(($post->{headers}{allow} // [])->[0], 'GET, HEAD, DELETE',
   '... with Allow');

# ---------------------------------------------------------------------------
# 6. the records are in Redis: node A stopped and started still lists them

$a2->drop;
$ta->stop;
my ($sb, $hb) = history($tb);
is_deeply($hb && $hb->{calls}, $la, 'node B lists all calls while A is down');
$ta->start;
ok(Hotline::Redis->wait_store_up($ta), 'node A is up again');
is_deeply(full_list($ta), $la, 'node A lists all calls after its restart');

# ---------------------------------------------------------------------------
# 7. Redis down: 503 "unavailable" at once; back (with its data): 200

like($r->cli('SAVE'), qr/OK/, 'Redis saved to disk before the outage');
$r->kill;
for my $t ($ta, $tb) {
    my ($s, $h, $res);
    ok(poll_until(10, sub { ($s, $h, $res) = history($t); $s == 503 }),
       "node $node{$t}: /history 503 while Redis is down")
        or diag("last answer: $s $res->{body}");
    is($h && $h->{error}, 'unavailable', "node $node{$t}: error unavailable");
    like($res->{headers}{'content-type'}[0] // '', qr{^application/json},
         "node $node{$t}: a JSON 503");
    # every worker answers (none hangs, none says 500)
    my @st = map { (history($t, $_ % 2 ? '?days=3' : '?limit=2'))[0] } 1 .. 6;
    is("@st", '503 503 503 503 503 503',
       "node $node{$t}: list and days pages all 503, no hang");
}

# every worker of both nodes answers again, not only the first to reconnect
$r->start;
for my $t ($ta, $tb) {
    ok(Hotline::Redis->wait_store_up($t), "node $node{$t}: store up again");
    diag("every worker of node $node{$t} up "
         . ($r->recovery_ms($t) // '?') . ' ms after redis-server was started');
    for my $pid ($t->worker_pids) {
        is_deeply(full_list($t, $pid), $la,
                  "node $node{$t}, worker $pid: the saved calls are listed");
    }
}

# a call ended after the outage comes first on both nodes
my $c6 = eval { $ta->customer('After') };
ok($c6, 'a customer joins after the outage') or diag($@);
$c6->send_json({ type => 'cancel' }) if $c6;
ok($c6 && $c6->wait_for('ended', 5), 'call 6: cancelled on A');
for my $t ($ta, $tb) {
    my $l;
    ok(poll_until(5, sub { $l = full_list($t); $l && @$l == @$la + 1 }),
       "node $node{$t}: 6 calls");
    is($l && $l->[0]{call_id}, $c6 && $c6->{call_id},
       "node $node{$t}: the new call first");
    is_deeply([ @{ $l || [] }[1 .. $#$la + 1] ], $la,
              "node $node{$t}: then the older ones");
}

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
