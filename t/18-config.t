#!/usr/bin/perl
# Configuration checks done by `nginx -t`: the JWT key file (missing, short,
# trailing newline), directive bounds, and docs' nginx.conf.example.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Path qw(make_path);
use Hotline::Test;

my $t = Hotline::Test->new;
my $dir = $t->prefix . '/conf';
my $base = $Hotline::Test::DEFAULT_CONF;

sub conf_ok {
    my ($conf, $name) = @_;
    my ($ok, $out) = $t->nginx_t($conf);
    ok($ok, "nginx -t passes: $name") or diag($out);
}
sub conf_fails {
    my ($conf, $name, $re) = @_;
    my ($ok, $out) = $t->nginx_t($conf);
    ok(!$ok, "nginx -t fails: $name") or diag($out);
    like($out, $re, "$name: the message says why") if $re && !$ok;
}
sub with_key {
    my ($content) = @_;
    my $f = "$dir/key-" . int(rand 1e9);
    Hotline::Test::write_file($f, $content);
    (my $c = $base) =~ s/%%SECRET_FILE%%/$f/;
    return $c;
}

conf_ok($base, 'the harness default config');

(my $missing = $base) =~ s/%%SECRET_FILE%%/$dir\/no-such-key/;
conf_fails($missing, 'missing secret file', qr/no-such-key|hotline_jwt_secret_file/);
conf_fails(with_key(''), 'empty secret file', qr/hotline_jwt_secret_file|32|short/i);
conf_fails(with_key('k' x 31), '31-byte secret', qr/hotline_jwt_secret_file|32|short/i);
conf_fails(with_key(('k' x 31) . "\n"), '31 bytes + newline (newline stripped)',
           qr/hotline_jwt_secret_file|32|short/i);
conf_ok(with_key('k' x 32), '32-byte secret');
conf_ok(with_key(('k' x 32) . "\n"), '32 bytes + newline');
conf_ok(with_key(join '', map { chr int rand 256 } 1 .. 64), '64 random bytes');
(my $isdir = $base) =~ s/%%SECRET_FILE%%/$dir/;
conf_fails($isdir, 'secret path is a directory');

(my $nokey = $base) =~ s/^\s*hotline_jwt_secret_file .*\n//m;
conf_fails($nokey, 'agent endpoint without hotline_jwt_secret_file',
           qr/hotline_jwt_secret_file|secret/);
(my $customer_only = $nokey) =~ s/^.*hotline_signaling agent.*\n//m;
conf_ok($customer_only, 'customer endpoint alone needs no key');

sub http_with { my $c = $base; $c =~ s/%%HTTP%%/$_[0]/; $c }
conf_fails(http_with('hotline_zone 512k;'), 'hotline_zone below 1m');
conf_ok(http_with('hotline_max_message 125;'), 'hotline_max_message 125');
conf_fails(http_with('hotline_max_message 124;'), 'hotline_max_message 124');
conf_fails(http_with('hotline_max_message 17m;'), 'hotline_max_message 17m');
conf_fails(http_with('hotline_ping_interval forever;'), 'bad time');
conf_fails(http_with('hotline_queue_size -1;'), 'negative queue size');
conf_fails(http_with('hotline_zone 16m;'), 'duplicate hotline_zone');
# bounds from docs/directives.md
conf_fails(http_with('hotline_send_queue 3k;'), 'hotline_send_queue below 4k');
conf_ok(http_with('hotline_send_queue 4k;'), 'hotline_send_queue 4k');
conf_fails(http_with('hotline_ping_interval 50ms;'), 'hotline_ping_interval below 100ms');
conf_fails(http_with('hotline_ping_interval 2h;'), 'hotline_ping_interval above 1h');
conf_fails(http_with('hotline_handshake_timeout 50ms;'), 'hotline_handshake_timeout below 100ms');
conf_fails(http_with('hotline_resume_timeout 500ms;'), 'hotline_resume_timeout below 1s');
conf_ok(http_with('hotline_resume_timeout 1s;'), 'hotline_resume_timeout 1s');
conf_fails(http_with('hotline_replay_buffer 17m;'), 'hotline_replay_buffer above 16m');
conf_fails(http_with('hotline_replay_buffer 3k;'), 'hotline_replay_buffer below 4k');
conf_fails(http_with('hotline_queue_size 0;'), 'hotline_queue_size 0');
conf_ok(http_with('hotline_position_interval 0;'), 'hotline_position_interval 0');
conf_ok(http_with('hotline_position_interval 60s;'), 'hotline_position_interval 60s');
conf_fails(http_with('hotline_position_interval 61s;'), 'hotline_position_interval above 60s');
conf_fails(http_with('hotline_allowed_origins http://a.example/path;'),
           'an origin with a path');
(my $status_in_http = $base) =~ s/%%HTTP%%/hotline_status;/;
conf_fails($status_in_http, 'hotline_status outside a location');

(my $badrole = $base) =~ s/hotline_signaling customer;/hotline_signaling operator;/;
conf_fails($badrole, 'unknown hotline_signaling role');
(my $srvzone = $base) =~ s/(listen 127\.0\.0\.1:%%PORT%% %%LISTEN%%;)/$1 hotline_resume_timeout 5s;/;
conf_fails($srvzone, 'hotline_resume_timeout is http-level only');

# the example configuration of the repository
{
    my $ex = "$Hotline::Test::ROOT/nginx.conf.example";
    ok(-f $ex, 'nginx.conf.example exists') or last;
    my $c = Hotline::Test::read_file($ex);
    my $key = "$dir/example.key";
    Hotline::Test::write_file($key, Hotline::Test::random_string(48) . "\n");
    my $p = $t->prefix;
    my $n = 0;
    $n += $c =~ s{^(\s*load_module\s+)\S*ngx_http_hotline_module\.so;}
                 {$1@{[ $t->module_file ]};}m;
    $n += $c =~ s{^(\s*hotline_jwt_secret_file\s+)[^;]+;}{$1$key;}m;
    is($n, 2, 'example: load_module and key file found and substituted');
    # the other files it names: keys, the bot token, the history
    make_path("$dir/etc", "$dir/var");
    for my $f ($c =~ m{/etc/hotline/([\w.-]+)}g) {
        Hotline::Test::write_file("$dir/etc/$f", $f =~ /\.token$/
            ? "123456789:AAHtest_token-" . Hotline::Test::random_string(20)
            : Hotline::Test::random_string(48) . "\n");
    }
    $c =~ s{/etc/hotline/}{$dir/etc/}g;
    $c =~ s{/var/lib/hotline/}{$dir/var/}g;
    $c =~ s{^(\s*(?:include|user)\s[^;]*;)}{# $1}mg;
    $c =~ s{^(\s*root\s+)[^;]+;}{$1$dir;}m;
    # keep the system's logs and pid out of it
    $c =~ s{^(\s*pid\s+)[^;]+;}{$1$p/logs/example.pid;}m;
    $c =~ s{^(\s*error_log\s+)[^;\s]+}{$1$p/logs/example-error.log}mg;
    $c =~ s{^(\s*access_log\s+)[^;\s]+}{$1$p/logs/example-access.log}mg;
    my $copy = "$dir/example.conf";
    Hotline::Test::write_file($copy, $c);
    my ($ok, $out) = $t->nginx_t(undef, $copy);
    ok($ok, 'nginx -t passes on nginx.conf.example') or diag($out);
}

done_testing;
