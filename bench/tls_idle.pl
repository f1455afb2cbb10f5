#!/usr/bin/perl
# What TLS adds to an idle WebSocket: N customers that join and stay, over
# plain TCP and over nginx's own TLS (listen ... ssl, ECDSA P-256,
# TLS 1.3), each on a fresh nginx with 2 workers; nginx's Pss (master and
# workers, /proc/<pid>/smaps_rollup) and the kernel's TCP memory
# (/proc/net/sockstat) before the first connection and once all joined.
#
#   perl bench/tls_idle.pl [N]        (N: 2000)
#
# The clients are the test harness's (t/lib/Hotline/Test.pm, Perl,
# IO::Socket::SSL): slow to open connections, but what is measured is
# nginx's memory once they are idle.  Results: docs/performance.md.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Hotline::Test qw(poll_until);

my $n = shift // 2000;

sub pss {
    my ($t) = @_;
    my $kib = 0;
    for my $pid ($t->master_pid, $t->worker_pids) {
        my $s = Hotline::Test::read_file("/proc/$pid/smaps_rollup");
        $kib += $1 if $s =~ /^Pss:\s+(\d+)/m;
    }
    return $kib;
}

sub tcp_kib {
    my $s = Hotline::Test::read_file('/proc/net/sockstat');
    my ($pages) = $s =~ /^TCP:.*\bmem (\d+)/m;
    return $pages * 4;
}

for my $tls (0, 1) {
    my $t = Hotline::Test->new(tls => $tls,
                               http => "hotline_queue_size 100000;\n"
                                     . "hotline_handshake_timeout 60s;")
                         ->start;
    my ($p0, $k0) = (pss($t), tcp_kib());
    my @c;
    for my $i (1 .. $n) {
        push @c, $t->customer("idle $i");
    }
    # settle: every welcome read, nothing in flight
    $_->drain(0) for @c;
    my ($p1, $k1) = (pss($t), tcp_kib());
    printf "%-5s %5d idle customers: nginx Pss %d -> %d KiB, %.2f KiB each;"
           . " kernel TCP %d -> %d KiB, %.2f KiB each (both ends)\n",
           $tls ? 'TLS' : 'plain', $n, $p0, $p1, ($p1 - $p0) / $n,
           $k0, $k1, ($k1 - $k0) / $n;
    $_->drop for @c;
    $t->_kill_quietly;
}
