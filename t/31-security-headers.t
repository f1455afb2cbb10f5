#!/usr/bin/perl
# hotline_security_headers and hotline_hsts: the headers are on every kind
# of response (static, return, error, proxied), replace the ones an
# application behind proxy_pass sends, give way to the operator's own
# add_header of one of them (where add_header applies: in the location or
# inherited, "always" for errors), and Strict-Transport-Security goes out
# over TLS only (a real TLS listener with a throwaway certificate).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::SSL;
use Test::More;
use Hotline::Test;

my %WANT = (
    'x-content-type-options'     => 'nosniff',
    'referrer-policy'            => 'no-referrer',
    'x-frame-options'            => 'DENY',
    'permissions-policy'         => 'camera=(self), microphone=(self), '
                                    . 'display-capture=(self), geolocation=()',
    'cross-origin-opener-policy' => 'same-origin',
);

my $t = Hotline::Test->new(
    http   => 'hotline_security_headers on; hotline_csp on;',
    server => q{
        location /static/ { alias %%PREFIX%%/html/; }
        location /app/ { proxy_pass http://127.0.0.1:%%PORT2%%/; }
        location /off/ { hotline_security_headers off; return 200 "off\n"; }
        location /own/ {
            add_header X-Frame-Options SAMEORIGIN;
            add_header Referrer-Policy strict-origin;
            return 200 "own\n";
        }
        location /own-error/ {
            add_header X-Frame-Options SAMEORIGIN;
            add_header Referrer-Policy strict-origin always;
            return 404;
        }
        location /own-app/ {
            add_header X-Frame-Options SAMEORIGIN;
            proxy_pass http://127.0.0.1:%%PORT2%%/;
        }
    },
    servers => q{
        server {
            listen 127.0.0.1:%%PORT2%%;
            hotline_security_headers off;
            hotline_csp off;
            location / {
                add_header X-Frame-Options SAMEORIGIN;
                add_header Referrer-Policy unsafe-url;
                add_header Strict-Transport-Security "max-age=1";
                add_header X-App yes;
                return 200 "app\n";
            }
        }
        server {
            listen 127.0.0.1:%%PORT3%% ssl;
            add_header Permissions-Policy "camera=()";
            ssl_certificate %%PREFIX%%/conf/cert.pem;
            ssl_certificate_key %%PREFIX%%/conf/key.pem;
            location / { return 200 "tls\n"; }
            location /custom/ {
                hotline_hsts 2y includeSubDomains preload;
                return 200 "custom\n";
            }
            location /nohsts/ { hotline_hsts off; return 200 "nohsts\n"; }
            location /ownhsts/ {
                add_header Strict-Transport-Security "max-age=60" always;
                return 200 "ownhsts\n";
            }
            location /app/ { proxy_pass http://127.0.0.1:%%PORT2%%/; }
        }
    },
);

my $conf = $t->prefix . '/conf';
my $out = Hotline::Test::run_capture('openssl', 'req', '-x509', '-newkey',
    'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', "$conf/key.pem",
    '-out', "$conf/cert.pem");
ok(-s "$conf/cert.pem" && -s "$conf/key.pem", 'throwaway certificate')
    or diag($out);

my $html = $t->prefix . '/html';
mkdir $html or die "$html: $!";
chmod 0711, $t->prefix;
chmod 0755, $html;
Hotline::Test::write_file("$html/a.txt", "static\n");

$t->start;

sub check_all {
    my ($r, $what, %own) = @_;
    my @bad;
    my %want = (%WANT, %own);
    for my $h (sort keys %want) {
        my $v = $r->{headers}{$h} || [];
        push @bad, "$h: " . join('|', @$v)
            unless @$v == 1 && $v->[0] eq $want{$h};
    }
    ok(!@bad, "$what: every security header, once, with its value")
        or diag(join "\n", @bad);
}

sub https_get {
    my ($path) = @_;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $t->port3,
                                 SSL_verify_mode => SSL_VERIFY_NONE,
                                 Timeout => 5)
        or die "TLS connect: $SSL_ERROR";
    my $port = $t->port3;
    print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
             . "Connection: close\r\n\r\n";
    my $raw = '';
    while (my $n = sysread($s, my $buf, 65536)) { $raw .= $buf }
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my %h;
    for (split /\r\n/, $head) {
        push @{ $h{ lc $1 } }, $2 if /^([^:]+):\s*(.*)$/;
    }
    return { status => $status, headers => \%h, body => $body };
}

# ------------------------------------------------ plain HTTP
{
    my $r = $t->http_get('/static/a.txt');
    is($r->{status}, 200, 'static file');
    check_all($r, 'static file');
    ok(!$r->{headers}{'strict-transport-security'},
       'no HSTS over plain HTTP');

    $r = $t->http_get('/');
    check_all($r, 'return');

    $r = $t->http_get('/static/missing');
    is($r->{status}, 404, 'missing file: not found');
    check_all($r, 'error page');

    $r = $t->http_post('/ws/customer', '');
    is($r->{status}, 405, 'a JSON error of the module');
    check_all($r, 'JSON error');

    $r = $t->http_get('/app/');
    is($r->{body}, "app\n", 'proxied');
    check_all($r, 'proxied answer with its own headers');
    is($r->{headers}{'x-app'}[0], 'yes', 'the application\'s other headers stay');
    is_deeply($r->{headers}{'strict-transport-security'}, ['max-age=1'],
              'the application\'s HSTS is left alone over plain HTTP');

    # the operator's add_header wins, once, over the module's header
    $r = $t->http_get('/own/');
    check_all($r, "the location's add_header X-Frame-Options and "
                  . 'Referrer-Policy are sent instead of the module\'s',
              'x-frame-options' => 'SAMEORIGIN',
              'referrer-policy' => 'strict-origin');

    # add_header without "always" does not apply to a 404: the module's then
    $r = $t->http_get('/own-error/');
    is($r->{status}, 404, 'an error of a location with add_header');
    check_all($r, 'a 404: add_header ... always wins, the one without '
                  . 'always does not apply',
              'referrer-policy' => 'strict-origin');

    # an application's header is replaced, the operator's add_header is not
    $r = $t->http_get('/own-app/');
    is($r->{body}, "app\n", 'proxied, with add_header');
    check_all($r, 'proxied: the operator\'s X-Frame-Options, not the '
                  . 'application\'s nor the module\'s, and the module\'s '
                  . 'Referrer-Policy, not the application\'s',
              'x-frame-options' => 'SAMEORIGIN');

    $r = $t->http_get('/off/');
    is($r->{body}, "off\n", 'hotline_security_headers off');
    ok(!grep({ $r->{headers}{$_} } keys %WANT), 'off: no security headers');
    ok($r->{headers}{'content-security-policy'}, 'off: CSP is separate');
}

# ------------------------------------------------ TLS
{
    my $r = https_get('/');
    is($r->{status}, 200, 'HTTPS');
    check_all($r, 'HTTPS, with a server-level add_header (inherited)',
              'permissions-policy' => 'camera=()');
    is_deeply($r->{headers}{'strict-transport-security'}, ['max-age=31536000'],
              'HSTS over TLS, default max-age of one year');

    $r = https_get('/custom/');
    is_deeply($r->{headers}{'strict-transport-security'},
              ['max-age=63072000; includeSubDomains; preload'],
              'hotline_hsts 2y includeSubDomains preload');

    $r = https_get('/nohsts/');
    is($r->{status}, 200, 'hotline_hsts off: served');
    ok(!$r->{headers}{'strict-transport-security'}, 'hotline_hsts off: no HSTS');
    check_all($r, 'hotline_hsts off: the other headers',
              'permissions-policy' => 'camera=()');

    $r = https_get('/ownhsts/');
    is_deeply($r->{headers}{'strict-transport-security'}, ['max-age=60'],
              'the operator\'s add_header Strict-Transport-Security wins');
    check_all($r, 'a location with its own add_header: the server\'s is not '
                  . 'inherited (nginx\'s rule), the module\'s is sent');

    $r = https_get('/app/');
    is_deeply($r->{headers}{'strict-transport-security'}, ['max-age=31536000'],
              'the application\'s HSTS is replaced by the edge\'s');
    is_deeply($r->{headers}{'x-frame-options'}, ['DENY'],
              'the application\'s X-Frame-Options is replaced');
    is_deeply($r->{headers}{'permissions-policy'}, ['camera=()'],
              'the server\'s add_header is inherited by a proxying location');
}

$t->stop;

# ------------------------------------------------ nginx -t
sub conf_fails {
    my ($http, $name, $re) = @_;
    my $c = Hotline::Test->new(http => $http);
    my ($ok, $out) = $c->nginx_t($Hotline::Test::DEFAULT_CONF);
    ok(!$ok, "nginx -t fails: $name") or diag($out);
    like($out, $re, "$name: the message says why") if $re && !$ok;
}

sub conf_ok {
    my ($http, $name) = @_;
    my $c = Hotline::Test->new(http => $http);
    my ($ok, $out) = $c->nginx_t($Hotline::Test::DEFAULT_CONF);
    ok($ok, "nginx -t passes: $name") or diag($out);
}

conf_fails('hotline_hsts forever;', 'bad max-age', qr/invalid max-age/);
conf_fails('hotline_hsts 1y everything;', 'bad parameter', qr/invalid parameter/);
conf_fails('hotline_hsts 1d includeSubDomains preload;',
           'preload with a short max-age', qr/preload/);
conf_fails('hotline_hsts 1y preload;', 'preload without includeSubDomains',
           qr/preload/);
conf_fails('hotline_hsts off includeSubDomains;', 'off with parameters',
           qr/off/);
conf_fails('hotline_security_headers maybe;', 'not on or off', qr/on.*off/);
conf_ok('hotline_hsts max-age=600;', 'max-age=600');
conf_ok('hotline_security_headers on; hotline_hsts 180d includeSubDomains;',
        'a time with includeSubDomains');

# ------------------------------------------------ one way to add a header
# nginx >= 1.23 links response headers of one name with h->next: every
# header the modules add goes through the one helper that sets it
{
    my @push;
    for my $f (glob("$Hotline::Test::ROOT/src/*.c")) {
        my $src = Hotline::Test::read_file($f);
        my $n = () = $src =~ /ngx_list_push\(\s*&r->headers_out\.headers\s*\)/g;
        push @push, ($f =~ m{([^/]+)$})[0] . " ($n)" if $n;
    }
    is_deeply(\@push, ['ngx_http_hotline_http.c (1)'],
              'response headers are added in one place');
    my $http = Hotline::Test::read_file(
        "$Hotline::Test::ROOT/src/ngx_http_hotline_http.c");
    like($http, qr/nginx_version >= 1023000\)\n\s*h->next = NULL;/,
         'which sets h->next on nginx >= 1.23');
}

done_testing();
