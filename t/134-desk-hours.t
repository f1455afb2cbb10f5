#!/usr/bin/perl
# Opening hours (hotline_hours, a time zone of the system's database) and
# the desk's status for the customer page (hotline_desk_status): open or
# closed now, when that changes (checked against Perl's own time zone
# arithmetic, POSIX with TZ), agents who take calls, the wait a new caller
# may expect; outside the hours a join is refused with "closed" and a
# message is still taken.  The desk's directives are checked by nginx -t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use POSIX ();
use Hotline::Test qw(json_decode poll_until);

my $status = 'location = /desk { hotline_desk_status; }';

# --- nginx -t: the desk's directives and their bounds
{
    my $t = Hotline::Test->new;
    my $base = $Hotline::Test::DEFAULT_CONF;
    my $with = sub {
        my ($d) = @_;
        (my $c = $base) =~ s/^(http \{\n)/$1    $d\n/m or die;
        return $c;
    };
    my @good = (
        'hotline_hours Europe/Istanbul mon-fri 09:00-18:00 sat 10:00-14:00;',
        'hotline_hours UTC * 00:00-24:00;',
        'hotline_hours America/New_York sat,sun 22:00-02:00 mon-fri 08:00-20:00;',
        'hotline_wrapup_time 90s;', 'hotline_wrapup_time off;',
        'hotline_away_after 15m;', 'hotline_transfer_timeout 1m;',
        'hotline_transcript 64k;', 'hotline_transcript off;',
        'hotline_rating_time 1h;', 'hotline_dispositions solved billing_q a-b;',
    );
    for my $d (@good) {
        my ($ok, $out) = $t->nginx_t($with->($d));
        ok($ok, "nginx -t passes: $d") or diag($out);
    }
    my @bad = (
        [ 'hotline_hours ../etc/passwd * 00:00-24:00;', qr/invalid time zone/ ],
        [ 'hotline_hours Nowhere/Atlantis * 00:00-24:00;', qr/not in the time zone database/ ],
        [ 'hotline_hours UTC mo 09:00-18:00;', qr/invalid days "mo"/ ],
        [ 'hotline_hours UTC mon- 09:00-18:00;', qr/invalid days/ ],
        [ 'hotline_hours UTC mon 9:00-18:00;', qr/invalid hours "9:00-18:00"/ ],
        [ 'hotline_hours UTC mon 10:00-10:00;', qr/invalid hours/ ],
        [ 'hotline_hours UTC mon 10:00-25:00;', qr/invalid hours/ ],
        [ 'hotline_hours UTC mon;', qr/in pairs/ ],
        [ 'hotline_hours UTC * 00:00-24:00; hotline_hours UTC * 00:00-24:00;',
          qr/duplicate/ ],
        [ 'hotline_wrapup_time 0s;', qr/expected off or a time from 1s to 3600s/ ],
        [ 'hotline_wrapup_time 2h;', qr/hotline_wrapup_time/ ],
        [ 'hotline_away_after 10s;', qr/hotline_away_after/ ],
        [ 'hotline_transfer_timeout off;', qr/expected a time from 5s/ ],
        [ 'hotline_transcript 100;', qr/expected off or a size from 1k to 256k/ ],
        [ 'hotline_rating_time 2d;', qr/hotline_rating_time/ ],
        [ 'hotline_dispositions Solved;', qr/invalid disposition "Solved"/ ],
        [ 'hotline_dispositions a a;', qr/"a" is named twice/ ],
        [ 'hotline_dispositions ' . join(' ', map { "d$_" } 1 .. 17) . ';',
          qr/at most 16/ ],
    );
    for my $b (@bad) {
        my ($ok, $out) = $t->nginx_t($with->($b->[0]));
        ok(!$ok, "nginx -t fails: $b->[0]");
        like($out, $b->[1], '... and says why');
    }
}

# --- Perl's own view of a zone: the next time a weekday/time begins
sub next_at {
    my ($zone, $wday, $hh) = @_;      # wday: 0 = Monday
    local $ENV{TZ} = $zone;
    POSIX::tzset();
    my $now = time;
    for my $d (0 .. 8) {
        my @lt = localtime($now + $d * 86400);
        next unless ($lt[6] + 6) % 7 == $wday;
        my $t = POSIX::mktime(0, 0, $hh, $lt[3], $lt[4], $lt[5], 0, 0, -1);
        return $t if $t > $now;
    }
    return undef;
}

sub weekday_in {
    my ($zone, $t) = @_;
    local $ENV{TZ} = $zone;
    POSIX::tzset();
    my @lt = localtime($t);
    return ($lt[6] + 6) % 7;
}

my @days = qw(mon tue wed thu fri sat sun);

for my $zone ('Europe/Istanbul', 'America/New_York') {
    # open only the day after tomorrow (in that zone), 10:00-11:00
    my $day = (weekday_in($zone, time) + 2) % 7;
    my $t = Hotline::Test->new(
        http => "hotline_hours $zone $days[$day] 10:00-11:00;",
        server => $status)->start;
    my $s = json_decode($t->http_get('/desk')->{body});
    is($s->{open}, JSON::PP::false, "$zone: closed now");
    my $want = next_at($zone, $day, 10);
    is($s->{next}, $want * 1000,
       "$zone: opens $days[$day] 10:00 there, as Perl says ("
       . scalar(gmtime $want) . ' UTC)');
    is($s->{eta}, undef, "$zone: no wait to tell while closed");

    my $c = $t->ws_connect('/ws/customer');
    my $r = $c->request({ type => 'join', name => 'Gece' });
    is($r->{code}, 'closed', "$zone: a join outside the hours: closed");
    $r = $c->request({ type => 'message', kind => 'callback', name => 'Gece',
                       contact => '+90 555', text => '' });
    is($r->{type}, 'ack', "$zone: a callback request is still taken");
    $t->stop;
}

# --- open now, until the day's end; the counts of the status
{
    my $zone = 'Europe/Istanbul';
    my $day = weekday_in($zone, time);
    my $t = Hotline::Test->new(
        http => "hotline_hours $zone $days[$day] 00:00-24:00;\n"
                . 'hotline_average_handle_time 60s;',
        server => $status)->start;
    my $s = json_decode($t->http_get('/desk')->{body});
    is($s->{open}, JSON::PP::true, 'open today');
    is($s->{next}, next_at($zone, ($day + 1) % 7, 0) * 1000,
       'closes at midnight there');
    is($s->{agents}, 0, 'no agent');
    is($s->{eta}, undef, 'nobody takes calls: the wait is unknown');

    my $a = $t->agent(sub => 'ops');
    my $c1 = $t->customer('One');
    my $got;
    ok(poll_until(5, sub {
        $got = json_decode($t->http_get('/desk')->{body});
        $got->{agents} == 1 && $got->{waiting} == 1 }),
       'an agent and one waiting');
    is($got->{available}, 1, 'the agent is free');
    is($got->{eta}, 120, 'a new caller waits for two calls: 2 * 60 s');
    $a->request({ type => 'presence', state => 'away' });
    ok(poll_until(5, sub {
        $got = json_decode($t->http_get('/desk')->{body});
        $got->{agents} == 0 }), 'the agent away: nobody takes calls');
    is($got->{eta}, undef, 'the wait is unknown');
    my $r = $t->http_post('/desk', '{}');
    is($r->{status}, 405, 'only GET');
    $t->stop;
}

# --- always open: no change to tell
{
    my $t = Hotline::Test->new(http => 'hotline_hours UTC * 00:00-24:00;',
                               server => $status)->start;
    my $s = json_decode($t->http_get('/desk')->{body});
    is($s->{open}, JSON::PP::true, 'every day, all day: open');
    is($s->{next}, undef, 'and never closing');
    my $c = $t->customer('Any');
    ok($c->{welcome}, 'a join is taken');
    $t->stop;
}

done_testing;
