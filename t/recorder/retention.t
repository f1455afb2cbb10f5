#!/usr/bin/perl

# Retention and the admin endpoint.  Calls laid out on disk as the
# recorder leaves them: one older than --retention-days goes; above
# --retention-max-mb the oldest calls go first; an empty (0-byte)
# recording goes, its call stays.  A recording in progress (GStreamer
# publishing) is never touched, even when the cap cannot be met without
# it.  The admin endpoint lists the recordings and stops one.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use Rec;

Rec::rec_in_netns();

my $MB = 1024 * 1024;
my $r = rec_start();
rec_stop($r);
my $rec = $r->{dir};
my $admin = "$r->{tmp}/admin.token";
my $token = 'admin-' . join('', map { ('a' .. 'z')[rand 26] } 1 .. 40);
open my $fh, '>', $admin or die;
print $fh "$token\n";
close $fh;
chmod 0600, $admin;

# a call as the recorder leaves it, its files last written $age s ago

sub call_on_disk {
    my ($call, $age, %files) = @_;
    mkdir "$rec/$call" or die;
    my @p;
    for my $f (sort keys %files) {
        open my $o, '>', "$rec/$call/$f" or die;
        print $o 'x' x $files{$f};
        close $o;
        push @p, { role => $f =~ /^agent/ ? 'agent' : 'customer',
                   session => "s-$call-$f", file => $f, state => 'finished',
                   ending_reason => 'client_delete', size => $files{$f} };
    }
    open my $o, '>', "$rec/$call/manifest.json" or die;
    print $o JSON::PP->new->encode({ version => 1, call => $call,
                                     participants => \@p,
                                     completed_at => '2026-01-01T00:00:00Z' });
    close $o;
    my $t = time - $age;
    utime $t, $t, glob("$rec/$call/*");
}

call_on_disk('old', 3 * 86400, 'customer.webm' => 100_000);
call_on_disk('a1', 3 * 3600, 'customer.webm' => 0.9 * $MB);
call_on_disk('a2', 2 * 3600, 'agent.webm' => 0.9 * $MB);
call_on_disk('a3', 1 * 3600, 'customer.webm' => 0.9 * $MB);
call_on_disk('empty', 60, 'customer.webm' => 0, 'agent.webm' => 2000);
my $deleted = 0;
$deleted += -s $_ for glob("$rec/old/*"), glob("$rec/a1/*");

$r = rec_start(again => $r, args => ['--retention-days', 1,
                                     '--retention-max-mb', 2,
                                     '--retention-interval', 1,
                                     '--admin-token-file', $admin]);

ok(wait_for(sub { !-e "$rec/old" && !-e "$rec/a1" }, 10),
   'the call older than --retention-days and the oldest over the cap went');
ok(-e "$rec/a2/agent.webm" && -e "$rec/a3/customer.webm",
   'the newer calls stay (2.7 MB less the oldest is under 2 MB)');
ok(!-e "$rec/empty/customer.webm", 'the empty recording went');
ok(-e "$rec/empty/agent.webm" && -e "$rec/empty/manifest.json",
   '... its call and the other file stay');

my %m;
for (split /\n/, rec_http($r, 'GET', '/metrics')->{content}) {
    $m{$1} = $2 if /^hotline_recorder_(\S+) (\d+)$/;
}
is($m{retention_deleted_calls_age_total}, 1, 'age deletions counted');
is($m{retention_deleted_calls_disk_total}, 1, 'disk deletions counted');
is($m{retention_empty_files_deleted_total}, 1, 'empty files counted');
my $left = 0;
$left += -s $_ for glob("$rec/*/*");
is($m{retention_deleted_bytes_total}, $deleted, 'deleted bytes counted');
is($m{recordings_bytes}, $left, 'recordings_bytes is what is left');

# the admin endpoint

is(rec_http($r, 'GET', '/admin/recordings')->{status}, 401, 'admin: no token');
is(rec_http($r, 'GET', '/admin/recordings', token => "x$token")->{status},
   401, 'admin: wrong token');
is(rec_http($r, 'GET', '/admin/recordings',
            token => rec_token(call => 'x'))->{status}, 401,
   'admin: a WHIP token is not an admin token');

# a live recording: never touched, listed as open, stopped by the admin

sub live {
    my $pid = open(my $pub, '-|', '/usr/bin/python3',
                   "$FindBin::Bin/lib/gst_publish.py", "$r->{url}/whip",
                   rec_token(call => 'live', role => 'agent'), 30, 'hold')
        or die $!;
    my $res = eval { JSON::PP->new->decode(scalar <$pub>) } || {};
    return ($pid, $pub, $res);
}

sub unpublish {
    my ($pid, $pub) = @_;
    kill 'TERM', $pid;
    close $pub;
}

my ($pid, $pub, $res) = live();
is($res->{state}, 'connected', 'a recording in progress');
ok(wait_for(sub { (-s "$rec/live/agent.webm" // 0) > 50_000 }, 15),
   'it grows');

my $l = rec_http($r, 'GET', '/admin/recordings', token => $token);
is($l->{status}, 200, 'admin: list');
my $list = eval { JSON::PP->new->decode($l->{content}) } || {};
my %calls = map { $_->{call} => $_ } @{ $list->{calls} || [] };
ok($calls{live}{open}, 'the live call is open');
is($calls{live}{participants}[0]{state}, 'recording', '... recording');
ok(!$calls{a2}{open}, 'a finished call is not');
my $eb = 0;
$eb += -s $_ for glob("$rec/empty/*");
is($calls{empty}{bytes}, $eb, 'bytes of a call');
is($list->{sessions}, 1, 'one session');

# a cap the finished calls alone cannot meet: they go, the live one stays

ok(rec_stop($r), 'restart with a smaller cap');
unpublish($pid, $pub);

$r = rec_start(again => $r, args => ['--retention-max-mb', 1,
                                     '--retention-interval', 1,
                                     '--admin-token-file', $admin,
                                     '--complete-after', 60]);
($pid, $pub, $res) = live();
is($res->{state}, 'connected', 'recording again');

# an earlier recording of the live call, larger than the cap by itself
open my $big, '>', "$rec/live/customer.webm" or die;
print $big 'x' x (2 * $MB);
close $big;
utime time - 4 * 3600, time - 4 * 3600, "$rec/live/customer.webm";
ok(wait_for(sub { !-e "$rec/a2" && !-e "$rec/a3" && !-e "$rec/empty" }, 10),
   'over the cap, every finished call went')
    or diag(join ' ', glob("$rec/*/*"));
ok(wait_for(sub { `cat $r->{log}` =~ /over --retention-max-mb, and the rest is in use/ },
            5), 'and the recorder says why it is still over');
ok(-e "$rec/live/agent-2.webm" && -e "$rec/live/customer.webm",
   'the call being recorded is still there, though its files are the '
   . 'oldest');

my $sid = ($res->{location} // '') =~ m{/([0-9a-f]{32})$} ? $1 : 'none';
is(rec_http($r, 'DELETE', '/admin/sessions/' . ('0' x 32),
            token => $token)->{status}, 404, 'admin: unknown session');
my $st = rec_http($r, 'DELETE', "/admin/sessions/$sid", token => $token);
is($st->{status}, 200, 'admin: stop the live recording');
my $mf = read_json("$rec/live/manifest.json") || {};
my ($p) = grep { $_->{session} eq $sid } @{ $mf->{participants} || [] };
is($p->{ending_reason}, 'admin_stop', 'ended by the admin');
like(`cat $r->{log}`, qr/session $sid: stopped by an admin request/, 'logged');
unpublish($pid, $pub);
ok(rec_stop($r), 'recorder exits');

# without --admin-token-file there is no admin endpoint

$r = rec_start(again => $r);
is(rec_http($r, 'GET', '/admin/recordings', token => $token)->{status}, 404,
   'no admin token configured: 404');
rec_stop($r);

done_testing();
