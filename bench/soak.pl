#!/usr/bin/perl

# The soak bench (make soak, docs/performance.md): nginx with the module
# (2 workers, the test harness's configuration) under churn for
# SOAK_SECONDS: SOAK_RATE calls a second, each a customer who connects and
# joins, an idle agent of SOAK_AGENTS who accepts, an offer and an answer,
# three chat messages each way, a hang-up (by either side in turn), the
# customer's close.  Every SOAK_SAMPLE seconds, and once more when the
# churn is over and every call ended, it reads of each worker: private
# memory (Private_Dirty of /proc/PID/smaps_rollup, and of its private
# mappings only, the shared zone left out), open file descriptors; and of
# the node (/health): the zone's bytes in use, connections, calls.
#
# It prints the samples, then start (before the churn), middle, end and
# after, and flags what grows without bound: the peak of the churn's second
# half above that of its first half, for a worker's private memory by more
# than 5% (and 2 MiB), for the zone by more than 2% (and 64 KiB), for
# descriptors by more than 8 (peaks: the zone rises and falls with the
# pings that let go of what was delivered); after the churn, descriptors
# and zone not back to where they started (8, 64 KiB).  Failed calls, a
# worker that changed (crashed) or an alert in the error log are flagged
# too.  Exit status 1 if anything is.
#
#   SOAK_SECONDS=1800 SOAK_RATE=20 SOAK_AGENTS=10 SOAK_SAMPLE=60
#   SOAK_STORE=shm|redis (redis: a redis-server of its own, as the tests)
#   SOAK_CSV=file (the samples, for plotting)

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../t/lib";

use Time::HiRes qw(time sleep);
use IO::Select;
use POSIX qw(floor);
use Hotline::Test;

my $SECONDS = $ENV{SOAK_SECONDS} // 1800;
my $RATE    = $ENV{SOAK_RATE}    // 20;
my $AGENTS  = $ENV{SOAK_AGENTS}  // 10;
# the agents' tokens outlive the run: a token that expires (4001) is the
# client's business, not a failure of the server
my $agent_exp = time() + $SECONDS + 3600;
my $SAMPLE  = $ENV{SOAK_SAMPLE}  // ($SECONDS >= 600 ? 60 : 10);
my $CSV     = $ENV{SOAK_CSV};
my $PHASE_TIMEOUT = 10;      # seconds a call may take for one step
my $MAX_INFLIGHT  = 400;     # calls under way before new ones wait

$ENV{HOTLINE_STORE} = 'redis' if ($ENV{SOAK_STORE} // '') eq 'redis';

# the agents' queue snapshots and the customers' positions are not read:
# not decoding them (JSON::PP is slow on a long queue) keeps the clients
# ahead of the server when the machine is busy
{
    no warnings 'redefine';
    my $decode = \&Hotline::Test::json_decode;
    *Hotline::Test::json_decode = sub {
        return { type => $1 } if $_[0] =~ /"type":"(queue|position)"/;
        return $decode->(@_);
    };
}

$| = 1;

# ---------------------------------------------------------------------------
# the server

my $t = Hotline::Test->new(
    workers => 2,
    http    => join("\n", 'hotline_queue_per_address off;',
                          'hotline_queue_size 100000;'),
)->start;

my @workers = $t->worker_pids;

printf "soak: nginx %s, store %s, workers %s, %d s at %s calls/s, "
       . "%d agents, a sample every %d s\n",
       join('.', map { floor(Hotline::Test::nginx_version() / $_) % 1000 }
                 1000000, 1000, 1), $t->store, "@workers", $SECONDS,
       $RATE, $AGENTS, $SAMPLE;

sub kib_of {
    my ($file, $field) = @_;
    open my $fh, '<', $file or return undef;
    my $n = 0;
    while (<$fh>) {
        $n += $1 if /^\Q$field\E:\s+(\d+) kB/;
    }
    return $n;
}

# Private_Dirty of the private mappings only (the zone is a shared one)
sub private_only_kib {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps" or return undef;
    my ($n, $private) = (0, 0);
    while (<$fh>) {
        if (/^[0-9a-f]+-[0-9a-f]+ \S\S\S(\S)/) {
            $private = $1 eq 'p';
        } elsif ($private && /^Private_Dirty:\s+(\d+) kB/) {
            $n += $1;
        }
    }
    return $n;
}

sub fds {
    my ($pid) = @_;
    opendir my $d, "/proc/$pid/fd" or return undef;
    my $n = grep { !/^\./ } readdir $d;
    return $n;
}

my @samples;

sub sample {
    my ($label, $elapsed, $stats) = @_;
    my $h = eval { $t->health } // {};
    my %s = (
        label  => $label,
        t      => $elapsed,
        used   => $h->{store}{used} // -1,
        size   => $h->{store}{size} // -1,
        conns  => ($h->{connections}{customer} // 0)
                  + ($h->{connections}{agent} // 0),
        active => $h->{calls}{active} // 0,
        done   => $stats->{done},
        failed => $stats->{failed},
    );
    for my $i (0 .. $#workers) {
        my $p = $workers[$i];
        $s{"pd$i"} = kib_of("/proc/$p/smaps_rollup", 'Private_Dirty') // -1;
        $s{"po$i"} = private_only_kib($p) // -1;
        $s{"fd$i"} = fds($p) // -1;
    }
    push @samples, \%s;
    my $f = $stats->{fails};
    printf "         failures: %s\n",
           join(', ', map { "$_: $f->{$_}" } sort keys %$f)
        if $f && %$f;
    printf "  %-6s %6.0f s  calls %7d ok %4d failed  active %3d  "
           . "conns %3d  zone %7.1f KiB  %s\n",
           $label, $elapsed, $s{done}, $s{failed}, $s{active}, $s{conns},
           $s{used} / 1024,
           join('  ', map { sprintf "w%d %6d/%6d KiB %3d fds", $_,
                            $s{"pd$_"}, $s{"po$_"}, $s{"fd$_"} }
                      0 .. $#workers);
    return \%s;
}

# ---------------------------------------------------------------------------
# the clients

my $sel = IO::Select->new;
my %by_fd;                 # fileno => [ws, owner]
my @agents;                # { ws, sub, call }
my @idle;                  # agents without a call
my %calls;                 # id => call
my $next_id = 0;
my %stats = (done => 0, failed => 0, started => 0, msgs => 0,
             fails => {});

sub watch {
    my ($ws, $owner) = @_;
    $sel->add($ws->sock);
    $by_fd{ fileno $ws->sock } = [$ws, $owner];
}

sub unwatch {
    my ($ws) = @_;
    return unless $ws && $ws->sock && defined fileno $ws->sock;
    delete $by_fd{ fileno $ws->sock };
    $sel->remove($ws->sock);
}

for my $i (1 .. $AGENTS) {
    my $a = { sub => "soak-agent-$i" };
    $a->{ws} = $t->agent(sub => $a->{sub}, exp => $agent_exp);
    $a->{ws}{inbox} = [];
    watch($a->{ws}, $a);
    push @agents, $a;
    push @idle, $a;
}

my $SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
          . ("a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n"
             x 20);

sub fail_call {
    my ($c, $why) = @_;
    $stats{failed}++;
    $stats{fails}{$why}++;
    finish_call($c);
}

sub finish_call {
    my ($c) = @_;
    delete $calls{ $c->{id} };
    if ($c->{cws}) {
        unwatch($c->{cws});
        $c->{cws}->drop;
    }
    if (my $a = $c->{agent}) {
        $a->{call} = undef;
        if ($c->{state} ne 'done') {
            # the agent may still be in that call: end it, then it is idle
            $a->{ws}->send_json({ type => 'hangup' });
            $a->{cleanup} = time + 2;
        }
        push @idle, $a;
    }
}

sub start_call {
    my $id = ++$next_id;
    my $c = { id => $id, state => 'join', since => time, got => {},
              by => ($id % 2 ? 'customer' : 'agent') };
    my $ws = eval { $t->ws_connect('/ws/customer') };
    unless ($ws) {
        $stats{failed}++;
        $stats{fails}{connect}++;
        return;
    }
    $c->{cws} = $ws;
    $calls{$id} = $c;
    $stats{started}++;
    watch($ws, $c);
    $ws->send_json({ type => 'join', name => "Soak $id" });
}

sub step {
    my ($c, $to) = @_;
    $c->{state} = $to;
    $c->{since} = time;
}

# what a customer's connection received
sub on_customer {
    my ($c, $m) = @_;
    my $type = $m->{type} // '';
    return if $type eq 'position' || $type eq 'ack';

    if ($type eq 'welcome' && $c->{state} eq 'join') {
        $c->{call_id} = $m->{call_id};
        step($c, 'queued');
        return;
    }
    if ($type eq 'accepted') {
        $c->{got}{accepted_c} = 1;
    } elsif ($type eq 'offer') {
        $c->{cws}->send_json({ type => 'answer', sdp => $SDP });
        $c->{cws}->send_json({ type => 'chat', text => "customer $_" })
            for 1 .. 3;
        $stats{msgs} += 4;
    } elsif ($type eq 'chat') {
        $c->{got}{chat_c}++;
    } elsif ($type eq 'ended') {
        $c->{got}{ended_c} = 1;
    } elsif ($type eq 'error') {
        fail_call($c, "customer error $m->{code}");
        return;
    }
    advance($c);
}

# what an agent's connection received
sub on_agent {
    my ($a, $m) = @_;
    my $type = $m->{type} // '';
    return if $type eq 'queue' || $type eq 'ack' || $type eq 'welcome';

    my $c = $a->{call};
    unless ($c) {
        # the end of a call given up, or its late messages
        return;
    }
    if ($type eq 'accepted') {
        $c->{got}{accepted_a} = 1;
    } elsif ($type eq 'answer') {
        $a->{ws}->send_json({ type => 'chat', text => "agent $_" })
            for 1 .. 3;
        $stats{msgs} += 3;
    } elsif ($type eq 'chat') {
        $c->{got}{chat_a}++;
    } elsif ($type eq 'ended') {
        $c->{got}{ended_a} = 1;
    } elsif ($type eq 'error') {
        fail_call($c, "agent error $m->{code}");
        return;
    }
    advance($c);
}

sub advance {
    my ($c) = @_;
    my $g = $c->{got};

    if ($c->{state} eq 'accepting' && $g->{accepted_a} && $g->{accepted_c}) {
        $c->{agent}{ws}->send_json({ type => 'offer', sdp => $SDP });
        $stats{msgs}++;
        step($c, 'talking');
    }
    if ($c->{state} eq 'talking'
        && ($g->{chat_a} // 0) >= 3 && ($g->{chat_c} // 0) >= 3)
    {
        my $ws = $c->{by} eq 'customer' ? $c->{cws} : $c->{agent}{ws};
        $ws->send_json({ type => 'hangup' });
        step($c, 'ending');
    }
    if ($c->{state} eq 'ending' && $g->{ended_a} && $g->{ended_c}) {
        # the server closes the customer's connection (1000): answered by
        # the client, then the socket goes
        step($c, 'closing');
    }
    if ($c->{state} eq 'closing' && $c->{cws}->is_closed) {
        $c->{state} = 'done';
        $stats{done}++;
        finish_call($c);
    }
}

# idle agents take the queued calls, oldest first
sub dispatch {
    for my $c (sort { $a->{id} <=> $b->{id} }
               grep { $_->{state} eq 'queued' } values %calls)
    {
        my $a = shift @idle or return;
        $c->{agent} = $a;
        $a->{call} = $c;
        $a->{ws}->send_json({ type => 'accept', call_id => $c->{call_id},
                              id => "acc$c->{id}" });
        step($c, 'accepting');
    }
}

# an agent's connection closed (4002 if its client did not keep up):
# counted, its call failed, and it connects again
sub agent_lost {
    my ($a) = @_;
    my $ws = $a->{ws};
    my $why = 'agent closed ' . ($ws->{close_code} // 'without close');
    $stats{fails}{$why}++;
    printf "  agent %s: %s %s\n", $a->{sub}, $why, $ws->{close_reason} // '';
    unwatch($ws);
    $ws->drop;
    @idle = grep { $_ != $a } @idle;
    if (my $c = $a->{call}) {
        $c->{agent} = undef;
        fail_call($c, 'its agent lost the connection');
    }
    $a->{call} = undef;
    $a->{ws} = eval { $t->agent(sub => $a->{sub}, exp => $agent_exp) }
        or die "soak: agent $a->{sub} cannot connect again: $@";
    $a->{ws}{inbox} = [];
    watch($a->{ws}, $a);
    push @idle, $a;
}

sub pump {
    my ($timeout) = @_;
    for my $fh ($sel->can_read($timeout)) {
        # (a call that failed meanwhile closed its socket)
        next unless defined fileno $fh;
        my $e = $by_fd{ fileno $fh } or next;
        my ($ws, $owner) = @$e;
        $ws->_read_once(time);
        my @in = @{ $ws->{inbox} };
        $ws->{inbox} = [];
        # what the client keeps of every frame would grow for hours
        $ws->{frames} = [];
        $ws->{pings} = [];
        for my $m (@in) {
            if (exists $owner->{sub}) {
                on_agent($owner, $m);
            } else {
                last unless $calls{ $owner->{id} };
                on_customer($owner, $m);
            }
        }
        next unless $ws->is_closed;
        if (exists $owner->{sub}) {
            agent_lost($owner);
            next;
        }
        # no more reads of it: the server closed it (after ended) or not
        unwatch($ws);
        next unless $calls{ $owner->{id} };
        if ($owner->{got}{ended_c}) {
            advance($owner);
        } else {
            fail_call($owner, "customer closed in $owner->{state}");
        }
    }
}

sub reap {
    my $now = time;
    for my $c (values %calls) {
        fail_call($c, "timeout in $c->{state}")
            if $now - $c->{since} > $PHASE_TIMEOUT;
    }
}

# ---------------------------------------------------------------------------
# the run

my $t0 = time;
my $first = sample('start', 0, \%stats);
my $next_call = $t0;
my $next_sample = $t0 + $SAMPLE;
my $end = $t0 + $SECONDS;

while (time < $end) {
    my $now = time;
    while ($now >= $next_call && keys(%calls) < $MAX_INFLIGHT) {
        start_call();
        $next_call += 1 / $RATE;
    }
    # behind schedule (a slow moment): no burst to catch up
    $next_call = $now if $now - $next_call > 1;

    dispatch();
    my $wait = $next_call - time;
    $wait = 0 if $wait < 0;
    $wait = 0.05 if $wait > 0.05;
    pump($wait);
    reap();

    if (time >= $next_sample) {
        sample('churn', time - $t0, \%stats);
        $next_sample += $SAMPLE;
    }
}

my $churn_end = time;
my $last = sample('end', $churn_end - $t0, \%stats);

# no new calls: let those under way finish
while (%calls && time < $churn_end + 3 * $PHASE_TIMEOUT) {
    dispatch();
    pump(0.05);
    reap();
}

# an idle agent's buffer lets go of its last calls once the server's next
# ping (hotline_ping_interval, 30 s) is answered: the clients keep reading
my $settle = time + ($ENV{SOAK_SETTLE} // 35);
pump(0.2) while time < $settle;
my $after = sample('after', time - $t0, \%stats);

# ---------------------------------------------------------------------------
# the verdict

# the churn's samples after the start; the zone rises and falls with the
# pings that let go of what was delivered, so each half is judged by its
# peak: the second half's may not stand above the first's
my @churn = grep { $_->{label} ne 'after' } @samples;
my $mid = $churn[ floor($#churn / 2) ];
my @h1 = @churn[1 .. floor($#churn / 2)];
my @h2 = @churn[floor($#churn / 2) + 1 .. $#churn];
@h1 = ($first) unless @h1;
@h2 = ($last) unless @h2;

sub peak {
    my ($k, @s) = @_;
    my $m = $s[0]{$k};
    for (@s) { $m = $_->{$k} if $_->{$k} > $m }
    return $m;
}

my @flags;

for my $i (0 .. $#workers) {
    for my $k ("pd$i", "po$i") {
        my ($p1, $p2) = (peak($k, @h1), peak($k, @h2));
        push @flags, sprintf("worker %d %s grew %d KiB from the first half "
                             . "of the churn to the second (peaks %d, %d)",
                             $i, $k =~ /pd/ ? 'Private_Dirty'
                                            : 'private heap',
                             $p2 - $p1, $p1, $p2)
            if $p2 - $p1 > 2048 && $p2 - $p1 > 0.05 * $p1;
    }
    my ($f1, $f2) = (peak("fd$i", @h1), peak("fd$i", @h2));
    push @flags, "worker $i descriptors grew from $f1 to $f2 over the churn"
        if $f2 - $f1 > 8;
    my $fa = $after->{"fd$i"} - $first->{"fd$i"};
    push @flags, "worker $i holds $fa more descriptors after the churn"
        if $fa > 8;
}

# the zone lets go of what was read every ping interval (30 s): a shorter
# churn cannot tell growth from what is in flight
my $zone_judged = $SECONDS >= 60 && ($ENV{SOAK_SETTLE} // 35) >= 35;
my ($z1, $z2) = (peak('used', @h1), peak('used', @h2));
push @flags, sprintf("zone grew %d KiB from the first half of the churn to "
                     . "the second (peaks %d, %d KiB)", ($z2 - $z1) / 1024,
                     $z1 / 1024, $z2 / 1024)
    if $zone_judged && $z2 - $z1 > 65536 && $z2 - $z1 > 0.02 * $z1;
my $za = $after->{used} - $first->{used};
push @flags, sprintf("zone holds %d KiB more after the churn", $za / 1024)
    if $zone_judged && $za > 65536;
print "soak: the zone is not judged (a churn under 60 s or a settle under "
      . "35 s cannot tell growth from what waits for a ping)\n"
    unless $zone_judged;

push @flags, "$stats{failed} calls failed ("
             . join(', ', map { "$_: $stats{fails}{$_}" }
                          sort keys %{ $stats{fails} }) . ")"
    if $stats{failed};

my @now = $t->worker_pids;
push @flags, "the workers changed: @workers -> @now (a crash?)"
    if "@now" ne "@workers";

my @bad = $t->bad_log_lines;
push @flags, scalar(@bad) . " alert/crit lines in the error log: $bad[0]"
    if @bad;

if ($CSV) {
    open my $fh, '>', $CSV or die "$CSV: $!";
    my @k = ('label', 't', 'done', 'failed', 'active', 'conns', 'used',
             map { ("pd$_", "po$_", "fd$_") } 0 .. $#workers);
    print $fh join(',', @k), "\n";
    print $fh join(',', map { $_->{$_} // '' } @k), "\n"
        for map { my $s = $_; +{ map { $_ => $s->{$_} } @k } } @samples;
}

my $elapsed = $churn_end - $t0;
printf "\nsoak: %d calls in %.0f s (%.1f/s), %d failed, %d messages sent "
       . "by the clients\n", $stats{done}, $elapsed,
       $stats{done} / ($elapsed || 1), $stats{failed}, $stats{msgs};
print "\n| | t (s) | calls | zone used (KiB) | "
      . join(' | ', map { "worker $_ Private_Dirty (KiB) | "
                          . "worker $_ private heap (KiB) | worker $_ fds" }
                    0 .. $#workers) . " |\n";
print "|---" x (4 + 3 * @workers), "|\n";
for my $s ($first, $mid, $last, $after) {
    printf "| %s | %.0f | %d | %.0f | %s |\n",
           $s == $mid ? 'middle' : $s->{label}, $s->{t}, $s->{done},
           $s->{used} / 1024,
           join(' | ', map { ($s->{"pd$_"}, $s->{"po$_"}, $s->{"fd$_"}) }
                       0 .. $#workers);
}
print "\n";

if (@flags) {
    print "soak: FLAGGED\n", map { "  - $_\n" } @flags;
} else {
    print "soak: nothing grows without bound\n";
}

for my $a (@agents) { $a->{ws}->drop }
$t->_kill_quietly;

exit(@flags ? 1 : 0);
