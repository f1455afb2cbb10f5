// The customer page: join the queue with a name, see the position and the
// estimated wait, then talk to the agent (WebRTC audio) and chat.

import { Signaling } from './signaling.js';
import { PeerCall } from './rtc.js';
import { Chat } from './chat.js';
import {
    $, show, setStatus, clock, eta, endedText, utf8Length, every,
    peerMediaText, peerStateStatus, bindMute, resetMute,
} from './ui.js';

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
    call: $('call'),
    peerName: $('peer-name'),
    timer: $('call-timer'),
    peerMedia: $('peer-media'),
    muteBtn: $('mute-btn'),
    hangupBtn: $('hangup-btn'),
    audio: $('remote-audio'),
    ended: $('ended'),
    endedText: $('ended-text'),
    againBtn: $('again-btn'),
};

let sig = null;
let rtc = null;
let chat = null;
let peer = { name: 'Agent' };
let stopTimer = null;
let finished = false;
let welcomed = false;

function view(name) {
    show(ui.join, name === 'join');
    show(ui.waiting, name === 'waiting');
    show(ui.call, name === 'call');
    show(ui.ended, name === 'ended');
}

function status(text, kind) {
    setStatus(ui.status, text, kind);
}

// Display names: 1-64 bytes, no control characters, not only spaces.
function validName(name) {
    return name.trim() !== '' && utf8Length(name) <= 64
           && !/[\u0000-\u001f\u007f]/.test(name);
}

ui.joinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = ui.name.value.trim();
    if (!validName(name)) {
        status('Please enter your name (at most 64 bytes).', 'error');
        ui.name.focus();
        return;
    }
    startCall(name);
});

function startCall(name) {
    finished = false;
    welcomed = false;
    ui.callBtn.disabled = true;
    ui.position.textContent = '…';
    ui.eta.textContent = '…';

    sig = new Signaling({
        path: '/ws/customer',
        start: { type: 'join', name },
    });
    chat = new Chat({
        log: $('chat-log'), form: $('chat-form'), input: $('chat-input'),
        signaling: sig, peerLabel: () => peer.name,
    });
    chat.clear();
    sig.on('message', onMessage);
    sig.on('state', onState);
    sig.connect();
}

function onState(state, detail) {
    if (state === 'connecting') {
        status('Connecting…');
    } else if (state === 'reconnecting') {
        status('Connection lost, reconnecting…', 'warn');
    } else if (state === 'closed' && !finished) {
        const code = detail && detail.code;
        status(code === 4004 ? 'Your session expired. Please call again.'
                             : 'Disconnected (' + code + '). Please call again.',
               'error');
        finish();
    }
}

function onMessage(msg) {
    switch (msg.type) {
    case 'welcome':
        welcomed = true;
        if (msg.resumed) {
            status(msg.gap ? 'Reconnected (some messages were lost).'
                           : 'Reconnected.', 'ok');
        } else {
            view('waiting');
            status('You are in the queue.');
        }
        break;

    case 'position':
        ui.position.textContent = msg.position === 1
            ? 'You are next'
            : 'Position ' + msg.position + ' in the queue';
        ui.eta.textContent = eta(msg.eta);
        break;

    case 'accepted':
        peer = { name: (msg.peer && msg.peer.name) || 'Agent' };
        ui.peerName.textContent = peer.name;
        ui.peerMedia.textContent = '';
        view('call');
        status('Connected to ' + peer.name + '. Starting audio…', 'ok');
        beginCall();
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
        ui.endedText.textContent = endedText(msg, 'customer');
        status('The call is over.');
        finish();
        break;

    case 'error':
        if (!welcomed) {
            // The join was refused: the session never started.
            ui.endedText.textContent = msg.code === 'queue_full'
                ? 'All lines are busy. Please try again later.'
                : 'The call could not be placed (' + msg.code + ').';
            status('The call could not be placed.', 'error');
            finish();
        } else if (!msg.id) {
            status('Error: ' + msg.code, 'error');
        }
        break;

    default:
        break;
    }
}

function beginCall() {
    rtc = new PeerCall({
        role: 'customer', signaling: sig, audio: ui.audio,
        onState: (text, kind) => status(text, kind),
    });
    rtc.start();
    const since = Date.now();
    stopTimer = every(1000, () => {
        ui.timer.textContent = clock((Date.now() - since) / 1000);
    });
    resetMute(ui.muteBtn);
    chat.setEnabled(true);
}

function finish() {
    if (finished) {
        return;
    }
    finished = true;
    if (rtc) {
        rtc.close();
        rtc = null;
    }
    if (stopTimer) {
        stopTimer();
        stopTimer = null;
    }
    if (sig) {
        sig.close();
    }
    chat.setEnabled(false);
    ui.callBtn.disabled = false;
    if (!ui.endedText.textContent) {
        ui.endedText.textContent = 'The call was not completed.';
    }
    view('ended');
}

ui.cancelBtn.addEventListener('click', () => {
    sig.send({ type: 'cancel' });
    status('Cancelling…');
});

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

ui.againBtn.addEventListener('click', () => {
    ui.endedText.textContent = '';
    view('join');
    status('Enter your name and press Call.');
    ui.name.focus();
});

// Leaving the page ends the call rather than leaving it to time out.
window.addEventListener('pagehide', () => {
    if (sig && !finished) {
        sig.send({ type: 'hangup' });
    }
});

view('join');
ui.name.focus();
