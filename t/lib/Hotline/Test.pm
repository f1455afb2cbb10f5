package Hotline::Test;

# Test harness for ngx_http_hotline_module: writes an nginx config from a
# template, runs the stock nginx (master + 2 workers) with the module on free
# loopback ports in a private prefix, and gives the tests HTTP, WebSocket
# (Protocol::WebSocket, an independent implementation), raw-frame and JWT
# (Crypt::JWT) helpers.  stop() fails the test when the error log shows an
# [alert]/[emerg]/[crit] or a crashed worker.
#
#   my $t = Hotline::Test->new(http => 'hotline_resume_timeout 1s;')->start;
#   my $c = $t->customer('Ann');          # joined, welcome + position read
#   my $a = $t->agent(sub => 'bob');      # welcome + queue read
#   $a->send_json({type => 'accept', id => 'a1'});
#   my $m = $c->wait_for('accepted');
#   $t->stop;
#
# Every wait is a poll with a bounded deadline; nothing sleeps and hopes.
#
# new() options: conf (a whole template, default $DEFAULT_CONF), and text for
# its placeholders: main, http, server, servers (extra server blocks), listen
# (listen parameters), origins (more allowed origins), workers (2),
# wait_store (1: with Redis, start and reload wait for every worker to be
# connected; 0: not).  Other
# placeholders: %%PORT%% %%PORT2%% %%PORT3%% (free ports), %%PREFIX%%,
# %%MODULE%%, %%SECRET_FILE%% (HS256 key, 48 chars + newline), %%ORIGIN%%
# (http://127.0.0.1:PORT), %%ROOT%% (the repository).  Unless journal => 0,
# a configuration that loads the module and names no hotline_history_file
# (hotline_state_file) gets one in the prefix's logs/.
#
# TLS (tls => 1, or HOTLINE_TLS=1 for every test, `make test-tls`): the
# listener of %%PORT%% gets "ssl", the http block a certificate made for
# 127.0.0.1 at test time (%%TLS_CERT%%, %%TLS_KEY%%), and every client of the
# harness speaks TLS (IO::Socket::SSL, verifying that certificate) to each
# port the configuration lists with "ssl"; origin() is then https://, and
# %%SCHEME%% (http or https) is the scheme of %%PORT%% for a proxy_pass.
#
# Sanitizers (HOTLINE_ASAN=<dir>, `make test-asan`): HOTLINE_NGINX is
# t/lib/asan-nginx (the stock nginx with libasan preloaded) and
# HOTLINE_MODULE a build with -fsanitize=address,undefined; every process
# writes its reports in a directory of this test file's own under <dir>,
# and a report fails stop()'s error log test and the test file's exit code.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Digest::SHA qw(sha1_base64);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64 encode_base64url);
use Hotline::Port;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_RCVBUF IPPROTO_TCP TCP_NODELAY);
use Test::More ();
use Time::HiRes qw(time sleep);

use Crypt::JWT qw(encode_jwt);
use IO::Socket::SSL ();
use Protocol::WebSocket::Frame;
use Protocol::WebSocket::Client;

our @EXPORT_OK = qw(raw_frame json_encode json_decode poll_until
                    random_key ws_accept_for);

# nginx reads NGINX in its environment as the sockets a binary upgrade
# hands over: with it (`make test NGINX=...` exports it) every nginx of
# the tests would stay in the foreground and wait for the calls of old
# workers that are not there
delete $ENV{NGINX};

our $ROOT   = abs_path(dirname(__FILE__) . '/../../..');
our $NGINX  = $ENV{HOTLINE_NGINX}  || '/usr/sbin/nginx';
our $MODULE = $ENV{HOTLINE_MODULE}
              || "$ROOT/build/objs/ngx_http_hotline_module.so";

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { $JSON->decode($_[0]) }

my @RUNNING;    # servers to stop on exit, whatever happened

our $ASAN_DIR;
my (%ASAN_SEEN, @ASAN_REPORTS, @ALL);

if ($ENV{HOTLINE_ASAN}) {
    my ($name) = $0 =~ m{([^/]+?)(?:\.t)?$};
    $ASAN_DIR = "$ENV{HOTLINE_ASAN}/$name.$$";
    # the workers write there too, as nginx's user
    make_path($ASAN_DIR, { mode => 01777 });
    chmod 01777, $ASAN_DIR;
    # the last log_path wins: the processes of this test file write here
    for my $v (qw(ASAN_OPTIONS UBSAN_OPTIONS)) {
        my $tag = lc((split /_/, $v)[0]);
        $ENV{$v} = join ':', grep { length } $ENV{$v} // '',
                                  "log_path=$ASAN_DIR/$tag";
    }
}

# UBSan in a worker writes to stderr, the error log, and LeakSanitizer
# after it: the sanitizer lines of this instance's error log not returned
# before (the log is kept beside the reports)
sub _sanitizer_log {
    my ($self) = @_;
    return () unless $ASAN_DIR;
    my @l = grep { /runtime error:|ERROR: \w+Sanitizer|^SUMMARY: / }
            split /\n/, $self->error_log;
    return () if @l <= ($self->{asan_lines} // 0);
    my @new = @l[($self->{asan_lines} // 0) .. $#l];
    $self->{asan_lines} = @l;
    my $copy = "$ASAN_DIR/error.log.$self->{port}";
    write_file($copy, $self->error_log);
    $ASAN_SEEN{$copy} = 1;
    return map { "$copy: $_" } @new;
}

# the first lines of the sanitizer reports not returned before
sub sanitizer_reports {
    return () unless $ASAN_DIR;
    my @r;
    for my $f (sort glob("$ASAN_DIR/*")) {
        next if $ASAN_SEEN{$f};
        my @l = grep { /ERROR|runtime error|WARNING/ }
                split /\n/, read_file($f);
        next unless @l;
        $ASAN_SEEN{$f} = 1;
        push @r, "$f: $l[0]";
    }
    return @r;
}

# END blocks do not run when a signal kills perl: turn the usual ones into
# an exit so no nginx is left behind; a closed pipe is an error, not death
$SIG{PIPE} = 'IGNORE';
$SIG{$_} = sub { exit 129 } for qw(INT TERM HUP);

END {
    my $rc = $?;
    for my $t (@RUNNING) {
        $t->_kill_quietly if $t && $t->{master};
    }
    if ($ASAN_DIR) {
        push @ASAN_REPORTS, map({ $_->_sanitizer_log } @ALL),
                            sanitizer_reports();
        if (@ASAN_REPORTS) {
            print STDERR "# sanitizer report: $_\n" for @ASAN_REPORTS;
            $rc ||= 1;
        }
    }
    $? = $rc;
}

# ---------------------------------------------------------------------------
# configuration

our $DEFAULT_CONF = <<'EOF';
load_module %%MODULE%%;
worker_processes %%WORKERS%%;
pid %%PREFIX%%/logs/nginx.pid;
error_log %%PREFIX%%/logs/error.log info;
events { worker_connections 1024; }
%%MAIN%%
http {
    access_log %%PREFIX%%/logs/access.log;
    client_body_temp_path %%PREFIX%%/tmp/body;
    proxy_temp_path %%PREFIX%%/tmp/proxy;
    fastcgi_temp_path %%PREFIX%%/tmp/fastcgi;
    uwsgi_temp_path %%PREFIX%%/tmp/uwsgi;
    scgi_temp_path %%PREFIX%%/tmp/scgi;

    hotline_zone 16m;
    hotline_jwt_secret_file %%SECRET_FILE%%;
    hotline_allowed_origins %%ORIGIN%% %%ORIGINS%%;
%%HTTP%%
    server {
        listen 127.0.0.1:%%PORT%% %%LISTEN%%;
%%SERVER%%
        location = /ws/customer { hotline_signaling customer; }
        location = /ws/agent    { hotline_signaling agent; }
        location = /health      { hotline_status; }
        location = /metrics     { hotline_metrics; }
        location / { return 200 "ok\n"; }
    }
%%SERVERS%%
}
EOF

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        template => $o{conf} // $DEFAULT_CONF,
        vars     => {
            MAIN    => $o{main}    // '',
            HTTP    => $o{http}    // '',
            SERVER  => $o{server}  // '',
            SERVERS => $o{servers} // '',
            LISTEN  => $o{listen}  // '',
            ORIGINS => $o{origins} // '',
            WORKERS => $o{workers} // 2,
        },
        workers  => $o{workers} // 2,
        secret   => $o{secret} // random_string(48),
        wait_store => $o{wait_store} // 1,
        tls      => $o{tls} // $ENV{HOTLINE_TLS} // 0,
        journal  => $o{journal} // 1,
    }, $class;

    croak "module not built: $MODULE (run make in $ROOT)" unless -f $MODULE;

    $self->{prefix} = tempdir("hotline-t-XXXXXX", TMPDIR => 1,
                              CLEANUP => !$ENV{HOTLINE_KEEP});
    make_path(map { "$self->{prefix}/$_" } qw(logs conf tmp));
    # sanitizers: a worker (nginx's user) reads the module's symbols
    chmod 0755, $self->{prefix} if $ASAN_DIR;

    $self->{secret_file} = "$self->{prefix}/conf/jwt.key";
    # the trailing newline must be stripped by the module
    write_file($self->{secret_file}, $self->{secret} . "\n");

    $self->{port}  = free_port();
    $self->{port2} = free_port();
    $self->{port3} = free_port();
    $self->{vars}{PORT}        = $self->{port};
    $self->{vars}{PORT2}       = $self->{port2};
    $self->{vars}{PORT3}       = $self->{port3};
    $self->{vars}{PREFIX}      = $self->{prefix};
    # a private copy: a rebuild during the run (or a reload) never mixes
    # two builds in one test
    make_path("$self->{prefix}/modules");
    $self->{module} = "$self->{prefix}/modules/ngx_http_hotline_module.so";
    # (read until two reads agree: the build may be rewriting the file)
    my ($so, $again) = (read_file($MODULE), '');
    for (1 .. 50) {
        $again = read_file($MODULE);
        last if $again eq $so;
        $so = $again;
        sleep 0.1;
    }
    write_file($self->{module}, $so);
    $self->{vars}{MODULE}      = $self->{module};
    $self->{vars}{SECRET_FILE} = $self->{secret_file};
    $self->{tls_ports} = { $self->{port} => 1 } if $self->{tls};
    $self->{vars}{SCHEME}      = $self->{tls} ? 'https' : 'http';
    $self->{vars}{ORIGIN}      = $self->origin;
    $self->{vars}{ROOT}        = $ROOT;
    $self->{conf} = "$self->{prefix}/conf/nginx.conf";
    $self->_use_redis if ($ENV{HOTLINE_STORE} // '') eq 'redis';
    push @ALL, $self if $ASAN_DIR;
    return $self;
}

# HOTLINE_STORE=redis: the same tests on the Redis store (docs/redis.md).
# One redis-server per test file (Hotline::Redis), a key prefix of its own
# per nginx instance; a configuration that names hotline_redis is left as
# it is.  $t->store says which backend the instance uses.
my $REDIS;

sub _use_redis {
    my ($self) = @_;
    return if join('', $self->{template}, values %{ $self->{vars} })
              =~ /hotline_redis/;
    require Hotline::Redis;
    $REDIS //= Hotline::Redis->new->start;
    my $d = $REDIS->directive(prefix => 'hl' . random_string(8) . ':');
    $self->{template} =~ s/^(http \{\n)/$1    $d\n/m;
    $self->{redis} = $REDIS;
}

sub store { $_[0]{redis} ? 'redis' : 'shm' }

# a self-signed certificate for 127.0.0.1 (ECDSA P-256, one day), made when
# a configuration names %%TLS_CERT%% or %%TLS_KEY%% (TLS mode does)
sub _make_certificate {
    my ($self) = @_;
    my ($crt, $key) = map { "$self->{prefix}/conf/tls.$_" } qw(crt key);
    my $out = run_capture('openssl', 'req', '-x509', '-newkey', 'ec',
        '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', $key, '-out', $crt);
    croak "openssl req: $out" if $? || !-s $crt;
    @{ $self->{vars} }{qw(TLS_CERT TLS_KEY)} = ($crt, $key);
    $self->{tls_cert} = $crt;
}

# TLS mode: "ssl" on the listener of %%PORT%% and the certificate in the
# http block (a server's own ssl_certificate still wins)
sub _tls_conf {
    my ($self, $text) = @_;
    $text =~ s{(listen\s+127\.0\.0\.1:%%PORT%%(?:\s[^;]*)?);}
              { my $l = $1; $l =~ /\bssl\b/ ? "$l;" : "$l ssl;" }ge;
    $text =~ s{^(\s*http\s*\{[^\n]*\n)}
              {$1    ssl_certificate %%TLS_CERT%%;\n}m
        unless $text =~ /%%TLS_CERT%%/;
    $text =~ s{^(\s*http\s*\{[^\n]*\n)}
              {$1    ssl_certificate_key %%TLS_KEY%%;\n}m
        unless $text =~ /%%TLS_KEY%%/;
    return $text;
}

sub tls { $_[0]{tls} }

# does the configuration nginx runs listen with TLS on this port?
sub is_tls {
    my ($self, $port) = @_;
    return $self->{tls_ports}{ $port // $self->{port} } ? 1 : 0;
}

sub port        { $_[0]{port} }
sub port2       { $_[0]{port2} }
sub port3       { $_[0]{port3} }
sub prefix      { $_[0]{prefix} }
sub secret      { $_[0]{secret} }
sub secret_file { $_[0]{secret_file} }
sub origin {
    my ($self, $port) = @_;
    $port //= $self->{port};
    return ($self->is_tls($port) ? 'https' : 'http') . "://127.0.0.1:$port";
}
sub conf_file   { $_[0]{conf} }
sub module_file { $_[0]{module} }
sub error_log_file { "$_[0]{prefix}/logs/error.log" }

sub render {
    my ($self, $text) = @_;
    $text //= $self->{template};
    $text = $self->_tls_conf($text) if $self->{tls};
    # the call journal of this instance, not the system's default
    # (beside nginx's access log: /var/log/nginx on Debian)
    $text =~ s{^(\s*http\s*\{[^\n]*\n)}
              {$1    hotline_history_file %%PREFIX%%/logs/hotline_calls.jsonl;\n}m
        if $self->{journal}
           && $text =~ /%%MODULE%%|ngx_http_hotline_module/
           && $text !~ /hotline_history_file/;
    # (the handoff of the calls to the next start, hotline_handoff_file,
    # is beside the pid file by default: logs/nginx.hotline_handoff.state)
    # and so is the state journal (docs/auth.md, hotline_state_file)
    $text =~ s{^(\s*http\s*\{[^\n]*\n)}
              {$1    hotline_state_file %%PREFIX%%/logs/hotline_state.journal;\n}m
        if $self->{journal}
           && $text =~ /%%MODULE%%|ngx_http_hotline_module/
           && $text !~ /hotline_state_file/;
    # sanitizers: the workers keep their options (nginx empties the
    # environment) and a binary upgrade the preloaded runtime
    $text = join('', map { "env $_;\n" }
                     qw(LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS))
            . $text
        if $ASAN_DIR && $text =~ /%%MODULE%%|ngx_http_hotline_module/;
    # (also where an option's value names them: servers => ...)
    $self->_make_certificate
        if !$self->{tls_cert}
           && join('', $text, grep { defined } values %{ $self->{vars} })
              =~ /%%TLS_(?:CERT|KEY)%%/;
    # twice: option values (http, servers, ...) may hold placeholders too
    for (1 .. 2) {
        $text =~ s/%%(\w+)%%/exists $self->{vars}{$1} ? $self->{vars}{$1}
                             : croak "unknown placeholder %%$1%%"/ge;
    }
    return $text;
}

sub write_conf {
    my ($self, $text) = @_;
    my $conf = $self->render($text);
    write_file($self->{conf}, $conf);
    # the ports the clients reach with TLS
    my %tls;
    while ($conf =~ /^\s*listen\s+(?:[\d.]+:)?(\d+)\b([^;]*);/mg) {
        my ($port, $params) = ($1, $2);
        $tls{$port} = 1 if $params =~ /\bssl\b/;
    }
    $self->{tls_ports} = \%tls;
    return $self;
}

sub _nginx_cmd {
    my ($self, @args) = @_;
    return ($NGINX, '-p', "$self->{prefix}/", '-c', $self->{conf},
            '-e', "$self->{prefix}/logs/error.log", @args);
}

# nginx -t on the current (or a given) config text: (ok, output)
sub nginx_t {
    my ($self, $text, $conf_path) = @_;
    my $conf = $conf_path // $self->{conf};
    write_file($conf, $self->render($text)) if defined $text;
    my @cmd = ($NGINX, '-t', '-p', "$self->{prefix}/", '-c', $conf,
               '-e', "$self->{prefix}/logs/error.log");
    my $out = run_capture(@cmd);
    return ($? == 0, $out);
}

sub start {
    my ($self) = @_;
    $self->write_conf;
    my $out = run_capture($self->_nginx_cmd(
        '-g', 'daemon on; master_process on;'));
    croak "nginx failed to start ($?):\n$out\n" . $self->error_log_tail
        if $?;
    my $pidfile = "$self->{prefix}/logs/nginx.pid";
    poll_until(10, sub { -s $pidfile })
        or croak "nginx wrote no pid file\n" . $self->error_log_tail;
    $self->{master} = 0 + read_file($pidfile);
    push @RUNNING, $self;
    poll_until(10, sub { my @w = $self->worker_pids; @w == $self->{workers} })
        or croak "nginx workers did not start\n" . $self->error_log_tail;
    poll_until(10, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{port},
                                      Timeout => 1);
        $s ? (close($s), 1) : 0;
    }) or croak "nginx does not listen on $self->{port}";
    $self->_wait_store;
    return $self;
}

# on the Redis store (HOTLINE_STORE=redis, or a hotline_redis directive in
# the configuration) a worker takes requests once it is connected: wait
# until every worker is (new(wait_store => 0): a test that expects it not
# to connect)
sub _wait_store {
    my ($self) = @_;
    return unless $self->{wait_store};
    return unless $self->{redis} || $self->render =~ /^\s*hotline_redis\s/m;
    require Hotline::Redis;
    Hotline::Redis->wait_store_up($self);
}

sub master_pid { $_[0]{master} }

# live (not shutting down) worker pids of the master
sub worker_pids {
    my ($self) = @_;
    return () unless $self->{master};
    my @pids;
    for my $line (`ps --ppid $self->{master} -o pid=,args=`) {
        next unless $line =~ /^\s*(\d+)\s+(.*)$/;
        my ($pid, $args) = ($1, $2);
        next unless $args =~ /worker process/;
        next if $args =~ /shutting down/;
        push @pids, $pid;
    }
    @pids = sort { $a <=> $b } @pids;
    return @pids;
}

# all children of the master, including workers that are shutting down
sub child_pids {
    my ($self) = @_;
    my @p = map { /(\d+)/ ? $1 : () } `ps --ppid $self->{master} -o pid=`;
    @p = sort { $a <=> $b } @p;
    return @p;
}

# nginx -s reload, then wait until a full new generation of workers runs
# and answers.  Returns the new worker pids.
sub reload {
    my ($self, $text) = @_;
    $self->write_conf($text);
    my %old = map { $_ => 1 } $self->child_pids;
    my $out = run_capture($self->_nginx_cmd('-s', 'reload'));
    croak "nginx -s reload failed: $out" if $?;
    my @new;
    poll_until(15, sub {
        @new = grep { !$old{$_} } $self->worker_pids;
        @new == $self->{workers};
    }) or croak "no new workers after reload\n" . $self->error_log_tail;
    # and the old ones no longer accept: a connection they took would be
    # refused as the worker shuts down
    poll_until(15, sub {
        my %live = map { $_ => 1 } $self->worker_pids;
        !grep { $live{$_} } keys %old;
    }) or croak "old workers still accept after reload";
    poll_until(10, sub {
        my $r = eval { $self->http_get('/', timeout => 2) };
        $r && $r->{status};
    }) or croak "nginx does not answer after reload";
    $self->_wait_store;
    $self->{old_workers} = [ keys %old ];
    return @new;
}

# wait until the workers of the previous generation have exited
sub wait_old_workers_gone {
    my ($self, $timeout) = @_;
    my @old = @{ $self->{old_workers} || [] };
    return poll_until($timeout // 10, sub {
        !grep { kill(0, $_) } @old;
    });
}

sub error_log {
    my ($self) = @_;
    return -f $self->error_log_file ? read_file($self->error_log_file) : '';
}

sub error_log_tail {
    my ($self) = @_;
    my @l = split /\n/, $self->error_log;
    @l = @l[-30 .. -1] if @l > 30;
    return join("\n", @l) . "\n";
}

# lines of the error log that must never appear
# (lines matching one of $self->{log_allow}, set by a test that provokes
# them on purpose, e.g. killing a worker, are left out)
sub bad_log_lines {
    my ($self) = @_;
    my @allow = @{ $self->{log_allow} || [] };
    return grep {
        my $l = $_;
        (/\[(?:alert|emerg|crit)\]/ || /segfault/i || /exited on signal/)
            && !grep { $l =~ $_ } @allow
    } split /\n/, $self->error_log;
}

sub allow_log { my ($self, $re) = @_; push @{ $self->{log_allow} }, $re }

# stop nginx (fast: -s stop; quit => 1: graceful -s quit), wait for the
# master to exit, then fail on alert/emerg/crit/crash lines in the error log
sub stop {
    my ($self, %o) = @_;
    return unless $self->{master};
    my $master = $self->{master};
    run_capture($self->_nginx_cmd('-s', $o{quit} ? 'quit' : 'stop'));
    my $gone = poll_until(15, sub { !kill(0, $master) });
    unless ($gone) {
        kill 'KILL', $master;
        kill 'KILL', $self->child_pids;
    }
    $self->{master} = undef;
    @RUNNING = grep { $_ != $self } @RUNNING;
    Test::More::ok($gone, 'nginx ' . ($o{quit} ? 'quit' : 'stopped')
                          . ' within 15s');
    my @reports = ($self->_sanitizer_log, sanitizer_reports());
    push @ASAN_REPORTS, @reports;
    my @bad = ($self->bad_log_lines, @reports);
    Test::More::ok(!@bad, 'error log has no alert/emerg/crit/crash'
                          . ($ASAN_DIR ? ', no sanitizer report' : ''))
        or Test::More::diag(join "\n", @bad);
    return $self;
}

sub _kill_quietly {
    my ($self) = @_;
    my $master = $self->{master} or return;
    kill 'TERM', $master;
    poll_until(5, sub { !kill(0, $master) }) or kill 'KILL', $master;
    $self->{master} = undef;
}

# ---------------------------------------------------------------------------
# HTTP

sub connect_tcp {
    my ($self, %o) = @_;
    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $o{port} // $self->{port},
        Proto    => 'tcp',
        Timeout  => 5,
        # from another loopback address (127.0.0.2, ...): another client
        ($o{local} ? (LocalAddr => $o{local}) : ()),
    ) or croak "connect: $!";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $s;
    return $self->tls_client($s, $o{port});
}

# a connected socket to a TLS port becomes an IO::Socket::SSL client that
# verifies the instance's certificate (for 127.0.0.1); others stay as they are
sub tls_client {
    my ($self, $s, $port) = @_;
    return $s unless $self->is_tls($port);
    IO::Socket::SSL->start_SSL($s,
        SSL_ca_file         => $self->{tls_cert},
        SSL_verify_mode     => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_verifycn_scheme => 'http',
        SSL_verifycn_name   => '127.0.0.1',
        Timeout             => 5,
    ) or croak "TLS handshake with port " . ($port // $self->{port}) . ": "
               . IO::Socket::SSL::errstr();
    return $s;
}

# raw request text -> response hash {status, reason, headers{lc => [..]},
# header(name), body, json, head (raw header text), sock, rest}
sub http_raw {
    my ($self, $req, %o) = @_;
    my $s = $o{sock} // $self->connect_tcp(%o);
    write_all($s, $req);
    my $r = read_http_response($s, $o{timeout} // 5,
                               head_only => $o{head_only});
    $r->{sock} = $s;
    return $r;
}

sub http_get {
    my ($self, $path, %o) = @_;
    my $port = $o{port} // $self->{port};
    my $hdrs = join '', map { "$_->[0]: $_->[1]\r\n" } @{ $o{headers} || [] };
    my $r = $self->http_raw("GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                            . "Connection: close\r\n$hdrs\r\n", %o);
    close $r->{sock};
    delete $r->{sock};
    return $r;
}

sub http_post {
    my ($self, $path, $body, %o) = @_;
    my $port = $o{port} // $self->{port};
    $body //= '';
    my $hdrs = join '', map { "$_->[0]: $_->[1]\r\n" } @{ $o{headers} || [] };
    my $r = $self->http_raw("POST $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                            . "Connection: close\r\n$hdrs"
                            . "Content-Length: " . length($body) . "\r\n\r\n"
                            . $body, %o);
    close $r->{sock};
    delete $r->{sock};
    return $r;
}

sub health {
    my ($self) = @_;
    my $r = $self->http_get('/health');
    croak "GET /health: $r->{status}" unless $r->{status} == 200;
    return json_decode($r->{body});
}

# Prometheus text -> { 'name{labels}' => value, 'name' => value }; from
# the worker behind sock => a connection of its own (worker_socket())
sub metrics {
    my ($self, %o) = @_;
    my $get = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    my $r = $o{sock} ? $self->http_raw($get, sock => $o{sock})
                     : $self->http_get('/metrics');
    croak "GET /metrics: $r->{status}" unless $r->{status} == 200;
    my %m;
    for (split /\n/, $r->{body}) {
        next if /^#/ || !/\S/;
        my ($k, $v) = /^(\S+(?:\{[^}]*\})?)\s+(\S+)/ or next;
        $k =~ s/\s+//g;
        $m{$k} = $v;
    }
    $m{__raw} = $r->{body};
    $m{__content_type} = $r->{headers}{'content-type'}[0] // '';
    return \%m;
}

# A WebSocket upgrade request with every header under control.
# headers: [name => value, ...] override the defaults; value undef drops one.
# sock: on that connection (worker_socket) instead of a new one.
# local: from another loopback address (127.0.0.2, ...).
sub handshake_raw {
    my ($self, %o) = @_;
    my $port = $o{port} // $self->{port};
    my @def = (
        Host                    => "127.0.0.1:$port",
        Upgrade                 => 'websocket',
        Connection              => 'Upgrade',
        'Sec-WebSocket-Key'     => $o{key} // random_key(),
        'Sec-WebSocket-Version' => '13',
        Origin                  => $self->origin($port),
    );
    my @h = @def;
    my @over = @{ $o{headers} || [] };
    while (my ($k, $v) = splice @over, 0, 2) {
        my $found = 0;
        for (my $i = 0; $i < @h; $i += 2) {
            next unless lc $h[$i] eq lc $k;
            $h[$i + 1] = $v;
            $found = 1;
        }
        push @h, $k, $v unless $found;
    }
    my $req = ($o{method} // 'GET') . " " . ($o{path} // '/ws/customer')
              . " HTTP/1.1\r\n";
    while (my ($k, $v) = splice @h, 0, 2) {
        $req .= "$k: $v\r\n" if defined $v;
    }
    $req .= "Content-Length: " . length($o{body}) . "\r\n" if defined $o{body};
    $req .= "\r\n" . ($o{body} // '');
    my $r = $self->http_raw($req, port => $port, head_only => 1,
                            timeout => $o{timeout}, sock => $o{sock},
                            local => $o{local});
    $r->{request} = $req;
    return $r;
}

# A customer's token whose call ended and whose client read the end (it
# answered the close) dies with its worker's detach: an operation of the
# model, under way a moment after the close (with Redis a commit in
# flight), so a resume at once may still find the party and get the end
# again.  Resumes with the token on fresh connections until one is not
# welcomed with the end, for at most 5 s; returns that one's error code
# ('nothing' if none came) and its close code.
sub resume_dead_token {
    my ($self, $token) = @_;
    my ($code, $close) = ('nothing', 0);
    poll_until(5, sub {
        my $x = $self->ws_connect('/ws/customer');
        $x->send_json({ type => 'resume', token => $token });
        my $is = sub { ($_[0]{type} // '') =~ /^(?:error|ended)$/ };
        $x->pump_until(5, sub { grep { $is->($_) } @{ $x->{inbox} } });
        my ($m) = grep { $is->($_) } @{ $x->{inbox} };
        $code = $m ? $m->{code} // $m->{type} : 'nothing';
        $close = $x->expect_close(5);
        return $code ne 'ended';
    });
    return ($code, $close);
}

# ---------------------------------------------------------------------------
# WebSocket

# Open a WebSocket with Protocol::WebSocket::Client (its handshake: request,
# response parsing, on_connect).  Frames are then read with
# Protocol::WebSocket::Frame by Hotline::Test::WS, because the Client's own
# read loop hands over payloads without their opcode (a ping would look like
# a message) and stops at an empty one.  Dies unless the answer is 101 with
# the right Sec-WebSocket-Accept (checked independently with Digest::SHA).
#   origin => '...' | headers => [k => v] | subprotocol => 'a, b'
#   token => jwt (Authorization: Bearer) | cookie => 'k=v' | port
#   rcvbuf => bytes (SO_RCVBUF before connect), mss => bytes (TCP_MAXSEG
#   before connect: with rcvbuf, a small window that opens as it is read)
#   local => '127.0.0.2' (connect from another loopback address)
sub ws_connect {
    my ($self, $path, %o) = @_;
    my $port = $o{port} // $self->{port};

    my $s;
    if ($o{rcvbuf}) {
        $s = IO::Socket::INET->new(Proto => 'tcp') or croak "socket: $!";
        setsockopt($s, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) or croak "$!";
        # segments smaller than loopback's 64 KB: a small window opens
        # again as it is read, with no wait for the sender's probe
        setsockopt($s, IPPROTO_TCP, Socket::TCP_MAXSEG(), $o{mss})
            or croak "$!" if $o{mss};
        my $addr = Socket::pack_sockaddr_in($port,
                                            Socket::inet_aton('127.0.0.1'));
        connect($s, $addr) or croak "connect: $!";
        setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
        binmode $s;
        $s = $self->tls_client($s, $port);
    } else {
        $s = $self->connect_tcp(port => $port, local => $o{local});
    }

    my ($connected, $error) = (0, undef);
    my $client = Protocol::WebSocket::Client->new(
        url        => ($self->is_tls($port) ? 'wss' : 'ws')
                      . "://127.0.0.1:$port$path",
        on_write   => sub { write_all($s, $_[1]) },
        on_connect => sub { $connected = 1 },
        on_error   => sub { $error = $_[1] },
        on_read    => sub { },
    );
    my $hs = $client->{hs};
    my $key = random_key();
    $hs->req->key($key);
    $hs->req->origin($o{origin} // $self->origin($port));
    $hs->req->subprotocol($o{subprotocol}) if defined $o{subprotocol};
    my @extra = @{ $o{headers} || [] };
    push @extra, Authorization => "Bearer $o{token}" if defined $o{token};
    push @extra, Cookie => $o{cookie} if defined $o{cookie};
    push @{ $hs->req->{headers} }, @extra;

    $client->connect;
    my $r = read_http_response($s, $o{timeout} // 5, head_only => 1);
    unless ($r->{status} && $r->{status} == 101) {
        close $s;
        croak "WebSocket handshake to $path: " . ($r->{status} // 'no answer')
              . " " . ($r->{body} // '');
    }
    my $want = ws_accept_for($key);
    my $got = $r->{headers}{'sec-websocket-accept'}[0] // '';
    croak "bad Sec-WebSocket-Accept: got '$got', want '$want'"
        unless $got eq $want;
    $client->read($r->{head});
    croak "Protocol::WebSocket::Client rejects the answer: " . ($error // '?')
        unless $connected && !$error;

    my $ws = Hotline::Test::WS->new($s, $r->{rest});
    $ws->{response} = $r;
    $ws->{subprotocol} = $hs->res->subprotocol;
    $ws->{port} = $port;
    return $ws;
}

# a customer that joined: welcome and first position are read
sub customer {
    my ($self, $name, %o) = @_;
    my $ws = $self->ws_connect('/ws/customer', %o);
    $ws->send_json({ type => 'join', name => $name });
    $ws->{welcome}  = $ws->wait_for('welcome', 5)
        or croak "customer $name: no welcome";
    $ws->{position} = $ws->wait_for('position', 5)
        or croak "customer $name: no position";
    $ws->{call_id} = $ws->{welcome}{call_id};
    $ws->{token}   = $ws->{welcome}{resume};
    $ws->{name}    = $name;
    return $ws;
}

# an agent: connects with a minted JWT, welcome and queue are read
sub agent {
    my ($self, %o) = @_;
    my $sub = delete $o{sub} // 'agent1';
    my $exp = delete $o{exp};
    my $jwt = $self->mint_jwt(sub => $sub, defined $exp ? (exp => $exp) : ());
    my $ws = $self->ws_connect('/ws/agent', token => $jwt, %o);
    $ws->{welcome} = $ws->wait_for('welcome', 5)
        or croak "agent $sub: no welcome";
    $ws->{queue} = $ws->wait_for('queue', 5)
        or croak "agent $sub: no queue";
    $ws->{token} = $ws->{welcome}{resume};
    $ws->{sub} = $sub;
    $ws->{jwt} = $jwt;
    return $ws;
}

# a call in progress: (customer, agent), both 'accepted' messages read
#   name, sub, agent => existing agent ws, customer => existing customer ws
sub call {
    my ($self, %o) = @_;
    my $c = $o{customer} // $self->customer($o{name} // 'Caller');
    my $a = $o{agent} // $self->agent(sub => $o{sub} // 'agent1');
    my $id = 'acc-' . int(rand 1e9);
    $a->send_json({ type => 'accept', call_id => $c->{call_id}, id => $id });
    $a->wait_for('ack', 5, sub { ($_[0]{id} // '') eq $id })
        or croak "accept not acked: " . Hotline::Test::json_encode(
                 [ @{ $a->{inbox} } ]);
    $a->{accepted} = $a->wait_for('accepted', 5) or croak "agent: no accepted";
    $c->{accepted} = $c->wait_for('accepted', 5)
        or croak "customer: no accepted";
    $a->{call_id} = $c->{call_id};
    return ($c, $a);
}

# kill_worker(pid): SIGKILL to a worker (an OOM kill, a crash); two
# Test::More checks: the master replaced it, and on the Redis store the
# new worker is up on Redis (the next handshake may land on it)
sub kill_worker {
    my ($self, $pid) = @_;
    $self->allow_log(qr/worker process $pid exited on signal 9/);
    kill 'KILL', $pid;
    Test::More::ok(poll_until(10, sub {
        my @w = $self->worker_pids;
        @w == $self->{workers} && !grep { $_ == $pid } @w }),
        'the master replaced the worker');
    if ($self->store eq 'redis') {
        require Hotline::Redis;
        Test::More::ok(Hotline::Redis->wait_store_up($self),
                       'the new worker is up on Redis');
    }
}

# a new call serves: it is set up and its customer's line is acked and
# relayed (two Test::More checks, named after name); (customer, agent)
sub check_call {
    my ($self, $name) = @_;
    my ($c, $a) = $self->call(name => $name, sub => lc $name);
    my $ack = $c->request({ type => 'chat', text => "hello $name" });
    Test::More::is($ack->{type}, 'ack', "$name: a new call's line is acked");
    Test::More::ok($a->wait_for('chat', 5,
                                sub { $_[0]{text} eq "hello $name" }),
                   "$name: and relayed");
    return ($c, $a);
}

# a connection accepted by the given worker: connects until that worker
# owns the server side (bounded); croaks if none lands there
sub worker_socket {
    my ($self, $pid) = @_;
    for (1 .. 60) {
        my $s = $self->connect_tcp;
        my $owner = $self->conn_pid($s) // 0;
        return $s if $owner == $pid;
        close $s;
    }
    croak "no connection landed on worker $pid";
}

# ws_connect_on(path, want_same, pid, %ws_connect_options): a WebSocket
# served by worker pid (want_same 1) or by another one (0); connects until
# it lands there (bounded). Returns the WebSocket, or (ws, its worker's
# pid) in list context; nothing if none landed there.
sub ws_connect_on {
    my ($self, $path, $want_same, $pid, %o) = @_;
    for (1 .. 60) {
        my $ws = $self->ws_connect($path, %o);
        my $p = $self->conn_pid($ws);
        if ($p && (($p == $pid) == $want_same)) {
            return wantarray ? ($ws, $p) : $ws;
        }
        $ws->drop;
    }
    return;
}

# both_ways(customer, agent, name): a line each way, the customer's
# acked; three Test::More checks
sub both_ways {
    my ($self, $c, $a, $name) = @_;
    my $id = int rand 1e9;
    Test::More::is($c->request({ type => 'chat', text => "c$id" })->{type},
                   'ack', "$name: the customer's line is acked");
    Test::More::ok($a->wait_for('chat', 5, sub { $_[0]{text} eq "c$id" }),
                   "$name: and reaches the agent");
    $a->send_json({ type => 'chat', text => "a$id", id => "a$id" });
    Test::More::ok($c->wait_for('chat', 5, sub { $_[0]{text} eq "a$id" }),
                   "$name: the agent's line reaches the customer");
}

# limit_conn_room(path, n, name): n more WebSocket handshakes on path are
# let in (within 5 s: a place is released as its connection closes), and
# the next is refused with 503; three Test::More checks
sub limit_conn_room {
    my ($self, $path, $n, $name) = @_;
    my @held;
    my $open = sub {
        eval { $self->ws_connect($path, origin => $self->origin) };
    };
    Test::More::ok(poll_until(5, sub {
        $_->drop for @held;
        @held = ();
        for (1 .. $n) {
            my $ws = $open->() or return 0;
            push @held, $ws;
        }
        1;
    }), "limit_conn: $name ($n more let in)");
    Test::More::ok(!$open->(), 'and the limit still holds');
    Test::More::like($@ // '', qr/\b503\b/, 'with 503');
    $_->drop for @held;
}

# worker pid that owns the server side of a client socket
sub conn_pid {
    my ($self, $ws) = @_;
    my $sock = ref $ws eq 'Hotline::Test::WS' ? $ws->{sock} : $ws;
    my $lport = $sock->sockport;
    my $sport = $sock->peerport;
    my $pid;
    poll_until(3, sub {
        for (`ss -Htnp state established '( sport = :$sport )'`) {
            if (/127\.0\.0\.1:$sport\s+127\.0\.0\.1:$lport\b.*pid=(\d+)/) {
                $pid = $1;
                return 1;
            }
        }
        0;
    });
    return $pid;
}

# ---------------------------------------------------------------------------
# JWT

# mint_jwt(%claims): HS256 with the configured secret; defaults sub=agent1,
# role=agent, exp=now+600, iat=now.  A claim given as undef is left out.
# Options in keys starting with '-': -alg, -key, -header (extra header).
sub mint_jwt {
    my ($self, %c) = @_;
    my $alg = delete $c{-alg} // 'HS256';
    my $key = delete $c{-key} // $self->{secret};
    my $hdr = delete $c{-header} // {};
    my %claims = (sub => 'agent1', role => 'agent', exp => time() + 600,
                  iat => int(time()));
    $claims{exp} = int($claims{exp});
    for (keys %c) {
        if (defined $c{$_}) { $claims{$_} = $c{$_} } else { delete $claims{$_} }
    }
    if ($alg eq 'none') {
        return encode_base64url(json_encode({ alg => 'none', typ => 'JWT',
                                              %$hdr }))
               . '.' . encode_base64url(json_encode(\%claims)) . '.';
    }
    return encode_jwt(payload => \%claims, key => $key, alg => $alg,
                      extra_headers => $hdr);
}

# ---------------------------------------------------------------------------
# utilities

sub random_string {
    my ($n) = @_;
    my @c = ('a' .. 'z', 'A' .. 'Z', '0' .. '9');
    return join '', map { $c[rand @c] } 1 .. $n;
}

sub random_key {
    my $k = join '', map { chr int rand 256 } 1 .. 16;
    return encode_base64($k, '');
}

sub ws_accept_for {
    my ($key) = @_;
    my $a = sha1_base64($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    return $a . '=';
}

# the version of the nginx under test as a number: 1.22.1 is 1022001
# ("nginx/1.22.1", or OpenResty's "openresty/1.31.1.1")
my $NGINX_VERSION;

sub nginx_version {
    $NGINX_VERSION //= do {
        my ($a, $b, $c) = run_capture($NGINX, '-v')
                          =~ m{version: \S+?/(\d+)\.(\d+)\.(\d+)}
            or croak "$NGINX -v: no version";
        $a * 1000000 + $b * 1000 + $c;
    };
    return $NGINX_VERSION;
}

# new() options that turn HTTP/2 on for %%PORT%%: "http2 on" from 1.25.1,
# the listen parameter before
sub http2_options {
    return nginx_version() >= 1025001 ? (server => "http2 on;\n")
                                      : (listen => 'http2');
}

# a loopback port no other test process gets (Hotline::Port)
sub free_port { Hotline::Port::take() }

# poll a condition until it is true or the deadline passes; returns its value
sub poll_until {
    my ($timeout, $cond, $step) = @_;
    my $deadline = time() + $timeout;
    $step //= 0.02;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return 0 if time() >= $deadline;
        sleep $step;
        $step = 0.1 if $step < 0.1 && time() + 1 < $deadline;
    }
}

sub read_file {
    my ($f) = @_;
    open my $fh, '<:raw', $f or croak "$f: $!";
    local $/;
    my $d = <$fh>;
    return $d // '';
}

sub write_file {
    my ($f, $d) = @_;
    open my $fh, '>:raw', $f or croak "$f: $!";
    print $fh $d;
    close $fh or croak "$f: $!";
}

sub run_capture {
    my @cmd = @_;
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub write_all {
    my ($s, $data) = @_;
    my $off = 0;
    my $sel = IO::Select->new($s);
    my $deadline = time() + 10;
    while ($off < length $data) {
        my $n = syswrite($s, $data, length($data) - $off, $off);
        if (defined $n) { $off += $n; next }
        croak "write: $!" unless $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
        croak "write timeout" if time() > $deadline;
        $sel->can_write(0.1);
    }
    return $off;
}

# IO::Select's can_read, counting what TLS has decrypted but not handed out
sub can_read {
    my ($sel, $s, $timeout) = @_;
    return 1 if $s->isa('IO::Socket::SSL') && $s->pending;
    return scalar $sel->can_read($timeout);
}

# what a client got, kept as bytes in {raw}, not decoded (a pure-Perl
# JSON decoder takes long over agents' lists of 200 calls): raw_read
# appends one read of what came within timeout (1 if any); raw_drain
# reads what came to each and forgets it
sub raw_read {
    my ($ws, $timeout) = @_;
    my $buf = '';
    return 0 unless can_read($ws->{sel}, $ws->sock, $timeout);
    my $n = sysread($ws->sock, $buf, 262144);
    return 0 unless $n;
    $ws->{raw} .= $buf;
    return 1;
}

sub raw_drain {
    for my $ws (@_) {
        1 while raw_read($ws, 0);
        $ws->{raw} = '';
    }
}

# read one HTTP response. head_only: for a 101 stop after the header and
# hand back what follows in {rest}.
sub read_http_response {
    my ($s, $timeout, %o) = @_;
    my $deadline = time() + $timeout;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $eof = 0;
    my $fill = sub {
        my $left = $deadline - time();
        return 0 if $left <= 0;
        return 0 unless can_read($sel, $s, $left);
        my $n = sysread($s, $buf, 65536, length $buf);
        return 1 if !defined $n && ($!{EAGAIN} || $!{EWOULDBLOCK});
        $eof = 1 unless $n;
        return $n;
    };
    while ($buf !~ /\r\n\r\n/) {
        last unless $fill->();
    }
    my $r = { status => undef, headers => {}, body => '', rest => '' };
    my $i = index($buf, "\r\n\r\n");
    return $r if $i < 0;
    my $head = substr($buf, 0, $i + 4);
    $buf = substr($buf, $i + 4);
    $r->{head} = $head;
    my @lines = split /\r\n/, $head;
    my $first = shift @lines;
    ($r->{status}, $r->{reason}) = $first =~ m{^HTTP/\d\.\d\s+(\d+)\s*(.*)$};
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*?)\s*$/ or next;
        push @{ $r->{headers}{ lc $k } }, $v;
    }
    if (defined $r->{status} && $r->{status} == 101) {
        $r->{rest} = $buf;
        return $r;
    }
    my $cl = $r->{headers}{'content-length'}[0];
    my $te = $r->{headers}{'transfer-encoding'}[0] // '';
    if (defined $cl) {
        while (length $buf < $cl) { last unless $fill->() }
        $r->{body} = substr($buf, 0, $cl);
    } elsif ($te =~ /chunked/i) {
        my $body = '';
        while (1) {
            while ($buf !~ /\r\n/) { last unless $fill->() }
            my ($len) = $buf =~ /^([0-9a-fA-F]+)[^\r]*\r\n/ or last;
            my $n = hex $len;
            my $hl = index($buf, "\r\n") + 2;
            while (length $buf < $hl + $n + 2) { last unless $fill->() }
            $body .= substr($buf, $hl, $n);
            $buf = substr($buf, $hl + $n + 2);
            last if $n == 0;
        }
        $r->{body} = $body;
    } else {
        while (!$eof) { last unless $fill->() }
        $r->{body} = $buf;
    }
    $r->{json} = eval { json_decode($r->{body}) } if length $r->{body};
    return $r;
}

# Build one frame by hand (for malformed input).
#   opcode, payload, fin (1), rsv (0..7), mask (1), len (override length)
sub raw_frame {
    my (%o) = @_;
    my $payload = $o{payload} // '';
    my $fin = $o{fin} // 1;
    my $mask = $o{mask} // 1;
    my $len = $o{len} // length $payload;
    my $b0 = ($fin ? 0x80 : 0) | (($o{rsv} // 0) << 4) | ($o{opcode} // 1);
    my $f = pack 'C', $b0;
    my $m = $mask ? 0x80 : 0;
    if ($len <= 125) {
        $f .= pack 'C', $m | $len;
    } elsif ($len <= 0xffff) {
        $f .= pack 'Cn', $m | 126, $len;
    } else {
        $f .= pack 'CNN', $m | 127, int($len / 2**32), $len % 2**32;
    }
    if ($mask) {
        my $k = pack 'N', int rand 2**32;
        $f .= $k;
        my $km = $k x (int(length($payload) / 4) + 1);
        $f .= $payload ^ substr($km, 0, length $payload);
    } else {
        $f .= $payload;
    }
    return $f;
}

# ---------------------------------------------------------------------------

package Hotline::Test::WS;

# One WebSocket client connection.  Frames are decoded by
# Protocol::WebSocket::Frame; server pings are answered with pongs unless
# auto_pong is 0.  Text messages are decoded JSON and queued; wait_for() takes
# the first message of a type and keeps the others.

use strict;
use warnings;
use Carp qw(croak);
use IO::Select;
use Time::HiRes qw(time);
use Protocol::WebSocket::Frame;

sub new {
    my ($class, $sock, $rest) = @_;
    my $self = bless {
        sock      => $sock,
        sel       => IO::Select->new($sock),
        parser    => Protocol::WebSocket::Frame->new(
                         max_payload_size => 0,
                         max_fragments_amount => 100000),
        inbox     => [],
        pings     => [],
        pongs     => [],
        auto_pong => 1,
        closed    => 0,
        eof       => 0,
        frames    => [],    # [opcode, payload] of every frame seen
        problems  => [],    # protocol violations by the server
    }, $class;
    # writes never block forever: write_all polls with a deadline
    $sock->blocking(0);
    $self->{parser}->append($rest) if defined $rest && length $rest;
    $self->_parse;
    return $self;
}

sub sock { $_[0]{sock} }
sub auto_pong { $_[0]{auto_pong} = $_[1] }

sub send_raw {
    my ($self, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $ok = eval { Hotline::Test::write_all($self->{sock}, $bytes); 1 };
    return $ok;
}

sub send_frame {
    my ($self, $type, $payload) = @_;
    my $f = Protocol::WebSocket::Frame->new(
        buffer => $payload // '', type => $type, masked => 1,
        max_payload_size => 0);
    return $self->send_raw($f->to_bytes);
}

sub send_text { $_[0]->send_frame('text', $_[1]) }

sub send_json {
    my ($self, $msg) = @_;
    return $self->send_text(ref $msg ? Hotline::Test::json_encode($msg)
                                     : $msg);
}

sub ping  { $_[0]->send_frame('ping', $_[1]) }

# client close: send close frame with a code, return the server's close code
sub close_ws {
    my ($self, $code, $reason, $timeout) = @_;
    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';
    $self->send_frame('close', $p);
    return $self->expect_close($timeout // 5);
}

# drop the TCP connection abruptly (no close frame)
sub drop {
    my ($self) = @_;
    CORE::close($self->{sock}) if $self->{sock};
    $self->{closed} = 1;
    $self->{eof} = 1;
}

sub _parse {
    my ($self) = @_;
    my $p = $self->{parser};
    while (1) {
        my $bytes = eval { $p->next_bytes };
        if ($@) { push @{ $self->{problems} }, "parser: $@"; last }
        last unless defined $bytes;
        my $op = $p->opcode;
        push @{ $self->{problems} }, "masked frame from server" if $p->masked;
        push @{ $self->{problems} }, "rsv bits from server"
            if grep { $_ } @{ $p->rsv || [] };
        push @{ $self->{frames} }, [$op, $bytes];
        if ($op == 9) {
            push @{ $self->{pings} }, $bytes;
            $self->send_frame('pong', $bytes)
                if $self->{auto_pong} && !$self->{close_sent};
        } elsif ($op == 10) {
            push @{ $self->{pongs} }, $bytes;
        } elsif ($op == 8) {
            $self->{closed} = 1;
            if (length $bytes >= 2) {
                $self->{close_code} = unpack 'n', substr($bytes, 0, 2);
                $self->{close_reason} = substr($bytes, 2);
            } else {
                $self->{close_code} = 1005;    # no status
            }
            unless ($self->{close_sent}) {
                $self->{close_sent} = 1;
                $self->send_frame('close', substr($bytes, 0, 2))
                    if $self->{echo_close} // 1;
            }
        } elsif ($op == 1) {
            my $m = eval { Hotline::Test::json_decode($bytes) };
            if (!$m || ref $m ne 'HASH') {
                push @{ $self->{problems} }, "non-JSON text: $bytes";
                $m = { type => '__invalid__', raw => $bytes };
            }
            push @{ $self->{inbox} }, $m;
        } else {
            push @{ $self->{problems} }, "unexpected opcode $op";
        }
    }
}

# read whatever arrives within $timeout (returns after the first read)
sub _read_once {
    my ($self, $deadline) = @_;
    return 0 if $self->{eof};
    my $left = $deadline - time();
    $left = 0 if $left < 0;
    return 0 unless Hotline::Test::can_read($self->{sel}, $self->{sock},
                                            $left);
    my $buf = '';
    my $n = sysread($self->{sock}, $buf, 262144);
    # TLS: a record may still be incomplete
    return 1 if !defined $n && ($!{EAGAIN} || $!{EWOULDBLOCK});
    if (!$n) {
        $self->{eof} = 1;
        return 0;
    }
    $self->{bytes_in} += $n;
    $self->{parser}->append($buf);
    $self->_parse;
    return 1;
}

# pump the socket until $cond is true or the deadline passes
sub pump_until {
    my ($self, $timeout, $cond) = @_;
    my $deadline = time() + $timeout;
    while (1) {
        return 1 if $cond->();
        return 0 if $self->{eof} || time() >= $deadline;
        $self->_read_once($deadline);
    }
}

# next message of any type
sub recv {
    my ($self, $timeout) = @_;
    $self->pump_until($timeout // 5, sub { @{ $self->{inbox} } });
    return shift @{ $self->{inbox} };
}

# first message of a type (and matching $pred if given); others are kept
sub wait_for {
    my ($self, $type, $timeout, $pred) = @_;
    my $found;
    my $seen = 0;
    $self->pump_until($timeout // 5, sub {
        my $q = $self->{inbox};
        for my $i (0 .. $#$q) {
            next unless ($q->[$i]{type} // '') eq $type;
            next if $pred && !$pred->($q->[$i]);
            $found = splice @$q, $i, 1;
            return 1;
        }
        0;
    });
    return $found;
}

# sends a message with a fresh id and waits for its answer: the ack or
# the error that echoes the id ({type => 'none'} when none comes)
my $REQUESTS = 0;

sub request {
    my ($self, $msg, $timeout) = @_;
    my $id = 'req' . ++$REQUESTS;
    $self->send_json({ %$msg, id => $id });
    my $got;
    $self->pump_until($timeout // 5, sub {
        my $q = $self->{inbox};
        for my $i (0 .. $#$q) {
            next unless ($q->[$i]{id} // '') eq $id
                        && ($q->[$i]{type} eq 'ack'
                            || $q->[$i]{type} eq 'error');
            $got = splice @$q, $i, 1;
            return 1;
        }
        0;
    });
    return $got // { type => 'none' };
}

# all queued messages of a type (without waiting)
sub take_all {
    my ($self, $type) = @_;
    my @m = grep { ($_->{type} // '') eq $type } @{ $self->{inbox} };
    $self->{inbox} = [ grep { ($_->{type} // '') ne $type }
                       @{ $self->{inbox} } ];
    return @m;
}

# read until the server's close frame (or EOF); returns the close code,
# undef when the connection ended without a close frame
sub expect_close {
    my ($self, $timeout) = @_;
    $self->pump_until($timeout // 5, sub { $self->{closed} });
    # the server closes the TCP connection after the close handshake
    $self->pump_until(2, sub { $self->{eof} }) if $self->{closed};
    return $self->{close_code};
}

sub is_closed { $_[0]{closed} || $_[0]{eof} }

# read and drop everything currently available
sub drain {
    my ($self, $timeout) = @_;
    my $deadline = time() + ($timeout // 0);
    while ($self->_read_once($deadline)) { }
}

sub problems { @{ $_[0]{problems} } }

# the names the test plan uses
{
    no warnings 'once';
    *ws_recv      = \&recv;
    *ws_send_json = \&send_json;
}

1;
