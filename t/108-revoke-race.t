#!/usr/bin/perl
# A logout wins against an agent's token in use at the same time.  Four
# clients, two on each worker (and, on the Redis store, two on each of two
# nginx nodes sharing one Redis), send requests with the token to the
# hotline_auth_jwt location back to back on keep-alive connections, so
# that every worker has verified it and found it not revoked many times
# (what the embedded store lets a worker remember until a revocation is
# written); then the token is logged out on one of them.  Every request
# sent before the logout began is answered 200; every request sent after
# the logout's answer came back is answered 401, on every connection and
# every worker, with not one 200 among them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX qw(_exit);
use Time::HiRes qw(time);
use Hotline::Test qw(poll_until);
use HotlineAuth qw(login worker_request);

my $redis = ($ENV{HOTLINE_STORE} // '') eq 'redis';
my $AFTER = 30;      # requests each client sends after the logout answered

# a client can send thousands of requests on its connection while a slower
# one reaches its 20 (four test files at once, a busy machine): nginx's
# keepalive_requests (1000) would close it, and its next request would
# find no worker at all
my $http = "keepalive_requests 1000000;\n";
my $rd;
if ($redis) {
    require Hotline::Redis;
    $rd = Hotline::Redis->new(prefix => 'hl108:')->start;
    $http .= $rd->directive . "\n";
}

my $tg = TelegramStub->new->start;
my @nodes;
for my $n (1 .. ($redis ? 2 : 1)) {
    push @nodes, $tg->nginx(workers => 2,
                            http => $HotlineAuth::AGENTS . $http,
                            server => $HotlineAuth::LOCATIONS,
                            (@nodes ? (secret => $nodes[0]->secret) : ()));
}
my $t = $nodes[0];

my $r = login($t, $tg, 'alice', '4242');
is($r->{status}, 200, 'alice logs in');
my $jwt = $r->{json}{token};

my $dir = $t->{prefix} . '/race';
mkdir $dir or die "$dir: $!";

# the clients: a socket each, on a worker chosen here
my @clients;
for my $node (@nodes) {
    for my $pid ($node->worker_pids) {
        for my $k (1, 2) {
            push @clients, { node => $node, pid => $pid,
                             sock => $node->worker_socket($pid),
                             file => "$dir/client" . scalar(@clients) };
        }
    }
}

# each writes a line per request: the time it was sent, the status, and
# the worker that answered; it stops when the stop file appears
for my $c (@clients) {
    my $child = fork // die "fork: $!";
    if ($child == 0) {
        open my $out, '>', $c->{file} or _exit(1);
        $out->autoflush(1);
        my $req = "GET /api/x HTTP/1.1\r\nHost: x\r\n"
                . "Authorization: Bearer $jwt\r\n\r\n";
        until (-e "$dir/stop") {
            my $sent = time;
            my $res = $c->{node}->http_raw($req, sock => $c->{sock});
            my $status = $res->{status} // 0;
            my $pid = $res->{headers}{'x-pid'}[0] // 0;
            printf $out "%.6f %d %d\n", $sent, $status, $pid;
            last unless $status;
        }
        _exit(0);
    }
    $c->{child} = $child;
}

sub lines {
    my ($c) = @_;
    open my $in, '<', $c->{file} or return [];
    my @l;
    while (my $line = <$in>) {
        push @l, [split ' ', $line] if $line =~ /\n\z/;
    }
    return \@l;
}

sub sent_after {
    my ($c, $since) = @_;
    return scalar grep { $_->[0] > $since } @{ lines($c) };
}

ok(poll_until(20, sub { !grep { sent_after($_, 0) < 20 } @clients }),
   "every client has had 20 answers before the logout");

# the logout, on the last client's worker (a node of its own on Redis)
my $last = $clients[-1];
my $began = time;
$r = worker_request($last->{node}, $last->{pid}, sub {
    HotlineAuth::post_json($last->{node}, '/auth/logout', '', type => undef,
                           headers => [[Authorization => "Bearer $jwt"]],
                           sock => $_[0]);
});
my $answered = time;
is($r->{status}, 200, 'the logout is answered 200');

ok(poll_until(20, sub {
       !grep { sent_after($_, $answered) < $AFTER } @clients }),
   "every client has had $AFTER answers since the logout's");

open my $stop, '>', "$dir/stop" or die;
close $stop;
waitpid $_->{child}, 0 for @clients;

for my $i (0 .. $#clients) {
    my $c = $clients[$i];
    my $l = lines($c);
    my @before = grep { $_->[0] < $began } @$l;
    my @after = grep { $_->[0] > $answered } @$l;
    my $name = "client $i (worker $c->{pid}"
             . ($redis ? ", node " . ($c->{node} == $t ? 1 : 2) : '') . ')';

    ok(@before >= 20, "$name: " . @before . ' requests before the logout');
    is(scalar(grep { $_->[1] != 200 } @before), 0,
       "$name: all of them 200");
    is(scalar(grep { $_->[2] != $c->{pid} } @$l), 0,
       "$name: all answered by its worker");
    ok(@after >= $AFTER, "$name: " . @after . ' requests after it');
    is(join(',', map { $_->[1] } grep { $_->[1] != 401 } @after), '',
       "$name: all of them 401");
}

done_testing;
