// Text chat inside a call, shared by both pages: sends `chat` with an id,
// marks a message delivered on its ack (or failed), shows the peer's.
// Message text is only ever set with textContent.

import { h } from './ui.js';
import { CharCounter } from './counter.js';
import { setText, setAttr, locale } from './i18n.js';

// characters of a message (the protocol's limit)
export const MAX_CHARS = 2000;
// Control characters the protocol refuses (all but \t and \n).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export class Chat {
    // log: <ol>, form: <form> with input and button, peerLabel(): name,
    // count: the element that counts the characters (near the limit)
    constructor({ log, form, input, count, peerLabel }) {
        this.log = log;
        this.form = form;
        this.input = input;
        this.counter = new CharCounter(input, count, MAX_CHARS,
                                       MAX_CHARS - 200);
        this.sig = null;
        this.peerLabel = peerLabel;
        // lines shown, so that one that comes twice (the transcript of a
        // page that came back, then its replay) is shown once
        this.seen = new Set();
        form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.submit();
        });
    }

    attach(signaling) {
        this.sig = signaling;
    }

    clear() {
        this.log.replaceChildren();
        this.seen.clear();
        this.input.value = '';
        this.counter.render();
    }

    setEnabled(on) {
        this.input.disabled = !on;
        this.form.querySelector('button').disabled = !on;
    }

    submit() {
        const text = this.input.value.replace(CONTROL, '').trim();
        if (text === '' || !this.sig) {
            return;
        }
        if (this.counter.over) {
            this.note('chat.too_long', { max: MAX_CHARS,
                                         n: this.counter.length });
            return;
        }
        this.input.value = '';
        this.counter.render();
        const item = this.add('me', { $k: 'call.you' }, text, Date.now());
        item.classList.add('pending');
        this.sig.request({ type: 'chat', text }).then(
            () => {
                item.classList.remove('pending');
                item.dataset.delivered = 'true';
            },
            (err) => {
                item.classList.remove('pending');
                item.classList.add('failed');
                setAttr(item, 'title', 'chat.failed',
                        { code: err.code || err.message });
            });
    }

    // A `chat` message from the peer.
    receive(msg) {
        if (this.known(msg)) {
            return;
        }
        this.add('peer', this.peerLabel(), String(msg.text),
                 Number(msg.ts) || Date.now());
    }

    known(msg) {
        const key = msg.from + '|' + msg.ts + '|' + msg.text;
        if (this.seen.has(key)) {
            return true;
        }
        this.seen.add(key);
        return false;
    }

    // The call's transcript (a page that came back, an agent that takes a
    // transferred call): self is this page's role; notes and transfers
    // are shown to agents as the page's own lines.
    history(lines, self) {
        for (const l of lines) {
            if (!l || typeof l !== 'object') {
                continue;
            }
            if (l.type === 'chat' && typeof l.text === 'string') {
                if (this.known(l)) {
                    continue;
                }
                const mine = l.from === self;
                this.add(mine ? 'me' : 'peer',
                         mine ? { $k: 'call.you' }
                              : (l.from === 'agent' ? { $k: 'call.agent' }
                                                    : this.peerLabel()),
                         l.text, Number(l.ts) || Date.now());
            } else if (l.type === 'note' && typeof l.text === 'string') {
                this.note('a.transcript.note', { by: String(l.by || ''),
                                                 text: l.text });
            } else if (l.type === 'transfer') {
                this.note('a.transcript.transfer',
                          { from: String(l.from || ''),
                            reason: String(l.reason || '') });
            }
        }
    }

    // A line from the page itself (not a message).
    note(key, vars) {
        const li = h('li', { class: 'note' });
        setText(li, key, vars);
        this.append(li);
    }

    // who: a name (text) or an i18n variable ({$k: key})
    add(side, who, text, ts) {
        const time = new Date(ts).toLocaleTimeString(locale(), {
            hour: '2-digit', minute: '2-digit' });
        const head = h('span', { class: 'who' });
        if (typeof who === 'object') {
            setText(head, 'chat.who', { who, time });
        } else {
            head.textContent = who + ' · ' + time;
        }
        const body = h('span', { class: 'text' });
        body.textContent = text;
        const li = h('li', { class: 'msg ' + side }, head, body);
        this.append(li);
        return li;
    }

    append(li) {
        const atEnd = this.log.scrollTop + this.log.clientHeight
                      >= this.log.scrollHeight - 4;
        this.log.append(li);
        if (atEnd) {
            this.log.scrollTop = this.log.scrollHeight;
        }
    }
}
