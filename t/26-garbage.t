#!/usr/bin/perl
# Hostile input, black-box: mutated frames and mutated JSON from a fixed
# seed.  Every connection ends with a defined close code or keeps working;
# the server never crashes and logs no alert.  (The parsers' own fuzz
# targets live in fuzz/; this checks the assembled module.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(raw_frame json_encode);

my $seed = $ENV{HOTLINE_SEED} // 20261123;
srand($seed);
note("seed $seed");
my $t = Hotline::Test->new(http => 'hotline_max_message 8k;')->start;

# 4004: a mutated resume with an unknown token
my %allowed_close = map { $_ => 1 } (1002, 1003, 1007, 1009, 4004);
my %allowed_err = map { $_ => 1 }
    qw(bad_json bad_type bad_field bad_state not_allowed not_found expired);

sub rnd_bytes { join '', map { chr int rand 256 } 1 .. $_[0] }

my @valid = (
    '{"type":"join","name":"Fuzz"}',
    '{"type":"chat","text":"hello","id":"x1"}',
    '{"type":"ice","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}',
    '{"type":"media","audio":true,"video":false}',
    '{"type":"resume","token":"00000000000000000000000000000000","last_seq":3}',
);

# 1. mutated frames
my ($closed_badly, $unexpected) = (0, 0);
for my $i (1 .. 120) {
    my $ws = $t->ws_connect('/ws/customer');
    my $f = raw_frame(payload => $valid[rand @valid],
                      opcode => (rand() < 0.8 ? 1 : int rand 16),
                      fin => (rand() < 0.85 ? 1 : 0));
    my $n = 1 + int rand 4;
    for (1 .. $n) {
        my $pos = int rand length $f;
        substr($f, $pos, 1) = chr(ord(substr($f, $pos, 1)) ^ (1 << int rand 8));
    }
    $f .= rnd_bytes(int rand 20) if rand() < 0.3;
    $ws->send_raw($f);
    # then something valid: either it is answered or the connection closed
    $ws->ping("probe$i");
    $ws->pump_until(3, sub { $ws->{closed} || $ws->{eof}
                             || grep { $_ eq "probe$i" } @{ $ws->{pongs} } });
    if ($ws->{closed}) {
        $closed_badly++ unless $allowed_close{ $ws->{close_code} // 0 };
        diag("frame " . unpack('H*', $f) . " closed with "
             . ($ws->{close_code} // 'none')) unless $allowed_close{ $ws->{close_code} // 0 };
    } elsif (!grep { $_ eq "probe$i" } @{ $ws->{pongs} }) {
        # a frame announcing more payload than sent waits for it: fine
        # unless the server dropped the connection without a close frame
        $unexpected++ if $ws->{eof};
        diag("frame " . unpack('H*', $f) . ": dropped without close") if $ws->{eof};
    }
    for my $m (@{ $ws->{inbox} }) {
        next unless $m->{type} eq 'error';
        $unexpected++ unless $allowed_err{ $m->{code} };
    }
    $ws->drop;
}
is($closed_badly, 0, 'mutated frames: closed only with 1002/1003/1007/1009/4004');
is($unexpected, 0, 'mutated frames: no unexpected outcome');

# 2. mutated JSON in well-formed text frames (valid UTF-8 kept)
my $ws = $t->ws_connect('/ws/customer');
my $bad = 0;
for my $i (1 .. 300) {
    my $j = $valid[rand @valid];
    for (1 .. 1 + int rand 3) {
        my $pos = int rand length $j;
        my $r = rand;
        if ($r < 0.4) { substr($j, $pos, 1) = '' }
        elsif ($r < 0.7) { substr($j, $pos, 0) = ('{', '}', '"', ':', ',', '[', ']', '\\', '0', '-', 'e', 'null', 'true', '1e999', '"type"', '\\u0000', '\\ud800')[rand 17] }
        else { substr($j, $pos, 1) = chr(32 + int rand 95) }
    }
    $ws->send_text($j);
    $ws->send_json({ type => 'media', audio => JSON::PP::true, id => "probe$i" });
    my $got = $ws->wait_for('error', 3, sub { ($_[0]{id} // '') eq "probe$i" })
              || $ws->wait_for('ack', 0, sub { ($_[0]{id} // '') eq "probe$i" });
    if ($ws->is_closed) {
        # only a resume with an unknown token closes (4004, after expired)
        my $ok = ($ws->{close_code} // 0) == 4004
            && grep { $_->{type} eq 'error' && $_->{code} eq 'expired' }
                    @{ $ws->{inbox} };
        diag("closed by: $j (" . ($ws->{close_code} // 'none') . ')') unless $ok;
        $bad++ unless $ok;
        $ws = $t->ws_connect('/ws/customer');
        next;
    }
    $bad++, diag("no answer after: $j") unless $got;
    for my $m (@{ $ws->{inbox} }) {
        next unless $m->{type} eq 'error' && !$allowed_err{ $m->{code} };
        diag("error $m->{code} after: $j");
        $bad++;
    }
    # a mutation may have produced a valid join: start over then; and a
    # new connection every 40 rounds keeps clear of any message rate limit
    if ($i % 40 == 0 || grep { $_->{type} eq 'welcome' } @{ $ws->{inbox} }) {
        $ws->drop;
        $ws = $t->ws_connect('/ws/customer');
    }
    $ws->{inbox} = [];
}
is($bad, 0, 'mutated JSON: always an error or a normal answer, never a disconnect');

is($t->health->{status}, 'ok', 'server healthy after the garbage');
$t->stop;
done_testing;
