#!/usr/bin/perl
# An agent removed from hotline_agents_file (or a hotline_agent directive)
# is refused at once after the reload: its session tokens, issued by the
# login or minted elsewhere with the key, open no location guarded by
# hotline_auth_jwt and no agent WebSocket (its open one is closed by the
# reload and cannot come back), while the other agents' tokens go on
# working; listed again, the agent's token works again (it was never
# revoked: the list decides).  Without any agents configured, tokens name
# their agents themselves (t/54-access.t).  On both stores.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode poll_until);
use HotlineAuth qw(login api_get);

my $FILE = <<'EOF';
alice 4242 Alice Agent
carol 4343 Carol
EOF

my ($t, $tg) = HotlineAuth->nginx(
    agents => "hotline_agents_file %%PREFIX%%/conf/agents.txt;\n"
            . "hotline_agent bob chat=-1001234567 name=Bob;\n",
    no_start => 1);
note('store: ' . $t->store);

sub agents_file { Hotline::Test::write_file($t->prefix . '/conf/agents.txt', $_[0]) }

agents_file($FILE);
$t->start;

my %jwt;
for ([alice => 4242], [bob => '-1001234567'], [carol => 4343]) {
    my $r = login($t, $tg, @$_);
    is($r->{status}, 200, "$_->[0] logs in");
    $jwt{ $_->[0] } = $r->{json}{token};
}
my $minted = $t->mint_jwt(sub => 'alice', jti => 'from-elsewhere');

sub opens {
    my ($jwt) = @_;
    return api_get($t, '/api/x',
                   headers => [[Authorization => "Bearer $jwt"]])->{status};
}

sub handshake {
    my ($jwt) = @_;
    my $r = $t->handshake_raw(path => '/ws/agent',
                              headers => [Authorization => "Bearer $jwt"]);
    close $r->{sock};
    return $r->{status};
}

is(opens($jwt{alice}), 200, 'alice\'s token opens /api');
is(opens($minted), 200, 'so does one minted elsewhere for her');
my $ws = $t->ws_connect('/ws/agent', token => $jwt{alice});
ok($ws->wait_for('welcome', 5), 'alice\'s console is connected');

# alice leaves the file, bob the configuration
agents_file("carol 4343 Carol\n");
$t->{vars}{HTTP} =~ s/hotline_agent bob chat=-1001234567 name=Bob;\n//
    or die "no bob in the configuration";
$t->reload;

is($ws->expect_close(10), 1001, 'the reload closes her console');
is(opens($jwt{alice}), 401, 'alice\'s token: 401 at once');
is(opens($minted), 401, 'the minted one too');
is(handshake($jwt{alice}), 401, 'her console cannot come back');
is(opens($jwt{bob}), 401, 'bob, dropped from hotline_agent: 401');
is(handshake($jwt{bob}), 401, 'and no console either');
is(opens($jwt{carol}), 200, 'carol, still listed, goes on');
is(handshake($jwt{carol}), 101, 'with her console');
like($t->error_log, qr/token rejected: not a listed agent/,
     'the log says why');

# listed again: the list decides, nothing was revoked
agents_file($FILE);
$t->reload;
is(opens($jwt{alice}), 200, 'alice listed again: her token works again');

$t->stop;
$tg->stop;
done_testing;
