package Rec;

# Test helpers for hotline-recorder: start/stop the binary, mint tokens
# with Crypt::JWT (an independent JWT implementation), HTTP with
# HTTP::Tiny, bounded polling, ffprobe.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Test::More ();
use Time::HiRes qw(time sleep);
use Crypt::JWT qw(encode_jwt);
use POSIX ":sys_wait_h";
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Hotline::Port;

our @EXPORT = qw(rec_in_netns rec_browser rec_start rec_stop rec_token rec_http
                 wait_for ffprobe_streams read_json free_port publish
                 av_sync onsets onset_diffs packet_times decodes_clean
                 offer);

our $BIN = $ENV{REC_BIN} || 'build/recorder/hotline-recorder';
our $SECRET = 'test-secret-' . ('x' x 40);
# this directory: the publishers beside this file
our $LIB = dirname(abs_path(__FILE__));

# Re-run the calling test inside a fresh loopback-only network namespace;
# @setup: more shell commands run there first (aiortc leaves 127.0.0.1
# out of its candidates: it gets 127.0.0.2 on lo as well).

sub rec_in_netns {
    my (@setup) = @_;
    return if $ENV{REC_IN_NETNS};
    $ENV{REC_IN_NETNS} = 1;
    exec('unshare', '-n', '--', 'sh', '-c',
         join(' && ', 'ip link set lo up', @setup, 'exec "$0" "$@"'),
         $^X, $0, @ARGV)
        or die "unshare: $!";
}

# A test that drives Debian's Chromium (lib/publish.js): re-run in the
# network namespace, with the recorder's npm install (playwright-core) on
# NODE_PATH.

sub rec_browser {
    rec_in_netns();
    my $node_path = ($ENV{REC_BUILD} || "$LIB/../../../build/recorder")
                    . '/npm/node_modules';
    Test::More::plan(skip_all => 'playwright-core not installed (run '
                                 . 'deps.sh)')
        unless -d "$node_path/playwright-core";
    $ENV{NODE_PATH} = $node_path;
}

# Runs an outside publisher (lib/gst_publish.py, lib/aiortc_publish.py)
# and returns the JSON line it prints last; Debian's python3, not
# whatever python3 comes first on PATH.

sub publish {
    my ($script, @args) = @_;
    my $out = `/usr/bin/python3 $LIB/$script @args 2>&1`;
    my ($line) = grep { /^\{/ } reverse split /\n/, $out;
    my $res = eval { JSON::PP->new->decode($line // '') } || {};
    $res->{output} = $out unless $line;
    return $res;
}

# The onsets of the flashes in a file (gst_publish.py shows a white frame
# and plays a tone at the same capture times): for kind 'a' where a tone
# starts after silence, for 'v' where a frame turns white after a dark
# one; $filter picks a channel (pan=mono|c0=c1) or a part of the picture
# (crop=640:480:640:0).

sub onsets {
    my ($file, $kind, $filter) = @_;
    my $f = $filter ? "$filter," : '';
    if ($kind eq 'a') {
        my $dur = `ffprobe -v error -show_entries format=duration -of csv=p=0 '$file'`;
        # silence that lasts to the end of the file ends there too
        return grep { $_ < ($dur || 0) - 0.05 }
            map { /silence_end: ([\d.]+)/ ? $1 : () }
            `ffmpeg -nostdin -v info -i '$file' -map 0:a -af '${f}silencedetect=n=-30dB:d=0.1' -f null - 2>&1`;
    }
    my (@v, $on, $t);
    for (`ffmpeg -nostdin -v error -i '$file' -map 0:v -vf '${f}signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-' -f null - 2>&1`) {
        if (/pts_time:([\d.]+)/) {
            $t = $1;
        } elsif (/YAVG=([\d.]+)/) {
            # a flash under way at the first frame has no onset
            push @v, $t if $1 > 128 && defined $on && !$on;
            $on = $1 > 128;
        }
    }
    return @v;
}

# for each onset of @$x, its distance in ms to the nearest of @$y

sub onset_diffs {
    my ($x, $y) = @_;
    my @d;
    for my $t (@$x) {
        my ($n) = sort { abs($a - $t) <=> abs($b - $t) } @$y or next;
        push @d, ($t - $n) * 1000;
    }
    return @d;
}

# Lip sync measured on the content: the onsets of both tracks and, for
# each video onset, its distance in ms to the nearest audio onset.

sub av_sync {
    my ($file) = @_;
    my @a = onsets($file, 'a');
    my @v = onsets($file, 'v');
    return { audio => \@a, video => \@v, diff_ms => [onset_diffs(\@v, \@a)] };
}

# presentation times of one stream's packets ('a' or 'v'), as stored

sub packet_times {
    my ($file, $kind) = @_;
    return map { /([\d.]+)/ ? $1 : () }
        `ffprobe -v error -select_streams $kind -show_entries packet=pts_time -of csv=p=0 '$file'`;
}

# A recording decodes cleanly:
#  - its packets, as stored: `ffmpeg -v error -i FILE -c copy -f null -`
#    says nothing (demuxing, and the null muxer's check that each
#    stream's dts strictly increase, on the file's own timestamps);
#  - a full decode at the file's time base (`-enc_time_base -1`) says
#    nothing;
#  - a plain `ffmpeg -v error -i FILE -f null -` exits 0, and whatever it
#    prints is ffmpeg's own: it re-times video to 1/r_frame_rate on the
#    way to the null muxer and reports two frames that land on one tick
#    ("non monotonically increasing dts to muxer"); the same packets
#    remuxed by mkvmerge (another Matroska muxer) get exactly the same
#    lines, and nothing else may appear.

sub decodes_clean {
    my ($file, $name) = @_;
    my $tb = Test::More->builder;
    my $run = sub { my $o = `ffmpeg -nostdin -v error -i '$file' @_ 2>&1`;
                    return ($?, $o) };
    my ($rc, $out) = $run->('-c copy -f null -');
    $tb->is_eq("$rc $out", '0 ', "$name: packets demux, dts increase");
    ($rc, $out) = $run->('-enc_time_base -1 -f null -');
    $tb->is_eq("$rc $out", '0 ', "$name: decodes at its time base without "
               . 'a message');
    ($rc, $out) = $run->('-f null -');
    my @other = grep { !/^\[null @ \S+\] Application provided invalid, non monotonically increasing dts to muxer in stream \d+: (\d+) >= \1$/ } split /^/, $out;
    $tb->is_eq($rc . join('', @other), '0',
               "$name: a plain decode says nothing but ffmpeg's re-timing");
    return $tb->ok(1, "$name: a plain decode says nothing") if $out eq '';
    my $remux = "$file.mkvmerge.webm";
    system('mkvmerge', '-q', '-o', $remux, $file);
    my $again = `ffmpeg -nostdin -v error -i '$remux' -f null - 2>&1`;
    unlink $remux;
    s/ @ 0x[0-9a-f]+\]/]/g for $out, $again;
    return $tb->is_eq($again, $out, "$name: ... the same packets muxed by "
                      . 'mkvmerge get the same lines from ffmpeg');
}


# a loopback port no other test process gets (t/lib/Hotline/Port.pm)
sub free_port { Hotline::Port::take() }

sub wait_for {
    my ($cond, $timeout) = @_;
    my $end = time + ($timeout // 10);
    while (time < $end) {
        my $r = $cond->();
        return $r if $r;
        sleep 0.05;
    }
    return;
}

# rec_start(args => [...]); again => $r: the same recordings directory
# and secret as the (stopped) recorder $r, as a restart

sub rec_start {
    my (%o) = @_;
    my ($dir, $rec, $secret);
    if ($o{again}) {
        ($dir, $rec) = ($o{again}{tmp}, $o{again}{dir});
        $secret = "$dir/secret";
    } else {
        $dir = tempdir('rec-t-XXXXXX', TMPDIR => 1,
                       CLEANUP => !$ENV{REC_KEEP});
        $rec = "$dir/rec";
        mkdir $rec or die;
        $secret = "$dir/secret";
        open my $fh, '>', $secret or die;
        print $fh "$SECRET\n";
        close $fh;
        chmod 0600, $secret;
    }

    my $port = free_port();
    my @args = ($BIN, '--listen', "127.0.0.1:$port", '--recordings', $rec,
                '--secret-file', $secret, '--min-free-disk', '1',
                @{ $o{args} || [] }, split(' ', $ENV{REC_ARGS} // ''));
    my $log = "$dir/recorder.log";
    my $pid = fork // die;
    if ($pid == 0) {
        open STDERR, '>>', $log or die;
        open STDOUT, '>&', \*STDERR or die;
        exec @args or die "exec: $!";
    }
    my $self = { pid => $pid, port => $port, dir => $rec, log => $log,
                 url => "http://127.0.0.1:$port", tmp => $dir };
    wait_for(sub {
        my $r = HTTP::Tiny->new(timeout => 1)->get("$self->{url}/health");
        return $r->{status} == 200 || $r->{status} == 503;
    }, 10) or die "recorder did not start: " . `cat $log`;
    return $self;
}

sub rec_stop {
    my ($self, $sig) = @_;
    return unless $self->{pid};
    kill $sig // 'TERM', $self->{pid};
    my $ok = wait_for(sub { waitpid($self->{pid}, WNOHANG) > 0 }, 15);
    $self->{status} = $?;
    unless ($ok) {
        kill 'KILL', $self->{pid};
        waitpid($self->{pid}, 0);
    }
    delete $self->{pid};
    return $ok;
}

# a WHIP offer (audio, video with vcodec, a data channel, BUNDLE) from a
# client that never connects: fp, setup, ufrag, pwd, vcodec (VP8)

sub offer {
    my (%o) = @_;
    my $fp = $o{fp} // join(':', ('AB') x 32);
    my $setup = $o{setup} // 'actpass';
    my $s = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
          . "a=group:BUNDLE 0 1 2\r\n"
          . "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\n"
          . "a=ice-ufrag:" . ($o{ufrag} // 'abcd') . "\r\n"
          . "a=ice-pwd:" . ($o{pwd} // 'abcdefghijklmnopqrstuvwx') . "\r\n"
          . "a=fingerprint:sha-256 $fp\r\na=setup:$setup\r\na=mid:0\r\n"
          . "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
          . "a=rtpmap:0 PCMU/8000\r\n"
          . "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"
          . "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\n"
          . "a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\n"
          . "a=rtpmap:96 " . ($o{vcodec} // 'VP8') . "/90000\r\n"
          . "a=rtpmap:97 rtx/90000\r\n"
          . "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
          . "a=mid:2\r\n";
    return $s;
}

sub rec_token {
    my (%c) = @_;
    my $claims = { call => 'call1', role => 'customer',
                   exp => int(time) + 600, %c };
    delete $claims->{$_} for grep { !defined $claims->{$_} } keys %$claims;
    return encode_jwt(payload => $claims, alg => 'HS256',
                      key => $c{_key} // $SECRET);
}

sub rec_http {
    my ($self, $method, $path, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{'Authorization'} = "Bearer $o{token}" if defined $o{token};
    $h{'Content-Type'} = $o{type} if defined $o{type};
    my $r = HTTP::Tiny->new(timeout => 10)->request($method,
        "$self->{url}$path", { headers => \%h,
                               (defined $o{body} ? (content => $o{body})
                                                 : ()) });
    return $r;
}

sub read_json {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    local $/;
    my $j = <$fh>;
    return eval { JSON::PP->new->decode($j) };
}

# per stream: codec, and duration from the packets (first pts to last
# pts + duration), as decoded by ffprobe

sub ffprobe_streams {
    my ($file) = @_;
    my $j = `ffprobe -v error -show_entries stream=index,codec_name,codec_type,width,height,sample_rate:stream_tags:format=duration -show_entries packet=stream_index,pts_time,duration_time -of json '$file' 2>/dev/null`;
    my $d = eval { JSON::PP->new->decode($j) } or return;
    my %s;
    for my $st (@{ $d->{streams} || [] }) {
        $s{ $st->{codec_type} } = { %$st, first => undef, end => 0,
                                    packets => 0 };
    }
    my %by_index = map { $_->{index} => $_ } values %s;
    for my $p (@{ $d->{packets} || [] }) {
        my $st = $by_index{ $p->{stream_index} } or next;
        my $pts = $p->{pts_time} // next;
        $st->{first} = $pts if !defined $st->{first} || $pts < $st->{first};
        my $e = $pts + ($p->{duration_time} // 0);
        $st->{end} = $e if $e > $st->{end};
        $st->{packets}++;
    }
    for my $st (values %s) {
        $st->{duration} = defined $st->{first}
                          ? $st->{end} - $st->{first} : 0;
    }
    $s{format_duration} = $d->{format}{duration};
    return \%s;
}

1;
