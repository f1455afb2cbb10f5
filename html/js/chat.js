// Text chat inside a call, shared by both pages: sends `chat` with an id,
// marks a message delivered on its ack (or failed), shows the peer's.
// Message text is only ever set with textContent.

import { utf8Length, h } from './ui.js';
import { setText, setAttr, locale } from './i18n.js';

const MAX_BYTES = 2000;
// Control characters the protocol refuses (all but \t and \n).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export class Chat {
    // log: <ol>, form: <form> with input and button, peerLabel(): name
    constructor({ log, form, input, peerLabel }) {
        this.log = log;
        this.form = form;
        this.input = input;
        this.sig = null;
        this.peerLabel = peerLabel;
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
        this.input.value = '';
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
        if (utf8Length(text) > MAX_BYTES) {
            this.note('chat.too_long', { n: MAX_BYTES });
            return;
        }
        this.input.value = '';
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
        this.add('peer', this.peerLabel(), String(msg.text),
                 Number(msg.ts) || Date.now());
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
