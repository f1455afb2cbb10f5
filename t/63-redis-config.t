#!/usr/bin/perl
# hotline_redis: the URL is checked by nginx -t with clear messages; a
# password (requirepass, and an ACL user), a database number and a key
# prefix are honoured; a wrong password keeps the store down (503) with the
# reason in the error log, without crash; after SCRIPT FLUSH the workers
# fall back to EVAL and go on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_encode poll_until);
use Hotline::Redis;

plan skip_all => 'redis-server is not installed' unless Hotline::Redis::available();

my $r = Hotline::Redis->new(password => 'pa55word')->start;

# --- nginx -t
my $t0 = Hotline::Test->new;
for my $bad ([ 'http://127.0.0.1:6379/0', qr/must start with "redis:\/\/"/ ],
             [ 'redis://127.0.0.1:6379/x', qr/invalid redis database/ ],
             [ 'redis://user@127.0.0.1:6379/0', qr/user:password@/ ],
             [ 'redis://127.0.0.1:6379/0 prefix=', qr/prefix must be 1-64 bytes/ ],
             [ 'redis://127.0.0.1:6379/0 bogus=1', qr/invalid parameter "bogus=1"/ ],
             [ 'redis://127.0.0.1:99999/0', qr/invalid redis address/ ])
{
    my $conf = $t0->render;
    $conf =~ s/^http \{/http {\n    hotline_redis $bad->[0];/m;
    my ($ok, $out) = $t0->nginx_t($conf);
    ok(!$ok, "nginx -t fails: $bad->[0]");
    like($out, $bad->[1], '... with a clear message');
}
{
    my $conf = $t0->render;
    $conf =~ s/^http \{/http {\n    hotline_redis redis:\/\/127.0.0.1:1\/0;\n    hotline_redis redis:\/\/127.0.0.1:2\/0;/m;
    my ($ok, $out) = $t0->nginx_t($conf);
    ok(!$ok, 'nginx -t fails: two hotline_redis');
    like($out, qr/is duplicate/, '... is duplicate');
}

# --- password, database 3, own prefix
my $port = $r->port;
my $t = Hotline::Test->new(
    http => "hotline_redis redis://:pa55word\@127.0.0.1:$port/3 prefix=cfg63:;")->start;
ok(Hotline::Redis->wait_store_up($t), 'up with requirepass');
my $c = $t->customer('Db3');
ok($c->{welcome}, 'a customer joins');
my $keys = $r->cli('-n', 3, 'KEYS', 'cfg63:*');
like($keys, qr/^cfg63:r:p:[0-9a-f]{32}$/m, 'its party is in database 3 under the prefix');
unlike($r->cli('-n', 0, 'KEYS', '*'), qr/\S/, 'nothing in database 0');
unlike($t->error_log, qr/pa55word/, 'the password is not logged');

# --- SCRIPT FLUSH: EVALSHA answers NOSCRIPT, the worker sends the script
$r->cli('SCRIPT', 'FLUSH');
my $a = $t->agent(sub => 'flushed');
ok($a->{welcome}, 'an agent comes online after SCRIPT FLUSH');
($c, $a) = $t->call(customer => $c, agent => $a);
$c->send_json({ type => 'chat', text => 'after flush', id => 'f1' });
ok($c->wait_for('ack', 5, sub { $_[0]{id} eq 'f1' }), 'relay acked after SCRIPT FLUSH');
my $m = $a->wait_for('chat', 5);
is($m && $m->{text}, 'after flush', 'relayed');
$t->stop;

# --- an ACL user
$r->cli('ACL', 'SETUSER', 'hl', 'on', '>s3cret', '~*', '&*', '+@all');
my $tu = Hotline::Test->new(
    http => "hotline_redis redis://hl:s3cret\@127.0.0.1:$port/0 prefix=acl63:;")->start;
ok(Hotline::Redis->wait_store_up($tu), 'up with an ACL user');
ok($tu->customer('Acl')->{welcome}, 'a customer joins');
$tu->stop;

# --- a wrong password: down, 503, said in the log, nothing crashes
my $tw = Hotline::Test->new(wait_store => 0,
    http => "hotline_redis redis://:wrong\@127.0.0.1:$port/0;")->start;
my $h;
ok(poll_until(10, sub {
    $h = eval { $tw->http_get('/health') };
    $h && $h->{status} == 503;
}), 'wrong password: health 503');
like($h->{body}, qr/"status":"degraded"/, '... degraded');
is($tw->handshake_raw(path => '/ws/customer')->{status}, 503,
   '... handshakes 503');
ok(poll_until(5, sub { $tw->error_log =~ /redis setup failed: (WRONGPASS|ERR invalid password)/ }),
   'the error log says why');
unlike($tw->error_log, qr/wrong/, 'the password is not logged');
$tw->stop;

$r->stop;
done_testing;
