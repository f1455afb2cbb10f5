#!/usr/bin/perl

# One playable file per call: the customer publishes, the agent joins
# 2 s later (GStreamer, both showing a white frame and playing a tone at
# the same wall clock times); when the call is complete a merge job
# writes call.webm: stereo Opus (customer left, agent right) and both
# videos side by side, each file placed at its start on its sender's
# clock (RTP time and sender reports), so the flashes of both sides line
# up.  The agent's first 1.5 s of media are held back and then sent at
# once: placed by the arrival of its first packet (as a busy host, a
# late handshake or a burst can delay it) the agent's side would be
# 1.5 s late.  The customer's sender reports carry Unix time where NTP
# time belongs (a clock 70 years off): its clock is brought onto the
# recorder's by the offset of its least delayed report.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Time::Local qw(timegm);
use Rec;

Rec::rec_in_netns();

my $r = rec_start(args => ['--complete-after', 1]);
my $call = 'merge-call';

sub start {
    my ($role, $mode) = @_;
    my $pid = open(my $pub, '-|', '/usr/bin/python3',
                   "$FindBin::Bin/lib/gst_publish.py", "$r->{url}/whip",
                   rec_token(call => $call, role => $role), 30,
                   $mode // 'hold', 'wallflash') or die $!;
    my $res = eval { JSON::PP->new->decode(scalar <$pub>) } || {};
    return { pid => $pid, pub => $pub, res => $res, role => $role };
}

sub stop {
    my ($p) = @_;
    my $st = rec_http($r, 'DELETE',
                      ($p->{res}{location} // '') =~ s{^https?://[^/]+}{}r,
                      token => rec_token(call => $call, role => $p->{role}));
    kill 'TERM', $p->{pid};
    close $p->{pub};
    return $st->{status};
}

sub bytes_written {
    my $m = rec_http($r, 'GET', '/metrics')->{content} // '';
    return $m =~ /^hotline_recorder_bytes_written_total (\d+)$/m ? $1 : 0;
}

my $c = start('customer', 'hold,clock=unix');
is($c->{res}{state}, 'connected', 'customer publishing');
# alone for long enough that the recording holds a few seconds of the
# customer's audio, not for 2 s of a clock: the file starts at the first
# keyframe (this publisher, a pre-encoded stream, sends one every 3 s)
# and the audio once the first sender report places it; a loaded machine
# starts both late.  The recording has begun when the recorder has
# written its first frame.
my $began = wait_for(sub { bytes_written() > 0 ? time : 0 }, 20);
ok($began && wait_for(sub { time - $began > 2.5
                            && time - $c->{res}{connected_at} > 6 }, 10),
   'alone for 2 s');
my $ag = start('agent', 'hold,burst=1500');
is($ag->{res}{state}, 'connected', 'agent publishing');
# the agent's media begin 1.5 s after it connected (its picture at the
# keyframe its first packets asked for); 7.5 s of its picture hold at
# least 4 flashes (2 of 3 seconds flash, never 4 in a row without)
ok(wait_for(sub { time - $ag->{res}{connected_at} > 9 }, 15),
   'together 7.5 s');
is(stop($ag), 200, 'agent leaves');
is(stop($c), 200, 'customer leaves');

# the merge job runs at nice 10 (about 1.2 s of CPU here): beside 20
# busy processes at nice 0 it gets about 1 % of a core, and took more
# than 60 s in 3 of 8 runs on such a machine
my $mf = wait_for(sub {
    my $m = read_json("$r->{dir}/$call/manifest.json");
    return $m && $m->{merged} ? $m : undef;
}, 240) || {};
my $file = "$r->{dir}/$call/call.webm";
ok(-s $file, 'call.webm written');
is($mf->{merged}{file}, 'call.webm', 'manifest: merged file');
is($mf->{merged}{size}, -s $file, 'manifest: its size');
ok($mf->{completed_at}, 'the call completed after the merge');

my $j = `ffprobe -v error -show_entries stream=codec_type,codec_name,channels,width,height:format=duration -of json '$file'`;
my $p = eval { JSON::PP->new->decode($j) } || {};
my %s = map { $_->{codec_type} => $_ } @{ $p->{streams} || [] };
is($s{audio}{codec_name}, 'opus', 'Opus');
is($s{audio}{channels}, 2, 'stereo');
is($s{video}{codec_name}, 'vp8', 'VP8');
is("$s{video}{width}x$s{video}{height}", '1280x480', 'side by side');
decodes_clean($file, 'call.webm');

my %d = map { $_->{role} => $_ } @{ $mf->{participants} || [] };

# each file on its sender's clock: the agent's media came 1.5 s after
# their capture; the customer's clock is decades off

sub ms {
    my ($t) = @_;
    my @f = ($t // '') =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(\.\d+)Z$/
        or return 0;
    return (timegm(@f[5, 4, 3, 2], $f[1] - 1, $f[0]) + $f[6]) * 1000;
}
my $sent = ms($d{agent}{sender_started_at});
my $late = $sent ? ms($d{agent}{started_at}) - $sent : undef;
diag('the agent\'s first packet after its capture (ms): ' . ($late // '?')
     . '; clock offsets (s): customer '
     . ($d{customer}{sender_clock_offset} // '?') . ', agent '
     . ($d{agent}{sender_clock_offset} // '?'));
ok($d{$_}{sender_started_at}, "manifest: the ${_}'s start on its clock")
    for qw(customer agent);
cmp_ok($late // 0, '>', 1200, 'the agent\'s first media came late');
cmp_ok(abs($d{agent}{sender_clock_offset} // 9), '<', 0.5,
       'manifest: the agent\'s clock is ours');
cmp_ok($d{customer}{sender_clock_offset} // 0, '<', -1e9,
       'manifest: the customer\'s clock is decades off');
cmp_ok(abs(($p->{format}{duration} // 0) - $mf->{merged}{duration}), '<',
       0.05, 'manifest: its duration');
cmp_ok($mf->{merged}{duration}, '>',
       ($d{customer}{duration} // 0) - 0.2, 'as long as the call');

# the flashes of both sides, left and right, audio and video

my %o = (
    left_audio => [onsets($file, 'a', 'pan=mono|c0=c0')],
    right_audio => [onsets($file, 'a', 'pan=mono|c0=c1')],
    left_video => [onsets($file, 'v', 'crop=640:480:0:0')],
    right_video => [onsets($file, 'v', 'crop=640:480:640:0')],
);
diag("$_: @{ $o{$_} }") for sort keys %o;

# the file may start inside a flash: from its second second on
sub paired {
    my ($x, $y) = @_;
    # each side's file may start inside a flash too: its first onset is
    # where the file starts, not where the flash did
    my $first = $o{$x}[0] // 0;
    # and end inside one: a flash in its last 50 ms has a white frame but
    # no tone that onsets() counts
    my $end = ($p->{format}{duration} // 0) - 0.5;
    return onset_diffs([grep { $_ >= 1 && $_ > $first + 0.5 && $_ < $end }
                        @{ $o{$x} }], $o{$y});
}

my $agent_from = $o{right_audio}[0] // 99;
cmp_ok(scalar @{ $o{right_audio} }, '>=', 2, 'the agent\'s tones are on the right');
cmp_ok(scalar(grep { $_ < $agent_from - 0.5 } @{ $o{left_audio} }), '>=', 1,
       'the customer\'s tones before the agent joined are on the left only');
for my $pair ([qw(right_audio left_audio)], [qw(right_video left_video)],
              [qw(left_video left_audio)], [qw(right_video right_audio)])
{
    my @d = paired(@$pair);
    diag("$pair->[0] against $pair->[1] (ms): "
         . join(' ', map { sprintf '%.0f', $_ } @d));
    cmp_ok(scalar @d, '>=', 2, "$pair->[0]: flashes found");
    is(scalar(grep { abs($_) > 100 } @d), 0,
       "$pair->[0] within 100 ms of $pair->[1]");
}

my $log = `cat $r->{log}`;
like($log, qr/call $call: agent\.webm placed at \d+ ms, by the sender's clock$/m,
     'the agent placed by its clock');
like($log, qr/call $call: customer\.webm placed at 0 ms, by the sender's clock, brought onto ours$/m,
     'the customer placed by its clock, brought onto ours');
like($log, qr/call $call: merged into call\.webm, [\d.]+ s of media in \d+ ms of CPU at nice 10/,
     'merged by a job at nice 10, its CPU logged');
my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_merges_total 1$/m, 'merges counted');
like($m, qr/^hotline_recorder_merge_cpu_milliseconds_total [1-9]\d*$/m,
     'their CPU counted');
ok(rec_stop($r), 'recorder exits');

done_testing();
