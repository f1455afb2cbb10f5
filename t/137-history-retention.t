#!/usr/bin/perl
# hotline_transcript_retention: after it, a call's transcript is no
# longer returned by the history (its other members are), and it is gone
# from the store: rewritten out of the node's journal when a page is read
# over it, and by the sweep of the journal when nobody reads it (on both
# stores: on Redis the journal is the node's copy); expired in Redis.  A
# call younger than the retention keeps it.  Bounds of the directive.
# Both stores (HOTLINE_STORE=redis).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use Hotline::Test qw(json_decode poll_until);

my $t = Hotline::Test->new(
    http   => "hotline_transcript_retention 3s;\n",
    server => "location = /history { hotline_auth_jwt on; hotline_history; }",
)->start;

my $jwt = $t->mint_jwt(sub => 'kaan');

sub history {
    my ($q) = @_;
    my $r = $t->http_get('/history' . ($q // ''),
                         headers => [[Authorization => "Bearer $jwt"]]);
    return $r->{status} == 200 ? json_decode($r->{body})
                               : { status => $r->{status} };
}

sub record_of {
    my ($id) = @_;
    my $h = history("?call_id=$id");
    return $h->{calls} && $h->{calls}[0];
}

# a call with chat both ways, hung up
sub chatted_call {
    my ($name, $text) = @_;
    my ($c, $a) = $t->call(name => $name, sub => 'kaan');
    $c->send_json({ type => 'chat', text => $text, id => 'c1' });
    $a->wait_for('chat', 5) or die "chat not relayed";
    $a->send_json({ type => 'hangup', id => 'h' });
    $c->wait_for('ended', 5) or die "the call did not end";
    my $rec;
    poll_until(5, sub { $rec = record_of($c->{call_id}) });
    return ($c->{call_id}, $rec);
}

my ($id, $rec) = chatted_call('Derya', 'sipariş 4417 nerede');
ok($rec, 'the call is in the history');
is_deeply([ map { $_->{text} } @{ $rec->{transcript} || [] } ],
          ['sipariş 4417 nerede'],
          'within the retention its page has the transcript');

my $journal = $t->prefix . '/logs/hotline_calls.jsonl';
if ($t->store eq 'shm') {
    # (the text's words, not its digits alone: a call id is hex)
    like(Hotline::Test::read_file($journal), qr/4417 nerede/,
         'the journal holds it');
} else {
    my ($key) = $t->{redis}->cli('KEYS', "*ht:$id") =~ /(\S+)/;
    my ($ttl) = $t->{redis}->cli('TTL', $key // 'none') =~ /(-?\d+)/;
    ok($ttl > 0 && $ttl <= 3, "Redis keeps it for the retention ($ttl s)");
}

# past the retention: gone from the answer, the call's facts stay
my $gone;
poll_until(10, sub {
    my $r = record_of($id);
    $gone = $r if $r && !exists $r->{transcript};
    $gone;
});
ok($gone, 'past the retention the page has no transcript');
ok(time() * 1000 >= ($rec->{ended} // 0) + 3000 - 50,
   'and not before the retention (3 s after the end)');
is($gone && $gone->{customer}, 'Derya', 'the customer\'s name stays');
is($gone && $gone->{duration}, $rec->{duration}, 'and the call\'s facts');
is($gone && $gone->{outcome}, 'hangup', 'its outcome');

if ($t->store eq 'shm') {
    my $text = Hotline::Test::read_file($journal);
    unlike($text, qr/4417 nerede/, 'the journal no longer holds it');
    like($text, qr/"customer":"Derya"/, 'but still the record');
    my @lines = grep { /\S/ } split /\n/, $text;
    ok(!(grep { !eval { json_decode($_); 1 } } @lines),
       'every line of the journal is still JSON');
} else {
    unlike($t->{redis}->cli('KEYS', "*ht:$id"), qr/ht:/,
           'Redis no longer holds it');
}

# a younger call keeps its transcript; the list still pages over both
my ($id2, $rec2) = chatted_call('Mert', 'fatura lazım');
is_deeply([ map { $_->{text} } @{ $rec2->{transcript} || [] } ],
          ['fatura lazım'], 'a call within the retention keeps it');
my $list = history('?limit=10');
is_deeply([ map { $_->{call_id} } @{ $list->{calls} || [] } ], [$id2, $id],
          'the list has both calls, newest first');
like(Hotline::Test::read_file($journal), qr/fatura/,
     'the journal holds the younger transcript');

# nobody reads it again: the sweep takes it out of the journal
ok(poll_until(10, sub { Hotline::Test::read_file($journal) !~ /fatura/ }),
   'past its retention the sweep rewrites it out of the journal');
ok(time() * 1000 >= $rec2->{ended} + 3000 - 50, 'not before');
like(Hotline::Test::read_file($journal), qr/"customer":"Mert"/,
     'the record stays');

$t->stop;

# bounds, on an instance of their own (nginx -t writes its error log)
my $u = Hotline::Test->new;
for my $v (qw(500ms 0s 401d abc)) {
    my ($ok, $out) = $u->nginx_t(<<"EOF2");
load_module %%MODULE%%;
events {}
http {
    hotline_zone 1m;
    hotline_transcript_retention $v;
}
EOF2
    ok(!$ok, "hotline_transcript_retention $v: nginx -t fails");
    like($out, qr/expected off or a time from 1s to 34560000s/,
         "... with the bounds ($v)");
}
my ($ok, $out) = $u->nginx_t(<<'EOF2');
load_module %%MODULE%%;
events {}
http {
    hotline_zone 1m;
    hotline_transcript_retention off;
}
EOF2
ok($ok, 'hotline_transcript_retention off: nginx -t passes') or diag $out;

done_testing;
