#!/usr/bin/perl
# The rotated files beside the journal: logrotate's <journal>.1 and
# dateext's <journal>-<date> are rewritten like the journal itself.  An
# erasure takes the call's personal data out of the rotated file that has
# its record (and answers 200 for a call only a rotated file has, on the
# embedded store); hotline_transcript_retention's sweep takes expired
# transcripts out of rotated files too.  Other calls' lines stay as they
# were, every line stays JSON; a compressed rotated file is left as it is,
# with a warning that it cannot be rewritten.  Both stores
# (HOTLINE_STORE=redis).
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(encode_utf8);
use POSIX qw(strftime);
use Hotline::Test qw(json_decode poll_until);

my $t = Hotline::Test->new(
    http   => "hotline_transcript_retention 4s;\n",
    server => "location = /history { hotline_auth_jwt on; hotline_history;\n"
              . "    hotline_history_erase dpo; }\n",
);
# the workers reopen their files themselves after USR1: they must reach
# them (as nginx's user in /var/log/nginx)
chmod 0711, $t->prefix;
$t->start;
my $jwt = $t->mint_jwt(sub => 'dpo');
my $journal = $t->prefix . '/logs/hotline_calls.jsonl';

sub req {
    my ($method, $path) = @_;
    my $r = $t->http_raw("$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         . "Connection: close\r\n"
                         . "Authorization: Bearer $jwt\r\n\r\n");
    close $r->{sock};
    return ($r->{status}, eval { json_decode($r->{body}) } // {});
}

sub has {
    my ($file, $what) = @_;
    return index(Hotline::Test::read_file($file), encode_utf8($what)) >= 0;
}

sub all_json {
    my ($file) = @_;
    return !grep { /\S/ && !eval { json_decode($_); 1 } }
                 split /\n/, Hotline::Test::read_file($file);
}

# a call with a line of chat, hung up; its record in the journal
sub chatted {
    my ($name, $text) = @_;
    my ($c, $a) = $t->call(name => $name, sub => 'emre');
    $c->send_json({ type => 'chat', text => $text, id => 'c' });
    $a->wait_for('chat', 5) or die 'chat not relayed';
    $a->send_json({ type => 'hangup', id => 'h' });
    $c->wait_for('ended', 5) or die 'not ended';
    $a->close_ws;
    $c->close_ws;
    poll_until(5, sub { has($journal, $name) && has($journal, $text) });
    return $c->{call_id};
}

# logrotate: the journal renamed, nginx told to reopen its files
sub rotate {
    my ($to) = @_;
    rename $journal, $to or die "rename: $!";
    kill 'USR1', $t->master_pid;
    poll_until(5, sub { -e $journal });
}

my $id1 = chatted('Ayşe Demir', 'Kadıköy 7');
my $id2 = chatted('Mert Can', 'Beşiktaş 3');
rotate("$journal.1");
my $id3 = chatted('Zeynep Su', 'Üsküdar 9');
my $dated = "$journal-" . strftime('%Y%m%d', gmtime);
rotate($dated);
ok(has("$journal.1", 'Ayşe Demir') && has("$journal.1", 'Kadıköy 7')
   && has("$journal.1", 'Beşiktaş 3'), 'journal.1 holds the first calls');
ok(has($dated, 'Üsküdar 9'), 'the dated file the third');
ok(!has($journal, 'Ayşe Demir'), 'the journal none of them');

# a compressed rotated file: left as it is
my $gz = "$journal.2.gz";
Hotline::Test::write_file($gz, "\x1f\x8b compressed " . encode_utf8('Ayşe Demir'));
my $gz_before = Hotline::Test::read_file($gz);

# --- an erasure reaches journal.1
my ($st, $j) = req(DELETE => "/history?call_id=$id1");
is($st, 200, 'a call only a rotated file has is erased: 200');
ok(!has("$journal.1", 'Ayşe Demir'), 'journal.1 no longer has its name');
ok(!has("$journal.1", 'Kadıköy 7'), '... nor its transcript');
ok(has("$journal.1", 'Mert Can'), 'the other call\'s name stays');
ok(all_json("$journal.1"), 'every line of journal.1 is still JSON');
is(Hotline::Test::read_file($gz), $gz_before,
   'the compressed file is left as it is');
like($t->error_log,
     qr/compressed rotated files of the call history .* cannot be rewritten/,
     'with a warning');
($st) = req(DELETE => '/history?call_id=' . ('ab' x 16));
is($st, 404, 'a call no file has: 404');

# --- the retention's sweep reaches the rotated files
ok(poll_until(15, sub { !has("$journal.1", 'Beşiktaş 3') }),
   'an expired transcript is swept out of journal.1');
ok(poll_until(15, sub { !has($dated, 'Üsküdar 9') }),
   '... and out of the dated file');
ok(has("$journal.1", 'Mert Can') && has($dated, 'Zeynep Su'),
   'the names stay (the sweep takes transcripts only)');
ok(all_json("$journal.1") && all_json($dated), 'every line is still JSON');

$t->stop;
done_testing;
