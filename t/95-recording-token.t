#!/usr/bin/perl
# A recording token dies with its call, and a call's recordings are
# bounded: hotline_recording_check answers the recorder, which asks with
# the token before it starts a recording, 200 while the call is in
# progress (counting the recording), 429 recording_limit past
# hotline_recorder max= recordings of a role in the call, 410 call_ended
# once the call ended (hang-up, ban) or for a call that never was, 401
# for anything that is not a recording token of ours (signed with another
# key, tampered, expired, not naming a call).  On both stores.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT qw(encode_jwt);
use File::Temp ();
use Hotline::Test qw(json_decode);

my $secret = Hotline::Test::random_string(40);
my $dir = File::Temp::tempdir(CLEANUP => 1);
Hotline::Test::write_file("$dir/recorder.key", "$secret\n");

my $t = Hotline::Test->new(
    http   => "hotline_recorder /whip secret_file=$dir/recorder.key "
            . "ttl=120s max=3;",
    server => "location = /internal/recording {\n"
            . "    allow 127.0.0.1; deny all;\n"
            . "    hotline_recording_check;\n"
            . "}\n")->start;
note('store: ' . $t->store);

sub check {
    my ($token) = @_;
    my $r = $t->http_get('/internal/recording',
                         headers => [[Authorization => "Bearer $token"]]);
    my $j = eval { json_decode($r->{body}) } || {};
    return ($r->{status}, $j);
}

my ($c, $a) = $t->call(name => 'Recorded', sub => 'rec-agent');
my $ct = $c->{accepted}{recording}{token};
my $at = $a->{accepted}{recording}{token};
ok($ct && $at, 'both parties have a recording token');

my ($st, $j) = check($ct);
is($st, 200, 'the customer\'s token, call in progress: 200');
is_deeply($j, { call => $c->{call_id}, role => 'customer', recording => 1,
                max => 3 }, 'naming the call, the role and the count');
($st, $j) = check($at);
is($st, 200, 'the agent\'s: 200');
is($j->{recording}, 1, 'counted apart');

($st) = check($ct) for 1 .. 2;
is($st, 200, 'the third recording of the customer: 200');
($st, $j) = check($ct);
is($st, 429, 'the fourth: 429');
is($j->{error}, 'recording_limit', 'recording_limit');
like($t->error_log, qr/recording 4 of the customer of call_id=\w+ refused: hotline_recorder max=3/,
     'and the log says so');

# forged, tampered, foreign
my $forged = encode_jwt(payload => { call => $c->{call_id},
                                     sub => $c->{call_id}, role => 'customer',
                                     exp => time + 60 },
                        key => $t->secret, alg => 'HS256');
is((check($forged))[0], 401, 'a token signed with another key: 401');
(my $tampered = $at) =~ s/.$/$& eq 'A' ? 'B' : 'A'/e;
is((check($tampered))[0], 401, 'a tampered token: 401');
my $nocall = encode_jwt(payload => { sub => 'x' x 32, role => 'customer',
                                     exp => time + 60 },
                        key => $secret, alg => 'HS256');
is((check($nocall))[0], 401, 'one that names no call id: 401');
my $old = encode_jwt(payload => { call => $c->{call_id},
                                  sub => $c->{call_id}, role => 'agent',
                                  exp => time - 5 },
                     key => $secret, alg => 'HS256');
is((check($old))[0], 401, 'an expired one: 401');
my $ghost = encode_jwt(payload => { sub => 'ab' x 16, role => 'agent',
                                    exp => time + 60,
                                    aud => 'hotline-recorder' },
                       key => $secret, alg => 'HS256');
is((check($ghost))[0], 410, 'a call that never was: 410');
is($t->http_get('/internal/recording')->{status}, 401, 'no token: 401');

# the call ends: its tokens die
$a->send_json({ type => 'hangup', id => 'h' });
ok($c->wait_for('ended', 5), 'the call ends');
($st, $j) = check($at);
is($st, 410, 'the agent\'s token after the hang-up: 410');
is($j->{error}, 'call_ended', 'call_ended');
is((check($ct))[0], 410, 'the customer\'s too');

# a banned call's tokens
my ($c2, $a2) = $t->call(name => 'Banned', agent => $a);
my $bt = $c2->{accepted}{recording}{token};
is((check($bt))[0], 200, 'a new call: its token works');
$a2->send_json({ type => 'ban', call_id => $c2->{call_id}, id => 'b' });
ok($a2->wait_for('ack', 5, sub { $_[0]{id} eq 'b' }), 'the agent bans it');
is((check($bt))[0], 410, 'its token: 410');

$t->stop;
done_testing;
