#!/usr/bin/perl
# CSP nonces: hotline_csp adds a Content-Security-Policy whose nonce
# ($hotline_csp_nonce) is fresh on every response and is the one sub_filter
# stamps into the page, through index and error_page internal redirects
# too; no 'unsafe-inline' (nginx -t refuses it, and a policy that picks it
# up from a variable at run time is replaced by a closed one); "off"
# in a location; error pages get the header; SSI subrequests share the
# main request's nonce.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use MIME::Base64 qw(decode_base64);
use Test::More;
use Hotline::Test;

my $POLICY = q{"default-src 'self'; script-src 'self' 'nonce-$hotline_csp_nonce'; }
           . q{object-src 'none'; base-uri 'none'; frame-ancestors 'none'"};

my $t = Hotline::Test->new(
    http   => "hotline_csp $POLICY;",
    server => q{
        location /site/ {
            alias %%PREFIX%%/html/;
            index index.html;
            error_page 404 /site/404.html;
            sub_filter '__CSP_NONCE__' $hotline_csp_nonce;
            sub_filter_once off;
        }
        location /plain/ {
            alias %%PREFIX%%/html/;
        }
        location /default/ {
            hotline_csp on;
            alias %%PREFIX%%/html/;
            sub_filter '__CSP_NONCE__' $hotline_csp_nonce;
        }
        location /nocsp/ {
            hotline_csp off;
            alias %%PREFIX%%/html/;
        }
        location /var/ {
            hotline_csp "script-src 'nonce-$hotline_csp_nonce' $arg_extra";
            return 200 "var\n";
        }
        location /var-nonce/ {
            hotline_csp "script-src 'nonce-$arg_n'";
            return 200 "var\n";
        }
        location /ssi/ {
            alias %%PREFIX%%/html/;
            ssi on;
        }
        location /sub/ {
            return 200 "sub:$hotline_csp_nonce";
        }
        location /log/ {
            add_header X-Nonce $hotline_csp_nonce always;
            return 200 "$hotline_csp_nonce\n";
        }
    },
);

# the workers (nobody) read the pages
my $html = $t->prefix . '/html';
mkdir $html or die "$html: $!";
chmod 0711, $t->prefix;
chmod 0755, $html;
Hotline::Test::write_file("$html/index.html", <<'EOF');
<!doctype html>
<html><head>
<script type="module" nonce="__CSP_NONCE__" src="js/app.js"></script>
</head><body><script nonce="__CSP_NONCE__">document.title = 'x';</script>
</body></html>
EOF
Hotline::Test::write_file("$html/ssi.html",
    qq{<p><!--# include virtual="/sub/" --></p>\n});
Hotline::Test::write_file("$html/404.html",
    qq{<p>not here</p><script nonce="__CSP_NONCE__"></script>\n});

$t->start;

sub csp {
    my ($r) = @_;
    my $h = $r->{headers}{'content-security-policy'} || [];
    return @$h;
}

sub nonce_of {
    my ($policy) = @_;
    return $policy =~ /'nonce-([^']*)'/ ? $1 : undef;
}

# ------------------------------------------------ nonce per response, stamped
my %seen;
my $fresh = 1;
my $stamped = 1;
my $shape = 1;
# a worker draws random bytes for 256 ids at a time: 600 responses from
# two workers take more than one draw
for my $i (1 .. 600) {
    my $r = $t->http_get('/site/index.html');
    is($r->{status}, 200, 'page served') if $i == 1;
    my @p = csp($r);
    is(scalar @p, 1, 'one Content-Security-Policy header') if $i == 1;
    my $n = nonce_of($p[0] // '');
    my @body = $r->{body} =~ /nonce="([^"]*)"/g;
    $fresh = 0 if !defined $n || $seen{$n}++;
    $stamped = 0 unless @body == 2 && $body[0] eq ($n // '')
                        && $body[1] eq ($n // '');
    $shape = 0 unless defined $n && length $n == 24
                      && length(decode_base64($n)) == 16;
}
ok($fresh, 'the nonce differs on every response (600 responses)');
ok($stamped, 'sub_filter stamps the header\'s nonce into the page');
ok($shape, 'the nonce is base64 of 16 bytes');

{
    my $r = $t->http_get('/site/index.html');
    my ($p) = csp($r);
    unlike($p, qr/unsafe-inline/i, 'no unsafe-inline');
    like($p, qr/^default-src 'self'; script-src 'self' 'nonce-[A-Za-z0-9+\/=]{24}'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'$/,
         'the policy is the template with the nonce in it');
}

# index and error_page are internal redirects: header and page still agree
{
    my $r = $t->http_get('/site/');
    is($r->{status}, 200, 'index page');
    my ($p) = csp($r);
    my $n = nonce_of($p // '');
    ok(defined $n, 'index page: CSP with a nonce');
    my @body = $r->{body} =~ /nonce="([^"]*)"/g;
    is_deeply(\@body, [ $n, $n ],
              'index (internal redirect): the page carries the header\'s nonce');

    $r = $t->http_get('/site/missing.html');
    is($r->{status}, 404, 'error page');
    my @p = csp($r);
    is(scalar @p, 1, 'error page: one CSP header');
    $n = nonce_of($p[0] // '');
    my ($b) = $r->{body} =~ /nonce="([^"]*)"/;
    ok(defined $n && defined $b && $b eq $n,
       'error_page (internal redirect): the page carries the header\'s nonce');
}

# nginx's own error page and a JSON error of the module get it too
{
    my $r = $t->http_get('/plain/nothing-here');
    is($r->{status}, 404, 'built-in 404');
    ok(nonce_of((csp($r))[0] // ''), 'built-in 404 page has the CSP');

    $r = $t->http_get('/ws/customer');
    is($r->{status}, 426, 'the signaling location answers a plain GET');
    ok(nonce_of((csp($r))[0] // ''), 'the module\'s JSON error has the CSP');
}

# the variable is the same everywhere in one request
{
    my $r = $t->http_get('/log/');
    my $h = $r->{headers}{'x-nonce'}[0] // '';
    my $n = nonce_of((csp($r))[0] // '');
    ok(length $h == 24, 'add_header gets the nonce');
    is($r->{body}, "$h\n", 'return gets the same nonce as add_header');
    is($n, $h, 'and so does the policy');
}

# a subrequest (SSI) uses the main request's nonce
{
    my $r = $t->http_get('/ssi/ssi.html');
    my $n = nonce_of((csp($r))[0] // '');
    my ($sub) = $r->{body} =~ /sub:([^<]*)</;
    ok(defined $n && defined $sub && $sub eq $n,
       'an SSI subrequest gets the main request\'s nonce')
        or diag($r->{body});
    is(scalar(csp($r)), 1, 'one CSP header with SSI');
}

# ------------------------------------------------ on, off
{
    my $r = $t->http_get('/default/index.html');
    my ($p) = csp($r);
    my $n = nonce_of($p // '');
    ok(defined $n, 'hotline_csp on: a default policy with a nonce');
    like($p, qr/script-src 'self' 'nonce-/, 'default: script-src self + nonce');
    like($p, qr/object-src 'none'/, 'default: object-src none');
    like($p, qr/base-uri 'none'/, 'default: base-uri none');
    like($p, qr/frame-ancestors 'none'/, 'default: frame-ancestors none');
    unlike($p, qr/unsafe/i, 'default: nothing unsafe');
    my ($b) = $r->{body} =~ /nonce="([^"]*)"/;
    is($b, $n, 'default policy: the page carries its nonce');

    $r = $t->http_get('/nocsp/index.html');
    is($r->{status}, 200, 'hotline_csp off: page served');
    is(scalar(csp($r)), 0, 'hotline_csp off: no CSP header');
}

# a variable that brings 'unsafe-inline' at run time: a closed policy
{
    my $r = $t->http_get("/var/?extra='self'");
    like((csp($r))[0] // '', qr/^script-src 'nonce-[^']{24}' 'self'$/,
         'a variable in the policy is used');

    $r = $t->http_get("/var/?extra='unsafe-inline'");
    is($r->{status}, 200, 'request still served');
    is((csp($r))[0] // '',
       "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
       'unsafe-inline from a variable: a closed policy instead');
    like($t->error_log, qr/Content-Security-Policy of this request is unsafe/,
         'and the error log says why');

    # in any case, and at the very end of the policy
    for my $extra ("'UNSAFE-Inline'", 'unsafe-inline', 'x-unsafe-inline') {
        $r = $t->http_get("/var/?extra=$extra");
        is((csp($r))[0] // '',
           "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
           "$extra from a variable: a closed policy instead");
    }

    $r = $t->http_get("/var/?extra='unsafe-eval'");
    like((csp($r))[0] // '', qr/'unsafe-eval'$/,
         'another keyword is not taken for unsafe-inline');

    # a variable in the nonce's place is no nonce: checked on every response
    $r = $t->http_get("/var-nonce/?n=x'%20'unsafe-inline");
    is((csp($r))[0] // '',
       "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
       'another variable where the nonce goes: checked, a closed policy');
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

conf_fails(q{hotline_csp "script-src 'self' 'unsafe-inline'";},
           'unsafe-inline in script-src', qr/unsafe-inline/);
conf_fails(q{hotline_csp "default-src 'self'; style-src 'UNSAFE-INLINE'";},
           'unsafe-inline anywhere, any case', qr/unsafe-inline/);
conf_fails(q{hotline_csp "script-src 'nonce-$hotline_csp_nonce' 'unsafe-inline'";},
           'unsafe-inline next to a nonce', qr/unsafe-inline/);
conf_fails(q{hotline_csp "";}, 'empty policy', qr/hotline_csp/);
conf_fails(q{hotline_csp on; hotline_csp off;}, 'duplicate', qr/duplicate/);
conf_fails(q{hotline_csp "script-src 'nonce-$no_such_variable'";},
           'unknown variable', qr/unknown .*variable/);
conf_ok(q{hotline_csp on;}, 'hotline_csp on');
conf_ok(q{hotline_csp off;}, 'hotline_csp off');
conf_ok(qq{hotline_csp $POLICY;}, 'a policy with the nonce');

done_testing();
