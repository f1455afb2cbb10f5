#!/usr/bin/perl
# The call journal as operators run it: without hotline_history_file it is
# hotline_calls.jsonl beside the access log this nginx was built with
# (/var/log/nginx on Debian), so a configuration passes `nginx -t` in a
# prefix that has no logs/ directory; the module creates it readable by
# owner and group only; and it is rotated like nginx's logs: after a rename and USR1
# the workers write the next calls to the new file, and the history
# location reads the new file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);

# --- the default ------------------------------------------------------------
{
    my ($log) = Hotline::Test::run_capture($Hotline::Test::NGINX, '-V')
                    =~ /--http-log-path=(\S+)/;
    $log //= 'logs/access.log';
    (my $dir = $log) =~ s{[^/]*$}{};
    my $t = Hotline::Test->new(journal => 0);
    my $journal = $dir =~ m{^/} ? "${dir}hotline_calls.jsonl"
                                : $t->prefix . "/${dir}hotline_calls.jsonl";
    # a prefix without logs/, as Debian's /usr/share/nginx
    my $conf = $t->prefix . '/conf/minimal.conf';
    Hotline::Test::write_file($conf, $t->render(<<'EOF'));
load_module %%MODULE%%;
pid %%PREFIX%%/nginx.pid;
events { }
http {
    hotline_jwt_secret_file %%SECRET_FILE%%;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /ws/customer { hotline_signaling customer; }
    }
}
EOF
    rmdir $t->prefix . '/logs' or die "rmdir: $!";
    my $out = Hotline::Test::run_capture($Hotline::Test::NGINX, '-t',
        '-p', $t->prefix . '/', '-c', $conf,
        '-e', $t->prefix . '/error.log');
    ok($? == 0, 'nginx -t passes without hotline_history_file, in a prefix '
                . 'without logs/') or diag($out);

    # the master holds it open: that is the journal the workers write
    my @cmd = ($Hotline::Test::NGINX, '-p', $t->prefix . '/', '-c', $conf,
               '-e', $t->prefix . '/error.log');
    $out = Hotline::Test::run_capture(@cmd);
    ok($? == 0, 'and starts') or diag($out);
    my $pidfile = $t->prefix . '/nginx.pid';
    my $pid = poll_until(10, sub { -s $pidfile && 0 + Hotline::Test::read_file($pidfile) });
    my @open = map { readlink($_) // () } glob("/proc/$pid/fd/*");
    ok((grep { $_ eq $journal } @open), "the default journal is $journal")
        or diag(join ' ', @open);
    Hotline::Test::run_capture(@cmd, '-s', 'stop');
    ok(poll_until(10, sub { !kill(0, $pid) }), 'stopped');
}

# --- rotation -----------------------------------------------------------------
my $t = Hotline::Test->new(
    server => 'location = /history { hotline_history; }');
# the workers reopen the journal themselves after USR1: they must reach it
chmod 0711, $t->prefix;
$t->start;

my $journal = $t->prefix . '/logs/hotline_calls.jsonl';
is((stat $journal)[2] & 0777, 0640, 'the journal is created with mode 0640');

sub end_call {
    my ($name) = @_;
    my $c = $t->customer($name);
    $c->send_json({ type => 'cancel' });
    $c->wait_for('ended', 5) or die "no ended for $name";
}

sub history_names {
    my $r = $t->http_get('/history');
    return [ map { $_->{customer} } @{ json_decode($r->{body})->{calls} } ];
}

end_call('Before');
ok(poll_until(5, sub { Hotline::Test::read_file($journal) =~ /"Before"/ }),
   'a call in the journal');
is_deeply(history_names(), ['Before'], 'and in the history');

rename $journal, "$journal.1" or die "rename: $!";
kill 'USR1', $t->master_pid;
ok(poll_until(10, sub { -f $journal }), 'USR1: the master reopens the journal');
my @workers = $t->worker_pids;
ok(poll_until(10, sub {
    for my $w (@workers) {
        return 0 unless grep { (readlink($_) // '') eq $journal }
                        glob("/proc/$w/fd/*");
    }
    1;
}), 'and every worker writes to the new file');

end_call('After');
ok(poll_until(5, sub { Hotline::Test::read_file($journal) =~ /"After"/ }),
   'the next call goes to the new file');
unlike(Hotline::Test::read_file("$journal.1"), qr/"After"/,
       'not to the rotated one');
like(Hotline::Test::read_file("$journal.1"), qr/"Before"/,
     'which keeps the earlier call');
is_deeply(history_names(), ['After'],
          'the history reads the new file, on every worker')
    for 1 .. 4;

# --- a reload that fails, then a worker that is started again ------------------
# (the journal of the running configuration, not of the one that failed:
# a respawned worker used to write through the failed one's closed file)
{
    my $conf = Hotline::Test::read_file($t->conf_file);
    # after the http block: its configuration is made, then thrown away
    Hotline::Test::write_file($t->conf_file,
                              $conf . "\nhotline_no_such_directive 1;\n");
    my $before = $t->error_log;
    kill 'HUP', $t->master_pid;
    ok(poll_until(10, sub { $t->error_log =~ /hotline_no_such_directive/ }),
       'a reload with a bad configuration fails');
    Hotline::Test::write_file($t->conf_file, $conf);
    my @old = $t->worker_pids;
    kill 'KILL', $old[0];
    ok(poll_until(10, sub {
        my @w = $t->worker_pids;
        @w == @old && !grep { $_ == $old[0] } @w }), 'a worker is started again');
    $t->allow_log(qr/exited on signal 9|unknown directive "hotline_no_such_directive"/);
    # every worker (the new one among them) writes the journal
    for my $i (1 .. 8) {
        end_call("Respawn $i");
    }
    ok(poll_until(5, sub {
        my $j = Hotline::Test::read_file($journal);
        !grep { $j !~ /"Respawn $_"/ } 1 .. 8 }),
       'the calls are in the journal') or diag(Hotline::Test::read_file($journal));
    unlike($t->error_log, qr/hotline.*(?:write|journal).*failed/i,
           'no failed journal write');
}

$t->stop;

done_testing;
