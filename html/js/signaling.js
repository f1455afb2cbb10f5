// The hotline signaling client (protocol v1, docs/protocol.md): one
// WebSocket carrying JSON text messages, with message ids and acks, the
// highest received `seq`, and resume after a dropped connection.
//
//   const sig = new Signaling({ path: '/ws/customer', start: { type: 'join', name } });
//   sig.on('message', (msg) => ...);    // every server message, once
//   sig.on('state', (state, detail) => ...);
//   sig.connect();
//   await sig.request({ type: 'chat', text });   // resolves on ack
//
// States: 'connecting', 'open', 'reconnecting', 'closed'.  After a drop the
// client reconnects with backoff and sends `resume` with its resume token
// and the highest `seq` it has seen; replayed duplicates are dropped here.

const PROTOCOL = 'hotline.v1';

// Close codes after which reconnecting would not help.
const FINAL_CODES = new Set([
    1000, // normal: the call ended or we closed
    1002, // protocol error
    1003, // binary message
    1007, // bad UTF-8
    1009, // message too big
    4000, // replaced by another connection of the same session
    4004, // resume failed: the token is unknown or expired
    4005, // banned: an agent removed this customer (resuming would fail)
]);

// The waits before each reconnect attempt: short at first (most drops are
// a blip: a Wi-Fi hand-over, a proxy reload), then every few seconds
// until the server's resume window (hotline_resume_timeout, 30 s by
// default) has surely passed; each is jittered by +-20 %.  A browser
// that says it is back online retries at once.
const RETRY_MS = [250, 500, 1000, 1000, 2000, 2000, 3000, 3000, 4000, 5000,
                  5000, 5000, 5000];
const MAX_ATTEMPTS = RETRY_MS.length;
const ACK_TIMEOUT_MS = 15000;

export class SignalingError extends Error {
    constructor(code, message, field) {
        super(message || code);
        this.code = code;
        this.field = field;
    }
}

export class Signaling {
    // path: '/ws/customer' or '/ws/agent'
    // start: the first message of a new session (customer `join`), or null
    // bearer: an agent token, offered as the `bearer.<token>` subprotocol
    // firstTries: connection attempts before giving up when the very first
    // connection cannot be opened (a refused handshake looks the same)
    // resume: a resume token kept from before (a reloaded page): the
    // session is taken back instead of started
    constructor({ path, start = null, bearer = null, firstTries = 3,
                  resume = null }) {
        this.firstTries = firstTries;
        const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
        this.url = scheme + '//' + location.host + path;
        this.protocols = bearer ? [PROTOCOL, 'bearer.' + bearer] : [PROTOCOL];
        // an agent's session is its token's: the handshake itself takes it
        // back, replaying once after ?last_seq (no `resume` needed)
        this.agent = bearer !== null;
        this.start = start;
        this.resumeToken = resume;
        this.lastSeq = 0;
        this.ws = null;
        this.state = 'idle';
        this.attempts = 0;
        this.everOpened = false;
        this.stopped = false;
        this.nextId = 1;
        this.pending = new Map();   // id -> { resolve, reject, timer }
        this.outbox = [];           // messages sent while not connected
        this.handlers = { message: [], state: [] };
        this.timer = null;
        this.onOnline = () => this.retryNow();
        window.addEventListener('online', this.onOnline);
    }

    on(event, fn) {
        this.handlers[event].push(fn);
    }

    emit(event, ...args) {
        for (const fn of this.handlers[event]) {
            try {
                fn(...args);
            } catch (err) {
                console.error(err);
            }
        }
    }

    setState(state, detail) {
        this.state = state;
        this.emit('state', state, detail);
    }

    connect() {
        this.stopped = false;
        this.open();
    }

    open() {
        clearTimeout(this.timer);
        this.setState(this.everOpened ? 'reconnecting' : 'connecting');

        let ws;
        const url = this.agent && this.resumeToken
            ? this.url + '?last_seq=' + this.lastSeq : this.url;
        try {
            ws = new WebSocket(url, this.protocols);
        } catch (err) {
            this.setState('closed', { code: 0, reason: String(err) });
            return;
        }
        this.ws = ws;
        let opened = false;

        ws.onopen = () => {
            opened = true;
            this.attempts = 0;
            if (this.resumeToken && !this.agent) {
                this.sendRaw({
                    type: 'resume',
                    token: this.resumeToken,
                    last_seq: this.lastSeq,
                });
            } else if (this.start && !this.everOpened) {
                this.sendRaw(this.start);
            }
            this.everOpened = true;
            this.setState('open');
            this.flush();
        };

        ws.onmessage = (ev) => {
            let msg;
            try {
                msg = JSON.parse(ev.data);
            } catch (err) {
                console.warn('signaling: not JSON', ev.data);
                return;
            }
            if (msg === null || typeof msg !== 'object') {
                return;
            }
            this.receive(msg);
        };

        ws.onclose = (ev) => {
            if (this.ws !== ws) {
                return;
            }
            this.ws = null;
            this.failPending('disconnected');
            this.dropped(ev.code, ev.reason, opened);
        };

        ws.onerror = () => {
            // onclose follows with the details.
        };
    }

    receive(msg) {
        if (Number.isInteger(msg.seq)) {
            if (msg.seq <= this.lastSeq) {
                return;             // replayed twice: seen already
            }
            this.lastSeq = msg.seq;
        }

        if (msg.type === 'welcome' && typeof msg.resume === 'string') {
            this.resumeToken = msg.resume;
        }

        if (msg.type === 'gap') {
            // the server lost messages from..to (its seq is `to`, kept
            // above): say so, and go on with what follows
            console.warn('signaling: messages ' + msg.from + '-' + msg.to
                         + ' were lost');
        }

        if (msg.type === 'ack' && this.pending.has(msg.id)) {
            this.settle(msg.id, null);
        } else if (msg.type === 'error' && msg.id && this.pending.has(msg.id)) {
            this.settle(msg.id,
                        new SignalingError(msg.code, msg.message, msg.field));
        }

        this.emit('message', msg);
    }

    dropped(code, reason, opened) {
        if (this.stopped) {
            this.setState('closed', { code, reason });
            return;
        }
        if (code === 4004 || code === 4005) {
            this.resumeToken = null;    // the session is gone for good
            this.lastSeq = 0;
        }
        const final = FINAL_CODES.has(code)
                      || (!this.resumeToken && this.start)
                      || (!opened && !this.everOpened
                          && this.attempts + 1 >= this.firstTries)
                      || this.attempts >= MAX_ATTEMPTS;
        if (final) {
            this.setState('closed', { code, reason, opened });
            return;
        }

        const delay = Math.round(RETRY_MS[this.attempts]
                                 * (0.8 + 0.4 * Math.random()));
        this.attempts++;
        this.timer = setTimeout(() => this.open(), delay);
        this.setState('reconnecting', { code, reason, delay,
                                        at: Date.now() + delay });
    }

    // Reconnects now instead of at the end of the wait (the person asked,
    // or the browser is back online).
    retryNow() {
        if (this.state === 'reconnecting' && !this.ws && !this.stopped) {
            this.open();
        }
    }

    // Sends a message now or, while reconnecting, once the session is back.
    send(msg) {
        if (this.ws && this.ws.readyState === WebSocket.OPEN) {
            this.sendRaw(msg);
        } else if (!this.stopped) {
            this.outbox.push(msg);
        }
    }

    // Sends a message with an id; resolves on its ack, rejects with a
    // SignalingError on an error for it (or a lost connection).
    request(msg) {
        const id = 'm' + (this.nextId++);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(
                () => this.settle(id, new SignalingError('timeout',
                                                         'no answer')),
                ACK_TIMEOUT_MS);
            this.pending.set(id, { resolve, reject, timer, sent: false });
            this.send({ ...msg, id });
        });
    }

    settle(id, err) {
        const p = this.pending.get(id);
        if (!p) {
            return;
        }
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (err) {
            p.reject(err);
        } else {
            p.resolve();
        }
    }

    // Messages in flight when the connection dropped may or may not have
    // reached the server: report them as failed rather than send twice.
    failPending(why) {
        for (const [id, p] of [...this.pending]) {
            if (p.sent) {
                this.settle(id, new SignalingError(why, 'connection lost'));
            }
        }
    }

    flush() {
        const queued = this.outbox;
        this.outbox = [];
        for (const msg of queued) {
            this.sendRaw(msg);
        }
    }

    sendRaw(msg) {
        const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
        if (p) {
            p.sent = true;
        }
        this.ws.send(JSON.stringify(msg));
    }

    // Closes for good (no reconnect).
    close() {
        this.stopped = true;
        window.removeEventListener('online', this.onOnline);
        clearTimeout(this.timer);
        this.outbox = [];
        for (const id of [...this.pending.keys()]) {
            this.settle(id, new SignalingError('closed', 'closed'));
        }
        if (this.ws) {
            this.ws.close(1000);
        } else {
            this.setState('closed', { code: 1000 });
        }
    }
}
