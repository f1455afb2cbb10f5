package Hotline::Port;

# Free loopback TCP ports for the tests, safe under `prove -j`.
#
# Asking the kernel for port 0 and closing the socket is a race: the port
# comes from the ephemeral range, where the next outgoing connection of
# any process (a worker's Redis connection, a test client) may take it
# before the server that was meant to listen there binds it.  So ports
# come from below the ephemeral range (net.ipv4.ip_local_port_range), and
# each is claimed with a lock file that this process holds until it
# exits: two test processes never get the same port, and a port handed
# out once is not handed out again by this process.
#
#   use Hotline::Port;
#   my $port = Hotline::Port::take();

use strict;
use warnings;

use Carp qw(croak);
use Fcntl qw(:flock O_CREAT O_RDWR);
use IO::Socket::INET;

my $DIR = ($ENV{TMPDIR} || '/tmp') . '/hotline-ports';
my ($LO, $HI) = (20000, 32000);
my (%held, @locks);

sub _ephemeral_low {
    open my $f, '<', '/proc/sys/net/ipv4/ip_local_port_range' or return 32768;
    my ($lo) = split ' ', scalar <$f>;
    return $lo && $lo > 1024 ? $lo : 32768;
}

sub take {
    my $hi = _ephemeral_low() - 1;
    $hi = $HI if $hi > $HI;
    mkdir $DIR, 01777 unless -d $DIR;

    for (1 .. 1000) {
        my $port = $LO + int(rand($hi - $LO + 1));
        next if $held{$port};

        sysopen(my $fh, "$DIR/$port", O_CREAT | O_RDWR, 0666) or next;
        unless (flock($fh, LOCK_EX | LOCK_NB)) {
            close $fh;
            next;
        }

        # free now (no server of another program listens on it)
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1);
        unless ($s) {
            close $fh;
            next;
        }
        close $s;

        $held{$port} = 1;
        push @locks, $fh;
        return $port;
    }

    croak "no free loopback port in $LO-$hi";
}

1;
