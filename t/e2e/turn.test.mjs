// A call relayed through TURN (run by t/73-e2e-turn.t: a real coturn with
// the REST scheme, nginx's hotline_ice_servers location minting the
// credentials from the same secret).  The pages take their ICE servers
// from the module; here both peer connections are made relay-only, so
// the call only works if the short-lived credentials are accepted by
// coturn; the agent's diagnostics then say the path is relayed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, until, text, visible, mediaFlows,
    hangUp, mediaConnected,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;

let agent;
let cust;

// relay-only peer connections: no host candidate is ever paired
function relayOnly() {
    const PC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends PC {
        constructor(config = {}) {
            super({ ...config, iceTransportPolicy: 'relay' });
        }
    };
}

people({
    agent: { init: relayOnly },
    cust: { init: relayOnly },
}, (p) => ({ agent, cust } = p));

test('the ICE servers location gives short-lived TURN credentials',
     async () => {
         await cust.goto(BASE + '/');
         const r = await cust.evaluate(async () => {
             const res = await fetch('/api/ice');
             return { status: res.status, cc: res.headers.get('Cache-Control'),
                      body: await res.json() };
         });
         assert.equal(r.status, 200);
         assert.match(r.cc, /no-store/);
         const turn = r.body.iceServers.find((s) => s.urls.some(
             (u) => u.startsWith('turn:')));
         assert.ok(turn, 'a TURN entry');
         const [expiry, who] = turn.username.split(':');
         assert.match(who, /^hotline-[0-9a-f]+$/);
         const left = Number(expiry) - Date.now() / 1000;
         assert.ok(left > 500 && left <= 600, 'expires with the ttl: ' + left);
         assert.ok(turn.credential.length > 20);
     });

test('a relay-only call connects through coturn, media flow', async () => {
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#console'), 'the console');
    await cust.fill('#name', 'Röle');
    await cust.click('#call-btn');
    await until(async () => (await agent.$$('#queue-list .queue-item'))
                .length === 1, 'the call in the queue');
    await agent.click('#accept-next');
    await mediaConnected([agent, cust], 'connected through the relay', 20000);
    await mediaFlows(agent, 'audio');
    await mediaFlows(cust, 'audio');
    const cfg = await cust.evaluate(() => window.__pcs[0].getConfiguration());
    assert.equal(cfg.iceTransportPolicy, 'relay');
    assert.ok(cfg.iceServers.some((s) => /^\d+:hotline-/.test(s.username)),
              'the page used the module\'s credentials');
});

test('the diagnostics say the path is relayed', async () => {
    await until(async () => /^TURN üzerinden \(relay\//.test(
        await text(agent, '#diag-path') || ''), 'a relayed path', 10000);
    assert.equal(await agent.getAttribute('#diag-path', 'data-relayed'),
                 'true');
    await hangUp(agent);
    await until(() => visible(cust, '#ended'), 'the call ended');
});
