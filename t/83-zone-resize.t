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

# a restart hands the calls over (hotline_handoff_file); the file is
# emptied once taken.  Put back as it was, it stands for the old zone's
# last worker exiting before the new zone's first worker starts, as a
# slow reload lets it: the reload below must not take it either
my $file = $t->prefix . '/logs/nginx.hotline_handoff.state';
$t->stop(quit => 1);
my $saved = Hotline::Test::read_file($file);
ok(length $saved, 'a quit writes the handoff file');
$t->start;
is($t->health->{calls}{waiting}, 2, 'a restart keeps the queue');
is(-s $file, 0, 'and empties the handoff file');
{
    open my $fh, '>', $file or die "$file: $!";   # the master's inode
    binmode $fh;
    print {$fh} $saved;
    close $fh;
}

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

# a restart with another size keeps the calls: the handoff file takes them
# from the old zone to the new one (docs/runbook.md's way)
my $k = $t->customer('Kept over a resize');
$t->stop(quit => 1);
$t->{vars}{ZONE} = '8m';
$t->start;
is($t->health->{calls}{waiting}, 1, 'a restart to 8m keeps the queue');
my $kr = $t->ws_connect('/ws/customer');
$kr->send_json({ type => 'resume', token => $k->{token} });
ok($kr->wait_for('welcome', 5), 'and its customer resumes');

$t->stop;

# nginx -t knows no running zone: nothing to say
my $u = Hotline::Test->new(conf => $conf);
$u->{vars}{ZONE} = '8m';
my ($ok, $out) = $u->nginx_t($conf);
ok($ok, 'nginx -t with another size passes') or diag($out);
unlike($out, qr/hotline_zone changes/, 'and has nothing to warn about');

done_testing;
