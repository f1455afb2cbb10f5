#!/usr/bin/perl
# hotline_colocate when the agent's worker cannot take the connection: its
# worker_connections are all in use.  The hand-over is sent, the receiving
# worker finds no free connection, releases what the connection held
# (its limit_conn place, the customer count) and closes it; the client
# sees its TCP connection end and resumes, as after any drop, and the call
# goes on.  Nothing stays counted: limit_conn lets in as many as before.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Hotline::Test qw(poll_until);

plan skip_all => 'connections move on the embedded store only'
    if ($ENV{HOTLINE_STORE} // '') eq 'redis';

my $conf = $Hotline::Test::DEFAULT_CONF;
$conf =~ s/worker_connections 1024;/worker_connections 32;/
    or BAIL_OUT('no worker_connections in the template');

my $t = Hotline::Test->new(
    conf   => $conf,
    listen => 'reuseport',
    http   => 'hotline_colocate on; hotline_queue_per_address off;'
              . ' hotline_resume_timeout 10s;'
              . ' limit_conn_zone $binary_remote_addr zone=full_ip:1m;',
    server => 'location = /ws/limited { hotline_signaling customer;'
              . ' limit_conn full_ip 3; }',
)->start;
$t->allow_log(qr/worker_connections are not enough/);
$SIG{PIPE} = 'IGNORE';

my $a = $t->agent(sub => 'full-agent');
my $apid = $t->conn_pid($a);
my ($c, $cpid) = $t->ws_connect_on('/ws/limited', 0, $apid,
                                   origin => $t->origin);
ok($c, 'the customer on the other worker') or BAIL_OUT('no placement');
$c->send_json({ type => 'join', name => 'Full' });
my $w = $c->wait_for('welcome', 5);
my $cid = $w->{call_id};

# what the customer's worker says, on a connection of its own
my $sock = $t->worker_socket($cpid);
sub metric { $t->metrics(sock => $sock)->{$_[0]} }

# the agent's worker full: connections with half a request (not idle:
# nginx would close idle ones to make room) until it refuses one (the
# kernel hands each to a worker by its addresses: those of the other
# worker are closed again)
my (@fill, $full);
my $refused = sub {
    grep { /\[alert\] $apid#\d+: .*worker_connections are not enough/
           && !/reusing connections/ }
        split /\n/, $t->error_log;
};
for my $round (1 .. 40) {
    my @batch = grep { $_ } map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->port,
                              Timeout => 2)
    } 1 .. 16;
    print $_ "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" for @batch;
    my %held;
    poll_until(3, sub {
        %held = ();
        for (`ss -Htnp state established '( sport = :${\ $t->port} )'`) {
            $held{$1} = $2
                if /127\.0\.0\.1:\d+\s+127\.0\.0\.1:(\d+)\b.*pid=(\d+)/;
        }
        !grep { !$held{ $_->sockport } } @batch;
    }, 0.05);
    for my $s (@batch) {
        my $pid = $held{ $s->sockport } // 0;
        if ($pid == $apid) {
            push @fill, $s;
        } else {
            close $s;
        }
    }
    last if $full = $refused->();
}
ok($full, "the agent's worker is full (" . scalar(@fill) . ' half'
          . ' requests on it)') or BAIL_OUT('could not fill the worker');
my $refusals = () = $refused->();

# the accept: the hand-over goes, and the agent's worker cannot take it

$a->wait_for('queue', 5, sub {
    grep { $_->{call_id} eq $cid } @{ $_[0]{calls} } });
$a->send_json({ type => 'accept', call_id => $cid, id => 'acc' });
ok($c->wait_for('accepted', 5), 'accepted');
$a->wait_for('accepted', 5);
ok($c->pump_until(5, sub { $c->{eof} }),
   'the connection the full worker could not take is closed');
ok(!$c->{closed}, 'with no close frame: the client resumes, as after a drop');
is(metric('hotline_connections_moved_total{result="moved"}'), 1,
   'the hand-over was sent');
ok(poll_until(5, sub { () = $refused->(); $refused->() > $refusals }),
   'the full worker says why');

# room again; the client resumes and the call goes on

close $_ for @fill;
my $c2 = $t->ws_connect('/ws/limited', origin => $t->origin);
$c2->send_json({ type => 'resume', token => $w->{resume} });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'resumed');
$t->both_ways($c2, $a, 'resumed');
ok(!grep({ $_->{type} eq 'ended' } @{ $a->{inbox} }),
   'the agent\'s call never ended');

# limit_conn: the refused connection's place was released (with the
# resumed one open, two more are let in, not one)

$t->limit_conn_room('/ws/limited', 2,
                   'the refused connection holds no place');

$a->send_json({ type => 'hangup' });
is(($c2->wait_for('ended', 5) // {})->{reason}, 'hangup', 'the hangup');
$c2->drop;
$a->drop;
ok(poll_until(5, sub {
       (metric('hotline_connections{role="customer"}') // -1) == 0 }),
   'no customer connection left counted');
close $sock;

$t->stop;
done_testing;
