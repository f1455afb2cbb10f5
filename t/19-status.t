#!/usr/bin/perl
# /health (JSON) and /metrics (Prometheus text) follow connections, queue,
# calls, relayed messages, errors and close codes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);

my $t = Hotline::Test->new->start;

my $r = $t->http_get('/health');
is($r->{status}, 200, '/health 200');
like($r->{headers}{'content-type'}[0] // '', qr{^application/json}, 'JSON content type');
my $h = $t->health;
is($h->{status}, 'ok', 'status ok');
is($h->{store}{backend}, $t->store, 'store backend: ' . $t->store);
is($h->{store}{status}, 'ok', 'store ok');
cmp_ok($h->{store}{size} // 0, '>=', 16 * 1024 * 1024 * 0.9, 'store size ~ zone size');
cmp_ok($h->{store}{used} // -1, '>', 0, 'store used > 0');
cmp_ok($h->{store}{used} // 0, '<', $h->{store}{size} // 0, 'used < size');
# (a worker is listed once it has initialized, which may come after start)
my $pids = sub { join ' ', sort { $a <=> $b }
                           map { $_->{pid} } @{ $h->{store}{workers} } };
ok(poll_until(5, sub { $h = $t->health; $pids->() eq join ' ', $t->worker_pids }),
   'store.workers: one entry per worker') or diag(json_encode($h));
ok(!(grep { $_->{status} ne 'up' || $_->{failures} || $_->{retry_in} }
     @{ $h->{store}{workers} }), '... each up, no failures, no retry')
    or diag(json_encode($h->{store}{workers}));
is_deeply($h->{connections}, { customer => 0, agent => 0 }, 'no connections');
is_deeply($h->{calls}, { waiting => 0, active => 0 }, 'no calls');
is_deeply($h->{agents}, { online => 0, busy => 0, away => 0, wrapup => 0,
                         available => 0 }, 'no agents');

my $m = $t->metrics;
like($m->{__content_type}, qr{^text/plain}, 'metrics content type text/plain');
like($m->{__content_type}, qr{version=0\.0\.4}, 'metrics exposition 0.0.4');
for my $k ('hotline_connections{role="customer"}', 'hotline_connections{role="agent"}',
           'hotline_queue_length', 'hotline_calls{state="waiting"}',
           'hotline_calls{state="active"}', 'hotline_agents{state="online"}',
           'hotline_agents{state="busy"}', 'hotline_messages_relayed_total',
           'hotline_store_up') {
    ok(exists $m->{$k}, "metric $k present");
}
is($m->{hotline_store_up}, 1, 'store up');
is($m->{'hotline_store_workers{state="up"}'}, 2, 'both workers up');
is($m->{'hotline_store_workers{state="down"}'}, 0, 'none down');

# the build: the module's release and the nginx it runs in
{
    my ($version) = Hotline::Test::read_file(
        "$Hotline::Test::ROOT/src/ngx_http_hotline_version.h")
        =~ /NGX_HTTP_HOTLINE_VERSION\s+"([^"]+)"/;
    # nginx/1.22.1, or OpenResty's openresty/1.31.1.1 (nginx 1.31.1)
    my ($nginx) = Hotline::Test::run_capture($Hotline::Test::NGINX, '-v')
                  =~ m{version: \S+?/(\d+\.\d+\.\d+)};
    is($m->{"hotline_build_info{version=\"$version\",nginx=\"$nginx\"}"}, 1,
       "hotline_build_info{version=\"$version\",nginx=\"$nginx\"} 1");
    like($m->{__raw}, qr/^# TYPE hotline_build_info gauge$/m,
         'hotline_build_info is a gauge');
}

# Prometheus' own linter accepts the exposition
{
    my $file = $t->prefix . '/metrics.txt';
    Hotline::Test::write_file($file, $m->{__raw});
    my $out = Hotline::Test::run_capture('sh', '-c',
                                         "promtool check metrics < '$file'");
    is($?, 0, 'promtool check metrics: no problems') or diag($out);
}
for my $name (qw(hotline_connections hotline_queue_length hotline_calls
                 hotline_agents hotline_store_up hotline_store_workers)) {
    like($m->{__raw}, qr/^# TYPE $name gauge$/m, "$name is a gauge");
}
for my $name (qw(hotline_calls_ended_total hotline_messages_relayed_total
                 hotline_errors_total hotline_ws_closed_total)) {
    like($m->{__raw}, qr/^# TYPE $name counter$/m, "$name is a counter");
}

# wait until health and metrics show the expected numbers
sub state_is {
    my ($want, $name) = @_;
    my ($hh, $mm);
    my $ok = poll_until(5, sub {
        $hh = $t->health;
        $mm = $t->metrics;
        $hh->{connections}{customer} == $want->{cc}
            && $hh->{connections}{agent} == $want->{ac}
            && $hh->{calls}{waiting} == $want->{w}
            && $hh->{calls}{active} == $want->{act}
            && $hh->{agents}{online} == $want->{on}
            && $hh->{agents}{busy} == $want->{busy}
            && $mm->{'hotline_connections{role="customer"}'} == $want->{cc}
            && $mm->{'hotline_connections{role="agent"}'} == $want->{ac}
            && $mm->{hotline_queue_length} == $want->{w}
            && $mm->{'hotline_calls{state="waiting"}'} == $want->{w}
            && $mm->{'hotline_calls{state="active"}'} == $want->{act}
            && $mm->{'hotline_agents{state="online"}'} == $want->{on}
            && $mm->{'hotline_agents{state="busy"}'} == $want->{busy};
    });
    ok($ok, $name) or diag(json_encode($hh) . "\n" . $mm->{__raw});
}

my $c1 = $t->customer('S1');
my $c2 = $t->customer('S2');
state_is({ cc => 2, ac => 0, w => 2, act => 0, on => 0, busy => 0 },
         'two waiting customers');
my $a = $t->agent(sub => 'stat-agent');
state_is({ cc => 2, ac => 1, w => 2, act => 0, on => 1, busy => 0 },
         'an agent online');
my $idle = $t->ws_connect('/ws/customer');    # connected, not joined
state_is({ cc => 3, ac => 1, w => 2, act => 0, on => 1, busy => 0 },
         'a connected customer that did not join counts as a connection only');
$idle->close_ws(1000);
state_is({ cc => 2, ac => 1, w => 2, act => 0, on => 1, busy => 0 },
         'closed connection no longer counted');

my $before = $t->metrics;
my ($c, $a2) = $t->call(customer => $c1, agent => $a);
state_is({ cc => 2, ac => 1, w => 1, act => 1, on => 1, busy => 1 },
         'one active call, one waiting');

for my $i (1 .. 5) {
    $c->send_json({ type => 'chat', text => "hi $i" });
    $a->wait_for('chat', 5);
}
$c->send_json('not json');
$c->wait_for('error', 5);
$c->send_json({ type => 'nope' });
$c->wait_for('error', 5);
$c->send_json({ type => 'nope' });
$c->wait_for('error', 5);
my $after;
poll_until(5, sub {
    $after = $t->metrics;
    ($after->{hotline_messages_relayed_total} // 0)
        - ($before->{hotline_messages_relayed_total} // 0) >= 5;
});
is(($after->{hotline_messages_relayed_total} // 0)
   - ($before->{hotline_messages_relayed_total} // 0), 5,
   'messages relayed counted (5 chats)');
is(($after->{'hotline_errors_total{code="bad_json"}'} // 0)
   - ($before->{'hotline_errors_total{code="bad_json"}'} // 0), 1,
   'errors_total{code="bad_json"} +1');
is(($after->{'hotline_errors_total{code="bad_type"}'} // 0)
   - ($before->{'hotline_errors_total{code="bad_type"}'} // 0), 2,
   'errors_total{code="bad_type"} +2');

$a->send_json({ type => 'hangup' });
$c->wait_for('ended', 5);
$c->expect_close(5);
state_is({ cc => 1, ac => 1, w => 1, act => 0, on => 1, busy => 0 },
         'after hangup: call gone, agent free');
$c2->send_json({ type => 'cancel' });
$c2->expect_close(5);
state_is({ cc => 0, ac => 1, w => 0, act => 0, on => 1, busy => 0 },
         'after cancel: queue empty');

my $end;
poll_until(5, sub {
    $end = $t->metrics;
    ($end->{'hotline_calls_ended_total{reason="cancelled"}'} // 0) >= 1;
});
is($end->{'hotline_calls_ended_total{reason="hangup"}'}, 1, 'ended hangup 1');
is($end->{'hotline_calls_ended_total{reason="cancelled"}'}, 1, 'ended cancelled 1');
cmp_ok($end->{'hotline_ws_closed_total{code="1000"}'} // 0, '>=', 3,
       'ws closed 1000 counted (hangup, cancel, client close)');

# a protocol violation is counted by its close code
my $bad = $t->ws_connect('/ws/customer');
$bad->send_raw(Hotline::Test::raw_frame(opcode => 2, payload => 'b'));
is($bad->expect_close(5), 1003, 'binary closed 1003');
ok(poll_until(5, sub {
    ($t->metrics->{'hotline_ws_closed_total{code="1003"}'} // 0) == 1 }),
   'ws_closed_total{code="1003"} 1');

$a->close_ws(1000);
ok(poll_until(5, sub {
    my $x = $t->health;
    $x->{connections}{agent} == 0 && $x->{connections}{customer} == 0
        && $x->{calls}{waiting} == 0 && $x->{calls}{active} == 0 }),
   'no connections and no calls left');

# only GET and HEAD: 405 says so (Allow) with a JSON body
for my $path ('/health', '/metrics') {
    my $r = $t->http_post($path, '{}');
    is($r->{status}, 405, "POST $path: 405");
    is(($r->{headers}{allow} // [])->[0], 'GET, HEAD', '... with Allow');
    like($r->{body} // '', qr/"error":"method_not_allowed"/,
         '... and a JSON error');
}

$t->stop;

# without hotline_zone a 16m zone is created
{
    (my $conf = $Hotline::Test::DEFAULT_CONF) =~ s/^\s*hotline_zone .*\n//m or die;
    my $d = Hotline::Test->new(conf => $conf)->start;
    my $dh = $d->health;
    cmp_ok($dh->{store}{size}, '>=', 15 * 1024 * 1024, 'default zone of 16m');
    cmp_ok($dh->{store}{size}, '<=', 16 * 1024 * 1024, '... not more');
    $d->stop;
}
done_testing;
