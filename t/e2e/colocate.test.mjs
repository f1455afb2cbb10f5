// A browser's WebSocket handed from one nginx worker to another (run by
// t/78-e2e-colocate.t; the demo's configuration has hotline_colocate on):
// the agent's console is placed on one worker and the customer's page on
// the other (the other worker stopped with SIGSTOP while each connects,
// so the kernel gives the connections to the one that runs).  When the
// agent accepts, the customer's connection moves to the agent's worker
// while both browsers set the media up; the browsers see nothing of it:
// media both ways, chat both ways, the customer's reload resumes the
// call, the hangup ends it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
    BASE, people, until, text, visible, mediaFlows, hangUp,
    mediaConnected,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;
const MASTER = process.env.HOTLINE_NGINX_MASTER;
const PORT = new URL(BASE).port;

let agent;
let cust;

people({
    agent: {},
    cust: {},
}, (p) => ({ agent, cust } = p));

function workers() {
    return execFileSync('ps', ['--ppid', MASTER, '-o', 'pid=,args='],
                        { encoding: 'utf8' })
        .split('\n')
        .filter((l) => /worker process/.test(l) && !/shutting down/.test(l))
        .map((l) => Number(l.trim().split(/\s+/)[0]))
        .sort((a, b) => a - b);
}

// the established connections to nginx's port, by worker pid
function held() {
    const out = execFileSync('ss', ['-Htnp', 'state', 'established',
                                    '( sport = :' + PORT + ' )'],
                             { encoding: 'utf8' });
    const n = {};
    for (const m of out.matchAll(/pid=(\d+)/g)) {
        n[m[1]] = (n[m[1]] || 0) + 1;
    }
    return n;
}

async function metric(name, labels) {
    const m = await (await fetch(BASE + '/metrics')).text();
    const v = m.match(new RegExp('^' + name + '\\{' + labels + '\\} (\\d+)$',
                                 'm'));
    return v ? Number(v[1]) : null;
}

// the other side's chat lines on a page
function lines(page) {
    return page.$$eval('#chat-log .msg.peer .text',
                       (els) => els.map((e) => e.textContent));
}

// fn runs with worker pid stopped; it runs again whatever fn does
async function without(pid, fn) {
    process.kill(pid, 'SIGSTOP');
    try {
        await fn();
    } finally {
        process.kill(pid, 'SIGCONT');
    }
}

let A;
let B;

test('the agent on one worker, the customer on the other', async () => {
    [A, B] = workers();
    assert.ok(A && B && A !== B, 'two workers: ' + workers().join(','));

    await without(B, async () => {
        await agent.goto(BASE + '/agent.html#token=' + TOKEN);
        await until(() => visible(agent, '#console'), 'the console');
        await until(async () => (await text(agent, '#status'))
                    === 'Çevrim içi.', 'the agent online');
    });
    // (the console was online before B ran again: its WebSocket is A's)
    let h = held();
    assert.ok(h[A] >= 1, 'the agent\'s connections are on worker '
              + A + ': ' + JSON.stringify(h));

    await without(A, async () => {
        await cust.goto(BASE + '/');
        await cust.fill('#name', 'Taşınan');
        await cust.click('#call-btn');
        await until(() => visible(cust, '#waiting'), 'the customer waits');
    });
    h = held();
    assert.ok(h[B] >= 1, 'the customer\'s connections are on worker ' + B
              + ': ' + JSON.stringify(h));
    assert.equal(await metric('hotline_connections_moved_total',
                              'result="moved"'), 0, 'nothing moved yet');
});

test('the accept moves the customer\'s connection; media and chat flow',
     async () => {
         await until(async () => (await agent.$$('#queue-list .queue-item'))
                     .length === 1, 'the call in the agent\'s queue');
         await agent.click('#accept-next');
         await mediaConnected([agent, cust], 'media connected', 20000);
         await until(async () => (await metric(
             'hotline_connections_moved_total', 'result="moved"')) === 1,
         'one connection moved');
         assert.equal(await metric('hotline_connections_moved_total',
                                   'result="failed"'), 0, 'none failed');
         await mediaFlows(agent, 'audio');
         await mediaFlows(cust, 'audio');

         await cust.fill('#chat-input', 'taşındım mı?');
         await cust.press('#chat-input', 'Enter');
         await until(async () => (await lines(agent))
             .includes('taşındım mı?'), 'the line at the agent');
         await agent.fill('#chat-input', 'evet, fark etmeden');
         await agent.press('#chat-input', 'Enter');
         await until(async () => (await lines(cust))
             .includes('evet, fark etmeden'), 'the line at the customer');
         assert.deepEqual(cust.errors, [], 'no error on the customer\'s page');
     });

test('the customer reloads after the move and is back in the call',
     async () => {
         await cust.reload();
         await until(() => visible(cust, '#call'), 'in the call again', 10000);
         await until(async () => (await lines(cust))
             .includes('evet, fark etmeden'), 'the conversation replayed');
         await mediaConnected([agent, cust], 'media connected again', 20000);
         await mediaFlows(cust, 'audio');
     });

test('the agent hangs up: the customer sees the end', async () => {
    await hangUp(agent);
    await until(() => visible(cust, '#ended'), 'the customer sees the end');
    assert.match(await text(cust, '#ended-text'), /kapattı/);
    assert.equal(await metric('hotline_connections_moved_total',
                              'result="failed"'), 0, 'no hand-over failed');
});
