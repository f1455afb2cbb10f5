#!/usr/bin/perl
# nginx reloaded every second or so under traffic (issue 15): calls of
# both parties sending numbered chats (t/lib/Hotline/Traffic.pm); the old
# workers close their connections with 1001 and the parties come back on
# the new ones as docs/protocol.md says.  Every acknowledged message is
# delivered once, in order; no gap, no call lost.  Both stores
# (HOTLINE_STORE=redis runs it on Redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test;
use Hotline::Traffic;

my $t = Hotline::Test->new->start;

my $tr = Hotline::Traffic->new(nodes => [$t], calls => 12, rate => 20,
                               tag => 'reload')->setup;
$tr->run(1);

my $reloads = 0;
for (1 .. 5) {
    # (reload() returns once the new workers answer)
    my @new = eval { $t->reload };
    ok(@new, "reload $_") or diag($@);
    $reloads++;
    $tr->run(1.2);
}

ok($tr->settle(20), 'every party back, everything delivered');
$tr->check("$reloads reloads (" . $t->store . ')');
my $going = grep { $_ eq '1001' } map { @{ $_->{closes} } } $tr->parties;
cmp_ok($going, '>', 0, "parties were told 1001 going away ($going times)");
$tr->hangup('reloads');
$t->stop;
done_testing;
