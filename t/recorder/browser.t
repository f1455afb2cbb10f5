#!/usr/bin/perl

# Headless Chromium publishes fake audio+video over WHIP for ~10 s in a
# loopback-only network namespace; ffprobe and ffmpeg check the file.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Rec;

rec_browser();

my $secs = $ENV{REC_E2E_SECONDS} || 10;
my $r = rec_start();
my $tok = rec_token(call => 'e2e-call', role => 'customer');

my $out = `node $FindBin::Bin/lib/publish.js $r->{url}/whip $tok $secs`;
my $res = eval { JSON::PP->new->decode((split /\n/, $out)[-1]) } || {};
diag("publisher: $out") if !$res->{state} || $res->{state} ne 'connected';

is($res->{post_status}, 201, 'WHIP POST answered 201');
is($res->{state}, 'connected', 'browser connected (ICE + DTLS)');
is($res->{delete_status}, 200, 'WHIP DELETE answered 200');

my $file = "$r->{dir}/e2e-call/customer.webm";
ok(-s $file, 'customer.webm written') or diag(`tail -30 $r->{log}`);

my $s = ffprobe_streams($file) || {};
is($s->{audio}{codec_name}, 'opus', 'ffprobe: audio is Opus');
is($s->{video}{codec_name}, 'vp8', 'ffprobe: video is VP8');
is($s->{video}{width}, 640, 'video width from the VP8 keyframe');

my $el = $res->{elapsed} || 0;
cmp_ok($el, '>', $secs - 1, 'published for the whole time');
diag(sprintf "elapsed %.3f s, audio %.3f s, video %.3f s, format %s s",
     $el, $s->{audio}{duration} // -1, $s->{video}{duration} // -1,
     $s->{format_duration} // '?');
cmp_ok(abs(($s->{audio}{duration} // 99) - $el), '<', 0.5,
       'audio duration within 0.5 s of real time');
cmp_ok(abs(($s->{video}{duration} // 99) - $el), '<', 0.5,
       'video duration within 0.5 s of real time');
cmp_ok(abs(($s->{format_duration} // 99) - $el), '<', 0.5,
       'segment duration within 0.5 s of real time (finalized)');

# decodes cleanly; what a plain ffmpeg decode may print about this
# variable frame rate stream is ffmpeg's own re-timing (see
# decodes_clean in lib/Rec.pm and docs/recorder.md)
decodes_clean($file, 'browser');

# OpusHead CodecPrivate (RFC 7845: version 1, 1 channel, pre-skip 312,
# 48 kHz) as ffprobe dumps it; CodecDelay and SeekPreRoll as mkvinfo
# (mkvtoolnix, another Matroska implementation) reads them

my $xd = `ffprobe -v error -select_streams a -show_streams -show_data '$file'`;
like($xd, qr/4f70 7573 4865 6164 0101 3801 80bb 0000\s+OpusHead/,
     'OpusHead: magic, version 1, mono, pre-skip 312, 48000 Hz');
like($xd, qr/extradata_size=19/, 'OpusHead CodecPrivate is 19 bytes');
my $mi = `mkvinfo '$file'`;
like($mi, qr/Codec-inherent delay: 00:00:00\.006500000/,
     'CodecDelay is 6.5 ms (312 samples)');
like($mi, qr/Seek pre-roll: 00:00:00\.080000000/, 'SeekPreRoll is 80 ms');
# the first audio packet: at the segment start less the codec delay, or a
# few ms later where lip sync placed it (CodecDelay itself: mkvinfo above)
my $first = $s->{audio}{first} // 1;
cmp_ok($first, '>=', -0.0065 - 0.001,
       'the first audio packet starts no earlier than the codec delay');
cmp_ok($first, '<', 0.02, '... and within 20 ms of the segment start');

my $mf = Rec::read_json("$r->{dir}/e2e-call/manifest.json") || {};
is($mf->{call}, 'e2e-call', 'manifest: call id');
my ($p) = @{ $mf->{participants} || [] };
is($p->{role}, 'customer', 'manifest: role');
is($p->{file}, 'customer.webm', 'manifest: file');
is($p->{ending_reason}, 'client_delete', 'manifest: ending reason');
is($p->{size}, -s $file, 'manifest: size matches the file');
my %t = map { $_->{kind} => $_ } @{ $p->{tracks} || [] };
is($t{audio}{codec}, 'opus', 'manifest: audio codec');
is($t{video}{codec}, 'vp8', 'manifest: video codec');
cmp_ok(abs(($t{audio}{duration} // 99) - ($s->{audio}{duration} // 0)), '<', 0.1,
       'manifest: audio duration matches ffprobe');
cmp_ok(abs(($t{video}{duration} // 99) - ($s->{video}{duration} // 0)), '<', 0.1,
       'manifest: video duration matches ffprobe');
like($t{audio}{started_at} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/,
     'manifest: wall-clock start of the audio track');

# receiver reports: the browser computes round trip times from the LSR and
# DLSR of the recorder's reports, and REMB raised its video bitrate

my $st = $res->{stats} || {};
diag('browser stats: ' . JSON::PP->new->canonical->encode($st));
for my $k (qw(audio video)) {
    ok(($st->{"rr_$k"}{reports} // 0) >= 3,
       "$k: the browser got receiver reports");
    cmp_ok($st->{"rr_$k"}{rtt} // -1, '>=', 0,
           "$k: round trip time from LSR/DLSR");
    cmp_ok($st->{"rr_$k"}{rtt} // 9, '<', 0.5, "$k: ... and plausible");
    is($st->{"rr_$k"}{lost}, 0, "$k: no loss reported on loopback");
}
cmp_ok($st->{video}{bitrate_target} // 0, '>', 600000,
       'REMB raised the video target bitrate');

my $m = rec_http($r, 'GET', '/metrics');
like($m->{content}, qr/^hotline_recorder_rtp_packets_total [1-9]/m,
     'metrics count RTP packets');
like($m->{content}, qr/^hotline_recorder_sessions 0$/m,
     'no session left open');

ok(rec_stop($r), 'recorder exits on SIGTERM');
is($r->{status}, 0, 'exit status 0');

done_testing();
