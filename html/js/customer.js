// The customer page: a name, the call; the microphone checked before
// joining the queue (miccheck.js); the live queue position and the
// estimated wait; then the call (voice by default, camera and screen
// optional) with chat, through the shared call panel (callview.js).

import { Signaling } from './signaling.js';
import { CallView } from './callview.js';
import { Confirm } from './confirm.js';
import { loadConfig } from './config.js';
import { initI18n, setText, setPlain, setTitle, t } from './i18n.js';
import { Tones } from './sound.js';
import { MicCheck } from './miccheck.js';
import { ReconnectBanner } from './reconnect.js';
import { $, show, setStatus, etaVar, endedText } from './ui.js';
import { CharCounter } from './counter.js';

initI18n();

const ui = {
    status: $('status'),
    join: $('join'),
    joinForm: $('join-form'),
    name: $('name'),
    callBtn: $('call-btn'),
    waiting: $('waiting'),
    position: $('position'),
    eta: $('eta'),
    cancelBtn: $('cancel-btn'),
    waitingTitle: $('waiting-title'),
    call: $('call'),
    ended: $('ended'),
    endedTitle: $('ended-title'),
    endedText: $('ended-text'),
    thanks: $('thanks'),
    againBtn: $('again-btn'),
    micProblem: $('mic-problem'),
    micProblemText: $('mic-problem-text'),
    micRetry: $('mic-retry'),
    micSkip: $('mic-skip'),
    micTest: $('mic-test-btn'),
};

const check = new MicCheck({
    card: $('mic-card'), select: $('mic-select'), pick: $('mic-pick'),
    meter: $('mic-level'), state: $('mic-state') });
// the customer chose to call without a microphone (listen and chat)
let withoutMic = false;

// A microphone problem before joining: what to do about it, and the
// choice to call without one.
const MIC_PROBLEMS = {
    'perm.denied': 'c.mic.denied',
    'perm.missing': 'c.mic.missing',
    'perm.busy': 'c.mic.busy',
};

function micProblem(key) {
    setText(ui.micProblemText, MIC_PROBLEMS[key] || 'c.mic.failed');
    show(ui.micProblem, true);
    show(ui.micTest, false);
    status('c.mic.problem', {}, 'warn');
    ui.micRetry.focus();
}

// Opens the microphone for the check; true when it works.
async function checkMic() {
    status('c.mic.asking');
    const problem = await check.open();
    if (problem) {
        micProblem(problem);
        return false;
    }
    show(ui.micProblem, false);
    show(ui.micTest, false);
    return true;
}

let sig = null;
let finished = true;
let welcomed = false;
let peerName = '';
let config = null;
// the chime when an agent answers: heard even from another tab
const tones = new Tones();
const banner = new ReconnectBanner(ui.status);

function status(key, vars, kind) {
    setStatus(ui.status, key, vars, kind);
}

const view = new CallView({
    mount: ui.call, role: 'customer', diagnostics: false, status,
    onHangup: () => {
        if (sig) {
            sig.send({ type: 'hangup' });
        }
        status('call.hanging_up');
    },
});

function screen(name) {
    show(ui.join, name === 'join');
    show(ui.waiting, name === 'waiting');
    show(ui.call, name === 'call');
    show(ui.ended, name === 'ended');
    document.body.dataset.screen = name;
}

// Display names: 1-64 characters, no control characters, not only spaces.
const NAME_MAX = 64;
const nameCount = new CharCounter(ui.name, $('name-count'), NAME_MAX);

// (and at most 192 bytes of UTF-8: 64 emoji of 4 bytes do not fit)
const NAME_BYTES = 192;

function validName(name) {
    return name.trim() !== '' && !nameCount.over
           && new TextEncoder().encode(name).length <= NAME_BYTES
           && !/[\u0000-\u001f\u007f]/.test(name);
}

ui.joinForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!finished) {
        return;
    }
    const name = ui.name.value.trim();
    if (!validName(name)) {
        status('c.name.bad', { max: NAME_MAX }, 'error');
        ui.name.setAttribute('aria-invalid', 'true');
        ui.name.focus();
        return;
    }
    ui.name.removeAttribute('aria-invalid');
    // (a click or Enter: the page may make sound from now on)
    tones.unlock();
    if (!check.ready && !withoutMic) {
        ui.callBtn.disabled = true;
        const ok = await checkMic();
        ui.callBtn.disabled = false;
        if (!ok) {
            return;
        }
    }
    show(ui.micProblem, false);
    startCall(name);
});

ui.micRetry.addEventListener('click', () => ui.joinForm.requestSubmit());
ui.micSkip.addEventListener('click', () => {
    withoutMic = true;
    ui.joinForm.requestSubmit();
});
ui.micTest.addEventListener('click', async () => {
    tones.unlock();
    if (await checkMic()) {
        status('c.ready');
        ui.name.focus();
    }
});

async function startCall(name) {
    finished = false;
    welcomed = false;
    ui.callBtn.disabled = true;
    setPlain(ui.position, '');
    setPlain(ui.eta, '');
    setPlain(ui.endedText, '');
    config = await loadConfig();

    sig = new Signaling({
        path: config.endpoints.customer,
        start: { type: 'join', name },
    });
    sig.on('message', onMessage);
    sig.on('state', onState);
    banner.follow(sig);
    sig.connect();
}

function onState(state, detail) {
    if (state === 'connecting') {
        status('conn.connecting');
    } else if (state === 'reconnecting') {
        if (ui.status.dataset.i18n !== 'conn.reconnecting') {
            status('conn.reconnecting', {}, 'warn');
        }
    } else if (state === 'closed' && !finished) {
        const code = detail && detail.code;
        if (code === 4005) {
            // banned (the `ended` or `error` before it did not arrive)
            barred(welcomed ? 'c.removed' : 'c.refused');
            return;
        }
        if (code === 4004) {
            status('c.expired', {}, 'error');
        } else {
            status('c.disconnected', { code: code || 0 }, 'error');
        }
        finish();
    }
}

function onMessage(msg) {
    switch (msg.type) {
    case 'welcome':
        welcomed = true;
        if (msg.resumed) {
            status(msg.gap ? 'conn.resumed_gap' : 'conn.resumed', {}, 'ok');
        } else {
            screen('waiting');
            status('c.queued');
            // on the news, not on Leave: an Enter too many is harmless
            ui.waitingTitle.focus();
        }
        break;

    case 'position':
        if (msg.position === 1) {
            setText(ui.position, 'c.position.next');
        } else {
            setText(ui.position, 'c.position', { position: msg.position });
        }
        ui.position.dataset.position = String(msg.position);
        setTitle('c.title.waiting', { position: msg.position });
        setText(ui.eta, 'c.eta', { eta: etaVar(msg.eta) });
        break;

    case 'accepted':
        peerName = (msg.peer && msg.peer.name) || '';
        screen('call');
        status('call.starting', { name: peerName || '…' }, 'ok');
        leaveQuestion.dismiss();
        tones.play(Tones.ANSWERED);
        setTitle('c.title.answered', { name: peerName || t('call.agent') });
        view.begin({ sig, peerName: peerName || '…',
                     recording: msg.recording || null,
                     iceServers: config.iceServers,
                     micStream: check.take() });
        view.focus();
        break;

    case 'ended': {
        if (msg.reason === 'banned') {
            barred('c.removed');
            break;
        }
        const [key, vars] = endedText(msg, 'customer');
        setText(ui.endedText, key, vars);
        ui.endedText.dataset.duration = String(msg.duration || 0);
        status('c.over');
        finish();
        break;
    }

    case 'error':
        if (!welcomed) {
            // The join was refused: the session never started.
            if (msg.code === 'banned') {
                barred('c.refused');
                break;
            }
            if (msg.code === 'queue_full') {
                setText(ui.endedText, 'c.busy');
            } else if (msg.code === 'daily_limit') {
                setText(ui.endedText, 'c.daily');
            } else {
                setText(ui.endedText, 'c.failed', { code: msg.code });
            }
            status('c.failed', { code: msg.code }, 'error');
            finish();
        } else if (!msg.id) {
            status('error', { code: msg.code }, 'error');
        }
        break;

    default:
        view.handle(msg);
        break;
    }
}

// final: an agent banned this customer (or its address): no resume, no
// "call again", the call button stays disabled; the page just says so.
function finish(final = false) {
    if (finished) {
        return;
    }
    finished = true;
    leaveQuestion.dismiss();
    view.end();
    check.release();
    withoutMic = false;
    show(ui.micTest, true);
    if (sig) {
        sig.close();
    }
    ui.callBtn.disabled = final;
    show(ui.againBtn, !final);
    show(ui.thanks, !final);
    if (!ui.endedText.textContent) {
        setText(ui.endedText, 'c.not_completed');
    }
    screen('ended');
    setTitle('c.title.ended');
    (final ? ui.endedTitle : ui.againBtn).focus();
}

// Removed from the call (`ended` with reason `banned`, close 4005) or a
// join refused with `banned`: key is 'c.removed' or 'c.refused'.
function barred(key) {
    if (finished) {
        return;
    }
    setText(ui.endedText, key);
    delete ui.endedText.dataset.duration;
    if (key === 'c.refused') {
        // there was no call to end
        setText(ui.endedTitle, 'c.refused.title');
    }
    status(key);
    finish(true);
}

// Leaving the queue loses the place: asked first.
const leaveQuestion = new Confirm('leave', {
    title: 'c.leave.title', keep: 'c.leave.keep', go: 'c.leave.go' });

ui.cancelBtn.addEventListener('click', async () => {
    const position = Number(ui.position.dataset.position) || 0;
    const yes = await leaveQuestion.ask({
        text: position ? 'c.leave.text' : 'c.leave.text.plain',
        vars: { position }, fallback: ui.waitingTitle });
    if (!yes || finished || !sig) {
        return;
    }
    sig.send({ type: 'cancel' });
    status('c.cancelling');
});

ui.againBtn.addEventListener('click', () => {
    setTitle('c.title.page');
    screen('join');
    status('c.ready');
    ui.name.focus();
});

// Leaving the page ends the call rather than leaving it to time out.
window.addEventListener('pagehide', () => {
    if (sig && !finished) {
        sig.send({ type: 'hangup' });
    }
});

screen('join');
setTitle('c.title.page');
ui.name.focus();
