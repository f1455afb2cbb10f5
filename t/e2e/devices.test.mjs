// Microphones, cameras and speakers (run by t/76-e2e-devices.t): the
// customer's microphone is checked before joining the queue (a missing
// one is said at once, a silent one while waiting), the agent is told
// when no sound comes from the customer, and the microphone, camera and
// speaker are chosen from lists, changed in the middle of a call and
// remembered for the next one.  Chromium's fake devices: three
// microphones, one camera, three speakers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    BASE, people, person, until, text, visible, pcState, mediaFlows, hangUp,
} from './lib/browser.mjs';

const TOKEN = process.env.HOTLINE_AGENT_TOKEN;

let browser;
let agent;

people({ agent: {} }, (p) => ({ browser, agent } = p));

// a microphone that hears nothing (a hardware mute switch, the wrong
// input): a live track of silence
function silentMicrophone() {
    const real = navigator.mediaDevices.getUserMedia
        .bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
        if (c && c.audio) {
            // zeros (kept referenced: a collected context stops)
            const ctx = new AudioContext();
            const zero = ctx.createConstantSource();
            zero.offset.value = 0;
            const dst = ctx.createMediaStreamDestination();
            zero.connect(dst);
            zero.start();
            window.__silence = { ctx, zero, dst };
            return dst.stream;
        }
        return real(c);
    };
}

function noMicrophone() {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(
        new DOMException('Requested device not found', 'NotFoundError'));
}

async function accept() {
    await until(async () => !(await agent.isDisabled('#accept-next')),
                'a call to accept');
    await agent.click('#accept-next');
    await until(() => visible(agent, '#call'), 'the agent in the call');
}

// the deviceId of the microphone the call's peer connection sends
function sentMic(page) {
    return page.evaluate(() => {
        const s = window.__pcs.filter((p) => p.connectionState !== 'closed')
            .flatMap((p) => p.getSenders())
            .find((x) => x.track && x.track.kind === 'audio');
        return s ? s.track.getSettings().deviceId : null;
    });
}

function options(page, select) {
    return page.$$eval(select + ' option',
                       (os) => os.map((o) => [o.value, o.textContent]));
}

test('the agent\'s console', async () => {
    await agent.goto(BASE + '/agent.html#token=' + TOKEN);
    await until(() => visible(agent, '#console'), 'the console');
});

test('no microphone: said before joining the queue', async () => {
    const c = await person(browser, { init: noMicrophone });
    await c.goto(BASE + '/');
    await c.fill('#name', 'Mikrofonsuz');
    await c.click('#call-btn');
    await until(() => visible(c, '#mic-problem'), 'the problem is shown');
    assert.match(await text(c, '#mic-problem-text'),
                 /^Bu cihazda mikrofon bulunamadı\./);
    assert.equal(await visible(c, '#waiting'), false);
    assert.equal((await agent.$$('#queue-list .queue-item')).length, 0,
                 'nobody waits for them');
    await c.context().close();
});

test('a silent microphone: said while waiting, and to the agent', async () => {
    const c = await person(browser, { init: silentMicrophone });
    await c.goto(BASE + '/');
    await c.fill('#name', 'Sessiz');
    await c.click('#call-btn');
    await until(() => visible(c, '#waiting'), 'in the queue');
    assert.equal(await visible(c, '#mic-card'), true, 'the level meter');
    await until(async () => (await c.getAttribute('#mic-state', 'data-heard'))
                === 'false', 'the page says no sound comes', 8000);
    assert.match(await text(c, '#mic-state'),
                 /^Mikrofonunuzdan ses gelmiyor\./);
    await accept();
    await until(async () => (await pcState(c)) === 'connected', 'connected',
                15000);
    await until(async () => (await text(agent, '#peer-media'))
                === 'Sessiz tarafının mikrofonu ses almıyor',
                'the agent is told the microphone is silent', 12000);
    assert.equal(await agent.getAttribute('#quality', 'data-level'),
                 'nosound');
    await hangUp(agent);
    await until(() => visible(c, '#ended'), 'the call ended');
    await c.context().close();
});

test('microphone, camera and speaker: chosen, changed, remembered',
     async () => {
         const c = await person(browser);
         await c.goto(BASE + '/');
         await c.click('#mic-test-btn');
         await until(() => visible(c, '#mic-card'), 'the check');
         await until(async () => (await c.getAttribute('#mic-state',
                                                       'data-heard'))
                     === 'true', 'the fake microphone is heard', 8000);
         assert.equal(await text(c, '#mic-state'), 'Sizi duyuyoruz.');
         const mics = await options(c, '#mic-select');
         assert.equal(mics.length, 3);
         const input2 = mics.find(([, l]) => l === 'Fake Audio Input 2')[0];
         const input1 = mics.find(([, l]) => l === 'Fake Audio Input 1')[0];
         await c.selectOption('#mic-select', input2);
         await until(async () => (await c.evaluate(() => localStorage
             .getItem('hotline.device.audioinput'))) === input2,
         'the choice is remembered');

         // the next visit opens that microphone, for the check and the call
         await c.reload();
         await c.fill('#name', 'Seçici');
         await c.click('#call-btn');
         await until(() => visible(c, '#waiting'), 'in the queue');
         assert.equal(await c.$eval('#mic-select', (s) => s.value), input2);
         await accept();
         await until(async () => (await pcState(c)) === 'connected',
                     'connected', 15000);
         assert.equal(await sentMic(c), input2, 'the call sends input 2');
         await until(() => visible(c, '#call-mic-select'), 'the call\'s list');
         assert.equal(await c.$eval('#call-mic-select', (s) => s.value),
                      input2);

         // another microphone in the middle of the call
         await c.selectOption('#call-mic-select', input1);
         await until(async () => (await sentMic(c)) === input1,
                     'the call sends input 1 now');
         await mediaFlows(agent, 'audio');

         // the speaker
         const outs = await options(c, '#speaker-select');
         const out1 = outs.find(([, l]) => l === 'Fake Audio Output 1')[0];
         await c.selectOption('#speaker-select', out1);
         await until(async () => (await c.$eval('#remote-audio',
                                                (a) => a.sinkId)) === out1,
                     'the call plays on output 1');

         // the camera: its list once it is on
         await c.click('#camera-btn');
         await until(() => visible(c, '#call-camera-select'),
                     'the camera list');
         assert.deepEqual((await options(c, '#call-camera-select'))
             .map(([, l]) => l), ['fake_device_0']);
         await c.click('#camera-btn');
         await hangUp(c);
         await until(() => visible(c, '#ended'), 'the call ended');
         await until(() => visible(agent, '#idle'), 'the agent is idle');

         // the next call uses what was chosen
         await c.click('#again-btn');
         await c.click('#call-btn');
         await until(() => visible(c, '#waiting'), 'in the queue again');
         await accept();
         await until(async () => (await pcState(c)) === 'connected',
                     'connected', 15000);
         assert.equal(await sentMic(c), input1, 'input 1 again');
         await until(async () => (await c.$eval('#remote-audio',
                                                (a) => a.sinkId)) === out1,
                     'output 1 again');
         await hangUp(c);
         await until(() => visible(c, '#ended'), 'the call ended');
         await c.context().close();
     });

test('no page errors and no CSP violations', async () => {
    assert.deepEqual(await agent.evaluate(() => window.__violations), []);
    assert.deepEqual(agent.errors.filter((e) => !/WebSocket|ERR_/.test(e)),
                     []);
});
