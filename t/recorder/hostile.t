#!/usr/bin/perl

# While a browser publishes, 400 garbage datagrams (fake SRTP, SRTCP,
# DTLS, STUN-looking, random) hit the recorder's ICE port from another
# socket: the recording must be unaffected.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Rec;

rec_browser();

my $r = rec_start();
my $tok = rec_token(call => 'hostile', role => 'agent');
my $out = `node $FindBin::Bin/lib/publish.js $r->{url}/whip $tok 5 hostile`;
my $res = eval { JSON::PP->new->decode((split /\n/, $out)[-1]) } || {};

is($res->{state}, 'connected', 'browser connected');
is($res->{garbage}, 400, '400 garbage datagrams sent');
is($res->{delete_status}, 200, 'session still there for DELETE');

my $file = "$r->{dir}/hostile/agent.webm";
my $s = ffprobe_streams($file) || {};
my $el = $res->{elapsed} || 0;
diag(sprintf "elapsed %.3f s, audio %.3f s, video %.3f s", $el,
     $s->{audio}{duration} // -1, $s->{video}{duration} // -1);
cmp_ok(abs(($s->{audio}{duration} // 99) - $el), '<', 0.5,
       'audio complete');
cmp_ok(abs(($s->{video}{duration} // 99) - $el), '<', 0.5,
       'video complete');
is(`ffmpeg -nostdin -v error -i '$file' -enc_time_base -1 -f null - 2>&1`,
   '', 'decodes cleanly');

my $mf = Rec::read_json("$r->{dir}/hostile/manifest.json") || {};
is($mf->{participants}[0]{ending_reason}, 'client_delete',
   'ended by the client, not by the garbage');

my $m = rec_http($r, 'GET', '/metrics')->{content};
my ($srtp) = $m =~ /^hotline_recorder_srtp_errors_total (\d+)$/m;
my ($bad) = $m =~ /^hotline_recorder_bad_packets_total (\d+)$/m;
diag("srtp errors $srtp, bad packets $bad");
is(rec_http($r, 'GET', '/health')->{status}, 200, 'healthy');
ok(rec_stop($r), 'exits on SIGTERM');
is($r->{status}, 0, 'exit 0');

done_testing();
