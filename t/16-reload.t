#!/usr/bin/perl
# State survives `nginx -s reload`: connections are closed with 1001, waiting
# customers resume at the same queue position, a call in progress resumes on
# both sides.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);

my $t = Hotline::Test->new->start;
my @old = $t->worker_pids;

my $w1 = $t->customer('Wait1');
my $w2 = $t->customer('Wait2');
my ($c, $a) = $t->call(name => 'InCall', sub => 'reload-agent');
$a->send_json({ type => 'chat', text => 'before reload', id => 'b' });
my $cb = $c->wait_for('chat', 5);
my $c_last = $cb ? $cb->{seq} : $c->{accepted}{seq};
my $a_last = $a->{accepted}{seq};
is($w1->{position}{position}, 1, 'Wait1 at 1');
is($w2->{position}{position}, 2, 'Wait2 at 2');

my @new = $t->reload;
ok(!(grep { my $n = $_; grep { $_ == $n } @old } @new), 'new worker generation');

for my $x ([ Wait1 => $w1 ], [ Wait2 => $w2 ], [ customer => $c ], [ agent => $a ]) {
    is($x->[1]->expect_close(10), 1001, "$x->[0] closed with 1001 on reload");
}
ok($t->wait_old_workers_gone(10), 'old workers exit once their sockets are closed');

my $h = $t->health;
is($h->{calls}{waiting}, 2, 'health after reload: 2 waiting');
is($h->{calls}{active}, 1, 'health after reload: 1 active');

sub resume_customer {
    my ($old, $last) = @_;
    my $ws = $t->ws_connect('/ws/customer');
    $ws->send_json({ type => 'resume', token => $old->{token},
                     (defined $last ? (last_seq => $last) : ()) });
    my $w = $ws->wait_for('welcome', 5);
    ok($w && $w->{resumed}, "$old->{name} resumed after reload")
        or diag(json_encode($ws->{inbox}));
    is($w && $w->{call_id}, $old->{call_id}, "$old->{name}: same call");
    $old->{token} = $w->{resume} if $w && $w->{resume};
    return $ws;
}

my $n1 = resume_customer($w1);
my $p1 = $n1->wait_for('position', 5);
is($p1 && $p1->{position}, 1, 'Wait1 keeps position 1');
my $n2 = resume_customer($w2);
my $p2 = $n2->wait_for('position', 5);
is($p2 && $p2->{position}, 2, 'Wait2 keeps position 2');

my $nc = resume_customer($c, $c_last);
my $na = $t->ws_connect('/ws/agent', token => $t->mint_jwt(sub => 'reload-agent'));
$na->send_json({ type => 'resume', token => $a->{token}, last_seq => $a_last });
my $wa = $na->wait_for('welcome', 5, sub { $_[0]{resumed} });
ok($wa, 'agent resumed after reload') or diag(json_encode($na->{inbox}));
is($wa && $wa->{call_id}, $c->{call_id}, 'agent back in its call');

$na->send_json({ type => 'chat', text => 'after reload', id => 'r1' });
ok($na->wait_for('ack', 5, sub { $_[0]{id} eq 'r1' }), 'relay acked after reload');
my $m = $nc->wait_for('chat', 5, sub { $_[0]{text} eq 'after reload' });
ok($m, 'relay works after reload');
$nc->send_json({ type => 'chat', text => 'customer after reload' });
ok($na->wait_for('chat', 5, sub { $_[0]{text} eq 'customer after reload' }),
   'relay back works after reload');
my @cs = map { $_->{seq} } grep { defined $_->{seq} } @{ $nc->{inbox} }, ($m // ());
ok(!(grep { $_ <= $c_last } @cs), 'no seq at or before last_seq replayed');

# an agent sees the queue that survived
my $a2 = $t->agent(sub => 'second');
is_deeply([ map { $_->{name} } @{ $a2->{queue}{calls} } ], [qw(Wait1 Wait2)],
          'queue survived the reload in order');

# a second reload with a changed config keeps the state too
$t->{vars}{HTTP} = 'hotline_ping_interval 20s;';
$t->reload;
is($n1->expect_close(10), 1001, 'second reload closes with 1001 too');
$n2->expect_close(10);
my $n1b = resume_customer($w1);
my $p1b = $n1b->wait_for('position', 5);
is($p1b && $p1b->{position}, 1, 'position kept across a second reload');

# a graceful stop (nginx -s quit) closes every WebSocket with 1001 and the
# workers exit at once instead of waiting for the clients
my $q1 = $t->customer('AtQuit');
my ($qc, $qa) = $t->call(name => 'QuitCall', sub => 'quit-agent');
$t->stop(quit => 1);
is($q1->expect_close(5), 1001, 'waiting customer: 1001 on nginx -s quit');
is($qc->expect_close(5), 1001, 'customer in a call: 1001 on nginx -s quit');
is($qa->expect_close(5), 1001, 'agent: 1001 on nginx -s quit');
done_testing;
