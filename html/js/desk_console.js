// The agent console's support desk: presence (available / away, busy and
// wrap-up as the server says, away by itself after hotline_away_after
// without the agent's attention), the call's notes and disposition (in
// the call and after it), hold and transfer, and the list of messages and
// callback requests to work through (claim, done).  Text people typed is
// only ever set with textContent.

import { $, h, show, clock } from './ui.js';
import { setText, setAttr, locale } from './i18n.js';
import { CharCounter } from './counter.js';
import { getHistory } from './history.js';

const NOTE_MAX = 2000;
const ACTIVITY = ['pointerdown', 'keydown', 'focus', 'visibilitychange'];

export class DeskConsole {
    // getSig(): the session's Signaling (or null); status(key, vars,
    // kind); endpoints(): config endpoints; token(): the bearer or null
    constructor({ getSig, status, endpoints, token }) {
        this.getSig = getSig;
        this.status = status;
        this.endpoints = endpoints;
        this.token = token;
        this.presence = 'available';     // what the server says
        this.until = 0;
        this.awayAfter = 0;
        this.lastActive = Date.now();
        this.autoAway = null;
        this.messagesVersion = -1;
        this.messagesSeq = 0;
        this.callName = '';
        this.lastName = '';
        this.inCall = false;
        this.held = false;

        this.ui = {
            box: $('presence-box'),
            select: $('presence-select'),
            state: $('presence-state'),
            notes: $('notes'),
            notesTitle: $('notes-title'),
            wrapup: $('wrapup'),
            wrapupText: $('wrapup-text'),
            ready: $('ready-btn'),
            noteForm: $('note-form'),
            noteText: $('note-text'),
            noteCount: $('note-count'),
            disposition: $('note-disposition'),
            noteSave: $('note-save'),
            messages: $('messages-list'),
            messagesEmpty: $('messages-empty'),
            messagesCount: $('messages-count'),
            transfer: $('transfer-dialog'),
            transferForm: $('transfer-form'),
            transferTo: $('transfer-to'),
            transferReason: $('transfer-reason'),
            transferKeep: $('transfer-keep'),
        };
        const ui = this.ui;
        this.counter = new CharCounter(ui.noteText, ui.noteCount, NOTE_MAX,
                                       NOTE_MAX - 200);

        ui.select.addEventListener('change',
                                   () => this.setPresence(ui.select.value));
        ui.ready.addEventListener('click', () => this.setPresence('available'));
        ui.noteForm.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.saveNote();
        });
        ui.transferForm.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.transfer();
        });
        ui.transferKeep.addEventListener('click', () => ui.transfer.close());

        for (const type of ACTIVITY) {
            window.addEventListener(type, () => {
                if (type !== 'visibilitychange' || !document.hidden) {
                    this.lastActive = Date.now();
                }
            }, true);
        }
        this.ticker = setInterval(() => this.tick(), 1000);
    }

    // --- the server's news

    // `desk`: the presence and the settings, after every welcome
    onDesk(msg) {
        this.awayAfter = Number(msg.away_after) * 1000 || 0;
        const names = Array.isArray(msg.dispositions) ? msg.dispositions : [];
        const none = h('option', { value: '', i18n: 'a.note.none' });
        this.ui.disposition.replaceChildren(none, ...names.map((n) => {
            const o = h('option', { value: String(n) });
            o.textContent = String(n);
            return o;
        }));
        show(this.ui.box, true);
        this.onPresence({ state: msg.presence, until: msg.until });
    }

    // `presence`: available, away, busy or wrapup
    onPresence(msg) {
        this.presence = String(msg.state || 'available');
        this.until = Number(msg.until) || 0;
        this.ui.select.value = this.presence === 'away' ? 'away'
                                                        : 'available';
        this.lastActive = Date.now();
        this.render();
    }

    // may the console sound and show new calls?  only when available
    get takesCalls() {
        return this.presence === 'available';
    }

    render() {
        const ui = this.ui;
        const left = Math.max(0, (this.until - Date.now()) / 1000);
        if (this.presence === 'busy') {
            setText(ui.state, 'a.shows.busy');
        } else if (this.presence === 'wrapup') {
            setText(ui.state, 'a.shows.wrapup', { t: clock(left) });
        } else if (this.presence === 'away') {
            setText(ui.state, 'a.shows.away');
        } else {
            setText(ui.state, 'a.presence.available');
        }
        ui.state.dataset.presence = this.presence;
        document.body.dataset.presence = this.presence;
        show(ui.wrapup, this.presence === 'wrapup');
        if (this.presence === 'wrapup') {
            setText(ui.wrapupText, 'a.shows.wrapup', { t: clock(left) });
        }
    }

    tick() {
        if (this.presence === 'wrapup') {
            this.render();
        }
        // nobody here for hotline_away_after: away, said once
        if (this.awayAfter && this.presence === 'available'
            && Date.now() - this.lastActive > this.awayAfter) {
            this.lastActive = Date.now();
            this.setPresence('away');
            this.status('a.auto_away',
                        { m: Math.round(this.awayAfter / 60000) }, 'warn');
        }
    }

    setPresence(state) {
        const sig = this.getSig();
        if (!sig) {
            return Promise.resolve();
        }
        return sig.request({ type: 'presence', state }).catch((err) => {
            this.status('a.err.other', { code: err.code }, 'error');
        });
    }

    // --- the call: notes, hold, transfer

    // a call begins (name: the customer's)
    callBegins(name) {
        this.inCall = true;
        this.held = false;
        this.callName = name;
        this.ui.noteText.value = '';
        this.ui.disposition.value = '';
        this.counter.render();
        setText(this.ui.notesTitle, 'a.notes');
        show(this.ui.notes, true);
    }

    // the call is over for this agent (ended, transferred): its notes may
    // still be written, for the last call
    callEnds() {
        if (this.inCall) {
            this.lastName = this.callName;
        }
        this.inCall = false;
        this.held = false;
        if (this.lastName) {
            setText(this.ui.notesTitle, 'a.notes.last',
                    { name: this.lastName });
            show(this.ui.notes, true);
        }
    }

    saveNote() {
        const sig = this.getSig();
        const text = this.ui.noteText.value.trim();
        if (!sig || this.counter.over) {
            return;
        }
        const msg = { type: 'note', text };
        if (this.ui.disposition.value) {
            msg.disposition = this.ui.disposition.value;
        }
        this.ui.noteSave.disabled = true;
        sig.request(msg).then(
            () => {
                this.ui.noteSave.disabled = false;
                this.status('a.note.saved', {}, 'ok');
            },
            (err) => {
                this.ui.noteSave.disabled = false;
                this.status(err.code === 'full' ? 'a.err.full'
                                                : 'a.err.other',
                            { code: err.code }, 'error');
            });
    }

    // Hold: the button's state follows the server's `hold`
    toggleHold() {
        const sig = this.getSig();
        if (sig) {
            sig.request({ type: 'hold', on: !this.held }).catch((err) =>
                this.status('a.err.other', { code: err.code }, 'error'));
        }
    }

    askTransfer() {
        this.ui.transferTo.value = '';
        this.ui.transferReason.value = '';
        this.ui.transfer.showModal();
        this.ui.transferTo.focus();
    }

    transfer() {
        const sig = this.getSig();
        const to = this.ui.transferTo.value.trim().toLowerCase();
        const reason = this.ui.transferReason.value.trim();
        this.ui.transfer.close();
        if (!sig) {
            return;
        }
        const msg = { type: 'transfer' };
        if (to) {
            msg.to = to;
        }
        if (reason) {
            msg.reason = reason;
        }
        sig.request(msg).catch((err) => {
            this.status(err.code === 'agent_unavailable'
                        ? 'a.err.agent_unavailable' : 'a.err.other',
                        { code: err.code }, 'error');
        });
    }

    // --- messages and callback requests

    onQueue(msg) {
        const v = Number(msg.messages);
        if (Number.isFinite(v) && v !== this.messagesVersion) {
            this.messagesVersion = v;
            this.loadMessages();
        }
    }

    // (only the answer to the latest request is shown: an older one may
    // come later and would bring back a message done since)
    async loadMessages() {
        const seq = ++this.messagesSeq;
        const data = await getHistory(this.endpoints().history
                                      + '?outcome=message&open=1&limit=50',
                                      this.token());
        if (seq !== this.messagesSeq) {
            return;
        }
        if (data.error !== undefined) {
            this.status('a.messages.error', { code: data.error }, 'warn');
            return;
        }
        this.renderMessages(Array.isArray(data.calls) ? data.calls : []);
    }

    renderMessages(list) {
        const ui = this.ui;
        const items = list.map((m) => {
            const info = m.message && typeof m.message === 'object'
                ? m.message : {};
            const callback = info.kind === 'callback';
            const name = String(m.customer ?? '');
            const kind = h('span', { class: 'kind',
                                     i18n: callback ? 'a.msg.callback'
                                                    : 'a.msg.message' });
            const who = h('span', { class: 'who' });
            who.textContent = ' · ' + name + ' · ' + String(info.contact ?? '');
            const when = h('span', { class: 'muted' });
            when.textContent = ' · ' + new Date(Number(m.ended) || 0)
                .toLocaleString(locale(), { month: 'short', day: 'numeric',
                                            hour: '2-digit',
                                            minute: '2-digit' });
            const text = h('p', { class: 'text' });
            text.textContent = String(info.text ?? '');
            const li = h('li', { 'data-id': String(m.call_id ?? '') },
                         h('div', {}, kind, who, when), text);
            if (m.claimed && typeof m.claimed === 'object') {
                const c = h('p', { class: 'claimed' });
                setText(c, 'a.msg.claimed', { by: String(m.claimed.by ?? '') });
                li.append(c);
            }
            const claim = h('button', { type: 'button', i18n: 'a.msg.claim',
                                        'data-act': 'claim' });
            setAttr(claim, 'aria-label', 'a.msg.claim.label', { name });
            claim.disabled = !!m.claimed;
            claim.addEventListener('click',
                                   () => this.handle('claim', m.call_id));
            const done = h('button', { type: 'button', class: 'primary',
                                       i18n: 'a.msg.done',
                                       'data-act': 'done' });
            setAttr(done, 'aria-label', 'a.msg.done.label', { name });
            done.addEventListener('click', () => this.handle('done', m.call_id));
            li.append(h('div', { class: 'actions' }, claim, done));
            return li;
        });
        ui.messages.replaceChildren(...items);
        ui.messagesCount.textContent = String(items.length);
        show(ui.messagesEmpty, items.length === 0);
    }

    handle(type, id) {
        const sig = this.getSig();
        if (!sig) {
            return;
        }
        sig.request({ type, message_id: String(id) }).then(
            () => this.loadMessages(),
            (err) => {
                this.status(err.code === 'taken' ? 'a.msg.taken'
                                                 : 'a.err.other',
                            { code: err.code }, 'error');
                this.loadMessages();
            });
    }
}

