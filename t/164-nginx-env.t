#!/usr/bin/perl
# nginx takes NGINX in its environment as the sockets of a binary upgrade
# (and stays in the foreground).  The variable may also just be there: a
# script's (`make run NGINX=...` passed it on until .ci/demo.sh stopped
# doing so), a container's.  The embedded store then took its parent (a
# shell, a supervisor, here this test) for an old master whose workers
# would hand their calls over, and refused signaling (503) for as long as
# that parent lived.  It is a binary upgrade only when the old master's
# pid file, renamed to .oldbin, names the parent (t/89 runs a real one).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX ();
use Test::More;
use Hotline::Test qw(poll_until);

my $t = Hotline::Test->new;
plan skip_all => 'the embedded store\'s handoff (HOTLINE_STORE=redis)'
    if $t->store eq 'redis';

$t->write_conf;
my $pidfile = $t->prefix . '/logs/nginx.pid';

my $master = fork;
die "fork: $!" unless defined $master;
if ($master == 0) {
    $ENV{NGINX} = '/usr/sbin/nginx';
    # nginx's complaint about it, before the error log is open
    open(STDERR, '>', $t->prefix . '/logs/stderr.log');
    exec($t->_nginx_cmd('-g', 'master_process on;')) or POSIX::_exit(127);
}

END { kill 'KILL', $master if $master && kill 0, $master }

ok(poll_until(10, sub { -s $pidfile }), 'nginx runs (in the foreground)');
$t->{master} = $master;
ok(poll_until(10, sub { $t->worker_pids == 2 }), 'its workers too');

my $c = eval { $t->customer('Env') };
ok($c && $c->{welcome}{call_id}, 'a customer joins: no 503')
    or diag($@);
like($t->error_log, qr/NGINX is in nginx's environment, but no old master/,
     'the error log says why it is no binary upgrade');
$c->close_ws if $c;

kill 'QUIT', $master;
my $gone = 0;
eval {
    local $SIG{ALRM} = sub { die "alarm\n" };
    alarm 15;
    $gone = waitpid($master, 0) == $master;
    alarm 0;
};
ok($gone, 'nginx quits');
$t->{master} = undef;
$master = 0;

# nginx's own complaint about the variable is its emerg line
is_deeply([ grep { !/invalid socket number "\/usr\/sbin\/nginx" in NGINX/ }
            $t->bad_log_lines ], [], 'no other alerts');

done_testing;
