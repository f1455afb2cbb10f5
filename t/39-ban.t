#!/usr/bin/perl
# Ban (remove) a participant (docs/protocol.md, hotline_ban_time): an agent's
# `ban` ends a waiting call or its own active call at once: the customer
# gets `ended` reason banned and close 4005, its resume token dies, and its
# address ($remote_addr, after the realip module) may not join again for
# hotline_ban_time (default 1h; `off`: no address ban).  Errors not_found,
# bad_field, taken, not_allowed.  History (outcome banned, by agent, agent =
# the banning agent, the banned filter and day count) and metrics.  Every
# scenario's customers come "from" addresses of their own (X-Forwarded-For
# through set_real_ip_from 127.0.0.1), so one scenario's bans do not block
# the next; the ban of 127.0.0.1 itself comes last.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_encode poll_until);

my $REALIP = 'set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;';
my $HISTORY = 'location = /history { hotline_history; }';

# reuseport: each worker has its own listening socket, so connections reach
# both workers and a ban can be made across workers (agent on one, customer
# on the other)
my $t = Hotline::Test->new(http => $REALIP, server => $HISTORY,
                           listen => 'reuseport')->start;
note('store: ' . $t->store);
my $before = $t->metrics;

my (%banner, @banned_ids);    # call_id => the agent that banned it
my $refused = 0;              # joins (and a resume) refused: `banned`

# headers for a connection "from" $ip (undef: from 127.0.0.1 itself)
sub from { defined $_[0] ? (headers => [ 'X-Forwarded-For' => $_[0] ]) : () }

# a customer that joined from $ip
sub cust {
    my ($tt, $name, $ip) = @_;
    return $tt->customer($name, from($ip));
}

# a customer from $ip served by a worker other than (or, $same: the same
# as) the one serving $agent
sub cust_on {
    my ($tt, $name, $ip, $agent, $same) = @_;
    my $apid = $tt->conn_pid($agent);
    for (1 .. 60) {
        my $ws = $tt->ws_connect('/ws/customer', from($ip));
        my $p = $tt->conn_pid($ws);
        if ($apid && $p && (($p == $apid) == !!$same)) {
            note("$name served by worker $p, $agent->{sub} by $apid");
            $ws->send_json({ type => 'join', name => $name });
            $ws->{welcome} = $ws->wait_for('welcome', 5)
                or BAIL_OUT("customer $name: no welcome");
            $ws->{position} = $ws->wait_for('position', 5);
            $ws->{call_id} = $ws->{welcome}{call_id};
            $ws->{token}   = $ws->{welcome}{resume};
            $ws->{name}    = $name;
            return $ws;
        }
        $ws->drop;
    }
    BAIL_OUT("no connection for $name on the wanted worker");
}

# the answer (ack or error) carrying $id, taken out of the inbox
sub reply {
    my ($ws, $id, $timeout) = @_;
    my $r;
    $ws->pump_until($timeout // 5, sub {
        my $q = $ws->{inbox};
        for my $i (0 .. $#$q) {
            next unless ($q->[$i]{type} eq 'ack' || $q->[$i]{type} eq 'error')
                        && ($q->[$i]{id} // '') eq $id;
            $r = splice @$q, $i, 1;
            return 1;
        }
        0;
    });
    return $r;
}

sub error_is {
    my ($ws, $code, $id, $name) = @_;
    my $r = reply($ws, $id);
    ok($r && $r->{type} eq 'error' && $r->{code} eq $code,
       "$name: error $code (id echoed)")
        or diag('got: ' . json_encode($r));
    return $r;
}

# $agent bans $c's call; the ack carries the id
sub ban_ok {
    my ($tt, $agent, $c, $id, $name) = @_;
    $agent->send_json({ type => 'ban', call_id => $c->{call_id}, id => $id });
    my $r = reply($agent, $id);
    my $ok = ok($r && $r->{type} eq 'ack', "$name: ban acked with its id")
        or diag('got: ' . json_encode($r));
    if ($tt == $t) {
        $banner{ $c->{call_id} } = $agent->{sub};
        push @banned_ids, $c->{call_id};
    }
    return $ok;
}

sub ended_banned {
    my ($ws, $call_id, $name) = @_;
    my $e = $ws->wait_for('ended', 5);
    ok($e, "$name: ended") or return diag(json_encode($ws->{inbox}));
    is($e->{reason}, 'banned', "$name: reason banned");
    is($e->{call_id}, $call_id, "$name: ended carries the call id");
    like($e->{duration} // '', qr/^\d+$/, "$name: duration is an integer");
    like($e->{seq} // '', qr/^\d+$/, "$name: ended carries seq");
    return $e;
}

# the banned customer: `ended` first, then close 4005 "banned"
sub closed_banned {
    my ($ws, $name) = @_;
    is($ws->expect_close(5), 4005, "$name: closed with 4005");
    is($ws->{close_reason}, 'banned', "$name: close reason text banned");
    my ($ended, $close);
    my @f = @{ $ws->{frames} };
    for my $i (0 .. $#f) {
        $ended //= $i if $f[$i][0] == 1 && $f[$i][1] =~ /"type":"ended"/;
        $close //= $i if $f[$i][0] == 8;
    }
    ok(defined $ended && defined $close && $ended < $close,
       "$name: ended comes before the close frame");
    ok($ws->pump_until(3, sub { $ws->{eof} }), "$name: TCP connection closed");
}

# a join from $ip is refused: error banned with the id, close 4005
sub join_refused {
    my ($tt, $ip, $id, $name) = @_;
    my $x = $tt->ws_connect('/ws/customer', from($ip));
    $x->send_json({ type => 'join', name => 'Again', id => $id });
    my $e = $x->wait_for('error', 5);
    ok($e && $e->{code} eq 'banned', "$name: join refused with banned")
        or diag('got: ' . json_encode($x->{inbox}));
    is($e && $e->{id}, $id, "$name: the join's id is echoed");
    is($x->expect_close(5), 4005, "$name: closed with 4005");
    ok(!(grep { $_->{type} eq 'welcome' } @{ $x->{inbox} }),
       "$name: no welcome");
    $refused++ if $tt == $t;
}

# a join from $ip is welcome; the call is cancelled again
sub join_works {
    my ($tt, $ip, $name) = @_;
    my $x = $tt->ws_connect('/ws/customer', from($ip));
    $x->send_json({ type => 'join', name => 'Fine', id => 'ok' });
    my $w = $x->wait_for('welcome', 5);
    ok($w && $w->{call_id}, "$name: join welcome")
        or diag('got: ' . json_encode($x->{inbox}));
    ok(!$x->is_closed, "$name: stays connected");
    $x->send_json({ type => 'cancel' });
    $x->wait_for('ended', 5);
    return $w;
}

sub queue_ids {
    my ($q) = @_;
    return join ' ', map { $_->{call_id} } @{ $q->{calls} || [] };
}

# -------------------------- a ban lasts hotline_ban_time (started first:
# the wait for its end overlaps the other scenarios)
my $t3 = Hotline::Test->new(http => "$REALIP hotline_ban_time 2s;",
                            workers => 1)->start;
my $t3_at;
{
    my $ag = $t3->agent(sub => 'erin');
    my $c = cust($t3, 'Brief', '192.0.2.50');
    $t3_at = time;
    ban_ok($t3, $ag, $c, 'short-1', 'ban_time 2s');
    closed_banned($c, 'ban_time 2s: customer');
    join_refused($t3, '192.0.2.50', 'js', 'ban_time 2s: at once');
}

# -------------------------------------------- 1. ban of a waiting customer
my $alice = $t->agent(sub => 'alice');
my $bob   = $t->agent(sub => 'bob');
my $w1 = cust_on($t, 'Wanda', '192.0.2.11', $alice, 0);
my $w2 = cust($t, 'Walt', '192.0.2.12');
is($w2->{position}{position}, 2, 'waiting: Walt at position 2 behind Wanda');
ok($bob->wait_for('queue', 5, sub {
       queue_ids($_[0]) eq "$w1->{call_id} $w2->{call_id}" }),
   'waiting: bob sees both calls');

ban_ok($t, $alice, $w1, 'ban-1', 'waiting');
ended_banned($w1, $w1->{call_id}, 'waiting customer');
closed_banned($w1, 'waiting customer');
ok($bob->wait_for('queue', 5, sub { queue_ids($_[0]) eq $w2->{call_id} }),
   'waiting: the other agent sees the queue without the banned call')
    or diag(json_encode($bob->{inbox}));
ok($w2->wait_for('position', 5, sub { $_[0]{position} == 1 }),
   'waiting: the customer behind moves up to position 1')
    or diag(json_encode($w2->{inbox}));
ok(!$alice->is_closed && !$bob->is_closed, 'waiting: agents stay connected');

# -------------------------------------------- 3. the resume token is dead
# (from the banned address the ban answers first: no resume from there)
for my $case ([ 'another address', '192.0.2.13', 'expired', 4004 ],
              [ 'the banned address', '192.0.2.11', 'banned', 4005 ]) {
    my ($where, $ip, $code, $close) = @$case;
    my $x = $t->ws_connect('/ws/customer', from($ip));
    $x->send_json({ type => 'resume', token => $w1->{token}, last_seq => 0,
                    id => 'res' });
    my $e = $x->wait_for('error', 5);
    is($e && $e->{code}, $code,
       "resume with the banned customer's token from $where: $code")
        or diag(json_encode($x->{inbox}));
    is($x->expect_close(5), $close, "... from $where: closed with $close");
    ok(!(grep { $_->{type} eq 'welcome' } @{ $x->{inbox} }),
       "... from $where: no welcome");
    $refused++ if $code eq 'banned';
}

# -------------------------------------------- 2. ban in the agent's own call
my $ab = cust_on($t, 'Abel', '192.0.2.21', $alice, 0);
$t->call(customer => $ab, agent => $alice);
ban_ok($t, $alice, $ab, 'ban-2', 'in a call');
ended_banned($ab, $ab->{call_id}, 'customer in a call');
closed_banned($ab, 'customer in a call');
ended_banned($alice, $ab->{call_id}, 'agent of the call');
ok(!$alice->is_closed, 'in a call: the agent stays connected');
ok(!$alice->pump_until(0.2, sub { $alice->is_closed }),
   'in a call: and is not closed a moment later');
# idle again: the next call (Walt, waiting) can be accepted
$alice->send_json({ type => 'accept', id => 'next' });
my $r = reply($alice, 'next');
ok($r && $r->{type} eq 'ack', 'after the ban the agent accepts the next call')
    or diag(json_encode($r));
my $acc = $alice->wait_for('accepted', 5);
is($acc && $acc->{call_id}, $w2->{call_id}, '... it is the waiting call');
ok($w2->wait_for('accepted', 5), '... and its customer is told');
$w2->send_json({ type => 'chat', text => 'hi after a ban', id => 'c1' });
my $m = $alice->wait_for('chat', 5);
is($m && $m->{text}, 'hi after a ban', '... and the new call relays');
$alice->send_json({ type => 'hangup' });
ok($w2->wait_for('ended', 5), 'the new call ends normally');
$alice->wait_for('ended', 5);

# -------------------------------------------- 6. errors
$alice->send_json({ type => 'ban', call_id => '0' x 32, id => 'e1' });
error_is($alice, 'not_found', 'e1', 'ban of an unknown call');
for my $case ([ 'e2', undef, 'without call_id' ],
              [ 'e3', 'xyz', 'with call_id "xyz"' ],
              [ 'e4', 'AB' x 16, 'with an upper-case call_id' ],
              [ 'e5', 'a' x 31, 'with a 31-digit call_id' ],
              [ 'e6', 12345, 'with a numeric call_id' ]) {
    my ($id, $cid, $what) = @$case;
    my %msg = (type => 'ban', id => $id);
    $msg{call_id} = $cid if defined $cid;
    $alice->send_json(\%msg);
    my $e = error_is($alice, 'bad_field', $id, "ban $what");
    is($e && $e->{field}, 'call_id', "ban $what: field call_id");
}
# a call in progress with another agent
my $carol = $t->agent(sub => 'carol');
my ($tc, $ta) = $t->call(customer => cust($t, 'Tess', '192.0.2.31'),
                         agent => $carol);
$alice->send_json({ type => 'ban', call_id => $tc->{call_id}, id => 'e7' });
error_is($alice, 'taken', 'e7', "ban of another agent's call");
ok(!$tc->is_closed && !$carol->is_closed,
   "another agent's call: both parties still connected");
$tc->send_json({ type => 'chat', text => 'still on?', id => 'k1' });
$m = $carol->wait_for('chat', 5);
is($m && $m->{text}, 'still on?', "another agent's call: customer -> agent");
$carol->send_json({ type => 'chat', text => 'yes', id => 'k2' });
$m = $tc->wait_for('chat', 5);
is($m && $m->{text}, 'yes', "another agent's call: agent -> customer");
ok(!$tc->wait_for('ended', 0.2) && !$carol->wait_for('ended', 0.1),
   "another agent's call: nobody got ended");
# a customer may not ban
$tc->send_json({ type => 'ban', call_id => $tc->{call_id}, id => 'e8' });
error_is($tc, 'not_allowed', 'e8', 'a customer sends ban');
ok(!$tc->is_closed, 'a customer sends ban: not closed');
$carol->send_json({ type => 'hangup' });
ok($tc->wait_for('ended', 5, sub { $_[0]{reason} eq 'hangup' }),
   "the other agent's call ends normally");
$carol->wait_for('ended', 5);
# calls that already ended
$alice->send_json({ type => 'ban', call_id => $w1->{call_id}, id => 'e9' });
error_is($alice, 'not_found', 'e9', 'ban of an already banned waiting call');
$alice->send_json({ type => 'ban', call_id => $ab->{call_id}, id => 'e10' });
error_is($alice, 'not_found', 'e10', 'ban of an already banned call');
$alice->send_json({ type => 'ban', call_id => $tc->{call_id}, id => 'e11' });
error_is($alice, 'not_found', 'e11', 'ban of a call that was hung up');
my $cx = cust($t, 'Cid', '192.0.2.32');
$cx->send_json({ type => 'cancel' });
ok($cx->wait_for('ended', 5), 'a waiting call is cancelled');
$alice->send_json({ type => 'ban', call_id => $cx->{call_id}, id => 'e12' });
error_is($alice, 'not_found', 'e12', 'ban of a cancelled call');
ok(!$alice->is_closed, 'ban errors do not disconnect the agent');

# -------------------------------------------- 4. address ban
my $p7 = cust_on($t, 'Pia', '192.0.2.7', $bob, 1);
ban_ok($t, $bob, $p7, 'ban-3', 'from 192.0.2.7');
ended_banned($p7, $p7->{call_id}, 'customer from 192.0.2.7');
closed_banned($p7, 'customer from 192.0.2.7');
join_works($t, '192.0.2.8', 'join from 192.0.2.8 after 192.0.2.7 was banned');
join_refused($t, '192.0.2.7', 'j7', 'join from 192.0.2.7');
join_refused($t, '192.0.2.11', 'j11',
             'join from 192.0.2.11 (banned while waiting)');
join_refused($t, '192.0.2.21', 'j21',
             'join from 192.0.2.21 (banned in a call)');
join_works($t, '192.0.2.12', 'join from 192.0.2.12 (the customer behind)');
# the server's own view of the address: 127.0.0.1 without X-Forwarded-For
my $lo = cust($t, 'Lou', undef);
ban_ok($t, $bob, $lo, 'ban-4', 'from 127.0.0.1');
ended_banned($lo, $lo->{call_id}, 'customer from 127.0.0.1');
closed_banned($lo, 'customer from 127.0.0.1');
join_refused($t, undef, 'jlo', 'join from 127.0.0.1');
join_works($t, '192.0.2.9',
           'join through 127.0.0.1 as 192.0.2.9 (the address after realip)');
ok(!$alice->is_closed && !$bob->is_closed,
   'agents connecting from a banned address are not affected');
$bob->send_json({ type => 'accept', call_id => '0' x 32, id => 'alive' });
error_is($bob, 'not_found', 'alive', 'the banning agent still talks');

# -------------------------------------------- 7. history and metrics
my $bans = @banned_ids;    # 4: Wanda, Abel, Pia, Lou
my $h;
ok(poll_until(5, sub {
       my $res = $t->http_get('/history?outcome=banned');
       $h = $res->{status} == 200 ? $res->{json} : undef;
       $h && @{ $h->{calls} || [] } >= $bans;
   }), "/history?outcome=banned lists $bans calls")
    or diag(json_encode($h));
is_deeply([ sort map { $_->{call_id} } @{ $h->{calls} || [] } ],
          [ sort @banned_ids ],
          '?outcome=banned lists exactly the banned calls');
for my $c (@{ $h->{calls} || [] }) {
    my $who = $banner{ $c->{call_id} } // '?';
    is($c->{outcome}, 'banned', "history $c->{customer}: outcome banned");
    is($c->{by}, 'agent', "history $c->{customer}: by agent");
    is($c->{agent}, $who, "history $c->{customer}: agent $who (who banned)");
}
my $res = $t->http_get('/history');
my %all = map { $_->{call_id} => $_ } @{ ($res->{json} || {})->{calls} || [] };
is($all{ $ab->{call_id} }{outcome}, 'banned',
   'full history: the call banned in progress is there, outcome banned');
ok(defined $all{ $ab->{call_id} }{accepted},
   '... it had been accepted');
ok(!defined $all{ $w1->{call_id} }{accepted},
   'full history: the call banned while waiting was never accepted');
is($all{ $tc->{call_id} }{outcome}, 'hangup',
   "full history: the other agent's call kept its own outcome");
$res = $t->http_get('/history?days=1');
my $day = ($res->{json} && $res->{json}{days} || [])->[0];
is($day && $day->{banned}, $bans, "?days=1: banned $bans");

my $after;
my $d = sub {
    my ($k) = @_;
    ($after->{$k} // 0) - ($before->{$k} // 0);
};
ok(poll_until(5, sub {
       $after = $t->metrics;
       $d->('hotline_ws_closed_total{code="4005"}') >= $bans + $refused }),
   'metrics caught up');
is($d->('hotline_calls_ended_total{reason="banned"}'), $bans,
   "calls_ended_total{reason=\"banned\"} +$bans");
is($d->('hotline_ws_closed_total{code="4005"}'), $bans + $refused,
   'ws_closed_total{code="4005"} +' . ($bans + $refused)
   . " ($bans bans, $refused refused joins)");
is($d->('hotline_errors_total{code="banned"}'), $refused,
   "errors_total{code=\"banned\"} +$refused (refused joins)");

# ------------------------------- Redis: a ban holds across nodes
# (a second node on the same redis-server and key prefix as $t)
if ($t->store eq 'redis') {
    my ($dir) = $t->{template} =~ /^\s*(hotline_redis [^\n]*;)/m;
    ok($dir, 'the hotline_redis directive of node A is found')
        or BAIL_OUT('no hotline_redis line in the harness config');
    my $tb = Hotline::Test->new(http => "$dir $REALIP", workers => 1)->start;
    my $xw = cust($tb, 'Xena', '192.0.2.60');
    ok($bob->wait_for('queue', 5, sub {
           grep { $_->{call_id} eq $xw->{call_id} } @{ $_[0]{calls} } }),
       'node B: its waiting customer is in the queue seen on node A');
    ban_ok($t, $bob, $xw, 'x-1', 'node A bans a waiting customer of node B');
    ended_banned($xw, $xw->{call_id}, 'node B waiting customer');
    closed_banned($xw, 'node B waiting customer');
    my $yc = cust($tb, 'Yann', '192.0.2.61');
    $t->call(customer => $yc, agent => $alice);
    ban_ok($t, $alice, $yc, 'x-2', 'node A bans its call with node B');
    ended_banned($yc, $yc->{call_id}, 'node B customer in a call');
    closed_banned($yc, 'node B customer in a call');
    ended_banned($alice, $yc->{call_id}, 'node A agent of the call');
    join_refused($t, '192.0.2.60', 'xa60', 'node A: join from 192.0.2.60');
    join_refused($tb, '192.0.2.60', 'xb60', 'node B: join from 192.0.2.60');
    join_refused($tb, '192.0.2.61', 'xb61', 'node B: join from 192.0.2.61');
    join_works($tb, '192.0.2.62', 'node B: join from 192.0.2.62');
    $tb->stop;
}
$t->stop;

# -------------------------------------------- 5. hotline_ban_time off
{
    my $t2 = Hotline::Test->new(http => 'hotline_ban_time off;')->start;
    my $m0 = $t2->metrics;
    my $ag = $t2->agent(sub => 'dave');
    my $c = cust($t2, 'Olga', undef);
    ban_ok($t2, $ag, $c, 'off-1', 'ban_time off');
    ended_banned($c, $c->{call_id}, 'ban_time off: customer');
    closed_banned($c, 'ban_time off: customer');
    join_works($t2, undef, 'ban_time off: the same address joins again');
    my $x = $t2->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $c->{token}, id => 'r' });
    my $e = $x->wait_for('error', 5);
    is($e && $e->{code}, 'expired', 'ban_time off: the resume token is dead');
    is($x->expect_close(5), 4004, 'ban_time off: ... closed with 4004');
    my $m1 = $t2->metrics;
    is(($m1->{'hotline_errors_total{code="banned"}'} // 0)
       - ($m0->{'hotline_errors_total{code="banned"}'} // 0), 0,
       'ban_time off: no join refused');
    $t2->stop;
}

# -------------------------------------------- the 2s ban has ended
{
    my $welcome_at;
    ok(poll_until(10, sub {
           my $x = $t3->ws_connect('/ws/customer', from('192.0.2.50'));
           $x->send_json({ type => 'join', name => 'Later' });
           my $w = $x->wait_for('welcome', 3);
           $x->pump_until(3, sub { $x->{closed} }) unless $w;
           $welcome_at = time if $w;
           $x->drop;
           $w;
       }, 0.3), 'ban_time 2s: the address may join again later');
    cmp_ok(($welcome_at // $t3_at) - $t3_at, '>=', 0.9,
           'ban_time 2s: ... not before the ban time has (nearly) passed');
    $t3->stop;
}

# -------------------------------------------- 8. configuration
{
    my $tc = Hotline::Test->new;
    my $base = $Hotline::Test::DEFAULT_CONF;
    my $with = sub {
        my ($http, $server) = @_;
        (my $c = $base) =~ s/%%HTTP%%/$http/;
        $c =~ s/%%SERVER%%/$server/ if defined $server;
        return $c;
    };
    for my $v ('off', '1s', '10m', '1h', '365d') {
        my ($ok, $out) = $tc->nginx_t($with->("hotline_ban_time $v;"));
        ok($ok, "nginx -t passes: hotline_ban_time $v") or diag($out);
    }
    for my $v ('abc', '-1s', '0s', '366d', '10 20') {
        my ($ok, $out) = $tc->nginx_t($with->("hotline_ban_time $v;"));
        ok(!$ok, "nginx -t fails: hotline_ban_time $v") or diag($out);
        like($out, qr/"hotline_ban_time"|"\Q$v\E"/,
             "hotline_ban_time $v: the message says why") unless $ok;
    }
    my ($ok, $out) = $tc->nginx_t($with->('', 'hotline_ban_time 1h;'));
    ok(!$ok, 'nginx -t fails: hotline_ban_time in a server block (http only)')
        or diag($out);
}

done_testing;
