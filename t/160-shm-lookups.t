#!/usr/bin/perl
# The embedded store's lookups: a worker remembers the object each of its
# last lookups found (a relayed message finds its sender, its peer and its
# call without walking the tree) until an object leaves the tree.  One
# worker, so that the lookups that fill that memory and those after the
# objects are gone run in the same process: a party, once gone, is not
# found again (the token of an ended call, of a customer that left the
# queue: expired, each time); an agent that leaves and comes back is
# online again under the same key (a new record, not the one gone); the
# relays of a call that stays reach the right party.  The same holds on
# Redis (make test-redis runs this file too).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

my $t = Hotline::Test->new(workers => 1,
                           http => "hotline_resume_timeout 1s;\n")->start;

# a call that stays, relaying between the others' ends
my ($kc, $ka) = $t->call(name => 'Stays', sub => 'stays-agent');

my (@wrong, @lost);
for my $i (1 .. 12) {
    my ($c, $a) = $t->call(name => "Goes $i", sub => "goes-agent-$i");
    my $token = $c->{token};
    # lookups of the call's keys, in this worker, before they go
    $c->send_json({ type => 'chat', text => "hello $i", id => "h$i" });
    $a->wait_for('chat', 5, sub { $_[0]{text} eq "hello $i" })
        or push @lost, "call $i";
    $a->send_json({ type => 'hangup' });
    $c->wait_for('ended', 5);
    $c->expect_close(5);
    $a->drop;
    my ($code) = $t->resume_dead_token($token);
    push @wrong, "$i: $code" if $code ne 'expired';

    # a waiting customer that leaves: its party goes at once
    my $w = $t->customer("Leaves $i");
    my $wt = $w->{token};
    $w->send_json({ type => 'cancel' });
    $w->wait_for('ended', 5);
    $w->expect_close(5);
    ($code) = $t->resume_dead_token($wt);
    push @wrong, "waiting $i: $code" if $code ne 'expired';

    # the call that stays still relays both ways
    $kc->send_json({ type => 'chat', text => "still $i", id => "k$i" });
    $ka->wait_for('chat', 5, sub { $_[0]{text} eq "still $i" })
        or push @lost, "stays $i, to the agent";
    $ka->send_json({ type => 'chat', text => "back $i", id => "b$i" });
    $kc->wait_for('chat', 5, sub { $_[0]{text} eq "back $i" })
        or push @lost, "stays $i, to the customer";
}
# an agent that leaves and comes back: its record goes, a new one is
# made under the same key
my @back;
# the agents of the calls that ended are gone too: the one that stays
Hotline::Test::poll_until(10, sub { online() == 1 });
my $base = online();
is($base, 1, 'one agent online: the one that stays');
for my $i (1 .. 6) {
    # agent() croaks without its welcome
    my $a = $t->agent(sub => 'comes-back');
    $a->close_ws(1000);
    Hotline::Test::poll_until(5, sub { online() == $base })
        or push @back, "$i: online " . online() . ' after it left';
}
my $a = $t->agent(sub => 'comes-back');
ok(Hotline::Test::poll_until(5, sub { online() == $base + 1 }),
   'back: online again')
    or diag('online ' . online());
my $c = $t->customer('For the one back');
$a->send_json({ type => 'accept', call_id => $c->{call_id}, id => 'x' });
ok($c->wait_for('accepted', 5), 'the agent back takes a call');
is_deeply(\@back, [], 'each time gone, then back') or diag("@back");

sub online {
    return $t->metrics->{'hotline_agents{state="online"}'} // -1;
}

is_deeply(\@wrong, [], 'each ended call\'s token: expired');
is_deeply(\@lost, [], 'every line relayed to the right party');
is_deeply([ grep { $_->{type} eq 'chat' && $_->{text} !~ /^still / }
            @{ $ka->{inbox} } ], [], 'the agent that stays got only its lines');

done_testing();
