#!/usr/bin/perl
# A recorded call in real browsers (t/e2e/recording.test.mjs): nginx with
# hotline_recorder, a real hotline-recorder behind /whip; both pages show
# the recording badge and publish their own audio over WHIP; after the
# hang-up the recorder has finished one file per side (its manifest), and
# ffprobe (an independent reader) finds Opus audio in them.  The recorder
# asks nginx (--check-url, hotline_recording_check) before each recording.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Hotline::Test qw(poll_until);
use HotlineE2E;

HotlineE2E::run('recording.test.mjs', recorder => 1, after => sub {
    my ($rec) = @_;
    my @manifests;
    my $done = poll_until(15, sub {
        @manifests = glob("$rec->{dir}/*/manifest.json");
        return 0 unless @manifests == 1;
        my $m = eval { decode_json(Hotline::Test::read_file($manifests[0])) }
            or return 0;
        my @p = @{ $m->{participants} || [] };
        return (@p == 2 && !grep { $_->{state} ne 'finished' } @p) ? $m : 0;
    });
    ok($done, 'one call recorded, both participants finished')
        or diag(map { Hotline::Test::read_file($_) } @manifests),
           diag(Hotline::Test::read_file($rec->{log}));
    return unless $done;
    # both recordings were started after nginx said the call was on
    my $m = HTTP::Tiny->new(timeout => 5)
        ->get("http://127.0.0.1:$rec->{port}/metrics")->{content} // '';
    like($m, qr/^hotline_recorder_call_checks_total\{result="ok"\} 2$/m,
         'the recorder asked nginx (--check-url) for both, and it said yes');
    my %role = map { $_->{role} => $_ } @{ $done->{participants} };
    for my $r (qw(customer agent)) {
        my $p = $role{$r};
        ok($p, "the $r was recorded") or next;
        is($p->{ending_reason}, 'client_delete',
           "the ${r}'s recording ended with the page's WHIP DELETE");
        my $file = dirname($manifests[0]) . "/$p->{file}";
        ok(-s $file, "$r: $p->{file} has data");
      SKIP: {
            skip 'no ffprobe (ffmpeg)', 1 unless -x '/usr/bin/ffprobe';
            my $codecs = `ffprobe -v error -show_entries stream=codec_name -of csv=p=0 '$file' 2>&1`;
            like($codecs, qr/^opus$/m, "ffprobe: $r audio is Opus");
        }
    }
});

sub dirname { my ($p) = @_; $p =~ s{/[^/]*$}{}; $p }
