// The agent console: the live queue with Accept / Reject / Accept next,
// then the call (WebRTC audio, the agent makes the offer) with chat.
//
// The agent's JWT comes in the URL fragment (#token=...), so it never
// reaches a server log.  It is kept in sessionStorage for reloads of this
// tab and removed from the address bar.

import { Signaling } from './signaling.js';
import { PeerCall } from './rtc.js';
import { Chat } from './chat.js';
import {
    $, show, setStatus, clock, endedText, every,
    peerMediaText, peerStateStatus, bindMute, resetMute,
} from './ui.js';

const ui = {
    status: $('status'),
    agentName: $('agent-name'),
    agentsOnline: $('agents-online'),
    noToken: $('no-token'),
    console: $('console'),
    queueCount: $('queue-count'),
    queueList: $('queue-list'),
    queueEmpty: $('queue-empty'),
    acceptNext: $('accept-next'),
    idle: $('idle'),
    lastCall: $('last-call'),
    call: $('call'),
    peerName: $('peer-name'),
    timer: $('call-timer'),
    peerMedia: $('peer-media'),
    muteBtn: $('mute-btn'),
    hangupBtn: $('hangup-btn'),
    audio: $('remote-audio'),
};

const TOKEN_KEY = 'hotline.agent.token';

let sig = null;
let rtc = null;
let chat = null;
let callId = null;
let peer = { name: 'Customer' };
let stopTimer = null;
let queue = { calls: [], at: Date.now() };

function status(text, kind) {
    setStatus(ui.status, text, kind);
}

function readToken() {
    const params = new URLSearchParams(location.hash.slice(1));
    const fromHash = params.get('token');
    if (fromHash) {
        sessionStorage.setItem(TOKEN_KEY, fromHash);
        history.replaceState(null, '', location.pathname + location.search);
        return fromHash;
    }
    return sessionStorage.getItem(TOKEN_KEY);
}

function connect(token) {
    sig = new Signaling({ path: '/ws/agent', bearer: token });
    chat = new Chat({
        log: $('chat-log'), form: $('chat-form'), input: $('chat-input'),
        signaling: sig, peerLabel: () => peer.name,
    });
    sig.on('message', onMessage);
    sig.on('state', onState);
    sig.connect();
}

function onState(state, detail) {
    if (state === 'connecting') {
        status('Connecting…');
    } else if (state === 'reconnecting') {
        status('Connection lost, reconnecting…', 'warn');
        renderQueue();
    } else if (state === 'open') {
        status('Online.', 'ok');
        renderQueue();
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
            status('This console was opened in another tab or window.',
                   'error');
        } else if (!detail || !detail.opened) {
            status('Cannot connect. The token may be invalid or expired: '
                   + 'run "make run" again for a new agent URL.', 'error');
        } else {
            status('Disconnected (' + code + '). Reload the page.', 'error');
        }
    }
}

function onMessage(msg) {
    switch (msg.type) {
    case 'welcome':
        ui.agentName.textContent = msg.agent || '';
        if (msg.resumed) {
            status(msg.gap ? 'Reconnected (some messages were lost).'
                           : 'Reconnected.', 'ok');
        }
        if (msg.call_id && msg.call_id !== callId) {
            // Back in a call this page does not know (the page reloaded):
            // set the audio up again.
            beginCall(msg.call_id, peer.name);
        }
        break;

    case 'queue':
        queue = { calls: Array.isArray(msg.calls) ? msg.calls : [],
                  at: Date.now() };
        if (msg.agents) {
            ui.agentsOnline.textContent = msg.agents.online + ' online, '
                                          + msg.agents.busy + ' busy';
        }
        renderQueue();
        break;

    case 'accepted':
        peer = { name: (msg.peer && msg.peer.name) || 'Customer' };
        beginCall(msg.call_id, peer.name);
        status('In a call with ' + peer.name + '. Starting audio…', 'ok');
        break;

    case 'offer':
    case 'answer':
    case 'ice':
        if (rtc) {
            rtc.handle(msg);
        }
        break;

    case 'chat':
        chat.receive(msg);
        break;

    case 'media': {
        const text = peerMediaText(msg, peer.name);
        if (text !== null) {
            ui.peerMedia.textContent = text;
        }
        break;
    }

    case 'peer':
        status(...peerStateStatus(msg, peer.name));
        break;

    case 'ended':
        ui.lastCall.textContent = 'Last call with ' + peer.name + ': '
                                  + endedText(msg, 'agent');
        if (msg.call_id === callId) {
            endCall();
        }
        status('Online. ' + endedText(msg, 'agent'), 'ok');
        break;

    case 'error':
        if (!msg.id) {
            status('Error: ' + msg.code + (msg.message ? ' (' + msg.message
                                                         + ')' : ''),
                   'error');
        }
        break;

    default:
        break;
    }
}

// The queue, oldest first, with its waiting times counted on locally.
function renderQueue() {
    const calls = queue.calls;
    const busy = callId !== null;
    const online = sig && sig.state === 'open';
    const elapsed = (Date.now() - queue.at) / 1000;

    ui.queueCount.textContent = String(calls.length);
    show(ui.queueEmpty, calls.length === 0);
    ui.acceptNext.disabled = busy || !online || calls.length === 0;

    const rows = calls.map((c) => {
        const li = document.createElement('li');
        li.className = 'queue-item';
        li.dataset.callId = c.call_id;

        const name = document.createElement('span');
        name.className = 'name';
        name.textContent = c.name;

        const wait = document.createElement('span');
        wait.className = 'wait';
        wait.textContent = 'waiting ' + clock(Number(c.waiting) + elapsed);

        const accept = document.createElement('button');
        accept.className = 'primary';
        accept.textContent = 'Accept';
        accept.disabled = busy || !online;
        accept.addEventListener('click', () => act('accept', c.call_id, c.name));

        const reject = document.createElement('button');
        reject.textContent = 'Reject';
        reject.disabled = !online;
        reject.addEventListener('click', () => act('reject', c.call_id, c.name));

        const who = document.createElement('div');
        who.className = 'caller';
        who.append(name, wait);

        li.append(who, accept, reject);
        return li;
    });
    ui.queueList.replaceChildren(...rows);
}

const ACT_ERRORS = {
    taken: 'Another agent took that call.',
    not_found: 'That call is no longer waiting.',
    bad_state: 'Not possible now.',
    unavailable: 'The service is temporarily unavailable.',
};

function act(type, id, name) {
    const msg = id ? { type, call_id: id } : { type };
    sig.request(msg).then(
        () => {
            if (type === 'reject') {
                status('Rejected the call of ' + name + '.');
            }
        },
        (err) => status(ACT_ERRORS[err.code] || 'Failed: ' + err.code,
                        'error'));
}

function beginCall(id, name) {
    endCall();
    callId = id;
    ui.peerName.textContent = name;
    ui.peerMedia.textContent = '';
    chat.clear();
    chat.setEnabled(true);
    show(ui.idle, false);
    show(ui.call, true);
    renderQueue();

    rtc = new PeerCall({
        role: 'agent', signaling: sig, audio: ui.audio,
        onState: (text, kind) => status(text, kind),
    });
    rtc.start();
    const since = Date.now();
    stopTimer = every(1000, () => {
        ui.timer.textContent = clock((Date.now() - since) / 1000);
    });
    resetMute(ui.muteBtn);
}

function endCall() {
    if (rtc) {
        rtc.close();
        rtc = null;
    }
    if (stopTimer) {
        stopTimer();
        stopTimer = null;
    }
    callId = null;
    if (chat) {
        chat.setEnabled(false);
    }
    show(ui.call, false);
    show(ui.idle, true);
    renderQueue();
}

ui.acceptNext.addEventListener('click', () => act('accept', null, ''));

ui.hangupBtn.addEventListener('click', () => {
    sig.send({ type: 'hangup' });
    status('Hanging up…');
});

bindMute(ui.muteBtn, (muted) => {
    if (!rtc) {
        return false;
    }
    rtc.setMuted(muted);
    return true;
});

const token = readToken();
if (!token) {
    show(ui.noToken, true);
    show(ui.console, false);
    status('No agent token.', 'error');
} else {
    show(ui.noToken, false);
    show(ui.console, true);
    connect(token);
    // Waiting times count on between queue updates.
    setInterval(() => {
        for (const li of ui.queueList.children) {
            const c = queue.calls.find((x) => x.call_id === li.dataset.callId);
            if (c) {
                li.querySelector('.wait').textContent = 'waiting '
                    + clock(Number(c.waiting) + (Date.now() - queue.at) / 1000);
            }
        }
    }, 1000);
}
