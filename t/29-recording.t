#!/usr/bin/perl
# Recording wiring: with hotline_recorder, each party's "accepted" message
# carries the WHIP URL and a token of its own (HS256 with the recorder's
# secret, claims call/role/exp/aud, checked here with Crypt::JWT), and the
# history marks the call recorded; without it, nothing is said.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Crypt::JWT qw(decode_jwt);
use File::Temp ();
use Hotline::Test qw(json_encode poll_until);

sub write_file { Hotline::Test::write_file(@_) }
sub random_string { Hotline::Test::random_string(@_) }

my $secret = random_string(40);
my $dir = File::Temp::tempdir(CLEANUP => 1);
write_file("$dir/recorder.key", "$secret\n");

my $t = Hotline::Test->new(
    http   => "hotline_recorder /whip secret_file=$dir/recorder.key ttl=120s;",
    server => 'location = /history { hotline_history; }')->start;

my ($c, $a) = $t->call(name => 'Kayıt', sub => 'rec-agent');
my $cr = $c->{accepted}{recording};
my $ar = $a->{accepted}{recording};
ok($cr && $ar, 'both parties are told the call is recorded');
is($cr->{url}, '/whip', 'the WHIP URL');

my %claims;
for my $p ([customer => $cr], [agent => $ar]) {
    my ($role, $r) = @$p;
    my $cl = eval { decode_jwt(token => $r->{token}, key => $secret,
                               accepted_alg => 'HS256', verify_exp => 1) };
    ok($cl, "$role token verifies with the recorder secret") or diag($@);
    is($cl->{call}, $c->{call_id}, "$role token: the call");
    is($cl->{role}, $role, "$role token: its own role");
    is($cl->{aud}, 'hotline-recorder', "$role token: audience");
    ok($cl->{exp} > time && $cl->{exp} <= time + 121, "$role token: exp in ttl");
    ok(!eval { decode_jwt(token => $r->{token}, key => $t->secret,
                          accepted_alg => 'HS256') },
       "$role token does not verify with the agents' key");
}
isnt($cr->{token}, $ar->{token}, 'one token per party');

$a->send_json({ type => 'hangup' });
$c->wait_for('ended', 5);
my $h;
ok(poll_until(5, sub {
    my $r = $t->http_get('/history');
    $h = Hotline::Test::json_decode($r->{body});
    @{ $h->{calls} } == 1 }), 'the call is in the history');
ok($h->{calls}[0]{recorded}, '... marked recorded');
$t->stop;

# no recorder: no recording member
my $n = Hotline::Test->new->start;
my ($c2, $a2) = $n->call(name => 'Plain', sub => 'plain-agent');
ok(!exists $c2->{accepted}{recording}, 'no recorder: the customer is told nothing');
ok(!exists $a2->{accepted}{recording}, 'no recorder: the agent is told nothing');
$n->stop;

# bad configurations fail nginx -t
for my $bad ('hotline_recorder /whip;',
             "hotline_recorder /whip secret_file=$dir/missing.key;",
             "hotline_recorder /whip secret_file=$dir/recorder.key ttl=0s;",
             "hotline_recorder \"/wh ip\" secret_file=$dir/recorder.key;") {
    my $b = Hotline::Test->new(http => $bad);
    $b->write_conf;
    my ($ok, $out) = $b->nginx_t;
    ok(!$ok, "nginx -t fails: $bad") or diag($out);
}
write_file("$dir/short.key", "short\n");
my $s = Hotline::Test->new(
    http => "hotline_recorder /whip secret_file=$dir/short.key;");
$s->write_conf;
my ($ok) = $s->nginx_t;
ok(!$ok, 'nginx -t fails on a short recorder secret');

done_testing;
