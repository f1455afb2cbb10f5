// Accessibility and layout (run by t/77-e2e-a11y.t): axe-core (from npm)
// finds no violation in any state of either page, in both languages; a
// whole call done with the keyboard alone on both sides; the console on
// a phone with long names (no sideways scrolling, the history's columns
// all in view) and, in a call, its controls in reach without scrolling.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, person, until, text, visible, hangUp,
    axeClean, tabTo, switchLang, gestureAudioPolicy, mediaConnected,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;
const PHONE = { width: 390, height: 844 };
// a name with nowhere to break it
const UNBROKEN = 'Ayşegülşençiftçioğlukaraağaçlışenyürekötürküğdeşoğlu';

let browser;
let agent;
let cust;

people({
    agent: { init: gestureAudioPolicy },
    cust: {},
}, (p) => ({ browser, agent, cust } = p));

function focused(page) {
    return page.evaluate(() => document.activeElement
                         && (document.activeElement.id
                             || document.activeElement.dataset.act));
}

// Both languages of a state.
async function axeBoth(page, state) {
    const lang = await page.getAttribute('html', 'lang');
    await axeClean(page, state + ' (' + lang + ')');
    const other = lang === 'tr' ? 'en' : 'tr';
    await page.evaluate(() => document.getElementById('lang-btn').click());
    await until(async () => (await page.getAttribute('html', 'lang'))
                === other, 'switched');
    await axeClean(page, state + ' (' + other + ')');
    await page.evaluate(() => document.getElementById('lang-btn').click());
    await until(async () => (await page.getAttribute('html', 'lang'))
                === lang, 'switched back');
}

// Nothing wider than the screen (no sideways scrolling).
function overflow(page) {
    return page.evaluate(() => document.documentElement.scrollWidth
                         - window.innerWidth);
}

// The element entirely on screen without scrolling.
function inView(page, selector) {
    return page.$eval(selector, (el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight && r.width > 0;
    });
}

test('the agent\'s sign-in, both steps', async () => {
    await agent.goto(BASE + '/agent.html');
    await until(() => visible(agent, '#login'), 'the sign-in form');
    await axeBoth(agent, 'agent sign-in');
    await agent.fill('#username', 'demo');
    await agent.press('#username', 'Enter');
    await until(() => visible(agent, '#code-form'), 'the code form');
    await axeBoth(agent, 'agent code');
});

test('the console, empty, sound waiting for a click', async () => {
    await agent.goto('about:blank');
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#console'), 'the console');
    await until(() => visible(agent, '#sound-note'), 'the sound note');
    await axeBoth(agent, 'console, empty');
});

test('the customer\'s microphone refused', async () => {
    const p = await person(browser, { init: () => {
        navigator.mediaDevices.getUserMedia = () => Promise.reject(
            new DOMException('denied', 'NotAllowedError'));
    } });
    await p.goto(BASE + '/');
    await p.fill('#name', 'Ayşe');
    await p.click('#call-btn');
    await until(() => visible(p, '#mic-problem'), 'the problem');
    await axeBoth(p, 'customer, microphone refused');
    await p.context().close();
});

test('a whole call with the keyboard alone', async () => {
    // the customer: the name, Enter, the microphone check, the queue
    await cust.goto(BASE + '/');
    await axeBoth(cust, 'customer, join');
    assert.equal(await focused(cust), 'name');
    await cust.keyboard.type('Klavye Kullanıcısı');
    await cust.keyboard.press('Enter');
    await until(() => visible(cust, '#waiting'), 'in the queue');
    await until(async () => (await cust.getAttribute('#mic-state',
                                                     'data-heard')) === 'true',
                'the microphone heard', 8000);
    await axeBoth(cust, 'customer, waiting with the microphone check');
    // Leave asks; Escape stays
    await tabTo(cust, '#cancel-btn');
    await cust.keyboard.press('Enter');
    await until(() => cust.evaluate(
        () => document.getElementById('leave-dialog').open), 'the question');
    await axeBoth(cust, 'customer, leave question');
    await cust.keyboard.press('Escape');

    // the agent: to the caller's Accept, Enter
    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 1, 'the caller in the queue');
    await axeBoth(agent, 'console, a caller waiting');
    await tabTo(agent, '#queue-list [data-act=accept]');
    await agent.keyboard.press('Enter');
    await until(() => visible(cust, '#call'), 'the customer in the call');
    await mediaConnected([cust, agent], 'connected', 15000);
    assert.equal(await focused(cust), 'call-title');
    assert.equal(await focused(agent), 'call-title');

    // chat, mute, both with the keyboard
    await tabTo(cust, '#chat-input');
    await cust.keyboard.type('Klavyeyle yazıyorum');
    await cust.keyboard.press('Enter');
    await until(async () => (await agent.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes('Klavyeyle yazıyorum'),
    'the agent gets the message');
    await tabTo(agent, '#chat-input');
    await agent.keyboard.type('Ben de');
    await agent.keyboard.press('Enter');
    await until(async () => (await cust.$$('#chat-log .msg.peer')).length === 1,
                'the customer gets the answer');
    await tabTo(cust, '#mute-btn', { back: true });
    await cust.keyboard.press('Space');
    assert.equal(await cust.getAttribute('#mute-btn', 'aria-pressed'), 'true');
    await until(async () => (await agent.getAttribute('#peer-media',
                                                      'data-audio')) === 'false',
                'the agent sees the mute');
    await axeBoth(cust, 'customer, in a call, muted');
    await axeBoth(agent, 'console, in a call');
    await cust.keyboard.press('Space');

    // the connection drops: the countdown
    await cust.context().setOffline(true);
    await cust.evaluate(() => window.__ws.filter((w) => w.readyState === 1)
        .pop().close(3001, 'a11y'));
    await until(() => visible(cust, '#reconnect'), 'the countdown');
    await axeClean(cust, 'customer, reconnecting');
    await cust.context().setOffline(false);
    await cust.evaluate(() => window.dispatchEvent(new Event('online')));
    await until(async () => !(await visible(cust, '#reconnect')), 'back');

    // hang up: asked (a call's first seconds) or not; Enter, Tab, Enter
    await tabTo(cust, '#hangup-btn');
    await cust.keyboard.press('Enter');
    if (await cust.evaluate(() => document.getElementById('hangup-dialog')
        .open)) {
        await axeClean(cust, 'customer, hang-up question');
        await tabTo(cust, '#hangup-go');
        await cust.keyboard.press('Enter');
    }
    await until(() => visible(cust, '#ended'), 'the call ended');
    assert.equal(await focused(cust), 'again-btn');
    await axeBoth(cust, 'customer, ended');
    await until(async () => (await agent.$$('#history-body tr')).length === 1,
                'the history');
    await axeBoth(agent, 'console, history');
});

test('the console on a phone: long names, the controls in reach',
     async () => {
         await agent.setViewportSize(PHONE);
         const callers = [];
         for (const name of [UNBROKEN, 'Bora', 'Cem']) {
             const p = await person(browser);
             await p.goto(BASE + '/');
             await p.fill('#name', name);
             await p.click('#call-btn');
             await until(() => visible(p, '#waiting'), name + ' waits');
             callers.push(p);
         }
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 3, 'three in the queue');
         assert.ok((await overflow(agent)) <= 0, 'no sideways scrolling');
         await axeClean(agent, 'console on a phone, a queue');
         await agent.click('#queue-list .queue-item:first-child [data-act=accept]');
         await until(() => visible(agent, '#call'), 'in the call');
         await agent.evaluate(() => window.scrollTo(0, 0));
         for (const c of ['#hangup-btn', '#mute-btn', '#call-ban-btn']) {
             assert.equal(await inView(agent, c), true,
                          c + ' in reach without scrolling');
         }
         // scrolled to the chat, the controls are still there
         await agent.$eval('#chat-form', (el) => el.scrollIntoView());
         assert.equal(await inView(agent, '#hangup-btn'), true,
                      'hang up in reach at the chat');
         assert.ok((await overflow(agent)) <= 0, 'no sideways scrolling');
         await axeClean(agent, 'console on a phone, in a call');
         await hangUp(agent);
         await until(async () => (await agent.$$('#history-body tr')).length
                     === 2, 'the call in the history');
         assert.ok((await overflow(agent)) <= 0, 'no sideways scrolling');
         const right = await agent.$$eval('#history-table th',
             (ths) => ths.map((th) => th.getBoundingClientRect().right));
         assert.ok(right.every((r) => r <= 390),
                   'every column of the history in view: ' + right);
         for (const p of callers) {
             await p.context().close();
         }
         await agent.setViewportSize({ width: 1280, height: 800 });
     });

test('the ban question and the removed caller', async () => {
    await cust.click('#again-btn');
    await cust.click('#call-btn');
    await until(() => visible(cust, '#waiting'), 'in the queue');
    await until(async () => !(await agent.isDisabled(
        '#queue-list [data-act=ban]')), 'the ban button');
    await tabTo(agent, '#queue-list [data-act=ban]');
    await agent.keyboard.press('Enter');
    assert.equal(await focused(agent), 'ban-keep');
    await axeClean(agent, 'console, ban question');
    await tabTo(agent, '#ban-go');
    await agent.keyboard.press('Enter');
    await until(() => visible(cust, '#ended'), 'removed');
    await axeBoth(cust, 'customer, removed');
    await switchLang(agent, 'tr');
});
