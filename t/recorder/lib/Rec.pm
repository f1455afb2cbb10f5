package Rec;

# Test helpers for hotline-recorder: start/stop the binary, mint tokens
# with Crypt::JWT (an independent JWT implementation), HTTP with
# HTTP::Tiny, bounded polling, ffprobe.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Crypt::JWT qw(encode_jwt);
use POSIX ":sys_wait_h";
use FindBin;
use lib "$FindBin::Bin/../lib";
use Hotline::Port;

our @EXPORT = qw(rec_in_netns rec_start rec_stop rec_token rec_http
                 wait_for ffprobe_streams read_json free_port);

our $BIN = $ENV{REC_BIN} || 'build/recorder/hotline-recorder';
our $SECRET = 'test-secret-' . ('x' x 40);

# Re-run the calling test inside a fresh loopback-only network namespace.

sub rec_in_netns {
    return if $ENV{REC_IN_NETNS};
    $ENV{REC_IN_NETNS} = 1;
    exec('unshare', '-n', '--', 'sh', '-c',
         'ip link set lo up && exec "$0" "$@"', $^X, $0, @ARGV)
        or die "unshare: $!";
}

# a loopback port no other test process gets (t/lib/Hotline/Port.pm)
sub free_port { Hotline::Port::take() }

sub wait_for {
    my ($cond, $timeout) = @_;
    my $end = time + ($timeout // 10);
    while (time < $end) {
        my $r = $cond->();
        return $r if $r;
        sleep 0.05;
    }
    return;
}

sub rec_start {
    my (%o) = @_;
    my $dir = tempdir('rec-t-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{REC_KEEP});
    my $rec = "$dir/rec";
    mkdir $rec or die;
    my $secret = "$dir/secret";
    open my $fh, '>', $secret or die;
    print $fh "$SECRET\n";
    close $fh;
    chmod 0600, $secret;

    my $port = free_port();
    my @args = ($BIN, '--listen', "127.0.0.1:$port", '--recordings', $rec,
                '--secret-file', $secret, '--min-free-disk', '1',
                @{ $o{args} || [] }, split(' ', $ENV{REC_ARGS} // ''));
    my $log = "$dir/recorder.log";
    my $pid = fork // die;
    if ($pid == 0) {
        open STDERR, '>', $log or die;
        open STDOUT, '>&', \*STDERR or die;
        exec @args or die "exec: $!";
    }
    my $self = { pid => $pid, port => $port, dir => $rec, log => $log,
                 url => "http://127.0.0.1:$port", tmp => $dir };
    wait_for(sub {
        my $r = HTTP::Tiny->new(timeout => 1)->get("$self->{url}/health");
        return $r->{status} == 200 || $r->{status} == 503;
    }, 10) or die "recorder did not start: " . `cat $log`;
    return $self;
}

sub rec_stop {
    my ($self, $sig) = @_;
    return unless $self->{pid};
    kill $sig // 'TERM', $self->{pid};
    my $ok = wait_for(sub { waitpid($self->{pid}, WNOHANG) > 0 }, 15);
    $self->{status} = $?;
    unless ($ok) {
        kill 'KILL', $self->{pid};
        waitpid($self->{pid}, 0);
    }
    delete $self->{pid};
    return $ok;
}

sub rec_token {
    my (%c) = @_;
    my $claims = { call => 'call1', role => 'customer',
                   exp => int(time) + 600, %c };
    delete $claims->{$_} for grep { !defined $claims->{$_} } keys %$claims;
    return encode_jwt(payload => $claims, alg => 'HS256',
                      key => $c{_key} // $SECRET);
}

sub rec_http {
    my ($self, $method, $path, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{'Authorization'} = "Bearer $o{token}" if defined $o{token};
    $h{'Content-Type'} = $o{type} if defined $o{type};
    my $r = HTTP::Tiny->new(timeout => 10)->request($method,
        "$self->{url}$path", { headers => \%h,
                               (defined $o{body} ? (content => $o{body})
                                                 : ()) });
    return $r;
}

sub read_json {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    local $/;
    my $j = <$fh>;
    return eval { JSON::PP->new->decode($j) };
}

# per stream: codec, and duration from the packets (first pts to last
# pts + duration), as decoded by ffprobe

sub ffprobe_streams {
    my ($file) = @_;
    my $j = `ffprobe -v error -show_entries stream=index,codec_name,codec_type,width,height,sample_rate:stream_tags:format=duration -show_entries packet=stream_index,pts_time,duration_time -of json '$file' 2>/dev/null`;
    my $d = eval { JSON::PP->new->decode($j) } or return;
    my %s;
    for my $st (@{ $d->{streams} || [] }) {
        $s{ $st->{codec_type} } = { %$st, first => undef, end => 0,
                                    packets => 0 };
    }
    my %by_index = map { $_->{index} => $_ } values %s;
    for my $p (@{ $d->{packets} || [] }) {
        my $st = $by_index{ $p->{stream_index} } or next;
        my $pts = $p->{pts_time} // next;
        $st->{first} = $pts if !defined $st->{first} || $pts < $st->{first};
        my $e = $pts + ($p->{duration_time} // 0);
        $st->{end} = $e if $e > $st->{end};
        $st->{packets}++;
    }
    for my $st (values %s) {
        $st->{duration} = defined $st->{first}
                          ? $st->{end} - $st->{first} : 0;
    }
    $s{format_duration} = $d->{format}{duration};
    return \%s;
}

1;
