// The customer page outside the opening hours (run by t/146-e2e-hours.t,
// hotline_hours set so that support opens in two hours, at
// HOTLINE_OPENS): the page says support is closed and when it opens, in
// the visitor's time zone and language; the call button is disabled; the
// message form is offered and a message left goes to the console.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, until, text, visible, say, axeClean, switchLang,
} from './lib/browser.mjs';

const OPENS = Number(process.env.HOTLINE_OPENS);
const TZ = 'Europe/Istanbul';
const TOKEN = process.env.HOTLINE_AGENT_TOKEN;

let cust;
let agent;

people({ cust: { timezoneId: TZ }, agent: {} },
       (p) => ({ cust, agent } = p));

// when support opens, as a person in Istanbul reads it
const opens = (locale) => new Date(OPENS).toLocaleString(locale, {
    weekday: 'long', hour: '2-digit', minute: '2-digit', timeZone: TZ });

test('the desk says it is closed, and when it opens', async () => {
    assert.ok(OPENS > Date.now(), 'HOTLINE_OPENS is set');
    const r = await fetch(BASE + '/api/desk');
    const d = await r.json();
    assert.equal(d.open, false);
    assert.equal(d.next, OPENS, 'it opens at the start of the hours');
    assert.equal(d.eta, null);
});

test('the page outside the hours: closed, when it opens, no call',
     async () => {
         await cust.goto(BASE + '/');
         await until(async () => (await text(cust, '#desk-notice'))
                     === say('tr', 'c.desk.closed', { when: opens('tr-TR') }),
                     'the page says when support opens');
         assert.equal(await cust.$eval('#desk-notice', (e) => e.dataset.kind),
                      'closed');
         assert.equal(await cust.$eval('#call-btn', (b) => b.disabled), true,
                      'no call outside the hours');
         await axeClean(cust, 'closed');

         await switchLang(cust, 'en');
         assert.equal(await text(cust, '#desk-notice'),
                      say('en', 'c.desk.closed', { when: opens('en-GB') }));
         await switchLang(cust, 'tr');
     });

test('a message instead, in the console', async () => {
    await cust.click('#leave-msg-btn');
    await until(() => visible(cust, '#message'), 'the message form');
    await cust.fill('#msg-name', 'Gece Yazan');
    await cust.fill('#msg-contact', '+90 555 222 33 44');
    await cust.fill('#msg-text', 'Sabah arayın lütfen');
    await cust.click('#msg-send');
    await until(() => visible(cust, '#sent'), 'sent');

    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(async () => (await text(agent, '#messages-list li .text'))
                === 'Sabah arayın lütfen', 'the message in the console');
    for (const p of [cust, agent]) {
        assert.deepEqual(p.errors, []);
        assert.deepEqual(await p.evaluate(() => window.__violations), []);
    }
});
