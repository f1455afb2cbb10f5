// More of the support desk in real browsers (run by t/145-e2e-desk-more.t:
// hotline_away_after 1m, hotline_transfer_timeout 5s, hotline_history_erase
// demo; agents demo, bob and carol): a console left alone goes away by
// itself (the page's clock is moved on, not waited for); a callback
// request from the customer page while nobody is online, claimed in the
// console (the other console sees who took it) and done; a transfer bob
// declines and one he lets time out, after which anyone may take the
// call; the erase button of the history, asked first, its error said,
// keyboard only, and shown to demo only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
    BASE, people, until, text, visible, hangUp, say, axeClean, tabTo,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;
const BOB = process.env.HOTLINE_TOKEN_BOB;
const CAROL = process.env.HOTLINE_TOKEN_CAROL;

// what a page sends on its WebSockets (JSON messages)
function sent() {
    window.__sent = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        try {
            window.__sent.push(JSON.parse(data));
        } catch (e) {
            // not JSON
        }
        return send.call(this, data);
    };
}

let agent;
let bob;
let carol;
let cust;

people({ agent: {}, bob: {}, carol: { init: sent }, cust: {} },
       (p) => ({ agent, bob, carol, cust } = p));

// Polls fn for ms: it must hold all along (what must not happen after
// something that has happened).
async function stays(fn, what, ms = 1000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        assert.ok(await fn(), what);
        await new Promise((r) => setTimeout(r, 100));
    }
}

// the desk as the customer page asks for it (hotline_desk_status; {}
// when refused: it has a rate limit)
async function desk() {
    const r = await fetch(BASE + '/api/desk', { cache: 'no-store' });
    return r.status === 200 ? r.json() : {};
}

const presence = (page) => page.$eval('#presence-state',
    (e) => e.dataset.presence).catch(() => null);

async function signIn(page, token) {
    await page.goto(BASE + '/agent.html#token=' + token);
    await until(async () => (await presence(page)) === 'available',
                'the console is there, available');
}

test('an idle console goes away by itself after hotline_away_after',
     async () => {
         // the page's clock is installed before its scripts run and moved
         // on by hand; it ticks on by itself meanwhile
         await carol.clock.install();
         await signIn(carol, CAROL);
         await until(async () => (await desk()).available === 1,
                     'the desk counts carol available', 10000, 500);
         const presenceSent = () => carol.evaluate(() => window.__sent
             .filter((m) => m.type === 'presence').length);

         // 40 s alone, then a key pressed, then 50 s: never 60 s alone
         await carol.clock.fastForward(40000);
         assert.equal(await presenceSent(), 0, 'not away after 40 s');
         await carol.keyboard.press('Shift');
         await carol.clock.fastForward(50000);
         assert.equal(await presenceSent(), 0,
                      'not away 50 s after a key was pressed');
         assert.equal(await presence(carol), 'available');

         // 15 s more: 65 s alone
         await carol.clock.fastForward(15000);
         await until(async () => (await presence(carol)) === 'away',
                     'the console says away');
         assert.equal(await text(carol, '#status'),
                      say('tr', 'a.auto_away', { m: 1 }));
         assert.equal(await carol.$eval('#presence-select', (s) => s.value),
                      'away');
         await until(async () => {
             const d = await desk();
             return d.available === 0 && d.agents === 0;
         }, 'the server has carol away: nobody takes calls', 10000, 500);
         assert.deepEqual(carol.errors, []);
         await carol.context().close();
     });

test('nobody online: a callback request instead of a call', async () => {
    await until(async () => (await desk()).agents === 0, 'nobody online',
                10000, 500);
    await cust.goto(BASE + '/');
    await until(async () => (await text(cust, '#desk-notice'))
                === say('tr', 'c.desk.nobody'), 'the page says so');
    await cust.click('#leave-msg-btn');
    await until(() => visible(cust, '#message'), 'the message form');
    await cust.check('#msg-kind-callback');
    assert.equal(await text(cust, '#msg-text-label'),
                 say('tr', 'c.msg.text.optional'),
                 'a callback request needs no text');
    await cust.fill('#msg-name', 'Geri Aranacak');
    await cust.fill('#msg-contact', 'geri@example.com');
    await cust.click('#msg-send');
    await until(() => visible(cust, '#sent'), 'sent');
    assert.equal(await text(cust, '#sent-text'),
                 say('tr', 'c.msg.sent.callback'));
    await axeClean(cust, 'the callback request was sent');
    const log = process.env.HOTLINE_TG_LOG;
    await until(() => fs.readFileSync(log, 'utf8').split('\n')
        .some((l) => /Callback request/.test(l) && /Geri Aranacak/.test(l)),
    'Telegram hears of it');
});

test('the callback request in the consoles: claimed, then done',
     async () => {
         await signIn(agent, TOKEN);
         await signIn(bob, BOB);
         const item = '#messages-list li';
         for (const page of [agent, bob]) {
             await until(async () => (await page.$$(item)).length === 1,
                         'the request in the console');
             assert.equal(await text(page, item + ' .kind'),
                          say('tr', 'a.msg.callback'));
             assert.equal(await text(page, item + ' .who'),
                          '· Geri Aranacak · geri@example.com');
         }
         // demo's lists asked for after the claim come late, after the
         // lists asked for after done: the console keeps the newest
         const lists = (url) => url.pathname === '/api/history'
             && url.searchParams.get('outcome') === 'message';
         const held = [];
         let hold = true;
         const late = async (route) => {
             const response = await route.fetch();
             if (hold) {
                 held.push(() => route.fulfill({ response }));
             } else {
                 await route.fulfill({ response });
             }
         };
         await agent.route(lists, late);
         await agent.click(item + ' [data-act=claim]');
         await until(async () => (await text(bob, item + ' .claimed'))
                     === say('tr', 'a.msg.claimed', { by: 'demo' }),
                     'claimed by demo, in bob\'s console');
         assert.equal(await bob.$eval(item + ' [data-act=claim]',
                                      (b) => b.disabled), true);
         await until(() => held.length >= 2,
                     'demo\'s console asked for its list again (held)');
         hold = false;
         await agent.click(item + ' [data-act=done]');
         for (const [who, page] of [['demo', agent], ['bob', bob]]) {
             await until(async () => (await page.$$(item)).length === 0
                         && await visible(page, '#messages-empty'),
                         'done: gone from ' + who + '\'s console');
         }
         await Promise.all(held.map((f) => f()));
         await stays(async () => (await agent.$$(item)).length === 0,
                     'the late answers (claimed, not done) are not shown');
         await agent.unroute(lists, late);
     });

const waitNote = () => text(cust, '#wait-note');
const item = '#queue-list .queue-item';

test('a transfer bob declines: back to anyone', async () => {
    await cust.goto(BASE + '/');
    await until(async () => /^Şu an tahmini bekleme/.test(
        await text(cust, '#desk-notice') || ''), 'the desk is open');
    await cust.fill('#name', 'Aktarılan');
    await cust.click('#call-btn');
    await until(() => visible(cust, '#waiting'), 'waiting');
    await until(() => visible(agent, item), 'the call in the queue');
    await agent.click('#accept-next');
    await until(async () => await visible(agent, '#call')
                && await visible(cust, '#call'), 'in the call');
    await cust.fill('#chat-input', 'adresim Moda 12');
    await cust.press('#chat-input', 'Enter');
    await until(async () => (await agent.$$eval('#chat-log .msg .text',
        (els) => els.map((e) => e.textContent))).includes('adresim Moda 12'),
    'chat');

    await agent.click('#transfer-btn');
    await agent.fill('#transfer-to', 'bob');
    await agent.fill('#transfer-reason', 'iade');
    await agent.click('#transfer-go');
    await until(async () => (await waitNote())
                === say('tr', 'c.transfer.to', { name: 'Bob Demir',
                                                 reason: 'iade' }),
                'the customer waits for bob');
    const mine = item + '[data-for-me=true]';
    await until(() => visible(bob, mine), 'held for bob');
    assert.equal(await text(bob, mine + ' [data-act=reject]'),
                 say('tr', 'a.decline'));
    await until(async () => (await agent.$eval(item + ' [data-act=accept]',
        (b) => b.disabled).catch(() => null)) === true,
    'demo cannot take it meanwhile');

    await bob.click(mine + ' [data-act=reject]');
    await until(async () => (await waitNote()) === say('tr', 'c.transfer.open'),
                'the customer is told bob could not take it');
    assert.equal(await visible(cust, '#waiting'), true, 'still waiting');
    await until(async () => (await agent.$eval(item + ' [data-act=accept]',
        (b) => b.disabled).catch(() => null)) === false,
    'anyone may take it: demo too');
    assert.equal(await bob.$eval(item, (li) => li.dataset.forMe), 'false');
});

test('a transfer bob lets time out: back to anyone, bob takes it',
     async () => {
         await agent.click(item + ' [data-act=accept]');
         await until(async () => await visible(agent, '#call')
                     && await visible(cust, '#call'), 'demo has it again');
         await agent.click('#transfer-btn');
         await agent.fill('#transfer-to', 'bob');
         await agent.click('#transfer-go');
         await until(async () => (await waitNote())
                     === say('tr', 'c.transfer.to.plain',
                             { name: 'Bob Demir' }),
                     'the customer waits for bob');
         const t0 = Date.now();
         await until(async () => (await waitNote())
                     === say('tr', 'c.transfer.open'),
                     'hotline_transfer_timeout (5 s) passes', 15000);
         assert.ok(Date.now() - t0 > 2000,
                   'not before the timeout (' + (Date.now() - t0) + ' ms)');
         await until(async () => (await agent.$eval(
             item + ' [data-act=accept]', (b) => b.disabled)
             .catch(() => null)) === false, 'demo may take it');
         await bob.click(item + ' [data-act=accept]');
         await until(async () => await visible(bob, '#call')
                     && (await text(cust, '#call-title'))
                     === say('tr', 'call.with', { name: 'Bob Demir' }),
                     'bob took it');
         await hangUp(bob);
         await until(() => visible(cust, '#ended'), 'the call ends');
     });

const row = '#history-body tr.call-row';
const rowOf = (page, name) => page.$$eval(row, (trs, n) => trs.findIndex(
    (tr) => tr.querySelector('td.who').firstChild?.textContent === n), name);

// the record of the customer's call opened below its row (by keyboard),
// from the history as the server has it now
async function openRecord(page, name) {
    await page.$$eval(row, (trs) => trs.forEach((tr) => {
        tr.dataset.stale = '1';
    }));
    await page.click('#history-refresh');
    const i = await until(async () => {
        const k = await page.$$eval(row + ':not([data-stale])',
            (trs, n) => trs.findIndex((tr) => tr.querySelector('td.who')
                .firstChild?.textContent === n), name);
        return k >= 0 ? k + 1 : 0;
    }, 'the call of ' + name + ' in the history') - 1;
    assert.equal(i, 0, 'the newest call');
    await page.focus(row + ':first-child [data-act=details]');
    await page.keyboard.press('Enter');
    await until(() => visible(page, '#history-body tr.call-detail'),
                'its record');
}

test('bob may not erase: no button', async () => {
    await openRecord(bob, 'Aktarılan');
    await until(async () => (await bob.$$eval(
        '#history-body tr.call-detail .transcript li',
        (l) => l.length)) > 0, 'the transcript');
    assert.equal(await bob.$$eval('[data-act=erase]', (b) => b.length), 0);
});

test('an open record stays open, the focus on its call, when the list '
     + 'is shown again', async () => {
    const first = row + ':first-child [data-act=details]';
    await bob.focus(first);
    await bob.$$eval(row, (trs) => trs.forEach((tr) => {
        tr.dataset.stale = '1';
    }));
    // (a click by script: the focus stays where it is)
    await bob.$eval('#history-refresh', (b) => b.click());
    await until(async () => (await bob.$$eval(row + ':not([data-stale])',
                                              (trs) => trs.length)) > 0,
                'the list shown again');
    assert.equal(await bob.$eval('#history-body tr.call-detail',
        (tr) => tr.previousElementSibling.querySelector('td.who')
            .firstChild?.textContent), 'Aktarılan', 'the record is open');
    assert.equal(await bob.$eval(first,
                                 (b) => b.getAttribute('aria-expanded')),
                 'true');
    assert.ok(await bob.$eval(first, (b) => b === document.activeElement),
              'the focus is on its time');
    assert.ok(await bob.$$eval('#history-body tr.call-detail .transcript li',
                               (l) => l.length > 0), 'with its transcript');
});

test('demo erases the call\'s personal data: asked, an error, then done',
     async () => {
         await openRecord(agent, 'Aktarılan');
         const detail = '#history-body tr.call-detail';
         assert.match(await text(agent, detail + ' .transcript'),
                      /adresim Moda 12/);
         await tabTo(agent, detail + ' [data-act=erase]');
         assert.equal(await agent.getAttribute(detail + ' [data-act=erase]',
                                               'aria-label'),
                      say('tr', 'a.erase.label', {
                          when: await agent.$eval(row + ' [data-act=details]',
                                                  (b) => b.textContent) }));

         // asked first: Cancel has the focus, Escape keeps it all
         await agent.keyboard.press('Enter');
         await until(() => agent.evaluate(() =>
             document.getElementById('erase-dialog').open), 'the question');
         assert.equal(await agent.evaluate(() => document.activeElement.id),
                      'erase-keep');
         assert.match(await text(agent, '#erase-text'), /Aktarılan/);
         await axeClean(agent, 'the erase question');
         await agent.keyboard.press('Escape');
         await until(() => agent.evaluate(() =>
             !document.getElementById('erase-dialog').open
             && document.activeElement.dataset.act === 'erase'),
         'closed, the focus back on the button');

         // an answer and the next question in one turn of the page (keys
         // that come together): the first dialog's close event comes
         // after the second question is asked, and does not answer it
         await agent.keyboard.press('Enter');
         await until(() => agent.evaluate(() =>
             document.getElementById('erase-dialog').open), 'asked');
         await agent.evaluate(() => {
             document.getElementById('erase-dialog')
                 .dispatchEvent(new Event('cancel', { cancelable: true }));
             document.activeElement.click();
         });
         await stays(() => agent.evaluate(() =>
             document.getElementById('erase-dialog').open
             && document.activeElement.id === 'erase-keep'),
         'asked again in the same turn: the question stays', 500);
         await agent.keyboard.press('Escape');
         await until(() => agent.evaluate(() =>
             !document.getElementById('erase-dialog').open
             && document.activeElement.dataset.act === 'erase'),
         'closed again, the focus back on the button');

         // the request fails (the network): said below the button
         const erasing = (url) => url.pathname === '/api/history'
             && url.searchParams.has('call_id');
         const fail = (route) => (route.request().method() === 'DELETE'
             ? route.abort('connectionfailed') : route.continue());
         await agent.route(erasing, fail);
         await agent.keyboard.press('Enter');
         // (the dialog opens with Cancel focused: Tab only after that)
         await until(() => agent.evaluate(() =>
             document.getElementById('erase-dialog').open
             && document.activeElement.id === 'erase-keep'),
         'the question again');
         await agent.keyboard.press('Tab');
         assert.equal(await agent.evaluate(() => document.activeElement.id),
                      'erase-go');
         await agent.keyboard.press('Enter');
         await until(() => visible(agent, detail + ' .erase-error'),
                     'the error');
         assert.equal(await text(agent, detail + ' .erase-error'),
                      say('tr', 'a.erase.err.network'));
         assert.equal(await agent.getAttribute(detail + ' .erase-error',
                                               'role'), 'alert');
         assert.equal(await agent.evaluate(() => document.activeElement
             .dataset.act), 'erase', 'the focus stays on the button');
         assert.match(await text(agent, row + ' td.who'), /^Aktarılan$/,
                      'nothing erased');
         await agent.unroute(erasing, fail);

         // again: erased
         await agent.keyboard.press('Enter');
         await until(() => agent.evaluate(() =>
             document.getElementById('erase-dialog').open
             && document.activeElement.id === 'erase-keep'),
         'the question, a third time');
         await agent.keyboard.press('Tab');
         await agent.keyboard.press('Enter');
         await until(async () => (await text(agent, '#status'))
                     === say('tr', 'a.erase.done'), 'erased');
         await until(async () => (await text(agent, row + ' td.who'))
                     === say('tr', 'a.h.erased'),
                     'the row: no name, marked erased');
         await until(() => visible(agent, detail + ' .erased'),
                     'its record, opened again');
         assert.match(await text(agent, detail + ' .erased'),
                      /^Kişisel veriler silindi: /);
         assert.equal(await agent.$$eval(detail + ' .transcript li',
                                         (l) => l.length), 0,
                      'no transcript');
         assert.equal(await agent.$$eval('[data-act=erase]',
                                         (b) => b.length), 0,
                      'no button for an erased call');
         assert.equal(await agent.evaluate(() => document.activeElement
             .dataset.act), 'details', 'the focus on the call\'s time');

         // the server's record, asked without the page
         const r = await fetch(BASE + '/api/history?limit=5',
                               { headers: { Authorization: 'Bearer '
                                                           + TOKEN } });
         const c = (await r.json()).calls.find((x) => x.outcome !== 'message');
         assert.equal(c.customer, '');
         assert.ok(c.erased > 0);
         // (but the request made to fail above)
         for (const p of [agent, bob, cust]) {
             assert.deepEqual(p.errors.filter(
                 (e) => !/net::ERR_CONNECTION_FAILED/.test(e)), []);
             assert.deepEqual(await p.evaluate(() => window.__violations), [],
                              'no CSP violation');
         }
     });
