#!/usr/bin/perl
# DELETE /history?call_id=<id>: a call's personal data erased on request
# (the customer's name, the transcript, the note's text, the rating's
# comment, a message's contact and text), its facts kept (times,
# durations, outcome, disposition, rating, the daily counts); only for
# the agents hotline_history_erase names (401 without a session, 403 for
# another agent), 400 for a malformed id, 404 for an unknown call, 200
# again when erased twice or by several requests at once; an audit line
# without personal data; gone from the store itself and still erased
# after a restart.  Both stores
# (HOTLINE_STORE=redis).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(encode_utf8);
use Hotline::Test qw(json_decode poll_until);

my $t = Hotline::Test->new(
    server => "location = /history { hotline_auth_jwt on; hotline_history;\n"
              . "    hotline_history_erase dpo emre; }\n"
              . "location = /open-history { hotline_history;\n"
              . "    hotline_history_erase any; }\n"
              . "location = /no-erase { hotline_auth_jwt on; "
              . "hotline_history; }\n",
)->start;

my %jwt = map { $_ => $t->mint_jwt(sub => $_) } qw(dpo emre zeynep);

sub req {
    my ($method, $path, $who) = @_;
    my $auth = $who ? "Authorization: Bearer $jwt{$who}\r\n" : '';
    my $r = $t->http_raw("$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         . "Connection: close\r\n$auth\r\n");
    close $r->{sock};
    my $j = eval { json_decode($r->{body}) } // {};
    return ($r->{status}, $j, $r);
}

sub record_of {
    my ($id, $want) = @_;
    my $rec;
    poll_until(5, sub {
        my (undef, $h) = req(GET => "/history?call_id=$id", 'dpo');
        $rec = $h->{calls} && $h->{calls}[0];
        $rec && (!$want || $want->($rec));
    });
    return $rec;
}

# --- a call with everything personal: chat, a note, a rated comment
my ($c, $a) = $t->call(name => 'Selin Kaya', sub => 'emre');
$c->send_json({ type => 'chat', text => 'adresim Moda 12', id => 'c1' });
ok($a->wait_for('chat', 5), 'chat relayed');
my $r = $a->request({ type => 'note', text => 'müşteri Moda 12 de',
                      disposition => 'follow-up' });
is($r->{type}, 'ack', 'a note');
$a->send_json({ type => 'hangup', id => 'h' });
ok($c->wait_for('ended', 5), 'the call ends');
my $x = $t->ws_connect('/ws/customer');
$x->send_json({ type => 'rate', token => $c->{token}, rating => 5,
                comment => 'Selin çok memnun', id => 'rt' });
ok($x->wait_for('ack', 5, sub { $_[0]{id} eq 'rt' }), 'a rating');
my $id = $c->{call_id};
my $before = record_of($id, sub { $_[0]{rating} && $_[0]{transcript} });
is($before && $before->{comment}, 'Selin çok memnun', 'all in the history');

# --- a callback request
my $m = $t->ws_connect('/ws/customer');
$m->send_json({ type => 'message', kind => 'callback', name => 'Deniz Ak',
                contact => '+90 555 000 11 22', text => 'Akşam arayın',
                id => 'm1' });
ok($m->wait_for('ack', 5, sub { $_[0]{id} eq 'm1' }), 'a callback request');
my $msg;
poll_until(5, sub {
    my (undef, $h) = req(GET => '/history?outcome=message', 'dpo');
    $msg = $h->{calls} && $h->{calls}[0];
});
ok($msg, 'in the history');

my (undef, $days_before) = req(GET => '/history?days=1', 'dpo');

# --- who may erase, and what
my ($st, $j) = req(DELETE => "/history?call_id=$id");
is($st, 401, 'no session: 401');
is($j->{error}, 'unauthorized', '... with a JSON body');
($st, $j) = req(DELETE => "/open-history?call_id=$id");
is($st, 401, 'a location without hotline_auth_jwt erases nothing: 401');
is($j->{error}, 'unauthorized', '... JSON');
($st, $j) = req(DELETE => "/history?call_id=$id", 'zeynep');
is($st, 403, 'an agent hotline_history_erase does not name: 403');
is($j->{error}, 'forbidden', '... JSON');
($st, $j) = req(DELETE => "/no-erase?call_id=$id", 'dpo');
is($st, 403, 'a location without hotline_history_erase: 403');

# the history's answers say whether the agent may erase (the console's
# button)
for my $case (['/history', 'dpo', 1], ['/history', 'emre', 1],
              ['/history', 'zeynep', 0], ['/no-erase', 'dpo', 0],
              ['/open-history', undef, 0]) {
    my ($loc, $who, $may) = @$case;
    for my $q ("?call_id=$id", '?limit=5') {
        ($st, $j) = req(GET => "$loc$q", $who);
        is($st, 200, "GET $loc$q as " . ($who // 'nobody') . ': 200');
        ok(JSON::PP::is_bool($j->{erase}) && !!$j->{erase} == !!$may,
           '... "erase":' . ($may ? 'true' : 'false'));
    }
}
($st, $j) = req(GET => '/history?days=1', 'dpo');
ok(!exists $j->{erase}, 'not in the daily counts');

for my $bad ('', '?call_id=xyz', '?call_id=' . ('0' x 31),
             '?call_id=' . ('g' x 32)) {
    ($st, $j) = req(DELETE => "/history$bad", 'dpo');
    is($st, 400, "a malformed id ('$bad'): 400");
    is($j->{error}, 'bad_query', '... JSON');
}
($st, $j) = req(DELETE => '/history?call_id=' . ('ab' x 16), 'dpo');
is($st, 404, 'an unknown call: 404');
is($j->{error}, 'not_found', '... JSON');
is(record_of($id)->{customer}, 'Selin Kaya', 'refusals erased nothing');

($st, $j) = req(DELETE => "/history?call_id=$id", 'dpo');
is($st, 200, 'dpo erases the call: 200');
is($j->{call_id}, $id, '... naming it');
ok($j->{erased} && $j->{erased} > $before->{ended}, '... and when');

sub erased_ok {
    my ($rec, $when) = @_;
    ok($rec, "$when: the record is still there");
    is($rec->{customer}, '', "$when: no name");
    ok(!exists $rec->{transcript}, "$when: no transcript");
    ok(!exists $rec->{comment}, "$when: no comment");
    ok($rec->{note} && !exists $rec->{note}{text}, "$when: no note text");
    is($rec->{note} && $rec->{note}{disposition}, 'follow-up',
       "$when: the disposition stays");
    is($rec->{rating}, 5, "$when: the rating stays");
    is_deeply([ @$rec{qw(joined accepted ended duration outcome agent)} ],
              [ @$before{qw(joined accepted ended duration outcome agent)} ],
              "$when: the call's facts stay");
    ok($rec->{erased}, "$when: it says it was erased");
}
erased_ok(record_of($id), 'after erasing');

my (undef, $list) = req(GET => '/history', 'dpo');
ok(!(grep { ($_->{customer} // '') eq 'Selin Kaya' } @{ $list->{calls} }),
   'the list has no name of it either');
my (undef, $days_after) = req(GET => '/history?days=1', 'dpo');
is_deeply($days_after, $days_before, 'the daily counts are unchanged');

($st, $j) = req(DELETE => "/history?call_id=$id", 'emre');
is($st, 200, 'erasing again (another named agent): 200');
erased_ok(record_of($id), 'erased twice');

# the callback request, erased by six requests at once (both workers)
my @socks = map { $t->connect_tcp } 1 .. 6;
Hotline::Test::write_all($_, "DELETE /history?call_id=$msg->{call_id} "
                             . "HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             . "Authorization: Bearer $jwt{dpo}\r\n"
                             . "Connection: close\r\n\r\n") for @socks;
my @st = map { Hotline::Test::read_http_response($_, 5)->{status} } @socks;
close $_ for @socks;
is_deeply(\@st, [ (200) x 6 ], 'six erasures of a call at once: 200 each');
my $mrec = record_of($msg->{call_id});
is($mrec->{customer}, '', 'its name is gone');
is_deeply($mrec->{message}, { kind => 'callback' },
          'its contact and text are gone, its kind stays');

# the audit trail names who and which call, nothing of the call
my @audit = grep { /hotline audit: history_erase/ } split /\n/, $t->error_log;
is(scalar @audit, 8, 'an audit line each');
like($audit[0] // '', qr/history_erase user=dpo ip=127\.0\.0\.1 .*call_id=$id/,
     'who erased which call');
# the contact as written: a random call id or token id may hold "555"
ok(!(grep { /Selin|Moda|Deniz|555 000|\+90/ } @audit),
   'no personal data in them');

# the store itself
my @secrets = ('Selin', 'Moda 12', 'memnun', 'Deniz', '555 000', 'Akşam');
my $text = Hotline::Test::read_file($t->prefix . '/logs/hotline_calls.jsonl');
ok(!(grep { index($text, encode_utf8($_)) >= 0 } @secrets),
   'the journal (on Redis: the node\'s copy) no longer holds any of it');
ok(!(grep { /\S/ && !eval { json_decode($_); 1 } } split /\n/, $text),
   'every line of the journal is still JSON');
if ($t->store eq 'redis') {
    my $redis = $t->{redis};
    unlike($redis->cli('KEYS', "*ht:$id"), qr/ht:/,
           'Redis no longer holds the transcript');
    my ($k) = $redis->cli('KEYS', "*ha:$id") =~ /(\S+)/;
    my $am = $redis->cli('LRANGE', $k // 'none', 0, -1);
    ok($am !~ /memnun|Moda/, 'nor the comment and the note\'s text');
}

# --- a restart keeps it erased
$t->stop;
$t->start;
erased_ok(record_of($id), 'after a restart');

$t->stop;
done_testing;
