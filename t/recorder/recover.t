#!/usr/bin/perl

# Crash recovery: the customer and the agent of a call publish (GStreamer
# webrtcbin), a third session never connects (0-byte file), then the
# recorder is killed with SIGKILL mid-call.  Started again on the same
# directory it finalizes the files left open (a repair job: duration and
# cues), and fixes the manifest (finished, "interrupted", the real
# duration and size); the 0-byte one is finished as empty.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Time::HiRes qw(time);
use Rec;

Rec::rec_in_netns();

my $r = rec_start();
my $call = 'crash-call';
my (@pubs, %t0);

for my $role (qw(customer agent)) {
    my $tok = rec_token(call => $call, role => $role);
    open(my $pub, '-|', '/usr/bin/python3', "$FindBin::Bin/lib/gst_publish.py",
         "$r->{url}/whip", $tok, 30, 'hold') or die $!;
    my $res = eval { JSON::PP->new->decode(scalar <$pub>) } || {};
    is($res->{state}, 'connected', "$role: connected");
    $t0{$role} = $res->{connected_at} // time;
    push @pubs, $pub;
}

# a session that never connects: its file stays empty
my $empty = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                     token => rec_token(call => 'empty-call'),
                     body => do { local $/; open my $f, '<',
                         "$FindBin::Bin/../../fuzz/recorder/seeds-fuzz_sdp/"
                         . 'offer.sdp' or die; <$f> });
is($empty->{status}, 201, 'a session that never connects');

my $cf = "$r->{dir}/$call/customer.webm";
my $af = "$r->{dir}/$call/agent.webm";
ok(wait_for(sub { time - $t0{agent} >= 5 && -s $cf > 20000 && -s $af > 20000 },
            20), 'both files grow');

kill 'KILL', $r->{pid};
my $killed = time;
waitpid($r->{pid}, 0);
delete $r->{pid};
close $_ for @pubs;

my $before = read_json("$r->{dir}/$call/manifest.json") || {};
is(scalar(grep { $_->{state} eq 'recording' } @{ $before->{participants} }),
   2, 'the killed recorder left both "recording" in the manifest');
my $s = ffprobe_streams($cf) || {};
cmp_ok($s->{format_duration} // 0, '<', 1,
       'the killed file says it is shorter than a second ('
       . ($s->{format_duration} // 'none') . ')');

# started again on the same directory

$r = rec_start(again => $r);

my $mf = wait_for(sub {
    my $m = read_json("$r->{dir}/$call/manifest.json");
    return $m && !grep({ $_->{state} ne 'finished' } @{ $m->{participants} })
           ? $m : undef;
}, 30) || {};

for my $p (@{ $mf->{participants} || [] }) {
    my $role = $p->{role};
    my $file = "$r->{dir}/$call/$p->{file}";
    is($p->{ending_reason}, 'interrupted', "$role: ending reason interrupted");
    ok($p->{finalized}, "$role: finalized");
    like($p->{ended_at} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, "$role: ended_at");
    is($p->{size}, -s $file, "$role: manifest size is the file's");

    my $st = ffprobe_streams($file) || {};
    my $end = $st->{audio}{end} // 0;
    diag(sprintf "$role: killed %.2f s after connecting; audio up to "
         . "%.2f s, segment %.2f s", $killed - $t0{$role}, $end,
         $st->{format_duration} // -1);
    cmp_ok($end, '>', $killed - $t0{$role} - 2.5,
           "$role: audio up to near the kill");
    cmp_ok(abs(($st->{format_duration} // 0) - $end), '<', 0.1,
           "$role: the segment duration is the content's");
    cmp_ok(abs(($p->{duration} // 0) - ($st->{format_duration} // 9)), '<',
           0.05, "$role: manifest duration matches");
    my %tr = map { $_->{kind} => $_ } @{ $p->{tracks} || [] };
    cmp_ok(abs(($tr{audio}{duration} // 0) - ($st->{audio}{duration} // 9)),
           '<', 0.05, "$role: manifest audio track duration matches");
    like(`mkvinfo -v '$file'`, qr/\+ Cues/, "$role: cues written");
    decodes_clean($file, $role);
}

my $em = wait_for(sub {
    my $m = read_json("$r->{dir}/empty-call/manifest.json");
    return $m && $m->{participants}[0]{state} eq 'finished' ? $m : undef;
}, 10) || {};
is($em->{participants}[0]{ending_reason}, 'interrupted',
   'the empty recording: finished as interrupted');
is($em->{participants}[0]{size}, 0, '... size 0');

my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_recordings_recovered_total 2$/m,
     'recovered recordings counted');
my @left = glob("$r->{dir}/$call/.*.repair");
is(scalar @left, 0, 'no temporary file left');

# a second start finds nothing more to do

ok(rec_stop($r), 'recorder exits on SIGTERM');
my $again = rec_start(again => $r);
my $m2 = rec_http($again, 'GET', '/metrics')->{content};
like($m2, qr/^hotline_recorder_recordings_recovered_total 0$/m,
     'nothing to recover the second time');
ok(rec_stop($again), 'exits');

done_testing();
