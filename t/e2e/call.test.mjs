// A whole support call in real browsers (run by t/71-e2e-call.t): two
// customers call, the agent signs in with a one-time code from the
// Telegram stand-in, sees the queue, accepts the first; the second moves
// from position 2 to 1; media flows both ways; chat both ways with
// HTML-looking text shown as text; mute, camera and screen sharing are
// reflected on the other side; the customer's WebSocket is cut and the
// call resumes; an ICE restart from the customer's side; hang up ends it
// on both sides with a duration and it appears in the history; the second
// caller is rejected; sign-out revokes the session.
//
// The tests run in order and share the pages (one browser, one context
// per person).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, until, text, visible, pcState, mediaFlows,
    inboundBytes, telegramCode,
    hangUp, mediaConnected,
} from './lib/browser.mjs';

const AGENT = process.env.HOTLINE_AGENT || 'demo';
const AGENT_CHAT = process.env.HOTLINE_AGENT_CHAT || '1';
const NAME_A = '<i>Ayşe</i> & Co';
const NAME_B = 'Bora';

let agent;
let custA;
let custB;

people({
    agent: {},
    custA: {},
    custB: { viewport: { width: 390, height: 844 } },
}, (p) => ({ agent, custA, custB } = p));

async function join(page, name) {
    await page.goto(BASE + '/');
    await page.fill('#name', name);
    await page.click('#call-btn');
    await until(() => visible(page, '#waiting'), name + ' waits in the queue');
}

test('the agent signs in with the code from Telegram', async () => {
    await agent.goto(BASE + '/agent.html');
    await until(() => visible(agent, '#login'), 'the sign-in form');
    assert.equal(await agent.getAttribute('html', 'lang'), 'tr');

    const since = Date.now() - 1000;
    await agent.fill('#username', AGENT);
    await agent.click('#otp-btn');
    await until(() => visible(agent, '#code-form'), 'the code form');
    const code = await telegramCode(AGENT_CHAT, since);
    await agent.fill('#code', code);
    await agent.click('#verify-btn');
    await until(() => visible(agent, '#console'), 'the console after sign-in');
    await until(async () => (await text(agent, '#status')) === 'Çevrim içi.',
                'status says online (in Turkish)');
    assert.match(await text(agent, '#agent-name'), /Demo Agent/);
    assert.equal(await visible(agent, '#queue-empty'), true);
});

test('a reload keeps the session through the HttpOnly cookie alone',
     async () => {
         const cookie = (await agent.context().cookies())
             .find((c) => c.name === '__Host-hotline_session');
         assert.ok(cookie, 'the session cookie was stored');
         assert.equal(cookie.httpOnly, true);
         assert.equal(cookie.secure, true);
         assert.equal(cookie.sameSite, 'Strict');
         assert.equal(await agent.evaluate(() => document.cookie), '',
                      'JavaScript cannot read it');
         await agent.reload();
         await until(async () => (await text(agent, '#status'))
                     === 'Çevrim içi.', 'online again after the reload');
         assert.equal(await visible(agent, '#login'), false);
         assert.equal(await text(agent, '#agent-name'), 'Merhaba, Demo Agent');
     });

test('two customers call: positions 1 and 2, names shown as text', async () => {
    await join(custA, NAME_A);
    await until(async () => (await custA.getAttribute('#position',
                                                      'data-position')) === '1',
                'customer A at position 1');
    assert.equal(await text(custA, '#position'), 'Sıradaki sizsiniz');
    assert.match(await text(custA, '#eta'), /^Tahmini bekleme: /);
    assert.equal(await custA.getAttribute('#queue-live', 'aria-live'), 'polite');

    await join(custB, NAME_B);
    await until(async () => (await custB.getAttribute('#position',
                                                      'data-position')) === '2',
                'customer B at position 2');
    assert.equal(await text(custB, '#position'), 'Sıradaki yeriniz: 2');

    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 2, 'two calls in the agent\'s queue');
    const names = await agent.$$eval('#queue-list .name',
                                     (els) => els.map((e) => e.textContent));
    assert.deepEqual(names, [NAME_A, NAME_B]);
    assert.equal(await agent.$$eval('#queue-list i', (els) => els.length), 0,
                 'no <i> element from the name');
    assert.equal(await text(agent, '#queue-count'), '2');
    // a sound-and-notification alert for each new call
    const notes = await until(() => agent.evaluate(
        () => (window.__notes.length >= 2 ? window.__notes : null)),
    'two browser notifications');
    assert.equal(notes[0].body, NAME_A + ' destek bekliyor.');
});

test('the agent accepts the first call; the second moves to position 1',
     async () => {
         const accept = agent.locator('#queue-list .queue-item').first()
             .locator('button.primary');
         assert.equal(await accept.getAttribute('aria-label'),
                      NAME_A + ' adlı arayanı kabul et');
         await accept.click();
         await until(() => visible(agent, '#call'), 'the agent\'s call panel');
         await until(() => visible(custA, '#call'), 'the customer\'s call panel');
         // the customer sees the agent's display name, not its username
         assert.equal(await text(custA, '#call-title'),
                      'Demo Agent ile görüşme');
         assert.equal(await text(agent, '#call-title'), NAME_A + ' ile görüşme');
         await until(async () => (await custB.getAttribute('#position',
                                                           'data-position'))
                     === '1', 'customer B moves to position 1');
         assert.equal(await agent.isDisabled('#accept-next'), true,
                      'one call at a time');
     });

test('media flows both ways (inbound RTP bytes grow)', async () => {
    await until(async () => (await pcState(agent)) === 'connected',
                'agent connected', 15000);
    await until(async () => (await pcState(custA)) === 'connected',
                'customer connected', 15000);
    const [a1, a2] = await mediaFlows(agent, 'audio');
    const [c1, c2] = await mediaFlows(custA, 'audio');
    assert.ok(a2 > a1 && c2 > c1);
    // the diagnostics and the quality bar have numbers
    await until(async () => /ms$/.test(await text(agent, '#diag-rtt') || ''),
                'diagnostics RTT', 10000);
    assert.match(await text(agent, '#diag-codec'), /^opus 48 kHz/i);
    assert.match(await text(agent, '#diag-codec'), /usedtx=1/);
    assert.match(await text(agent, '#diag-codec'), /useinbandfec=1/);
    assert.match(await text(agent, '#diag-path'), /^doğrudan \(host/);
    await until(async () => /^(good|fair|poor)$/.test(
        await custA.getAttribute('#quality', 'data-level')),
    'the customer\'s quality bar has a level');
    // figures for the agent, plain words for the customer (no jargon)
    await until(async () => /RTT \d+ ms/.test(await text(agent, '#quality')),
                'the agent\'s quality bar has the figures');
    assert.doesNotMatch(await text(custA, '#quality'), /RTT|jitter|ms|\d/);
});

// The words of the call's controls, their names never inside one another
// ("Sesi kapat" beside "Kapat") and the same whether pressed or not.
async function controlNames(page) {
    return page.$$eval('#call .controls button', (bs) => bs
        .filter((b) => !b.hidden)
        .map((b) => (b.getAttribute('aria-label') || b.textContent).trim()));
}

function distinct(names) {
    for (const a of names) {
        for (const b of names) {
            if (a !== b) {
                assert.ok(!b.toLocaleLowerCase('tr').includes(
                    a.toLocaleLowerCase('tr')), a + ' is inside ' + b);
            }
        }
    }
}

test('the call\'s controls have plain, distinct names in both languages',
     async () => {
         const tr = await controlNames(agent);
         assert.ok(tr.includes('Görüşmeyi bitir') && tr.includes('Sessize al'),
                   tr.join(', '));
         distinct(tr);
         distinct(await controlNames(custA));
         await custA.click('#lang-btn');
         const en = await controlNames(custA);
         assert.ok(en.includes('End call') && en.includes('Mute'), en.join());
         distinct(en);
         await custA.click('#lang-btn');
     });

test('chat both ways, HTML-looking text shown as text', async () => {
    const fromCustomer = '<img src=x onerror="window.__xss=1">Merhaba <b>kalın</b>';
    await custA.fill('#chat-input', fromCustomer);
    await custA.press('#chat-input', 'Enter');
    await until(async () => (await agent.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes(fromCustomer),
    'the agent gets the customer\'s message');
    await until(() => custA.$eval('#chat-log .msg.me',
                                  (el) => el.dataset.delivered === 'true'),
                'the customer\'s message is acknowledged');

    const fromAgent = '<script>window.__xss=2</script> & "tırnak"';
    await agent.fill('#chat-input', fromAgent);
    await agent.click('#chat-form button[type=submit]');
    await until(async () => (await custA.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes(fromAgent),
    'the customer gets the agent\'s message');

    for (const p of [agent, custA]) {
        assert.equal(await p.$$eval('#chat-log img, #chat-log b, #chat-log script',
                                    (els) => els.length), 0);
        assert.equal(await p.evaluate(() => window.__xss), undefined);
    }
});

test('mute, camera and screen sharing are reflected on the other side', async () => {
    await custA.click('#mute-btn');
    assert.equal(await custA.getAttribute('#mute-btn', 'aria-pressed'), 'true');
    // a toggle keeps its name: "Sessize al, pressed" is muted
    assert.equal(await text(custA, '#mute-btn'), 'Sessize al');
    assert.equal(await visible(custA, '#self-muted'), true);
    assert.equal(await text(custA, '#self-muted'),
                 'Sessizdesiniz: karşı taraf sizi duymuyor');
    await until(async () => (await agent.getAttribute('#peer-media',
                                                      'data-audio')) === 'false',
                'the agent sees the customer muted');
    assert.match(await text(agent, '#peer-media'), /mikrofonunu kapattı/);
    assert.equal(await custA.evaluate(() => window.__pcs
        .flatMap((p) => p.getSenders())
        .filter((s) => s.track && s.track.kind === 'audio')
        .every((s) => !s.track.enabled)), true, 'the microphone track is off');
    await custA.click('#mute-btn');
    await until(async () => (await agent.getAttribute('#peer-media',
                                                      'data-audio')) === 'true',
                'the agent sees the customer unmuted');

    // camera: on the existing video transceiver, no renegotiation
    await custA.click('#camera-btn');
    await until(() => visible(agent, '#remote-video'),
                'the agent sees the customer\'s video', 10000);
    await mediaFlows(agent, 'video');
    await custA.click('#camera-btn');
    await until(async () => !(await visible(agent, '#remote-video')),
                'the video goes away when the camera is off');
    assert.equal(await custA.getAttribute('#camera-btn', 'aria-pressed'),
                 'false');

    // screen sharing (Chromium's fake screen): on the same transceiver
    const before = await inboundBytes(agent, 'video');
    await custA.click('#share-btn');
    await until(async () => (await custA.getAttribute('#share-btn',
                                                      'aria-pressed')) === 'true',
                'the share button is pressed');
    await until(async () => /ekranını paylaşıyor/.test(
        await text(agent, '#peer-media')), 'the agent is told of the screen');
    await until(() => visible(agent, '#remote-video'),
                'the agent sees the screen', 10000);
    await until(async () => (await inboundBytes(agent, 'video')) > before,
                'screen video bytes arrive');
    await custA.click('#share-btn');
    await until(async () => !(await visible(agent, '#remote-video')),
                'the screen goes away when sharing stops');
});

test('the customer\'s WebSocket is cut and the call resumes', async () => {
    const opened = await custA.evaluate(() => window.__ws.length);
    await custA.evaluate(() => {
        window.__ws.filter((w) => w.readyState === 1).pop()
            .close(3000, 'test: cut');
    });
    await until(async () => (await custA.evaluate(() => window.__ws.length))
                > opened, 'a new WebSocket');
    await until(async () => (await text(custA, '#status'))
                === 'Yeniden bağlanıldı.', 'the customer resumed');
    await until(async () => /geri döndü/.test(await text(agent, '#status')),
                'the agent is told the customer is back');
    assert.equal(await visible(custA, '#call'), true);
    assert.equal(await pcState(custA), 'connected', 'media never stopped');
    // the resumed session carries chat
    await custA.fill('#chat-input', 'yeniden buradayım');
    await custA.press('#chat-input', 'Enter');
    await until(async () => (await agent.$$eval('#chat-log .msg.peer .text',
        (els) => els.map((e) => e.textContent))).includes('yeniden buradayım'),
    'chat after the resume');
});

test('a 5 s network cut: a countdown, and back as soon as the network is',
     async () => {
         const ctx = custA.context();
         const opened = await custA.evaluate(() => window.__ws.length);
         await ctx.setOffline(true);
         await custA.evaluate(() => {
             window.__ws.filter((w) => w.readyState === 1).pop()
                 .close(3001, 'test: the network went');
         });
         await until(() => visible(custA, '#reconnect'), 'the banner');
         await until(async () => /^\d+ sn içinde yeniden denenecek\.$/
                     .test(await text(custA, '#reconnect-text')),
                     'a countdown to the next attempt');
         assert.equal(await visible(custA, '#reconnect-now'), true);
         // the network stays away for 5 s (the attempts fail meanwhile)
         let longest = 0;
         const back = Date.now() + 5000;
         while (Date.now() < back) {
             const m = /(\d+) sn/.exec(await text(custA, '#reconnect-text'));
             longest = Math.max(longest, m ? Number(m[1]) : 0);
             await new Promise((r) => setTimeout(r, 100));
         }
         assert.equal(await visible(custA, '#reconnect'), true,
                      'still reconnecting while offline');
         assert.ok((await custA.evaluate(() => window.__ws.length))
                   > opened + 2, 'quick first attempts');
         // the countdown never promised a long wait meanwhile
         assert.ok(longest <= 3, 'longest announced wait: ' + longest + ' s');
         await ctx.setOffline(false);
         // back online, as the browser says (Playwright's offline mode
         // does not fire the event): it reconnects at once
         await custA.evaluate(() => window.dispatchEvent(new Event('online')));
         await until(async () => (await text(custA, '#status'))
                     === 'Yeniden bağlanıldı.', 'resumed at once', 1500);
         assert.equal(await visible(custA, '#reconnect'), false);
         assert.equal(await pcState(custA), 'connected', 'media never stopped');
     });

test('an ICE restart offered by the customer (the polite side)', async () => {
    const ufrag = () => agent.evaluate(() => {
        const pc = window.__pcs.filter((p) => p.connectionState !== 'closed'
            && p.getTransceivers().some((t) => t.direction === 'sendrecv'))
            .pop();
        const m = /a=ice-ufrag:(\S+)/.exec(pc.remoteDescription.sdp);
        return m && m[1];
    });
    const before = await ufrag();
    await custA.evaluate(() => {
        window.__pcs.filter((p) => p.connectionState !== 'closed'
            && p.getTransceivers().some((t) => t.direction === 'sendrecv'))
            .pop().restartIce();
    });
    await until(async () => (await ufrag()) !== before,
                'the agent applied the customer\'s restart offer');
    await mediaConnected([custA, agent], 'connected after the restart', 15000);
    await mediaFlows(agent, 'audio');
});

test('English switch re-renders the page, the call included', async () => {
    await custA.click('#lang-btn');
    assert.equal(await custA.getAttribute('html', 'lang'), 'en');
    assert.equal(await text(custA, '#call-title'), 'In a call with Demo Agent');
    assert.equal(await text(custA, '#hangup-btn'), 'End call');
    assert.equal(await text(custA, '#lang-btn'), 'Türkçe');
});

test('hang up ends the call on both sides with its duration; history',
     async () => {
         const before = await inboundBytes(agent, 'audio');
         assert.ok(before > 0);
         await hangUp(agent);
         await until(() => visible(custA, '#ended'), 'the customer sees the end');
         const d = Number(await custA.getAttribute('#ended-text',
                                                   'data-duration'));
         assert.ok(d >= 1, 'a duration: ' + d);
         assert.match(await text(custA, '#ended-text'),
                      /^The agent hung up after \d+:\d\d\.$/);
         await until(() => visible(agent, '#idle'), 'the agent is idle again');
         assert.equal(await agent.getAttribute('#last-call', 'data-duration'),
                      String(d), 'the same duration on both sides');
         assert.equal(await pcState(agent), 'none', 'the connection is closed');
         await until(async () => (await agent.$$eval('#history-body tr td:nth-child(2)',
             (els) => els.map((e) => e.textContent))).includes(NAME_A),
         'the call in the history', 10000);
         const row = await agent.$eval('#history-body tr', (tr) =>
             [...tr.cells].map((c) => c.textContent));
         assert.equal(row[1], NAME_A);
         assert.match(row[2], /^\d+:\d\d$/);
         assert.equal(row[3], 'tamamlandı');
         // both pages reported their media up: the operators' histogram
         const m = await (await fetch(BASE + '/metrics')).text();
         for (const role of ['customer', 'agent']) {
             const v = m.match(new RegExp(
                 '^hotline_call_connect_seconds_count\\{role="' + role
                 + '"\\} (\\d+)$', 'm'));
             assert.ok(v && Number(v[1]) >= 1, role + ' connect observed');
         }
     });

test('the agent rejects the second caller', async () => {
    await until(async () => !(await agent.isDisabled('#queue-list button:not(.primary)')),
                'the reject button is enabled');
    await agent.click('#queue-list .queue-item button:not(.primary)');
    await until(() => visible(custB, '#ended'), 'customer B sees the end');
    assert.match(await text(custB, '#ended-text'), /temsilci çağrıyı alamadı/);
    await until(() => visible(agent, '#queue-empty'), 'the queue is empty');
});

test('the agent bans a caller: confirmed in a dialog, the caller is removed',
     async () => {
         // last of the callers: the ban covers 127.0.0.1, every page's address
         const NAME_C = 'Rahatsız Eden';
         await join(custB, NAME_C);
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 1, 'the caller in the agent\'s queue');
         await agent.click('#queue-list .queue-item button[data-act=ban]');
         await until(() => agent.evaluate(
             () => document.getElementById('ban-dialog').open),
             'the confirmation dialog');
         assert.match(await text(agent, '#ban-text'), new RegExp(NAME_C));
         await agent.click('#ban-go');
         await until(() => visible(custB, '#ended'), 'the caller sees the end');
         assert.match(await text(custB, '#ended'),
                      /Bu görüşmeden çıkarıldınız\./);
         await until(async () => (await text(agent, '#status'))
                     === NAME_C + ' engellendi.', 'the agent is told');
         await until(() => visible(agent, '#queue-empty'), 'the queue is empty');
         // the address may not call again for hotline_ban_time
         await custB.goto(BASE + '/');
         await custB.fill('#name', NAME_C);
         await custB.click('#call-btn');
         await until(async () => /Şu anda arama yapamazsınız\./.test(
             await text(custB, 'body')), 'a new call is refused');
         assert.equal(await text(custB, '#ended-title'), 'Arama yapılamadı');
     });

test('sign out revokes the session', async () => {
    await agent.click('#logout-btn');
    await until(() => visible(agent, '#login'), 'back to the sign-in form');
    assert.equal(await text(agent, '#status'), 'Çıkış yapıldı.');
    // a reload has no session any more (the cookie was cleared, the token
    // revoked and forgotten)
    await agent.reload();
    await until(() => visible(agent, '#login'), 'sign-in form after a reload');
});

test('no page errors and no CSP violations', async () => {
    for (const [who, p] of [['agent', agent], ['customer A', custA],
                            ['customer B', custB]]) {
        const v = await p.evaluate(() => window.__violations);
        assert.deepEqual(v, [], who + ': CSP violations');
        assert.deepEqual(p.errors.filter((e) => !/WebSocket|ERR_|401/.test(e)),
                         [], who + ': page errors');
    }
});
