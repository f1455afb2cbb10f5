package Hotline::Child;

# A loopback listener served by a child process of the test (a stub of a
# service, a proxy): serve() forks, the child runs the code given with the
# listening socket and exits; stop(), or the object's end, ends it.  A
# base class: the object is the caller's own.
#
#   my $port = $self->serve($port_or_0, sub { my ($listener) = @_; ... });
#   $self->stop;

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::INET;
use POSIX ();

sub serve {
    my ($self, $port, $code) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $port // 0, Proto => 'tcp',
                                  Listen => 64, ReuseAddr => 1)
        or croak 'listen on 127.0.0.1:' . ($port // 0) . ": $!";
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        $code->($l);
        POSIX::_exit(0);
    }
    $port = $l->sockport;
    close $l;
    $self->{pid} = $pid;
    return $port;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->stop }

1;
