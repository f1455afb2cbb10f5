#!/usr/bin/perl
# The room a transcript has left, as Redis answers it to a relay with a
# chat line ({0, 0, room}), is believed only when it is an integer of 0 or
# more in an answer of three elements.  A proxy between nginx and Redis
# (Hotline::RespProxy) replaces it with what Redis would not send: a
# negative number, a number as a string, a nil, an array, a number past
# any room, a fourth element.  None of them stops the next line from
# going into the transcript, none is an error of the chat, and nginx logs
# no alert.  The control: a valid 0 put there keeps the next line out.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);
use Hotline::Redis;
use Hotline::RespProxy;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my ($r, $proxy, $t) = Hotline::RespProxy->nginx(http => <<'EOF');
    hotline_transcript 16k;
    hotline_resume_timeout 5s;
EOF

my ($c, $a) = $t->call(name => 'Proxy', sub => 'proxy');
my $workers = join ',', sort $t->worker_pids;

sub chat {
    my ($text) = @_;
    my $ack = $c->request({ type => 'chat', text => $text });
    is($ack->{type}, 'ack', "'$text': acked") or diag(json_encode($ack));
    ok($a->wait_for('chat', 5, sub { $_[0]{text} eq $text }),
       "'$text': relayed");
}

my @want;

for my $rule (grep { $_ ne 'zero' } Hotline::RespProxy::rules()) {
    my $before = () = $proxy->rewrites;
    $proxy->rule($rule);
    chat("$rule 1");                   # its answer carries the bad room
    $proxy->rule('off');
    is(scalar(() = $proxy->rewrites), $before + 1,
       "$rule: the answer to the line was rewritten");
    chat("$rule 2");                   # sent with the transcript's append
    push @want, "$rule 1", "$rule 2";
}

# the control: a room of 0, which is believed, keeps the next line out
$proxy->rule('zero');
chat('zero 1');
$proxy->rule('off');
chat('zero 2');
push @want, 'zero 1';
is(($proxy->rewrites)[-1], 'zero', 'zero: the answer was rewritten');

# the agent's connection learned nothing: its line goes in
$a->send_json({ type => 'chat', text => 'agent', id => 'ag' });
ok($a->wait_for('ack', 5, sub { ($_[0]{id} // '') eq 'ag' }),
   'the agent\'s line is acked');
ok($c->wait_for('chat', 5, sub { $_[0]{text} eq 'agent' }),
   'and relayed');
push @want, 'agent';

# what the transcript kept, read by a reloaded page
my $c2 = $t->ws_connect('/ws/customer');
$c2->send_json({ type => 'resume', token => $c->{token}, last_seq => 0 });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'the page resumes');
my $tr = $c2->wait_for('transcript', 5);
ok($tr, 'and gets the transcript') or diag(json_encode($c2->{inbox}));
is_deeply([ map { $_->{text} } @{ $tr ? $tr->{lines} : [] } ], \@want,
          'every line after a bad room went in; after a room of 0, none');

is(join(',', sort $t->worker_pids), $workers, 'no worker was replaced');
is_deeply([ $t->bad_log_lines ], [], 'no alerts');

$t->stop;
$proxy->stop;
done_testing;
