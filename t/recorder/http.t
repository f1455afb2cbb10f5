#!/usr/bin/perl

# The recorder's HTTP side under idle and slow clients: one address
# cannot hold more than --max-conn-per-addr connections; when every
# connection is taken the oldest idle one is closed so that a new client
# is still answered; an answer a client does not read never stops the
# recorder from answering others.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF);
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time);
use Rec;

# small TCP buffers in this namespace: an answer of a few hundred KiB
# cannot all sit in them
Rec::rec_in_netns('ip addr add 127.0.0.2/8 dev lo',
                  "sysctl -qw net.ipv4.tcp_wmem='4096 16384 65536'",
                  "sysctl -qw net.ipv4.tcp_rmem='4096 16384 65536'");

sub idle {
    my ($r, $n, $from) = @_;
    my @s;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $r->{port},
                                      LocalAddr => $from // '127.0.0.1')
            or last;
        push @s, $s;
    }
    return @s;
}

# closed by the recorder: EOF (or a reset) within the deadline
sub closed {
    my ($s, $timeout) = @_;
    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    return 0 unless select(my $rout = $rin, undef, undef, $timeout);
    my $n = sysread($s, my $buf, 1);
    return !$n;
}

sub health_from {
    my ($r, $from) = @_;
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $r->{port},
                                  LocalAddr => $from, Timeout => 5)
        or return (0, 0);
    print $s "GET /health HTTP/1.0\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    return ($resp =~ m{^HTTP/1\.1 200 } ? 1 : 0, time - $t0);
}

sub metric {
    my ($r, $name) = @_;
    my $m = rec_http($r, 'GET', '/metrics')->{content} // '';
    return $m =~ /^hotline_recorder_$name (\d+)$/m ? $1 : undef;
}

# per address

{
    my $r = rec_start(args => ['--max-conn-per-addr', 8]);
    my @s = idle($r, 12);
    is(scalar @s, 12, '12 connections from 127.0.0.1');
    my $closed = grep { closed($_, 0.5) } @s[8 .. 11];
    is($closed, 4, 'the 4 over --max-conn-per-addr 8 are closed at once');
    is(scalar(grep { closed($_, 0.05) } @s[0 .. 7]), 0,
       'the first 8 stay open');
    my ($ok, $t) = health_from($r, '127.0.0.2');
    ok($ok, sprintf 'another address is answered (%.3f s)', $t);
    my $m = HTTP::Tiny->new(local_address => '127.0.0.2')
                ->get("$r->{url}/metrics")->{content} // '';
    like($m, qr/^hotline_recorder_http_connections_refused_total 4$/m,
         'refusals counted');
    close $_ for @s;
    ok(wait_for(sub { defined metric($r, 'sessions') }, 5),
       'once they are closed 127.0.0.1 is answered again');
    rec_stop($r);
}

# every connection taken: the oldest idle one makes room

{
    my $r = rec_start(args => ['--max-conn-per-addr', 1000]);
    my @s = idle($r, 256);
    is(scalar @s, 256, '256 idle connections (the most the recorder keeps)');
    my ($ok, $t) = health_from($r, '127.0.0.1');
    ok($ok, sprintf 'a new client is still answered (%.3f s)', $t);
    cmp_ok($t, '<', 2, '... at once, not after the idle ones time out');
    ok(closed($s[0], 1), 'the oldest idle connection was closed for it');
    ok(!closed($s[255], 0.05), 'the newest is still open');
    cmp_ok(metric($r, 'http_connections_evicted_total'), '>=', 1,
           'evictions counted');
    close $_ for @s;
    rec_stop($r);
}

# answers nobody reads do not hold up the others

{
    my $r = rec_start();
    rec_stop($r);
    my $admin = "$r->{tmp}/admin.token";
    my $token = 'admin-token-' . ('z' x 32);
    open my $fh, '>', $admin or die;
    print $fh "$token\n";
    close $fh;
    chmod 0600, $admin;

    # a page of 1000 calls: about 330 KiB of JSON
    for my $i (1 .. 1000) {
        mkdir "$r->{dir}/c$i" or die;
        open my $m, '>', "$r->{dir}/c$i/manifest.json" or die;
        print $m '{"version":1,"call":"c' . $i . '","completed_at":'
               . '"2026-01-01T00:00:00.000Z","participants":[{"role":'
               . '"customer","file":"customer.webm","state":"finished",'
               . '"ending_reason":"client_delete","size":123456,'
               . '"duration":61.5,"session":"' . ('0' x 32) . '"}]}';
        close $m;
    }

    $r = rec_start(again => $r, args => ['--admin-token-file', $admin]);

    my @slow;
    for (1 .. 3) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $r->{port}) or die;
        setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096);
        print $s "GET /admin/recordings?limit=1000 HTTP/1.1\r\nHost: x\r\n"
               . "Authorization: Bearer $token\r\n\r\n";
        push @slow, $s;
    }

    # the three listings are made first (bounded work: 1000 calls at
    # most each); then they wait in the sockets, unread
    health_from($r, '127.0.0.2');

    my @t;
    for (1 .. 5) {
        my ($ok, $t) = health_from($r, '127.0.0.2');
        push @t, $ok ? $t : 99;
    }
    my ($worst) = sort { $b <=> $a } @t;
    diag(sprintf 'health while 3 answers of 330 KiB wait: %s s',
         join(' ', map { sprintf '%.3f', $_ } @t));
    cmp_ok($worst, '<', 1, 'others are answered at once');

    ok(wait_for(sub { my $k = () = `cat $r->{log}`
                                   =~ /the answer was not taken in time/g;
                      $k == 3 }, 20), 'the three unread answers are given up '
       . 'on after 10 s');

    # paging
    my $p1 = rec_http($r, 'GET', '/admin/recordings', token => $token);
    my $j1 = eval { JSON::PP->new->decode($p1->{content}) } || {};
    is(scalar @{ $j1->{calls} || [] }, 100, 'a page is 100 calls');
    my $p2 = rec_http($r, 'GET', "/admin/recordings?after=$j1->{next}&limit=1000",
                      token => $token);
    my $j2 = eval { JSON::PP->new->decode($p2->{content}) } || {};
    is(scalar @{ $j2->{calls} || [] }, 900, 'the rest after "next"');
    is($j2->{next}, undef, 'no more');
    is(rec_http($r, 'GET', '/admin/recordings?limit=0',
                token => $token)->{status}, 400, 'a bad limit: 400');
    close $_ for @slow;
    rec_stop($r);
}

done_testing();
