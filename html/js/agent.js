// The agent console: sign-in with a one-time code from Telegram, the live
// queue (Accept / Reject / Ban / Accept next, one call at a time), the call
// through the shared call panel with diagnostics, the call history, and a
// sound and a browser notification for every new call.
//
// The session: the module's HttpOnly cookie, and the token of the login
// answer kept in memory for the WebSocket's bearer subprotocol (browsers
// cannot set headers on a WebSocket; over plain HTTP on a host other than
// localhost the __Host- cookie is not stored at all).  The demo's agent URL
// (make run) carries a token in the fragment instead (#token=...): that one
// is kept in sessionStorage for reloads of the tab.

import { Signaling } from './signaling.js';
import { CallView } from './callview.js';
import { loadConfig } from './config.js';
import { initI18n, setText, setPlain, setAttr, setTitle, t } from './i18n.js';
import { $, h, show, setStatus, clock, endedText } from './ui.js';
import { requestCode, verifyCode, logout, validUsername,
         validCode } from './auth.js';
import { History } from './history.js';
import { NewCallAlert } from './alert.js';
import { Confirm } from './confirm.js';
import { ReconnectBanner } from './reconnect.js';
import { DeskConsole } from './desk_console.js';
import { Replay } from './replay.js';

initI18n();

const ui = {
    status: $('status'),
    agentName: $('agent-name'),
    agentsOnline: $('agents-online'),
    notifyBtn: $('notify-btn'),
    soundNote: $('sound-note'),
    logoutBtn: $('logout-btn'),
    login: $('login'),
    userForm: $('user-form'),
    username: $('username'),
    codeForm: $('code-form'),
    code: $('code'),
    otherUser: $('other-user-btn'),
    console: $('console'),
    queueTitle: $('queue-title'),
    queueCount: $('queue-count'),
    queueList: $('queue-list'),
    queueEmpty: $('queue-empty'),
    acceptNext: $('accept-next'),
    idle: $('idle'),
    lastCall: $('last-call'),
    call: $('call'),
    historyRefresh: $('history-refresh'),
    takeBack: $('take-back-btn'),
};

const DEMO_TOKEN_KEY = 'hotline.agent.token';
// the current call's customer name, for a reload of the tab mid-call
const CALL_KEY = 'hotline.agent.call';
// the display name from the login answer (a reload only learns the sub)
const NAME_KEY = 'hotline.agent.name';

function stored(key, value) {
    try {
        if (value === undefined) {
            return sessionStorage.getItem(key);
        }
        if (value === null) {
            sessionStorage.removeItem(key);
        } else {
            sessionStorage.setItem(key, value);
        }
    } catch (err) {
        // storage disabled: nothing remembered
    }
    return null;
}

let config = null;
let token = null;       // bearer token of this session, if we have one
let sig = null;
let callId = null;
let peerName = '';
let queue = { calls: [], at: Date.now() };
let known = null;       // call ids seen in the queue (null: no snapshot yet)
let welcomed = false;   // this page had a welcome (a later one is a resume)
let me = null;          // this agent's name (its token's sub)

function status(key, vars, kind) {
    setStatus(ui.status, key, vars, kind);
}

const view = new CallView({
    mount: ui.call, role: 'agent', diagnostics: true, status,
    onHangup: () => {
        if (sig) {
            sig.send({ type: 'hangup' });
        }
        status('call.hanging_up');
    },
});

// Hold, Transfer and Ban in the call controls, before Hang up (the panel
// is callview.js's).
const callBan = h('button', { id: 'call-ban-btn', type: 'button',
                              class: 'danger-quiet', i18n: 'a.ban' });
const holdBtn = h('button', { id: 'hold-btn', type: 'button', i18n: 'a.hold',
                              'aria-pressed': 'false' });
const transferBtn = h('button', { id: 'transfer-btn', type: 'button',
                                  i18n: 'a.transfer' });
$('hangup-btn').before(holdBtn, transferBtn, callBan);
holdBtn.addEventListener('click', () => desk.toggleHold());
transferBtn.addEventListener('click', () => desk.askTransfer());
callBan.addEventListener('click', () => {
    if (callId) {
        askBan({ id: callId, name: peerName, inCall: true });
    }
});

const callHistory = new History({
    table: $('history-table'), body: $('history-body'),
    empty: $('history-empty'), status,
});

const alerter = new NewCallAlert();

// presence, notes, hold and transfer, messages (desk_console.js)
const desk = new DeskConsole({
    getSig: () => (sig && sig.state === 'open' ? sig : null),
    status: (key, vars, kind) => status(key, vars, kind),
    endpoints: () => config.endpoints,
    token: () => token,
});

function setHeld(on) {
    desk.held = on;
    holdBtn.setAttribute('aria-pressed', String(on));
    view.setHold(on);
}
const banner = new ReconnectBanner(ui.status);

// --- sign-in

function showLogin(key, kind) {
    show(ui.console, false);
    show(ui.login, true);
    show(ui.logoutBtn, false);
    show(ui.notifyBtn, false);
    show(ui.soundNote, false);
    show(ui.userForm, true);
    show(ui.codeForm, false);
    setPlain(ui.agentName, '');
    setPlain(ui.agentsOnline, '');
    document.body.dataset.screen = 'login';
    status(key || '', {}, kind || '');
    ui.username.focus();
}

function showConsole() {
    show(ui.login, false);
    show(ui.console, true);
    show(ui.logoutBtn, true);
    show(ui.notifyBtn, alerter.tones.supported()
                       || alerter.notificationsSupported());
    alerter.prepare();
    renderNotifyBtn();
    document.body.dataset.screen = 'console';
}

function loginError(r) {
    const s = r.retryAfter || 60;
    if (r.error === 'locked') {
        status('a.locked', { s }, 'error');
    } else if (r.error === 'rate_limited') {
        status('a.rate_limited', { s }, 'error');
    } else if (r.error === 'invalid_code') {
        status('a.invalid_code', {}, 'error');
    } else if (r.error === 'bad_username') {
        status('a.bad_username', {}, 'error');
    } else if (r.error === 'bad_code') {
        status('a.bad_code', {}, 'error');
    } else {
        status('a.login_failed', { code: r.error }, 'error');
    }
}

ui.userForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = ui.username.value.trim().toLowerCase();
    if (!validUsername(user)) {
        ui.username.setAttribute('aria-invalid', 'true');
        status('a.bad_username', {}, 'error');
        ui.username.focus();
        return;
    }
    ui.username.removeAttribute('aria-invalid');
    alerter.unlockSound();
    const r = await requestCode(config.endpoints, user);
    if (!r.ok) {
        loginError(r);
        return;
    }
    show(ui.userForm, false);
    show(ui.codeForm, true);
    ui.code.value = '';
    status('a.code_sent', {}, 'ok');
    ui.code.focus();
});

ui.codeForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = ui.username.value.trim().toLowerCase();
    const code = ui.code.value.replace(/\s+/g, '');
    if (!validCode(code)) {
        ui.code.setAttribute('aria-invalid', 'true');
        status('a.bad_code', {}, 'error');
        ui.code.focus();
        return;
    }
    ui.code.removeAttribute('aria-invalid');
    status('a.logging_in');
    const r = await verifyCode(config.endpoints, user, code);
    if (!r.ok) {
        loginError(r);
        ui.code.select();
        return;
    }
    token = r.body.token || null;
    ui.code.value = '';
    stored(NAME_KEY, r.body.name || r.body.sub || user);
    connect(r.body.name || r.body.sub || user);
});

ui.otherUser.addEventListener('click', () => {
    show(ui.codeForm, false);
    show(ui.userForm, true);
    ui.username.focus();
});

ui.logoutBtn.addEventListener('click', async () => {
    const bearer = token;
    // away at once: no call waits for an agent who signed out
    await desk.setPresence('away');
    stopSession();
    await logout(config.endpoints, bearer);
    showLogin('a.logged_out', 'ok');
});

function stopSession() {
    closeBan();
    endCall();
    if (sig) {
        const s = sig;
        sig = null;
        s.close();
    }
    token = null;
    known = null;
    welcomed = false;
    queue = { calls: [], at: Date.now() };
    stored(DEMO_TOKEN_KEY, null);
    stored(NAME_KEY, null);
}

// --- the session

function connect(displayName) {
    if (displayName) {
        setText(ui.agentName, 'a.hello', { name: displayName });
    }
    const s = new Signaling({ path: config.endpoints.agent, bearer: token,
                             firstTries: 1 });
    sig = s;
    s.on('message', (msg) => {
        if (sig === s) {
            onMessage(msg);
        }
    });
    s.on('state', (state, detail) => {
        if (sig === s) {
            onState(state, detail);
        }
    });
    banner.follow(s);
    s.connect();
}

function onState(state, detail) {
    if (state === 'connecting') {
        status('conn.connecting');
    } else if (state === 'reconnecting') {
        if (ui.status.dataset.i18n !== 'conn.reconnecting') {
            status('conn.reconnecting', {}, 'warn');
        }
        renderQueue();
    } else if (state === 'open') {
        showConsole();
        status('a.online', {}, 'ok');
        renderQueue();
        loadHistory();
    } else if (state === 'closed') {
        const code = detail ? detail.code : 0;
        if (code === 4004) {
            // The old session is gone: start a fresh one.
            endCall();
            sig.connect();
            return;
        }
        renderQueue();
        if (code === 4000) {
            // another tab took the session: this one lets the microphone
            // go, and may take it back
            endCall(true);
            status('a.replaced', {}, 'error');
            show(ui.takeBack, true);
            ui.takeBack.focus();
            return;
        }
        const hadToken = token !== null;
        stopSession();
        if (code === 4001) {
            showLogin('a.session_over', 'warn');
        } else if (!detail || !detail.opened) {
            // no valid session (cookie or token): sign in
            showLogin(hadToken ? 'a.cannot_connect' : null,
                      hadToken ? 'error' : '');
        } else {
            showLogin('c.disconnected', 'error');
        }
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
        me = typeof msg.agent === 'string' ? msg.agent : me;
        show(ui.takeBack, false);
        if (!ui.agentName.textContent && msg.agent) {
            setText(ui.agentName, 'a.hello',
                    { name: stored(NAME_KEY) || msg.agent });
        }
        // (a fresh page taking its session over is told `resumed` too)
        if (msg.resumed && welcomed) {
            status(msg.gap ? 'conn.resumed_gap' : 'conn.resumed', {}, 'ok');
        }
        welcomed = true;
        if (msg.call_id && msg.call_id !== callId) {
            // Back in a call this page does not know (it reloaded).
            peerName = rememberedName(msg.call_id) || t('call.customer');
            beginCall(msg.call_id, peerName, null);
        }
        break;

    case 'queue':
        onQueue(msg);
        desk.onQueue(msg);
        break;

    case 'desk':
        replay.mark(msg);
        desk.onDesk(msg);
        break;

    case 'presence':
        desk.onPresence(msg);
        renderQueue();
        break;

    case 'hold':
        setHeld(msg.state === 'on');
        break;

    case 'transcript':
        if (callId && msg.call_id === callId) {
            view.chat.history(Array.isArray(msg.lines) ? msg.lines : [],
                              'agent');
        }
        break;

    case 'transfer':
        if (msg.state === 'out') {
            const to = typeof msg.to === 'string' && msg.to ? msg.to : null;
            status(to ? 'a.transfer.out' : 'a.transfer.out.any',
                   { name: to }, 'ok');
            const hadFocus = ui.call.contains(document.activeElement);
            endCall();
            if (hadFocus) {
                ui.queueTitle.focus();
            }
        }
        break;

    case 'accepted':
        peerName = (msg.peer && msg.peer.name) || t('call.customer');
        beginCall(msg.call_id, peerName, msg.recording || null);
        status('call.starting', { name: peerName }, 'ok');
        // fresh ICE servers for the next call (short-lived credentials)
        loadConfig().then((c) => {
            config.iceServers = c.iceServers;
        });
        break;

    case 'ended': {
        const [key, vars] = endedText(msg, 'agent');
        setText(ui.lastCall, 'a.last_call',
                { name: peerName, text: { $k: key, ...vars } });
        ui.lastCall.dataset.duration = String(msg.duration || 0);
        if (msg.call_id === callId) {
            // the panel goes: focus in it moves to the queue
            const hadFocus = ui.call.contains(document.activeElement);
            endCall();
            if (hadFocus) {
                ui.queueTitle.focus();
            }
        }
        status(key, vars, 'ok');
        loadHistory();
        break;
    }

    case 'error':
        if (!msg.id) {
            status('error', { code: msg.code }, 'error');
        }
        break;

    default:
        if (callId) {
            view.handle(msg);
        }
        break;
    }
}

function onQueue(msg) {
    const calls = Array.isArray(msg.calls) ? msg.calls : [];
    queue = { calls, at: Date.now() };
    if (msg.agents) {
        setText(ui.agentsOnline, 'a.agents.desk',
                { available: msg.agents.available ?? 0,
                  busy: msg.agents.busy ?? 0, away: msg.agents.away ?? 0 });
    }
    const ids = new Set(calls.map((c) => c.call_id));
    if (known !== null) {
        const fresh = calls.filter((c) => !known.has(c.call_id)
                                          || forMe(c) && !known.has(
                                              c.call_id + '>me'));
        // only an agent who takes calls is called for new ones; a call
        // transferred to this agent is its own in any case
        for (const c of fresh) {
            if (forMe(c)) {
                alerter.notify(t('a.notify.title'),
                               t('a.for_you', { from: c.transfer.from,
                                                name: c.name }));
                status('a.for_you', { from: c.transfer.from, name: c.name },
                       'ok');
            } else if (desk.takesCalls) {
                alerter.notify(t('a.notify.title'),
                               t('a.notify.body', { name: c.name }));
                status('a.new_call', { name: c.name }, 'ok');
            }
        }
    }
    for (const c of calls) {
        if (forMe(c)) {
            ids.add(c.call_id + '>me');
        }
    }
    known = ids;
    // the call to ban left the queue meanwhile (cancelled, or accepted)
    if (banTarget && !banTarget.inCall && !ids.has(banTarget.id)) {
        closeBan();
        status('a.err.not_found', {}, 'warn');
    }
    renderQueue();
}

// Is this waiting call transferred to this agent (and still held)?
function forMe(c) {
    return !!(c.transfer && c.transfer.to && me
              && c.transfer.to === me && Number(c.transfer.until) > Date.now());
}

// The queue, oldest first, with its waiting times counted on locally.
function renderQueue() {
    const calls = queue.calls;
    const busy = callId !== null;
    const online = sig !== null && sig.state === 'open';

    const focus = queueFocus();
    ui.queueCount.textContent = String(calls.length);
    // a tab in the background shows who is waiting
    setTitle(calls.length ? 'a.title.queue' : 'a.title', { n: calls.length });
    show(ui.queueEmpty, calls.length === 0);
    ui.acceptNext.disabled = busy || !online || calls.length === 0;

    const rows = calls.map((c) => {
        const name = h('span', { class: 'name' });
        name.textContent = c.name;
        const wait = h('span', { class: 'wait' });
        // a transferred call: from whom, why, for whom
        let moved = null;
        if (c.transfer && typeof c.transfer === 'object') {
            moved = h('span', { class: 'transfer' });
            setText(moved, c.transfer.reason ? 'a.q.transfer'
                                             : 'a.q.transfer.plain',
                    { from: String(c.transfer.from ?? ''),
                      reason: String(c.transfer.reason ?? '') });
        }
        const heldFor = c.transfer && c.transfer.to
                        && Number(c.transfer.until) > Date.now()
                        ? String(c.transfer.to) : null;
        const accept = h('button', { type: 'button', class: 'primary',
                                     i18n: 'a.accept', 'data-act': 'accept' });
        setAttr(accept, 'aria-label', 'a.accept.label', { name: c.name });
        accept.disabled = busy || !online;
        accept.addEventListener('click', () => act('accept', c.call_id, c.name));
        const reject = h('button', { type: 'button', i18n: 'a.reject',
                                     'data-act': 'reject' });
        setAttr(reject, 'aria-label', 'a.reject.label', { name: c.name });
        reject.disabled = !online;
        reject.addEventListener('click', () => act('reject', c.call_id, c.name));
        const ban = h('button', { type: 'button', class: 'danger-quiet',
                                  i18n: 'a.ban', 'data-act': 'ban' });
        setAttr(ban, 'aria-label', 'a.ban.label', { name: c.name });
        ban.disabled = !online;
        ban.addEventListener('click', () => askBan({
            id: c.call_id, name: c.name, inCall: false,
            place: queueFocus(ban) }));
        if (heldFor && !forMe(c)) {
            // held for another agent until it takes it or the time passes
            accept.disabled = true;
            const other = h('span', { class: 'transfer' });
            setText(other, 'a.q.for_other', { name: heldFor });
            moved = moved ? h('span', {}, moved, other) : other;
        }
        if (forMe(c)) {
            setText(reject, 'a.decline');
            setAttr(reject, 'aria-label', 'a.decline.label', { name: c.name });
        }
        const li = h('li', { class: 'queue-item', 'data-call-id': c.call_id,
                             'data-for-me': String(forMe(c)) },
                     h('div', { class: 'caller' }, name, wait, moved || ''),
                     h('div', { class: 'queue-actions' }, accept, reject, ban));
        return li;
    });
    ui.queueList.replaceChildren(...rows);
    restoreQueueFocus(focus);
    tickWaiting();
}

// Where the focus is in the queue list ({id, act, index}; null: elsewhere),
// so that it survives the list being rebuilt.
function queueFocus(el = document.activeElement) {
    const li = el && ui.queueList.contains(el) ? el.closest('.queue-item')
                                               : null;
    if (!li) {
        return null;
    }
    return { id: li.dataset.callId, act: el.dataset.act,
             index: [...ui.queueList.children].indexOf(li) };
}

// The same button of the same call; if that call is gone, the first
// usable button of the call now in its place; else the queue's heading.
function restoreQueueFocus(f) {
    if (!f || ui.console.hidden) {
        return;
    }
    const items = [...ui.queueList.children];
    let btn = null;
    const same = items.find((li) => li.dataset.callId === f.id);
    if (same) {
        btn = same.querySelector('[data-act="' + f.act + '"]:not(:disabled)');
    }
    const li = same || items[Math.min(f.index, items.length - 1)];
    if (!btn && li) {
        btn = li.querySelector('button:not(:disabled)');
    }
    (btn || ui.queueTitle).focus();
}

function tickWaiting() {
    const elapsed = (Date.now() - queue.at) / 1000;
    for (const li of ui.queueList.children) {
        const c = queue.calls.find((x) => x.call_id === li.dataset.callId);
        if (c) {
            setText(li.querySelector('.wait'), 'a.waiting',
                    { t: clock(Number(c.waiting) + elapsed) });
        }
    }
}

const ACT_ERRORS = {
    taken: 'a.err.taken',
    not_found: 'a.err.not_found',
    bad_state: 'a.err.bad_state',
    unavailable: 'a.err.unavailable',
};

// ban: `not_found` also means our own call just ended, `taken` that the
// call is with another agent; `bad_type` is a server without bans.
const BAN_ERRORS = {
    ...ACT_ERRORS,
    taken: 'a.err.ban_taken',
    not_found: 'a.err.ban_gone',
    bad_type: 'a.err.ban_unsupported',
};

const ACT_DONE = { reject: 'a.rejected', ban: 'a.banned' };

function act(type, id, name) {
    if (!sig) {
        return;
    }
    const msg = id ? { type, call_id: id } : { type };
    const errors = type === 'ban' ? BAN_ERRORS : ACT_ERRORS;
    sig.request(msg).then(
        () => {
            if (ACT_DONE[type]) {
                status(ACT_DONE[type], { name }, 'ok');
            }
        },
        (err) => status(errors[err.code] || 'a.err.other',
                        { code: err.code }, 'error'));
}

// --- ban: asked first (confirm.js: Cancel has the focus, Escape cancels),
// then sent like reject.  target: { id, name, inCall, place }.

const banQuestion = new Confirm('ban', { title: 'a.ban.title',
                                         keep: 'a.ban.cancel',
                                         go: 'a.ban.confirm' });
let banTarget = null;   // while the question is open

async function askBan(target) {
    if (!sig || banQuestion.open) {
        return;
    }
    banTarget = target;
    // the focus goes back to the button, or where it was when the list
    // was rebuilt meanwhile, or to the queue when the call panel went
    const yes = await banQuestion.ask({
        text: 'a.ban.text', vars: { name: target.name },
        fallback: () => (target.inCall ? ui.queueTitle.focus()
                                        : restoreQueueFocus(target.place)),
    });
    banTarget = null;
    if (yes) {
        act('ban', target.id, target.name);
    }
}

function closeBan() {
    banQuestion.dismiss();
}

function rememberedName(id) {
    try {
        const c = JSON.parse(localStorage.getItem(CALL_KEY) || 'null');
        return c && c.id === id && typeof c.name === 'string' ? c.name : null;
    } catch (err) {
        return null;
    }
}

function beginCall(id, name, recording) {
    callId = id;
    try {
        // (the console's other tabs too: one that takes the session over)
        localStorage.setItem(CALL_KEY, JSON.stringify({ id, name }));
    } catch (err) {
        // not remembered: a reload shows "Customer"
    }
    show(ui.idle, false);
    show(ui.call, true);
    setAttr(callBan, 'aria-label', 'a.ban.label', { name });
    holdBtn.setAttribute('aria-pressed', 'false');
    desk.callBegins(name);
    view.begin({ sig, peerName: name, recording,
                 iceServers: config.iceServers });
    renderQueue();
    document.body.dataset.screen = 'call';
    view.focus();
}

// replaced: another tab has the call now (and its name stored)
function endCall(replaced = false) {
    view.end();
    holdBtn.setAttribute('aria-pressed', 'false');
    desk.callEnds();
    callId = null;
    try {
        if (!replaced) {
            localStorage.removeItem(CALL_KEY);
        }
    } catch (err) {
        // nothing stored
    }
    show(ui.call, false);
    show(ui.idle, true);
    renderQueue();
    if (document.body.dataset.screen === 'call') {
        document.body.dataset.screen = 'console';
    }
    // no ban of a call that is over (after the panel went: focus)
    if (banTarget && banTarget.inCall) {
        closeBan();
    }
}

function loadHistory() {
    callHistory.load(config.endpoints.history, token);
}

ui.acceptNext.addEventListener('click', () => act('accept', null, ''));
ui.takeBack.addEventListener('click', () => {
    show(ui.takeBack, false);
    connect(null);
});
ui.historyRefresh.addEventListener('click', loadHistory);

// The alerts button says what a new call does now: silent until the
// browser allows sound (a click or key press after every load: the
// button asks for it, and a note says why), then the notifications.
function renderNotifyBtn() {
    const muted = alerter.soundBlocked();
    const perm = alerter.permission();
    const on = !muted && perm === 'granted';
    ui.notifyBtn.setAttribute('aria-pressed', String(on));
    setText(ui.notifyBtn, muted ? 'a.sound.enable'
                        : on ? 'a.notify.on'
                        : perm === 'denied' ? 'a.notify.sound_only'
                        : 'a.notify.enable');
    show(ui.soundNote, muted && !ui.console.hidden);
}

alerter.onChange(renderNotifyBtn);

ui.notifyBtn.addEventListener('click', async () => {
    await alerter.enable();
    renderNotifyBtn();
});

setInterval(tickWaiting, 1000);

// --- start: the demo's fragment token, or the session cookie, or sign in

function demoToken() {
    const params = new URLSearchParams(location.hash.slice(1));
    const fromHash = params.get('token');
    try {
        if (fromHash) {
            sessionStorage.setItem(DEMO_TOKEN_KEY, fromHash);
            history.replaceState(null, '', location.pathname + location.search);
            return fromHash;
        }
        return sessionStorage.getItem(DEMO_TOKEN_KEY);
    } catch (err) {
        return fromHash;
    }
}

(async () => {
    config = await loadConfig();
    token = demoToken();
    document.body.dataset.screen = 'starting';
    setTitle('a.title');
    status('conn.connecting');
    // With a token, or with only the cookie: a failed handshake (401)
    // closes before opening, and the sign-in form appears.
    connect(null);
})();
