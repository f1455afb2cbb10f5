#!/usr/bin/perl

# aiortc (an outside WebRTC stack in Python) publishes over WHIP in a
# loopback-only network namespace.  Its offer has one ICE transport per
# m= line inside one BUNDLE group (RFC 8843: the answerer uses the
# transport of the tagged section).  Both SRTP profiles: AES-CM as aiortc
# offers it, AES-GCM with its profile list switched (its SRTP library
# does GCM).  With TURN configured, the recorder hands out coturn REST
# credentials in Link headers to authorized requests only, and aiortc
# gets a relay candidate from a real coturn with them.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(hmac_sha1_base64);
use File::Temp qw(tempdir);
use POSIX ();
use Rec;

# aiortc leaves 127.0.0.1 out of its candidates
Rec::rec_in_netns('ip addr add 127.0.0.2/8 dev lo');

# coturn with the TURN REST scheme, as t/e2e/HotlineE2E.pm starts it

my $tmp = tempdir('rec-turn-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $turn_secret = 'turn-secret-' . join('', map { ('a' .. 'z')[rand 26] }
                                               1 .. 24);
my $turn_port = free_port();
open my $fh, '>', "$tmp/turn.key" or die;
print $fh "$turn_secret\n";
close $fh;
chmod 0600, "$tmp/turn.key";

my $turn_pid = fork // die;
if (!$turn_pid) {
    open STDOUT, '>', "$tmp/turn.log" or POSIX::_exit(127);
    open STDERR, '>&', \*STDOUT;
    exec '/usr/bin/turnserver', '-n', '--listening-ip=127.0.0.1',
         "--listening-port=$turn_port", '--relay-ip=127.0.0.1',
         '--min-port=40000', '--max-port=40999', '--use-auth-secret',
         "--static-auth-secret=$turn_secret", '--realm=hotline.test',
         '--allow-loopback-peers', '--no-cli', '--no-tls', '--no-dtls',
         "--db=$tmp/turndb", "--pidfile=$tmp/turn.pid", '--log-file=stdout',
         '--simple-log'
        or POSIX::_exit(127);
}
END {
    if ($turn_pid) {
        local $?;       # the test's exit status, not coturn's
        kill 'TERM', $turn_pid;
        waitpid($turn_pid, 0);
    }
}

my $turn_url = "turn:127.0.0.1:$turn_port?transport=udp";
my $r = rec_start(args => ['--ice-server', "stun:127.0.0.1:$turn_port",
                           '--ice-server', $turn_url,
                           '--turn-secret-file', "$tmp/turn.key",
                           '--turn-ttl', 600]);

sub recorded {
    my ($name, $res, $call) = @_;
    is($res->{post_status}, 201, "$name: POST answered 201")
        or diag(JSON::PP->new->canonical->encode($res));
    is($res->{state}, 'connected', "$name: connected");
    is($res->{delete_status}, 200, "$name: DELETE answered 200");
    my $file = "$r->{dir}/$call/customer.webm";
    my $s = ffprobe_streams($file) || {};
    is($s->{audio}{codec_name}, 'opus', "$name: Opus track");
    is($s->{video}{codec_name}, 'vp8', "$name: VP8 track");
    cmp_ok(abs(($s->{audio}{duration} // 99) - ($res->{elapsed} // 0)), '<',
           0.5, "$name: audio lasts as long as it was sent");
    decodes_clean($file, $name);
    my $mf = read_json("$r->{dir}/$call/manifest.json") || {};
    return $mf->{participants}[0] || {};
}

# one transport per m= line

my $res = publish('aiortc_publish.py', "$r->{url}/whip",
                  rec_token(call => 'aio-cm'), 4);
is($res->{ufrags}, 2, 'aiortc offered two ICE transports in one BUNDLE');
my $p = recorded('AES-CM', $res, 'aio-cm');
is($p->{srtp_profile}, 'SRTP_AES128_CM_SHA1_80',
   'AES-CM: negotiated profile in the manifest');

$res = publish('aiortc_publish.py', "$r->{url}/whip",
               rec_token(call => 'aio-gcm'), 3, 'gcm');
$p = recorded('AES-GCM', $res, 'aio-gcm');
is($p->{srtp_profile}, 'SRTP_AEAD_AES_128_GCM',
   'AES-GCM: negotiated profile in the manifest');
my $log = `cat $r->{log}`;
like($log, qr/profile SRTP_AES128_CM_SHA1_80/, 'log names AES-CM');
like($log, qr/profile SRTP_AEAD_AES_128_GCM/, 'log names AES-GCM');

# TURN credentials: for a valid token only, checked with an independent
# HMAC-SHA1

# HTTP::Tiny gives repeated headers as an array
sub links {
    my $l = $_[0]{headers}{link} // [];
    return ref $l ? @$l : ($l);
}

my $o = rec_http($r, 'OPTIONS', '/whip');
my @links = links($o);
is(scalar(grep { /^<stun:/ } @links), 1, 'OPTIONS without a token: STUN');
is(scalar(grep { /^<turn:/ } @links), 0, '... but no TURN server');

$o = rec_http($r, 'OPTIONS', '/whip', token => rec_token(call => 'x'));
@links = links($o);
my ($tl) = grep { /^<turn:/ } @links;
like($tl // '', qr/^<\Q$turn_url\E>; rel="ice-server"; username="(\d+):hotline-[0-9a-f]{16}"; credential="([^"]+)"; credential-type="password"$/,
     'OPTIONS with a token: TURN server with credentials (RFC 9725 4.6)');
my ($user, $cred) = ($tl // '') =~ /username="([^"]+)"; credential="([^"]+)"/;
my $want = hmac_sha1_base64($user // '', $turn_secret);
$want .= '=' while length($want) % 4;
is($cred, $want, 'credential = base64(HMAC-SHA1(secret, username))');
my ($exp) = ($user // '') =~ /^(\d+):/;
cmp_ok(abs(($exp // 0) - (time + 600)), '<', 5, 'username expires after '
       . '--turn-ttl');

$o = rec_http($r, 'OPTIONS', '/whip', token => rec_token(call => 'x',
                                                         exp => time - 5));
is(scalar(grep { /^<turn:/ } links($o)), 0, 'an expired token gets no TURN');

# aiortc asks OPTIONS, allocates a relay on coturn with the credentials

$res = publish('aiortc_publish.py', "$r->{url}/whip",
               rec_token(call => 'aio-turn'), 3, 'turn');
is($res->{options_status}, 204, 'aiortc: OPTIONS 204');
is($res->{turn_servers}, 1, 'aiortc: one TURN server with credentials');
ok($res->{relay}, 'aiortc: coturn accepted the credentials (relay '
   . 'candidate in the offer)') or diag(`tail -20 $tmp/turn.log`);
recorded('TURN', $res, 'aio-turn');

my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_sessions_failed_total 0$/m, 'none failed');
ok(rec_stop($r), 'recorder exits on SIGTERM');

done_testing();
