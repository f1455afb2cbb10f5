#!/usr/bin/perl

# Limits and clean stops with a real browser: --max-duration finalizes a
# recording on time, SIGTERM finalizes every open recording (duration and
# cues written, manifest says why) and the recorder exits 0.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Rec;

rec_browser();

sub browser_publish {
    my ($r, $call) = @_;
    my $tok = rec_token(call => $call, role => 'agent');
    my $pid = open(my $pub, '-|', 'node', "$FindBin::Bin/lib/publish.js",
                   "$r->{url}/whip", $tok, 40, 'kill') or die $!;
    my $res = eval { JSON::PP->new->decode(scalar <$pub>) } || {};
    return ($pub, $res);
}

sub finished {
    my ($r, $call) = @_;
    return wait_for(sub {
        my $m = Rec::read_json("$r->{dir}/$call/manifest.json");
        return $m && $m->{participants}[0]{state} eq 'finished' ? $m : undef;
    }, 20) || {};
}

my $r = rec_start(args => ['--max-duration', 4, '--idle-timeout', 2]);

# a publisher that goes away without DELETE is reaped and its file
# finalized (DTLS close_notify from the browser, or the idle timeout)

{
    my $tok = rec_token(call => 'vanish', role => 'customer');
    my $out = `node $FindBin::Bin/lib/publish.js $r->{url}/whip $tok 1 vanish`;
    my $res = eval { JSON::PP->new->decode((split /\n/, $out)[-1]) } || {};
    is($res->{state}, 'connected', 'vanish: browser connected');
    my $mf = finished($r, 'vanish');
    my $p = $mf->{participants}[0] || {};
    like($p->{ending_reason} // '', qr/^(peer_closed|idle)$/,
         'vanished publisher reaped (' . ($p->{ending_reason} // '') . ')');
    my $s = ffprobe_streams("$r->{dir}/vanish/customer.webm") || {};
    cmp_ok(abs(($s->{format_duration} // 0) - 1), "<", 0.6,
           'its file is finalized with about 1 s');
}

# max duration

my ($pub, $res) = browser_publish($r, 'maxdur');
is($res->{state}, 'connected', 'max-duration: browser connected');
my $mf = finished($r, 'maxdur');
my $p = $mf->{participants}[0] || {};
is($p->{ending_reason}, 'max_duration', 'ending reason max_duration');
my $file = "$r->{dir}/maxdur/agent.webm";
my $s = ffprobe_streams($file) || {};
diag(sprintf "max-duration 4: audio %.3f s, video %.3f s, segment %s s",
     $s->{audio}{duration} // -1, $s->{video}{duration} // -1,
     $s->{format_duration} // '?');
cmp_ok(abs(($s->{audio}{duration} // 0) - 4), '<', 0.5, 'audio ~4 s');
cmp_ok(abs(($s->{format_duration} // 0) - 4), '<', 0.5,
       'segment duration ~4 s');
like(`mkvinfo -v '$file'`, qr/\+ Cues/, 'finalized with cues');

# graceful shutdown while recording

my ($pub2, $res2) = browser_publish($r, 'term');
is($res2->{state}, 'connected', 'shutdown: browser connected');
my $file2 = "$r->{dir}/term/agent.webm";
my $t0 = $res2->{connected_at} || time;
ok(wait_for(sub { time - $t0 >= 3 && -s $file2 }, 15), 'recording');

ok(rec_stop($r, 'TERM'), 'recorder exits on SIGTERM');
is($r->{status}, 0, 'exit status 0');
close $pub;
close $pub2;

$mf = Rec::read_json("$r->{dir}/term/manifest.json") || {};
$p = $mf->{participants}[0] || {};
is($p->{state}, 'finished', 'manifest finished');
is($p->{ending_reason}, 'shutdown', 'ending reason shutdown');
$s = ffprobe_streams($file2) || {};
cmp_ok($s->{format_duration} // 0, '>', 2.5,
       'segment duration written on shutdown');
cmp_ok(abs(($s->{format_duration} // 0) - ($p->{duration} // 0)), '<', 0.1,
       'manifest duration matches the file');
like(`mkvinfo -v '$file2'`, qr/\+ Cues/, 'finalized with cues');
is(`ffmpeg -nostdin -v error -i '$file2' -enc_time_base -1 -f null - 2>&1`,
   '', 'decodes cleanly');

done_testing();
