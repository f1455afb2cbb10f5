package HotlineAuth;

# Helpers for the agent login tests (t/5*.t): an nginx with agents, the
# login endpoints and a location guarded by hotline_auth_jwt, pointed at
# the Telegram Bot API stand-in (TelegramStub) so that one-time codes are
# read from the sendMessage requests it records, exactly as an agent reads
# them in Telegram.
#
#   my ($t, $tg) = HotlineAuth->nginx;
#   my $r = otp_request($t, 'alice');             # 202
#   my $code = otp_code($tg, '4242');             # from the stand-in
#   my $v = otp_verify($t, 'alice', $code);       # 200, token + cookie
#   my $jwt = $v->{json}{token};
#
# Every response of the login endpoints carries X-Pid: the worker that
# answered.  Locations:
#   /auth/otp /auth/verify /auth/logout   the three endpoints
#   /api/...     hotline_auth_jwt on, proxied to /echo/ with the claims in
#                request headers (so the variables are checked too)
#   /echo/...    answers with those headers
#   /open/...    the same proxy without the check

use strict;
use warnings;

use Carp qw(croak);
use Exporter qw(import);
use IO::Socket::INET;
use Time::HiRes qw(time);

use Hotline::Test qw(json_encode json_decode poll_until);
use TelegramStub;

our @EXPORT_OK = qw(post_json otp_request otp_code otp_codes otp_verify
                    login logout api_get logs_text worker_request);

our $AGENTS = <<'EOF';
hotline_agent alice chat=4242 "name=Alice Agent";
hotline_agent bob chat=-1001234567 name=Bob;
EOF

our $LOCATIONS = <<'EOF';
location = /auth/otp    { hotline_otp_request; add_header X-Pid $pid always; }
location = /auth/verify { hotline_otp_verify;  add_header X-Pid $pid always; }
location = /auth/logout { hotline_logout;      add_header X-Pid $pid always; }
location /api/ {
    hotline_auth_jwt on;
    proxy_pass %%SCHEME%%://127.0.0.1:%%PORT%%/echo/;
    proxy_set_header X-Jwt-Sub  $hotline_jwt_sub;
    proxy_set_header X-Jwt-Role $hotline_jwt_role;
    proxy_set_header X-Jwt-Jti  $hotline_jwt_jti;
    proxy_set_header X-Jwt-Exp  $hotline_jwt_exp;
    add_header X-Pid $pid always;
}
location /open/ {
    proxy_pass %%SCHEME%%://127.0.0.1:%%PORT%%/echo/;
    proxy_set_header X-Jwt-Sub  $hotline_jwt_sub;
}
location /echo/ {
    return 200 "sub=$http_x_jwt_sub role=$http_x_jwt_role jti=$http_x_jwt_jti exp=$http_x_jwt_exp\n";
}
EOF

# (Hotline::Test, TelegramStub), both started.  Options: http, server (more
# directives), agents (instead of $AGENTS), workers, no_telegram (no
# notification directives at all), log_format (1: the access log records
# the claims), locations_extra, listen, tls (Hotline::Test's), no_start
# (the caller starts it).
sub nginx {
    my ($class, %o) = @_;
    my $tg = TelegramStub->new->start;
    my $http = ($o{agents} // $AGENTS) . ($o{http} // '');
    $http .= "log_format claims '\$remote_addr \"\$request\" \$status "
           . "sub=\$hotline_jwt_sub jti=\$hotline_jwt_jti';\n"
           . "access_log %%PREFIX%%/logs/claims.log claims;\n";
    my $t;
    if ($o{no_telegram}) {
        $t = Hotline::Test->new(workers => $o{workers} // 2, http => $http,
                                server => $LOCATIONS . ($o{server} // ''),
                                (map { exists $o{$_} ? ($_ => $o{$_}) : () }
                                 qw(listen tls)));
        $t->start unless $o{no_start};
    } else {
        $t = $tg->nginx(workers => $o{workers} // 2, http => $http,
                        server => $LOCATIONS . ($o{server} // ''),
                        (map { exists $o{$_} ? ($_ => $o{$_}) : () }
                         qw(listen tls no_start)));
    }
    return ($t, $tg);
}

# POST a JSON body (a hash is encoded; a string goes as is)
#   headers => [[k, v], ...], type => content type (default JSON), sock
sub post_json {
    my ($t, $path, $data, %o) = @_;
    my $body = ref $data ? json_encode($data) : $data;
    my @h = @{ $o{headers} || [] };
    push @h, ['Content-Type', $o{type} // 'application/json']
        unless exists $o{type} && !defined $o{type};
    if ($o{sock}) {
        my $port = $t->port;
        my $hdrs = join '', map { "$_->[0]: $_->[1]\r\n" } @h;
        my $r = $t->http_raw("POST $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
                             . "Connection: close\r\n$hdrs"
                             . "Content-Length: " . length($body)
                             . "\r\n\r\n$body", sock => $o{sock});
        close $o{sock};
        delete $r->{sock};
        return $r;
    }
    return $t->http_post($path, $body, headers => \@h);
}

sub otp_request {
    my ($t, $user, %o) = @_;
    return post_json($t, '/auth/otp', { username => $user }, %o);
}

sub otp_verify {
    my ($t, $user, $code, %o) = @_;
    return post_json($t, '/auth/verify', { username => $user, code => "$code" },
                     %o);
}

# every code sent to a chat so far, oldest first
sub otp_codes {
    my ($tg, $chat) = @_;
    my @codes;
    for my $q ($tg->requests(telegram => 1)) {
        next unless defined $q->{json} && ($q->{json}{chat_id} // '') eq $chat;
        push @codes, $1 if ($q->{json}{text} // '') =~ m{<code>(\d{6})</code>};
    }
    return @codes;
}

# the n-th code (1-based, default: one more than seen before) sent to a
# chat, waiting for it with a deadline; undef if it does not come
sub otp_code {
    my ($tg, $chat, $n) = @_;
    $tg->{seen}{$chat} //= 0;
    $n //= $tg->{seen}{$chat} + 1;
    my @codes;
    poll_until(10, sub { @codes = otp_codes($tg, $chat); @codes >= $n })
        or return undef;
    $tg->{seen}{$chat} = $n if $n > $tg->{seen}{$chat};
    return $codes[$n - 1];
}

# full login: request, code from the stand-in, verify; returns the verify
# response (200 with json token unless something failed)
sub login {
    my ($t, $tg, $user, $chat) = @_;
    my $r = otp_request($t, $user);
    croak "otp request for $user: $r->{status} $r->{body}"
        unless $r->{status} == 202;
    my $code = otp_code($tg, $chat) or croak "no code for $user";
    return otp_verify($t, $user, $code);
}

sub logout {
    my ($t, %o) = @_;
    return $t->http_post('/auth/logout', '', headers => $o{headers} || []);
}

sub api_get {
    my ($t, $path, %o) = @_;
    return $t->http_get($path, headers => $o{headers} || []);
}

# the text of every log file of the prefix (error, access, claims)
sub logs_text {
    my ($t) = @_;
    my $text = '';
    for my $f (glob($t->prefix . '/logs/*.log')) {
        $text .= Hotline::Test::read_file($f);
    }
    return $text;
}

# a request on a connection accepted by the given worker: connects until
# that worker owns the server side (bounded), then sends.  code->($sock)
# sends and returns the response.
sub worker_request {
    my ($t, $pid, $code) = @_;
    return $code->($t->worker_socket($pid));
}

1;
