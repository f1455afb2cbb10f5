#!/usr/bin/perl
# The code endpoints do the same work for an agent and for a name that is
# no agent, and answer alike: byte for byte the same answers (but Date),
# the same audit event, and the same store operations in the same order
# (on the Redis store, every command that names the user, from MONITOR);
# the code goes to Telegram only after the answer is sent, so the answer
# does not wait for it (with the Telegram API unreachable, agents are
# answered as before).  The time both take is measured by
# bench/otp_timing.pl (docs/performance.md, "Login timing").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use Hotline::Test qw(poll_until);
use HotlineAuth qw(post_json);

my ($t, $tg) = HotlineAuth->nginx(http => "hotline_otp_ip_rate off;\n");
note('store: ' . $t->store);

# the answer without its Date
sub answer {
    my ($r) = @_;
    my %h = %{ $r->{headers} };
    delete $h{date};
    delete $h{'x-pid'};
    return Hotline::Test::json_encode([$r->{status}, \%h, $r->{body}]);
}

my $monitor;
if ($t->store eq 'redis') {
    my $file = $t->prefix . '/logs/monitor.txt';
    $monitor = fork // die "fork: $!";
    if (!$monitor) {
        no warnings 'once';
        open STDOUT, '>', $file or POSIX::_exit(1);
        exec($Hotline::Redis::CLI, '-h', '127.0.0.1', '-p', $t->{redis}->port,
             'MONITOR') or POSIX::_exit(127);
    }
    poll_until(5, sub { -s $file }) or diag('no MONITOR output yet');
    $monitor = [$monitor, $file];
}

my %ans;
for my $user (qw(alice mallory)) {
    $ans{$user}{otp} = answer(post_json($t, '/auth/otp', { username => $user }));
    $ans{$user}{verify} = answer(post_json($t, '/auth/verify',
                                           { username => $user,
                                             code => '000000' }));
}
is($ans{alice}{otp}, $ans{mallory}{otp},
   'a code request: the same answer for an agent and a made-up name');
like($ans{alice}{otp}, qr/^\[202,/, 'it is 202');
is($ans{alice}{verify}, $ans{mallory}{verify},
   'a wrong code: the same answer too');

my $log = $t->error_log;
like($log, qr/otp_requested user=alice ip=127\.0\.0\.1, client/, 'audited (agent)');
like($log, qr/otp_requested user=mallory ip=127\.0\.0\.1 reason=unknown_user/,
     'audited (made-up name: only the log says so)');

SKIP: {
    skip 'the embedded store does no network round trips to compare', 2
        unless $monitor;

    # every command that names the user, with the name taken out
    my %cmds;
    ok(poll_until(5, sub {
        %cmds = ();
        for (split /\n/, Hotline::Test::read_file($monitor->[1])) {
            for my $user (qw(alice mallory)) {
                next unless /:\Q$user\E"/;
                (my $c = $_) =~ s/^[\d.]+ \[[^\]]*\] //;
                $c =~ s/\Q$user\E/USER/g;
                $c =~ s/"[0-9a-f]{64}"/"HMAC"/g;    # the codes differ
                $c =~ s/"\d{10,}"/"N"/g;            # times
                push @{ $cmds{$user} }, $c;
            }
        }
        # mallory's requests came after alice's: all of alice's are in
        # once mallory's start, and mallory's are all in once as many
        @{ $cmds{alice} || [] } >= 4
            && @{ $cmds{mallory} || [] } >= @{ $cmds{alice} };
    }), 'Redis saw the commands of both');
    is_deeply($cmds{mallory}, $cmds{alice},
              'the same store commands, in the same order')
        or diag(explain(\%cmds));
    kill 'TERM', $monitor->[0];
    waitpid $monitor->[0], 0;
}

# Telegram unreachable: the agent's answer does not wait for it
$t->stop;
my $u = $tg->nginx(api => 'http://127.0.0.1:9/', timeout => '10s',
                   http => $HotlineAuth::AGENTS . "hotline_otp_ip_rate off;\n",
                   server => $HotlineAuth::LOCATIONS);
for my $user (qw(bob nobody)) {
    my $r = post_json($u, '/auth/otp', { username => $user });
    is($r->{status}, 202, "$user: 202 with Telegram unreachable");
}
ok(poll_until(10, sub { $u->error_log =~ /hotline: .*(?:failed|refused)/i }),
   'while sending the code failed, later');

$u->stop;
$tg->stop;
done_testing;
