#!/usr/bin/perl

# Crash safety: SIGKILL the recorder while a browser publishes; the file
# must still decode up to near the kill time.  Second run: the camera goes
# off after 2 s; audio must still reach the disk (not wait in memory for
# video frames that never come).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Rec;

rec_browser();

for my $mode (qw(kill camoff)) {
    my $r = rec_start();
    my $tok = rec_token(call => "$mode-call", role => 'customer');
    my $file = "$r->{dir}/$mode-call/customer.webm";

    my $pid = open(my $pub, '-|', 'node', "$FindBin::Bin/lib/publish.js",
                   "$r->{url}/whip", $tok, 60, $mode) or die $!;
    my $line = <$pub>;
    my $res = eval { JSON::PP->new->decode($line) } || {};
    is($res->{state}, 'connected', "$mode: browser connected")
        or diag($line);
    my $t0 = $res->{connected_at} || time;

    # record for 6 s of wall time, watching the file grow on disk

    ok(wait_for(sub { time - $t0 >= 6 && -s $file }, 15),
       "$mode: file grows while recording");

    kill 'KILL', $r->{pid};
    my $killed_after = time - $t0;
    waitpid($r->{pid}, 0);
    delete $r->{pid};
    close $pub;    # the publisher stops when the recorder is gone

    my $s = ffprobe_streams($file) || {};
    is($s->{audio}{codec_name}, 'opus', "$mode: killed file has Opus");
    is($s->{video}{codec_name}, 'vp8', "$mode: killed file has VP8");
    diag(sprintf "$mode: killed after %.2f s; audio up to %.2f s, video "
         . "up to %.2f s", $killed_after, $s->{audio}{end} // -1,
         $s->{video}{end} // -1);
    cmp_ok($s->{audio}{end} // 0, '>', $killed_after - 2.5,
           "$mode: audio decodes up to near the kill time");

    if ($mode eq 'kill') {
        cmp_ok($s->{video}{end} // 0, '>', $killed_after - 2.5,
               "$mode: video decodes up to near the kill time");
    } else {
        my $off = ($res->{camera_off_at} // 0) - $t0;
        cmp_ok($s->{video}{end} // 99, '<', $off + 0.5,
               "$mode: video ends when the camera went off");
    }

    my $err = `ffmpeg -nostdin -v error -i '$file' -enc_time_base -1 -f null - 2>&1`;
    is($?, 0, "$mode: ffmpeg decodes the killed file");
    is(join('', grep { !/File ended prematurely/ } split /^/, $err), '',
       "$mode: no error but the truncation at the end");

    my $mf = Rec::read_json("$r->{dir}/$mode-call/manifest.json") || {};
    is($mf->{participants}[0]{state}, 'recording',
       "$mode: the manifest from the start is on disk");
}

done_testing();
