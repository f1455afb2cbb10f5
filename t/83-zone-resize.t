#!/usr/bin/perl
# A reload that changes hotline_zone's size makes a new zone (nginx keeps
# a zone over a reload only at the same size).  With hotline_handoff_file
# (the default) the new zone takes the calls of the running one once its
# last worker has written them as it exits, and answers signaling with
# 503 until then, or until the old workers are gone or
# hotline_resume_timeout has passed; the master says so at warn.  With
# hotline_handoff_file off the new zone starts empty, and the master says
# what that loses.  A reload at the same size says nothing and keeps the
# zone; a restart keeps the calls whatever the size.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Hotline::Test qw(poll_until);

my $conf = $Hotline::Test::DEFAULT_CONF;
$conf =~ s/hotline_zone 16m;/hotline_zone %%ZONE%%;\n    %%HANDOFF%%/ or die;

my $t = Hotline::Test->new(conf => $conf);
$t->{vars}{ZONE} = '16m';
$t->{vars}{HANDOFF} = '';
$t->start;

my $w = $t->customer('Waiting');
my $w2 = $t->customer('Waiting too');
my ($c, $a) = $t->call(name => 'Talking', sub => 'zone-agent');
my $h = $t->health;
is($h->{calls}{waiting}, 2, 'two waiting');
is($h->{calls}{active}, 1, 'one call in progress');

sub warnings {
    my ($u) = @_;
    grep { /\[warn\].*hotline_zone/ } split /\n/, $u->error_log;
}

# the zone's state after a reload: /health answers 503 while the new
# zone waits for the old one's calls
sub settled {
    my ($u) = @_;
    my $r;
    poll_until(10, sub { ($r = $u->http_get('/health'))->{status} == 200 });
    return $r->{status} == 200 ? Hotline::Test::json_decode($r->{body}) : {};
}

# same size: no word, the state lives on
$t->reload;
is(scalar(warnings($t)), 0, 'a reload at the same size: no warning');
is($t->health->{calls}{waiting}, 2, 'and the queue is kept');

# a restart hands the calls over (hotline_handoff_file); the file is
# emptied once taken.  Put back as it was, it stands for a file from
# before the reload below: its zone takes the calls as they are when the
# old zone's last worker exits, not what an earlier file held
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
my $w3 = $t->customer('Third in line');
is($t->health->{calls}{waiting}, 3, 'a third one waits');

# another size: the calls come over
$t->{vars}{ZONE} = '32m';
$t->reload;
my @w;
ok(poll_until(5, sub { @w = warnings($t) }), 'a reload to 32m warns');
like($w[0] // '', qr/hotline_zone changes from 16384k to 32768k/,
     'with the old and the new size');
like($w[0] // '', qr/the reload starts on a new zone, which takes the calls of the running one \([1-9]\d*k of state\) through hotline_handoff_file once its workers have exited, and answers signaling with 503 until then/,
     'and that the new zone takes the calls of the running one');
like($w[0] // '', qr{docs/runbook\.md}, 'and where to read more');
$h = settled($t);
is($h->{calls}{waiting}, 3, 'the new zone has the three waiting customers');
is($h->{calls}{active}, 1, 'and the call in progress');
like($t->error_log, qr/a reload onto a zone of another size: signaling waits for the calls of the old workers/,
     'its first worker said it waits');
like($t->error_log, qr/objects of the calls taken over/,
     'and that it took them');

my $ws = $t->ws_connect('/ws/customer');
$ws->send_json({ type => 'resume', token => $w3->{token} });
my $wl = $ws->wait_for('welcome', 5);
ok($wl && $wl->{resumed}, 'a waiting customer resumes on the new zone');
my $cr = $t->ws_connect('/ws/customer');
$cr->send_json({ type => 'resume', token => $c->{token}, last_seq => 0 });
$wl = $cr->wait_for('welcome', 5);
ok($wl && $wl->{resumed}, 'and so does the customer in the call');

# hotline_handoff_file off: a new size starts empty
$t->{vars}{HANDOFF} = 'hotline_handoff_file off;';
$t->{vars}{ZONE} = '24m';
$t->reload;
ok(poll_until(5, sub { @w = grep { /to 24576k/ } warnings($t) }),
   'a reload to 24m with no handoff file warns');
like($w[0] // '', qr/loses the [1-9]\d*k of state the running one holds \(waiting calls, calls in progress, agents/,
     'with what the running zone held');
like($w[0] // '', qr{docs/runbook\.md}, 'and where the safe procedure is');
is($t->health->{calls}{waiting}, 0, 'the new zone is empty indeed');
is($t->health->{calls}{active}, 0, 'no call in progress either');

$ws = $t->ws_connect('/ws/customer');
$ws->send_json({ type => 'resume', token => $w->{token} });
my $e = $ws->wait_for('error', 5);
is($e && $e->{code}, 'expired', 'a resume into the new zone: expired');

# a restart with another size keeps the calls: the handoff file takes them
# from the old zone to the new one
$t->{vars}{HANDOFF} = '';
$t->reload;
my $k = $t->customer('Kept over a resize');
$t->stop(quit => 1);
$t->{vars}{ZONE} = '8m';
$t->start;
is($t->health->{calls}{waiting}, 1, 'a restart to 8m keeps the queue');
my $kr = $t->ws_connect('/ws/customer');
$kr->send_json({ type => 'resume', token => $k->{token} });
ok($kr->wait_for('welcome', 5), 'and its customer resumes');

$t->stop;

# An old worker that a request in flight keeps (a proxied request whose
# upstream does not answer): the new zone waits, then goes on without the
# calls when the old workers are gone (here: killed) or when
# hotline_resume_timeout has passed, whichever comes first
sub held {
    my ($timeout) = @_;
    my $up = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                   LocalPort => 0, ReuseAddr => 1)
        or die "listen: $!";
    my $u = Hotline::Test->new(conf => $conf,
        http => "hotline_resume_timeout $timeout;",
        server => 'location = /hang { proxy_pass http://127.0.0.1:'
                  . $up->sockport . '; proxy_read_timeout 60s; }');
    $u->{vars}{ZONE} = '16m';
    $u->{vars}{HANDOFF} = '';
    $u->start;
    my $cust = $u->customer('Held');
    my $s = $u->connect_tcp;
    print {$s} "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";
    my $in = $up->accept or die "accept: $!";
    my $pid = $u->conn_pid($s);
    $u->{vars}{ZONE} = '8m';
    $u->reload;
    return ($u, $up, $in, $s, $pid, $cust);
}

{
    my ($u, $up, $in, $s, $pid, $cust) = held('30s');
    ok(kill(0, $pid), 'killed: the old worker with a request in flight runs');
    my $r = $u->http_get('/health');
    is($r->{status}, 503, 'killed: /health answers 503 meanwhile');
    eval { $u->ws_connect('/ws/customer') };
    like($@, qr/handshake to \/ws\/customer: 503/,
         'killed: and so does a signaling handshake');
    $u->allow_log(qr/worker process $pid exited on signal 9/);
    kill 'KILL', $pid;
    my $h2 = settled($u);
    is($h2->{calls}{waiting}, 0,
       'killed: once it is gone the new zone goes on, without the calls');
    like($u->error_log, qr/the old workers are gone without handing their calls over/,
         'killed: and says so');
    ok($u->ws_connect('/ws/customer'), 'killed: signaling is served');
    $u->stop;
}

{
    my ($u, $up, $in, $s, $pid, $cust) = held('2s');
    my $h2 = settled($u);
    is($h2->{calls}{waiting}, 0,
       'resume timeout: the new zone goes on without the calls');
    ok(kill(0, $pid), 'resume timeout: while the old worker still runs');
    like($u->error_log, qr/the old workers have not handed their calls over within hotline_resume_timeout/,
         'resume timeout: and says so');
    ok($u->ws_connect('/ws/customer'), 'resume timeout: signaling is served');
    # the upstream answers: the old worker exits, its late file is not taken
    print {$in} "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    close $in;
    ok(poll_until(10, sub { !kill(0, $pid) }), 'resume timeout: the old worker exits');
    is($u->health->{calls}{waiting}, 0, 'resume timeout: nothing taken later');
    $u->stop;
}

# nginx -t knows no running zone: nothing to say
my $v = Hotline::Test->new(conf => $conf);
$v->{vars}{ZONE} = '8m';
$v->{vars}{HANDOFF} = '';
my ($ok, $out) = $v->nginx_t($conf);
ok($ok, 'nginx -t with another size passes') or diag($out);
unlike($out, qr/hotline_zone changes/, 'and has nothing to warn about');

done_testing;
