#!/usr/bin/perl
# A recording token dies with its call at the recorder: a real nginx with
# the module (hotline_recording_check on a listener of its own) and the
# real hotline-recorder started with --check-url, GStreamer's webrtcbin
# publishing through nginx's /whip.  While the call is on, its tokens
# record (media in the files); past hotline_recorder max= the recorder
# answers 429 recording_limit; after the hang-up the same token gets 410
# call_ended and what of the call was still recorded is finalized
# (call_ended); a banned call's token gets 410; a token the module does
# not know gets its 401; the check unreachable, silent past
# --check-timeout, answering too much or something else: 503 check_failed,
# logged, and the recorder keeps serving meanwhile (nothing blocks).  On
# both stores (HOTLINE_STORE=redis).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/recorder/lib";
use Test::More;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Hotline::Test qw(poll_until);
use Rec;

$Rec::BIN = $ENV{REC_BIN} || "$FindBin::Bin/../build/recorder/hotline-recorder";
plan skip_all => "no $Rec::BIN (make recorder)" unless -x $Rec::BIN;

# webrtcbin gathers on every interface: loopback only
Rec::rec_in_netns();

my $check_port = Hotline::Port::take();
my $check_url = "http://127.0.0.1:$check_port/internal/recording";
my $r = rec_start(args => ['--check-url', $check_url,
                           '--max-recordings', 50]);
my $t = Hotline::Test->new(
    http    => "hotline_recorder /whip secret_file=$r->{tmp}/secret "
             . "ttl=120s max=3;",
    server  => "location /whip {\n"
             . "    client_max_body_size 64k;\n"
             . "    proxy_pass http://127.0.0.1:$r->{port};\n"
             . "}\n",
    # a listener only the recorder reaches
    servers => "server {\n"
             . "    listen 127.0.0.1:$check_port;\n"
             . "    location = /internal/recording {\n"
             . "        allow 127.0.0.1; deny all;\n"
             . "        hotline_recording_check;\n"
             . "    }\n"
             . "}\n")->start;
note('store: ' . $t->store);
my $whip = 'http://127.0.0.1:' . $t->port . '/whip';

sub post {
    my ($token, $rec) = @_;
    return rec_http($rec // $r, 'POST', '/whip', token => $token,
                    type => 'application/sdp', body => offer());
}

sub checks {
    my ($rec) = @_;
    my $m = rec_http($rec // $r, 'GET', '/metrics')->{content} // '';
    return { map { /^hotline_recorder_call_checks_total\{result="(\w+)"\} (\d+)$/
                   ? ($1 => $2) : () } split /\n/, $m };
}

sub rtp_packets {
    my $m = rec_http($r, 'GET', '/metrics')->{content} // '';
    return $m =~ /^hotline_recorder_rtp_packets_total (\d+)$/m ? $1 : 0;
}

sub participants {
    my ($call) = @_;
    my $m = Rec::read_json("$r->{dir}/$call/manifest.json") || {};
    return @{ $m->{participants} || [] };
}

my ($c, $a) = $t->call(name => 'Recorded', sub => 'rec-agent');
my $call = $c->{call_id};
my $ct = $c->{accepted}{recording}{token};
my $at = $a->{accepted}{recording}{token};
ok($ct && $at, 'both parties have a recording token');

# --- the call is on: its tokens record -------------------------------------

my $pub = Rec::publish('gst_publish.py', $whip, $ct, 2);
is($pub->{post_status}, 201, 'the customer publishes through nginx: 201')
    or diag($pub->{output} // $pub->{error}, Hotline::Test::read_file($r->{log}));
is($pub->{state}, 'connected', '... connected');
is($pub->{delete_status}, 200, '... and ends with a WHIP DELETE');
my ($cust) = grep { $_->{role} eq 'customer' } participants($call);
is($cust->{ending_reason}, 'client_delete', 'its recording is finished');
my $s = ffprobe_streams("$r->{dir}/$call/customer.webm") || {};
ok($s->{audio} && $s->{audio}{packets} > 20, 'with audio in it');
ok($s->{video} && $s->{video}{packets} > 10, 'and video');

my $rtp_before = rtp_packets();
my $hold_pid = open(my $hold, '-|', '/usr/bin/python3',
                    "$FindBin::Bin/recorder/lib/gst_publish.py", $whip, $at,
                    60, 'hold') or die "gst_publish.py: $!";
my $held = eval { JSON::PP->new->decode(scalar <$hold>) } || {};
is($held->{state}, 'connected', 'the agent publishes and goes on');
ok(wait_for(sub { -s "$r->{dir}/$call/agent.webm" }, 10),
   '... its file grows');
# a second of its media in (audio and video: some 100 packets) before the
# call ends, however busy the machine
ok(wait_for(sub { rtp_packets() - $rtp_before >= 150 }, 20),
   '... its media arrives');

is_deeply(checks(), { ok => 2, unauthorized => 0, call_ended => 0,
                      recording_limit => 0, unavailable => 0, failed => 0 },
          'two checks, both 200');

# --- hotline_recorder max=3 -------------------------------------------------

is(post($ct)->{status}, 201, 'the customer\'s second recording: 201');
is(post($ct)->{status}, 201, 'the third: 201');
my $over = post($ct);
is($over->{status}, 429, 'the fourth: 429');
like($over->{content}, qr/^429 Too Many Requests: recording_limit: /,
     '... recording_limit, as the module said');
ok(poll_until(5, sub { $t->error_log =~ /recording 4 of the customer of call_id=$call refused/ }),
   'nginx logged the refusal');
is(checks()->{recording_limit}, 1, 'counted in call_checks_total');

# --- a token the module does not know ---------------------------------------

# signed with the shared key, so the recorder's own check passes, but not
# naming a call of the module
my $foreign = rec_token(call => 'c1', role => 'customer');
my $no = post($foreign);
is($no->{status}, 401, 'a token the module does not know: 401');
like($no->{content}, qr/: unauthorized: /, '... unauthorized');
like($no->{headers}{'www-authenticate'} // '', qr/^Bearer/,
     '... with WWW-Authenticate');
my $before = checks();
my $bad = post(rec_token(call => $call, _key => 'x' x 40));
is($bad->{status}, 401, 'a token signed with another key: 401');
is_deeply(checks(), $before, '... refused by the recorder, nginx not asked');

# --- the call ends -----------------------------------------------------------

$a->send_json({ type => 'hangup', id => 'h' });
ok($c->wait_for('ended', 5), 'the call ends');
my $gone = post($ct);
is($gone->{status}, 410, 'the customer\'s token after the hang-up: 410');
like($gone->{content}, qr/^410 Gone: call_ended: /, '... call_ended');
my $agent_end = wait_for(sub {
    my ($p) = grep { $_->{role} eq 'agent' && $_->{state} eq 'finished' }
              participants($call);
    return $p;
}, 10) || {};
is($agent_end->{ending_reason}, 'call_ended',
   'the agent\'s recording still running is finalized: call_ended');
$s = ffprobe_streams("$r->{dir}/$call/agent.webm") || {};
ok($s->{audio} && $s->{audio}{packets} > 20, '... and has its audio');
is(post($at)->{status}, 410, 'the agent\'s token: 410 too');
like(Hotline::Test::read_file($r->{log}),
     qr/http: 410 POST \/whip from 127\.0\.0\.1: call_ended: /,
     'the recorder logged the refusal');
kill 'TERM', $hold_pid;
close $hold;

# --- a ban ends it -----------------------------------------------------------

my ($c2, $a2) = $t->call(name => 'Banned', agent => $a);
my $bt = $c2->{accepted}{recording}{token};
is(post($bt)->{status}, 201, 'a new call: its token records');
$a2->send_json({ type => 'ban', call_id => $c2->{call_id}, id => 'b' });
ok($a2->wait_for('ack', 5, sub { $_[0]{id} eq 'b' }), 'the agent bans it');
is(post($bt)->{status}, 410, 'the banned call\'s token: 410');

is_deeply(checks(), { ok => 5, unauthorized => 1, call_ended => 3,
                      recording_limit => 1, unavailable => 0, failed => 0 },
          'every answer counted');

# --- nginx gone --------------------------------------------------------------

$t->stop;
my $down = post($ct);
is($down->{status}, 503, 'the check unreachable: 503');
like($down->{content}, qr/check_failed: the call check did not answer/,
     '... check_failed');
like(Hotline::Test::read_file($r->{log}),
     qr/\[error\] check: GET \Q$check_url\E failed: /,
     '... logged as an error with the URL');
is(checks()->{failed}, 1, '... counted as failed');

# --- a check that answers badly or not at all --------------------------------

# a stand-in for nginx: answers by the mode in a file, or never
my $mode_file = "$r->{tmp}/mode";
my $stub = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                 LocalPort => Hotline::Port::take(),
                                 Listen => 16, ReuseAddr => 1) or die $!;
my $stub_port = $stub->sockport;
my $stub_pid = fork // die;
if (!$stub_pid) {
    my @held;
    while (my $s = $stub->accept) {
        my $mode = Hotline::Test::read_file($mode_file);
        if ($mode eq 'silent') {
            push @held, $s;
            next;
        }
        my $body = $mode eq 'big' ? '{"call":"' . ('x' x 10000) . '"}'
                 : '<html>teapot</html>';
        my $st = $mode eq 'big' ? '200 OK' : '418 I am a teapot';
        print $s "HTTP/1.1 $st\r\nContent-Length: " . length($body)
               . "\r\nConnection: close\r\n\r\n$body";
        close $s;
    }
    POSIX::_exit(0);
}
close $stub;

my $r2 = rec_start(args => ['--check-url',
                            "http://127.0.0.1:$stub_port/check",
                            '--check-timeout', 1500]);
my $tok = rec_token(call => 'stub', role => 'customer');

Hotline::Test::write_file($mode_file, 'big');
my $big = post($tok, $r2);
is($big->{status}, 503, 'a 200 with an answer over 4 KiB: 503');
like(Hotline::Test::read_file($r2->{log}), qr/failed: answer too large/,
     '... logged: answer too large');

Hotline::Test::write_file($mode_file, 'teapot');
my $odd = post($tok, $r2);
is($odd->{status}, 503, 'another status (a wrong URL, a deny): 503');
like($odd->{content}, qr/check_failed: the call check answered 418/,
     '... saying what it answered');

Hotline::Test::write_file($mode_file, 'silent');
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $r2->{port}) or die $!;
my $sdp = offer();
print $sock "POST /whip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $tok\r\n"
          . "Content-Type: application/sdp\r\nContent-Length: "
          . length($sdp) . "\r\n\r\n$sdp";
# the recorder goes on while the check waits
ok(poll_until(5, sub { checks($r2)->{failed} == 2
                       && rec_http($r2, 'GET', '/health')->{status} == 200 }),
   'while the check is silent, the recorder answers others');
ok(!IO::Select->new($sock)->can_read(0), '... and the POST still waits');
ok(IO::Select->new($sock)->can_read(10), 'then it is answered');
my $answer = do { local $/; <$sock> } // '';
like($answer, qr{^HTTP/1\.1 503 }, '... 503 after --check-timeout');
like($answer, qr/check_failed: the call check did not answer/,
     '... check_failed');
like(Hotline::Test::read_file($r2->{log}), qr/failed: Timeout was reached/,
     '... logged as a timeout');

# a client that leaves while its check waits: nothing breaks
my $leaver = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                   PeerPort => $r2->{port}) or die $!;
print $leaver "POST /whip HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $tok\r\n"
            . "Content-Type: application/sdp\r\nContent-Length: "
            . length($sdp) . "\r\n\r\n$sdp";
close $leaver;
ok(poll_until(5, sub { checks($r2)->{failed} == 4 }),
   'a client gone while its check waited: the check ends all the same');
is(rec_http($r2, 'GET', '/health')->{status}, 200, 'the recorder is fine');

kill 'KILL', $stub_pid;
waitpid($stub_pid, 0);
ok(rec_stop($r2), 'the second recorder stops cleanly');
ok(rec_stop($r), 'the recorder stops cleanly');

done_testing;
