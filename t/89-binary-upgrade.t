#!/usr/bin/perl
# nginx's binary upgrade (USR2, then WINCH and QUIT to the old master), as
# docs/deployment.md describes it: the new master starts its own workers
# beside the old ones; WINCH closes the old workers' WebSockets with 1001
# and the clients come back to the new workers.  On the embedded store the
# new master has a zone of its own (shared memory does not cross exec()):
# the last old worker writes the calls to hotline_handoff_file and the new
# workers take them (until then their signaling answers 503); the calls
# resume and go on.  On the Redis store the state outlives both masters.
# And a restart (quit, start) within hotline_resume_timeout keeps the
# calls of the embedded store the same way; one later does not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep);
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;
use Compress::Zlib ();

my @masters;    # old masters to end whatever happens
END { kill 'KILL', grep { $_ && kill(0, $_) } @masters }

# 0 while there is none: nginx renames the pid file to .oldbin during a
# USR2, so it may go between a look and the read
sub read_pid {
    my ($f) = @_;
    open(my $fh, '<', $f) or return 0;
    my $pid = <$fh>;
    return ($pid // '') =~ /^(\d+)/ ? 0 + $1 : 0;
}

# USR2 + WINCH: returns when the old workers are gone; the harness then
# follows the new master
sub upgrade {
    my ($t) = @_;
    my $pidfile = $t->prefix . '/logs/nginx.pid';
    my $old = $t->master_pid;
    push @masters, $old;
    kill 'USR2', $old;
    my $new;
    ok(poll_until(10, sub {
        $new = read_pid($pidfile);
        $new && $new != $old && -s "$pidfile.oldbin"
    }), 'USR2: a new master, the old pid file kept as nginx.pid.oldbin');
    ok(poll_until(10, sub {
        my @w = grep { /worker process/ } `ps --ppid $new -o args=`;
        @w == 2;
    }), 'the new master runs its workers');
    # (the new master is a child of the old one too)
    my @old_workers = map { /^\s*(\d+)\s+.*worker process/ ? $1 : () }
                      `ps --ppid $old -o pid=,args=`;
    is(scalar @old_workers, 2, 'the old workers run beside the new ones');
    kill 'WINCH', $old;
    ok(poll_until(15, sub { !grep { kill(0, $_) } @old_workers }),
       'WINCH: the old workers are gone');
    $t->{master} = $new;
    return $old;
}

sub finish {
    my ($t, $old) = @_;
    kill 'QUIT', $old;
    ok(poll_until(10, sub { !kill(0, $old) }), 'QUIT: the old master exits');
    $t->stop;
}

# ------------------------------------------------------------ embedded store
sub serving {
    my ($t) = @_;
    return poll_until(10, sub { $t->http_get('/health')->{status} == 200 });
}

{
    my $t = Hotline::Test->new->start;
    my $w = $t->customer('Waiting through it');
    my ($c, $a) = $t->call(name => 'Shm call', sub => 'shm-agent');
    $a->send_json({ type => 'chat', text => 'before', id => 'b' });
    my $before = $c->wait_for('chat', 5);
    my $old = upgrade($t);
    is($c->expect_close(10), 1001, 'shm: the customer is closed with 1001');
    is($a->expect_close(10), 1001, 'shm: the agent too');
    ok(serving($t), 'shm: the new workers serve once they have the calls');
    like($t->error_log, qr/objects of the calls taken over/,
         'shm: the new zone took the old one\'s calls');

    my $c2 = $t->ws_connect('/ws/customer');
    $c2->send_json({ type => 'resume', token => $c->{token},
                     last_seq => $before ? $before->{seq} : 0 });
    my $wc = $c2->wait_for('welcome', 5);
    ok($wc && $wc->{resumed} && !$wc->{gap},
       'shm: the customer resumes on the new workers')
        or diag(json_encode($c2->{inbox}));
    my $top = (grep { defined $_->{seq} } @{ $a->{inbox} })[-1];
    my $a2 = $t->ws_connect('/ws/agent?last_seq=' . ($top ? $top->{seq} : 0),
                            token => $t->mint_jwt(sub => 'shm-agent'));
    my $wa = $a2->wait_for('welcome', 5);
    is($wa && $wa->{call_id}, $c->{call_id}, 'shm: the agent is back in its call');
    $a2->send_json({ type => 'chat', text => 'after', id => 'a' });
    ok($c2->wait_for('chat', 5, sub { $_[0]{text} eq 'after' }),
       'shm: the call goes on across the upgrade');
    $c2->send_json({ type => 'chat', text => 'and back', id => 'k' });
    ok($a2->wait_for('chat', 5, sub { $_[0]{text} eq 'and back' }),
       'shm: both ways');

    my $w2 = $t->ws_connect('/ws/customer');
    $w2->send_json({ type => 'resume', token => $w->{token} });
    ok($w2->wait_for('welcome', 5), 'shm: the waiting customer resumes');
    my $pos = $w2->wait_for('position', 5);
    is($pos && $pos->{position}, 1, '... at its place in the queue');
    my $h = $t->health;
    is($h->{calls}{active}, 1, 'shm: one call in progress');
    is($h->{calls}{waiting}, 1, 'shm: one waiting');
    my $n = $t->customer('After the upgrade');
    my $np = $n->{position};
    is($np && $np->{position}, 2, 'shm: a new customer queues behind');
    $_->drop for $n, $w2, $c2, $a2;
    finish($t, $old);
}

# a restart: quit, then start within hotline_resume_timeout
{
    my $t = Hotline::Test->new(http => 'hotline_resume_timeout 3s;')->start;
    my ($c, $a) = $t->call(name => 'Restart call', sub => 'restart-agent');
    $t->stop(quit => 1);
    is($c->expect_close(10), 1001, 'restart: closed with 1001');
    $t->start;
    my $c2 = $t->ws_connect('/ws/customer');
    $c2->send_json({ type => 'resume', token => $c->{token},
                     last_seq => $c->{accepted}{seq} });
    ok(($c2->wait_for('welcome', 5) // {})->{resumed},
       'restart: the call resumes after the restart');
    $a->send_json({ type => 'chat' });
    my $a2 = $t->ws_connect('/ws/agent?last_seq=' . $a->{accepted}{seq},
                            token => $t->mint_jwt(sub => 'restart-agent'));
    is(($a2->wait_for('welcome', 5) // {})->{call_id}, $c->{call_id},
       'restart: the agent is back in it');
    $a2->send_json({ type => 'hangup' });
    ok($c2->wait_for('ended', 5), 'restart: and ends it');

    # later than hotline_resume_timeout: nothing is taken
    my $c3 = $t->customer('Too late');
    $t->stop(quit => 1);
    sleep 3.5;
    $t->start;
    my $x = $t->ws_connect('/ws/customer');
    $x->send_json({ type => 'resume', token => $c3->{token} });
    is(($x->wait_for('error', 5) // {})->{code}, 'expired',
       'restart: after hotline_resume_timeout the calls are not taken');
    like($t->error_log, qr/older than hotline_resume_timeout/, '... and it says so');
    $x->drop;

    # the default file is beside the pid file, named after it (one per
    # instance); one that is not ours, or cut short: ignored, and it serves
    my $file = $t->prefix . '/logs/nginx.hotline_handoff.state';
    for my $case ([ 'garbage', join('', map { chr rand 256 } 1 .. 4000),
                    qr/holds no calls that this build can read/ ],
                  [ 'cut short', undef, qr/handoff file is incomplete/ ]) {
        my ($name, $bytes, $re) = @$case;
        my $c4 = $t->customer("Before $name");
        $t->stop(quit => 1);
        if (defined $bytes) {
            Hotline::Test::write_file($file, $bytes);
        } else {
            my $all = Hotline::Test::read_file($file);
            Hotline::Test::write_file($file, substr($all, 0, length($all) - 9));
        }
        $t->start;
        like($t->error_log, $re, "a handoff file $name: ignored");
        my $n = $t->customer("After $name");
        ok($n->{welcome}, "... and nginx serves");
        is(-s $file, 0, '... the file emptied');
        $n->drop;
    }

    # an inbox's messages must follow each other up to its last seq (its
    # ring is by seq): one out of turn, under a valid CRC, is malformed
    my ($c5, $a5) = $t->call(name => 'Out of turn', sub => 'turn-agent');
    $a5->send_json({ type => 'chat', text => "line $_", id => "t$_" })
        for 1 .. 3;
    ok($c5->wait_for('chat', 5, sub { $_[0]{text} eq 'line 3' }),
       'a call with messages kept in the inbox');
    $t->stop(quit => 1);
    my $all = Hotline::Test::read_file($file);
    my ($moved, $at) = out_of_turn(\$all);
    ok($moved, "the handoff file holds an inbox's messages (object $at)");
    Hotline::Test::write_file($file, $all);
    $t->allow_log(qr/handoff file is malformed at object \Q$at\E:/);
    $t->start;
    like($t->error_log,
         qr/handoff file is malformed at object \Q$at\E: what came before/,
         'a message out of turn: the file is malformed at its object');
    my $n = $t->customer('After out of turn');
    ok($n->{welcome}, '... and nginx serves');
    is(-s $file, 0, '... the file emptied');
    $n->drop;
    $t->stop;
}

# the first message of the handoff file's first inbox with one gets the seq
# after its own, and the CRC is made again; (1, its object's index) or ()
sub out_of_turn {
    my ($all) = @_;
    my ($magic, $written, $ticket, $gen, $objects, $bytes) =
        unpack('a8 Q Q Q Q Q', $$all);
    my $p = 48;
    for my $i (0 .. $objects - 1) {
        my ($klen, $flags, $vlen) = unpack('S S L', substr($$all, $p, 8));
        $p += 40 + (($klen + $vlen + 7) & ~7);
        next unless $flags & 0x10;
        my ($last, $delivered, $replayed, $msgs) =
            unpack('Q Q Q Q', substr($$all, $p, 32));
        $p += 32;
        if ($msgs) {
            my $seq = unpack('Q', substr($$all, $p, 8));
            substr($$all, $p, 8) = pack('Q', $seq + 1);
            substr($$all, 48 + $bytes, 4) =
                pack('L', Compress::Zlib::crc32(substr($$all, 48, $bytes)));
            return (1, $i);
        }
        for (1 .. $msgs) {
            my $len = unpack('Q', substr($$all, $p + 8, 8));
            $p += 16 + (($len + 7) & ~7);
        }
    }
    return ();
}

# ------------------------------------------------------------ Redis store
SKIP: {
    skip 'no redis-server', 1 unless Hotline::Redis::available();
    my $r = Hotline::Redis->new->start;
    my $t = Hotline::Test->new(http => $r->directive)->start;
    my ($c, $a) = $t->call(name => 'Redis call', sub => 'redis-agent');
    $a->send_json({ type => 'chat', text => 'before', id => 'b' });
    my $before = $c->wait_for('chat', 5);
    my $old = upgrade($t);
    Hotline::Redis->wait_store_up($t);
    is($c->expect_close(10), 1001, 'redis: the customer is closed with 1001');
    is($a->expect_close(10), 1001, 'redis: the agent too');

    my $c2 = $t->ws_connect('/ws/customer');
    $c2->send_json({ type => 'resume', token => $c->{token},
                     last_seq => $before ? $before->{seq} : 0 });
    my $w = $c2->wait_for('welcome', 5);
    ok($w && $w->{resumed}, 'redis: the customer resumes on the new workers')
        or diag(json_encode($c2->{inbox}));
    my $a2 = $t->ws_connect('/ws/agent',
                            token => $t->mint_jwt(sub => 'redis-agent'));
    $a2->send_json({ type => 'resume', token => $a->{token} });
    ok($a2->wait_for('welcome', 5, sub { $_[0]{resumed} }),
       'redis: the agent resumes');
    $a2->send_json({ type => 'chat', text => 'after', id => 'a' });
    ok($c2->wait_for('chat', 5, sub { $_[0]{text} eq 'after' }),
       'redis: the call goes on across the upgrade');
    $c2->drop;
    $a2->drop;
    finish($t, $old);
    $r->stop;
}

done_testing;
