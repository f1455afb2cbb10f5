package TelegramStub;

# A local stand-in for the Telegram Bot API (and for a fallback webhook),
# for the notification tests (t/4*.t).  It runs as a child process on a
# free loopback port, answers POST /bot<TOKEN>/sendMessage like Telegram
# does, POST /fallback with 200, and appends every request it gets (time,
# method, path, headers, body, decoded JSON, what it answered) as a JSON
# line to a file the test reads.  It can be told to fail the next N
# sendMessage requests:
#
#   mode 500   500 {"ok":false,"error_code":500,...}
#   mode 429   429 with parameters.retry_after (retry_after => seconds)
#   mode 400   400 "Bad Request: chat not found" (a final error)
#   mode hang  read the request, never answer (the client times out)
#
#   my $tg = TelegramStub->new->start;
#   $tg->fail(3, '500');                  # the next 3 sendMessage fail
#   my @r = $tg->wait_requests(4, 10);    # at least 4 recorded, or die
#   $tg->stop;
#
# One process, one select() loop: a hanging connection does not keep the
# others waiting.  Keep-alive is supported (curl reuses connections).

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

use parent 'Hotline::Child';

my $JSON = JSON::PP->new->utf8->canonical;

our $TOKEN = '123456789:TEST_bot-token_0123456789abcdefXYZ';

sub new {
    my ($class, %o) = @_;
    my $dir = tempdir('tgstub-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    return bless { dir => $dir, log => "$dir/requests.jsonl",
                   token => $o{token} // $TOKEN }, $class;
}

sub port  { $_[0]{port} }
sub url   { "http://127.0.0.1:$_[0]{port}" }
sub token { $_[0]{token} }
sub fallback_url { $_[0]->url . '/fallback' }

# nginx http-level directives pointing the module at this stub
sub directives {
    my ($self, $token_file, %o) = @_;
    my $chats = $o{chats} // '1001';
    my $d = "hotline_telegram_api " . ($o{api} // $self->url) . ";\n"
          . "hotline_telegram_token_file $token_file;\n"
          . "hotline_notify_chat $chats;\n"
          . "hotline_notify_timeout " . ($o{timeout} // '2s') . ";\n"
          . "hotline_notify_backoff " . ($o{backoff} // '200ms 5s') . ";\n"
          . "hotline_notify_retries " . ($o{retries} // 3) . ";\n";
    $d .= "hotline_notify_fallback " . $self->fallback_url . ";\n"
        unless $o{no_fallback};
    $d .= "hotline_notify_queue $o{queue};\n" if $o{queue};
    return $d;
}

# a Hotline::Test nginx pointed at this stub, with the bot token in a file
# and a hotline_notify_test location at /notify-test; started unless
# no_start.  Options: those of directives(), workers, http (more
# directives), server, conf (a Hotline::Test template), secret (the JWT
# secret, another node's).
sub nginx {
    my ($self, %o) = @_;
    require Hotline::Test;
    my $t = Hotline::Test->new(
        workers => $o{workers} // 2,
        ($o{conf} ? (conf => $o{conf}) : ()),
        (map { exists $o{$_} ? ($_ => $o{$_}) : () } qw(listen tls secret)),
        http    => $self->directives('%%PREFIX%%/conf/bot.token', %o)
                   . ($o{http} // ''),
        server  => "location = /notify-test { hotline_notify_test; }\n"
                   . ($o{server} // ''),
    );
    Hotline::Test::write_file($t->prefix . '/conf/bot.token',
                              $self->token . "\n");
    $t->start unless $o{no_start};
    return $t;
}

sub start {
    my ($self) = @_;
    open my $fh, '>', $self->{log} or croak "$self->{log}: $!";
    close $fh;
    $self->{port} = $self->serve(0, sub { $self->_serve($_[0]) });
    return $self;
}

# fail the next n sendMessage requests; mode 500 | 429 | 400 | hang
sub fail {
    my ($self, $n, $mode, %o) = @_;
    $self->_control({ fail => $n, mode => $mode,
                      retry_after => $o{retry_after} // 1 });
}

# 1: answer with "Connection: close" and close every connection
sub close_connections {
    my ($self, $on) = @_;
    $self->_control({ close => $on ? 1 : 0 });
}

# the fallback webhook answers with this status from now on
sub fallback_status {
    my ($self, $status) = @_;
    $self->_control({ fallback_status => $status });
}

sub _control {
    my ($self, $cmd) = @_;
    my $body = $JSON->encode($cmd);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 5)
        or croak "stub control: $!";
    print $s "POST /_control HTTP/1.1\r\nHost: stub\r\nConnection: close\r\n"
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my $r = <$s> // '';    # the status line
    close $s;
    croak "stub control failed: $r" unless $r =~ m{^HTTP/1\.1 200};
}

# every request recorded so far, oldest first
sub requests {
    my ($self, %o) = @_;
    open my $fh, '<', $self->{log} or croak "$self->{log}: $!";
    my @r;
    while (my $line = <$fh>) {
        next unless $line =~ /\n\z/;
        my $r = eval { $JSON->decode($line) } or next;
        push @r, $r;
    }
    close $fh;
    @r = grep { $_->{path} =~ m{/sendMessage\z} } @r if $o{telegram};
    @r = grep { $_->{path} eq '/fallback' } @r if $o{fallback};
    return @r;
}

# poll until at least n requests (matching %o as in requests) are in
sub wait_requests {
    my ($self, $n, $timeout, %o) = @_;
    my $deadline = time + $timeout;
    my @r;
    while (1) {
        @r = $self->requests(%o);
        return @r if @r >= $n;
        return @r if time > $deadline;
        sleep 0.05;
    }
}

# ---------------------------------------------------------------------------
# the child

sub _serve {
    my ($self, $l) = @_;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{PIPE} = 'IGNORE';
    my %st = (fail => 0, mode => '500', retry_after => 1,
              fallback_status => 200, message_id => 0, close => 0);
    my $sel = IO::Select->new($l);
    my %c;
    while (1) {
        for my $fh ($sel->can_read(0.2)) {
            if ($fh == $l) {
                my $n = $l->accept or next;
                $n->blocking(0);
                binmode $n;
                $sel->add($n);
                $c{fileno $n} = { fh => $n, buf => '', hang => 0,
                                  since => time };
                next;
            }
            my $cs = $c{fileno $fh} or next;
            my $got = sysread($fh, my $data, 65536);
            if (!$got) {
                next if !defined $got && ($!{EAGAIN} || $!{EINTR});
                $sel->remove($fh);
                delete $c{fileno $fh};
                close $fh;
                next;
            }
            next if $cs->{hang};    # read and ignore
            $cs->{buf} .= $data;
            while (my $req = _parse(\$cs->{buf})) {
                my ($status, $body) = $self->_answer($req, \%st);
                if (!defined $status) {
                    $cs->{hang} = 1;
                    $cs->{since} = time;
                    last;
                }
                my $close = $st{close}
                    || lc($req->{headers}{connection} // '') eq 'close';
                _respond($fh, $status, $body, $close);
                if ($close) {
                    $sel->remove($fh);
                    delete $c{fileno $fh};
                    close $fh;
                    last;
                }
            }
        }
        # hung connections are dropped after a minute
        for my $k (keys %c) {
            next unless $c{$k}{hang} && time - $c{$k}{since} > 60;
            $sel->remove($c{$k}{fh});
            close $c{$k}{fh};
            delete $c{$k};
        }
    }
}

sub _parse {
    my ($buf) = @_;
    my $end = index($$buf, "\r\n\r\n");
    return undef if $end < 0;
    my $head = substr($$buf, 0, $end);
    my ($line, @h) = split /\r\n/, $head;
    my %h;
    for (@h) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $h{lc $k} = $v;
    }
    my $len = $h{'content-length'} // 0;
    return undef if length($$buf) < $end + 4 + $len;
    my $body = substr($$buf, $end + 4, $len);
    substr($$buf, 0, $end + 4 + $len) = '';
    my ($method, $path) = split / /, $line;
    return { method => $method, path => $path, headers => \%h,
             body => $body };
}

sub _respond {
    my ($fh, $status, $body, $close) = @_;
    my %reason = (200 => 'OK', 400 => 'Bad Request', 404 => 'Not Found',
                  429 => 'Too Many Requests', 500 => 'Internal Server Error',
                  503 => 'Service Unavailable');
    my $r = "HTTP/1.1 $status " . ($reason{$status} // 'Status') . "\r\n"
          . "Content-Type: application/json\r\n"
          . "Content-Length: " . length($body) . "\r\n"
          . "Connection: " . ($close ? 'close' : 'keep-alive')
          . "\r\n\r\n$body";
    my $off = 0;
    my $sel = IO::Select->new($fh);
    my $deadline = time + 5;
    while ($off < length $r && time < $deadline) {
        my $n = syswrite($fh, $r, length($r) - $off, $off);
        if (defined $n) { $off += $n; next }
        last unless $!{EAGAIN} || $!{EINTR};
        $sel->can_write(0.1);
    }
}

# (status, body), or () to hang
sub _answer {
    my ($self, $req, $st) = @_;
    my $rec = { t => time, method => $req->{method}, path => $req->{path},
                content_type => $req->{headers}{'content-type'} // '',
                body => $req->{body} };
    $rec->{json} = eval { $JSON->decode($req->{body}) };
    my ($status, $body);

    if ($req->{path} eq '/_control') {
        my $cmd = eval { $JSON->decode($req->{body}) } || {};
        $st->{$_} = $cmd->{$_} for keys %$cmd;
        return (200, '{}');
    }

    if ($req->{method} eq 'POST'
        && $req->{path} =~ m{\A/bot([^/]+)/sendMessage\z})
    {
        if ($st->{fail} > 0) {
            $st->{fail}--;
            my $m = $st->{mode};
            if ($m eq 'hang') {
                $rec->{answer} = 'hang';
                _record($self, $rec);
                return ();
            }
            ($status, $body) =
                $m eq '429' ? (429, $JSON->encode({ ok => JSON::PP::false,
                      error_code => 429,
                      description => "Too Many Requests: retry after "
                                     . $st->{retry_after},
                      parameters => { retry_after => 0 + $st->{retry_after} } }))
              : $m eq '400' ? (400, $JSON->encode({ ok => JSON::PP::false,
                      error_code => 400,
                      description => 'Bad Request: chat not found' }))
              : (500, $JSON->encode({ ok => JSON::PP::false,
                      error_code => 500,
                      description => 'Internal Server Error' }));
        } elsif ($1 ne $self->{token}) {
            ($status, $body) = (401, $JSON->encode({ ok => JSON::PP::false,
                      error_code => 401, description => 'Unauthorized' }));
        } else {
            my $j = $rec->{json} || {};
            ($status, $body) = (200, $JSON->encode({ ok => JSON::PP::true,
                      result => { message_id => ++$st->{message_id},
                                  chat => { id => $j->{chat_id} },
                                  date => int time, text => 'x' } }));
        }
    } elsif ($req->{path} eq '/fallback') {
        $status = $st->{fallback_status};
        $body = '{}';
    } else {
        ($status, $body) = (404, '{}');
    }

    $rec->{answer} = $status;
    _record($self, $rec);
    return ($status, $body);
}

sub _record {
    my ($self, $rec) = @_;
    open my $fh, '>>', $self->{log} or return;
    print $fh $JSON->encode($rec) . "\n";
    close $fh;
}

1;
