#!/usr/bin/perl
# The agents registry and the login directives are checked when the
# configuration is loaded: `nginx -t` fails on a bad agent (name, chat id,
# display name, twice), a bad agents file (with its line number), a bad
# rate or token lifetime, and on a login endpoint or hotline_auth_jwt
# without a key.  A good configuration passes, with agents from both the
# directive and the file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test;

my $t = Hotline::Test->new;
my $dir = $t->prefix . '/conf';

Hotline::Test::write_file("$dir/agents.txt", <<'EOF');
# username  chat id      display name
carol       555001       Carol Ç. Öztürk
dave        -100200300

  erin      77  Erin
EOF

my $endpoints = <<'EOF';
location = /auth/otp    { hotline_otp_request; }
location = /auth/verify { hotline_otp_verify; }
location = /auth/logout { hotline_logout; }
location /api/          { hotline_auth_jwt on; }
EOF

sub conf_with {
    my (%o) = @_;
    my $tpl = $Hotline::Test::DEFAULT_CONF;
    my $http = $o{http} // '';
    my $server = $o{server} // $endpoints;
    $tpl =~ s/%%HTTP%%/$http/;
    $tpl =~ s/%%SERVER%%/$server/;
    $tpl =~ s/^\s*hotline_jwt_secret_file.*$//m if $o{no_secret};
    return $tpl;
}

my ($ok, $out) = $t->nginx_t(conf_with(http => <<"EOF"));
hotline_agent alice chat=4242 "name=Alice Agent";
hotline_agent bob chat=-1001234567;
hotline_agents_file $dir/agents.txt;
hotline_jwt_ttl 2h;
hotline_otp_ip_rate 30r/m burst=5;
EOF
ok($ok, 'agents from directives and a file, rates, ttl: nginx -t passes')
    or diag($out);

($ok, $out) = $t->nginx_t(conf_with(http => "hotline_otp_ip_rate off;\n"));
ok($ok, 'no agents at all and hotline_otp_ip_rate off: passes') or diag($out);

my @bad = (
    [ 'uppercase username', "hotline_agent Alice chat=1;",
      qr/username must be 1 to 64 of a-z 0-9/ ],
    [ 'username with a space (quoted)', qq{hotline_agent "al ice" chat=1;},
      qr/username must be/ ],
    [ 'username of 65 bytes', 'hotline_agent ' . ('a' x 65) . ' chat=1;',
      qr/username must be/ ],
    [ 'username with a slash', "hotline_agent a/b chat=1;",
      qr/username must be/ ],
    [ 'no chat', "hotline_agent alice name=Alice;",
      qr/has no chat=/ ],
    [ 'chat not a number', "hotline_agent alice chat=abc;",
      qr/chat id must be a Telegram chat id/ ],
    [ 'chat of 21 digits', "hotline_agent alice chat=" . ('1' x 21) . ";",
      qr/chat id must be/ ],
    [ 'unknown parameter', "hotline_agent alice chat=1 role=admin;",
      qr/invalid parameter "role=admin"/ ],
    [ 'name with a control character',
      qq{hotline_agent alice chat=1 "name=A\tB";}, qr/display name must be/ ],
    [ 'name of 65 bytes', "hotline_agent alice chat=1 name=" . ('n' x 65) . ";",
      qr/display name must be/ ],
    [ 'name not UTF-8', "hotline_agent alice chat=1 name=\xff\xfe;",
      qr/display name must be/ ],
    [ 'agent twice', "hotline_agent alice chat=1;\nhotline_agent alice chat=2;",
      qr/agent "alice" is configured twice/ ],
    [ 'agent in the file and a directive',
      "hotline_agent carol chat=1;\nhotline_agents_file $dir/agents.txt;",
      qr/agent "carol" is configured twice/ ],
    [ 'missing agents file', "hotline_agents_file $dir/none.txt;",
      qr/none\.txt.*failed/ ],
    [ 'two agents files',
      "hotline_agents_file $dir/agents.txt;\nhotline_agents_file $dir/agents.txt;",
      qr/"hotline_agents_file" directive is duplicate/ ],
    [ 'bad rate', "hotline_otp_ip_rate 20r/h;", qr/invalid rate "20r\/h"/ ],
    [ 'zero rate', "hotline_otp_ip_rate 0r/m;", qr/invalid rate/ ],
    [ 'bad burst', "hotline_otp_ip_rate 20r/m burst=x;",
      qr/invalid parameter "burst=x"/ ],
    [ 'ttl too short', "hotline_jwt_ttl 30s;", qr/between 1m and 30d/ ],
    [ 'ttl too long', "hotline_jwt_ttl 31d;", qr/between 1m and 30d/ ],
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    ($ok, $out) = $t->nginx_t(conf_with(http => $http));
    ok(!$ok, "$name: nginx -t fails");
    like($out, $re, "$name: the error says why") or diag($out);
}

# bad lines of an agents file name the line
my @file_bad = (
    [ "alice 1\nBob 2\n", qr/agents\.bad", line 2: agent "Bob": username/ ],
    [ "alice\n", qr/line 1: expected "username chat_id \[display name\]"/ ],
    [ "# c\n\nalice x1\n", qr/line 3: agent "alice": the chat id/ ],
    [ "alice 1 A\x01B\n", qr/line 1: agent "alice": the display name/ ],
);
for my $case (@file_bad) {
    my ($text, $re) = @$case;
    Hotline::Test::write_file("$dir/agents.bad", $text);
    ($ok, $out) = $t->nginx_t(conf_with(
        http => "hotline_agents_file $dir/agents.bad;"));
    ok(!$ok, "agents file with a bad line: nginx -t fails");
    like($out, $re, 'the error names the file and line') or diag($out);
}

# the login endpoints and the access check need the key
for my $d ('hotline_otp_request', 'hotline_otp_verify', 'hotline_logout') {
    # the template's agent WebSocket needs the key too: drop it
    my $text = conf_with(no_secret => 1,
                         server => "location = /x { $d; }\n");
    $text =~ s{^\s*location = /ws/agent .*$}{}m;
    ($ok, $out) = $t->nginx_t($text);
    ok(!$ok, "$d without hotline_jwt_secret_file: nginx -t fails");
    like($out, qr/"$d" requires "hotline_jwt_secret_file"/, "$d: says so")
        or diag($out);
}
{
    my $text = conf_with(no_secret => 1,
                         server => "location /api/ { hotline_auth_jwt on; }\n");
    $text =~ s{^\s*location = /ws/agent .*$}{}m;
    ($ok, $out) = $t->nginx_t($text);
    ok(!$ok, 'hotline_auth_jwt on without a key: nginx -t fails');
    like($out, qr/"hotline_auth_jwt" requires "hotline_jwt_secret_file"/,
         'hotline_auth_jwt: says so') or diag($out);

    # inherited from the server level into a location
    $text = conf_with(no_secret => 1,
                      server => "hotline_auth_jwt on;\nlocation /api/ { }\n");
    $text =~ s{^\s*location = /ws/agent .*$}{}m;
    ($ok, $out) = $t->nginx_t($text);
    ok(!$ok, 'hotline_auth_jwt on inherited without a key: nginx -t fails');

    $text = conf_with(no_secret => 1,
                      server => "location /api/ { hotline_auth_jwt off; }\n");
    $text =~ s{^\s*location = /ws/agent .*$}{}m;
    ($ok, $out) = $t->nginx_t($text);
    ok($ok, 'hotline_auth_jwt off needs no key') or diag($out);
}

done_testing;
