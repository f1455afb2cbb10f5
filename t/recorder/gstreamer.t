#!/usr/bin/perl

# GStreamer's webrtcbin (an outside WebRTC stack, default bundle policy
# max-bundle: its video section is offered bundle-only with port 0, RFC
# 8843) publishes over WHIP in a loopback-only network namespace:
#
# - normal: the recording has both tracks, decodes without a message,
#   durations match the real time, lip sync within tens of ms (measured
#   on the content: a white frame and a tone at the same capture times),
#   the negotiated SRTP profile is logged and in the manifest;
# - delay-video: the video packets leave 1 s after their capture; the
#   sender reports put them back in sync and no timestamp is re-stamped;
# - burst: the first 3 s of media arrive at once; frames keep their RTP
#   spacing (no squeezing) and stay in sync;
# - late-sr: video 1 s late, and no sender report before 4.5 s after the
#   connection (a sender on RFC 3550's 5 s schedule reports a track up to
#   6.2 s after it began to send it): the file waits for them and is in
#   sync from its start, no track moved after it (it waited 3 s and
#   moved audio by a second later on: a gap).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Rec;

Rec::rec_in_netns();

my $r = rec_start();
my $n = 0;

sub check_file {
    my ($mode, $res, $call) = @_;
    my $file = "$r->{dir}/$call/customer.webm";
    my $s = ffprobe_streams($file) || {};
    is($s->{audio}{codec_name}, 'opus', "$mode: Opus track");
    is($s->{video}{codec_name}, 'vp8', "$mode: VP8 track");
    decodes_clean($file, $mode);

    my $el = $res->{elapsed} // 0;
    diag(sprintf "$mode: elapsed %.2f s, audio %.2f s, video %.2f s",
         $el, $s->{audio}{duration} // -1, $s->{video}{duration} // -1);
    cmp_ok(abs(($s->{audio}{duration} // 99) - $el), '<', 0.5,
           "$mode: audio lasts as long as the publisher sent");

    # frames keep the spacing of their RTP timestamps: 20 ms of Opus,
    # 1/30 s of video (33 or 34 ms in the file's milliseconds); opusenc's
    # first two packets are 6 ms apart in RTP time (its look-ahead)
    my @a = packet_times($file, 'a');
    my @v = packet_times($file, 'v');
    my @bad_a = grep { abs($a[$_] - $a[$_ - 1] - 0.020) > 0.0015 } 2 .. $#a;
    my @bad_v = grep { my $d = $v[$_] - $v[$_ - 1];
                       $d < 0.032 || ($d > 0.035 && abs($d / (1 / 30)
                       - int($d * 30 + 0.5)) > 0.05) } 1 .. $#v;
    is(scalar @bad_a, 0, "$mode: every audio frame 20 ms after the one "
       . "before (" . scalar(@a) . ' frames)')
        or diag("at " . join(' ', map { "$a[$_ - 1]->$a[$_]" }
                                    @bad_a[0 .. ($#bad_a > 4 ? 4 : $#bad_a)]));
    is(scalar @bad_v, 0, "$mode: video frames whole frame periods apart ("
       . scalar(@v) . ' frames)')
        or diag("at " . join(' ', map { "$v[$_ - 1]->$v[$_]" }
                                    @bad_v[0 .. ($#bad_v > 4 ? 4 : $#bad_v)]));

    my $sync = av_sync($file);
    my @d = @{ $sync->{diff_ms} };
    diag("$mode: video onsets " . join(' ', @{ $sync->{video} })
         . "; against audio (ms) " . join(' ', map { sprintf '%.0f', $_ } @d));
    cmp_ok(scalar @d, '>=', 3, "$mode: flashes found in the video");
    my @off = grep { abs($_) > 60 } @d;
    is(scalar @off, 0, "$mode: every flash within 60 ms of its tone");

    return $file;
}

my %publish = (normal => 'normal', 'delay-video' => 'delay-video',
               burst => 'burst', 'late-sr' => 'delay-video,late-sr=4500');

for my $mode (qw(normal delay-video burst late-sr)) {
    my $call = 'gst-' . $mode;
    my $tok = rec_token(call => $call, role => 'customer');
    my $secs = $mode eq 'normal' ? 6 : 8;
    my $res = publish('gst_publish.py', "$r->{url}/whip", $tok, $secs,
                      $publish{$mode});
    diag(JSON::PP->new->canonical->encode($res)) unless $res->{state}
                                                   && $res->{state} eq 'connected';

    ok($res->{offer_bundle_only}, "$mode: webrtcbin offered video "
       . 'bundle-only (port 0)');
    is($res->{post_status}, 201, "$mode: POST answered 201");
    is($res->{state}, 'connected', "$mode: webrtcbin took the answer and "
       . 'connected');
    is($res->{delete_status}, 200, "$mode: DELETE answered 200");
    $n++;

    my $file = check_file($mode, $res, $call);

    # the sender reports placed video before the file started
    my $logged = `cat $r->{log}`;
    my ($sid) = $logged =~ /session (\w+): created, call \Q$call\E,/;
    my ($sync) = $sid ? $logged =~ /session $sid: (lip sync[^\n]*)/ : ();
    like($sync // '', qr/^lip sync, video [-+][\d.]+ ms against audio$/,
         "$mode: in sync before the file started");
    if ($mode eq 'late-sr') {
        ok(@{ $res->{rtcp_gated} || [] }, 'late-sr: the RTCP held back')
            or diag(JSON::PP->new->canonical->encode($res));
    }

    if ($mode eq 'normal') {
        my $mf = read_json("$r->{dir}/$call/manifest.json") || {};
        is($mf->{participants}[0]{srtp_profile}, 'SRTP_AES128_CM_SHA1_80',
           'manifest: the negotiated SRTP profile');
        like(`cat $r->{log}`, qr/DTLS-SRTP established, profile SRTP_AES128_CM_SHA1_80/,
             'log: the negotiated SRTP profile by name');
    }
}

my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_sessions_total $n$/m, "$n sessions counted");
like($m, qr/^hotline_recorder_sessions_failed_total 0$/m, 'none failed');
ok(rec_stop($r), 'recorder exits on SIGTERM');
is($r->{status}, 0, 'exit status 0');

done_testing();
