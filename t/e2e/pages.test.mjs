// The two pages without a whole call (run by t/70-e2e-pages.t): the CSP
// nonce, Turkish by default and English on request (remembered), an
// accessible name for every control, the name check, the demo's fragment
// token, a customer whose microphone permission is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, person, until, text, visible, pcState, mediaFlows,
    unnamedControls, hangUp, gestureAudioPolicy, heardTones,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;

let browser;
let cust;
let agent;

people({
    cust: { viewport: { width: 390, height: 844 } },
    agent: {},
}, (p) => ({ browser, cust, agent } = p));

test('the customer page: CSP nonce, strict policy, Turkish default',
     async () => {
         const res = await cust.goto(BASE + '/');
         assert.equal(res.status(), 200);
         const csp = res.headers()['content-security-policy'];
         const nonce = /'nonce-([^']+)'/.exec(csp)[1];
         assert.doesNotMatch(csp, /unsafe/i);
         assert.equal(await cust.$eval('script[type=module]', (s) => s.nonce),
                      nonce);
         assert.equal(await cust.getAttribute('html', 'lang'), 'tr');
         await until(async () => (await text(cust, '#status'))
                     === 'Adınızı yazıp Ara düğmesine basın.',
                     'Turkish status text');
         assert.equal(await text(cust, '#join-title'),
                      'Destek ekibimizle görüşün');
         assert.equal(await text(cust, '#call-btn'), 'Ara');
         // an injected inline script without the nonce is blocked
         const ran = await cust.evaluate(() => new Promise((resolve) => {
             const s = document.createElement('script');
             s.textContent = 'window.__inline = 1';
             document.head.append(s);
             setTimeout(() => resolve(window.__inline || 0), 100);
         }));
         assert.equal(ran, 0);
         assert.equal((await cust.evaluate(() => window.__violations)).length,
                      1, 'only the injected script was refused');
     });

test('static files: compressed, kept and revalidated (ETag, 304); pages'
     + ' never stored', async () => {
    for (const file of ['/js/customer.js', '/js/agent.js', '/css/app.css',
                        '/config.json']) {
        const r = await fetch(BASE + file,
                              { headers: { 'Accept-Encoding': 'gzip' } });
        assert.equal(r.status, 200, file);
        if (file !== '/config.json') {      // (too small to be worth it)
            assert.equal(r.headers.get('content-encoding'), 'gzip', file);
            assert.match(r.headers.get('vary') || '', /Accept-Encoding/, file);
        }
        assert.equal(r.headers.get('cache-control'), 'no-cache', file);
        const etag = r.headers.get('etag');
        assert.ok(etag, file + ': an ETag');
        await r.arrayBuffer();
        const again = await fetch(BASE + file, { headers: {
            'Accept-Encoding': 'gzip', 'If-None-Match': etag } });
        assert.equal(again.status, 304, file + ': not modified');
        assert.equal((await again.arrayBuffer()).byteLength, 0);
    }
    for (const page of ['/', '/agent.html']) {
        const r = await fetch(BASE + page,
                              { headers: { 'Accept-Encoding': 'gzip' } });
        assert.equal(r.headers.get('content-encoding'), 'gzip', page);
        assert.equal(r.headers.get('cache-control'), 'no-store', page);
        assert.equal(r.headers.get('etag'), null, page);
        const nonce = /'nonce-([^']+)'/.exec(
            r.headers.get('content-security-policy'))[1];
        assert.ok((await r.text()).includes('nonce="' + nonce + '"'), page);
    }
});

test('every control of the customer page has an accessible name', async () => {
    assert.deepEqual(await unnamedControls(cust), []);
    // the call panel (built at load, hidden until a call) is checked too
    assert.ok(await cust.$('#hangup-btn'));
    assert.equal(await cust.getAttribute('#status', 'aria-live'), 'polite');
    assert.equal(await cust.getAttribute('#chat-log', 'aria-live'), 'polite');
});

test('an empty name is refused with a message', async () => {
    await cust.fill('#name', '   ');
    await cust.click('#call-btn');
    assert.equal(await cust.getAttribute('#name', 'aria-invalid'), 'true');
    assert.match(await text(cust, '#status'), /adınızı yazın/);
    assert.equal(await cust.getAttribute('#status', 'data-kind'), 'error');
    assert.equal(await visible(cust, '#join'), true);
});

test('keyboard: the name field and the call button are reachable',
     async () => {
         await cust.reload();
         await until(() => cust.evaluate(
             () => document.activeElement && document.activeElement.id === 'name'),
         'the name field has the focus');
         await cust.keyboard.press('Tab');
         assert.equal(await cust.evaluate(() => document.activeElement.id),
                      'call-btn');
     });

test('the first visit speaks the browser\'s language; the switch wins',
     async () => {
         for (const [locale, lang, title] of [
             ['en-GB', 'en', 'Talk to our support team'],
             ['tr-TR', 'tr', 'Destek ekibimizle görüşün'],
             ['de-DE', 'tr', 'Destek ekibimizle görüşün']]) {
             const p = await person(browser, { locale });
             await p.goto(BASE + '/');
             assert.equal(await p.getAttribute('html', 'lang'), lang, locale);
             assert.equal(await text(p, '#join-title'), title, locale);
             if (locale === 'en-GB') {
                 await p.click('#lang-btn');
                 await p.reload();
                 assert.equal(await p.getAttribute('html', 'lang'), 'tr',
                              'the switch is remembered over the browser');
                 await p.goto(BASE + '/agent.html');
                 assert.equal(await p.getAttribute('html', 'lang'), 'tr',
                              'and on the other page');
             }
             await p.context().close();
         }
     });

test('English on request, remembered across reloads; ?lang=tr wins',
     async () => {
         await cust.click('#lang-btn');
         assert.equal(await cust.getAttribute('html', 'lang'), 'en');
         assert.equal(await text(cust, '#join-title'),
                      'Talk to our support team');
         assert.equal(await text(cust, '#call-btn'), 'Call');
         assert.equal(await text(cust, '#lang-btn'), 'Türkçe');
         assert.equal(await cust.getAttribute('#lang-btn', 'lang'), 'tr');
         assert.equal(await cust.getAttribute('#chat-input', 'placeholder'),
                      'Type a message');
         await cust.reload();
         await until(async () => (await text(cust, '#join-title'))
                     === 'Talk to our support team', 'still English');
         await cust.goto(BASE + '/?lang=tr');
         assert.equal(await text(cust, '#join-title'),
                      'Destek ekibimizle görüşün');
     });

test('the agent console opens with the demo\'s fragment token', async () => {
    const res = await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    assert.equal(res.status(), 200);
    await until(async () => (await text(agent, '#status')) === 'Çevrim içi.',
                'the console is online');
    assert.equal(await agent.evaluate(() => location.hash), '',
                 'the token left the address bar');
    assert.equal(await visible(agent, '#console'), true);
    assert.equal(await visible(agent, '#logout-btn'), true);
    assert.deepEqual(await unnamedControls(agent), []);
    assert.deepEqual(await agent.evaluate(() => window.__violations), []);
});

function focused(page) {
    return page.evaluate(() => document.activeElement
                         && document.activeElement.id);
}

function dialogOpen(page, id) {
    return page.evaluate((i) => document.getElementById(i).open, id);
}

test('after Call the focus is on the news, not on Leave; leaving asks first',
     async () => {
         const c = await person(browser);
         await c.goto(BASE + '/');
         await c.fill('#name', 'Klavye');
         await c.keyboard.press('Enter');
         await until(() => visible(c, '#waiting'), 'in the queue');
         await until(async () => (await focused(c)) === 'waiting-title',
                     'the focus on the waiting news');
         // an Enter or a Space too many changes nothing
         await c.keyboard.press('Enter');
         await c.keyboard.press('Space');
         assert.equal(await dialogOpen(c, 'leave-dialog'), false);
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 1, 'still in the agent\'s queue');
         // Leave asks first, with the focus on "stay"; Enter stays
         await c.focus('#cancel-btn');
         await c.keyboard.press('Enter');
         assert.equal(await dialogOpen(c, 'leave-dialog'), true);
         assert.equal(await focused(c), 'leave-keep');
         assert.equal(await text(c, '#leave-text'),
                      'Şu an 1. sıradasınız. Çıkarsanız yerinizi kaybedersiniz.');
         await c.keyboard.press('Enter');
         assert.equal(await dialogOpen(c, 'leave-dialog'), false);
         assert.equal(await focused(c), 'cancel-btn', 'the focus went back');
         // Escape stays too
         await c.keyboard.press('Enter');
         await c.keyboard.press('Escape');
         assert.equal(await dialogOpen(c, 'leave-dialog'), false);
         assert.equal(await visible(c, '#waiting'), true);
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 1, 'still in the agent\'s queue');
         // confirmed: out of the queue
         await c.keyboard.press('Enter');
         await c.click('#leave-go');
         await until(() => visible(c, '#ended'), 'the wait ended');
         assert.equal(await text(c, '#ended-text'), 'Çağrıdan vazgeçildi.');
         await until(() => visible(agent, '#queue-empty'), 'the queue is empty');
         await c.context().close();
     });

test('a call begins with the focus on its title; hanging up at once asks',
     async () => {
         const c = await person(browser);
         await c.goto(BASE + '/');
         await c.fill('#name', 'Erken');
         await c.click('#call-btn');
         await until(async () => !(await agent.isDisabled('#accept-next')),
                     'the call can be accepted');
         assert.equal(await c.title(), 'Sıradasınız (1) · hotline');
         await agent.focus('#accept-next');
         await agent.keyboard.press('Enter');
         await until(() => visible(c, '#call'), 'in the call');
         // told by a chime and in the title (the tab may be in the back)
         const who = (await text(c, '#call-title')).replace(/ ile görüşme$/, '');
         assert.equal(await c.title(), who + ' yanıt verdi · hotline');
         await until(async () => (await heardTones(c)).includes(523),
                     'the answered chime was played');
         await until(async () => (await focused(c)) === 'call-title',
                     'the customer\'s focus on the call\'s title');
         await until(async () => (await focused(agent)) === 'call-title',
                     'the agent\'s focus on the call\'s title');
         await c.keyboard.press('Enter');
         await agent.keyboard.press('Enter');
         assert.equal(await visible(c, '#call'), true, 'still in the call');
         // Hang up in the first seconds: asked, "stay" has the focus
         await c.click('#hangup-btn');
         assert.equal(await dialogOpen(c, 'hangup-dialog'), true);
         assert.equal(await focused(c), 'hangup-keep');
         assert.match(await text(c, '#hangup-text'), /^Görüşme henüz başladı/);
         await c.keyboard.press('Escape');
         assert.equal(await dialogOpen(c, 'hangup-dialog'), false);
         assert.equal(await focused(c), 'hangup-btn');
         await agent.click('#hangup-btn');
         assert.equal(await dialogOpen(agent, 'hangup-dialog'), true);
         await agent.click('#hangup-keep');
         assert.equal(await visible(c, '#call'), true, 'still in the call');
         assert.equal(await visible(agent, '#call'), true);
         // the peer hangs up meanwhile: the question goes with the call
         await c.click('#hangup-btn');
         await hangUp(agent);
         await until(() => visible(c, '#ended'), 'the call ended');
         assert.equal(await dialogOpen(c, 'hangup-dialog'), false);
         assert.match(await text(c, '#ended-text'), /^Temsilci görüşmeyi kapattı/);
         await until(() => visible(agent, '#idle'), 'the agent is idle');
         await c.context().close();
     });

test('microphone refused: said before joining; the call goes on without it;'
     + ' the agent is told no sound comes',
     async () => {
         const denied = await person(browser);
         await denied.addInitScript(() => {
             navigator.mediaDevices.getUserMedia = () => Promise.reject(
                 new DOMException('Permission denied', 'NotAllowedError'));
         });
         await denied.goto(BASE + '/');
         await denied.fill('#name', 'İzinsiz');
         await denied.click('#call-btn');
         // before anyone waits for them: what happened, what to do
         await until(() => visible(denied, '#mic-problem'), 'the problem');
         assert.match(await text(denied, '#mic-problem-text'),
                      /^Mikrofon izni verilmedi\./);
         assert.equal(await denied.evaluate(() => document.activeElement.id),
                      'mic-retry');
         assert.equal(await visible(denied, '#join'), true, 'not in the queue');
         assert.equal((await agent.$$('#queue-list .queue-item')).length, 0);
         await denied.click('#mic-skip');
         await until(() => visible(denied, '#waiting'), 'in the queue');
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 1, 'the call in the agent\'s queue');
         await agent.click('#accept-next');
         await until(async () => /izni verilmedi/.test(
             await text(denied, '#media-note')), 'the permission message',
         10000);
         assert.equal(await denied.getAttribute('#media-note', 'role'), 'alert');
         assert.equal(await visible(denied, '#media-note'), true);
         // still a call: the agent's voice arrives
         await until(async () => (await pcState(denied)) === 'connected',
                     'connected without a microphone', 15000);
         await mediaFlows(denied, 'audio');
         // the agent is told, and the quality bar does not say "good"
         await until(async () => (await text(agent, '#peer-media'))
                     === 'İzinsiz tarafından ses gelmiyor: mikrofonu kapalı ya da yok',
                     'the agent is told that no sound comes', 10000);
         await until(async () => (await agent.getAttribute('#quality',
                                                           'data-level'))
                     === 'nosound', 'the quality bar says so');
         assert.equal(await text(agent, '#quality .q-text'), 'Ses gelmiyor');
         await hangUp(denied);
         await until(() => visible(denied, '#ended'), 'the call ended');
         await until(() => visible(agent, '#idle'), 'the agent is idle');
         await denied.context().close();
     });

test('the console\'s new-call sound after a reload: asks for a click, plays',
     async () => {
         // from now on the agent's browser wants a gesture before sound
         await agent.context().addInitScript(gestureAudioPolicy);
         await agent.reload();
         await until(async () => (await text(agent, '#status'))
                     === 'Çevrim içi.', 'the console is back');
         await until(async () => (await text(agent, '#notify-btn'))
                     === 'Çağrı sesini aç', 'the button asks for the sound');
         assert.equal(await agent.getAttribute('#notify-btn', 'aria-pressed'),
                      'false');
         assert.equal(await visible(agent, '#sound-note'), true);
         assert.match(await text(agent, '#sound-note'), /tıklama bekliyor/);

         const c = await person(browser);
         await c.goto(BASE + '/');
         await c.fill('#name', 'Sessiz');
         await c.click('#call-btn');
         await until(async () => (await text(agent, '#status'))
                     === 'Yeni çağrı: Sessiz', 'the new call is shown');
         assert.deepEqual(await heardTones(agent), [], 'nothing could be heard');
         assert.equal(await agent.title(), '(1) hotline · Temsilci konsolu');

         await agent.click('#notify-btn');
         await until(async () => (await text(agent, '#notify-btn'))
                     === 'Bildirimler açık', 'sound and notifications on');
         assert.equal(await agent.getAttribute('#notify-btn', 'aria-pressed'),
                      'true');
         assert.equal(await visible(agent, '#sound-note'), false);
         // the next caller is heard
         const d = await person(browser);
         await d.goto(BASE + '/');
         await d.fill('#name', 'Duyulan');
         await d.click('#call-btn');
         await until(async () => (await heardTones(agent)).includes(880),
                     'the new-call tone was heard');

         // another reload: silent again until a click anywhere
         await agent.reload();
         await until(async () => (await text(agent, '#notify-btn'))
                     === 'Çağrı sesini aç', 'asks again after the reload');
         await agent.click('#queue-title');
         await until(async () => (await text(agent, '#notify-btn'))
                     === 'Bildirimler açık', 'any click turns the sound on');
         for (const p of [c, d]) {
             await p.context().close();
         }
     });
