#!/usr/bin/perl
# Security state outlives the zone: a logged-out token, a lockout and an
# address ban still hold after nginx is stopped and started again, and
# after a reload that changes the size of hotline_zone (a new, empty
# zone).  On the embedded store they come back from the state journal
# (hotline_state_file), which a clean start rewrites with the live
# records only; on the Redis store (HOTLINE_STORE=redis) they live in
# Redis.  A token issued after the restart, and logged out after it, is
# refused after the resize too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(otp_request otp_code otp_verify login logout api_get);

my ($t, $tg) = HotlineAuth->nginx(
    http => "set_real_ip_from 127.0.0.1;\n"
          . "real_ip_header X-Forwarded-For;\n"
          . "hotline_otp_ip_rate 600r/m burst=100;\n");
my $shm = $t->store eq 'shm';
note('store: ' . $t->store);
my $journal = $t->prefix . '/logs/hotline_state.journal';

# --- the state: a revoked token, a locked agent, a banned address ---------

my $r = login($t, $tg, 'alice', '4242');
is($r->{status}, 200, 'alice logs in');
my $old = $r->{json}{token};
is(logout($t, headers => [[Authorization => "Bearer $old"]])->{status}, 200,
   'and out');

$r = login($t, $tg, 'alice', '4242');
my $live = $r->{json}{token};
ok($live, 'alice logs in again');

for my $i (1 .. 5) {
    otp_verify($t, 'bob', sprintf('%06d', $i));
}
is(otp_verify($t, 'bob', '000009')->{status}, 429, 'bob is locked');

my $c = $t->customer('Banned', headers => ['X-Forwarded-For' => '10.59.0.1']);
my $a = $t->agent(sub => 'alice');
$a->send_json({ type => 'ban', call_id => $c->{call_id}, id => 'b1' });
ok($a->wait_for('ack', 5, sub { $_[0]{id} eq 'b1' }), 'the call is banned');
is($c->expect_close(5), 4005, 'the customer is closed with 4005');
$a->close_ws;

if ($shm) {
    my @lines;
    poll_until(5, sub {
        @lines = split /\n/, Hotline::Test::read_file($journal);
        grep { /^\d+ ban%3A10\.59\.0\.1 1$/ } @lines;
    });
    ok((grep { /^\d+ revoked%3A[0-9a-f]{32} 1$/ } @lines),
       'the journal has the revocation');
    ok((grep { /^\d+ lock%3Abob 1$/ } @lines), 'the lockout');
    ok((grep { /^\d+ ban%3A10\.59\.0\.1 1$/ } @lines), 'and the ban');
    ok(!(grep { /otp|fail/ } @lines), 'and nothing else');
}

sub state_holds {
    my ($when) = @_;

    my $r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $old"]]);
    is($r->{status}, 401, "$when: the logged-out token opens no location");
    my $hs = $t->handshake_raw(path => '/ws/agent',
                               headers => [Authorization => "Bearer $old"]);
    is($hs->{status}, 401, "$when: nor the agent WebSocket");
    close $hs->{sock};

    $r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $live"]]);
    is($r->{status}, 200, "$when: the other token still works");

    $r = otp_verify($t, 'bob', '000010');
    is($r->{status}, 429, "$when: bob is still locked");
    my $ra = $r->{headers}{'retry-after'}[0] // 0;
    ok($ra > 0 && $ra <= 900, "$when: with the time left ($ra s)");

    my $ws = $t->ws_connect('/ws/customer',
                            headers => ['X-Forwarded-For' => '10.59.0.1']);
    $ws->send_json({ type => 'join', name => 'Again' });
    my $e = $ws->wait_for('error', 5);
    is($e && $e->{code}, 'banned', "$when: the banned address may not join");
    $ws->drop;

    $ws = $t->customer('Other', headers => ['X-Forwarded-For' => '10.59.0.2']);
    ok($ws->{welcome}, "$when: another address may");
    $ws->drop;
}

state_holds('before');

# a record that has expired is dropped when a clean start rewrites the
# journal
if ($shm) {
    open my $fh, '>>', $journal or die "$journal: $!";
    printf $fh "%d revoked%%3Agone 1\n", (time() - 10) * 1000;
    close $fh;
}

# --- restart ----------------------------------------------------------------

$t->stop;
$t->start;

state_holds('after a restart');

if ($shm) {
    my $text = Hotline::Test::read_file($journal);
    unlike($text, qr/revoked%3Agone/, 'the restart dropped an expired record');
    my @lines = split /\n/, $text;
    is(scalar @lines, 3, 'and kept the three live ones');
    like($t->error_log, qr/3 durable records from the state journal/,
         'the new zone got them');
}

# a revocation after the restart, for the resize
$r = login($t, $tg, 'alice', '4242');
my $third = $r->{json}{token};
is(logout($t, headers => [[Authorization => "Bearer $third"]])->{status},
   200, 'a token issued and revoked after the restart');

# --- a reload to a zone of another size (a new zone) ---------------------

(my $bigger = $t->{template}) =~ s/hotline_zone 16m;/hotline_zone 24m;/
    or die 'no hotline_zone in the template';
$t->{template} = $bigger;
$t->reload;
$t->wait_old_workers_gone;
# the new zone takes the old one's calls from hotline_handoff_file as the
# last old worker wrote them, and answers signaling with 503 until then
ok(poll_until(10, sub { $t->http_get('/health')->{status} == 200 }),
   'the new zone is up');

state_holds('after the zone was resized');

$r = api_get($t, '/api/x', headers => [[Authorization => "Bearer $third"]]);
is($r->{status}, 401, 'after the resize: the token revoked after the restart');

$t->stop;
$tg->stop;
done_testing;
