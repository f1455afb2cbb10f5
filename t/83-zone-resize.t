#!/usr/bin/perl
# A reload that changes hotline_zone starts on a new, empty zone (nginx
# keeps a zone over a reload only at the same size): the master says so at
# warn, with what the running zone held, and the state is indeed gone; a
# reload at the same size says nothing and keeps it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(poll_until);

my $conf = $Hotline::Test::DEFAULT_CONF;
$conf =~ s/hotline_zone 16m;/hotline_zone %%ZONE%%;/ or die;

my $t = Hotline::Test->new(conf => $conf);
$t->{vars}{ZONE} = '16m';
$t->start;

my $w = $t->customer('Waiting');
my $w2 = $t->customer('Waiting too');
my ($c, $a) = $t->call(name => 'Talking', sub => 'zone-agent');
my $h = $t->health;
is($h->{calls}{waiting}, 2, 'two waiting');
is($h->{calls}{active}, 1, 'one call in progress');

sub warnings { grep { /\[warn\].*hotline_zone/ } split /\n/, $t->error_log }

# same size: no word, the state lives on
$t->reload;
is(scalar(warnings()), 0, 'a reload at the same size: no warning');
is($t->health->{calls}{waiting}, 2, 'and the queue is kept');

# another size
$t->{vars}{ZONE} = '32m';
$t->reload;
my @w;
ok(poll_until(5, sub { @w = warnings() }), 'a reload to 32m warns');
like($w[0] // '', qr/hotline_zone changes from 16384k to 32768k/,
     'with the old and the new size');
like($w[0] // '', qr/loses the [1-9]\d*k of state the running one holds \(waiting calls, calls in progress, agents/,
     'and what the running zone held');
like($w[0] // '', qr{docs/runbook\.md}, 'and where the safe procedure is');
is($t->health->{calls}{waiting}, 0, 'the new zone is empty indeed');
is($t->health->{calls}{active}, 0, 'no call in progress either');

# the old tokens are unknown to the new zone
my $ws = $t->ws_connect('/ws/customer');
$ws->send_json({ type => 'resume', token => $w->{token} });
my $e = $ws->wait_for('error', 5);
is($e && $e->{code}, 'expired', 'a resume into the new zone: expired');

$t->stop;

# nginx -t knows no running zone: nothing to say
my $u = Hotline::Test->new(conf => $conf);
$u->{vars}{ZONE} = '8m';
my ($ok, $out) = $u->nginx_t($conf);
ok($ok, 'nginx -t with another size passes') or diag($out);
unlike($out, qr/hotline_zone changes/, 'and has nothing to warn about');

done_testing;
