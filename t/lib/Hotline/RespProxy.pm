package Hotline::RespProxy;

# A TCP proxy between nginx and redis-server that gives the module answers
# Redis would not give: every byte from the client goes to the server as
# it is; what the server answers is parsed reply by reply (RESP2 and
# RESP3) and passed on, except that an array of exactly three integers of
# which the first two are 0 (the answer to a relay with a transcript
# line: {0, 0, the room the transcript has left}) gets its third element
# replaced by the rule in effect; or, with the rule "chaos", every third
# array at any depth gets one element replaced by a value of another
# type, or loses its last element ("chaos-all": every array); with "extra", the answer to a relay
# with a transcript line is followed by a reply no command asked for
# ("+OK"); with "drip", what the server answers goes on a few bytes at a
# time, each piece a write of its own; with "stall", it is held, and
# goes on (in order) once the rule is another.  The rule is read from a file before
# each reply, so that a test switches it while traffic runs; each rewrite
# adds a line to another file, so that the test knows it happened.
#
#   my $p = Hotline::RespProxy->new(upstream => $redis->port)->start;
#   ... "hotline_redis redis://127.0.0.1:" . $p->port . "/0 ...;"
#   $p->rule('negative');              # off, chaos, zero, negative, ...
#   $p->rewrites;                      # replies rewritten so far
#   $p->stop;                          # also when the test process exits
#
# The proxy is a child process; it exits when its parent does.

use strict;
use warnings;
use Carp qw(croak);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();

use Hotline::Port;
use parent 'Hotline::Child';

# what replaces the room, by rule ('off': nothing is rewritten)
my %THIRD = (
    zero     => ":0\r\n",                       # a valid room, the control
    negative => ":-5\r\n",
    string   => "\$3\r\n100\r\n",               # a number, as a bulk string
    nil      => "\$-1\r\n",
    huge     => ":9223372036854775807\r\n",
    array    => "*1\r\n:0\r\n",
    four     => ":0\r\n:7\r\n",                 # and a fourth element
);

sub rules { sort keys %THIRD }

# chaos: any array answer, one in CHAOS_EVERY, gets one element replaced
# by one of these, or loses its last element (a seeded sequence: the same
# run each time)
my @CHAOS = (":-1\r\n", "\$-1\r\n", "\$1\r\nx\r\n", "*0\r\n",
             ":9223372036854775807\r\n", "*-1\r\n", "-ERR chaos\r\n",
             "*2\r\n:1\r\n\$-1\r\n");
my $CHAOS_EVERY = 3;

sub new {
    my ($class, %o) = @_;
    croak 'upstream port needed' unless $o{upstream};
    my $dir = File::Temp::tempdir('hl-resp-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $self = bless { upstream => $o{upstream}, dir => $dir,
                       port => Hotline::Port::take() }, $class;
    $self->rule('off');
    open(my $fh, '>', "$dir/rewrites") or croak "$dir/rewrites: $!";
    close $fh;
    return $self;
}

sub port { $_[0]{port} }

# a redis-server, a proxy before it and an nginx on them, the store up
# on every worker (a test of its own); http: more of the http block.
# Returns (redis, proxy, nginx).
sub nginx {
    my ($class, %o) = @_;
    require Hotline::Redis;
    require Hotline::Test;
    my $r = Hotline::Redis->new->start;
    my $p = $class->new(upstream => $r->port)->start;
    my $prefix = 'hl' . Hotline::Test::random_string(8) . ':';
    my $t = Hotline::Test->new(http => "    hotline_redis "
                               . "redis://127.0.0.1:$p->{port}/0 "
                               . "prefix=$prefix;\n" . ($o{http} // ''))
                         ->start;
    Test::More::ok(Hotline::Redis->wait_store_up($t),
                   'nginx is up on redis, by the proxy');
    return ($r, $p, $t);
}

sub rule {
    my ($self, $rule) = @_;
    croak "unknown rule $rule"
        unless $rule =~ /^(?:off|chaos|chaos-all|extra|drip|stall)$/
               || $THIRD{$rule};
    # written whole, then renamed: the proxy never reads half a rule
    my $f = "$self->{dir}/rule";
    open(my $fh, '>', "$f.new") or croak "$f.new: $!";
    print {$fh} $rule;
    close $fh or croak "$f.new: $!";
    rename("$f.new", $f) or croak "rename $f: $!";
    return $self;
}

# the rules of the replies rewritten so far, in order
sub rewrites {
    my ($self) = @_;
    open(my $fh, '<', "$self->{dir}/rewrites") or return ();
    chomp(my @r = <$fh>);
    return @r;
}

sub start {
    my ($self) = @_;
    my $parent = $$;
    $self->serve($self->{port}, sub { $self->_serve($_[0], $parent) });
    return $self;
}

# the child: pairs of sockets, client and server, until the parent goes

sub _serve {
    my ($self, $l, $parent) = @_;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    my $sel = IO::Select->new($l);
    my (%peer, %from_server, %buf, %held);

    for (;;) {
        POSIX::_exit(0) if getppid() != $parent;

        # what "stall" held goes on once the rule is another
        if (%held && $self->_current_rule ne 'stall') {
            for my $to (grep { $peer{$_} } keys %held) {
                _write($peer{$to}, $held{$to});
            }
            %held = ();
        }

        for my $s ($sel->can_read(0.2)) {
            if ($s == $l) {
                my $c = $l->accept or next;
                my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $self->{upstream})
                    or do { close $c; next };
                $_->autoflush(1) for $c, $u;
                binmode $_ for $c, $u;
                @peer{ $c, $u } = ($u, $c);
                $from_server{$u} = 1;
                $buf{$u} = '';
                $sel->add($c, $u);
                next;
            }

            my $to = $peer{$s} or next;        # closed with its peer
            my $n = sysread($s, my $data, 65536);

            if (!$n) {
                for ($s, $to) {
                    $sel->remove($_);
                    delete $held{$_};
                    delete $peer{$_};
                    delete $from_server{$_};
                    delete $buf{$_};
                    close $_;
                }
                next;
            }

            if (!$from_server{$s}) {
                _write($to, $data);
                next;
            }

            $buf{$s} .= $data;
            my $out = '';
            while (length $buf{$s}) {
                my ($end, $bytes) = $self->_reply(\$buf{$s}, 0);
                last unless defined $end;
                $out .= $bytes;
                substr($buf{$s}, 0, $end) = '';
            }
            next unless length $out;
            if ($self->_current_rule eq 'stall') {
                $held{$s} .= $out;             # keyed by the server side
                $self->_count('stall');
                next;
            }
            $out = delete($held{$s}) . $out if exists $held{$s};
            if ($self->_current_rule eq 'drip') {
                $self->_drip($to, $out);
            } else {
                _write($to, $out);
            }
        }
    }
}

sub _write {
    my ($s, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($s, $data, length($data) - $off, $off);
        return unless defined $n;
        $off += $n;
    }
}

# pieces of 1 to 3 bytes, each written alone after a pause of 0.2 ms (so
# that the reader gets them in reads of their own)
sub _drip {
    my ($self, $s, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = 1 + ($self->{drip_n}++ % 3);
        _write($s, substr($data, $off, $n));
        $off += $n;
        Time::HiRes::sleep(0.0002);
    }
    $self->_count('drip');
}

sub _count {
    my ($self, $rule) = @_;
    if (open(my $fh, '>>', "$self->{dir}/rewrites")) {
        print {$fh} "$rule\n";
        close $fh;
    }
}

sub _current_rule {
    my ($self) = @_;
    open(my $fh, '<', "$self->{dir}/rule") or return 'off';
    my $r = <$fh> // 'off';
    return $r;
}

# one reply at $p of $$b: (its end, its bytes as passed on, its type,
# its line), or () if it is not all there yet

sub _reply {
    my ($self, $b, $p) = @_;
    my $e = index($$b, "\r\n", $p);
    return if $e < 0;
    my $type = substr($$b, $p, 1);
    my $line = substr($$b, $p + 1, $e - $p - 1);
    my $q = $e + 2;

    if ($type eq '$' || $type eq '=' || $type eq '!') {
        return ($q, substr($$b, $p, $q - $p), $type, $line) if $line < 0;
        return if length($$b) < $q + $line + 2;
        return ($q + $line + 2, substr($$b, $p, $q + $line + 2 - $p),
                $type, $line);
    }

    if ($type =~ /^[*~>%|]$/) {
        my $n = $line;
        return ($q, substr($$b, $p, $q - $p), $type, $line) if $n < 0;
        $n *= 2 if $type eq '%' || $type eq '|';
        my (@bytes, @kind);
        for (1 .. $n) {
            my ($end, $bytes, $t, $l) = $self->_reply($b, $q);
            return unless defined $end;
            push @bytes, $bytes;
            push @kind, [ $t, $l ];
            $q = $end;
        }
        my $head = "$type$line\r\n";
        my $chaos = $self->_current_rule;
        if ($type eq '*' && $n > 0
            && ($chaos eq 'chaos-all'
                || ($chaos eq 'chaos'
                    && ($self->{chaos_n}++ % $CHAOS_EVERY) == 0)))
        {
            my $k = $self->{chaos_k}++;
            if ($k % (@CHAOS + 1) == @CHAOS) {
                pop @bytes;
                $head = '*' . ($n - 1) . "\r\n";
            } else {
                $bytes[$k % $n] = $CHAOS[$k % @CHAOS];
            }
            $self->_count($chaos);
            return ($q, $head . join('', @bytes), $type, $line);
        }
        if ($type eq '*' && $n == 3
            && !grep({ $_->[0] ne ':' } @kind)
            && $kind[0][1] == 0 && $kind[1][1] == 0)
        {
            my $rule = $self->_current_rule;
            if ($rule eq 'extra') {
                $self->_count($rule);
                return ($q, $head . join('', @bytes) . "+OK\r\n", $type,
                        $line);
            }
            if ($THIRD{$rule}) {
                $bytes[2] = $THIRD{$rule};
                $head = "*4\r\n" if $rule eq 'four';
                $self->_count($rule);
            }
        }
        return ($q, $head . join('', @bytes), $type, $line);
    }

    # + - : _ , # ( and anything else of one line
    return ($q, substr($$b, $p, $q - $p), $type, $line);
}

1;
