#!/usr/bin/perl
# The Redis store's commit script does a relay (the chat line, and its
# transcript line) on a short path: a node sends it as one operation, R
# (c, o and a in one); alone, the script does not read a batch; in a
# batch, it skips the loops of the general path.  Both must do exactly
# what the general path does: here the relay a node really sent (caught
# with MONITOR) runs alone, in a batch ("| 0": an empty transaction
# after it) and on the general path (as its check, owned and append
# operations, owned first), from the same
# states of the records (room, a full inbox with and without what was
# delivered, a busy reader, a detached one, a version or a consumer that
# changed, a full transcript, no peer), under a prefix of the test's own;
# the answers, the keys after and what was published must be the same.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed'
    unless Hotline::Redis::available();

my $r = Hotline::Redis->new->start;
my $t = Hotline::Test->new(http => $r->directive, workers => 1)->start;
ok(Hotline::Redis->wait_store_up($t), 'the node is up on redis');

my ($c, $a) = $t->call(name => 'Paths');

# a process that writes what redis-cli prints to a file; returns its pid
sub spawn_cli {
    my ($file, @args) = @_;
    Hotline::Test::write_file($file, '');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>>', $file or POSIX::_exit(1);
        open STDERR, '>&', \*STDOUT;
        exec $Hotline::Redis::CLI, '-h', '127.0.0.1', '-p', $r->port,
             @args
            or POSIX::_exit(127);
    }
    return $pid;
}

sub stop_cli {
    my ($pid) = @_;
    kill 'TERM', $pid;
    waitpid $pid, 0;
}

# 1. the arguments of a relay, as the node sends them
my $mon = $t->prefix . '/monitor.out';
my $mpid = spawn_cli($mon, 'monitor');
ok(poll_until(5, sub { Hotline::Test::read_file($mon) =~ /^OK/m }),
   'MONITOR is on');
$c->send_json({ type => 'chat', text => 'short "path" one', id => 'p1' });
ok($a->wait_for('chat', 5, sub { $_[0]{text} eq 'short "path" one' }),
   'a chat line is relayed');
my $relay;
poll_until(5, sub {
    for (split /\n/, Hotline::Test::read_file($mon)) {
        next unless /"EVALSHA"/i && /short \\\\\\"path/;
        my @w;
        while (/"((?:[^"\\]|\\.)*)"/g) {
            my %esc = (n => "\n", r => "\r", t => "\t", a => "\a",
                       b => "\b");
            (my $s = $1) =~ s{\\x([0-9a-f]{2})|\\(.)}
                             {defined $1 ? chr(hex $1) : $esc{$2} // $2}ge;
            push @w, $s;
        }
        $relay = \@w;
        return 1;
    }
    0;
});
stop_cli($mpid);
ok($relay, 'the relay\'s script call was seen') or BAIL_OUT('no relay');

# EVALSHA sha 0 P CH R 12 K V G K2 M max force err retry K3 max3 X
# (the transcript's line: M without its first byte, X after it)
my ($cmd, $sha, $nkeys, @sent) = @$relay;
is($nkeys, 0, 'the script takes no KEYS');
is(scalar @sent, 16, 'a chat line: the relay and its transcript line')
    or diag(json_encode(\@sent));
is(join(' ', @sent[2, 3]), 'R 12',
   'one operation: the relay with its transcript\'s line');
is($sent[10], 0, 'the relay\'s append is not forced');
is(length $sent[15], 1, 'the line\'s last byte goes alone');

# the same as c, o and a (what the test varies: two appends), and back
sub coa {
    my @v = @_;
    return (@v[0, 1], 'c', 2, @v[4, 5], 'o', 2, @v[4, 6], 'a', 6,
            @v[7 .. 12], 'a', 6, $v[13], substr($v[8], 1) . $v[15],
            $v[14], 0, 0, 0);
}
sub short {
    my @v = @_;
    my @r = (@v[0, 1], 'R', 9, @v[4, 5, 9], @v[12 .. 17]);
    return @r if @v == 18;
    # the transcript's a after it: inline when it is the message's line
    return (@r, @v[18 .. $#v])
        unless $v[23] eq '0' && $v[24] eq '0' && $v[25] eq '0'
               && length $v[21] == length $v[13]
               && substr($v[21], 0, -1) eq substr($v[13], 1);
    $r[3] = 12;
    return (@r, $v[20], $v[22], substr($v[21], -1));
}
my @argv = coa(@sent);
is_deeply([ short(@argv) ], \@sent, 'R and c, o, a convert both ways');
my $msg = $argv[13];
like($msg, qr/"text":"short \\"path\\" one"/,
     'the first append is the chat line, its quotes escaped');

# 2. the states, under a prefix of the test's own (the node never reads
# it) and a channel nobody but the test's subscriber listens on
my $P = 'eqpath' . $$ . ':';
my $CH = $P . 'me';
my $PEER = $P . 'peer';
my ($K, $K2, $K3) = ('me', 'peer', 'log');
my $line = length $msg;

sub reset_keys {
    my @keys = grep { length } split /\n/, $r->cli('KEYS', "$P*");
    $r->cli('DEL', @keys) if @keys;
}

sub hset { my ($k, %f) = @_; $r->cli('HSET', $P . $k, %f) }

sub inbox {
    my ($k, $n, $len) = @_;
    $r->cli('RPUSH', "${P}m:$k", ('x' x $len) x $n) if $n;
}

# a record of the peer with an inbox of n messages of len bytes, seq up
# to 10 + n - 1, delivered up to dl
sub peer {
    my (%o) = @_;
    my $n = $o{n} // 0;
    my $len = $o{len} // 10;
    hset("r:$K2", v => 4, d => '{}', ow => $o{ow} // $PEER, g => 9,
         sq => 9 + $n, by => $n * $len, dl => $o{dl} // 9 + $n,
         ($o{bk} ? (bk => 1) : ()));
    inbox($K2, $n, $len);
}

sub me {
    my (%o) = @_;
    hset("r:$K", v => $o{v} // 3, d => '{}', ow => $o{ow} // $CH,
         g => $o{g} // 7, sq => 0, by => 0, dl => 0);
}

sub transcript {
    my (%o) = @_;
    my $n = $o{n} // 0;
    hset("r:$K3", v => 1, d => '', sq => $n, by => $n * 100,
         dl => $o{dl} // 0);
    inbox($K3, $n, 100);
}

# the relay's arguments with the state's names: max the peer's buffer,
# tmax the transcript's
sub args {
    my (%o) = @_;
    my @v = @argv;
    @v[0, 1] = ($P, $CH);
    @v[4, 5, 8, 9] = ($K, $o{version} // 3, $K, $o{gen} // 7);
    @v[12, 14, 17] = ($K2, $o{max} // 4096, $o{retry} // 0);
    @v[20, 22] = ($K3, $o{tmax} // 100000);
    return @v;
}

sub dump_keys {
    my @out;
    for my $k (sort grep { length } split /\n/, $r->cli('KEYS', "$P*")) {
        my $type = $r->cli('TYPE', $k);
        chomp $type;
        if ($type eq 'hash') {
            # (a field's empty value is kept: no limit drops it)
            my $all = $r->cli('HGETALL', $k);
            chomp $all;
            my %h = split /\n/, $all, -1;
            push @out, "$k " . join(' ', map { "$_=$h{$_}" } sort keys %h);
        } elsif ($type eq 'list') {
            my @l = split /\n/, $r->cli('LRANGE', $k, 0, -1);
            push @out, "$k [" . join('|', map { length } @l) . "] $l[-1]";
        } else {
            push @out, "$k $type";
        }
    }
    return join "\n", @out;
}

# what the test's subscriber got since the last look
my $sub_file = $t->prefix . '/subscriber.out';
my $spid = spawn_cli($sub_file, '--raw', 'subscribe', $PEER);
ok(poll_until(5, sub { Hotline::Test::read_file($sub_file) =~ /\Q$PEER\E/ }),
   'the subscriber listens');
my $seen = 0;
my $mark = 0;
sub published {
    $mark++;
    $r->cli('PUBLISH', $PEER, "end-$mark");
    my @m;
    poll_until(5, sub {
        my $all = Hotline::Test::read_file($sub_file);
        return 0 unless $all =~ /^end-$mark$/m;
        my @l = split /\n/, substr($all, $seen);
        $seen = length $all;
        for (my $i = 0; $i + 2 < @l; $i++) {
            next unless $l[$i] eq 'message' && $l[$i + 1] eq $PEER;
            last if $l[$i + 2] eq "end-$mark";
            push @m, $l[$i + 2];
            $i += 2;
        }
        1;
    }) or diag("no end-$mark from the subscriber");
    return join "\n", @m;
}

# runs one state on one path: the answer, the keys after, what was sent
# the general path: owned before check, the same transaction
sub general { my @v = @_; @v[2 .. 9] = @v[6 .. 9, 2 .. 5]; @v }

sub run {
    my ($state, $args, $how) = @_;
    reset_keys();
    $state->();
    my @call = ('EVALSHA', $sha, 0,
                $how eq 'general' ? general(@$args) : short(@$args),
                $how eq 'batch' ? ('|', 0) : ());
    my $answer = $r->cli(@call);
    $answer =~ s/\n0\n0\n$/\n/ if $how eq 'batch';  # the empty one's
    return ($answer, dump_keys(), published());
}

# the peer's inbox of 40 x 100 bytes is over max 3000: room is made from
# what was delivered; a reader may fall behind by 2 x max, one that is not
# attached by max; a relay that went in is answered with the room its
# transcript has left (tmax less its bytes; the node sends no longer line)
my $room = 100000 - $line;
my @cases = (
    [ 'room', sub { me(); peer(n => 3); transcript() }, {}, "0 0 $room" ],
    [ 'a changed version', sub { me(v => 4); peer(); transcript() }, {},
      '100' ],
    [ 'another consumer', sub { me(g => 8); peer(); transcript() }, {},
      '5' ],
    [ 'full, delivered: room made', sub {
          me(); peer(n => 40, len => 100); transcript() },
      { max => 3000 }, "0 0 $room" ],
    [ 'full, half delivered: room made from the delivered only', sub {
          me(); peer(n => 40, len => 100, dl => 29); transcript() },
      { max => 1500 }, "0 0 $room" ],
    [ 'full, nothing delivered, reader attached: busy', sub {
          me(); peer(n => 40, len => 100, dl => 0); transcript() },
      { max => 1900 }, '102' ],
    [ 'full, nothing delivered, nobody reads: the error', sub {
          me(); peer(n => 40, len => 100, dl => 0, ow => '');
          transcript() },
      { max => 3000 }, undef ],
    [ 'busy before: refused without retry', sub {
          me(); peer(n => 1, bk => 1); transcript() }, {}, '102' ],
    [ 'busy before: the retry goes in', sub {
          me(); peer(n => 1, bk => 1); transcript() },
      { retry => 1 }, "0 0 $room" ],
    [ 'a full transcript is left out', sub {
          me(); peer(n => 2); transcript(n => 10) },
      { tmax => 1000 }, '0 0 0' ],
    [ 'a line longer than the transcript\'s room: left out, the room told',
      sub { me(); peer(n => 2); transcript(n => 9) },
      { tmax => 900 + $line - 1 }, '0 0 ' . ($line - 1) ],
    [ 'a line the size of the room goes in, none is left', sub {
          me(); peer(n => 2); transcript(n => 9) },
      { tmax => 900 + $line }, '0 0 0' ],
    [ 'room made in both, the transcript still left out', sub {
          me(); peer(n => 40, len => 100); transcript(n => 10, dl => 3) },
      { max => 3000, tmax => 700 }, '0 0 0' ],
    [ 'room made in the transcript, the peer busy', sub {
          me(); peer(n => 40, len => 100, dl => 0);
          transcript(n => 10, dl => 3) },
      { max => 1900, tmax => 700 }, '102' ],
    [ 'no peer record', sub { me(); transcript() }, {}, "0 0 $room" ],
);

for my $case (@cases) {
    my ($name, $state, $o, $want) = @$case;
    my @args = args(%$o);
    my ($fa, $fk, $fp) = run($state, \@args, 'alone');
    (my $flat = $fa) =~ s/\n/ /g;
    $flat =~ s/ $//;
    if (defined $want) {
        is($flat, $want, "$name: the answer");
    } else {
        like($flat, qr/^[1-9]\d*$/, "$name: an error ($flat)");
    }
    for my $how ('batch', 'general') {
        my ($ga, $gk, $gp) = run($state, \@args, $how);
        is($ga, $fa, "$name: $how, the same answer");
        is($gk, $fk, "$name: $how, the same keys after")
            or diag("$fk\n--\n$gk");
        is($gp, $fp, "$name: $how, the same published");
    }
}

# what both must do when room was made in a transcript that still has
# none: the bytes it keeps written down (the three delivered lines gone)
reset_keys();
me(); peer(n => 2); transcript(n => 10, dl => 3);
$r->cli('EVALSHA', $sha, 0, args(tmax => 700));
is(join(' ', map { chomp; $_ } $r->cli('HGET', "${P}r:$K3", 'by'),
                              $r->cli('LLEN', "${P}m:$K3")),
   '700 7', 'the transcript left out keeps 7 lines of 100 bytes, by 700');

# the short path really is the one taken: alone, it reads the caller's
# record's consumer alone (three fields), the general one every field an
# operation may need; in a batch it reads the caller's record once for all
# of its relays (a client sends several in one read), the general path
# once for each
my ($monitors, $answer) = (0, '');
sub lua_commands { lua_commands_in(sub { me(); peer(n => 1); transcript() },
                                   @_) }
sub lua_commands_in {
    my ($state, @eval) = @_;
    reset_keys();
    $state->();
    my $file = $t->prefix . "/monitor-" . ++$monitors;
    my $pid = spawn_cli($file, 'monitor');
    poll_until(5, sub { Hotline::Test::read_file($file) =~ /^OK/m });
    $answer = $r->cli('EVALSHA', $sha, 0, @eval);
    $r->cli('PING');
    poll_until(5, sub { Hotline::Test::read_file($file) =~ /"PING"/i });
    stop_cli($pid);
    return join "\n", map { /\[0 lua\] (.*)/ ? $1 : () }
                      split /\n/, Hotline::Test::read_file($file);
}
my $own = qr/"HMGET" "\Q${P}r:$K\E" "v" "ow" "g"\n/;
like(lua_commands(short(args())), $own,
     'the short path reads the consumer alone');
unlike(lua_commands(general(args())), $own, 'the general path does not');
my $sq = $r->cli('HGET', "${P}r:$K2", 'sq');
chomp $sq;
is($sq, 11, 'and the relay went in: seq 11');

my $mine = qr/"HMGET" "\Q${P}r:$K\E"/;
my $peer_written = qr/"HSET" "\Q${P}r:$K2\E" "sq"/;
my @one = short(args());
my @gen = general(args());
for my $n (2, 3) {
    my @short = (@one, map { ('|', 0, @one[2 .. $#one]) } 2 .. $n);
    my @long = (@gen, map { ('|', 0, @gen[2 .. $#gen]) } 2 .. $n);
    my $cmds = lua_commands(@short);
    is(scalar(() = $cmds =~ /$mine/g), 1,
       "$n relays of one sender in a batch: its record read once");
    unlike($cmds, $own, "$n relays in a batch: not the alone path's read");
    $sq = $r->cli('HGET', "${P}r:$K2", 'sq');
    chomp $sq;
    is($sq, 10 + $n, "$n relays in a batch: all went in (seq $sq)");
    is(scalar(() = $cmds =~ /$peer_written/g), 1,
       "$n relays to one peer in a batch: its record written once");
    $cmds = lua_commands(@long);
    is(scalar(() = $cmds =~ /$mine/g), $n,
       "the general path reads it for each of the $n");
    is(scalar(() = $cmds =~ /$peer_written/g), 1,
       "the general path writes the peer's record once too");
    is(scalar(() = $cmds =~ /"RPUSH" "\Q${P}m:$K2\E"/g), $n,
       "and appends each of the $n to its inbox");
}

# a full inbox (40 delivered messages of 100 bytes, max 3000): its length
# is asked once per script call however many relays make room in it, the
# messages dropped are read and cut in one command each (no LPOP per
# message), and the room made is exact: the oldest delivered ones go
# until the inbox and the append take at most max - max / 4 (t/157 holds
# a replay to it), on both paths
for my $n (1, 2, 3) {
    my @fg = general(args(max => 3000));
    my @f = short(args(max => 3000));
    my $full = sub { me(); peer(n => 40, len => 100); transcript() };
    my $cmds = lua_commands_in($full, @f,
                               map { ('|', 0, @f[2 .. $#f]) } 2 .. $n);
    my $keys = dump_keys();
    is(scalar(() = $cmds =~ /"LLEN" "\Q${P}m:$K2\E"/g), 1,
       "$n relays into a full inbox: its length asked once");
    is(scalar(() = $cmds =~ /"LTRIM" "\Q${P}m:$K2\E" "(\d+)" "-1"/g), 1,
       "$n relays into a full inbox: one LTRIM");
    unlike($cmds, qr/"LPOP"/, "$n relays into a full inbox: no LPOP");
    my ($by, @list) = (4000, (100) x 40);
    for (1 .. $n) {
        if ($by + $line > 3000) {
            while ($by > 3000 - 750 - $line && @list && $list[0] == 100) {
                $by -= shift @list;
            }
        }
        push @list, $line;
        $by += $line;
    }
    my $got = join ' ', map { chomp; $_ } $r->cli('LLEN', "${P}m:$K2"),
                                          $r->cli('HGET', "${P}r:$K2", 'by');
    cmp_ok((split ' ', $got)[1], '<=', 3000 - 750 + ($n - 1) * $line,
           "$n relays into a full inbox: a quarter of max made free");
    is($got, scalar(@list) . " $by",
       "$n relays into a full inbox: length and bytes as the rule leaves");
    lua_commands_in($full, @fg, map { ('|', 0, @fg[2 .. $#fg]) } 2 .. $n);
    is(dump_keys(), $keys, "$n relays into a full inbox: the general path "
       . "leaves the same keys");
}

# the record read once is forgotten when the batch changes it: a put of
# the sender's record between two of its relays, and the second relay
# (made for the version before) is refused, on both paths
for my $how ('short', 'general') {
    my @tx = $how eq 'short' ? @one : @gen;
    my $cmds = lua_commands(@tx, '|', 0, 'p', 2, $K, 'changed',
                            '|', 0, @tx[2 .. $#tx]);
    is(scalar(() = $cmds =~ /$mine/g), 2,
       "$how: the sender's record read again after the put");
    like($answer, qr/\A0\n0\n$room\n0\n0\n100\n/,
         "$how: the relay after the put is refused (conflict, 100)")
        or diag($answer);
    $sq = $r->cli('HGET', "${P}r:$K2", 'sq');
    chomp $sq;
    is($sq, 11, "$how: only the relay before the put went in");
}

# the node's own relay took the short path
like(join("\n", map { /\[0 lua\] (.*)/ ? $1 : () }
                split /\n/, Hotline::Test::read_file($mon)),
     qr/"HMGET" "[^"]*r:\Q$argv[4]\E" "v" "ow" "g"\n/,
     'the node\'s relay took the short path');

stop_cli($spid);
reset_keys();

$c->send_json({ type => 'chat', text => 'after', id => 'after' });
ok($a->wait_for('chat', 5, sub { $_[0]{text} eq 'after' }),
   'the node goes on relaying');

my @bad = $t->bad_log_lines;
is(scalar @bad, 0, 'no alert, crash or unexpected error in the log')
    or diag(join "\n", @bad);

$t->stop;
$r->stop;
done_testing;
