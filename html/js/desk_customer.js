// The customer page's support desk: what the desk says before a call
// (open or closed, anybody online, the wait), the call kept across a
// reload of the page (sessionStorage), the message or callback request
// instead of a call, and the rating after it.  Text people type is only
// ever set with textContent.

import { h, show, etaVar } from './ui.js';
import { setText, locale, onLang } from './i18n.js';
import { getJson } from './config.js';
import { CharCounter } from './counter.js';
import { Signaling } from './signaling.js';

const CALL_KEY = 'hotline.customer.call';
const STATUS_EVERY_MS = 30000;
export const MESSAGE_MAX = 2000;
const CONTACT_MAX = 128;
const COMMENT_MAX = 500;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

// --- the call of this tab, for a reload: { token, name, agent, state }

export const callStore = {
    load() {
        try {
            const c = JSON.parse(sessionStorage.getItem(CALL_KEY) || 'null');
            return c && typeof c.token === 'string'
                   && /^[0-9a-f]{32}$/.test(c.token) ? c : null;
        } catch (err) {
            return null;
        }
    },
    save(patch) {
        try {
            const c = { ...(this.load() || {}), ...patch };
            sessionStorage.setItem(CALL_KEY, JSON.stringify(c));
        } catch (err) {
            // not kept: a reload starts over
        }
    },
    clear() {
        try {
            sessionStorage.removeItem(CALL_KEY);
        } catch (err) {
            // nothing kept
        }
    },
};

// --- what the desk says before a call (hotline_desk_status)

export class DeskNotice {
    // el: the notice; callBtn: disabled while closed; onChange(status)
    constructor({ el, callBtn, endpoint, onChange = () => {} }) {
        this.el = el;
        this.callBtn = callBtn;
        this.endpoint = endpoint;
        this.onChange = onChange;
        this.status = null;
        this.timer = null;
        // the opening time is written in the page's language
        onLang(() => {
            if (this.status) {
                this.render(this.status);
            }
        });
    }

    // asks now and every 30 s until stop()
    start() {
        this.stop();
        if (!this.endpoint) {
            return;
        }
        const tick = async () => {
            const s = await getJson(this.endpoint);
            if (s && typeof s.open === 'boolean') {
                this.render(s);
            }
        };
        tick();
        this.timer = setInterval(tick, STATUS_EVERY_MS);
    }

    stop() {
        clearInterval(this.timer);
        this.timer = null;
    }

    get closed() {
        return !!this.status && !this.status.open;
    }

    render(s) {
        this.status = s;
        if (!s.open) {
            const when = Number(s.next) > 0
                ? new Date(Number(s.next)).toLocaleString(locale(), {
                    weekday: 'long', hour: '2-digit', minute: '2-digit' })
                : null;
            setText(this.el, when ? 'c.desk.closed' : 'c.desk.closed.plain',
                    { when });
            this.el.dataset.kind = 'closed';
        } else if (!s.agents) {
            setText(this.el, 'c.desk.nobody');
            this.el.dataset.kind = 'nobody';
        } else {
            setText(this.el, 'c.desk.wait', { eta: etaVar(s.eta) });
            this.el.dataset.kind = 'open';
        }
        show(this.el, true);
        this.callBtn.disabled = !s.open;
        this.onChange(s);
    }
}

// --- a message or a callback request

export class MessageForm {
    // ui: { form, name, contact, text, textLabel, count, kindCallback,
    // send }; status(key, vars, kind); sent(callback): it went
    constructor({ ui, endpoint, status, sent }) {
        this.ui = ui;
        this.endpoint = endpoint;
        this.status = status;
        this.sent = sent;
        this.sig = null;        // the waiting call's, when there is one
        this.counter = new CharCounter(ui.text, ui.count, MESSAGE_MAX,
                                       MESSAGE_MAX - 200);
        // a message unless the customer asks to be called back (set here:
        // the page's markup keeps to a short list of attributes)
        ui.kindMessage.checked = true;
        for (const r of [ui.kindMessage, ui.kindCallback]) {
            r.addEventListener('change', () => this.renderKind());
        }
        ui.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.submit();
        });
        this.renderKind();
    }

    // name: to fill in; sig: a waiting call's connection (the message
    // ends the wait) or null (a connection of its own)
    open({ name = '', sig = null }) {
        this.sig = sig;
        if (name && !this.ui.name.value) {
            this.ui.name.value = name;
        }
        this.ui.send.disabled = false;
        this.renderKind();
    }

    get callback() {
        return this.ui.kindCallback.checked;
    }

    renderKind() {
        setText(this.ui.textLabel, this.callback ? 'c.msg.text.optional'
                                                 : 'c.msg.text');
    }

    bad(input, key, vars) {
        input.setAttribute('aria-invalid', 'true');
        this.status(key, vars, 'error');
        input.focus();
    }

    submit() {
        const ui = this.ui;
        const name = ui.name.value.trim();
        const contact = ui.contact.value.trim();
        const text = ui.text.value.trim();
        for (const el of [ui.name, ui.contact, ui.text]) {
            el.removeAttribute('aria-invalid');
        }
        if (!name || Array.from(name).length > 64 || CONTROL.test(name)) {
            this.bad(ui.name, 'c.msg.bad.name');
            return;
        }
        if (!contact || Array.from(contact).length > CONTACT_MAX
            || CONTROL.test(contact)) {
            this.bad(ui.contact, 'c.msg.bad.contact');
            return;
        }
        if ((!text && !this.callback) || this.counter.over) {
            this.bad(ui.text, 'c.msg.bad.text', { max: MESSAGE_MAX });
            return;
        }
        const msg = { type: 'message',
                      kind: this.callback ? 'callback' : 'message',
                      name, contact, text };
        ui.send.disabled = true;
        this.status('c.msg.sending');
        const done = () => {
            ui.text.value = '';
            this.counter.render();
            this.sent(this.callback);
        };
        const failed = (err) => {
            ui.send.disabled = false;
            this.status('c.msg.failed', { code: err.code || 'network' },
                        'error');
        };
        if (this.sig) {
            // instead of waiting: the call ends with it
            this.sig.request(msg).then(done, failed);
            return;
        }
        const sig = new Signaling({ path: this.endpoint, firstTries: 2 });
        sig.connect();
        sig.request(msg).then(() => {
            sig.close();
            done();
        }, (err) => {
            sig.close();
            failed(err);
        });
    }
}

// --- the rating after an answered call

export class RatingForm {
    // ui: { form, stars, comment, count, send, skip, thanks };
    // endpoint: the customer WebSocket's; status(...)
    constructor({ ui, endpoint, status }) {
        this.ui = ui;
        this.endpoint = endpoint;
        this.status = status;
        this.token = null;
        this.radios = [];
        for (let n = 1; n <= 5; n++) {
            const input = h('input', { type: 'radio', name: 'rating',
                                       id: 'rate-' + n, value: String(n) });
            const text = h('span');
            setText(text, 'c.rate.n', { n });
            ui.stars.append(h('label', { class: 'star', for: 'rate-' + n },
                              input, text));
            this.radios.push(input);
        }
        this.counter = new CharCounter(ui.comment, ui.count, COMMENT_MAX,
                                       COMMENT_MAX - 100);
        ui.form.addEventListener('submit', (ev) => {
            ev.preventDefault();
            this.submit();
        });
        ui.skip.addEventListener('click', () => this.close());
    }

    // token: the call's resume token; the form shows (seconds left)
    offer(token) {
        this.token = token;
        for (const r of this.radios) {
            r.checked = false;
        }
        this.ui.comment.value = '';
        this.counter.render();
        this.ui.send.disabled = false;
        show(this.ui.thanks, false);
        show(this.ui.form, true);
    }

    close() {
        this.token = null;
        show(this.ui.form, false);
    }

    submit() {
        const picked = this.radios.find((r) => r.checked);
        if (!picked) {
            this.status('c.rate.pick', {}, 'error');
            this.radios[0].focus();
            return;
        }
        if (this.counter.over || CONTROL.test(this.ui.comment.value)) {
            this.ui.comment.focus();
            return;
        }
        const msg = { type: 'rate', token: this.token,
                      rating: Number(picked.value) };
        const comment = this.ui.comment.value.trim();
        if (comment) {
            msg.comment = comment;
        }
        this.ui.send.disabled = true;
        const sig = new Signaling({ path: this.endpoint, firstTries: 2 });
        sig.connect();
        sig.request(msg).then(() => {
            sig.close();
            this.close();
            setText(this.ui.thanks, 'c.rate.thanks');
            show(this.ui.thanks, true);
            this.ui.thanks.focus();
        }, (err) => {
            sig.close();
            this.ui.send.disabled = false;
            this.status('c.rate.failed', { code: err.code || 'network' },
                        'error');
        });
    }
}
