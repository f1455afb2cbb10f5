// Text chat inside a call, shared by both pages: sends `chat` with an id,
// marks a message delivered on its ack (or failed), shows the peer's.

import { utf8Length } from './ui.js';

const MAX_BYTES = 2000;
// Control characters the protocol refuses (all but \t and \n).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export class Chat {
    constructor({ log, form, input, signaling, peerLabel }) {
        this.log = log;
        this.form = form;
        this.input = input;
        this.sig = signaling;
        this.peerLabel = peerLabel;
        form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.submit();
        });
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
        if (text === '') {
            return;
        }
        if (utf8Length(text) > MAX_BYTES) {
            this.note('Message too long (at most ' + MAX_BYTES + ' bytes).');
            return;
        }
        this.input.value = '';
        const item = this.add('me', 'You', text, Date.now());
        item.classList.add('pending');
        this.sig.request({ type: 'chat', text }).then(
            () => item.classList.remove('pending'),
            (err) => {
                item.classList.remove('pending');
                item.classList.add('failed');
                item.title = 'Not delivered: ' + (err.code || err.message);
            });
    }

    // A `chat` message from the peer.
    receive(msg) {
        this.add('peer', this.peerLabel(), String(msg.text),
                 Number(msg.ts) || Date.now());
    }

    // A line from the page itself (not a message).
    note(text) {
        const li = document.createElement('li');
        li.className = 'note';
        li.textContent = text;
        this.append(li);
    }

    add(side, who, text, ts) {
        const li = document.createElement('li');
        li.className = 'msg ' + side;

        const head = document.createElement('span');
        head.className = 'who';
        head.textContent = who + ' · '
            + new Date(ts).toLocaleTimeString([], { hour: '2-digit',
                                                    minute: '2-digit' });

        const body = document.createElement('span');
        body.className = 'text';
        body.textContent = text;

        li.append(head, body);
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
