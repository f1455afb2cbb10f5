#!/usr/bin/perl

# Signed completion events: the customer and the agent of a call publish
# (GStreamer), the call is complete --complete-after seconds after the
# last one ended, and a recording.completed event is POSTed to a webhook
# receiver that verifies the Hotline-Signature with Python's hmac module
# (lib/event_sink.py); its first answer is a 500, so the event is sent
# again.  A call that completed while the receiver was away gets its
# event when the recorder starts again.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use POSIX ();
use Rec;

Rec::rec_in_netns();

my $r0 = rec_start();      # for its directory and secret only
rec_stop($r0);
my $tmp = $r0->{tmp};
my $secret = "$tmp/event.key";
open my $fh, '>', $secret or die;
print $fh 'event-secret-' . join('', map { ('a' .. 'z')[rand 26] } 1 .. 32),
          "\n";
close $fh;
chmod 0600, $secret;

my $sink_port = free_port();
my $events = "$tmp/events.jsonl";
my $sink;

sub start_sink {
    my ($fail) = @_;
    $sink = fork // die;
    if (!$sink) {
        { exec '/usr/bin/python3', "$FindBin::Bin/lib/event_sink.py",
               $sink_port, $secret, $events, $fail // 0; }
        POSIX::_exit(127);
    }
    wait_for(sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $sink_port) }, 10)
        or die 'event sink did not start';
}

sub stop_sink {
    kill 'TERM', $sink;
    waitpid($sink, 0);
    undef $sink;
}

END {
    if ($sink) {
        local $?;
        kill 'TERM', $sink;
        waitpid($sink, 0);
    }
}

sub events {
    open my $f, '<', $events or return ();
    return map { JSON::PP->new->decode($_) } <$f>;
}

my @args = ('--event-url', "http://127.0.0.1:$sink_port/hooks/recorder",
            '--event-secret-file', $secret, '--complete-after', 2);

start_sink(1);
my $r = rec_start(again => $r0, args => \@args);

# both participants at once

my $call = 'ev-call';
open(my $hold, '-|', '/usr/bin/python3', "$FindBin::Bin/lib/gst_publish.py",
     "$r->{url}/whip", rec_token(call => $call, role => 'agent'), 30, 'hold')
    or die $!;
my $agent = eval { JSON::PP->new->decode(scalar <$hold>) } || {};
is($agent->{state}, 'connected', 'agent publishing');
my $cust = publish('gst_publish.py', "$r->{url}/whip",
                   rec_token(call => $call, role => 'customer'), 3);
is($cust->{delete_status}, 200, 'customer recorded');
# longer than --complete-after: the open agent keeps the call incomplete
select(undef, undef, undef, 3);
my @none = events();
is(scalar @none, 0, 'no event while the agent still records');
ok(!(read_json("$r->{dir}/$call/manifest.json") || {})->{completed_at},
   '... and the call is not complete');
is(rec_http($r, 'DELETE', $agent->{location} =~ s{^https?://[^/]+}{}r,
            token => rec_token(call => $call, role => 'agent'))->{status},
   200, 'agent recorded');
close $hold;

ok(wait_for(sub { grep { $_->{status} == 204 } events() }, 20),
   'the event is delivered');
my @ev = events();
is(scalar @ev, 2, 'two attempts: a 500, then accepted');
is($ev[0]{status}, 500, 'the first attempt got a 500');
is($ev[0]{event_id}, $ev[1]{event_id}, 'the same event again (same id)');
like($ev[1]{event_id} // '', qr/^evt_[0-9a-f]{32}$/, 'Hotline-Event-Id');
ok($ev[0]{valid} && $ev[1]{valid}, 'both signatures verify with Python hmac');
ok(!$ev[1]{tampered_valid}, 'a body changed by one byte does not verify');
like($ev[1]{signature} // '', qr/^t=\d+,v1=[0-9a-f]{64}$/,
     'Hotline-Signature: t=...,v1=<hex HMAC-SHA256>');
is($ev[1]{content_type}, 'application/json', 'JSON body');

my $b = $ev[1]{body} || {};
is($b->{type}, 'recording.completed', 'type');
is($b->{call}, $call, 'call');
my %f = map { $_->{role} => $_ } @{ $b->{files} || [] };
is($f{customer}{path}, "$call/customer.webm", 'customer file path');
is($f{agent}{path}, "$call/agent.webm", 'agent file path');
is($f{customer}{size}, -s "$r->{dir}/$call/customer.webm",
   'customer file size');
is($f{agent}{size}, -s "$r->{dir}/$call/agent.webm", 'agent file size');
ok($b->{completed_at}, 'completed_at');
is($b->{manifest}{call}, $call, 'the manifest comes along');

my $mf = wait_for(sub {
    my $m = read_json("$r->{dir}/$call/manifest.json");
    return $m && $m->{event} ? $m : undef;
}, 5) || {};
ok($mf->{completed_at}, 'manifest: completed_at');
ok($mf->{event}{delivered}, 'manifest: event delivered');

my $m = rec_http($r, 'GET', '/metrics')->{content};
like($m, qr/^hotline_recorder_calls_completed_total 1$/m, 'calls completed');
like($m, qr/^hotline_recorder_events_sent_total 1$/m, 'events sent');
like($m, qr/^hotline_recorder_event_failures_total 1$/m, 'failed attempt');

# calls the recorder completed but could not report: reported at start

ok(rec_stop($r), 'recorder stopped');
stop_sink();
unlink $events;

for my $c (qw(ev-done ev-new)) {
    mkdir "$r->{dir}/$c" or die;
    my %copy = %$mf;
    $copy{call} = $c;
    delete $copy{event};
    delete $copy{completed_at} if $c eq 'ev-new';
    open my $o, '>', "$r->{dir}/$c/manifest.json" or die;
    print $o JSON::PP->new->encode(\%copy);
    close $o;
}

start_sink(0);
$r = rec_start(again => $r, args => \@args);
ok(wait_for(sub { (() = events()) >= 2 }, 15),
   'two events at start: the undelivered one and the uncompleted call');
my %by = map { $_->{body}{call} => $_ } events();
ok($by{'ev-done'} && $by{'ev-done'}{valid}, 'completed call: event sent');
ok($by{'ev-new'} && $by{'ev-new'}{valid}, 'finished call: completed, sent');
ok(!$by{$call}, 'the delivered one is not sent again');
ok(rec_stop($r), 'recorder stopped');

done_testing();
