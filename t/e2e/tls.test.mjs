// A whole call over https:// and wss:// (run by t/79-e2e-tls.t): nginx
// terminates TLS itself (the demo's configuration with "listen ... ssl"
// and a certificate made at test time, which Chromium trusts by its key
// and no other); the agent signs in with a one-time code (the __Host-
// cookie over HTTPS), a customer calls, the agent accepts, media flows
// both ways, chat goes both ways over wss://, and the hang-up reaches both.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import {
    BASE, ARGS, person, until, text, visible, pcState, mediaFlows,
    telegramCode, hangUp,
} from './lib/browser.mjs';

const AGENT = process.env.HOTLINE_AGENT || 'demo';
const AGENT_CHAT = process.env.HOTLINE_AGENT_CHAT || '1';
const SPKI = process.env.HOTLINE_TLS_SPKI;

let browser;
let agent;
let cust;

before(async () => {
    assert.match(BASE || '', /^https:\/\//, 'HOTLINE_BASE is https://');
    assert.ok(SPKI, 'HOTLINE_TLS_SPKI is set');
    browser = await chromium.launch({
        executablePath: '/usr/bin/chromium', headless: true,
        args: [...ARGS, '--ignore-certificate-errors-spki-list=' + SPKI],
    });
    agent = await person(browser);
    cust = await person(browser);
});

after(async () => {
    if (browser) {
        await browser.close();
    }
});

function wsUrls(page) {
    return page.evaluate(() => window.__ws.map((w) => w.url));
}

test('the pages come over HTTPS, in a secure context', async () => {
    const res = await cust.goto(BASE + '/');
    assert.equal(res.status(), 200);
    assert.equal(await cust.evaluate(() => location.protocol), 'https:');
    assert.equal(await cust.evaluate(() => window.isSecureContext), true);
    const hsts = res.headers()['strict-transport-security'];
    assert.ok(hsts === undefined || /max-age=\d+/.test(hsts));
});

test('the agent signs in over HTTPS: the __Host- cookie is kept',
     async () => {
         await agent.goto(BASE + '/agent.html');
         await until(() => visible(agent, '#login'), 'the sign-in form');
         const since = Date.now() - 1000;
         await agent.fill('#username', AGENT);
         await agent.click('#otp-btn');
         await until(() => visible(agent, '#code-form'), 'the code form');
         await agent.fill('#code', await telegramCode(AGENT_CHAT, since));
         await agent.click('#verify-btn');
         await until(() => visible(agent, '#console'), 'the console');
         const cookie = (await agent.context().cookies())
             .find((c) => c.name === '__Host-hotline_session');
         assert.ok(cookie, 'the session cookie was stored');
         assert.equal(cookie.secure, true);
         const urls = await until(async () => {
             const u = await wsUrls(agent);
             return u.length ? u : null;
         }, 'the agent\'s WebSocket');
         assert.match(urls[urls.length - 1],
                      /^wss:\/\/127\.0\.0\.1:\d+\/ws\/agent$/);
         // before the sign-in the console's WebSocket was refused (401):
         // from here on no error is expected
         agent.errors.length = 0;
     });

test('a customer calls over wss:// and the agent accepts', async () => {
    await cust.fill('#name', 'TLS caller');
    await cust.click('#call-btn');
    await until(() => visible(cust, '#waiting'), 'the customer waits');
    const urls = await wsUrls(cust);
    assert.match(urls[0], /^wss:\/\/127\.0\.0\.1:\d+\/ws\/customer$/);
    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 1, 'the call in the agent\'s queue');
    await agent.locator('#queue-list .queue-item').first()
        .locator('button.primary').click();
    await until(() => visible(agent, '#call'), 'the agent\'s call panel');
    await until(() => visible(cust, '#call'), 'the customer\'s call panel');
});

test('media flows both ways', async () => {
    await until(async () => (await pcState(agent)) === 'connected',
                'agent connected', 15000);
    await until(async () => (await pcState(cust)) === 'connected',
                'customer connected', 15000);
    const [a1, a2] = await mediaFlows(agent, 'audio');
    const [c1, c2] = await mediaFlows(cust, 'audio');
    assert.ok(a2 > a1 && c2 > c1);
});

test('chat both ways over wss://', async () => {
    await cust.fill('#chat-input', 'merhaba over TLS');
    await cust.press('#chat-input', 'Enter');
    await until(async () => (await agent.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes('merhaba over TLS'),
    'the agent gets the customer\'s message');
    await agent.fill('#chat-input', 'hello back');
    await agent.click('#chat-form button[type=submit]');
    await until(async () => (await cust.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes('hello back'),
    'the customer gets the agent\'s message');
});

test('the hang-up reaches both sides', async () => {
    await hangUp(agent);
    await until(() => visible(cust, '#ended'), 'the customer sees the end');
    await until(() => visible(agent, '#idle'), 'the agent is idle again');
    for (const p of [agent, cust]) {
        assert.deepEqual(p.errors, []);
        assert.deepEqual(await p.evaluate(() => window.__violations), []);
    }
});
