#!/usr/bin/perl
# make deb: the Debian packages, checked as dpkg would install them.
#
# libnginx-mod-http-hotline: the module in /usr/lib/nginx/modules, the
# load snippet in /usr/share/nginx/modules-available enabled as
# /etc/nginx/modules-enabled/50-mod-http-hotline.conf by its postinst,
# "Depends: nginx-abi-..." of the nginx it was built for (which the
# installed nginx provides), the pages and the examples; extracted into a
# temporary root (dpkg-deb -x), `nginx -t` passes with the packaged module
# loaded through the snippet, and that nginx serves /health.
#
# hotline-recorder: the binary (which runs), a systemd unit running it as
# its own user with the config in /etc/hotline (a conffile) and the
# recordings in /var/lib/hotline (systemd-analyze verify finds nothing),
# a postinst that makes the user and the shared secret.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use Hotline::Test qw(json_decode poll_until);

my $ROOT = $Hotline::Test::ROOT;
my $DEB  = "$ROOT/build/deb";

my $out = Hotline::Test::run_capture('make', '-s', '-C', $ROOT, 'deb');
is($?, 0, 'make deb') or diag($out);

my ($version) = Hotline::Test::read_file(
    "$ROOT/src/ngx_http_hotline_version.h") =~ /VERSION\s+"([^"]+)"/;
chomp(my $arch = `dpkg --print-architecture`);
my $mod = "$DEB/libnginx-mod-http-hotline_${version}_$arch.deb";
my $rec = "$DEB/hotline-recorder_${version}_$arch.deb";
ok(-f $mod, "built $mod") or BAIL_OUT('no module package');
ok(-f $rec, "built $rec") or BAIL_OUT('no recorder package');

sub field {
    my ($deb, $name) = @_;
    my $v = Hotline::Test::run_capture('dpkg-deb', '-f', $deb, $name);
    chomp $v;
    return $v;
}

sub control_file {
    my ($deb, $file) = @_;
    my $dir = tempdir('hotline-deb-ctl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    system('dpkg-deb', '-e', $deb, $dir) == 0 or return '';
    return -f "$dir/$file" ? Hotline::Test::read_file("$dir/$file") : '';
}

my $root = tempdir('hotline-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $deb ($mod, $rec) {
    is(system('dpkg-deb', '-x', $deb, $root), 0, "dpkg-deb -x $deb");
}

# --- libnginx-mod-http-hotline ------------------------------------------------
is(field($mod, 'Package'), 'libnginx-mod-http-hotline', 'module: Package');
is(field($mod, 'Architecture'), $arch, "module: Architecture $arch");
my ($abi) = Hotline::Test::read_file(
    '/usr/share/nginx/src/debian/libnginx-mod.abisubstvars')
    =~ /^nginx:abi=(\S+)/m;
my $depends = field($mod, 'Depends');
like($depends, qr/(?:^|, )\Q$abi\E(?:,|$)/,
     "module: Depends on $abi, the ABI it was built for");
like($depends, qr/libjansson4/, 'module: and the libraries it links');
like(Hotline::Test::run_capture('dpkg-query', '-W', '-f', '${Provides}',
                                'nginx'),
     qr/\b\Q$abi\E\b/, "the installed nginx provides $abi");

my $so = "$root/usr/lib/nginx/modules/ngx_http_hotline_module.so";
ok(-f $so, 'module: /usr/lib/nginx/modules/ngx_http_hotline_module.so');
like(Hotline::Test::run_capture('file', '-b', $so), qr/ELF .*shared object/,
     'module: an ELF shared object') if -x '/usr/bin/file';
my $snippet = "$root/usr/share/nginx/modules-available/mod-http-hotline.conf";
is(-f $snippet ? Hotline::Test::read_file($snippet) : '',
   "load_module modules/ngx_http_hotline_module.so;\n",
   'module: the load snippet in modules-available');
my $postinst = control_file($mod, 'postinst');
like($postinst, qr{mod-http-hotline\.conf:50-mod-http-hotline\.conf},
     'module: its postinst enables it as 50-mod-http-hotline.conf');
like($postinst,
     qr{ln -sf /usr/share/nginx/modules-available/\$from\s*\\\s*/etc/nginx/modules-enabled/\$to},
     'module: with a symlink in /etc/nginx/modules-enabled');
like(control_file($mod, 'postrm'), qr{modules-enabled},
     'module: its postrm removes it');
for my $f (qw(usr/share/hotline/html/index.html
              usr/share/hotline/html/agent.html
              usr/share/doc/libnginx-mod-http-hotline/examples/nginx.conf.example
              usr/share/doc/libnginx-mod-http-hotline/examples/hotline.rules.yml
              usr/share/doc/libnginx-mod-http-hotline/examples/hotline.dashboard.json
              usr/share/doc/libnginx-mod-http-hotline/copyright)) {
    ok(-f "$root/$f", "module: /$f");
}
ok(-d "$root/var/lib/hotline", 'module: /var/lib/hotline');

# nginx -t with the packaged module, loaded as Debian's nginx.conf does
# (include /etc/nginx/modules-enabled/*.conf), the prefix's modules/
# pointing to /usr/lib/nginx/modules as in nginx-common
mkdir "$root/etc/nginx";
mkdir "$root/etc/nginx/modules-enabled";
symlink('../../../usr/share/nginx/modules-available/mod-http-hotline.conf',
        "$root/etc/nginx/modules-enabled/50-mod-http-hotline.conf")
    or die "symlink: $!";
symlink('../../lib/nginx/modules', "$root/usr/share/nginx/modules")
    or die "symlink: $!";
my $t = Hotline::Test->new(conf => <<"EOF");
include $root/etc/nginx/modules-enabled/*.conf;
worker_processes 1;
pid %%PREFIX%%/logs/nginx.pid;
events { }
http {
    hotline_jwt_secret_file %%SECRET_FILE%%;
    hotline_history_file %%PREFIX%%/logs/calls.jsonl;
    hotline_state_file %%PREFIX%%/logs/state.journal;
    server {
        listen 127.0.0.1:%%PORT%%;
        location = /ws/customer { hotline_signaling customer; }
        location = /health { hotline_status; }
        location = /metrics { hotline_metrics; }
        location / { return 200 "ok\\n"; }
    }
}
EOF
$t->{workers} = 1;
my @cmd = ($Hotline::Test::NGINX, '-t', '-p', "$root/usr/share/nginx/",
           '-c', $t->conf_file, '-e', $t->prefix . '/logs/error.log');
$t->write_conf;
$out = Hotline::Test::run_capture(@cmd);
is($?, 0, 'nginx -t with the packaged module and snippet') or diag($out);

# and it runs: the stock nginx with the packaged module serves /health
{
    no warnings 'redefine';
    my $orig = \&Hotline::Test::_nginx_cmd;
    local *Hotline::Test::_nginx_cmd = sub {
        my ($self, @args) = @_;
        my @c = $orig->($self, @args);
        $c[2] = "$root/usr/share/nginx/";    # -p
        return @c;
    };
    $t->start;
    my $r = $t->http_get('/health');
    is($r->{status}, 200, 'the packaged module serves /health');
    like($t->http_get('/metrics')->{body},
         qr/^hotline_build_info\{version="\Q$version\E",/m,
         "it is the packaged build ($version)");
    my $c = $t->customer('From the package');
    ok($c->{welcome}, 'and signaling works');
    $t->stop;
}

# --- hotline-recorder -----------------------------------------------------------
is(field($rec, 'Package'), 'hotline-recorder', 'recorder: Package');
like(field($rec, 'Depends'), qr/adduser/, 'recorder: Depends on adduser');
like(field($rec, 'Depends'), qr/libnice10/, 'recorder: and its libraries');
my $bin = "$root/usr/sbin/hotline-recorder";
ok(-x $bin, 'recorder: /usr/sbin/hotline-recorder');
my $unit = "$root/lib/systemd/system/hotline-recorder.service";
ok(-f $unit, 'recorder: its systemd unit');
my $u = -f $unit ? Hotline::Test::read_file($unit) : '';
like($u, qr/^User=hotline-recorder$/m, 'unit: runs as its own user');
like($u, qr{^ExecStart=/usr/sbin/hotline-recorder\b}m,
     'unit: starts the packaged binary');
like($u, qr{^EnvironmentFile=/etc/hotline/recorder\.conf$}m,
     'unit: options from /etc/hotline/recorder.conf');
like($u, qr{--secret-file /etc/hotline/recorder\.key}, 'unit: the secret');
like($u, qr{--recordings /var/lib/hotline/recordings}, 'unit: the recordings');
like($u, qr{^StateDirectory=hotline/recordings$}m,
     'unit: systemd makes the recordings directory, owned by the user');
like($u, qr/^NoNewPrivileges=yes$/m, 'unit: hardened');
ok(-f "$root/etc/hotline/recorder.conf", 'recorder: /etc/hotline/recorder.conf');
like(control_file($rec, 'conffiles'), qr{^/etc/hotline/recorder\.conf$}m,
     'recorder: the config is a conffile');
my $rpost = control_file($rec, 'postinst');
like($rpost, qr/adduser --system --group .* hotline-recorder/s,
     'recorder: its postinst makes a system user');
like($rpost, qr{/etc/hotline/recorder\.key}, 'and the shared secret');
like($rpost, qr/deb-systemd-helper enable 'hotline-recorder\.service'/,
     'and enables the service');

# systemd's own check of the unit (pointing at the extracted binary)
SKIP: {
    skip 'no systemd-analyze', 2 unless -x '/usr/bin/systemd-analyze';
    my $dir = tempdir('hotline-deb-unit-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    (my $copy = $u) =~ s{/usr/sbin/hotline-recorder}{$bin}g;
    Hotline::Test::write_file("$dir/hotline-recorder.service", $copy);
    my $v = Hotline::Test::run_capture('sh', '-c',
        "cd '$dir' && systemd-analyze verify ./hotline-recorder.service");
    is($?, 0, 'systemd-analyze verify: exit 0');
    is($v, '', 'systemd-analyze verify: nothing to say') or diag($v);
}

# the packaged recorder runs and answers its health check
{
    my $dir = tempdir('hotline-deb-rec-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$dir/rec";
    Hotline::Test::write_file("$dir/key", Hotline::Test::random_string(48));
    chmod 0600, "$dir/key";
    my $port = Hotline::Test::free_port();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/log";
        open STDERR, '>&', \*STDOUT;
        exec($bin, '--listen', "127.0.0.1:$port", '--recordings', "$dir/rec",
             '--secret-file', "$dir/key", '--min-free-disk', '1')
            or POSIX::_exit(127);
    }
    my $health;
    poll_until(10, sub {
        my $r = eval { $t->http_get('/health', port => $port, timeout => 1) };
        $health = $r if $r && $r->{status};
        $health;
    });
    is($health && $health->{status}, 200, 'the packaged recorder runs')
        or diag(Hotline::Test::read_file("$dir/log"));
    is($health && eval { json_decode($health->{body})->{status} }, 'ok',
       'and its health is ok');
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

done_testing;
