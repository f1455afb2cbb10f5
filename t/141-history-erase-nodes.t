#!/usr/bin/perl
# An erasure on the Redis store, physically: two nginx nodes on one
# redis-server; a call with a chat, a note and a rated comment, and a
# callback request, both on node B, erased through node A.  Before, Redis
# holds the name, the texts and the contact (the test can see them:
# every key's value dumped, and an uncompressed RDB); after, no key, no
# stream entry and no RDB written holds any of them, while the history on
# both nodes still has the facts (disposition, rating, hold, outcome, a
# message's kind).  The parties' live state (their records and inboxes,
# which hold what was relayed) is not the history: it goes when a party
# ends, its grace period (hotline_resume_timeout, 1 s here) after its last
# connection, or once a customer rated the call (hotline_rating_time),
# which the test waits for before erasing.  Node B's own
# journal copy is rewritten too (it learns
# the erasure from Redis), and so is one it starts with after a restart
# while the erasure happened.  When the stream is full (100,000 records)
# the oldest record goes with its name, members, transcript and
# amendments.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(encode_utf8);
use Hotline::Test qw(json_decode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my $HISTORY = "location = /history { hotline_auth_jwt on; hotline_history;\n"
              . "    hotline_history_erase dpo; }\n";

my $r  = Hotline::Redis->new->start;
my $HTTP = $r->directive . "\nhotline_resume_timeout 1s;";
my $ta = Hotline::Test->new(http => $HTTP, server => $HISTORY)->start;
my $tb = Hotline::Test->new(http => $HTTP, server => $HISTORY,
                            secret => $ta->{secret})->start;
my $jwt = $ta->mint_jwt(sub => 'dpo');

sub req {
    my ($t, $method, $path) = @_;
    my $res = $t->http_raw("$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           . "Connection: close\r\n"
                           . "Authorization: Bearer $jwt\r\n\r\n");
    close $res->{sock};
    return ($res->{status}, eval { json_decode($res->{body}) } // {});
}

sub record_of {
    my ($t, $id, $want) = @_;
    my $rec;
    poll_until(5, sub {
        my (undef, $h) = req($t, GET => "/history?call_id=$id");
        $rec = $h->{calls} && $h->{calls}[0];
        $rec && (!$want || $want->($rec));
    });
    return $rec;
}

# every value Redis holds, whatever its type, as one text
my $DUMP = <<'LUA';
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  out[#out + 1] = '@@' .. k
  if t == 'string' then out[#out + 1] = redis.call('GET', k)
  elseif t == 'hash' or t == 'list' or t == 'set' or t == 'zset' then
    local v
    if t == 'hash' then v = redis.call('HGETALL', k)
    elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
    elseif t == 'set' then v = redis.call('SMEMBERS', k)
    else v = redis.call('ZRANGE', k, 0, -1) end
    for i = 1, #v do out[#out + 1] = v[i] end
  elseif t == 'stream' then
    for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do
      for i = 1, #e[2] do out[#out + 1] = e[2][i] end
    end
  end
end
return table.concat(out, '\n')
LUA

my @secrets = ('Selin Kaya', 'Moda 12', 'memnun', 'Deniz Ak',
               '555 000', 'Akşam arayın');

sub found_in {
    my ($text) = @_;
    return [ grep { index($text, encode_utf8($_)) >= 0 } @secrets ];
}

sub redis_text { $r->cli('EVAL', $DUMP, 0) }

# the keys whose values hold any of them, for a failure's diagnostic
sub where {
    my @at;
    for my $part (split /^@@/m, redis_text()) {
        my ($k) = $part =~ /^(\S+)/;
        push @at, $k if $k && @{ found_in($part) };
    }
    return join(' ', @at);
}

# an RDB written now, uncompressed so that strings are found as they are
sub rdb_text {
    $r->cli('CONFIG', 'SET', 'rdbcompression', 'no');
    $r->cli('SAVE');
    my ($dir) = $r->cli('CONFIG', 'GET', 'dir') =~ /^dir\n(.*)$/m;
    my ($file) = $r->cli('CONFIG', 'GET', 'dbfilename')
                 =~ /^dbfilename\n(.*)$/m;
    return Hotline::Test::read_file("$dir/$file");
}

my $journal_b = $tb->prefix . '/logs/hotline_calls.jsonl';

# --- on node B: a call with everything personal, and a callback request
my ($c, $a) = $tb->call(name => 'Selin Kaya', sub => 'emre');
$c->send_json({ type => 'chat', text => 'adresim Moda 12', id => 'c1' });
ok($a->wait_for('chat', 5), 'chat relayed');
my $n = $a->request({ type => 'note', text => 'müşteri Moda 12 de',
                      disposition => 'follow-up' });
is($n->{type}, 'ack', 'a note');
$a->send_json({ type => 'hangup', id => 'h' });
ok($c->wait_for('ended', 5), 'the call ends');
my $x = $tb->ws_connect('/ws/customer');
$x->send_json({ type => 'rate', token => $c->{token}, rating => 4,
                comment => 'Selin çok memnun', id => 'rt' });
ok($x->wait_for('ack', 5, sub { $_[0]{id} eq 'rt' }), 'a rating');
$a->close_ws;
$x->close_ws;
my $id = $c->{call_id};

my $m = $tb->ws_connect('/ws/customer');
$m->send_json({ type => 'message', kind => 'callback', name => 'Deniz Ak',
                contact => '+90 555 000 11 22', text => 'Akşam arayın',
                id => 'm1' });
my $ack = $m->wait_for('ack', 5, sub { $_[0]{id} eq 'm1' });
ok($ack, 'a callback request');
$m->close_ws;
my $msg;
poll_until(5, sub {
    my (undef, $h) = req($ta, GET => '/history?outcome=message');
    $msg = $h->{calls} && $h->{calls}[0];
});
ok($msg, 'node A lists it');

my $before = record_of($ta, $id, sub { $_[0]{rating} && $_[0]{transcript} });
is($before && $before->{customer}, 'Selin Kaya', 'node A has the call');

# the parties' live state gone (their grace periods over)
sub parties_gone {
    my $ok = poll_until(10, sub { where() !~ /:[rm]:p:/ });
    ok($ok, "$_[0]: the parties' records and inboxes are gone")
        or diag(where());
}
parties_gone('first call');

# the test sees what it looks for
is_deeply(found_in(redis_text()), \@secrets,
          'before: Redis holds the name, texts and contact');
is_deeply(found_in(rdb_text()), \@secrets, 'before: so does an RDB');
my $jb;
poll_until(5, sub {
    $jb = Hotline::Test::read_file($journal_b);
    @{ found_in($jb) } == @secrets;
});
is_deeply(found_in($jb), \@secrets, "before: so does node B's journal");

# node B stopped: it learns the second erasure when it starts again
my ($st) = req($ta, DELETE => "/history?call_id=$id");
is($st, 200, 'the call erased through node A');

# --- Redis
is_deeply(found_in(redis_text()), [ 'Deniz Ak', '555 000', 'Akşam arayın' ],
          'no key or stream entry holds the call\'s personal data')
    or diag(where());

$tb->stop;
($st) = req($ta, DELETE => "/history?call_id=$msg->{call_id}");
is($st, 200, 'the callback request erased, node B down');

is_deeply(found_in(redis_text()), [], 'Redis holds none of it any more')
    or diag(where());
is_deeply(found_in(rdb_text()), [], 'nor does an RDB written now');

my $after = record_of($ta, $id, sub { $_[0]{erased} });
ok($after && $after->{erased}, 'the record says it was erased');
is($after->{customer}, '', 'no name');
ok(!exists $after->{transcript} && !exists $after->{comment}
   && !exists $after->{note}{text}, 'no transcript, comment or note text');
is($after->{note}{disposition}, 'follow-up', 'the disposition stays');
is($after->{rating}, 4, 'the rating stays');
ok(defined $after->{hold}, 'the hold time stays');
is_deeply([ @$after{qw(joined accepted ended duration outcome agent)} ],
          [ @$before{qw(joined accepted ended duration outcome agent)} ],
          'the call\'s facts stay');
my $mrec = record_of($ta, $msg->{call_id}, sub { $_[0]{erased} });
is_deeply($mrec && $mrec->{message}, { kind => 'callback' },
          'the message keeps its kind only');

# --- node B's journal, erased when it starts again
$tb->start;
poll_until(10, sub {
    $jb = Hotline::Test::read_file($journal_b);
    !@{ found_in($jb) };
});
is_deeply(found_in($jb), [], "node B's journal no longer holds any of it");
ok(!(grep { /\S/ && !eval { json_decode($_); 1 } } split /\n/, $jb),
   'every line of it is still JSON');
my $rb = record_of($tb, $id, sub { $_[0]{erased} });
is($rb && $rb->{note}{disposition}, 'follow-up', 'node B reads the same');

# --- a later erasure reaches node B while it runs
my ($c2, $a2) = $tb->call(name => 'Selin Kaya', sub => 'emre');
$c2->send_json({ type => 'chat', text => 'adresim Moda 12', id => 'c2' });
ok($a2->wait_for('chat', 5), 'a second call on node B');
$a2->send_json({ type => 'hangup', id => 'h2' });
ok($c2->wait_for('ended', 5), 'it ends');
$a2->close_ws;
$c2->close_ws;
# (rated: a customer's state is kept for a rating until hotline_rating_time)
my $y = $tb->ws_connect('/ws/customer');
$y->send_json({ type => 'rate', token => $c2->{token}, rating => 2,
                id => 'rt2' });
ok($y->wait_for('ack', 5, sub { $_[0]{id} eq 'rt2' }), 'rated');
$y->close_ws;
record_of($ta, $c2->{call_id});
parties_gone('second call');
poll_until(5, sub {
    @{ found_in(Hotline::Test::read_file($journal_b)) } });
ok(@{ found_in(Hotline::Test::read_file($journal_b)) },
   'node B\'s journal has it');
($st) = req($ta, DELETE => "/history?call_id=$c2->{call_id}");
is($st, 200, 'erased through node A');
poll_until(10, sub { !@{ found_in(Hotline::Test::read_file($journal_b)) } });
is_deeply(found_in(Hotline::Test::read_file($journal_b)), [],
          'node B rewrites its journal at once');
# (where node B got to is kept for it: a restart or reload goes on from
# there)
my ($P0) = $r->directive =~ /prefix=(\S+);/;
my ($last_he) = $r->cli('XREVRANGE', "${P0}he", '+', '-', 'COUNT', 1)
                =~ /^(\d+-\d+)$/m;
my ($cursor_b) = $r->cli('KEYS', "${P0}he:*$journal_b") =~ /(\S+)/;
ok($last_he && poll_until(5, sub {
    my ($v) = $r->cli('GET', $cursor_b // 'none') =~ /(\S+)/;
    ($v // '') eq $last_he }),
   'node B keeps the id of the last erasure it applied in Redis');
is_deeply(found_in(redis_text()), [], 'and Redis holds none of it');

# --- a note written after the erasure keeps no text in Redis either
my ($c3, $a3) = $ta->call(name => 'Selin Kaya', sub => 'emre');
$a3->send_json({ type => 'hangup', id => 'h3' });
ok($c3->wait_for('ended', 5), 'a third call, on node A');
$c3->close_ws;
my $y3 = $ta->ws_connect('/ws/customer');
$y3->send_json({ type => 'rate', token => $c3->{token}, rating => 3,
                id => 'rt3' });
ok($y3->wait_for('ack', 5, sub { $_[0]{id} eq 'rt3' }), 'rated');
$y3->close_ws;
record_of($ta, $c3->{call_id});
($st) = req($ta, DELETE => "/history?call_id=$c3->{call_id}");
is($st, 200, 'erased');
$n = $a3->request({ type => 'note', text => 'sonra Moda 12',
                    disposition => 'solved' });
is($n->{type}, 'ack', 'its agent writes a note after it');
my $late = record_of($ta, $c3->{call_id},
                     sub { ($_[0]{note}{disposition} // '') eq 'solved' });
ok($late && !exists $late->{note}{text}, 'read without its text');
my $journal_a = $ta->prefix . '/logs/hotline_calls.jsonl';
ok(poll_until(5, sub {
    my $text = Hotline::Test::read_file($journal_a);
    $text =~ /"disposition":"solved"/ && $text !~ /sonra/ }),
   'node A\'s journal has the note without its text');
$a3->close_ws;
parties_gone('third call');
is_deeply(found_in(redis_text()), [], 'Redis holds no text of it')
    or diag(where());

# --- a full stream: its oldest record goes with all its keys
my ($P) = $r->directive =~ /prefix=(\S+);/;
my $FILL = <<'LUA';
local P = ARGV[1]
redis.call('DEL', P .. 'history')
local old = string.rep('e', 32)
redis.call('XADD', P .. 'history', '*', 'call_id', old, 'agent', 'emre')
redis.call('HSET', P .. 'hp:' .. old, 'customer', 'Eski Müşteri', 'x', '')
redis.call('SET', P .. 'ht:' .. old, '[{"text":"Eski adres"}]')
redis.call('RPUSH', P .. 'ha:' .. old, '{"amend":"x","comment":"Eski yorum"}')
for i = 2, 100000 do
  redis.call('XADD', P .. 'history', '*', 'call_id', string.rep('d', 32),
             'agent', 'emre')
end
return redis.call('XLEN', P .. 'history')
LUA
is($r->cli('EVAL', $FILL, 0, $P) + 0, 100000, 'a full stream');
my $old = 'e' x 32;
is($r->cli('EXISTS', "${P}hp:$old", "${P}ht:$old", "${P}ha:$old") + 0, 3,
   'its oldest record has a name, a transcript and amendments');
my ($c4, $a4) = $ta->call(name => 'Yeni', sub => 'emre');
$a4->send_json({ type => 'hangup', id => 'h4' });
ok($c4->wait_for('ended', 5), 'one more call ends');
ok(poll_until(5, sub {
    $r->cli('EXISTS', "${P}hp:$c4->{call_id}") + 0 == 1 }), 'its record in');
is($r->cli('XLEN', "${P}history") + 0, 100000, 'the stream stays full');
is($r->cli('EXISTS', "${P}hp:$old", "${P}ht:$old", "${P}ha:$old") + 0, 0,
   'the oldest record\'s keys went with it');
unlike($r->cli('XRANGE', "${P}history", '-', '+', 'COUNT', 1), qr/$old/,
       'and so did its entry');

$ta->stop;
$tb->stop;
$r->stop;
done_testing;
