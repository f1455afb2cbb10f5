// The support desk in real browsers (run by t/135-e2e-desk.t, wrap-up
// 3 s, a second agent bob): the agent goes away and nobody takes calls; a
// customer who calls is told the wait is unknown and leaves a message
// instead, which the console lists (and Telegram hears of) until the
// agent claims it and marks it done; back available, a call with chat;
// the customer's page reloads mid-call and is back in it with the
// conversation so far (the agent sees it go and come back, the media
// start over; of 10 KB of chat before it, the lines the browser's pongs
// confirmed are in the transcript and not replayed); the console opened in a second tab takes the call over
// (the first is told and lets its microphone go); hold and resume; a cold
// transfer to bob, who gets the conversation so far; bob's note with a
// disposition; the end, wrap-up, the customer's rating, and the call's
// record (note, rating, transcript, hold, transfer) in bob's history.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
    BASE, people, until, text, visible, pcState, mediaFlows, hangUp, say,
    axeClean, mediaConnected,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;
const BOB = process.env.HOTLINE_TOKEN_BOB;

// every text the status line shows, and every microphone a page opened
function watch() {
    window.__status = [];
    window.__mics = [];
    window.__msgs = [];
    const NativeWS = window.WebSocket;
    window.WebSocket = class extends NativeWS {
        constructor(...a) {
            super(...a);
            this.addEventListener('message', (e) => window.__msgs.push(
                String(e.data).slice(0, 300)));
        }
    };
    const gum = navigator.mediaDevices.getUserMedia.bind(
        navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
        const s = await gum(c);
        window.__mics.push(s);
        return s;
    };
    document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('status');
        new MutationObserver(() => window.__status.push(el.textContent))
            .observe(el, { childList: true, characterData: true,
                           subtree: true });
    });
}

let agent;
let cust;
let agent2 = null;
let bob;

people({
    agent: { init: watch },
    cust: { init: watch },
    bob: { init: watch },
}, (p) => ({ agent, cust, bob } = p));

const statuses = (page) => page.evaluate(() => window.__status);
const LINES = 10;
const line = (i) => 'satır ' + String(i).padStart(2, '0') + ' '
    + 'x'.repeat(990);
const chatLines = (page) => page.$$eval('#chat-log .msg .text',
    (els) => els.map((e) => e.textContent));

test('the agent goes away: nobody takes calls', async () => {
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#presence-box'), 'the presence choice');
    assert.equal(await agent.$eval('#presence-select', (s) => s.value),
                 'available');
    await agent.selectOption('#presence-select', 'away');
    await until(async () => (await text(agent, '#presence-state'))
                === say('tr', 'a.shows.away'), 'the console says away');
    await until(async () => /0 müsait/.test(await text(agent,
                                                         '#agents-online')),
                'the agents line counts nobody available');

    await cust.goto(BASE + '/');
    await until(async () => (await text(cust, '#desk-notice'))
                === say('tr', 'c.desk.nobody'),
                'the customer page says nobody is online');
});

test('nobody online: the wait is unknown, a message instead', async () => {
    await cust.fill('#name', 'Mesajcı');
    await cust.click('#call-btn');
    await until(() => visible(cust, '#waiting'), 'waiting');
    await until(async () => (await text(cust, '#wait-note'))
                === say('tr', 'c.wait.nobody'), 'the wait is unknown');
    assert.equal(await agent.evaluate(() => window.__notes.length), 0,
                 'an agent who is away is not called for it');

    await cust.click('#wait-msg-btn');
    await until(() => visible(cust, '#message'), 'the message form');
    assert.equal(await cust.inputValue('#msg-name'), 'Mesajcı',
                 'the name is filled in');
    await cust.click('#msg-send');
    await until(async () => (await cust.getAttribute('#msg-contact',
                                                     'aria-invalid'))
                === 'true', 'a contact is asked for');
    await cust.fill('#msg-contact', '+90 555 111 22 33');
    await cust.fill('#msg-text', 'Faturam <b>iki kez</b> kesildi');
    await cust.click('#msg-send');
    await until(() => visible(cust, '#sent'), 'sent');
    assert.equal(await text(cust, '#sent-text'), say('tr', 'c.msg.sent'));
    await axeClean(cust, 'the message was sent');

    // the console: out of the queue, into the list of messages
    await until(async () => (await agent.$$('#messages-list li')).length === 1,
                'the message in the console');
    assert.equal(await agent.$$eval('#queue-list .queue-item',
                                    (els) => els.length), 0,
                 'its call left the queue');
    assert.equal(await text(agent, '#messages-list li .text'),
                 'Faturam <b>iki kez</b> kesildi', 'shown as text');
    assert.match(await text(agent, '#messages-list li .who'),
                 /Mesajcı · \+90 555 111 22 33/);
    const log = process.env.HOTLINE_TG_LOG;
    await until(() => fs.readFileSync(log, 'utf8').split('\n')
        .some((l) => /New message/.test(l) && /Mesajc/.test(l)),
    'Telegram hears of it');
});

test('the agent claims the message and marks it done', async () => {
    await agent.click('#messages-list li [data-act=claim]');
    await until(async () => (await text(agent, '#messages-list li .claimed'))
                === say('tr', 'a.msg.claimed', { by: 'demo' }),
                'claimed by this agent');
    assert.equal(await agent.$eval('#messages-list li [data-act=claim]',
                                   (b) => b.disabled), true);
    await agent.click('#messages-list li [data-act=done]');
    await until(async () => (await agent.$$('#messages-list li')).length === 0
                && await visible(agent, '#messages-empty'),
                'done: the list is empty');
});

test('available again: a call with chat', async () => {
    await agent.selectOption('#presence-select', 'available');
    await until(async () => (await agent.$eval('#presence-state',
        (e) => e.dataset.presence)) === 'available', 'available');
    await cust.reload();
    await until(async () => /^Şu an tahmini bekleme/.test(
        await text(cust, '#desk-notice') || ''), 'the page gives a wait');
    await cust.fill('#name', 'Yeniden');
    await cust.click('#call-btn');
    await until(async () => /\d/.test(await text(cust, '#eta') || ''),
                'an estimated wait in minutes');
    assert.equal(await visible(cust, '#wait-note'), false);
    await until(() => agent.evaluate(() => window.__notes.length === 1),
                'an available agent is called for it');
    await agent.click('#accept-next');
    await mediaConnected([agent, cust], 'connected', 15000);
    await cust.fill('#chat-input', 'merhaba, faturam');
    await cust.press('#chat-input', 'Enter');
    await agent.fill('#chat-input', 'bakıyorum');
    await agent.press('#chat-input', 'Enter');
    await until(async () => (await chatLines(cust)).includes('bakıyorum'),
                'chat both ways');
    // 10 KB more: the customer's browser is pinged each eighth of the
    // replay buffer (8 KB) and answers with the ping's payload
    for (let i = 1; i <= LINES; i++) {
        await agent.fill('#chat-input', line(i));
        await agent.press('#chat-input', 'Enter');
    }
    await until(async () => (await chatLines(cust)).includes(line(LINES)),
                'the customer\'s page shows the ' + LINES + ' lines');
});

test('the customer reloads: the call, the chat and the media are back',
     async () => {
         const pcsBefore = await agent.evaluate(() => window.__pcs.length);
         // what the reloaded page's WebSocket receives
         const got = [];
         cust.once('websocket', (ws) => ws.on('framereceived',
             ({ payload }) => got.push(JSON.parse(payload))));
         await cust.reload();
         await until(() => visible(cust, '#call'), 'in the call again');
         await until(async () => {
             const l = await chatLines(cust);
             return l.includes('merhaba, faturam') && l.includes('bakıyorum');
         }, 'the conversation so far');
         await until(async () => (await chatLines(cust)).includes(
             line(LINES)), 'the ' + LINES + ' lines too');
         assert.equal((await chatLines(cust)).length, 2 + LINES,
                      'each line once');
         // the transcript has them all; of them, only those after the
         // last ping the browser answered were replayed
         assert.ok(got.some((m) => m.type === 'transcript'),
                   'the reloaded page got the transcript');
         const replayed = got.filter((m) => m.type === 'chat'
             && m.seq !== undefined && m.text.startsWith('satır '));
         assert.ok(replayed.length < LINES,
                   'the lines its pongs confirmed are not replayed ('
                   + replayed.length + ' of ' + LINES + ')');
         const s = await until(async () => {
             const all = await statuses(agent);
             const lost = all.indexOf(say('tr', 'call.peer_lost',
                                          { name: 'Yeniden' }));
             return lost >= 0 && all.indexOf(say('tr', 'call.peer_back',
                                                 { name: 'Yeniden' }), lost)
                 > lost ? all : null;
         }, 'the agent sees the customer go, then come back');
         assert.ok(s);
         await until(async () => (await agent.evaluate(
             () => window.__pcs.length)) > pcsBefore,
         'the agent sets the media up again');
         await mediaConnected([agent, cust], 'media connected again', 20000);
         await mediaFlows(cust, 'audio');
         await cust.fill('#chat-input', 'geri geldim');
         await cust.press('#chat-input', 'Enter');
         await until(async () => (await chatLines(agent))
                     .includes('geri geldim'), 'chat after the reload');
     });

test('the console in a second tab takes the call over', async () => {
    agent2 = await agent.context().newPage();
    agent2.errors = [];
    agent2.on('pageerror', (e) => agent2.errors.push(String(e)));
    await agent2.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent2, '#call'), 'the new tab in the call');
    assert.equal(await text(agent2, '#call-title'),
                 say('tr', 'call.with', { name: 'Yeniden' }),
                 'with the customer\'s name');
    await until(async () => (await chatLines(agent2)).includes('geri geldim'),
                'with the conversation so far');

    // the first tab: told, its call gone, its microphone let go
    await until(() => visible(agent, '#take-back-btn'), 'the old tab is told');
    assert.equal(await text(agent, '#status'), say('tr', 'a.replaced'));
    assert.equal(await visible(agent, '#call'), false);
    assert.equal(await agent.evaluate(() => window.__mics.every(
        (s) => s.getTracks().every((t) => t.readyState === 'ended'))), true,
    'the old tab\'s microphone is stopped');

    await mediaConnected([agent2, cust],
                         'the customer connected to the new tab', 20000);
    await mediaFlows(agent2, 'audio');
    await agent.close();
    agent = agent2;
});

// the customer's page on hold: the note, its tone, nothing heard or sent
const onHold = (page) => page.evaluate(() => {
    const pc = window.__pcs.filter((p) => p.connectionState !== 'closed')
        .pop();
    const sent = pc ? pc.getSenders().filter((s) => s.track
        && s.track.kind === 'audio').map((s) => s.track.enabled) : [];
    return {
        note: !document.getElementById('hold-note').hidden,
        muted: document.getElementById('remote-audio').muted,
        sending: sent.some((e) => e),
        tone: window.__tones.some((t) => t.f === 392),
    };
});

test('hold and resume: both told, media kept', async () => {
    const pcs = await cust.evaluate(() => window.__pcs.length);
    await cust.evaluate(() => { window.__tones = []; });
    await agent.click('#hold-btn');
    await until(async () => (await agent.getAttribute('#hold-btn',
                                                      'aria-pressed'))
                === 'true', 'the hold button pressed');
    assert.equal(await text(agent, '#hold-note'), say('tr', 'a.on_hold'));
    await until(async () => (await text(cust, '#hold-note'))
                === say('tr', 'c.hold'), 'the customer sees it is on hold');
    assert.deepEqual(await onHold(cust),
                     { note: true, muted: true, sending: false, tone: true },
                     'on hold: nothing heard or sent, a tone');
    assert.equal(await pcState(cust), 'connected', 'the media stay up');
    await axeClean(cust, 'on hold');

    await agent.click('#hold-btn');
    await until(async () => !(await onHold(cust)).note,
                'the customer is back from hold');
    assert.deepEqual(await onHold(cust),
                     { note: false, muted: false, sending: true, tone: true });
    // the agent is told apart from the customer: its page may come later
    await until(async () => (await agent.getAttribute('#hold-btn',
                                                      'aria-pressed'))
                === 'false', 'the hold button released');
    assert.equal(await visible(agent, '#hold-note'), false);
    assert.equal(await cust.evaluate(() => window.__pcs.length), pcs,
                 'the same peer connection throughout');
    assert.equal(await pcState(cust), 'connected');
});

test('a cold transfer to bob, with a reason', async () => {
    await bob.goto(BASE + '/agent.html#token=' + BOB);
    await until(async () => (await bob.$eval('#presence-state',
        (e) => e.dataset.presence).catch(() => null)) === 'available',
    'bob is available');
    await agent.click('#transfer-btn');
    await until(() => visible(agent, '#transfer-dialog'), 'the dialog');
    await agent.fill('#transfer-to', 'Bob');
    await agent.fill('#transfer-reason', 'fatura <iade>');
    await agent.click('#transfer-go');

    // the first agent: out of the call, told where it went
    await until(async () => (await statuses(agent)).includes(
        say('tr', 'a.transfer.out', { name: 'Bob Demir' })),
    'the first agent is told');
    assert.equal(await visible(agent, '#call'), false);
    // the customer: waiting again, told for whom and why
    await until(() => visible(cust, '#waiting'), 'the customer waits again');
    assert.equal(await text(cust, '#wait-note'),
                 say('tr', 'c.transfer.to', { name: 'Bob Demir',
                                              reason: 'fatura <iade>' }));
    // bob: the call held for him, from whom and why
    const item = '#queue-list .queue-item[data-for-me=true]';
    await until(() => visible(bob, item), 'the call waits for bob');
    assert.equal(await text(bob, item + ' .transfer'),
                 say('tr', 'a.q.transfer', { from: 'demo',
                                             reason: 'fatura <iade>' }));
    assert.ok((await statuses(bob)).includes(
        say('tr', 'a.for_you', { from: 'demo', name: 'Yeniden' })),
    'bob is told');
    // nobody else may take it meanwhile
    await until(async () => (await agent.$$eval(
        '#queue-list .queue-item [data-act=accept]',
        (bs) => bs.map((b) => b.disabled))).join() === 'true',
    'the first agent cannot take it');

    await bob.click(item + ' [data-act=accept]');
    await mediaConnected([bob, cust], 'bob and the customer connected', 15000);
    await mediaFlows(bob, 'audio');
    await mediaFlows(cust, 'audio');
    const lines = await until(async () => {
        const l = await chatLines(bob);
        return l.includes('merhaba, faturam') && l.includes('geri geldim')
            ? l : null;
    }, 'bob has the conversation so far');
    assert.ok(lines.includes('bakıyorum'));
    assert.equal(await text(cust, '#call-title'),
                 say('tr', 'call.with', { name: 'Bob Demir' }));
    assert.ok((await chatLines(cust)).includes('merhaba, faturam'),
              'the customer keeps the conversation');
    await bob.fill('#chat-input', 'ben Bob, iadeyi yapıyorum');
    await bob.press('#chat-input', 'Enter');
    await until(async () => (await chatLines(cust))
                .includes('ben Bob, iadeyi yapıyorum'), 'chat with bob');
    agent = bob;
});

test('a note with a disposition, the end, wrap-up', async () => {
    await until(() => visible(agent, '#notes'), 'the note form in the call');
    await agent.fill('#note-text', 'Fatura iadesi yapılacak');
    await agent.selectOption('#note-disposition', 'follow-up');
    await agent.click('#note-save');
    await until(async () => (await text(agent, '#status'))
                === say('tr', 'a.note.saved'), 'the note is saved');
    await hangUp(agent);
    await until(() => visible(cust, '#ended'), 'the customer sees the end');
    await until(async () => (await agent.$eval('#presence-state',
        (e) => e.dataset.presence)) === 'wrapup', 'the agent in wrap-up');
    assert.equal(await visible(agent, '#wrapup'), true);
    await until(async () => (await agent.$eval('#presence-state',
        (e) => e.dataset.presence)) === 'available',
    'available again after the wrap-up', 10000);
});

test('the customer rates the call; the history has it', async () => {
    await until(() => visible(cust, '#rate-form'), 'the rating form');
    await axeClean(cust, 'the rating form');
    await cust.click('#rate-send');
    await until(async () => (await text(cust, '#status'))
                === say('tr', 'c.rate.pick'), 'a rating is asked for');
    await cust.click('label[for=rate-4]');
    await cust.fill('#rate-comment', 'hızlı <ve> nazik');
    await cust.click('#rate-send');
    await until(() => visible(cust, '#rate-thanks'), 'thanked');
    assert.equal(await visible(cust, '#rate-form'), false);

    await agent.click('#history-refresh');
    const row = '#history-body tr.call-row';
    await until(async () => {
        const rows = await agent.$$eval(row, (trs) => trs.map(
            (tr) => [...tr.cells].map((c) => c.textContent.trim())));
        return rows.length && rows[0].includes('Yeniden')
            && rows[0].includes('follow-up: Fatura iadesi yapılacak')
            && rows[0].includes('★★★★ hızlı <ve> nazik');
    }, 'the call in the history with its note and rating');
    assert.equal(await agent.getAttribute(row + ' td.rating .stars',
                                          'aria-label'),
                 say('tr', 'a.h.rating.of', { n: 4 }));

    // its record: the transcript, the transfer
    await agent.click(row + ' [data-act=details]');
    const detail = '#history-body tr.call-detail';
    await until(() => visible(agent, detail), 'the call\'s record');
    const said = await agent.$$eval(detail + ' .transcript li', (lis) =>
        lis.map((li) => li.textContent));
    for (const l of ['merhaba, faturam', 'bakıyorum', 'geri geldim']) {
        assert.ok(said.some((x) => x.endsWith(l)), 'the transcript has ' + l);
    }
    assert.match(await text(agent, detail + ' .transfers'),
                 /demo → bob: fatura <iade>/);
    assert.deepEqual([...cust.errors, ...agent.errors], []);
});
