#!/usr/bin/perl
# The demo pages under the strict policy, in headless Chromium: the
# customer page and the agent console (html/) are served with hotline_csp
# (script-src 'self' 'nonce-...', no 'unsafe-inline'), sub_filter stamps
# the nonce into their <script nonce>, and they work: the customer joins
# the queue and the agent comes online over the WebSockets.  Chromium
# reports no CSP violation of the pages themselves; an inline script
# injected without the nonce is blocked, one with it runs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Hotline::Test qw(json_decode);

# the browser tests' playwright-core (t/e2e/setup.sh installs it, quietly
# and only when missing)
my $node_path = $ENV{HOTLINE_NODE_PATH} || "$FindBin::Bin/e2e/node_modules";
system("sh '$FindBin::Bin/e2e/setup.sh' >/dev/null 2>&1")
    unless $ENV{HOTLINE_NODE_PATH};
plan skip_all => 'playwright-core not installed (sh t/e2e/setup.sh)'
    unless -d "$node_path/playwright-core" && -x '/usr/bin/chromium';
$ENV{NODE_PATH} = $node_path;

my $t = Hotline::Test->new(
    server => q{
        location /demo/ {
            alias %%ROOT%%/html/;
            index index.html;
            include /etc/nginx/mime.types;
            hotline_csp "default-src 'none'; script-src 'self' 'nonce-$hotline_csp_nonce'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            hotline_security_headers on;
            sub_filter '__CSP_NONCE__' $hotline_csp_nonce;
            sub_filter_once off;
            add_header Cache-Control no-store always;
        }
    },
);

my $js = $t->prefix . '/csp_page.js';
Hotline::Test::write_file($js, <<'EOF');
'use strict';
// usage: node csp_page.js URL [customer]; prints one JSON line
const fs = require('fs');
const { chromium } = require('playwright-core');
const [url, role] = process.argv.slice(2);

(async () => {
    const udd = fs.mkdtempSync('/tmp/hotline-csp-udd-');
    const ctx = await chromium.launchPersistentContext(udd, {
        executablePath: '/usr/bin/chromium', headless: true,
        args: ['--headless=new', '--no-sandbox', '--disable-gpu',
               '--disable-quic', '--no-first-run',
               '--disable-background-networking',
               '--disable-component-update', '--disable-sync',
               '--use-fake-ui-for-media-stream',
               '--use-fake-device-for-media-stream'],
    });
    const out = { violations: [], errors: [] };
    try {
        const page = await ctx.newPage();
        await page.addInitScript(() => {
            window.__violations = [];
            document.addEventListener('securitypolicyviolation',
                (e) => window.__violations.push(e.violatedDirective + ' '
                                                + e.blockedURI));
        });
        page.on('pageerror', (e) => out.errors.push(e.message));
        page.on('requestfailed', (q) => out.errors.push('failed: ' + q.url()));
        const resp = await page.goto(url);
        out.status = resp.status();
        out.csp = resp.headers()['content-security-policy'] || '';
        await page.waitForLoadState('load');
        out.scriptNonce = await page.evaluate(() =>
            document.querySelector('script[type=module]').nonce);
        if (role === 'customer') {
            await page.fill('#name', 'Ann');
            await page.click('#call-btn');
            await page.waitForSelector('#waiting:not([hidden])',
                                       { timeout: 10000 });
            out.waiting = true;
        } else {
            // polled from here: page.waitForFunction evaluates its
            // predicate with eval() when it has to poll, which this very
            // policy forbids (no 'unsafe-eval')
            const until = Date.now() + 10000;
            while (await page.evaluate(() =>
                       document.getElementById('status').textContent)
                   !== 'Online.') {
                if (Date.now() > until) {
                    throw new Error('the console did not come online');
                }
                await new Promise((r) => setTimeout(r, 50));
            }
        }
        out.status_text = await page.evaluate(() =>
            document.getElementById('status').textContent);
        out.pageViolations = await page.evaluate(() => window.__violations.slice());
        out.injected = await page.evaluate((nonce) => new Promise((res) => {
            const a = document.createElement('script');
            a.textContent = 'window.__plain = 1';
            document.head.appendChild(a);
            const b = document.createElement('script');
            b.nonce = nonce;
            b.textContent = 'window.__nonced = 1';
            document.head.appendChild(b);
            setTimeout(() => res({ plain: window.__plain || 0,
                                   nonced: window.__nonced || 0,
                                   violations: window.__violations.slice() }),
                       200);
        }), out.scriptNonce);
    } catch (e) {
        out.errors.push(String(e));
    }
    await ctx.close();
    fs.rmSync(udd, { recursive: true, force: true });
    console.log(JSON.stringify(out));
})();
EOF

$t->start;

sub page {
    my ($url, $role) = @_;
    my $out = `node $js '$url' $role 2>&1`;
    my $res = eval { json_decode((split /\n/, $out)[-1]) };
    diag("browser: $out") unless $res && !@{ $res->{errors} || [] };
    return $res || {};
}

my $base = 'http://127.0.0.1:' . $t->port . '/demo/';

# ------------------------------------------------ the customer page
{
    my $r = page($base, 'customer');
    is($r->{status}, 200, 'customer page served');
    my ($nonce) = ($r->{csp} // '') =~ /'nonce-([^']+)'/;
    ok($nonce, 'with a CSP nonce');
    unlike($r->{csp} // '', qr/unsafe/i, 'and nothing unsafe in the policy');
    is($r->{scriptNonce}, $nonce, 'the module script carries that nonce');
    ok($r->{waiting}, 'the page works: the customer is in the queue');
    is_deeply($r->{pageViolations}, [], 'no CSP violation by the page');
    is($r->{injected}{plain}, 0, 'an injected inline script is blocked');
    is($r->{injected}{nonced}, 1, 'an inline script with the nonce runs');
    is(scalar @{ $r->{injected}{violations} || [] }, 1,
       'one violation: the injected script')
        or diag(explain $r->{injected});
    like(($r->{injected}{violations} || [''])->[0], qr/^script-src/,
         'reported as script-src');
}

# ------------------------------------------------ the agent console
{
    my $jwt = $t->mint_jwt(sub => 'agent1');
    my $r = page($base . "agent.html?lang=en#token=$jwt", 'agent');
    is($r->{status}, 200, 'agent console served');
    my ($nonce) = ($r->{csp} // '') =~ /'nonce-([^']+)'/;
    is($r->{scriptNonce}, $nonce, 'its module script carries the nonce');
    is_deeply($r->{pageViolations}, [], 'no CSP violation by the console');
    is($r->{injected}{plain}, 0, 'an injected inline script is blocked');
    is($r->{status_text}, 'Online.',
       'the console works: the agent is online over its WebSocket');
}

$t->stop;

done_testing();
