// A recorded call (run by t/72-e2e-recording.t, nginx with
// hotline_recorder and a real hotline-recorder behind /whip): both sides
// show the recording badge, both publish their own media over WHIP (a
// second, send-only peer connection) while the call runs, and hanging up
// ends the recordings (WHIP DELETE; the wrapper then checks the files).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, until, text, visible, pcState,
    hangUp,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;

let agent;
let cust;

people({
    agent: {},
    cust: {},
}, (p) => ({ agent, cust } = p));

// bytes sent by the send-only (WHIP) peer connection, -1 if none
function whipBytes(page) {
    return page.evaluate(async () => {
        const pc = window.__pcs.find((p) => p.getTransceivers().length
            && p.getTransceivers().every((t) => t.direction === 'sendonly'));
        if (!pc || pc.connectionState !== 'connected') {
            return -1;
        }
        let b = 0;
        (await pc.getStats()).forEach((s) => {
            if (s.type === 'outbound-rtp' && s.kind === 'audio') {
                b += s.bytesSent || 0;
            }
        });
        return b;
    });
}

test('an accepted call shows the recording badge on both sides', async () => {
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#console'), 'the console');
    await cust.goto(BASE + '/');
    await cust.fill('#name', 'Kayıt');
    await cust.click('#call-btn');
    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 1, 'the call in the queue');
    await agent.click('#accept-next');
    for (const p of [agent, cust]) {
        await until(() => visible(p, '#rec-badge'), 'the recording badge');
        assert.equal(await text(p, '#rec-badge'), 'Bu görüşme kaydediliyor');
    }
    await until(async () => (await pcState(cust)) === 'connected',
                'the call connects', 15000);
});

test('both sides publish their audio to the recorder over WHIP', async () => {
    for (const [who, p] of [['agent', agent], ['customer', cust]]) {
        // about two seconds of Opus at the fake device's level
        await until(async () => (await whipBytes(p)) > 8000,
                    who + ' sends audio to the recorder', 20000);
    }
});

test('hang up ends the call and the recordings', async () => {
    await hangUp(cust);
    await until(() => visible(cust, '#ended'), 'the customer sees the end');
    await until(() => visible(agent, '#idle'), 'the agent is idle');
    assert.equal(await visible(agent, '#rec-badge'), false);
    await until(async () => (await agent.$$eval('#history-body .tag',
                                                (e) => e.length)) > 0,
                'the history marks the call as recorded');
});
