package Hotline::Traffic;

# Calls under load for the fault tests (t/110..t/115): N calls, both parties
# sending numbered chat lines at a rate, each party a client that behaves
# as docs/protocol.md says (and html/js/signaling.js does): it keeps the
# highest `seq` it has seen and drops what is not above it, and after a
# dropped connection it comes back at once and then with backoff, a
# customer with `resume` + `last_seq`, an agent with `?last_seq=` in its
# handshake URL; it stops on the close codes the browser treats as final
# (4000, 4004, 4005, 1000).  It records every message: what it sent and
# whether it was acknowledged, what it received, in which order, with
# which `seq`, and every gap it was told of (`welcome` `gap`, a `gap`
# message).
#
#   my $tr = Hotline::Traffic->new(nodes => [$t], calls => 10, rate => 10);
#   $tr->setup;                 # the calls, accepted
#   $tr->run(3);                # traffic for 3 s
#   ... a fault ...; $tr->run(5, until => sub { ... });
#   $tr->settle(20);            # stop sending; every party back, all in
#   $tr->check('what');         # the contract, as Test::More tests
#   $tr->hangup;                # every call ends (hangup) on both sides
#
# The contract (issue 15): every acknowledged message is delivered exactly
# once and in order, or the receiver was told of a gap where it is
# missing; no call is lost.  A message whose fate the sender cannot know
# (its connection dropped before the ack, or the answer was
# `unavailable`) may be delivered or not, but not twice nor out of order.
#
# Every wait is a poll with a deadline; nothing sleeps and hopes.

use strict;
use warnings;

use Carp qw(croak);
use IO::Select;
use Time::HiRes qw(time sleep);
use Test::More ();

use Hotline::Test qw(json_encode);

# close codes after which a browser does not reconnect (signaling.js)
my %FINAL = map { $_ => 1 } (1000, 1002, 1003, 1007, 1009, 4000, 4004, 4005);

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        nodes   => $o{nodes} || croak('nodes'),
        calls   => $o{calls} // 10,
        rate    => $o{rate} // 10,      # messages per second per party
        tag     => $o{tag} // ('t' . int(rand(1e6))),
        retry   => $o{retry} // [0.05, 0.1, 0.25, 0.5, 1, 1, 2],
        parties => [],
        sending => 0,
        log     => [],
    }, $class;
    return $self;
}

sub parties { @{ $_[0]{parties} } }

# a line of what happened, kept for diag() when a check fails
sub note {
    my ($self, $text) = @_;
    push @{ $self->{log} }, sprintf('%.3f %s', time() - ($self->{t0} // time()),
                                    $text);
    shift @{ $self->{log} } while @{ $self->{log} } > 400;
}

# ---------------------------------------------------------------------------
# the calls

# $o{node}: the index of the node of call $i's customer (default: spread);
# its agent is on the next node
sub setup {
    my ($self, %o) = @_;
    $self->{t0} = time();
    my @nodes = @{ $self->{nodes} };
    for my $i (0 .. $self->{calls} - 1) {
        my $cn = $o{node} ? $o{node}->($i) : $i % @nodes;
        my $an = ($cn + 1) % @nodes;
        my $tc = $nodes[$cn];
        my $ta = $nodes[$an];
        my $sub = "$self->{tag}-a$i";
        my $cws = $tc->customer("C$i");
        my $aws = $ta->agent(sub => $sub);
        ($cws, $aws) = $tc->call(customer => $cws, agent => $aws);
        my $c = $self->_party(customer => "c$i", $cn, $cws);
        my $a = $self->_party(agent => "a$i", $an, $aws);
        $a->{sub} = $sub;
        $a->{jwt} = $aws->{jwt};
        $c->{peer} = $a;
        $a->{peer} = $c;
        $c->{call} = $a->{call} = $i;
        $c->{call_id} = $a->{call_id} = $cws->{call_id};
        push @{ $self->{parties} }, $c, $a;
    }
    $self->note("setup: $self->{calls} calls");
    return $self;
}

sub _party {
    my ($self, $role, $name, $node, $ws) = @_;
    my $p = {
        role => $role, name => $name, node => $node, ws => $ws,
        token => $ws->{token}, established => 1,
        last_seq => $ws->{accepted}{seq} // 0,
        next_n => 1, next_send => 0, attempt => 0,
        pending => {},          # id -> n, on the current connection
        acked => {}, unknown => {}, refused => {},
        got => [],              # [n, seq] of the peer's chats; 'gap' marks
        dup_seq => 0, skips => [], gaps => 0, closes => [],
        reconnects => 0, final => undef, resume_id => 0,
        in_call => 1,
    };
    # what arrived with the accept (queue updates) is of no interest
    $ws->{inbox} = [];
    return $p;
}

# ---------------------------------------------------------------------------
# the loop

# traffic for $secs seconds (or until $o{until} is true); with $o{quiet}
# nothing is sent
sub run {
    my ($self, $secs, %o) = @_;
    my $deadline = time() + $secs;
    local $self->{sending} = $o{quiet} ? 0 : 1;
    while (1) {
        my $now = time();
        last if $now >= $deadline;
        last if $o{until} && $o{until}->();
        $self->_timers($now);
        $self->_read(0.01);
    }
    return $self;
}

sub _timers {
    my ($self, $now) = @_;
    my $gap = 1 / $self->{rate};
    for my $p ($self->parties) {
        next if $p->{final};
        if (!$p->{ws}) {
            $self->_reconnect($p) if $now >= ($p->{retry_at} // 0);
            next;
        }
        if ($p->{resume_at} && $now >= $p->{resume_at}) {
            delete $p->{resume_at};
            $self->_send_resume($p);
        }
        next unless $self->{sending} && $p->{established} && $p->{in_call};
        next if $now < $p->{next_send};
        $p->{next_send} = $now + $gap * (0.75 + rand(0.5));
        $self->send($p);
    }
}

# the party's next numbered chat, now
sub send {
    my ($self, $p) = @_;
    my $n = $p->{next_n}++;
    my $id = "$p->{name}-$n";
    $p->{pending}{$id} = $n;
    $p->{sent}++;
    $p->{ws}->send_json({ type => 'chat', text => "$p->{name}:$n",
                          id => $id })
        or $self->_dropped($p, 'write failed');
}

sub _read {
    my ($self, $timeout) = @_;
    my (%by, @socks);
    for my $p ($self->parties) {
        my $ws = $p->{ws} or next;
        $by{ fileno($ws->{sock}) // next } = $p;
        push @socks, $ws->{sock};
    }
    unless (@socks) {
        sleep $timeout;
        return;
    }
    # what a connection holds already (TLS records read ahead) is read
    # without waiting for the socket
    my @ready = grep { $_->isa('IO::Socket::SSL') && $_->pending } @socks;
    @ready = IO::Select->new(@socks)->can_read($timeout) unless @ready;
    for my $s (@ready) {
        my $p = $by{ fileno($s) // next } or next;
        my $ws = $p->{ws} or next;
        $ws->_read_once(time());
        $self->_inbox($p);
        if ($p->{ws} && ($ws->{eof} || $ws->{closed})) {
            $self->_dropped($p, 'closed');
        }
    }
}

sub _inbox {
    my ($self, $p) = @_;
    my $ws = $p->{ws} or return;
    while (my $m = shift @{ $ws->{inbox} }) {
        $self->_message($p, $m);
    }
}

sub _message {
    my ($self, $p, $m) = @_;
    my $type = $m->{type} // '';

    if (defined $m->{seq}) {
        if ($m->{seq} <= $p->{last_seq}) {
            # replayed again: the client drops it, as the browser does
            $p->{dup_seq}++;
            return;
        }
        if ($m->{seq} > $p->{last_seq} + 1 && $type ne 'gap') {
            push @{ $p->{skips} }, [$p->{last_seq}, $m->{seq}];
            $self->note("$p->{name}: seq $p->{last_seq} -> $m->{seq}");
        }
        $p->{last_seq} = $m->{seq};
    }

    if ($type eq 'chat') {
        my ($who, $n) = ($m->{text} // '') =~ /^(\w+):(\d+)$/
            or return;
        push @{ $p->{got} }, [$n, $m->{seq}];
        $p->{foreign}++ if $who ne $p->{peer}{name};

    } elsif ($type eq 'gap') {
        $p->{gaps}++;
        push @{ $p->{got} }, 'gap';
        $self->note("$p->{name}: gap " . json_encode($m));

    } elsif ($type eq 'ack') {
        my $n = delete $p->{pending}{ $m->{id} // '' };
        $p->{acked}{$n} = 1 if defined $n;

    } elsif ($type eq 'error') {
        my $id = $m->{id} // '';
        my $code = $m->{code} // '';
        if ($id =~ /^resume-/) {
            $self->note("$p->{name}: resume: $code");
            if ($code eq 'unavailable') {
                $p->{resume_at} = time() + 0.25;
            }
            return;
        }
        my $n = delete $p->{pending}{$id};
        return unless defined $n;
        if ($code eq 'unavailable') {
            $p->{unknown}{$n} = 1;
        } else {
            $p->{refused}{$n} = $code;
        }

    } elsif ($type eq 'welcome') {
        $p->{established} = 1;
        $p->{attempt} = 0;
        if ($m->{gap}) {
            $p->{gaps}++;
            push @{ $p->{got} }, 'gap';
            $self->note("$p->{name}: welcome with gap");
        }
        if ($p->{role} eq 'agent' && !$m->{call_id} && $p->{in_call}) {
            $self->note("$p->{name}: welcome without its call");
            $p->{in_call} = 0;
            $p->{lost_call} = 'welcome without call';
        }

    } elsif ($type eq 'ended') {
        $p->{in_call} = 0;
        $p->{ended} = $m;
        $self->note("$p->{name}: ended " . ($m->{reason} // '?'));
    }
}

# the connection is gone: what was not acknowledged has an unknown fate
sub _dropped {
    my ($self, $p, $why, $keep) = @_;
    my $ws = $p->{ws} or return;
    $self->_inbox($p);
    my $code = $ws->{close_code};
    if ($keep) {
        push @{ $self->{abandoned} }, $ws;
    } else {
        $ws->drop;
    }
    $p->{ws} = undef;
    $p->{established} = 0;
    delete $p->{resume_at};
    $p->{unknown}{$_} = 1 for values %{ $p->{pending} };
    $p->{pending} = {};
    push @{ $p->{closes} }, $code // 'eof';
    $self->note("$p->{name}: dropped (" . ($code // 'eof') . ", $why)");
    if (defined $code && $FINAL{$code}) {
        if (!$p->{ended} || $code != 1000) {
            $p->{final} = $code;
            $p->{lost_call} //= "closed $code";
        } else {
            $p->{final} = $code;
        }
        return;
    }
    $p->{retry_at} = time()
        + ($p->{attempt} ? $self->{retry}[ $p->{attempt} - 1 ]
                               // $self->{retry}[-1] : 0);
}

# drop a party's connection now (a flapping client): without a close
# frame; close => code: with one; keep => 1: the old connection stays open
# but the client no longer reads it (a network that hangs rather than
# fails: the server finds out when the party comes back on another)
sub drop {
    my ($self, $p, %o) = @_;
    my $ws = $p->{ws} or return;
    $ws->send_frame('close', pack('n', $o{close})) if $o{close};
    $self->_dropped($p, 'dropped by the test', $o{keep});
    $p->{retry_at} = time() + ($o{after} // 0);
}

sub _reconnect {
    my ($self, $p) = @_;
    my @nodes = @{ $self->{nodes} };
    my $t = $nodes[ $p->{node} ];
    $p->{attempt}++;
    $p->{reconnects}++;
    my $ws = eval {
        if ($p->{role} eq 'agent') {
            $t->ws_connect("/ws/agent?last_seq=$p->{last_seq}",
                           token => $p->{jwt}, timeout => 3);
        } else {
            $t->ws_connect('/ws/customer', timeout => 3);
        }
    };
    if (!$ws) {
        my $err = $@ || '?';
        $err =~ s/\n.*//s;
        $self->note("$p->{name}: connect to node $p->{node}: $err");
        # the next node, if there is one
        $p->{node} = ($p->{node} + 1) % @nodes
            if @nodes > 1 && $err =~ /connect:|no answer/;
        $p->{retry_at} = time() + ($self->{retry}[ $p->{attempt} - 1 ]
                                   // $self->{retry}[-1]);
        return;
    }
    $p->{ws} = $ws;
    $p->{established} = 0;
    $self->note("$p->{name}: connected to node $p->{node}");
    # what came with the 101 (an agent's welcome and replay): the socket
    # will not say it is readable for what was read already
    $self->_inbox($p);
    if ($p->{ws} && ($ws->{eof} || $ws->{closed})) {
        $self->_dropped($p, 'closed');
        return;
    }
    $self->_send_resume($p) if $p->{role} eq 'customer';
}

sub _send_resume {
    my ($self, $p) = @_;
    my $id = 'resume-' . ++$p->{resume_id};
    $p->{ws}->send_json({ type => 'resume', token => $p->{token},
                          last_seq => $p->{last_seq}, id => $id })
        or $self->_dropped($p, 'write failed');
}

# ---------------------------------------------------------------------------
# the end

# nothing more is sent; until every party that is not final is connected
# and every acknowledged message has reached its peer (or $secs)
sub settle {
    my ($self, $secs) = @_;
    my $ok = 0;
    $self->run($secs // 20, quiet => 1, until => sub {
        for my $p ($self->parties) {
            next if $p->{final};
            return 0 unless $p->{established} && !%{ $p->{pending} };
            my $peer = $p->{peer};
            next if $peer->{final} || !$peer->{in_call};
            my %got = map { ref $_ ? ($_->[0] => 1) : () } @{ $peer->{got} };
            return 0 if grep { !$got{$_} } keys %{ $p->{acked} };
        }
        $ok = 1;
    });
    # anything late (a replay, a duplicate) shows here
    $self->run(0.3, quiet => 1);
    $self->note('settled') if $ok;
    return $ok;
}

# the numbers of one direction: $p's messages as its peer received them
sub direction {
    my ($self, $p) = @_;
    my $peer = $p->{peer};
    my @got = @{ $peer->{got} };
    my (%seen, @order, $dups, $disorder);
    $dups = $disorder = 0;
    my $max = 0;
    for my $g (@got) {
        next unless ref $g;
        my $n = $g->[0];
        if ($seen{$n}++) { $dups++; next }
        $disorder++ if $n < $max;
        $max = $n if $n > $max;
        push @order, $n;
    }
    # an acknowledged message that did not come: told of a gap there?
    my ($lost, $gapped) = (0, 0);
    my @missing;
    for my $n (sort { $a <=> $b } keys %{ $p->{acked} }) {
        next if $seen{$n};
        my ($before, $after) = (0, 9**9);
        my ($bi, $ai) = (-1, scalar @got);
        for my $i (0 .. $#got) {
            next unless ref $got[$i];
            my $m = $got[$i][0];
            if ($m < $n && $m >= $before) { $before = $m; $bi = $i }
            if ($m > $n && $m < $after) { $after = $m; $ai = $i; }
        }
        my $told = grep { !ref $got[$_] }
                   ($bi + 1 .. ($ai > $#got ? $#got : $ai - 1));
        if ($told) { $gapped++ } else { $lost++; push @missing, $n }
    }
    my $unknown_got = grep { $seen{$_} } keys %{ $p->{unknown} };
    my $refused_got = grep { $seen{$_} } keys %{ $p->{refused} };
    return {
        from => $p->{name}, to => $peer->{name},
        sent => $p->{sent} // 0,
        acked => scalar(keys %{ $p->{acked} }),
        unknown => scalar(keys %{ $p->{unknown} }),
        unknown_delivered => $unknown_got,
        refused => scalar(keys %{ $p->{refused} }),
        refused_delivered => $refused_got,
        delivered => scalar(@order),
        duplicated => $dups,
        disordered => $disorder,
        lost => $lost,
        gapped => $gapped,
        missing => \@missing,
    };
}

# the sums over every direction, and over the parties
sub totals {
    my ($self) = @_;
    my %s = map { $_ => 0 } qw(sent acked unknown unknown_delivered refused
                               refused_delivered delivered duplicated
                               disordered lost gapped);
    for my $p ($self->parties) {
        my $d = $self->direction($p);
        $s{$_} += $d->{$_} for keys %s;
    }
    for my $p ($self->parties) {
        $s{seq_replayed} += $p->{dup_seq};
        $s{seq_skips} += @{ $p->{skips} };
        $s{gaps_told} += $p->{gaps};
        $s{reconnects} += $p->{reconnects};
        $s{replaced} += grep { $_ eq '4000' } @{ $p->{closes} };
        $s{calls_lost}++ if $p->{lost_call};
        $s{foreign} += $p->{foreign} // 0;
    }
    $s{$_} //= 0 for qw(seq_replayed seq_skips gaps_told reconnects
                        replaced calls_lost foreign);
    return \%s;
}

sub summary {
    my ($self) = @_;
    my $s = $self->totals;
    return join ' ', map { "$_=$s->{$_}" } qw(sent acked delivered lost
        gapped duplicated disordered unknown unknown_delivered refused
        seq_skips seq_replayed gaps_told reconnects replaced calls_lost);
}

# the contract as tests; $o{gaps}: gaps may be told (a lossy fault)
sub check {
    my ($self, $what, %o) = @_;
    my $s = $self->totals;
    Test::More::note("$what: " . $self->summary);
    my $ok = 1;
    $ok &= Test::More::cmp_ok($s->{acked}, '>', 0,
                              "$what: messages were acknowledged");
    $ok &= Test::More::is($s->{lost}, 0,
        "$what: every acknowledged message delivered or its gap told");
    $ok &= Test::More::is($s->{duplicated}, 0, "$what: nothing delivered twice");
    $ok &= Test::More::is($s->{disordered}, 0, "$what: all in order");
    $ok &= Test::More::is($s->{seq_skips}, 0,
                          "$what: no seq skipped without a gap told");
    $ok &= Test::More::is($s->{refused_delivered}, 0,
                          "$what: nothing refused was delivered");
    $ok &= Test::More::is($s->{foreign}, 0, "$what: nobody got another's");
    $ok &= Test::More::is($s->{replaced}, 0,
                          "$what: no connection told it was replaced");
    $ok &= Test::More::is($s->{calls_lost}, 0, "$what: no call lost");
    $ok &= Test::More::is($s->{gapped}, 0, "$what: no gap") unless $o{gaps};
    unless ($ok) {
        for my $p ($self->parties) {
            my $d = $self->direction($p);
            next unless $d->{lost} || $d->{duplicated} || $d->{disordered}
                        || @{ $p->{skips} } || $p->{lost_call};
            Test::More::diag(json_encode({ %$d, skips => $p->{skips},
                closes => $p->{closes}, lost_call => $p->{lost_call} }));
        }
        Test::More::diag(join "\n", @{ $self->{log} }[-60 .. -1])
            if @{ $self->{log} } > 60;
    }
    return $ok;
}

# every call ends with a hangup, both parties told
sub hangup {
    my ($self, $what) = @_;
    my ($ended, $calls) = (0, 0);
    for my $c (grep { $_->{role} eq 'customer' } $self->parties) {
        my $a = $c->{peer};
        next if $c->{final} || $a->{final} || !$c->{ws} || !$a->{ws};
        $calls++;
        $c->{ws}->send_json({ type => 'hangup' });
        my $ec = $c->{ws}->wait_for('ended', 5);
        my $ea = $a->{ws}->wait_for('ended', 5);
        $ended++ if $ec && $ea && $ec->{reason} eq 'hangup'
                    && $ea->{reason} eq 'hangup';
    }
    Test::More::is($ended, $self->{calls},
                   "$what: every call ends by a hangup, both parties told");
    for my $p ($self->parties) {
        $p->{ws}->drop if $p->{ws};
        $p->{ws} = undef;
        $p->{final} //= 'done';
    }
    $_->drop for @{ $self->{abandoned} || [] };
    return $ended;
}

1;
