package Hotline::Redis;

# A private redis-server for the tests of the Redis store: Debian's
# /usr/bin/redis-server on a free loopback port, in a temporary directory,
# without persistence (--save '' --appendonly no) unless new(aof => 1)
# (appendonly yes; aof => 'always': appendfsync always).  kill() ends it
# with SIGKILL (an outage), start() brings it back on the same port (empty
# without persistence, from its AOF with it); restart() is a clean
# shutdown (SIGTERM: the AOF is flushed) and a start.
#
#   my $r = Hotline::Redis->new->start;     # new(password => 'x'): requirepass
#   my $t = Hotline::Test->new(http => $r->directive)->start;
#   $r->cli('PING');                       # redis-cli, returns its output
#   $r->kill; ...; $r->start;
#   Hotline::Redis->wait_store_down($t);  # every worker saw it go
#   Hotline::Redis->wait_store_up($t);    # every worker serves again
#   $r->stop;
#
# High availability (Sentinel): a replica of a server, and sentinels that
# watch it (Debian's redis-sentinel):
#
#   my $rep = $r->replica->start;                 # REPLICAOF $r
#   my @s = map { Hotline::Redis->new(sentinel => { master => $r,
#                     name => 'hl', quorum => 2 })->start } 1 .. 3;
#   Hotline::Redis->sentinel_url(\@s, 'hl');      # sentinel://...,.../hl
#   $s[0]->master_of('hl');                      # "ip:port" it says
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
use Test::More ();

our $SERVER = $ENV{HOTLINE_REDIS_SERVER} || '/usr/bin/redis-server';
our $CLI    = $ENV{HOTLINE_REDIS_CLI}    || '/usr/bin/redis-cli';
our $SENTINEL = $ENV{HOTLINE_REDIS_SENTINEL} || '/usr/bin/redis-sentinel';

my @RUNNING;

END {
    my $rc = $?;
    for my $r (@RUNNING) {
        $r->stop if $r && $r->{pid};
    }
    $? = $rc;
}

sub available { -x $SERVER && -x $CLI }
sub sentinel_available { available() && -x $SENTINEL }

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        dir    => tempdir('hotline-redis-XXXXXX', TMPDIR => 1,
                          CLEANUP => !$ENV{HOTLINE_KEEP}),
        prefix => $o{prefix} // 'hotline:',
        extra  => $o{args} // [],
        password => $o{password},
        aof    => $o{aof},
        sentinel => $o{sentinel},
    }, $class;
    $self->{port} = _free_port();
    return $self;
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub pid  { $_[0]{pid} }

# url(user => 'name'): as that ACL user (add_user)
sub url {
    my ($self, %o) = @_;
    my $auth = $o{user} ? "$o{user}:$self->{users}{ $o{user} }@" : '';
    return "redis://${auth}127.0.0.1:$self->{port}/0";
}

# the nginx directive for this server (http context); user => as above
sub directive {
    my ($self, %o) = @_;
    my $p = $o{prefix} // $self->{prefix};
    return "hotline_redis " . $self->url(%o) . " prefix=$p;";
}

# An ACL user for one nginx, so that a test can cut that node off Redis
# (cut: the user may no longer log in and its connections are killed, as
# when the network between them fails) and let it back (admit).  Users
# live until Redis restarts.
sub add_user {
    my ($self, $name) = @_;
    # (again after a restart: the same password)
    my $pw = $self->{users}{$name}
             //= 'pw' . join '', map { ('a' .. 'z')[rand 26] } 1 .. 12;
    my $out = $self->cli('ACL', 'SETUSER', $name, 'on', ">$pw", '~*', '&*',
                         '+@all');
    croak "ACL SETUSER $name: $out" unless $out =~ /OK/;
    return $self;
}

sub cut {
    my ($self, $name) = @_;
    $self->cli('ACL', 'SETUSER', $name, 'off');
    $self->cli('CLIENT', 'KILL', 'USER', $name);
    return $self;
}

sub admit {
    my ($self, $name) = @_;
    $self->cli('ACL', 'SETUSER', $name, 'on');
    return $self;
}

# a replica of this server (not started): new() options, REPLICAOF this
sub replica {
    my ($self, %o) = @_;
    return Hotline::Redis->new(%o, args => [ '--replicaof', '127.0.0.1',
                                             $self->{port},
                                             @{ $o{args} || [] } ]);
}

# until this replica is in sync with its master
sub wait_synced {
    my ($self, $timeout) = @_;
    return _poll($timeout // 10, sub {
        $self->cli('INFO', 'replication') =~ /master_link_status:up/;
    });
}

# sentinel://a,b,c/name for sentinels
sub sentinel_url {
    my ($class, $sentinels, $name) = @_;
    return 'sentinel://' . join(',', map { "127.0.0.1:$_->{port}" }
                                     @$sentinels) . "/$name";
}

# what a sentinel says of the master of a name: "ip:port", or ''
sub master_of {
    my ($self, $name) = @_;
    my @a = split /\s+/, $self->cli('SENTINEL', 'get-master-addr-by-name',
                                    $name);
    return @a == 2 ? "$a[0]:$a[1]" : '';
}

# a sentinel: its configuration file (it rewrites it) in its directory
sub _start_sentinel {
    my ($self) = @_;
    my $s = $self->{sentinel};
    my $conf = "$self->{dir}/sentinel.conf";
    unless (-f $conf) {
        open my $fh, '>', $conf or croak "$conf: $!";
        print $fh "port $self->{port}\nbind 127.0.0.1\n",
                  "dir $self->{dir}\n",
                  "sentinel monitor $s->{name} 127.0.0.1 ",
                  $s->{master}->port, " ", $s->{quorum} // 2, "\n",
                  "sentinel down-after-milliseconds $s->{name} ",
                  $s->{down_after} // 1000, "\n",
                  "sentinel failover-timeout $s->{name} 10000\n",
                  "sentinel parallel-syncs $s->{name} 1\n";
        close $fh;
    }
    return $self->_spawn($SENTINEL, $conf, '--loglevel', 'notice');
}

# runs the command, logging to redis.log, until it answers PING
sub _spawn {
    my ($self, @cmd) = @_;
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', "$self->{dir}/redis.log";
        open STDERR, '>&', \*STDOUT;
        # it ends with the test even if the test is killed
        my @pdeath = -x '/usr/bin/setpriv'
                     ? ('/usr/bin/setpriv', '--pdeathsig', 'KILL', '--') : ();
        exec @pdeath, @cmd or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @RUNNING, $self unless grep { $_ == $self } @RUNNING;
    _poll(10, sub { $self->cli('PING') =~ /PONG/ })
        or croak "$cmd[0] did not answer on $self->{port}:\n" . $self->log;
    return $self;
}

sub start {
    my ($self) = @_;
    croak "redis-server is not installed ($SERVER)" unless available();
    $self->{started} = time();
    return $self->_start_sentinel if $self->{sentinel};
    return $self->_spawn($SERVER, '--port', $self->{port},
        '--bind', '127.0.0.1', '--dir', $self->{dir}, '--save', '',
        '--appendonly', $self->{aof} ? 'yes' : 'no',
        ($self->{aof} && $self->{aof} eq 'always'
             ? ('--appendfsync', 'always') : ()),
        '--daemonize', 'no', '--protected-mode', 'yes',
        '--loglevel', 'warning',
        (defined $self->{password} ? ('--requirepass', $self->{password})
                                   : ()),
        @{ $self->{extra} });
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

# a clean shutdown and a start on the same port and directory
sub restart {
    my ($self) = @_;
    $self->stop;
    return $self->start;
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

# every worker's link to the store, from /health (docs/redis.md):
# { pid => { status => up|connecting|down, for, failures, retry_in } },
# with the answer's HTTP status in {-status} and the node's store status in
# {-store}; undef without an answer, {-status => 404} without /health
sub store_workers {
    my ($class, $t) = @_;
    my $h = eval { $t->http_get('/health', timeout => 2) };
    return undef unless $h && $h->{status};
    my $j = eval { Hotline::Test::json_decode($h->{body}) } || {};
    my %w = map { $_->{pid} => $_ } @{ $j->{store}{workers} || [] };
    $w{-status} = $h->{status};
    $w{-store} = $j->{store}{status} // '';
    return \%w;
}

# until every worker of an nginx (Hotline::Test) serves on the store:
# /health is 200 only when every worker of the node has its store up, and
# lists each worker, so every live worker must be there, up (a worker that
# has just started is not listed yet).  True at once if the configuration
# has no /health.
sub wait_store_up {
    my ($class, $t, $timeout) = @_;
    my $w;
    my $ok = _poll($timeout // 20, sub {
        $w = $class->store_workers($t) or return 0;
        return 1 if $w->{-status} == 404;
        return 0 unless $w->{-status} == 200;
        return !grep { ($w->{$_}{status} // '') ne 'up' } $t->worker_pids;
    }, 0.01);
    Test::More::diag('store not up on every worker: '
                     . Hotline::Test::json_encode($w)) unless $ok;
    return $ok;
}

# after wait_store_up: milliseconds from the last start() of this server
# to the moment the last worker of the nginx was up (from the workers'
# "for" in /health), or undef; includes redis-server's own start-up
sub recovery_ms {
    my ($self, $t) = @_;
    my $w = Hotline::Redis->store_workers($t) or return undef;
    my $asked = time();
    my @up = map { $asked - $w->{$_}{for} / 1000 }
             grep { !/^-/ && $w->{$_}{status} eq 'up' } keys %$w;
    return undef unless @up && defined $self->{started};
    my ($last) = sort { $b <=> $a } @up;
    return int(($last - $self->{started}) * 1000 + 0.5);
}

# until every worker of an nginx has seen Redis go: /health 503 with
# store.status "down" (none of them is up)
sub wait_store_down {
    my ($class, $t, $timeout) = @_;
    my $w;
    my $ok = _poll($timeout // 10, sub {
        $w = $class->store_workers($t) or return 0;
        return $w->{-status} == 503 && $w->{-store} eq 'down';
    }, 0.01);
    Test::More::diag('store not down on every worker: '
                     . Hotline::Test::json_encode($w)) unless $ok;
    return $ok;
}

sub log {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/redis.log" or return '';
    local $/;
    return <$fh> // '';
}

sub _free_port { Hotline::Port::take() }

sub _poll {
    my ($timeout, $cond, $step) = @_;
    my $deadline = time() + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return 0 if time() >= $deadline;
        sleep $step // 0.05;
    }
}

1;
