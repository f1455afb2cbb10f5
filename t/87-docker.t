#!/usr/bin/perl
# docker/ without a Docker engine: what can be checked of the images and
# the compose file on the machine that builds them.
#
# - One package list (.ci/packages) feeds .ci/deps.sh and every stage of
#   both Dockerfiles; every name in it is a Debian package; the build
#   stages hold the -dev packages of every pkg-config module and library
#   the module and the recorder build with (and every -dev package
#   src/recorder/deps.sh installs), the runtime stages the package of every
#   shared library the built module and recorder need (readelf NEEDED),
#   apart from those every Debian image has (Priority: required).
# - The compose file (parsed as YAML) has nginx, Redis, the recorder
#   (docker/Dockerfile.recorder) and coturn, gives each service the secrets
#   its configuration reads, mounts volumes for the journal and the
#   recordings, and wires nginx to Redis, the recorder (and the recorder's
#   call check to nginx) and coturn the way docker/nginx.conf expects them.
# - docker/nginx.conf, its paths mapped to a temporary prefix (secrets,
#   certificate, journal, logs, ports, Redis), passes `nginx -t` and runs:
#   unprivileged workers, TLS and HTTP/2 on the site, the redirect, the
#   store on a real Redis, a WebSocket, TURN credentials, health.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use Hotline::Redis;

my $ROOT = $Hotline::Test::ROOT;
my $read = \&Hotline::Test::read_file;

sub role {
    my @p = split /\n/, Hotline::Test::run_capture('sh',
        "$ROOT/.ci/packages.sh", @_);
    return @p;
}

my %role = map { $_ => { map { $_ => 1 } role($_) } }
           qw(build test nginx recorder-build recorder bench);
ok(keys %{ $role{$_} }, "role $_ lists packages") for sort keys %role;

# --- one list feeds every installer ------------------------------------------
{
    my $deps = $read->("$ROOT/.ci/deps.sh");
    like($deps, qr/\broles=\(build test\)/,
         '.ci/deps.sh installs the "build" and "test" roles by default');
    like($deps, qr{packages\.sh" "\$\{roles\[\@\]\}"},
         'from .ci/packages');
}
my $dn = $read->("$ROOT/docker/Dockerfile.nginx");
my $dr = $read->("$ROOT/docker/Dockerfile.recorder");
for ([ 'Dockerfile.nginx', $dn, qw(build nginx) ],
     [ 'Dockerfile.recorder', $dr, qw(recorder-build recorder) ]) {
    my ($name, $text, @want) = @$_;
    my @stages = split /^FROM /m, $text;
    shift @stages;
    is(scalar @stages, 2, "$name: a build and a runtime stage");
    for my $i (0 .. $#want) {
        my @installs = ($stages[$i] // '') =~ /packages\.sh ([\w-]+)/g;
        is_deepish(\@installs, [ $want[$i] ],
                   "$name stage " . ($i + 1) . ": apt-get installs role "
                   . "$want[$i] of .ci/packages, nothing else");
        unlike(($stages[$i] // '') =~ s/\$\(sh [^)]*\)//gr,
               qr/apt-get install[^&]*\b(?:lib\S+|gcc|make)\b/,
               "$name stage " . ($i + 1) . ': no package named beside it');
    }
}

sub is_deepish { my ($a, $b, $n) = @_; is("@$a", "@$b", $n) }

# every name is a Debian package apt knows
{
    my %all = map { %$_ } values %role;
    my %known = map { $_ => 1 } Hotline::Test::run_capture('apt-cache',
        'show', '--no-all-versions', sort keys %all) =~ /^Package: (\S+)$/mg;
    my @unknown = grep { !$known{$_} } sort keys %all;
    ok(!@unknown, 'every package of the list exists in apt')
        or diag("@unknown");
}

# --- what the builds need ------------------------------------------------------
# the packages that installed some files, in one dpkg call (dpkg knows a
# file by one of its names: /lib or /usr/lib on a merged-/usr system)
sub owners {
    my @paths = @_;
    my @both = map { my $o = $_; $o =~ s{^/usr/}{/} or $o = "/usr$_"; ($_, $o) }
               @paths;
    my %by;
    for (split /\n/, Hotline::Test::run_capture('dpkg', '-S', @both)) {
        $by{$2} = $1 if /^([^:\s]+)(?::\S+)?: (\S+)$/;
    }
    return map {
        my $o = $_;
        $o =~ s{^/usr/}{/} or $o = "/usr$_";
        $by{$_} // $by{$o} // "(none for $_)";
    } @paths;
}

# what every Debian image has: the Essential packages and what they
# depend on
my %base;
{
    my %deps;
    my @todo;
    for (split /\n/, Hotline::Test::run_capture('dpkg-query', '-W', '-f',
             '${Package}\t${Essential}\t${Pre-Depends}, ${Depends}\n')) {
        my ($p, $ess, $d) = split /\t/;
        $deps{$p} = [ map { /^\s*([\w.+-]+)/ ? $1 : () } split /[,|]/, $d ];
        push @todo, $p if $ess eq 'yes';
    }
    while (defined(my $p = shift @todo)) {
        next if $base{$p}++;
        push @todo, @{ $deps{$p} || [] };
    }
}

sub pc_owners {
    return owners(map {
        my $pc = Hotline::Test::run_capture('pkg-config', '--path', $_);
        chomp $pc;
        $pc;
    } @_);
}

my ($config_pkgs) = $read->("$ROOT/config") =~ /^HOTLINE_PKGS="([^"]+)"/m;
for my $p (pc_owners(split ' ', $config_pkgs)) {
    ok($role{build}{$p}, "build role: $p (a pkg-config module of config)");
}
my ($rec_pkgs) = $read->("$ROOT/src/recorder/Makefile") =~ /^PKGS\s*:=\s*(.+)$/m;
for my $p (pc_owners(split ' ', $rec_pkgs), owners('/usr/include/webm')) {
    ok($role{'recorder-build'}{$p},
       "recorder-build role: $p (the recorder's Makefile)");
}
my ($deps) = $read->("$ROOT/src/recorder/deps.sh") =~ /^pkgs="([^"]+)"/ms;
for my $p (grep { /-dev$/ && !/^libclang/ } split ' ', $deps // '') {
    ok($role{'recorder-build'}{$p},
       "recorder-build role: $p (src/recorder/deps.sh installs it)");
}

# the libraries the binaries load, by package
Hotline::Test::run_capture('make', '-s', '-C', $ROOT, 'module', 'recorder');
for ([ nginx    => "$ROOT/build/objs/ngx_http_hotline_module.so" ],
     [ recorder => "$ROOT/build/recorder/hotline-recorder" ]) {
    my ($r, $bin) = @$_;
    ok(-f $bin, "built $bin") or next;
    # where the loader finds each library
    my %lib = map { /^\s*(\S+) => (\S+) \(/ ? ($1 => $2) : () }
              split /\n/, Hotline::Test::run_capture('ldd', $bin);
    my @so = Hotline::Test::run_capture('readelf', '-d', $bin)
             =~ /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g;
    my @pkg = owners(map { $lib{$_} // "/nonexistent/$_" } @so);
    for my $i (0 .. $#so) {
        (my $pkg = $pkg[$i]) =~ s/:.*//;
        ok($role{$r}{$pkg} || $base{$pkg},
           "$r role: $pkg for $so[$i]"
           . ($base{$pkg} ? ' (in every Debian image)' : ''));
    }
}

# --- the compose file ----------------------------------------------------------
my $compose = json_decode(Hotline::Test::run_capture('python3', '-c',
    'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))',
    "$ROOT/docker/docker-compose.yml"));
my $svc = $compose->{services};
is_deeply([ sort keys %$svc ], [qw(coturn nginx recorder redis)],
          'compose: nginx, redis, recorder, coturn');
for my $s (qw(nginx recorder)) {
    my $df = $svc->{$s}{build}{dockerfile};
    ok($df && -f "$ROOT/$df", "compose: $s builds from $df");
}
my $conf = $read->("$ROOT/docker/nginx.conf");
my %nginx_secrets = map { $_ => 1 } @{ $svc->{nginx}{secrets} };
for my $name ($conf =~ m{/run/secrets/(\w+)}g) {
    ok($nginx_secrets{$name}, "compose: nginx gets the secret $name");
    ok($compose->{secrets}{$name}{file}, "compose: $name comes from a file");
}
ok((grep { $_ eq 'hotline_recorder_key' } @{ $svc->{recorder}{secrets} }),
   'compose: the recorder gets the secret it shares with nginx');
like($read->("$ROOT/docker/recorder-entrypoint.sh"),
     qr{/run/secrets/hotline_recorder_key}, 'the recorder reads it there');
ok((grep { $_ eq 'hotline_turn_key' } @{ $svc->{coturn}{secrets} }),
   'compose: coturn gets the TURN secret nginx signs with');
like("@{ $svc->{coturn}{command} }", qr{static-auth-secret=.*hotline_turn_key},
     'compose: coturn uses it');

my ($history_dir) = $conf =~ m{hotline_history_file (\S+)/[^/\s]+;};
ok((grep { m{^history:\Q$history_dir\E$} } @{ $svc->{nginx}{volumes} }),
   "compose: a volume for the journal at $history_dir");
ok((grep { m{^recordings:/var/lib/hotline/recordings$} }
    @{ $svc->{recorder}{volumes} }), 'compose: a volume for the recordings');
ok(exists $compose->{volumes}{$_}, "compose: volume $_ declared")
    for qw(history recordings redis-data);

my ($redis_port) = $conf =~ m{hotline_redis redis://127\.0\.0\.1:(\d+)/};
ok($redis_port, 'nginx.conf: hotline_redis on loopback');
like("@{ $svc->{redis}{command} }", qr/--bind 127\.0\.0\.1 --port \Q$redis_port\E/,
     "compose: Redis listens there ($redis_port)");
my ($whip) = $conf =~ m#location /whip \{[^}]*proxy_pass http://([\d.:]+);#s;
like("@{ $svc->{recorder}{command} }", qr/--listen \Q$whip\E/,
     "compose: the recorder listens where nginx proxies /whip ($whip)");
my ($check) = "@{ $svc->{recorder}{command} }" =~ m{--check-url (\S+)};
like($check // '', qr{^http://127\.0\.0\.1:8081/internal/recording$},
     'compose: the recorder asks nginx before each recording (--check-url)');
like($conf, qr{listen 127\.0\.0\.1:8081;.*location = /internal/recording \{\s*allow 127\.0\.0\.1;\s*deny all;\s*hotline_recording_check;}s,
     'nginx.conf: there, on the loopback server, internal');
like($conf, qr{hotline_ice_servers [^;]*turn=turn:[^;]*turn_secret_file=/run/secrets/hotline_turn_key}s,
     'nginx.conf: TURN credentials for the coturn service');
like($conf, qr/^user www-data;$/m, 'nginx.conf: the workers run as www-data');
like($conf, qr/^\s*hotline_recorder /m, 'nginx.conf: recording on');
like($conf, qr{location = /auth/otp}, 'nginx.conf: the auth locations');
is($svc->{$_}{network_mode}, 'host', "compose: $_ on the host's network")
    for sort keys %$svc;

# --- docker/nginx.conf, mapped to a temporary prefix ----------------------------
my $redis = Hotline::Redis->new->start;
my $t = Hotline::Test->new(tls => 1, conf => do {
    my $c = $conf;
    $c =~ s{^load_module \S+;}{load_module %%MODULE%%;}m;
    $c =~ s{^worker_processes \S+;}{worker_processes %%WORKERS%%;}m;
    # no more descriptors than this machine lets a root without
    # CAP_SYS_RESOURCE have
    chomp(my $hard = `sh -c 'ulimit -Hn'`);
    $c =~ s{^worker_rlimit_nofile (\d+);}
           {my $n = $1; 'worker_rlimit_nofile '
            . ($hard =~ /^\d+$/ && $hard < $n ? $hard : $n) . ';'}me;
    $c =~ s{^pid \S+;}{pid %%PREFIX%%/logs/nginx.pid;}m;
    $c =~ s{/run/secrets/hotline_jwt_key}{%%SECRET_FILE%%}g;
    $c =~ s{/run/secrets/}{%%PREFIX%%/secrets/}g;
    $c =~ s{/var/log/nginx/}{%%PREFIX%%/logs/}g;
    $c =~ s{/var/lib/hotline/}{%%PREFIX%%/lib/}g;
    $c =~ s{/etc/hotline/tls/fullchain\.pem}{%%TLS_CERT%%}g;
    $c =~ s{/etc/hotline/tls/privkey\.pem}{%%TLS_KEY%%}g;
    $c =~ s{/usr/share/hotline/html}{%%ROOT%%/html}g;
    $c =~ s{hotline_allowed_origins https://\S+;}
           {hotline_allowed_origins %%ORIGIN%%;};
    $c =~ s{redis://127\.0\.0\.1:\d+/}{'redis://127.0.0.1:' . $redis->port . '/'}e;
    $c =~ s{listen 80 }{listen 127.0.0.1:%%PORT2%% };
    $c =~ s{listen 443 }{listen 127.0.0.1:%%PORT%% };
    $c =~ s{listen 127\.0\.0\.1:8081;}{listen 127.0.0.1:%%PORT3%%;};
    # the Bot API is not reachable from a test: a closed port
    $c =~ s{(hotline_telegram_token_file)}{hotline_telegram_api http://127.0.0.1:9/;\n    $1};
    $c;
});
for my $k (qw(hotline_turn_key hotline_recorder_key hotline_bot_token)) {
    mkdir $t->prefix . '/secrets';
    Hotline::Test::write_file($t->prefix . "/secrets/$k",
                              ($k =~ /token/ ? '123:abc'
                               : Hotline::Test::random_string(48)) . "\n");
}
mkdir $t->prefix . '/lib';
# the workers (www-data) reach the prefix as they reach /etc/nginx
chmod 0711, $t->prefix;

$t->write_conf;
my ($ok, $out) = $t->nginx_t;
ok($ok, 'nginx -t on docker/nginx.conf, paths mapped') or diag($out);

$t->start;
my @users = map { (split ' ', $_)[0] }
            `ps --ppid ${\ $t->master_pid} -o user=,args=`;
is_deeply([ sort { $a cmp $b } keys %{{ map { $_ => 1 } @users }} ],
          ['www-data'], 'the workers run as www-data');

my $h = $t->http_get('/health', port => $t->port3);
is($h->{status}, 200, 'health on the loopback status server');
is(eval { json_decode($h->{body})->{store}{backend} }, 'redis',
   'the store is the Redis of the compose file');

my $rc = $t->http_get('/internal/recording', port => $t->port3);
is($rc->{status}, 401, 'the call check answers there (no token: 401)');

my $r = $t->http_get('/', port => $t->port2);
is($r->{status}, 301, 'port 80 redirects');
like($r->{headers}{location}[0] // '', qr{^https://}, 'to https');

$r = $t->http_get('/');
is($r->{status}, 200, 'the customer page over TLS');
like($r->{headers}{'content-security-policy'}[0] // '', qr/nonce-/,
     'with its CSP nonce');
ok($r->{headers}{'strict-transport-security'}, 'and HSTS');
like(Hotline::Test::run_capture('curl', '-sk', '--http2', '-o', '/dev/null',
                                '-w', '%{http_version}',
                                $t->origin . '/'), qr/^2$/,
     'HTTP/2 on the site');

my $c = $t->customer('From docker');
ok($c->{welcome}, 'a customer over wss');
$r = $t->http_get('/api/ice');
my $ice = eval { json_decode($r->{body}) } // {};
ok((grep { ($_->{username} // '') =~ /^\d+/ && $_->{credential} }
    @{ $ice->{iceServers} || [] }), '/api/ice: TURN credentials')
    or diag($r->{body});
$c->drop;

$t->allow_log(qr/telegram|notice|sendMessage/i);
$t->stop;
$redis->stop;

done_testing;
