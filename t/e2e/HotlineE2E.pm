package HotlineE2E;

# The browser tests' wrapper (t/70-*.t .. t/79-*.t): real nginx with the
# module, real Telegram Bot API stand-in, real headless Chromium, all in a
# loopback-only network namespace.
#
#   use HotlineE2E;
#   HotlineE2E::run('call.test.mjs');
#
# run():
#   1. skips (with the reason) when Debian's chromium, node or unshare are
#      missing, or when the npm dependencies cannot be installed
#      (t/e2e/setup.sh, before entering the namespace: npm needs the
#      network, the tests do not);
#   2. re-executes the test under `unshare -n` with the loopback interface
#      up, so no packet can leave the machine;
#   3. starts the Telegram stand-in (t/lib/TelegramStub.pm) and nginx with
#      the demo's own configuration (.ci/demo.conf.in, the stand-in's
#      directives in its @HTTP_EXTRA@), through Hotline::Test;
#   4. runs the node test file with the node test runner (TAP), turning
#      each top-level result into a Test::More result (failures with their
#      details), then stops nginx (which checks the error log).
#
# The node side gets HOTLINE_BASE (the server's URL), HOTLINE_TG_LOG (the
# stand-in's request log, where the login codes are read as an agent reads
# them in Telegram), HOTLINE_AGENT / HOTLINE_AGENT_CHAT, HOTLINE_AGENT_TOKEN
# (a token for that agent, minted with Crypt::JWT as .ci/demo.sh does),
# HOTLINE_SHOTS (the screenshot directory, t/e2e/screenshots unless set)
# and HOTLINE_NGINX_MASTER (the master's pid: its children are the
# workers).
#
# run(..., tls => 1): nginx listens with "ssl" and a certificate made for
# 127.0.0.1 at test time (Hotline::Test's TLS mode), HOTLINE_BASE is
# https://, and HOTLINE_TLS_SPKI is the base64 SHA-256 of the certificate's
# public key, for Chromium's --ignore-certificate-errors-spki-list (that
# certificate trusted, no other).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More;

use Hotline::Test qw(poll_until);
use TelegramStub;

our $DIR  = abs_path(dirname(__FILE__));
our $ROOT = abs_path("$DIR/../..");
our $CHROMIUM = '/usr/bin/chromium';

sub _have {
    my ($cmd) = @_;
    return system("command -v $cmd >/dev/null 2>&1") == 0;
}

our $RECORDER = "$ROOT/build/recorder/hotline-recorder";
our $TURNSERVER = '/usr/bin/turnserver';

sub _prerequisites {
    my (%o) = @_;
    return "no $CHROMIUM (apt-get install chromium)" unless -x $CHROMIUM;
    return "no $RECORDER (make -C src/recorder)"
        if $o{recorder} && !-x $RECORDER;
    return "no $TURNSERVER (apt-get install coturn)"
        if $o{turn} && !-x $TURNSERVER;
    return 'no node (apt-get install nodejs npm)' unless _have('node');
    return 'no unshare (util-linux)' unless _have('unshare');
    return 'no ip (iproute2)' unless _have('ip');
    return 'cannot make a network namespace (unshare -n needs root)'
        unless system('unshare -n true >/dev/null 2>&1') == 0;
    my $out = `sh '$DIR/setup.sh' 2>&1`;
    return "npm dependencies not installed: $out" if $?;
    return undef;
}

sub _enter_netns {
    my (%o) = @_;
    return if $ENV{HOTLINE_E2E_NETNS};
    if (my $why = _prerequisites(%o)) {
        plan skip_all => $why;
    }
    $ENV{HOTLINE_E2E_NETNS} = 1;
    my @inc = map { ('-I', $_) } grep { !ref } @INC;
    exec('unshare', '-n', '--', 'sh', '-c',
         'ip link set lo up && exec "$@"', 'sh', $^X, @inc, $0, @ARGV)
        or BAIL_OUT("exec unshare: $!");
}

# The demo's configuration as a Hotline::Test template; $ice: the
# parameters of hotline_ice_servers (none: an empty list, as in the demo).
sub demo_template {
    my ($ice) = @_;
    my $text = Hotline::Test::read_file("$ROOT/.ci/demo.conf.in");
    my $answer = $ice ? "hotline_ice_servers $ice;"
               : q{default_type application/json; return 200 '{"iceServers":[]}';};
    $text =~ s{\@ICE\@}{$answer}g;
    $text =~ s{\@RUN\@/nginx\.pid}{%%PREFIX%%/logs/nginx.pid}g;
    $text =~ s{\@RUN\@/secret\.key}{%%SECRET_FILE%%}g;
    $text =~ s{\@RUN\@}{%%PREFIX%%}g;
    $text =~ s{\@MODULE\@}{%%MODULE%%}g;
    $text =~ s{\@HTML\@}{%%ROOT%%/html}g;
    $text =~ s{\@PORT\@}{%%PORT%%}g;
    $text =~ s{^\@HTTP_EXTRA\@$}{%%HTTP%%}mg;
    $text =~ s{^\@SERVER_EXTRA\@$}{%%SERVER%%}mg;
    return $text;
}

# Node's TAP: top-level "ok N - name" / "not ok N - name" lines, each
# followed by an indented YAML block.  Returns [ok, name, details, skip].
sub parse_tap {
    my ($out) = @_;
    my @r;
    for my $line (split /\n/, $out) {
        if ($line =~ /^(not )?ok \d+ - (.*?)(?: # (SKIP|TODO)\b\s*(.*))?$/) {
            push @r, [!$1, $2, '', $3 && $3 eq 'SKIP' ? ($4 || 'skipped')
                                                       : undef];
        } elsif (@r && $line =~ /^\s+\S/) {
            $r[-1][2] .= "$line\n";
        }
    }
    return @r;
}

# hotline-recorder on a free loopback port, its recordings in a temporary
# directory: { pid, port, dir, secret, log }
sub start_recorder {
    my $tmp = File::Temp::tempdir('hotline-e2e-rec-XXXXXX', TMPDIR => 1,
                                  CLEANUP => !$ENV{HOTLINE_KEEP});
    my $rec = { dir => "$tmp/recordings", secret => "$tmp/recorder.key",
                log => "$tmp/recorder.log", port => Hotline::Test::free_port(),
                check_port => Hotline::Test::free_port() };
    # as deployed: it asks nginx before each recording (docs/recorder.md)
    $rec->{check_url} = "http://127.0.0.1:$rec->{check_port}"
                      . '/internal/recording';
    make_path($rec->{dir});
    Hotline::Test::write_file($rec->{secret},
                              Hotline::Test::random_string(48) . "\n");
    chmod 0600, $rec->{secret};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $rec->{log} or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT;
        exec $RECORDER, '--listen', "127.0.0.1:$rec->{port}",
             '--recordings', $rec->{dir}, '--secret-file', $rec->{secret},
             '--prefix', '/whip', '--min-free-disk', '1',
             '--check-url', $rec->{check_url}
            or POSIX::_exit(127);
    }
    $rec->{pid} = $pid;
    poll_until(10, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $rec->{port}, Timeout => 1);
        $s ? (close($s), 1) : 0;
    }) or BAIL_OUT('hotline-recorder did not start: '
                   . Hotline::Test::read_file($rec->{log}));
    return $rec;
}

# base64 of the SHA-256 of the test certificate's SubjectPublicKeyInfo
sub _spki {
    my ($t) = @_;
    my $crt = $t->prefix . '/conf/tls.crt';
    my $out = Hotline::Test::run_capture('sh', '-c',
        "openssl x509 -in '$crt' -pubkey -noout | openssl pkey -pubin "
        . "-outform der | openssl dgst -sha256 -binary | base64");
    $out =~ s/\s+//g;
    BAIL_OUT("no SPKI hash of $crt: $out") unless $out =~ m{^[A-Za-z0-9+/=]{44}$};
    return $out;
}

sub _stun_answers {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'udp') or return 0;
    my $tid = join '', map { chr int rand 256 } 1 .. 12;
    $s->send(pack('nnN', 0x0001, 0, 0x2112A442) . $tid);
    my $sel = IO::Select->new($s);
    return 0 unless $sel->can_read(0.2);
    $s->recv(my $buf, 2048);
    close $s;
    return length($buf) >= 20 && substr($buf, 0, 2) eq pack('n', 0x0101)
           && substr($buf, 8, 12) eq $tid;
}

sub stop_child {
    my ($rec) = @_;
    return unless $rec && $rec->{pid};
    kill 'TERM', $rec->{pid};
    poll_until(10, sub { waitpid($rec->{pid}, POSIX::WNOHANG()) != 0 })
        or do { kill 'KILL', $rec->{pid}; waitpid($rec->{pid}, 0) };
    delete $rec->{pid};
}

# coturn on a free loopback port with the TURN REST scheme
# (use-auth-secret) and the secret in a file the module reads too:
# { pid, port, secret_file, log }
sub start_turn {
    my $tmp = File::Temp::tempdir('hotline-e2e-turn-XXXXXX', TMPDIR => 1,
                                  CLEANUP => !$ENV{HOTLINE_KEEP});
    my $secret = Hotline::Test::random_string(32);
    my $turn = { port => Hotline::Test::free_port(),
                 secret_file => "$tmp/turn.key", log => "$tmp/turn.log" };
    Hotline::Test::write_file($turn->{secret_file}, "$secret\n");
    chmod 0600, $turn->{secret_file};
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $turn->{log} or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT;
        exec $TURNSERVER, '-n', '--listening-ip=127.0.0.1',
             "--listening-port=$turn->{port}", '--relay-ip=127.0.0.1',
             '--min-port=40000', '--max-port=40999',
             '--use-auth-secret', "--static-auth-secret=$secret",
             '--realm=hotline.test', '--allow-loopback-peers',
             '--no-cli', '--no-tls', '--no-dtls', "--db=$tmp/turndb",
             "--pidfile=$tmp/turn.pid", '--log-file=stdout', '--simple-log'
            or POSIX::_exit(127);
    }
    $turn->{pid} = $pid;
    # ready when it answers a STUN Binding request (RFC 5389)
    poll_until(10, sub { _stun_answers($turn->{port}) })
        or BAIL_OUT('turnserver does not answer: '
                    . (-e $turn->{log} ? Hotline::Test::read_file($turn->{log})
                                       : 'no log'));
    return $turn;
}

# run($script, recorder => 1, turn => 1,
#     after => sub { my ($rec) = @_; ... },
#     http => 'more http-level directives;',
#     agents => { bob => 'Bob Demir', ... })
# agents: more agents beside the demo's (chat ids from 2), each with a
# token (its name in it, as /auth/verify gives) for the node side in
# HOTLINE_TOKEN_<NAME> (upper case).
sub run {
    my ($script, %o) = @_;
    _enter_netns(%o);

    my $tg = TelegramStub->new->start;
    my $agent = 'demo';      # the demo configuration's agent
    my $chat  = '1';
    my ($rec, $http, $server) = (undef, '', '');
    my $turn;
    if ($o{turn}) {
        $turn = start_turn();
        $o{ice} = "turn=turn:127.0.0.1:$turn->{port}?transport=udp "
                . "turn_secret_file=$turn->{secret_file} ttl=10m";
    }
    if ($o{recorder}) {
        $rec = start_recorder();
        $http = "hotline_recorder /whip secret_file=$rec->{secret} ttl=2m;\n";
        $server = "location /whip {\n"
                . "    client_max_body_size 64k;\n"
                . "    proxy_pass http://127.0.0.1:$rec->{port};\n"
                . "}\n";
        # the call check on a listener of its own, as docker/nginx.conf
        $http .= "server {\n"
               . "    listen 127.0.0.1:$rec->{check_port};\n"
               . "    location = /internal/recording {\n"
               . "        allow 127.0.0.1; deny all;\n"
               . "        hotline_recording_check;\n"
               . "    }\n"
               . "}\n";
    }
    $http .= $o{http} // '';
    my @more = sort keys %{ $o{agents} // {} };
    my $chats = 1;
    for my $name (@more) {
        $chats++;
        $http .= qq{hotline_agent $name chat=$chats "name=$o{agents}{$name}";\n};
    }
    my $conf = demo_template($o{ice});
    # over TLS the pages' origins and WebSocket URLs are https:// and wss://
    $conf =~ s{\b(http|ws)://((?:127\.0\.0\.1|localhost):%%PORT%%)}{$1s://$2}g
        if $o{tls};
    my $t = Hotline::Test->new(
        conf    => $conf,
        workers => 2,
        tls     => $o{tls} // 0,
        http    => $tg->directives('%%PREFIX%%/conf/bot.token',
                                   chats => '1001') . $http,
        server  => $server,
    );
    Hotline::Test::write_file($t->prefix . '/conf/bot.token',
                              $tg->token . "\n");
    $t->start;

    my $shots = $ENV{HOTLINE_SHOTS} || "$DIR/screenshots";
    make_path($shots);

    local $ENV{HOTLINE_BASE}       = $t->origin;
    local $ENV{HOTLINE_TLS_SPKI}   = $o{tls} ? _spki($t) : '';
    local $ENV{HOTLINE_TG_LOG}     = $tg->{log};
    local $ENV{HOTLINE_AGENT}      = $agent;
    local $ENV{HOTLINE_AGENT_CHAT} = $chat;
    local $ENV{HOTLINE_SHOTS}      = $shots;
    # whose workers a test may place parties on (t/e2e/colocate.test.mjs)
    local $ENV{HOTLINE_NGINX_MASTER} = $t->master_pid;
    # the demo's way in (make run prints it in the agent URL's fragment)
    local $ENV{HOTLINE_AGENT_TOKEN} = $t->mint_jwt(sub => $agent,
                                                   exp => time() + 600);

    local @ENV{map { 'HOTLINE_TOKEN_' . uc } @more}
        = map { $t->mint_jwt(sub => $_, name => $o{agents}{$_},
                             exp => time() + 600) } @more;

    my $cmd = "cd '$DIR' && node --test --test-reporter=tap "
            . "--test-concurrency=1 '$DIR/$script' 2>&1";
    my $out = `$cmd`;
    my $rc = $? >> 8;
    my @results = parse_tap($out);

    ok(scalar @results, "$script ran and reported results")
        or diag($out);
    for my $r (@results) {
        my ($pass, $name, $details, $skip) = @$r;
        if (defined $skip) {
            SKIP: { skip($skip, 1) }
            next;
        }
        ok($pass, $name) or diag($details);
    }
    my $failed = grep { !$_->[0] } @results;
    is($rc, 0, "$script: node exited with 0")
        or diag($failed ? 'see the failures above' : $out);

    $o{after}->($rec) if $o{after};
    stop_child($rec);
    stop_child($turn);
    $t->stop;
    $tg->stop;
    done_testing();
}

1;
