#!/usr/bin/perl
# Call events for other systems (hotline_webhook, docs/webhooks.md): a real
# call (join, accept, hangup) gives call.queued, call.accepted and
# call.ended, each once, POSTed as JSON and signed with HMAC-SHA256 over
# "<t>.<body>"; the signature is checked by a receiver written here in
# Python (hmac, hashlib) and again with Perl's Digest::SHA, never with
# our C code.  events= filters; a transfer, a message and a rating give
# their events; a 503 is retried and then delivered, a 400 is final, a
# receiver that takes no connection times out (and nginx logs no alert);
# the results are counted in /metrics; bad arguments fail nginx -t with a
# clear message that never shows the secret.  On both stores.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use Encode qw(encode_utf8);
use IO::Socket::INET;
use POSIX ();
use Hotline::Test qw(json_decode json_encode poll_until);

my $conf_t = Hotline::Test->new;
my $dir = $conf_t->prefix . '/conf';
my $SECRET_A = 'whsec_' . Hotline::Test::random_string(32);
my $SECRET_B = 'whsec_' . Hotline::Test::random_string(32);
Hotline::Test::write_file("$dir/a.secret", "$SECRET_A\n");
Hotline::Test::write_file("$dir/b.secret", "$SECRET_B\n");
Hotline::Test::write_file("$dir/short.secret", "tooshort15bytes\n");

# --- nginx -t: bad arguments are refused, clearly, without the secret

my @outputs;

sub conf_with {
    my ($http) = @_;
    my $c = $Hotline::Test::DEFAULT_CONF;
    $c =~ s/%%HTTP%%/$http/;
    $c =~ s/%%SERVER%%//;
    return $c;
}

sub conf_fails {
    my ($http, $name, $re) = @_;
    my ($ok, $out) = $conf_t->nginx_t(conf_with($http));
    push @outputs, $out;
    ok(!$ok, "nginx -t fails: $name") or diag($out);
    like($out, $re, "$name: the message says why") if !$ok;
}

my $sf = "secret_file=$dir/a.secret";
my ($ok, $out) = $conf_t->nginx_t(conf_with(
    "hotline_webhook https://hooks.example.com/hotline?k=1 $sf;\n"
    . "hotline_webhook http://127.0.0.1:9/b secret_file=$dir/b.secret"
    . " events=call.ended,rating.given;"));
ok($ok, 'nginx -t passes: two webhooks, one with events=') or diag($out);

conf_fails("hotline_webhook ftp://example.com/x $sf;", 'an ftp URL',
           qr/"hotline_webhook" needs an http:\/\/ or https:\/\/ URL/);
conf_fails("hotline_webhook http:///x $sf;", 'a URL without a host',
           qr/"hotline_webhook": bad URL/);
conf_fails('hotline_webhook http://127.0.0.1/x;', 'no secret_file',
           qr/"hotline_webhook" requires "secret_file=PATH"/);
conf_fails("hotline_webhook http://127.0.0.1/x secret_file=$dir/none;",
           'a missing secret file',
           qr/webhook secret file ".*none" failed/);
conf_fails("hotline_webhook http://127.0.0.1/x secret_file=$dir/short.secret;",
           'a secret under 16 bytes',
           qr/webhook secret file ".*short\.secret" holds 15 bytes, 16 to 1024/);
conf_fails("hotline_webhook http://127.0.0.1/x $sf events=call.ended,call.foo;",
           'an unknown event',
           qr/unknown webhook event "call\.foo" \(call\.queued, call\.accepted/);
conf_fails("hotline_webhook http://127.0.0.1/x $sf events=;",
           'an empty event list', qr/unknown webhook event ""/);
conf_fails("hotline_webhook http://127.0.0.1/x $sf retries=3;",
           'an unknown parameter',
           qr/invalid parameter "retries=3" \(secret_file= or events=\)/);
conf_fails("hotline_webhook http://127.0.0.1/x $sf $sf;",
           'secret_file twice', qr/duplicate parameter "secret_file=/);
conf_fails(join('', map { "hotline_webhook http://127.0.0.1/$_ $sf;\n" }
                    1 .. 9),
           'nine webhooks', qr/at most 8 "hotline_webhook" directives/);
conf_fails("server { hotline_webhook http://127.0.0.1/x $sf; }",
           'in a server block', qr/"hotline_webhook" directive is not allowed/);
ok(!grep({ /\Q$SECRET_A\E|tooshort15bytes/ } @outputs),
   'no nginx -t output shows a secret');

# --- a receiver of our own: python3, verifies each signature itself

my $port = Hotline::Test::free_port();
my $rdir = $conf_t->prefix . '/receiver';
mkdir $rdir;
my $log = "$rdir/requests.jsonl";
my $plan = "$rdir/plan.json";
Hotline::Test::write_file("$rdir/secrets.json",
                          json_encode({ '/a' => $SECRET_A,
                                        '/b' => $SECRET_B }));
Hotline::Test::write_file($plan, '{}');
Hotline::Test::write_file("$rdir/receiver.py", <<'PY');
import hashlib, hmac, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, rdir = int(sys.argv[1]), sys.argv[2]
secrets = json.load(open(os.path.join(rdir, 'secrets.json')))
TOLERANCE = 300      # seconds: the replay window
lock = threading.Lock()

def verify(secret, header, body):
    # Hotline-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    parts = dict(p.split('=', 1) for p in header.split(',') if '=' in p)
    t, v1 = parts.get('t', ''), parts.get('v1', '')
    if not t.isdigit() or abs(time.time() - int(t)) > TOLERANCE:
        return False
    want = hmac.new(secret.encode(), t.encode() + b'.' + body,
                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, v1)

class Hook(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with lock:
            self.record(body)

    def record(self, body):
        planf = os.path.join(rdir, 'plan.json')
        plan = json.load(open(planf))
        todo = plan.get(self.path, [])
        status = todo.pop(0) if todo else 200
        with open(planf + '.tmp', 'w') as f:
            json.dump(plan, f)
        os.rename(planf + '.tmp', planf)
        rec = {'t': time.time(), 'path': self.path, 'answer': status,
               'headers': {k.lower(): v for k, v in self.headers.items()},
               'body': body.decode('utf-8'),
               'verified': verify(secrets.get(self.path, ''),
                                  self.headers.get('Hotline-Signature', ''),
                                  body)}
        with open(os.path.join(rdir, 'requests.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'{}')

    def log_message(self, *args):
        pass

ThreadingHTTPServer(('127.0.0.1', port), Hook).serve_forever()
PY

my $rpid = fork // die "fork: $!";
if (!$rpid) {
    { exec 'python3', "$rdir/receiver.py", $port, $rdir }
    POSIX::_exit(127);
}
END { local $?; if ($rpid) { kill "TERM", $rpid; waitpid($rpid, 0) } }
ok(poll_until(10, sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                              Proto => 'tcp') }),
   'the receiver listens');

# the test's plan for the receiver: statuses to answer, per path, in turn
sub answer_next {
    my ($path, @status) = @_;
    my $p = json_decode(Hotline::Test::read_file($plan));
    push @{ $p->{$path} }, @status;
    Hotline::Test::write_file("$plan.new", json_encode($p));
    rename "$plan.new", $plan or die "rename: $!";
}

sub requests {
    my ($path) = @_;
    my @r;
    open my $fh, '<', $log or return ();
    while (my $line = <$fh>) {
        next unless $line =~ /\n\z/;
        my $r = eval { json_decode($line) } or next;
        next if $path && $r->{path} ne $path;
        $r->{raw} = encode_utf8($r->{body});    # the bytes signed
        $r->{event} = eval { json_decode($r->{raw}) } || {};
        push @r, $r;
    }
    return @r;
}

sub events_of {
    my ($path, $type, $call_id) = @_;
    return grep { ($_->{event}{type} // '') eq $type
                  && (!$call_id
                      || ($_->{event}{data}{call_id} // '') eq $call_id) }
           requests($path);
}

# one delivery (its first 2xx) per event of type for the call
sub wait_event {
    my ($path, $type, $call_id) = @_;
    my @r;
    poll_until(10, sub {
        @r = grep { $_->{answer} == 200 } events_of($path, $type, $call_id);
    });
    return $r[0];
}

# a receiver that never takes a connection: its backlog (1) is full, so
# a connection to it times out while connecting
my $hole_port = Hotline::Test::free_port();
my $hole = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$hole_port",
                                 Listen => 1, ReuseAddr => 1)
    or die "listen: $!";
my @fill = map { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$hole_port",
                                       Blocking => 0) } 1 .. 3;

# --- nginx with three webhooks: /a wants everything, /b only call.ended,
# the third (the hole) only message.left

my $t = Hotline::Test->new(
    http => "hotline_webhook http://127.0.0.1:$port/a"
            . " secret_file=%%PREFIX%%/conf/a.secret;\n"
            . "hotline_webhook http://127.0.0.1:$port/b"
            . " secret_file=%%PREFIX%%/conf/b.secret events=call.ended;\n"
            . "hotline_webhook http://127.0.0.1:$hole_port/c"
            . " secret_file=%%PREFIX%%/conf/b.secret events=message.left;\n"
            . "hotline_notify_backoff 100ms 400ms;\n"
            . "hotline_notify_retries 3;\n"
            . "hotline_notify_timeout 1s;\n"
            . "hotline_rating_time 10s;\n"
            . "hotline_transfer_timeout 5s;\n",
);
Hotline::Test::write_file($t->prefix . "/conf/$_.secret",
                          Hotline::Test::read_file("$dir/$_.secret"))
    for qw(a b);
$t->start;

sub deliveries {
    my ($m, $result) = @_;
    return $m->{"hotline_webhook_deliveries_total{result=\"$result\"}"} // 0;
}

my $m0 = $t->metrics;
ok(exists $m0->{'hotline_webhook_deliveries_total{result="dropped"}'},
   '/metrics has hotline_webhook_deliveries_total');

# a real call: join, accept, the agent hangs up
my ($c, $a) = $t->call(name => 'Ayşe', sub => 'agent1');
my $call = $c->{call_id};
$a->send_json({ type => 'hangup' });
ok($c->wait_for('ended', 5), 'the call ends');

my $q = wait_event('/a', 'call.queued', $call);
my $acc = wait_event('/a', 'call.accepted', $call);
my $end = wait_event('/a', 'call.ended', $call);
ok($q && $acc && $end, 'call.queued, call.accepted, call.ended arrive');

for my $r (grep { $_ } $q, $acc, $end) {
    my $type = $r->{event}{type};
    ok($r->{verified}, "$type: the receiver (python hmac) verifies it");
    my ($ts, $v1) = ($r->{headers}{'hotline-signature'} // '')
                    =~ /\At=(\d+),v1=([0-9a-f]{64})\z/;
    is($v1, hmac_sha256_hex("$ts.$r->{raw}", $SECRET_A),
       "$type: and so does Digest::SHA");
    is($r->{headers}{'hotline-event-id'}, $r->{event}{id},
       "$type: Hotline-Event-Id is the event's id");
    like($r->{event}{id} // '', qr/\A[0-9a-f]{32}\z/, "$type: a 128-bit id");
    like($r->{headers}{'content-type'} // '', qr{\Aapplication/json},
         "$type: JSON");
    cmp_ok(abs(($r->{event}{created} // 0) - time), '<', 30,
           "$type: created is a Unix time");
}

is($q && $q->{event}{data}{customer}, 'Ayşe', 'queued: the customer');
is($acc && $acc->{event}{data}{agent}, 'agent1', 'accepted: the agent');
my $d = $end ? $end->{event}{data} : {};
is($d->{reason}, 'hangup', 'ended: reason hangup');
is($d->{by}, 'agent', 'ended: by the agent');
is($d->{agent}, 'agent1', 'ended: the agent');
ok(defined $d->{duration} && defined $d->{waited} && defined $d->{hold},
   'ended: duration, waited and hold')
    or diag(json_encode($d));
ok($d->{accepted} && $d->{joined} && $d->{ended} >= $d->{accepted},
   'ended: joined <= accepted <= ended (ms)');
ok(!exists $d->{transcript}, 'ended: no transcript');

my $b = wait_event('/b', 'call.ended', $call);
ok($b && $b->{verified}, '/b gets call.ended, signed with its own secret');
is($b && $b->{event}{id}, $end && $end->{event}{id},
   'the same event (id) as /a got');
my ($bt, $bv) = ($b ? $b->{headers}{'hotline-signature'} : '')
               =~ /\At=(\d+),v1=([0-9a-f]{64})\z/;
is($bv, $b && hmac_sha256_hex("$bt.$b->{raw}", $SECRET_B),
   '... with /b\'s secret (Digest::SHA)');
isnt($bv, $b && hmac_sha256_hex("$bt.$b->{raw}", $SECRET_A),
     '... not /a\'s');

# a rating after the call
my $x = $t->ws_connect('/ws/customer');
$x->send_json({ type => 'rate', token => $c->{token}, rating => 5,
                comment => 'quick', id => 'rt' });
ok($x->wait_for('ack', 5, sub { $_[0]{id} eq 'rt' }), 'a rating is acked');
my $rt = wait_event('/a', 'rating.given', $call);
is($rt && $rt->{event}{data}{rating}, 5, 'rating.given: the rating');
is($rt && $rt->{event}{data}{comment}, 'quick', 'rating.given: the comment');

# a transfer: the customer back in the queue for bob
my $bob = $t->agent(sub => 'bob');
my ($c2, $alice) = $t->call(name => 'Mert', sub => 'alice');
my $r = $alice->request({ type => 'transfer', to => 'bob',
                          reason => 'billing' });
is($r->{type}, 'ack', 'a transfer is acked');
my $tr = wait_event('/a', 'call.transferred', $c2->{call_id});
is_deeply($tr && [ @{ $tr->{event}{data} }{qw(from to reason transfers)} ],
          [ 'alice', 'bob', 'billing', 1 ],
          'call.transferred: from, to, reason, transfers');
$c2->send_json({ type => 'hangup' });
my $e2 = wait_event('/a', 'call.ended', $c2->{call_id});
like($e2 && $e2->{event}{data}{reason} // '', qr/\A(?:hangup|cancelled)\z/,
     'the transferred call ends');
ok(wait_event('/b', 'call.ended', $c2->{call_id}), '/b gets that end too');

# a message instead of a call: message.left, no call.ended
my $w = $t->ws_connect('/ws/customer');
$w->send_json({ type => 'message', kind => 'callback', name => 'Deniz',
                contact => '+90 555 000 11 22', text => 'call me',
                id => 'm1' });
ok($w->wait_for('ack', 5, sub { $_[0]{id} eq 'm1' }), 'a message is acked');
my $ml;
poll_until(10, sub { ($ml) = events_of('/a', 'message.left'); $ml });
is_deeply($ml && $ml->{event}{data}{message},
          { kind => 'callback', contact => '+90 555 000 11 22',
            text => 'call me' }, 'message.left: what was left');
is($ml && $ml->{event}{data}{customer}, 'Deniz', 'message.left: the name');

# the hole: each attempt times out while connecting; given up after 4
my $gone;
ok(poll_until(15, sub {
       ($gone) = $t->error_log =~ /(webhook event \w+ \(message\.left, hotline_webhook 3\) failed after 4 attempts: .*)/;
       $gone }), 'a receiver that takes no connection: given up after 4 '
   . 'attempts') or diag($t->error_log_tail);
like($gone // '', qr/Timeout was reached/, '... each timed out');

# each event once: with 2 workers, every event has exactly one delivery
my %seen;
$seen{ $_->{event}{id} }++ for grep { $_->{answer} == 200 } requests('/a');
is(scalar(grep { $_ != 1 } values %seen), 0,
   'every event was delivered once to /a');
my %types;
$types{ $_->{event}{type} }++ for grep { $_->{answer} == 200 } requests('/a');
is_deeply(\%types, { 'call.queued' => 2, 'call.accepted' => 2,
                     'call.transferred' => 1, 'call.ended' => 2,
                     'rating.given' => 1, 'message.left' => 1 },
          'the events of /a: each call\'s, no more')
    or diag(json_encode(\%types));
is(scalar(grep { $_->{event}{type} ne 'call.ended' } requests('/b')), 0,
   'events=call.ended: /b got nothing else');
ok(!grep({ !$_->{verified} } requests()), 'every request verified');

my $m1;
ok(poll_until(5, sub { $m1 = $t->metrics;
                       deliveries($m1, 'ok') - deliveries($m0, 'ok') == 11 }),
   'ok +11 (9 events to /a, 2 to /b)')
    or diag(deliveries($m1, 'ok') - deliveries($m0, 'ok'));
is(deliveries($m1, 'failed') - deliveries($m0, 'failed'), 1,
   'failed +1 (the hole)');
is(deliveries($m1, 'retried') - deliveries($m0, 'retried'), 3,
   'retried +3 (the hole)');

# --- a 503 is retried (signed again), then delivered
answer_next('/b', 503);
my ($c3, $a3) = $t->call(name => 'Retry', sub => 'agent3');
$a3->send_json({ type => 'hangup' });
my $e3 = wait_event('/b', 'call.ended', $c3->{call_id});
my @tries = events_of('/b', 'call.ended', $c3->{call_id});
is_deeply([ map { $_->{answer} } @tries ], [ 503, 200 ],
          'a 503, then the same event again: 200');
is(scalar(grep { $_->{event}{id} eq $tries[0]{event}{id} } @tries), 2,
   'the retry has the same event id');
ok(!grep({ !$_->{verified} } @tries), 'both attempts verify');
cmp_ok(@tries == 2 ? $tries[1]{t} - $tries[0]{t} : 0, '>=', 0.09,
       'the retry waits out the backoff (100ms)');
my $m2;
ok(poll_until(5, sub { $m2 = $t->metrics;
                       deliveries($m2, 'retried') - deliveries($m1, 'retried')
                       == 1 }), 'retried +1');

# --- a 400 is final: one attempt, counted as failed, logged
answer_next('/b', 400);
my ($c4, $a4) = $t->call(name => 'Final', sub => 'agent4');
$a4->send_json({ type => 'hangup' });
my $m3;
ok(poll_until(10, sub { $m3 = $t->metrics;
                        deliveries($m3, 'failed') - deliveries($m2, 'failed')
                        == 1 }), 'a 400: failed +1');
# a retry would come within 400ms (hotline_notify_backoff 100ms 400ms)
ok(!poll_until(1.5, sub { events_of('/b', 'call.ended', $c4->{call_id}) > 1 }),
   'and no second attempt');
my ($f) = events_of('/b', 'call.ended', $c4->{call_id});
is($f && $f->{answer}, 400, 'the one attempt got the 400');
like($t->error_log, qr/webhook event \Q$f->{event}{id}\E \(call\.ended, hotline_webhook 2\) failed after 1 attempt: HTTP 400/,
     'the failure is logged with the event id and the webhook')
    if $f;
unlike($t->error_log, qr/\Q$SECRET_A\E|\Q$SECRET_B\E|127\.0\.0\.1:$port/,
       'the error log shows neither a secret nor a webhook URL');

$t->stop;

# --- a full queue drops an event: counted and logged, the worker goes on
my $t1 = Hotline::Test->new(
    workers => 1,
    http => "hotline_webhook http://127.0.0.1:$hole_port/c"
            . " secret_file=%%PREFIX%%/conf/a.secret events=call.queued;\n"
            . "hotline_notify_queue 1;\n"
            . "hotline_notify_retries 0;\n"
            . "hotline_notify_timeout 1s;\n",
);
Hotline::Test::write_file($t1->prefix . '/conf/a.secret', "$SECRET_A\n");
$t1->start;
my $k0 = $t1->metrics;
my $q1 = $t1->customer('One');    # its event waits for the hole
my $q2 = $t1->customer('Two');    # its event finds the queue full
my $k1;
ok(poll_until(10, sub { $k1 = $t1->metrics;
                        deliveries($k1, 'failed') - deliveries($k0, 'failed')
                        == 1 }), 'the first event fails (the hole)');
is(deliveries($k1, 'dropped') - deliveries($k0, 'dropped'), 1,
   'the second is dropped: the queue (1) was full');
like($t1->error_log, qr/webhook event [0-9a-f]{32} \(call\.queued, hotline_webhook 1\) dropped: the notification queue is full \(hotline_notify_queue 1\)/,
     'and logged');
ok($q2->{call_id}, 'the customer whose event was dropped waits all the same');
$t1->stop;

done_testing;
