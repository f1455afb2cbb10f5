#!/usr/bin/perl

# A browser whose offer carries a fingerprint that does not match its DTLS
# certificate: the recorder must refuse the association and record
# nothing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Rec;

rec_browser();

my $r = rec_start();
my $tok = rec_token(call => 'fp-call', role => 'agent');

my $out = `node $FindBin::Bin/lib/publish.js $r->{url}/whip $tok 1 badfp`;
my $res = eval { JSON::PP->new->decode((split /\n/, $out)[-1]) } || {};

is($res->{post_status}, 201, 'offer accepted (the fingerprint is checked '
   . 'against the certificate later)');
like($res->{final_state} // '', qr/^(disconnected|failed|closed)$/,
     'browser sees the DTLS association dropped')
    or diag($out);

my $mf = wait_for(sub {
    my $m = Rec::read_json("$r->{dir}/fp-call/manifest.json");
    return $m && $m->{participants}[0]{state} eq 'finished' ? $m : undef;
}, 20) || {};
my $p = $mf->{participants}[0] || {};
is($p->{ending_reason}, 'dtls_fingerprint_mismatch', 'ending reason');
is($p->{size}, 0, 'nothing recorded');

my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_dtls_failures_total 1$/m, 'DTLS failure metric');
like($m, qr/^hotline_recorder_rtp_packets_total 0$/m, 'no RTP accepted');
like(`cat $r->{log}`, qr/DTLS fingerprint mismatch/, 'logged');
is(rec_http($r, 'GET', '/health')->{status}, 200, 'recorder healthy');

ok(rec_stop($r), 'exits on SIGTERM');

done_testing();
