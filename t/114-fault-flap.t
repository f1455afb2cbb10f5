#!/usr/bin/perl
# Flapping parties under traffic (issue 15): in half of the calls one
# party loses its connection every few hundred milliseconds and comes
# back at once, as docs/protocol.md says, while both keep sending
# numbered chats (t/lib/Hotline/Traffic.pm): the connection just drops,
# or says goodbye (1001), or hangs (the client gives up on it and opens
# another while the server still holds it open).  Every acknowledged
# message is delivered once, in order; no connection the client uses is
# told it was replaced; no call lost.  Both stores (HOTLINE_STORE=redis
# runs it on Redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test;
use Hotline::Traffic;

my $t = Hotline::Test->new->start;

my $tr = Hotline::Traffic->new(nodes => [$t], calls => 8, rate => 20,
                               tag => 'flap')->setup;
$tr->run(0.5);

# the customers of the even calls, the agents of the odd ones
my @flap = grep { ($_->{call} % 2 == 0) == ($_->{role} eq 'customer') }
           $tr->parties;
@flap = @flap[0 .. 3];
my @how = ([], [close => 1001], [keep => 1]);
my ($drops, $k) = (0, 0);
# 8 seconds, and on until 40 drops (a loaded machine resumes slower), at
# most 30
my $start = time();
while (time() < $start + 8 || ($drops < 40 && time() < $start + 30)) {
    for my $p (@flap) {
        next unless $p->{ws} && $p->{established};
        next if time() < ($p->{flap_at} //= time() + 0.1 + rand(0.3));
        # a chat of its own in flight too
        $tr->send($p);
        $tr->drop($p, @{ $how[ $k++ % @how ] });
        $p->{flap_at} = time() + 0.1 + rand(0.3);
        $drops++;
    }
    $tr->run(0.05);
}
cmp_ok($drops, '>=', 40, "parties flapped ($drops drops)");

ok($tr->settle(20), 'every party back, everything delivered');
$tr->check("flapping (" . $t->store . ')');
$tr->hangup('flapping');
$t->stop;
done_testing;
