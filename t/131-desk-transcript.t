#!/usr/bin/perl
# The chat transcript kept with a call (hotline_transcript): every chat
# line of both parties, in order, bounded; a customer who comes back (a
# reloaded page: a new connection with the resume token) and an agent's
# console that takes its session over get it after their welcome; what
# does not fit is left out and the chat itself goes on.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode);

# test names quote the chat's Turkish text: printed as UTF-8
binmode Test::More->builder->$_, ':encoding(UTF-8)'
    for qw(output failure_output todo_output);

my $t = Hotline::Test->new(http => <<'EOF')->start;
    hotline_resume_timeout 5s;
    hotline_transcript 1k;
EOF

my ($c, $a) = $t->call(name => 'Derya', sub => 'kaan');

my $n = 0;

sub chat {
    my ($from, $to, $text) = @_;
    my $id = 'm' . ++$n;
    $from->send_json({ type => 'chat', text => $text, id => $id });
    ok($from->wait_for('ack', 5, sub { $_[0]{id} eq $id }), "'$text' acked");
    my $got = $to->wait_for('chat', 5, sub { $_[0]{text} eq $text });
    ok($got, "'$text' relayed");
    return $got;
}

chat($c, $a, 'Merhaba, faturam <b>yanlış</b>');
my $seen = chat($a, $c, "Bakıyorum\nbir dakika");
chat($c, $a, 'Tamam "teşekkürler"');

# --- the page reloads: a new connection resumes and gets the transcript
my $c2 = $t->ws_connect('/ws/customer');
$c2->send_json({ type => 'resume', token => $c->{token}, last_seq => 0 });
ok($c2->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'the customer resumes');
# what is replayed to it up to replay_to went to the page before (its
# media negotiation is of a peer connection that is gone)
my $desk = $c2->wait_for('desk', 5);
is($desk && $desk->{state}, 'call', 'told it is in its call');
cmp_ok($desk && $desk->{replay_to} // 0, '>=', $seen->{seq},
       'replay_to: at least what the old page got');
my $acc = $c2->wait_for('accepted', 5);
ok($acc && $acc->{seq} <= ($desk->{replay_to} // 0),
   'the replayed accepted is of the old page');
my $tr = $c2->wait_for('transcript', 5);
ok($tr, 'and gets the transcript after its welcome')
    or diag(json_encode($c2->{inbox}));
is($tr && $tr->{call_id}, $c->{call_id}, 'of its call');
my @lines = $tr ? @{ $tr->{lines} } : ();
is_deeply([ map { [ $_->{from}, $_->{text} ] } @lines ],
          [ [ customer => 'Merhaba, faturam <b>yanlış</b>' ],
            [ agent => "Bakıyorum\nbir dakika" ],
            [ customer => 'Tamam "teşekkürler"' ] ],
          'every line of both parties, in order, as typed');
ok(!(grep { ($_->{ts} // '') !~ /^\d{13}$/ } @lines),
   'each line has the server\'s time');
ok(!(grep { ($_->{type} // '') ne 'chat' } @lines), 'lines are chat lines');
is($c->expect_close(5), 4000, 'the old page was replaced');

# --- the agent's console takes its session over: it gets it too
my $a2 = $t->agent(sub => 'kaan');
ok($a2->{welcome}{call_id}, 'the console is back in the call');
my $ta = $a2->wait_for('transcript', 5);
is($ta && scalar @{ $ta->{lines} }, 3, 'the console gets the transcript');
my $da = $a2->{welcome} && $a2->wait_for('desk', 5);
cmp_ok($da && $da->{replay_to} // 0, '>=', $acc->{seq},
       'the console from scratch is told replay_to too');

# a page that kept its place (last_seq) is replayed only what it missed
my $c2b = $t->ws_connect('/ws/customer');
$c2b->send_json({ type => 'resume', token => $c->{token},
                  last_seq => $seen->{seq} });
ok($c2b->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'resumed in place');
$desk = $c2b->wait_for('desk', 5);
ok($desk && !exists $desk->{replay_to}, 'no replay_to then');
is($c2->expect_close(5), 4000, 'the page before it replaced');
$c2 = $c2b;

# --- bounded: lines that do not fit are left out, the chat goes on; a
# shorter one that fits the room left still goes in, from either party
# (a node sends no line longer than the room its last relay saw)
my $long = 'x' x 250;
for my $i (1 .. 4) {
    chat($c2, $a2, "$i$long");
}
chat($a2, $c2, 'kısa');
chat($c2, $a2, "5$long");
chat($c2, $a2, 'y');
my $c3 = $t->ws_connect('/ws/customer');
$c3->send_json({ type => 'resume', token => $c->{token}, last_seq => 0 });
ok($c3->wait_for('welcome', 5, sub { $_[0]{resumed} }), 'resumed again');
$tr = $c3->wait_for('transcript', 5);
my $bytes = 0;
$bytes += length json_encode($_) for @{ $tr->{lines} };
ok($bytes <= 1024 + 200, "the transcript stays within its bound ($bytes)");
is_deeply([ map { substr($_->{text}, 0, 1) } @{ $tr->{lines} } ],
          [ qw(M B T 1 2 k y) ],
          'the first lines are kept, later ones left out, short ones fit');

# --- the call ends: the transcript goes with it
$a2->send_json({ type => 'hangup' });
ok($c3->wait_for('ended', 5), 'the call ends');

# --- without a transcript (off) nothing is kept and chat works
my $t2 = Hotline::Test->new(http => 'hotline_transcript off;')->start;
my ($d, $b) = $t2->call(name => 'Off', sub => 'off');
$d->send_json({ type => 'chat', text => 'hi', id => 'h' });
ok($b->wait_for('chat', 5), 'hotline_transcript off: chat is relayed');
my $d2 = $t2->ws_connect('/ws/customer');
$d2->send_json({ type => 'resume', token => $d->{token}, last_seq => 0 });
ok($d2->wait_for('welcome', 5), 'resumed');
ok(!$d2->wait_for('transcript', 1), 'no transcript is sent');
$t2->stop;

$t->stop;
done_testing;
