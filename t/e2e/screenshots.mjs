// Screenshots of every state of both pages (make screenshots, not part of
// the test suite): at 1366x768 and 390x844, in Turkish and English, into
// t/e2e/screenshots/ (HOTLINE_SHOTS) for people to look at; docs/ui.md
// shows the main ones.  A caller with a long name and one with a
// hostile-looking name fill the queue and the history, as in real life.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, person, until, text, visible, pcState, hangUp, shot,
    gestureAudioPolicy,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;
const LONG = 'Ayşe Gülşen Çiftçioğlu Karaağaçlı Şenyürek Öztürk İğdeşoğlu Ğüçş';

let browser;
let agent;
let cust;

people({ agent: {}, cust: {} }, (p) => ({ browser, agent, cust } = p));

async function join(page, name) {
    await page.goto(BASE + '/');
    await page.fill('#name', name);
    await page.click('#call-btn');
    await until(() => visible(page, '#waiting'), name + ' waits');
}

async function accept() {
    await until(async () => !(await agent.isDisabled('#accept-next')),
                'a call to accept');
    await agent.click('#accept-next');
    await until(() => visible(agent, '#call'), 'the agent in the call');
}

test('agent: sign-in', async () => {
    await agent.goto(BASE + '/agent.html');
    await until(() => visible(agent, '#login'), 'the sign-in form');
    await shot(agent, 'agent-login');
});

test('customer: join, microphone check, problem', async () => {
    await cust.goto(BASE + '/');
    await shot(cust, 'customer-join');
    await cust.click('#mic-test-btn');
    await until(async () => (await cust.getAttribute('#mic-state',
                                                     'data-heard')) === 'true',
                'the microphone is heard', 8000);
    await cust.fill('#name', 'Ayşe');
    await shot(cust, 'customer-mic-check');
    const denied = await person(browser, { init: () => {
        navigator.mediaDevices.getUserMedia = () => Promise.reject(
            new DOMException('denied', 'NotAllowedError'));
    } });
    await denied.goto(BASE + '/');
    await denied.fill('#name', 'Ayşe');
    await denied.click('#call-btn');
    await until(() => visible(denied, '#mic-problem'), 'the problem');
    await shot(denied, 'customer-mic-refused');
    await denied.context().close();
});

test('agent: console, queue, sound off', async () => {
    await agent.context().addInitScript(gestureAudioPolicy);
    await agent.goto('about:blank');
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#console'), 'the console');
    await until(() => visible(agent, '#sound-note'), 'the sound note');
    await shot(agent, 'agent-console-empty');
    await join(cust, 'Ayşe Yılmaz');
    const long = await person(browser);
    await join(long, LONG);
    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 2, 'two in the queue');
    await agent.click('#notify-btn');
    await shot(cust, 'customer-waiting');
    await shot(agent, 'agent-queue');
    await cust.click('#cancel-btn');
    await shot(cust, 'customer-leave-question');
    await cust.click('#leave-keep');
    await agent.click('#queue-list .queue-item:last-child [data-act=ban]');
    await shot(agent, 'agent-ban-question');
    await agent.click('#ban-keep');
    // the long name's call first: a history with long names
    await agent.click('#queue-list .queue-item:last-child [data-act=accept]');
    await until(async () => (await pcState(long)) === 'connected',
                'connected', 15000);
    await hangUp(long);
    await until(() => visible(agent, '#idle'), 'idle');
    await long.context().close();
});

test('a call on both sides', async () => {
    await accept();
    await until(async () => (await pcState(cust)) === 'connected',
                'connected', 15000);
    await until(async () => /ms$/.test(await text(agent, '#diag-rtt') || ''),
                'the diagnostics', 10000);
    await cust.fill('#chat-input', 'Merhaba, faturam hakkında sormak istiyorum.');
    await cust.press('#chat-input', 'Enter');
    await agent.fill('#chat-input', 'Merhaba Ayşe Hanım, hemen bakıyorum.');
    await agent.press('#chat-input', 'Enter');
    await until(async () => (await cust.$$('#chat-log .msg.peer')).length === 1,
                'chat');
    await shot(cust, 'customer-call');
    await shot(agent, 'agent-call');
    await cust.click('#hangup-btn');
    await shot(cust, 'customer-hangup-question');
    await cust.click('#hangup-keep');
    await cust.click('#mute-btn');
    await until(async () => (await agent.getAttribute('#peer-media',
                                                      'data-audio')) === 'false',
                'the agent sees the mute');
    await shot(cust, 'customer-call-muted', { sizes: [['phone', 390, 844]] });
    await shot(agent, 'agent-call-peer-muted');
    await cust.click('#mute-btn');
    // the customer's connection drops: the countdown
    await cust.context().setOffline(true);
    await cust.evaluate(() => window.__ws.filter((w) => w.readyState === 1)
        .pop().close(3001, 'screenshots'));
    await until(() => visible(cust, '#reconnect'), 'the countdown');
    await shot(cust, 'customer-reconnecting');
    await cust.context().setOffline(false);
    await cust.evaluate(() => window.dispatchEvent(new Event('online')));
    await until(async () => !(await visible(cust, '#reconnect')), 'back');
    await hangUp(agent);
    await until(() => visible(cust, '#ended'), 'ended');
    await until(async () => (await agent.$$('#history-body tr')).length >= 2,
                'the history');
    await shot(cust, 'customer-ended');
    await shot(agent, 'agent-history');
});

test('customer: removed', async () => {
    await join(cust, 'Rahatsız');
    await until(async () => !(await agent.isDisabled(
        '#queue-list [data-act=ban]')), 'the ban button');
    await agent.click('#queue-list [data-act=ban]');
    await agent.click('#ban-go');
    await until(() => visible(cust, '#ended'), 'removed');
    await shot(cust, 'customer-removed');
    assert.equal(await text(cust, '#ended-text'), 'Bu görüşmeden çıkarıldınız.');
});
