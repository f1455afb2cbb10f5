#!/usr/bin/perl
# The record of a call: its transcript, the agent's note and disposition
# (during the call, or after it for its last call), the hold time, the
# customer's rating and comment after the call (with its resume token,
# within hotline_rating_time, once), and messages or callback requests
# left instead of a call or of waiting, which agents claim and mark done;
# all in the history (a call's page with its transcript, open messages),
# on either store.  Misuse gets clear errors.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode json_encode poll_until);
use TelegramStub;

my $tg = TelegramStub->new->start;
my $t = $tg->nginx(
    http   => "hotline_dispositions solved follow-up spam;\n"
              . "hotline_rating_time 4s;\n",
    server => 'location = /history { hotline_history; }',
);


sub history {
    my ($q) = @_;
    my $r = $t->http_get('/history' . ($q // ''));
    return $r->{status} == 200 ? json_decode($r->{body}) : { status => $r->{status} };
}

sub record_of {
    my ($call_id, $want) = @_;
    my $rec;
    poll_until(5, sub {
        my $h = history("?call_id=$call_id");
        $rec = $h->{calls} && $h->{calls}[0];
        $rec && (!$want || $want->($rec));
    });
    return $rec;
}

# --- a call with chat and a note during it
my ($c, $a) = $t->call(name => 'Selin', sub => 'emre');
$c->send_json({ type => 'chat', text => 'Kargom gelmedi', id => 'c1' });
ok($a->wait_for('chat', 5), 'chat relayed');
$a->send_json({ type => 'chat', text => 'Takip numarası?', id => 'c2' });
ok($c->wait_for('chat', 5), 'chat relayed back');

my $r = $a->request({ type => 'note', text => "kargo\ngecikmesi",
                      disposition => 'follow-up' });
is($r->{type}, 'ack', 'a note during the call is acked');
$r = $a->request({ type => 'note', text => 'x', disposition => 'nope' });
is($r->{code}, 'bad_field', 'a disposition not in the list: bad_field');
is($r->{field}, 'disposition', '... names the field');
$r = $a->request({ type => 'note', text => 'x' x 2001 });
is($r->{field}, 'text', 'a note over 2000 characters: bad_field text');
$r = $c->request({ type => 'note', text => 'me too' });
is($r->{code}, 'not_allowed', 'a customer writes no notes');

$a->send_json({ type => 'hangup', id => 'h' });
my $e = $c->wait_for('ended', 5);
ok($e, 'the call ends');
is($e && $e->{rating}, 4, 'the customer is told it may rate it (4 s)');
is($c->expect_close(5), 1000, 'and its connection closes as before');

my $rec = record_of($c->{call_id});
ok($rec, 'the call is in the history');
is($rec->{note} && $rec->{note}{text}, "kargo\ngecikmesi",
   'with the note of the call');
is($rec->{note} && $rec->{note}{disposition}, 'follow-up',
   'and its disposition');
is($rec->{note} && $rec->{note}{by}, 'emre', 'and who wrote it');
is($rec->{hold}, 0, 'no time on hold');
is_deeply([ map { [ $_->{from}, $_->{text} ] } @{ $rec->{transcript} || [] } ],
          [ [ customer => 'Kargom gelmedi' ], [ agent => 'Takip numarası?' ] ],
          'a call\'s page has its transcript');
my $list = history();
ok(!exists $list->{calls}[0]{transcript}, 'the list leaves transcripts out');

# --- after the call: the note of the agent's last call, amended
$r = $a->request({ type => 'note', text => 'kargo firması arandı',
                   disposition => 'solved' });
is($r->{type}, 'ack', 'a note after the call (its last) is acked');
$rec = record_of($c->{call_id}, sub { $_[0]{note}{disposition} eq 'solved' });
is($rec && $rec->{note}{text}, 'kargo firması arandı',
   'the history has the newer note');
$r = $a->request({ type => 'note', text => 'x',
                   call_id => '0' x 32 });
is($r->{code}, 'not_found', 'a note of another call: not_found');

# --- the customer rates it: a new connection with its resume token
my $x = $t->ws_connect('/ws/customer');
$x->send_json({ type => 'rate', token => $c->{token}, rating => 4,
                comment => 'hızlıydı, <teşekkürler>', id => 'rt' });
ok($x->wait_for('ack', 5, sub { $_[0]{id} eq 'rt' }), 'the rating is acked');
is($x->expect_close(5), 1000, 'and the connection closes');
$rec = record_of($c->{call_id}, sub { $_[0]{rating} });
is($rec && $rec->{rating}, 4, 'the history has the rating');
is($rec && $rec->{comment}, 'hızlıydı, <teşekkürler>', 'and the comment');
is($rec && $rec->{note}{disposition}, 'solved', 'and still the note');

$x = $t->ws_connect('/ws/customer');
$x->send_json({ type => 'rate', token => $c->{token}, rating => 1,
                id => 'rt2' });
my $err = $x->wait_for('error', 5);
is($err && $err->{code}, 'expired', 'a second rating: expired');
$x = $t->ws_connect('/ws/customer');
$x->send_json({ type => 'rate', token => $c->{token}, rating => 6,
                id => 'rt3' });
$err = $x->wait_for('error', 5);
is($err && $err->{field}, 'rating', 'a rating of 6: bad_field rating');
my $c9 = $t->customer('Nine');
$c9->send_json({ type => 'rate', token => $c9->{token}, rating => 3,
                 id => 'rt4' });
$err = $c9->wait_for('error', 5);
is($err && $err->{code}, 'bad_state', 'rating while waiting: bad_state');

# a call over: its token rates it, nothing more
my ($c8, $a8) = $t->call(name => 'Late', sub => 'late');
$a8->send_json({ type => 'hangup' });
ok($c8->wait_for('ended', 5), 'another call ends');
$c8->expect_close(5);
# the token dies once the server has read the client's answer to its close
# frame; a new connection (maybe on the other worker) can come first, and
# is then welcomed with the end again, as for an end lost in flight
# (docs/protocol.md)
my @early;
$err = undef;
poll_until(5, sub {
    my $y = $t->ws_connect('/ws/customer');
    $y->send_json({ type => 'resume', token => $c8->{token}, id => 'rs' });
    my $m = $y->recv(5) // { type => 'none' };
    return $err = $m if $m->{type} eq 'error';
    push @early, $m->{type};
    return 0;
});
is($err && $err->{code}, 'expired', 'an ended call\'s token resumes nothing '
   . '(it only rates; t/23-store.t: freed after hotline_rating_time)');
is_deeply([ grep { $_ ne 'welcome' } @early ], [],
          '... and before the end was told, a resume gets it again')
    or diag("@early");

# a call never answered gives no rating
$c9->send_json({ type => 'cancel' });
$e = $c9->wait_for('ended', 5);
ok($e && !exists $e->{rating}, 'a cancelled call offers no rating');

# --- a message instead of a call
my $m = $t->ws_connect('/ws/customer');
$m->send_json({ type => 'message', kind => 'callback', name => 'Deniz',
                contact => '+90 555 000 11 22', text => 'Akşam arayın',
                id => 'm1' });
ok($m->wait_for('ack', 5, sub { $_[0]{id} eq 'm1' }), 'a callback request '
   . 'is acked');
is($m->expect_close(5), 1000, 'and the connection closes');
my $open;
poll_until(5, sub { $open = history('?outcome=message&open=1');
                    @{ $open->{calls} || [] } == 1 });
is(scalar @{ $open->{calls} || [] }, 1, 'it is an open message');
my $msg = $open->{calls}[0];
is($msg->{customer}, 'Deniz', 'with the name');
is_deeply($msg->{message}, { kind => 'callback',
                             contact => '+90 555 000 11 22',
                             text => 'Akşam arayın' }, 'what was left');
ok(poll_until(5, sub { grep { ($_->{json}{text} // '') =~ /Callback request/
                               && $_->{json}{text} =~ /Deniz/
                               && $_->{json}{text} =~ /\Q$msg->{call_id}\E/ }
                        $tg->requests(telegram => 1) }),
   'agents hear of it on Telegram, with its record\'s id');

# --- a waiting customer leaves a message instead
my $w = $t->customer('Waiting');
$r = $w->request({ type => 'message', kind => 'message', name => 'Waiting',
                   contact => 'w@example.com', text => "uzun sürdü\nnot" });
is($r->{type}, 'ack', 'a waiting customer leaves a message');
$e = $w->wait_for('ended', 5);
is($e && $e->{reason}, 'message', 'its call ends with reason message');
poll_until(5, sub { $open = history('?outcome=message&open=1');
                    @{ $open->{calls} || [] } == 2 });
is(scalar @{ $open->{calls} }, 2, 'two open messages');
is($open->{calls}[0]{call_id}, $w->{call_id}, 'the newest first: its call');

$r = $t->ws_connect('/ws/customer')->request({
    type => 'message', kind => 'message', name => 'X',
    contact => 'x@example.com', text => '' });
is($r->{field}, 'text', 'a message needs a text');
$r = $t->ws_connect('/ws/customer')->request({
    type => 'message', kind => 'fax', name => 'X', contact => 'x',
    text => 'y' });
is($r->{field}, 'kind', 'kind is message or callback');

# --- agents claim and do them; the console sees them change
my $a2 = $t->agent(sub => 'zeynep');
$r = $a->request({ type => 'claim', message_id => $msg->{call_id} });
is($r->{type}, 'ack', 'emre claims the callback');
$r = $a2->request({ type => 'claim', message_id => $msg->{call_id} });
is($r->{code}, 'taken', 'zeynep cannot claim it too: taken');
ok($a2->wait_for('queue', 5, sub { ($_[0]{messages} // 0) > 0 }),
   'consoles see the messages change');
$rec = record_of($msg->{call_id}, sub { $_[0]{claimed} });
is($rec && $rec->{claimed}{by}, 'emre', 'the history says who claimed it');
$r = $a->request({ type => 'done', message_id => $msg->{call_id} });
is($r->{type}, 'ack', 'done');
$r = $a2->request({ type => 'done', message_id => $msg->{call_id} });
is($r->{code}, 'not_found', 'done twice: not_found');
poll_until(5, sub { $open = history('?outcome=message&open=1');
                    @{ $open->{calls} || [] } == 1 });
is(scalar @{ $open->{calls} }, 1, 'one open message left');
$r = $t->customer('Ten')->request({ type => 'claim',
                                   message_id => $msg->{call_id} });
is($r->{code}, 'not_allowed', 'a customer claims nothing');

$t->stop;
$tg->stop;
done_testing;
