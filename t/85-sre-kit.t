#!/usr/bin/perl
# The SRE kit in deploy/: the Prometheus alert rules pass promtool's check
# and their unit tests (promtool test rules), each alert with a test that
# makes it fire and one that keeps it quiet; the Grafana dashboard is JSON
# a Grafana imports (panels with Prometheus targets, unique ids, a 24
# column grid); and every metric and label value the rules and the
# dashboard query is one a running nginx with the module exposes on
# /metrics.  The runbook sections the alerts point to exist.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode);

my $ROOT  = $Hotline::Test::ROOT;
my $RULES = "$ROOT/deploy/prometheus/hotline.rules.yml";
my $TESTS = "$ROOT/deploy/prometheus/hotline.rules.test.yml";
my $DASH  = "$ROOT/deploy/grafana/hotline.dashboard.json";

# --- the rules --------------------------------------------------------------
my $out = Hotline::Test::run_capture('promtool', 'check', 'rules', $RULES);
is($?, 0, 'promtool check rules') or diag($out);

$out = Hotline::Test::run_capture('sh', '-c',
    "cd '$ROOT/deploy/prometheus' && promtool test rules hotline.rules.test.yml");
is($?, 0, 'promtool test rules: every unit test passes') or diag($out);

my $rules = Hotline::Test::read_file($RULES);
my @alerts = $rules =~ /^\s*- alert:\s*(\w+)/mg;
cmp_ok(scalar @alerts, '>=', 8, scalar(@alerts) . ' alerts');

# the unit tests, one block per "- name:"
my %fire;
my %quiet;
for my $block (split /^  - name:/m, Hotline::Test::read_file($TESTS)) {
    while ($block =~ /alertname:\s*(\w+)\s*\n\s*exp_alerts:(.*?)(?=\n\s*- eval_time:|\z)/sg) {
        my ($name, $exp) = ($1, $2);
        if ($exp =~ /^\s*\[\]/) { $quiet{$name}++ } else { $fire{$name}++ }
    }
}
for my $a (@alerts) {
    ok($fire{$a}, "$a: a test makes it fire");
    ok($quiet{$a}, "$a: a test keeps it quiet");
}

# --- the dashboard ------------------------------------------------------------
my $dash = eval { json_decode(Hotline::Test::read_file($DASH)) };
ok($dash, 'the dashboard is JSON') or diag($@);
$dash ||= { panels => [] };
my @panels = grep { $_->{type} ne 'row' } @{ $dash->{panels} };
cmp_ok(scalar @panels, '>=', 10, scalar(@panels) . ' panels');
my %ids;
$ids{ $_->{id} }++ for @{ $dash->{panels} };
ok(!grep({ $_ > 1 } values %ids), 'panel ids are unique');
ok(!grep({ $_->{gridPos}{x} + $_->{gridPos}{w} > 24 } @{ $dash->{panels} }),
   'every panel fits the 24 column grid');
my @exprs;
for my $p (@panels) {
    my @t = @{ $p->{targets} || [] };
    ok(@t && !grep({ !$_->{expr} } @t), "panel '$p->{title}' has queries");
    is($p->{datasource}{type}, 'prometheus',
       "panel '$p->{title}': a Prometheus data source");
    push @exprs, map { $_->{expr} } @t;
}
my %titles = map { lc $_->{title} => 1 } @panels;
for my $want ('queue length', 'agents', 'calls ended by reason', 'relay rate',
              'errors by code', 'store up', 'zone use', 'notifications') {
    ok($titles{$want}, "a panel: $want");
}

# --- the names against a running nginx's /metrics ----------------------------
my $t = Hotline::Test->new->start;
my %series;    # name => [ {label => value}, ... ]
for (split /\n/, $t->http_get('/metrics')->{body}) {
    next if /^#/ || !/\S/;
    my ($name, $labels) = /^(\w+)(?:\{([^}]*)\})?\s/ or next;
    my %l = ($labels // '') =~ /(\w+)="([^"]*)"/g;
    push @{ $series{$name} }, \%l;
}
$t->stop;

sub check_query {
    my ($what, $expr) = @_;
    my @bad;
    my @names = $expr =~ /\b(hotline_\w+)/g;
    push @bad, 'no hotline metric' unless @names;
    for my $name (@names) {
        push @bad, "$name is not exposed" unless $series{$name};
    }
    # label="value" selectors other than the target's
    while ($expr =~ /\b(hotline_\w+)\{([^}]*)\}/g) {
        my ($name, $sel) = ($1, $2);
        next unless $series{$name};
        while ($sel =~ /(\w+)\s*=\s*"([^"]*)"/g) {
            my ($k, $v) = ($1, $2);
            next if $k eq 'instance' || $k eq 'job';
            push @bad, "$name\{$k=\"$v\"} matches no series"
                unless grep { ($_->{$k} // "\0") eq $v } @{ $series{$name} };
        }
        while ($sel =~ /(\w+)\s*=~\s*"([^"]*)"/g) {
            my ($k, $re) = ($1, $2);
            next if $k eq 'instance' || $k eq 'job';
            for my $alt (split /\|/, $re) {
                push @bad, "$name\{$k=~\"...$alt...\"} matches no series"
                    unless grep { ($_->{$k} // "\0") eq $alt }
                           @{ $series{$name} };
            }
        }
    }
    ok(!@bad, "$what: metrics and labels exist") or diag(join "\n", @bad);
}

my @rule_exprs;
while ($rules =~ /^\s*- alert:\s*(\w+)\n\s*expr:\s*(>?)(.*?)\n(?=\s*(?:for|labels):)/smg) {
    push @rule_exprs, [$1, $3];
}
is(scalar @rule_exprs, scalar @alerts, 'an expression for each alert');
check_query("alert $_->[0]", $_->[1]) for @rule_exprs;
check_query("dashboard: $_", $_) for @exprs;

# --- the runbook sections the alerts name -------------------------------------
for my $link ($rules =~ m{runbook:\s*"([^"]+)"}g) {
    my ($file, $anchor) = split /#/, $link;
    my $doc = Hotline::Test::read_file("$ROOT/$file");
    next unless defined $anchor;
    my %anchors;
    for ($doc =~ /^#+\s+(.*)$/mg) {
        (my $a = lc $_) =~ s/[^\w\s-]//g;
        $a =~ s/\s/-/g;
        $anchors{$a} = 1;
    }
    ok($anchors{$anchor}, "$link: the section exists");
}

done_testing;
