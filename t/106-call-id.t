#!/usr/bin/perl
# A customer's call id is computed from its resume token (the first 16
# bytes of SHA-256 over "hotline customer id" and the token's bytes,
# checked here with Digest::SHA), and its party is keyed by it: no index
# record from the call id to the party.  The call id, which agents see,
# is not a token: it neither resumes nor rates; an agent's token is not
# a call id.  On Redis: no key names a customer's token, and none is an
# index "c:<call id>".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(sha256);
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new->start;

sub id_of {
    my ($token) = @_;
    return unpack('H32', sha256('hotline customer id' . pack('H32', $token)));
}

# --- join: the call id is the token's
my $c = $t->customer('Derived');
like($c->{token}, qr/^[0-9a-f]{32}$/, 'a resume token in the welcome');
like($c->{call_id}, qr/^[0-9a-f]{32}$/, 'a call id in the welcome');
isnt($c->{call_id}, $c->{token}, 'the call id is not the token');
is($c->{call_id}, id_of($c->{token}),
   'the call id is SHA-256 of the label and the token (Digest::SHA)');

my $c2 = $t->customer('Other');
is($c2->{call_id}, id_of($c2->{token}), 'a second customer\'s too');
isnt($c2->{call_id}, $c->{call_id}, 'and it is another id');

# --- resume: the token it sent comes back, the call id is the same
$c->drop;
my $r = $t->ws_connect('/ws/customer');
$r->send_json({ type => 'resume', token => $c->{token} });
my $w = $r->wait_for('welcome', 5);
ok($w && $w->{resumed}, 'the token resumes')
    or diag(json_encode($r->{inbox}));
is($w && $w->{resume}, $c->{token}, 'welcome tells the same token again');
is($w && $w->{call_id}, $c->{call_id}, 'and the same call id');

# --- the call id is not a token
my ($code, $close) = $t->resume_dead_token($c->{call_id});
is($code, 'expired', 'a resume with the call id as its token: expired');
is($close, 4004, 'and the connection closes with 4004');

my $x = $t->ws_connect('/ws/customer');
my $e = $x->request({ type => 'rate', token => $c2->{call_id}, rating => 5 });
is($e->{type}, 'error', 'a rating with the call id as its token is refused')
    or diag(json_encode($e));
$x->close_ws;

# --- an agent's token is not a call id
my $a = $t->agent(sub => 'deriver');
for my $type (qw(accept reject ban)) {
    my $m = $a->request({ type => $type, call_id => $a->{token} });
    is($m->{code}, 'not_found',
       "$type with the agent's own token as the call id: not_found")
        or diag(json_encode($m));
}

my $b = $t->agent(sub => 'other-agent');
my $m = $a->request({ type => 'accept', call_id => $b->{token} });
is($m->{code}, 'not_found',
   'accept with another agent\'s token as the call id: not_found')
    or diag(json_encode($m));

# the agent is none the worse: it takes the call by its id
$m = $a->request({ type => 'accept', call_id => $c->{call_id} });
is($m->{type}, 'ack', 'then accept with the call id is acked');
my $acc = $a->wait_for('accepted', 5);
is($acc && $acc->{call_id}, $c->{call_id}, 'the agent has the call');
my $cacc = $r->wait_for('accepted', 5);
is($cacc && $cacc->{call_id}, $c->{call_id},
   'and the resumed customer its agent: the refused rating ended nothing');

SKIP: {
    skip 'the embedded store: its keys are in the zone', 4
        unless $t->store eq 'redis';

    my @keys = split /\n/, $t->{redis}->cli('KEYS', '*');
    ok(scalar @keys, 'Redis holds keys') or diag(join ' ', @keys);
    is_deeply([ grep { /\Q$c->{token}\E|\Q$c2->{token}\E/ } @keys ], [],
              'no key names a customer\'s token');
    is_deeply([ grep { /c:[0-9a-f]{32}$/ } @keys ], [],
              'no index record by call id');
    is(scalar(grep { /p:\Q$c2->{call_id}\E$/ } @keys), 1,
       'a waiting customer\'s party is keyed by its call id');
}

done_testing();
