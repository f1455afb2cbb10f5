package Hotline::Redis;

# A private redis-server for the tests of the Redis store: Debian's
# /usr/bin/redis-server on a free loopback port, in a temporary directory,
# without persistence (--save '' --appendonly no).  kill() ends it with
# SIGKILL (an outage), start() brings it back on the same port (empty).
#
#   my $r = Hotline::Redis->new->start;     # new(password => 'x'): requirepass
#   my $t = Hotline::Test->new(http => $r->directive)->start;
#   $r->cli('PING');                       # redis-cli, returns its output
#   $r->kill; ...; $r->start;
#   $r->stop;
#
# Every wait is a poll with a bounded deadline.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

use Hotline::Port;

our $SERVER = $ENV{HOTLINE_REDIS_SERVER} || '/usr/bin/redis-server';
our $CLI    = $ENV{HOTLINE_REDIS_CLI}    || '/usr/bin/redis-cli';

my @RUNNING;

END {
    my $rc = $?;
    for my $r (@RUNNING) {
        $r->stop if $r && $r->{pid};
    }
    $? = $rc;
}

sub available { -x $SERVER && -x $CLI }

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        dir    => tempdir('hotline-redis-XXXXXX', TMPDIR => 1,
                          CLEANUP => !$ENV{HOTLINE_KEEP}),
        prefix => $o{prefix} // 'hotline:',
        extra  => $o{args} // [],
        password => $o{password},
    }, $class;
    $self->{port} = _free_port();
    return $self;
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{pid} }
sub url  { "redis://127.0.0.1:$_[0]{port}/0" }

# the nginx directive for this server (http context)
sub directive {
    my ($self, %o) = @_;
    my $p = $o{prefix} // $self->{prefix};
    return "hotline_redis " . $self->url . " prefix=$p;";
}

sub start {
    my ($self) = @_;
    croak "redis-server is not installed ($SERVER)" unless available();
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', "$self->{dir}/redis.log";
        open STDERR, '>&', \*STDOUT;
        # it ends with the test even if the test is killed
        my @pdeath = -x '/usr/bin/setpriv'
                     ? ('/usr/bin/setpriv', '--pdeathsig', 'KILL', '--') : ();
        exec @pdeath, $SERVER, '--port', $self->{port}, '--bind', '127.0.0.1',
             '--dir', $self->{dir}, '--save', '', '--appendonly', 'no',
             '--daemonize', 'no', '--protected-mode', 'yes',
             '--loglevel', 'warning',
             (defined $self->{password}
                  ? ('--requirepass', $self->{password}) : ()),
             @{ $self->{extra} }
            or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @RUNNING, $self unless grep { $_ == $self } @RUNNING;
    _poll(10, sub { $self->cli('PING') =~ /PONG/ })
        or croak "redis-server did not answer on $self->{port}:\n"
                 . $self->log;
    return $self;
}

# SIGKILL: Redis disappears at once, as in a crash
sub kill {
    my ($self) = @_;
    return unless $self->{pid};
    CORE::kill('KILL', $self->{pid});
    $self->_reap(0);
    # the port is closed once the process is gone
    _poll(10, sub {
        !IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                               PeerPort => $self->{port}, Timeout => 1);
    });
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    CORE::kill('TERM', $self->{pid});
    $self->_reap(1);
}

sub _reap {
    my ($self, $gentle) = @_;
    my $pid = $self->{pid} or return;
    my $done = _poll(10, sub { waitpid($pid, WNOHANG) != 0 });
    unless ($done) {
        CORE::kill('KILL', $pid);
        waitpid($pid, 0);
    }
    $self->{pid} = undef;
    @RUNNING = grep { $_ != $self } @RUNNING;
}

# redis-cli with arguments; returns its output (raw)
sub cli {
    my ($self, @args) = @_;
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec $CLI, '-h', '127.0.0.1', '-p', $self->{port}, '--raw',
             (defined $self->{password}
                  ? ('-a', $self->{password}, '--no-auth-warning') : ()),
             @args
            or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

# until every worker of an nginx (Hotline::Test) serves on the store:
# /health is one worker's own view, so 20 answers in a row must be 200
# (true at once if the configuration has no /health)
sub wait_store_up {
    my ($class, $t, $timeout) = @_;
    my $row = 0;
    my $deadline = time() + ($timeout // 20);
    while (time() < $deadline) {
        my $h = eval { $t->http_get('/health', timeout => 2) };
        # a configuration without the health location: nothing to ask
        return 1 if $h && $h->{status} && $h->{status} == 404;
        $row = ($h && $h->{status} && $h->{status} == 200) ? $row + 1 : 0;
        return 1 if $row >= 20;
        sleep 0.01;
    }
    return 0;
}

sub log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/redis.log" or return '';
    local $/;
    return <$fh> // '';
}

sub _free_port { Hotline::Port::take() }

sub _poll {
    my ($timeout, $cond) = @_;
    my $deadline = time() + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return 0 if time() >= $deadline;
        sleep 0.05;
    }
}

1;
