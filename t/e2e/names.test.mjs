// Hostile names and chat (run by t/75-e2e-names.t): a caller whose name
// and messages look like markup, like the pages' own attribute syntax
// (`";disabled:x;hidden:x`) and like their JSON, on every element of the
// agent console and the customer page that shows them, in Turkish and in
// English, before and after language switches.  Each must show the text
// as it was typed, and no element may gain an attribute from it (the Ban
// button stays visible and usable, nothing gets an on* handler).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, person, until, text, visible, pcState, say, switchLang,
    hangUp,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;
const NAME = 'Ann";disabled:x;hidden:x;onclick:y|{"name":"<b>B</b>"}';
const CHAT_IN = '<img src=x onerror="window.__xss=1">";hidden:x;title:{name}';
const CHAT_OUT = 'aria-label:x;hidden:y|{"$k":"a.ban"} <script>window.__xss=2</script>';

let browser;
let agent;
let caller;

people({
    agent: {},
    caller: {},
}, (p) => ({ browser, agent, caller } = p));

// Attributes any element of the pages may have: anything else (an on*
// handler, a made-up name) came from somewhere it should not have.
const KNOWN = /^(id|class|type|hidden|disabled|lang|role|tabindex|href|for|name|maxlength|autocomplete|placeholder|title|value|open|autoplay|playsinline|muted|inputmode|pattern|required|novalidate|spellcheck|autocapitalize|scope|nonce|src|rel|charset|content|min|max|low|high|optimum|aria-[a-z]+|data-[a-z0-9-]+)$/;

async function noStrangeAttributes(page, who) {
    const bad = await page.evaluate((re) => {
        const known = new RegExp(re);
        const out = [];
        for (const el of document.querySelectorAll('*')) {
            for (const a of el.attributes) {
                if (!known.test(a.name)) {
                    out.push(el.tagName + ' ' + a.name);
                }
            }
        }
        return out;
    }, KNOWN.source);
    assert.deepEqual(bad, [], who + ': unexpected attributes');
    assert.equal(await page.evaluate(() => window.__xss), undefined,
                 who + ': no script ran');
}

// A button that shows `label` as its accessible name, with only the
// attributes it is built with (and usable when `enabled`).
async function button(page, selector, label, enabled = true) {
    const b = await page.$eval(selector, (el) => ({
    label: el.getAttribute('aria-label'),
    attrs: [...el.attributes].map((a) => a.name).sort(),
    hidden: !!el.closest('[hidden]'),
    disabled: el.disabled,
    }));
    assert.equal(b.label, label, selector + ' aria-label');
    assert.equal(b.hidden, false, selector + ' is visible');
    assert.equal(b.disabled, !enabled, selector + ' disabled');
    for (const a of b.attrs) {
        assert.match(a, /^(id|type|class|data-i18n|data-i18n-attr|data-act|aria-label|disabled)$/,
                     selector + ' has only its own attributes');
    }
}

async function queueShows(lang) {
    assert.equal(await text(agent, '#queue-list .name'), NAME);
    for (const [act, key] of [['accept', 'a.accept.label'],
                              ['reject', 'a.reject.label'],
                              ['ban', 'a.ban.label']]) {
        await button(agent, '#queue-list [data-act=' + act + ']',
                     say(lang, key, { name: NAME }));
    }
    await noStrangeAttributes(agent, 'agent (' + lang + ')');
}

async function callShows(lang, muted) {
    assert.equal(await text(agent, '#call-title'),
                 say(lang, 'call.with', { name: NAME }));
    await button(agent, '#call-ban-btn', say(lang, 'a.ban.label', { name: NAME }));
    assert.equal(await visible(agent, '#hangup-btn'), true);
    if (muted) {
        assert.equal(await text(agent, '#peer-media .flag'),
                     say(lang, 'call.peer_muted', { name: NAME }));
    }
    const peer = await agent.$$eval('#chat-log .msg.peer', (els) => els.map(
        (e) => [e.querySelector('.who').textContent,
                e.querySelector('.text').textContent]));
    assert.equal(peer.length, 1);
    assert.match(peer[0][0], /^Ann";disabled:x;hidden:x;onclick:y\|\{"name":"<b>B<\/b>"\} · \d\d[.:]\d\d$/);
    assert.equal(peer[0][1], CHAT_IN);
    assert.deepEqual(await caller.$$eval('#chat-log .msg.peer .text',
                                       (els) => els.map((e) => e.textContent)),
                     [CHAT_OUT]);
    for (const p of [agent, caller]) {
        assert.equal(await p.$$eval('#chat-log img, #chat-log script, #chat-log b',
                                    (els) => els.length), 0);
        await noStrangeAttributes(p, 'in the call (' + lang + ')');
    }
}

async function afterCallShows(lang) {
    assert.match(await text(agent, '#last-call'),
                 new RegExp('^' + say(lang, 'a.last_call', { name: NAME, text: 'X' })
                     .replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('X', '.+') + '$'));
    assert.equal(await text(agent, '#history-body tr td:nth-child(2)'), NAME);
    await noStrangeAttributes(agent, 'after the call (' + lang + ')');
}

test('a hostile name in the queue, in both languages and after switches',
     async () => {
         await agent.goto(BASE + '/agent.html#token=' + TOKEN);
         await until(() => visible(agent, '#console'), 'the console');
         await caller.goto(BASE + '/');
         await caller.fill('#name', NAME);
         await caller.click('#call-btn');
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 1, 'the caller in the queue');
         await until(async () => (await text(agent, '#status'))
                     === say('tr', 'a.new_call', { name: NAME }),
                     'the new-call status names the caller as typed');
         const notes = await agent.evaluate(() => window.__notes);
         assert.equal(notes[0].body, say('tr', 'a.notify.body', { name: NAME }));
         await queueShows('tr');
         await switchLang(agent, 'en');
         await queueShows('en');
         await switchLang(agent, 'tr');
         await queueShows('tr');
     });

test('the ban dialog names the caller as typed, in both languages',
     async () => {
         for (const lang of ['tr', 'en']) {
             await switchLang(agent, lang);
             await agent.click('#queue-list [data-act=ban]');
             await until(() => agent.evaluate(
                 () => document.getElementById('ban-dialog').open),
             'the dialog');
             assert.equal(await text(agent, '#ban-text'),
                          say(lang, 'a.ban.text', { name: NAME }));
             await agent.keyboard.press('Escape');
             await until(async () => !(await agent.evaluate(
                 () => document.getElementById('ban-dialog').open)),
             'the dialog closed');
             await queueShows(lang);
         }
     });

test('in the call: title, Ban, the peer\'s mute and chat, after switches',
     async () => {
         await switchLang(agent, 'tr');
         await agent.click('#queue-list [data-act=accept]');
         await until(() => visible(agent, '#call'), 'the agent\'s call panel');
         await until(() => visible(caller, '#call'), 'the customer\'s call');
         await until(async () => (await pcState(caller)) === 'connected',
                     'connected', 15000);
         await caller.click('#mute-btn');
         await until(async () => (await agent.getAttribute('#peer-media',
                                                           'data-audio'))
                     === 'false', 'the agent sees the mute');
         await caller.fill('#chat-input', CHAT_IN);
         await caller.press('#chat-input', 'Enter');
         await agent.fill('#chat-input', CHAT_OUT);
         await agent.press('#chat-input', 'Enter');
         await until(async () => (await agent.$$('#chat-log .msg.peer')).length
                     === 1, 'the customer\'s message at the agent');
         await until(async () => (await caller.$$('#chat-log .msg.peer')).length
                     === 1, 'the agent\'s message at the customer');
         await callShows('tr', true);
         await switchLang(agent, 'en');
         await switchLang(caller, 'en');
         await callShows('en', true);
         await switchLang(agent, 'tr');
         await switchLang(caller, 'tr');
         await callShows('tr', true);
     });

test('after the call: the last call and the history, after switches',
     async () => {
         await hangUp(caller);
         await until(() => visible(agent, '#idle'), 'the agent is idle');
         await until(async () => (await agent.$$('#history-body tr')).length
                     === 1, 'the call in the history');
         await afterCallShows('tr');
         await switchLang(agent, 'en');
         await afterCallShows('en');
         await switchLang(agent, 'tr');
         await afterCallShows('tr');
     });

// 64 characters, 85 bytes (a Turkish letter is 2): the limit people see holds
const LONG_NAME = 'Ayşe Gülşen Çiftçioğlu Karaağaçlı Şenyürek Öztürk İğdeşoğlu Ğüçş';
const LONG_TEXT = 'çğıöşü İĞÜŞÖÇ '.repeat(142) + 'ş'.repeat(12);

test('limits count characters: a 64-letter Turkish name, a 2000-letter'
     + ' message', async () => {
    assert.equal(Array.from(LONG_NAME).length, 64);
    assert.equal(Array.from(LONG_TEXT).length, 2000);
    const c = await person(browser);
    await c.goto(BASE + '/');
    await c.fill('#name', LONG_NAME + 'x');
    assert.equal(await text(c, '#name-count'), '65 / 64');
    assert.equal(await c.getAttribute('#name-count', 'data-over'), 'true');
    await c.click('#call-btn');
    assert.equal(await text(c, '#status'),
                 'Lütfen adınızı yazın (en çok 64 karakter).');
    await c.fill('#name', LONG_NAME);
    assert.equal(await text(c, '#name-count'), '64 / 64');
    await c.click('#call-btn');
    await until(() => visible(c, '#waiting'), 'in the queue (no "bytes")');
    await until(async () => (await text(agent, '#queue-list .name'))
                === LONG_NAME, 'the agent sees the whole name');
    await agent.click('#queue-list [data-act=accept]');
    await until(async () => (await pcState(c)) === 'connected', 'connected',
                15000);
    // the count shows near the limit, over it the message is not sent
    await c.fill('#chat-input', LONG_TEXT + 'ş');
    assert.equal(await text(c, '#chat-count'), '2.001 / 2.000');
    await c.press('#chat-input', 'Enter');
    assert.equal(await text(c, '#chat-log .note'),
                 'Mesaj çok uzun: en çok 2000 karakter olabilir, bu 2001 karakter.');
    await c.fill('#chat-input', LONG_TEXT);
    assert.equal(await text(c, '#chat-count'), '2.000 / 2.000');
    await c.press('#chat-input', 'Enter');
    await until(async () => (await agent.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes(LONG_TEXT),
    'the agent gets all 2000 characters');
    await until(() => c.$eval('#chat-log .msg.me',
                              (el) => el.dataset.delivered === 'true'),
                'acknowledged');
    assert.equal(await visible(c, '#chat-count'), false,
                 'no count far from the limit');
    await hangUp(c);
    await until(() => visible(agent, '#idle'), 'the agent is idle');
    await c.context().close();
});

test('no page errors and no CSP violations', async () => {
    for (const [who, p] of [['agent', agent], ['customer', caller]]) {
        assert.deepEqual(await p.evaluate(() => window.__violations), [],
                         who + ': CSP violations');
        assert.deepEqual(p.errors.filter((e) => !/WebSocket|ERR_/.test(e)),
                         [], who + ': page errors');
    }
});
