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
import { callStore, DeskNotice, MessageForm, RatingForm } from './desk_customer.js';
import { Replay } from './replay.js';

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
    deskNotice: $('desk-notice'),
    leaveMsg: $('leave-msg-btn'),
    waitNote: $('wait-note'),
    waitMsg: $('wait-msg-btn'),
    message: $('message'),
    messageTitle: $('message-title'),
    msgBack: $('msg-back'),
    sent: $('sent'),
    sentTitle: $('sent-title'),
    sentText: $('sent-text'),
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
// the call's resume token: kept in sessionStorage for a reload, and for
// its rating after it ended
let callToken = null;
// the screen the message form goes back to
let backTo = 'join';
// the chime when an agent answers: heard even from another tab
const tones = new Tones();
const banner = new ReconnectBanner(ui.status);

function status(key, vars, kind) {
    setStatus(ui.status, key, vars, kind);
}

const view = new CallView({
    mount: ui.call, role: 'customer', diagnostics: false, status, tones,
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
    show(ui.message, name === 'message');
    show(ui.sent, name === 'sent');
    document.body.dataset.screen = name;
    if (name === 'join') {
        desk.start();
    } else {
        desk.stop();
    }
}

// --- the support desk: what it says before a call, messages, ratings

// (the endpoints are config.json's: set once it is read, below)
const desk = new DeskNotice({ el: ui.deskNotice, callBtn: ui.callBtn,
                              endpoint: null });

const messageForm = new MessageForm({
    ui: { form: $('message-form'), name: $('msg-name'),
          contact: $('msg-contact'), text: $('msg-text'),
          textLabel: $('msg-text-label'), count: $('msg-count'),
          kindMessage: $('msg-kind-message'),
          kindCallback: $('msg-kind-callback'), send: $('msg-send') },
    endpoint: null, status,
    sent: (callback) => {
        setText(ui.sentText, callback ? 'c.msg.sent.callback' : 'c.msg.sent');
        if (sig && !finished) {
            // instead of waiting: its call ends now (ended follows)
            finished = true;
            callStore.clear();
            view.end();
            check.release();
            sig.close();
        }
        screen('sent');
        status('c.msg.sent.title', {}, 'ok');
        ui.sentTitle.focus();
    },
});

const rating = new RatingForm({
    ui: { form: $('rate-form'), stars: $('rate-stars'),
          comment: $('rate-comment'), count: $('rate-count'),
          send: $('rate-send'), skip: $('rate-skip'),
          thanks: $('rate-thanks') },
    endpoint: null, status,
});

function leaveMessage(from) {
    backTo = from;
    messageForm.open({ name: ui.name.value.trim(),
                       sig: from === 'waiting' && !finished ? sig : null });
    screen('message');
    setTitle('c.title.message');
    status('c.msg.intro');
    ui.messageTitle.focus();
}

ui.leaveMsg.addEventListener('click', () => leaveMessage('join'));
ui.waitMsg.addEventListener('click', () => leaveMessage('waiting'));
ui.msgBack.addEventListener('click', () => {
    screen(backTo === 'waiting' && !finished ? 'waiting' : 'join');
    (backTo === 'waiting' && !finished ? ui.waitingTitle : ui.name).focus();
});

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

// a call transferred to another agent: its conversation goes on
let transferred = false;

// resume: a token kept from before a reload of the page (the call goes on)
async function startCall(name, resume = null) {
    finished = false;
    welcomed = false;
    callToken = resume;
    transferred = false;
    ui.callBtn.disabled = true;
    setPlain(ui.position, '');
    setPlain(ui.eta, '');
    setPlain(ui.endedText, '');
    show(ui.waitNote, false);
    rating.close();
    show($('rate-thanks'), false);
    config = await loadConfig();

    sig = new Signaling({
        path: config.endpoints.customer,
        start: resume ? null : { type: 'join', name },
        resume,
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
        callStore.clear();
        if (code === 4004) {
            status('c.expired', {}, 'error');
        } else {
            status('c.disconnected', { code: code || 0 }, 'error');
        }
        finish();
    }
}

// what a page back from scratch is replayed of its predecessor's
const replay = new Replay();

function onMessage(msg) {
    if (replay.stale(msg)) {
        return;
    }
    switch (msg.type) {
    case 'welcome':
        replay.reset();
        welcomed = true;
        callToken = msg.resume || callToken;
        if (msg.resumed) {
            status(msg.gap ? 'conn.resumed_gap' : 'conn.resumed', {}, 'ok');
        } else {
            // kept for a reload of the page
            callStore.save({ token: callToken, name: ui.name.value.trim(),
                             state: 'waiting' });
            screen('waiting');
            status('c.queued');
            // on the news, not on Leave: an Enter too many is harmless
            ui.waitingTitle.focus();
        }
        break;

    case 'desk':
        replay.mark(msg);
        // back in the call after a reload: where it is
        // (the screen shows the call already: the media are not up yet)
        if (msg.state === 'call' && !view.rtc) {
            const kept = callStore.load() || {};
            beginCall(kept.agent || '', null, null);
        } else if (msg.state === 'waiting') {
            screen('waiting');
            status('c.queued');
        }
        break;

    case 'transcript':
        view.chat.history(Array.isArray(msg.lines) ? msg.lines : [],
                          'customer');
        break;

    case 'hold':
        view.setHold(msg.state === 'on');
        break;

    case 'transfer':
        onTransfer(msg);
        break;

    case 'position':
        // nobody takes calls: the wait is unknown, a message is offered
        show(ui.waitNote, msg.eta === null);
        if (msg.eta === null) {
            setText(ui.waitNote, 'c.wait.nobody');
        }
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
        beginCall((msg.peer && msg.peer.name) || '', msg.recording || null,
                  check.take());
        tones.play(Tones.ANSWERED);
        break;

    case 'ended': {
        callStore.clear();
        if (msg.reason === 'banned') {
            barred('c.removed');
            break;
        }
        const [key, vars] = endedText(msg, 'customer');
        setText(ui.endedText, key, vars);
        ui.endedText.dataset.duration = String(msg.duration || 0);
        status('c.over');
        finish();
        if (Number(msg.rating) > 0 && callToken) {
            rating.offer(callToken);
        }
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
            } else if (msg.code === 'closed') {
                setText(ui.endedText, 'c.closed');
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

// A call begins (accepted), or goes on after a reload (the name kept).
function beginCall(name, recording, micStream) {
    peerName = name;
    callStore.save({ agent: peerName, state: 'call' });
    screen('call');
    status('call.starting', { name: peerName || '…' }, 'ok');
    leaveQuestion.dismiss();
    setTitle('c.title.answered', { name: peerName || t('call.agent') });
    view.begin({ sig, peerName: peerName || t('call.agent'), recording,
                 iceServers: config.iceServers, micStream,
                 keepChat: transferred });
    transferred = false;
    view.focus();
}

// The agent hands the call on: back in the queue, waiting for another.
function onTransfer(msg) {
    if (msg.state === 'waiting') {
        view.end();
        transferred = true;
        callStore.save({ state: 'waiting' });
        const to = typeof msg.to === 'string' && msg.to ? msg.to : null;
        const reason = typeof msg.reason === 'string' ? msg.reason : '';
        setText(ui.waitNote, (to ? 'c.transfer.to' : 'c.transfer.any')
                             + (reason ? '' : '.plain'),
                { name: to, reason });
        show(ui.waitNote, true);
        screen('waiting');
        status('c.queued');
        ui.waitingTitle.focus();
    } else if (msg.state === 'open') {
        setText(ui.waitNote, 'c.transfer.open');
        show(ui.waitNote, true);
    }
}

// A reload of the page does not end the call: the page comes back into it
// with the token kept in sessionStorage (the agent sees it reconnecting,
// then back).  Closing the tab leaves the call to end after the grace
// period (hotline_resume_timeout).

setTitle('c.title.page');
config = await loadConfig();
desk.endpoint = config.endpoints.desk;
messageForm.endpoint = config.endpoints.customer;
rating.endpoint = config.endpoints.customer;
const kept = callStore.load();

if (kept) {
    ui.name.value = typeof kept.name === 'string' ? kept.name : '';
    screen(kept.state === 'call' ? 'call' : 'waiting');
    status('c.resuming');
    // no gesture yet on this page: the hold tone and the chime once
    // sound is allowed
    tones.prepare();
    startCall(ui.name.value, kept.token);
} else {
    screen('join');
    ui.name.focus();
}
