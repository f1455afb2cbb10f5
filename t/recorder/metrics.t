#!/usr/bin/perl

# The recorder's counters against what happened: two GStreamer
# publishers record (bytes_written_total grows while they do, and equals
# the size of the files once they are finalized), a session whose ICE
# fails (its only candidate is a closed port) counts in
# sessions_failed_total and ice_failures_total, refused requests count
# in their counters and are logged at info with their reason.

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

sub metric {
    my ($name) = @_;
    my $m = rec_http($r, 'GET', '/metrics')->{content} // '';
    return $m =~ /^hotline_recorder_$name (\d+)$/m ? $1 : undef;
}

# two recordings at once, one in hold mode (no DELETE: ended by SIGTERM)

open(my $hold, '-|', '/usr/bin/python3', "$FindBin::Bin/lib/gst_publish.py",
     "$r->{url}/whip", rec_token(call => 'm1', role => 'agent'), 30, 'hold')
    or die $!;
my $first = eval { JSON::PP->new->decode(scalar <$hold>) } || {};
is($first->{state}, 'connected', 'first publisher connected');

ok(wait_for(sub { (metric('bytes_written_total') // 0) > 10000 }, 15),
   'bytes_written_total grows while recording');
my $b1 = metric('bytes_written_total');
ok(wait_for(sub { metric('bytes_written_total') > $b1 }, 5),
   '... and keeps growing');

my $res = publish('gst_publish.py', "$r->{url}/whip",
               rec_token(call => 'm2', role => 'customer'), 3);
is($res->{delete_status}, 200, 'second publisher recorded and deleted');

# ICE that fails: the only candidate is a port nobody listens on

my $dead = free_port();
my $offer = do {
    local $/;
    open my $f, '<', "$FindBin::Bin/../../fuzz/recorder/seeds-fuzz_sdp/"
                     . 'offer.sdp' or die;
    <$f>;
};
$offer =~ s/127\.0\.0\.1 50000/127.0.0.1 $dead/;
is(rec_http($r, 'POST', '/whip', type => 'application/sdp', body => $offer,
            token => rec_token(call => 'm3'))->{status}, 201,
   'a session whose ICE will fail');
my $mf = wait_for(sub {
    my $m = read_json("$r->{dir}/m3/manifest.json");
    return $m && $m->{participants}[0]{state} eq 'finished' ? $m : undef;
}, 20) || {};
is($mf->{participants}[0]{ending_reason}, 'ice_failed', 'it ended ice_failed');
is(metric('sessions_failed_total'), 1, 'sessions_failed_total counts it');
is(metric('ice_failures_total'), 1, 'ice_failures_total counts it');

# refused requests: counted, and logged at info with their reason

my $bad = rec_http($r, 'POST', '/whip', type => 'application/sdp',
                   body => 'garbage', token => rec_token(call => 'm4'));
is($bad->{status}, 400, 'bad SDP: 400');
is(rec_http($r, 'POST', '/whip', type => 'application/sdp',
            body => $offer, token => 'x.y.z')->{status}, 401, 'bad token: 401');
is(rec_http($r, 'DELETE', '/whip/' . ('a' x 32),
            token => rec_token(call => 'm4'))->{status}, 404,
   'unknown session: 404');
is(metric('bad_requests_total'), 1, 'bad_requests_total: the bad SDP');
is(metric('auth_failures_total'), 1, 'auth_failures_total: the bad token');
my $log = `cat $r->{log}`;
like($log, qr/\[info\] http: 400 POST \/whip from 127\.0\.0\.1: SDP must start with "v=0"/,
     '400 logged at info with its reason');
like($log, qr/\[info\] http: 401 POST \/whip from 127\.0\.0\.1: malformed token/,
     '401 logged at info with its reason');
like($log, qr/\[info\] http: 404 DELETE \/whip\/a{32} from 127\.0\.0\.1: no such WHIP session/,
     '404 logged at info with its reason');

# everything finalized: the counter is the size of the files

is(rec_http($r, 'DELETE', ($first->{location} // "") =~ s{^https?://[^/]+}{}r,
            token => rec_token(call => 'm1', role => 'agent'))->{status},
   200, 'the first recording ended');
close $hold;
ok(wait_for(sub { metric('sessions') == 0 }, 10), 'no session open');
# the recordings (a merged call.webm is the merge job's, not counted)
my $sum = 0;
$sum += -s $_ for grep { !m{/call\.webm$} } glob("$r->{dir}/*/*.webm");
cmp_ok($sum, '>', 50000, "the files hold $sum bytes");
is(metric('bytes_written_total'), $sum,
   'bytes_written_total is the size of the files');
is(metric('recordings_completed_total'), 3, 'three recordings completed');
is(metric('sessions_total'), 3, 'three sessions');

ok(rec_stop($r), 'recorder exits on SIGTERM');

done_testing();
