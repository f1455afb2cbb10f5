#!/usr/bin/perl
# hotline_origin_guard: every state-changing request (any method but GET,
# HEAD, OPTIONS) needs exactly one Origin from hotline_allowed_origins
# (exact match, the same list as the WebSocket handshakes); a missing one,
# with or without the session cookie (CSRF), a foreign one, a look-alike or
# two of them get 403 {"error":"forbidden_origin"} and never reach the
# application; reading methods pass; "return" in the location does not
# skip the check; the request body of a refused request is discarded and
# the connection goes on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);

my $t = Hotline::Test->new(
    origins => 'https://app.example.com',
    server  => q{
        location /api/ {
            hotline_origin_guard on;
            proxy_pass http://127.0.0.1:%%PORT2%%;
        }
        location /returns/ {
            hotline_origin_guard on;
            return 200 "returned\n";
        }
        location /open/ {
            proxy_pass http://127.0.0.1:%%PORT2%%;
        }
    },
    servers => q{
        server {
            listen 127.0.0.1:%%PORT2%%;
            access_log %%PREFIX%%/logs/app.log;
            location / { return 200 "app $request_method\n"; }
        }
    },
)->start;

my $me = $t->origin;
my $port = $t->port;

sub app_hits {
    my $f = $t->prefix . '/logs/app.log';
    return 0 unless -f $f;
    my @l = split /\n/, Hotline::Test::read_file($f);
    return scalar @l;
}

sub req {
    my ($method, $path, %o) = @_;
    my $body = $o{body} // '';
    my $h = join '', map { "$_->[0]: $_->[1]\r\n" } @{ $o{headers} || [] };
    my $r = $t->http_raw("$method $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                         . "Connection: close\r\n$h"
                         . (length $body || $method ne 'GET'
                            ? "Content-Length: " . length($body) . "\r\n" : '')
                         . "\r\n$body");
    close $r->{sock};
    return $r;
}

sub refused {
    my ($r, $name) = @_;
    my $j = eval { json_decode($r->{body}) } || {};
    ok($r->{status} == 403 && ($j->{error} // '') eq 'forbidden_origin',
       "$name: 403 forbidden_origin")
        or diag("$r->{status} $r->{body}");
}

my $cookie = [Cookie => '__Host-hotline_session=eyJhbGciOi.x.y'];

# ------------------------------------------------ refused

refused(req('POST', '/api/x', body => 'a=1',
            headers => [[Origin => 'https://evil.example']]),
        'POST from a foreign origin');
refused(req('POST', '/api/x', body => 'a=1', headers => [$cookie]),
        'POST with the session cookie and no Origin (CSRF)');
refused(req('POST', '/api/x', body => 'a=1'), 'POST without Origin');
refused(req('POST', '/api/x', body => 'a=1',
            headers => [[Origin => 'https://evil.example'], $cookie]),
        'POST with the session cookie from a foreign origin');
refused(req('POST', '/api/x', headers => [[Origin => 'null']]),
        'Origin: null');
refused(req('POST', '/api/x', headers => [[Origin => "$me.evil.example"]]),
        'an allowed origin as a prefix');
refused(req('POST', '/api/x', headers => [[Origin => "$me/"]]),
        'an allowed origin with a path');
refused(req('POST', '/api/x', headers => [[Origin => 'http://127.0.0.1']]),
        'the allowed host without its port');
refused(req('POST', '/api/x', headers => [[Origin => 'https://app.example.co']]),
        'a truncated allowed origin');
refused(req('POST', '/api/x', headers => [[Origin => $me],
                                          [Origin => 'https://evil.example']]),
        'two Origin headers');
refused(req('POST', '/api/x', headers => [[Origin => '']]), 'an empty Origin');
for my $m (qw(PUT PATCH DELETE PROPFIND)) {
    refused(req($m, '/api/x', headers => [[Origin => 'https://evil.example']]),
            "$m from a foreign origin");
    refused(req($m, '/api/x', headers => [$cookie]), "$m without Origin");
}
refused(req('POST', '/returns/', headers => [$cookie]),
        '"return" in the location does not skip the guard');


{
    my $r = req('POST', '/api/x', headers => [[Origin => 'https://evil.example']]);
    like($r->{headers}{'content-type'}[0] // '', qr{^application/json},
         'the refusal is JSON');
    like($t->error_log, qr/"POST" request without an allowed origin/,
         'the refusal is logged');
}

# ------------------------------------------------ allowed

{
    my $r = req('POST', '/api/x', body => 'a=1', headers => [[Origin => $me], $cookie]);
    is($r->{status}, 200, 'POST from the own origin with the cookie passes');
    is($r->{body}, "app POST\n", 'and reaches the application');

    $r = req('POST', '/api/x', headers => [[Origin => 'https://app.example.com']]);
    is($r->{status}, 200, 'POST from another listed origin passes');

    $r = req('POST', '/api/x', headers => [[Origin => 'HTTPS://APP.EXAMPLE.COM']]);
    is($r->{status}, 200, 'scheme and host compare case-insensitively');

    for my $m (qw(PUT PATCH DELETE)) {
        $r = req($m, '/api/x', headers => [[Origin => $me]]);
        is($r->{body}, "app $m\n", "$m from the own origin passes");
    }

    $r = req('GET', '/api/x', headers => [$cookie]);
    is($r->{body}, "app GET\n", 'GET with the cookie and no Origin passes');

    $r = req('GET', '/api/x', headers => [[Origin => 'https://evil.example']]);
    is($r->{body}, "app GET\n", 'GET from a foreign origin passes');

    $r = req('HEAD', '/api/x', headers => [$cookie]);
    is($r->{status}, 200, 'HEAD passes');

    $r = req('OPTIONS', '/api/x', headers => [[Origin => 'https://evil.example']]);
    is($r->{body}, "app OPTIONS\n", 'OPTIONS passes');

    $r = req('POST', '/returns/', headers => [[Origin => $me]]);
    is($r->{body}, "returned\n", 'allowed POST to a "return" location');

    $r = req('POST', '/open/x', headers => [$cookie]);
    is($r->{body}, "app POST\n", 'a location without the guard is not checked');
}

# the application logs a request after answering it: poll for the count
poll_until(5, sub { app_hits() >= 11 });
is(app_hits(), 11, 'the allowed requests reached the application, '
                   . 'none of the refused ones did');

# ------------------------------------------------ the connection goes on
{
    my $body = 'x' x 5000;
    my $s = $t->connect_tcp;
    Hotline::Test::write_all($s,
        "POST /api/x HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . "Origin: https://evil.example\r\nContent-Length: 5000\r\n\r\n$body");
    my $r1 = Hotline::Test::read_http_response($s, 5);
    # one response at a time: the reader keeps no bytes between calls
    Hotline::Test::write_all($s,
        "GET /api/y HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
        . "Connection: close\r\n\r\n");
    my $r2 = Hotline::Test::read_http_response($s, 5);
    close $s;
    is($r1->{status}, 403, 'keep-alive: refused POST with a body');
    is($r2->{body}, "app GET\n",
       'keep-alive: the body was discarded, the next request is served');
}

$t->stop;

done_testing();
