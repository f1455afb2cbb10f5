#!/usr/bin/perl
# hotline_otp_request: a configured agent gets a 6-digit code in its
# Telegram chat (read back from the Bot API stand-in); a name that is no
# agent gets exactly the same answer and no message; bodies are bounded
# and checked (405, 415, 413, 400 with JSON errors); the fourth request
# for one user within a minute and requests over the per-IP rate get 429
# with Retry-After.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(post_json otp_request otp_code otp_codes);

my ($t, $tg) = HotlineAuth->nginx(http => "hotline_otp_ip_rate 600r/m burst=100;\n");

# --- a known agent --------------------------------------------------------

my $r = otp_request($t, 'alice');
is($r->{status}, 202, 'alice: 202');
is($r->{headers}{'content-type'}[0], 'application/json', 'JSON answer');
my $known_body = $r->{body};
my @known_h = sort grep { !/^(date|x-pid)$/ } keys %{ $r->{headers} };
my $code = otp_code($tg, '4242');
like($code // '', qr/\A\d{6}\z/, 'a 6-digit code reached chat 4242');

my @tg = $tg->requests(telegram => 1);
is(scalar @tg, 1, 'exactly one sendMessage');
is($tg[0]{path}, '/bot' . $tg->token . '/sendMessage', 'Bot API path');
is($tg[0]{json}{chat_id}, '4242', "to alice's chat");
like($tg[0]{json}{text}, qr/alice/, 'the message names the agent');

# --- a name that is no agent: the same answer, no message ------------------

$r = otp_request($t, 'mallory');
is($r->{status}, 202, 'unknown user: 202 too');
is($r->{body}, $known_body, 'unknown user: byte-identical body');
is_deeply([sort grep { !/^(date|x-pid)$/ } keys %{ $r->{headers} }],
          \@known_h, 'the same header names');
ok(!poll_until(1, sub { $tg->requests(telegram => 1) > 1 }),
   'no message for an unknown user');

# --- the rate per user: 3 at once, the 4th within a minute is refused ------

otp_request($t, 'bob') for 1 .. 3;
my @bob;
ok(poll_until(10, sub { @bob = otp_codes($tg, '-1001234567'); @bob == 3 }),
   'bob: three codes sent');
isnt($bob[0], $bob[1], 'codes differ') if @bob >= 2;
$r = otp_request($t, 'bob');
is($r->{status}, 429, 'bob: the 4th request in a minute: 429');
like($r->{headers}{'retry-after'}[0] // '', qr/\A\d+\z/, 'Retry-After');
ok(($r->{headers}{'retry-after'}[0] // 0) > 0
   && $r->{headers}{'retry-after'}[0] <= 60, 'Retry-After within a minute')
    or diag($r->{headers}{'retry-after'}[0]);
is(eval { json_decode($r->{body})->{error} }, 'rate_limited', 'JSON error');
ok(!poll_until(1, sub { otp_codes($tg, '-1001234567') > 3 }),
   'no 4th code sent');

# the same limit for a name that is no agent: no difference to see
otp_request($t, 'nobody') for 1 .. 3;
$r = otp_request($t, 'nobody');
is($r->{status}, 429, 'unknown user: limited the same way');

# another user is not affected
$r = otp_request($t, 'alice');
is($r->{status}, 202, 'alice is not limited by bob');

# --- bad requests ----------------------------------------------------------

$r = $t->http_get('/auth/otp');
is($r->{status}, 405, 'GET: 405');
is($r->{headers}{allow}[0], 'POST', 'Allow: POST');

$r = post_json($t, '/auth/otp', { username => 'alice' }, type => 'text/plain');
is($r->{status}, 415, 'text/plain: 415');
is(eval { json_decode($r->{body})->{error} }, 'unsupported_media_type',
   '415 JSON error');
$r = post_json($t, '/auth/otp', { username => 'alice' }, type => undef);
is($r->{status}, 415, 'no Content-Type: 415');
$r = post_json($t, '/auth/otp', { username => 'alice' },
               type => 'application/json; charset=utf-8');
is($r->{status}, 202, 'application/json; charset=utf-8 is fine');
$r = post_json($t, '/auth/otp', { username => 'alice' },
               type => 'application/jsonx');
is($r->{status}, 415, 'application/jsonx: 415');

$r = post_json($t, '/auth/otp', '{"username":"' . ('a' x 1100) . '"}');
is($r->{status}, 413, 'a body over 1 KiB: 413');
is(eval { json_decode($r->{body})->{error} }, 'body_too_large',
   '413 JSON error');

# chunked: the size is only known once read
{
    my $body = '{"username":"' . ('a' x 1100) . '"}';
    my $port = $t->port;
    my $req = "POST /auth/otp HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "Connection: close\r\nContent-Type: application/json\r\n"
            . "Transfer-Encoding: chunked\r\n\r\n"
            . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body);
    $r = $t->http_raw($req);
    is($r->{status}, 413, 'a chunked body over 1 KiB: 413');
    $body = '{"username":"carol"}';
    $req = "POST /auth/otp HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
         . "Connection: close\r\nContent-Type: application/json\r\n"
         . "Transfer-Encoding: chunked\r\n\r\n"
         . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $body, $body);
    $r = $t->http_raw($req);
    is($r->{status}, 202, 'a small chunked body: 202');
}

my @bad = (
    [ 'not JSON',            '{username:alice}',           'bad_json' ],
    [ 'empty body',          '',                           'bad_json' ],
    [ 'an array',            '["alice"]',                  'bad_json' ],
    [ 'a string',            '"alice"',                    'bad_json' ],
    [ 'trailing garbage',    '{"username":"alice"} x',     'bad_json' ],
    [ 'duplicate member',    '{"username":"alice","username":"bob"}',
                                                           'bad_json' ],
    [ 'no username',         '{}',                         'bad_username' ],
    [ 'username a number',   '{"username":42}',            'bad_username' ],
    [ 'username uppercase',  '{"username":"Alice"}',       'bad_username' ],
    [ 'username empty',      '{"username":""}',            'bad_username' ],
    [ 'username 65 bytes',   '{"username":"' . ('a' x 65) . '"}',
                                                           'bad_username' ],
    [ 'username with NUL',   '{"username":"al\u0000ice"}', 'bad_json' ],
    [ 'unexpected member',   '{"username":"alice","admin":true}', 'bad_json' ],
);
for my $case (@bad) {
    my ($name, $body, $err) = @$case;
    $r = post_json($t, '/auth/otp', $body);
    is($r->{status}, 400, "$name: 400");
    is(eval { json_decode($r->{body})->{error} }, $err, "$name: $err");
}

# --- the per-IP limit ------------------------------------------------------

{
    my ($t2, $tg2) = HotlineAuth->nginx(
        http => "hotline_otp_ip_rate 2r/m burst=1;\n");
    my @st = map { otp_request($t2, "user$_")->{status} } 1 .. 3;
    is_deeply(\@st, [202, 202, 429],
              'hotline_otp_ip_rate 2r/m burst=1: the third is refused');
    $r = otp_request($t2, 'alice');
    is($r->{status}, 429, 'whatever the user');
    ok(($r->{headers}{'retry-after'}[0] // 0) >= 1, 'with Retry-After');
    $r = post_json($t2, '/auth/verify', { username => 'alice',
                                          code => '123456' });
    is($r->{status}, 401, 'verification has its own per-IP bucket');
    $t2->stop;
    $tg2->stop;
}

# --- every code is logged nowhere ------------------------------------------

my $logs = HotlineAuth::logs_text($t);
my @codes = (otp_codes($tg, '4242'), otp_codes($tg, '-1001234567'));
ok(@codes >= 4, 'codes collected');
# (a code as a number of its own: six digits may occur inside a longer
# number of a log line, a port, a pid or a time, by chance)
ok(!(grep { $logs =~ /(?<![0-9])$_(?![0-9])/ } @codes),
   'no code in any log file');

$t->stop;
$tg->stop;
done_testing;
