#!/usr/bin/perl

# Crash safety: SIGKILL the recorder while a browser publishes; the file
# must still decode up to near the kill time.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Rec;

Rec::rec_in_netns();

my $node_path = ($ENV{REC_BUILD} || "$FindBin::Bin/../../build/recorder")
                . '/npm/node_modules';
plan skip_all => 'playwright-core not installed (run deps.sh)'
    unless -d "$node_path/playwright-core";
$ENV{NODE_PATH} = $node_path;

my $r = rec_start();
my $tok = rec_token(call => 'kill-call', role => 'customer');
my $file = "$r->{dir}/kill-call/customer.webm";

my $pid = open(my $pub, '-|', 'node', "$FindBin::Bin/lib/publish.js",
               "$r->{url}/whip", $tok, 60, 'kill') or die $!;
my $line = <$pub>;
my $res = eval { JSON::PP->new->decode($line) } || {};
is($res->{state}, 'connected', 'browser connected') or diag($line);
my $t0 = time;

# record for 6 s of wall time, watching the file grow on disk

my $grew = wait_for(sub { time - $t0 >= 6 && -s $file }, 15);
ok($grew, 'file grows while recording');
my $size_before = -s $file;

kill 'KILL', $r->{pid};
my $killed_after = time - $t0;
waitpid($r->{pid}, 0);
delete $r->{pid};
close $pub;    # the publisher stops when the recorder is gone

my $s = ffprobe_streams($file) || {};
is($s->{audio}{codec_name}, 'opus', 'killed file: Opus stream');
is($s->{video}{codec_name}, 'vp8', 'killed file: VP8 stream');
diag(sprintf "killed after %.2f s; audio up to %.2f s, video up to %.2f s",
     $killed_after, $s->{audio}{end} // -1, $s->{video}{end} // -1);
cmp_ok($s->{audio}{end} // 0, '>', $killed_after - 2.5,
       'audio decodes up to near the kill time');
cmp_ok($s->{video}{end} // 0, '>', $killed_after - 2.5,
       'video decodes up to near the kill time');

my $err = `ffmpeg -nostdin -v error -i '$file' -f null - 2>&1`;
is($?, 0, 'ffmpeg decodes the killed file');
diag("ffmpeg: $err") if $err;

my $mf = Rec::read_json("$r->{dir}/kill-call/manifest.json") || {};
is($mf->{participants}[0]{state}, 'recording',
   'manifest from the start is on disk (state recording)');

done_testing();
