#!/usr/bin/perl
# The minimal nginx.conf of docs/deployment.md passes `nginx -t` on
# Debian's stock nginx as it is installed (its prefix /usr/share/nginx has
# no logs/, its error log is stderr, the module comes through
# /etc/nginx/modules-enabled): the block is read from the document, only
# the module's path and the key file are this test's.  And nginx runs it:
# the page, a WebSocket, health.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use Hotline::Test qw(poll_until);

my $ROOT = $Hotline::Test::ROOT;
my $doc = Hotline::Test::read_file("$ROOT/docs/deployment.md");
my ($conf) = $doc =~ /<!-- minimal nginx\.conf[^>]*-->\s*```nginx\n(.*?)```/s;
ok($conf, 'docs/deployment.md has the minimal nginx.conf') or BAIL_OUT('');

my $dir = tempdir('hotline-docs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0711, $dir;
Hotline::Test::write_file("$dir/jwt.key", Hotline::Test::random_string(48));

my $t = Hotline::Test->new;    # the module's private copy, a port
(my $mine = $conf) =~ s{^include /etc/nginx/modules-enabled/\*\.conf;}
                       {'load_module ' . $t->module_file . ';'}me
    or die 'no modules-enabled include';
$mine =~ s{/etc/hotline/jwt\.key}{$dir/jwt.key}g or die 'no key file';
Hotline::Test::write_file("$dir/nginx.conf", $mine);

# nothing but -c: Debian's compiled-in prefix, error log and paths
my $out = Hotline::Test::run_capture($Hotline::Test::NGINX, '-t', '-c',
                                     "$dir/nginx.conf");
is($?, 0, 'nginx -t passes on the stock layout') or diag($out);
ok(!-d '/usr/share/nginx/logs', 'in a prefix without logs/')
    if -d '/usr/share/nginx/modules-available';

# and it serves: the same text with its ports and pid in this test's place
(my $run = $mine) =~ s{^pid \S+;}{pid $dir/nginx.pid;}m;
$run =~ s{/usr/share/hotline/html}{$ROOT/html}g;
$run =~ s{listen 80;}{'listen 127.0.0.1:' . $t->port . ';'}e;
$run =~ s{hotline_allowed_origins \S+;}
         {'hotline_allowed_origins ' . $t->origin . ';'}e;
$run =~ s{^worker_processes \S+;}{worker_processes 2;\nerror_log $dir/error.log;}m;
$run =~ s{^(http \{\n)}{$1    access_log $dir/access.log;\n    hotline_history_file $dir/calls.jsonl;\n}m;
Hotline::Test::write_file("$dir/run.conf", $run);
$out = Hotline::Test::run_capture($Hotline::Test::NGINX, '-c', "$dir/run.conf");
is($?, 0, 'nginx starts with it') or diag($out);
my $pid = poll_until(10, sub { -s "$dir/nginx.pid"
                               && 0 + Hotline::Test::read_file("$dir/nginx.pid") });
END { kill 'TERM', $pid if $pid }

my $r;
poll_until(10, sub { $r = eval { $t->http_get('/') }; $r && $r->{status} });
is($r && $r->{status}, 200, 'the customer page');
like($r ? $r->{body} : '', qr/<html/i, 'is HTML');
my $c = eval { $t->customer('Minimal') };
ok($c && $c->{welcome}, 'a customer joins') or diag($@);
is($t->http_get('/health')->{status}, 200, '/health from 127.0.0.1');

kill 'QUIT', $pid;
ok(poll_until(10, sub { !kill(0, $pid) }), 'nginx stops');
$pid = 0;
unlike(Hotline::Test::read_file("$dir/error.log"),
       qr/\[(?:alert|emerg|crit)\]/, 'nothing bad in the error log');

done_testing;
