#!/usr/bin/perl

# WHIP protocol and bad input: status codes, reasons, hostile SDP, tokens,
# malformed HTTP, capacity and disk limits.  The recorder must survive all
# of it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Rec;

Rec::rec_in_netns();

sub status_like {
    my ($r, $code, $re, $name) = @_;
    is($r->{status}, $code, "$name: $code");
    like($r->{content} // '', $re, "$name: reason") if $re;
}

my $r = rec_start(args => ['--ice-server', 'stun:127.0.0.1:3478',
                           '--max-sessions', '2']);
my $tok = rec_token(call => 'c1', role => 'customer');
my $good = offer(vcodec => 'VP8');

# health, options, routing

my $h = rec_http($r, 'GET', '/health');
is($h->{status}, 200, 'health 200');
like($h->{content}, qr/"status":"ok".*"sessions":0/, 'health body');

my $o = rec_http($r, 'OPTIONS', '/whip');
is($o->{status}, 204, 'OPTIONS 204');
like($o->{headers}{allow}, qr/POST/, 'OPTIONS Allow: POST');
is($o->{headers}{'accept-post'}, 'application/sdp', 'Accept-Post');
like($o->{headers}{link} // '', qr/<stun:127\.0\.0\.1:3478>; rel="ice-server"/,
     'ICE servers in Link');

status_like(rec_http($r, 'GET', '/whip'), 405, undef, 'GET endpoint');
status_like(rec_http($r, 'GET', '/nothing'), 404, undef, 'unknown path');
status_like(rec_http($r, 'DELETE', '/whip/' . ('0' x 32), token => $tok),
            404, qr/no such WHIP session/, 'DELETE unknown session');
status_like(rec_http($r, 'DELETE', '/whip/../../etc', token => $tok),
            404, undef, 'DELETE traversal');

# tokens

my $nt = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                  body => $good);
status_like($nt, 401, qr/Bearer token is required/, 'no token');
like($nt->{headers}{'www-authenticate'} // '', qr/^Bearer/,
     'WWW-Authenticate');

my %bad_tokens = (
    'wrong key'  => [rec_token(call => 'c1', _key => 'another-secret-' .
                               ('y' x 40)), qr/bad token signature/],
    'expired'    => [rec_token(call => 'c1', exp => time - 10),
                     qr/token expired/],
    'no exp'     => [rec_token(call => 'c1', exp => undef),
                     qr/without "exp"/],
    'bad role'   => [rec_token(call => 'c1', role => 'admin'),
                     qr/role/],
    'bad call'   => [rec_token(call => '../etc'), qr/"call"/],
    'wrong aud'  => [rec_token(call => 'c1', aud => 'other'),
                     qr/audience/],
    'alg none'   => [Crypt::JWT::encode_jwt(payload => { call => 'c1',
                     role => 'agent', exp => time + 60 }, alg => 'none',
                     allow_none => 1), qr/algorithm must be HS256/],
    'garbage'    => ['a.b.c', qr/malformed token/],
);

for my $k (sort keys %bad_tokens) {
    my ($t, $re) = @{ $bad_tokens{$k} };
    status_like(rec_http($r, 'POST', '/whip', type => 'application/sdp',
                         body => $good, token => $t), 401, $re, "token $k");
}

# content type and SDP

status_like(rec_http($r, 'POST', '/whip', type => 'text/plain',
                     body => $good, token => $tok),
            415, qr/application\/sdp/, 'wrong content type');

my %bad_sdp = (
    'garbage'         => ["hello world", qr/must start with "v=0"/],
    'empty'           => ["", qr/empty SDP/],
    'no media'        => ["v=0\r\ns=-\r\n", qr/no media section/],
    'long line'       => ["v=0\r\na=" . ('x' x 5000) . "\r\n",
                          qr/line too long/],
    'control char'    => ["v=0\r\na=x\x01y\r\n", qr/control character/],
    'many lines'      => ["v=0\r\n" . ("a=x\r\n" x 3000),
                          qr/too many SDP lines/],
    'many media'      => [offer(vcodec => 'VP8') .
                          ("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x\r\n"
                           x 8), qr/too many media/],
    'no fingerprint'  => [offer(vcodec => 'VP8', fp => '') =~
                          s/a=fingerprint:sha-256 \r\n//r,
                          qr/missing a=fingerprint/],
    'bad fingerprint' => [offer(vcodec => 'VP8', fp => 'zz:yy'),
                          qr/malformed a=fingerprint/],
    'passive'         => [offer(vcodec => 'VP8', setup => 'passive'),
                          qr/setup:passive is not supported/],
    'short pwd'       => [offer(vcodec => 'VP8', pwd => 'short'),
                          qr/ICE credentials too short/],
    'bad ufrag'       => [offer(vcodec => 'VP8', ufrag => 'a"b<c>d'),
                          qr/invalid a=ice-ufrag/],
    'no codec'        => [offer(vcodec => 'H264') =~
                          s/opus\/48000\/2/speex\/8000/r,
                          qr/no sendable opus or VP8/],
    'bad m-line'      => ["v=0\r\nm=audio x\r\n", qr/malformed m= line/],
    'bad rtpmap'      => ["v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:999 x\r\n",
                          qr/malformed a=rtpmap/],
);

for my $k (sort keys %bad_sdp) {
    my ($b, $re) = @{ $bad_sdp{$k} };
    status_like(rec_http($r, 'POST', '/whip', type => 'application/sdp',
                         body => $b, token => $tok), 400, $re, "SDP $k");
}

status_like(rec_http($r, 'POST', '/whip', type => 'application/sdp',
                     body => 'v=0' . ('x' x 70000), token => $tok),
            413, qr/too large/, 'SDP over 64 KiB');

# a good offer

my $p = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                 body => $good, token => $tok);
is($p->{status}, 201, 'POST offer 201');
is($p->{headers}{'content-type'}, 'application/sdp', 'answer type');
like($p->{headers}{location} // '', qr{^/whip/[0-9a-f]{32}$}, 'Location');
like($p->{headers}{link} // '', qr/ice-server/, 'Link on 201');
my $a = $p->{content} // '';
like($a, qr/^v=0\r\n/, 'answer starts with v=0');
like($a, qr/a=group:BUNDLE 0 1\r\n/, 'BUNDLE of the accepted sections');
like($a, qr/a=setup:passive/, 'DTLS passive');
like($a, qr/a=fingerprint:sha-256 (?:[0-9A-F]{2}:){31}[0-9A-F]{2}\r\n/,
     'our fingerprint');
like($a, qr/a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 \d+ typ host/,
     'host candidate on 127.0.0.1');
like($a, qr/m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\n/, 'opus accepted');
like($a, qr/m=video 9 UDP\/TLS\/RTP\/SAVPF 96\r\n/, 'VP8 accepted');
like($a, qr/m=application 0 /, 'data channel rejected with port 0');
like($a, qr/a=recvonly/, 'recvonly');

# the same participant again replaces its session: the old one is
# finalized, the new one records into customer-2.webm

my $again = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                     body => $good, token => $tok);
is($again->{status}, 201, 'same participant again: 201');
isnt($again->{headers}{location}, $p->{headers}{location}, 'new session');
status_like(rec_http($r, 'DELETE', $p->{headers}{location}, token => $tok),
            404, undef, 'the replaced session is gone');
{
    my $m = Rec::read_json("$r->{dir}/c1/manifest.json") || {};
    my @p = @{ $m->{participants} || [] };
    is(scalar @p, 2, 'manifest lists both sessions');
    is($p[0]{ending_reason}, 'replaced', 'first: ending reason replaced');
    is($p[1]{file}, 'customer-2.webm', 'second: customer-2.webm');
}
$p = $again;

my $loc = $p->{headers}{location};

# trickle ICE

status_like(rec_http($r, 'PATCH', $loc, token => $tok, type => 'text/plain',
                     body => 'x'), 415, undef, 'PATCH wrong type');
status_like(rec_http($r, 'PATCH', $loc, token => $tok,
                     type => 'application/trickle-ice-sdpfrag',
                     body => "a=ice-ufrag:zzzz\r\na=ice-pwd:" . ('z' x 24)
                             . "\r\n"), 422, qr/ICE restart/,
            'PATCH ICE restart');
status_like(rec_http($r, 'PATCH', $loc, token => $tok,
                     type => 'application/trickle-ice-sdpfrag',
                     body => "a=ice-ufrag:abcd\r\nm=audio 9 RTP/AVP 0\r\n"
                           . "a=mid:0\r\na=candidate:2 1 udp 1 127.0.0.1 "
                           . "50002 typ host\r\n"), 204, undef, 'PATCH');
status_like(rec_http($r, 'PATCH', $loc, token => $tok,
                     type => 'application/trickle-ice-sdpfrag',
                     body => "garbage\r\n"), 400, qr/unexpected line/,
            'PATCH garbage');

# RFC 9725 4.3.1: If-Match must name the session's entity tag (or "*")

my $etag = $p->{headers}{etag};
my $frag = "a=ice-ufrag:abcd\r\na=candidate:3 1 udp 1 127.0.0.1 50003 "
         . "typ host\r\n";
status_like(rec_http($r, 'PATCH', $loc, token => $tok, body => $frag,
                     type => 'application/trickle-ice-sdpfrag',
                     headers => { 'If-Match' => '"0123"' }),
            412, qr/If-Match does not match/, 'PATCH with another ETag');
status_like(rec_http($r, 'PATCH', $loc, token => $tok, body => $frag,
                     type => 'application/trickle-ice-sdpfrag',
                     headers => { 'If-Match' => $etag }),
            204, undef, 'PATCH with the session\'s ETag');
status_like(rec_http($r, 'PATCH', $loc, token => $tok, body => $frag,
                     type => 'application/trickle-ice-sdpfrag',
                     headers => { 'If-Match' => '*' }),
            204, undef, 'PATCH with If-Match: *');

# audio only: the answer accepts audio alone

{
    my $ao = offer(vcodec => 'H264');
    my $p3 = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                      body => $ao, token => rec_token(call => 'c-audio'));
    is($p3->{status}, 201, 'audio-only offer 201');
    like($p3->{content} // '', qr/a=group:BUNDLE 0\r\n/,
         'audio-only: BUNDLE of the audio section');
    like($p3->{content} // '', qr/m=video 0 /, 'H264 video rejected');
    is(rec_http($r, 'DELETE', $p3->{headers}{location},
                token => rec_token(call => 'c-audio'))->{status}, 200,
       'audio-only DELETE');
}

# capacity (2), then resources

my $tok2 = rec_token(call => 'c2', role => 'agent');
my $p2 = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                  body => $good, token => $tok2);
is($p2->{status}, 201, 'second session');
status_like(rec_http($r, 'POST', '/whip', type => 'application/sdp',
                     body => $good, token => rec_token(call => 'c3')),
            503, qr/capacity/, 'over capacity');
is(rec_http($r, 'POST', '/whip', type => 'application/sdp', body => $good,
            token => rec_token(call => 'c3'))->{headers}{'retry-after'}, 5,
   'Retry-After');

status_like(rec_http($r, 'DELETE', $loc, token => $tok2), 404, undef,
            'DELETE with another call\'s token');
status_like(rec_http($r, 'DELETE', $loc), 401, undef, 'DELETE without token');
status_like(rec_http($r, 'DELETE', $loc, token => $tok), 200, undef,
            'DELETE');
status_like(rec_http($r, 'DELETE', $loc, token => $tok), 404, undef,
            'DELETE again');
status_like(rec_http($r, 'DELETE', $p2->{headers}{location},
                     token => rec_token(call => 'c2', role => 'agent',
                                        exp => int(time) - 60)),
            200, undef, 'DELETE with the session\'s token after it expired');

my $mf = Rec::read_json("$r->{dir}/c1/manifest.json") || {};
is($mf->{participants}[1]{ending_reason}, 'client_delete',
   'manifest written for a session that never connected');
is($mf->{participants}[1]{state}, 'finished', 'manifest state');

# malformed HTTP on a raw socket

sub raw {
    my ($req) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $r->{port}) or die $!;
    print $s $req;
    shutdown($s, 1);
    local $/;
    my $resp = <$s> // '';
    return $resp;
}

like(raw("GARBAGE\r\n\r\n"), qr/^HTTP\/1\.1 400 /, 'garbage request line');
like(raw("GET / HTTP/2.0\r\n\r\n"), qr/^HTTP\/1\.1 505 /, 'HTTP/2.0');
like(raw("POST /whip HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
     qr/^HTTP\/1\.1 400 .*bad Content-Length/s, 'bad Content-Length');
like(raw("POST /whip HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
     qr/^HTTP\/1\.1 411 /, 'chunked refused');
like(raw("GET /health HTTP/1.1\r\nX: " . ('a' x 20000) . "\r\n\r\n"),
     qr/^HTTP\/1\.1 431 /, 'header too large');
like(raw("POST /whip HTTP/1.1\r\nContent-Length: 999999\r\n\r\n"),
     qr/^HTTP\/1\.1 413 /, 'body too large');
like(raw("GET /health HTTP/1.1\r\nBad Header: x\r\n\r\n"),
     qr/^HTTP\/1\.1 400 /, 'bad header name');

my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_auth_failures_total (\d+)$/m, 'auth metric');
my ($af) = $m =~ /^hotline_recorder_auth_failures_total (\d+)$/m;
cmp_ok($af, '>=', 10, 'auth failures counted');
like($m, qr/^hotline_recorder_capacity_refusals_total 2$/m,
     'capacity refusals counted');
like($m, qr/^hotline_recorder_sessions 0$/m, 'no session open');

is(rec_http($r, 'GET', '/health')->{status}, 200, 'still healthy');
ok(rec_stop($r), 'exits on SIGTERM');
is($r->{status}, 0, 'exit 0');

# low disk: refused with 507, health 503

my $d = rec_start(args => ['--min-free-disk', '90000000']);
status_like(rec_http($d, 'POST', '/whip', type => 'application/sdp',
                     body => $good, token => $tok),
            507, qr/disk space/, 'low disk');
is(rec_http($d, 'GET', '/health')->{status}, 503, 'health 503 on low disk');
like(rec_http($d, 'GET', '/metrics')->{content},
     qr/^hotline_recorder_disk_refusals_total 1$/m, 'disk refusal counted');
rec_stop($d);

# at most --max-recordings per call and role, then a clear refusal

{
    my $m = rec_start(args => ['--max-recordings', 2]);
    my $t = rec_token(call => 'many', role => 'agent');
    for my $i (1, 2) {
        is(rec_http($m, 'POST', '/whip', type => 'application/sdp',
                    body => $good, token => $t)->{status}, 201,
           "recording $i of the agent");
    }
    status_like(rec_http($m, 'POST', '/whip', type => 'application/sdp',
                         body => $good, token => $t),
                409, qr/call many has 2 agent recordings already/,
                'one more: 409');
    ok(-e "$m->{dir}/many/agent-2.webm" && !-e "$m->{dir}/many/agent-3.webm",
       'no third file');
    like(`cat $m->{log}`, qr/\[info\] http: 409 POST \/whip from 127\.0\.0\.1: call many has 2 agent recordings already/,
         'the refusal is logged at info with its reason');
    is(rec_http($m, 'POST', '/whip', type => 'application/sdp', body => $good,
                token => rec_token(call => 'many', role => 'customer'))
       ->{status}, 201, 'the other role still records');
    my $mf = read_json("$m->{dir}/many/manifest.json") || {};
    is(scalar @{ $mf->{participants} || [] }, 3, 'three entries in the '
       . 'manifest');
    rec_stop($m);
}

# a Unix socket listener, as nginx may proxy to

my $sock = "$d->{tmp}/rec.sock";
{
    my $pid = fork // die;
    if ($pid == 0) {
        open STDERR, '>', '/dev/null';
        exec $Rec::BIN, '--listen', "unix:$sock", '--recordings',
             $d->{dir}, '--secret-file', "$d->{tmp}/secret";
        exit 1;
    }
    ok(wait_for(sub { -S $sock }, 10), 'unix socket created');
    my $s = IO::Socket::UNIX->new(Peer => $sock);
    print $s "GET /health HTTP/1.0\r\n\r\n" if $s;
    my $resp = $s ? do { local $/; <$s> } : '';
    like($resp, qr/^HTTP\/1\.1 200 /, 'health over the unix socket');
    kill 'TERM', $pid;
    waitpid($pid, 0);
}

done_testing();
