// Reloads in the middle of a call (run by t/74-e2e-reload.t): the agent's
// page reloads, takes its session (and the call) back, and sets the media
// up again with a new offer the customer's page accepts; the customer
// keeps the call throughout.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, until, text, visible, mediaFlows,
    hangUp, mediaConnected,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;

let agent;
let cust;

people({
    agent: {},
    cust: {},
}, (p) => ({ agent, cust } = p));

test('a call is up', async () => {
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#console'), 'the console');
    await cust.goto(BASE + '/');
    await cust.fill('#name', 'Yeniden');
    await cust.click('#call-btn');
    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 1, 'the call in the queue');
    await agent.click('#accept-next');
    await mediaConnected([agent, cust], 'connected', 15000);
});

test('the agent\'s page reloads and is back in the call with media',
     async () => {
         await agent.reload();
         await until(() => visible(agent, '#call'),
                     'the reloaded console is in the call again', 10000);
         assert.equal(await text(agent, '#call-title'), 'Yeniden ile görüşme',
                      'the customer\'s name is remembered');
         await mediaConnected([agent, cust], 'media connected again', 20000);
         await mediaFlows(agent, 'audio');
         await mediaFlows(cust, 'audio');
         assert.equal(await visible(cust, '#call'), true);
         // chat still goes both ways
         await agent.fill('#chat-input', 'tekrar buradayım');
         await agent.press('#chat-input', 'Enter');
         await until(async () => (await cust.$$eval('#chat-log .msg.peer .text',
             (els) => els.map((e) => e.textContent))).includes('tekrar buradayım'),
         'chat after the reload');
     });

test('hang up after the reload', async () => {
    await hangUp(agent);
    await until(() => visible(cust, '#ended'), 'the customer sees the end');
    assert.match(await text(cust, '#ended-text'), /kapattı/);
});
