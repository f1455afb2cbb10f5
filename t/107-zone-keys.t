#!/usr/bin/perl
# Keys as the embedded store keeps them: a key of a letter, ':' and 32
# lowercase hex digits (a party's, an agent's index when its name is such
# digits) is kept as 17 bytes, any other as it is.  Every way a key comes
# back out of the zone gives the same key: a login finds the agent's
# index, a grace period's timer finds the party it is for, a queue read
# finds the waiting calls, and a reload writes the keys to the next zone
# and reads them back.  (On Redis the same steps run through its keys.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new(http => 'hotline_resume_timeout 1s;')->start;

my $lower = '0123456789abcdef' x 2;    # packed: a:<32 lowercase hex>
my $upper = uc $lower;                 # kept as it is
my $mixed = 'A123456789abcdef' x 2;

sub online {
    my $h = $t->health;
    return $h->{agents}{online};
}

for my $sub ($lower, $upper, $mixed) {
    my $a = $t->agent(sub => $sub);
    is($a->{welcome}{agent}, $sub, "agent $sub: welcome names it");
    my $n = online();

    # the same agent again: the login finds its index and takes it over
    my $b = $t->agent(sub => $sub);
    is($b->{welcome}{resume}, $a->{token},
       "agent $sub: a second login takes its party over (index found)");
    ok($b->{welcome}{resumed}, '... resumed');
    is($a->expect_close(5), 4000, '... the first connection is replaced');
    is(online(), $n, '... still one agent online');

    # gone: its grace period's timer finds the party by its key
    $b->drop;
    ok(Hotline::Test::poll_until(6, sub { online() == $n - 1 }),
       "agent $sub: offline after its grace period (timer's key found)")
        or diag(json_encode($t->health));
}

# --- waiting customers: the queue's read gives their keys back (a node
# whose grace period outlasts a reload)
$t->stop;
$t = Hotline::Test->new->start;

my @c = map { $t->customer("Waits $_") } 1 .. 3;
my $a = $t->agent(sub => $lower);
my @calls = map { $_->{call_id} } @{ $a->{queue}{calls} };
is_deeply(\@calls, [ map { $_->{call_id} } @c ],
          'the queue lists the three waiting calls, oldest first');

# accept without a call id takes the oldest: the queue read's key
my $m = $a->request({ type => 'accept' });
is($m->{type}, 'ack', 'accept of the next call is acked')
    or diag(json_encode($m));
my $acc = $a->wait_for('accepted', 5);
is($acc && $acc->{call_id}, $c[0]{call_id}, 'the oldest call was taken');
ok($c[0]->wait_for('accepted', 5), 'its customer is told');
$a->request({ type => 'hangup' });

# --- a reload: the keys go to the next zone and come back
$_->drop for @c[1, 2];
my @new = $t->reload;
ok(scalar @new, 'reloaded: new workers') or diag('no new workers');

my $r = $t->ws_connect('/ws/customer');
$r->send_json({ type => 'resume', token => $c[1]{token} });
my $w = $r->wait_for('welcome', 5);
ok($w && $w->{resumed}, 'a waiting customer resumes after the reload')
    or diag(json_encode($r->{inbox}));
is($w && $w->{call_id}, $c[1]{call_id}, '... its call');

my $a2 = $t->agent(sub => $upper);
$m = $a2->request({ type => 'accept', call_id => $c[2]{call_id} });
is($m->{type}, 'ack', 'after the reload, a call is accepted by its id')
    or diag(json_encode($m));
ok($a2->wait_for('accepted', 5), '... the agent has it');

done_testing();
