// Small DOM helpers shared by the customer page and the agent console.
// User-supplied text is only ever set with textContent.

export function $(id) {
    const el = document.getElementById(id);
    if (!el) {
        throw new Error('missing element #' + id);
    }
    return el;
}

export function show(el, visible = true) {
    el.hidden = !visible;
}

// The status line: kind is '', 'ok', 'warn' or 'error'.
export function setStatus(el, text, kind = '') {
    el.textContent = text;
    el.dataset.kind = kind;
}

// 75 -> "1:15", 3725 -> "1:02:05"
export function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + ss
                 : m + ':' + ss;
}

// An estimated wait in words.
export function eta(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) {
        return 'unknown';
    }
    if (seconds < 60) {
        return 'less than a minute';
    }
    const min = Math.round(seconds / 60);
    return 'about ' + min + (min === 1 ? ' minute' : ' minutes');
}

const REASONS = {
    rejected: 'No agent could take the call',
    cancelled: 'The call was cancelled',
    gone: 'The connection was lost',
    shutdown: 'The service is restarting',
};

// "The agent hung up after 2:05." from an `ended` message.
export function endedText(msg, selfRole) {
    let text;
    if (msg.reason === 'hangup') {
        text = !msg.by ? 'The call was ended'
             : msg.by === selfRole ? 'You hung up'
             : 'The ' + msg.by + ' hung up';
    } else {
        text = REASONS[msg.reason] || 'The call ended (' + msg.reason + ')';
    }
    const d = Number(msg.duration) > 0 ? ' after ' + clock(msg.duration) : '';
    return text + d + '.';
}

// Byte length of a string in UTF-8 (the protocol's limits are in bytes).
export function utf8Length(text) {
    return new TextEncoder().encode(text).length;
}

// A one-second ticker; returns a function that stops it.
export function every(ms, fn) {
    fn();
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
}

// The line under the peer's name for a `media` message ('' when unmuted),
// or null when the message says nothing about audio.
export function peerMediaText(msg, name) {
    if (msg.audio === false) {
        return name + ' muted the microphone';
    }
    return msg.audio === true ? '' : null;
}

// The status for a `peer` message: [text, kind].
export function peerStateStatus(msg, name) {
    return msg.state === 'back'
        ? [name + ' is back.', 'ok']
        : [name + ' lost the connection, waiting for them…', 'warn'];
}

// A Mute / Unmute toggle button; mute(bool) does the work.
export function bindMute(button, mute) {
    reset(button);
    button.addEventListener('click', () => {
        const muted = button.getAttribute('aria-pressed') !== 'true';
        if (mute(muted)) {
            button.setAttribute('aria-pressed', String(muted));
            button.textContent = muted ? 'Unmute' : 'Mute';
        }
    });
}

export function resetMute(button) {
    reset(button);
}

function reset(button) {
    button.setAttribute('aria-pressed', 'false');
    button.textContent = 'Mute';
}
