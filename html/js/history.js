// The call history table of the agent console, from the hotline_history
// location (docs/directives.md): GET <endpoint>?limit=N, newest first;
// a call's record (its transcript, time on hold, transfers) on demand,
// GET <endpoint>?call_id=<id>; and, when the answers say the agent may
// ("erase": true, hotline_history_erase), a button in the record that
// erases the call's personal data, asked first: DELETE
// <endpoint>?call_id=<id>.  Names and texts are set with textContent.

import { h, show, clock } from './ui.js';
import { setText, setAttr, locale, onLang } from './i18n.js';
import { Confirm } from './confirm.js';

const OUTCOMES = ['hangup', 'rejected', 'cancelled', 'gone', 'banned',
                  'message'];

// A request to the history location with the agent's bearer (and its
// session cookie): the response, or null when the network failed.
function ask(url, token, method = 'GET') {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    return fetch(url, { method, headers, credentials: 'same-origin',
                        cache: 'no-store' }).catch(() => null);
}

// GET a history URL with the agent's bearer: its JSON, or { error }
// (`network` or the HTTP status)
export async function getHistory(url, token) {
    const res = await ask(url, token);
    if (!res) {
        return { error: 'network' };
    }
    if (!res.ok) {
        return { error: res.status };
    }
    const data = await res.json().catch(() => ({}));
    return data && typeof data === 'object' ? data : {};
}

// DELETE a call's personal data: {} or { error } (the answer's error
// word, `network`, or the HTTP status)
async function eraseCall(url, token) {
    const res = await ask(url, token, 'DELETE');
    if (!res) {
        return { error: 'network' };
    }
    if (res.ok) {
        return {};
    }
    const data = await res.json().catch(() => null);
    return { error: data && typeof data.error === 'string' ? data.error
                                                            : res.status };
}

// the errors an erasure may meet, each said in its own words
const ERASE_ERRORS = ['forbidden', 'unauthorized', 'not_found',
                      'unavailable', 'network'];

// the date and time of a call, as the table shows it
function when(ms) {
    return new Date(Number(ms) || 0).toLocaleString(locale(), {
        month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export class History {
    constructor({ table, body, empty, status }) {
        this.table = table;
        this.body = body;
        this.empty = empty;
        this.status = status;
        this.calls = [];
        this.loads = 0;             // the newest load's number
        this.endpoint = null;
        this.token = null;
        this.canErase = false;      // the server's "erase"
        this.question = new Confirm('erase', { title: 'a.erase.title',
                                               keep: 'a.erase.keep',
                                               go: 'a.erase.go' });
        // dates follow the language
        onLang(() => this.render(this.calls));
    }

    // (a refresh, a call's end and a reconnect may each load: an older
    // answer that comes last is not shown over a newer one)
    async load(endpoint, token, limit = 20) {
        this.endpoint = endpoint;
        this.token = token;
        const n = ++this.loads;
        const data = await this.get('?limit=' + limit);
        if (data && n === this.loads) {
            this.render(Array.isArray(data.calls) ? data.calls : []);
        }
    }

    // the row of a call and the button that opens its record, as shown now
    rowOf(id) {
        return [...this.body.rows].find((tr) => tr.dataset.callId === id
                                        && tr.classList.contains('call-row'));
    }

    // GET endpoint + query: the answer's JSON, or null (said on the
    // status line); it says whether this agent may erase
    async get(query) {
        const data = await getHistory(this.endpoint + query, this.token);
        if (data.error !== undefined) {
            this.status('a.history.error', { code: data.error }, 'warn');
            return null;
        }
        this.canErase = data.erase === true;
        return data;
    }

    // A call's record below its row (shown or hidden again): the time on
    // hold, the transfers, the transcript.
    async details(row, id, button) {
        const next = row.nextElementSibling;
        if (next && next.classList.contains('call-detail')) {
            next.remove();
            button.setAttribute('aria-expanded', 'false');
            return;
        }
        const data = await this.get('?call_id=' + encodeURIComponent(id));
        const c = data && Array.isArray(data.calls) ? data.calls[0] : null;
        if (!c) {
            return;
        }
        if (!row.isConnected) {
            // the list was shown again meanwhile: its new row, if any
            row = this.rowOf(id);
            if (!row || row.nextElementSibling?.classList
                           .contains('call-detail')) {
                return;
            }
            button = row.querySelector('[data-act=details]');
        }
        // (the note and the rating again: a phone leaves their columns out)
        const note = h('p', { class: 'note' });
        note.textContent = row.querySelector('td.note').textContent;
        const rated = h('p', { class: 'rating' });
        rated.append(...[...row.querySelector('td.rating').childNodes]
            .map((n) => n.cloneNode(true)));
        show(note, note.textContent !== '');
        show(rated, rated.textContent !== '');
        const hold = h('p', { class: 'hold' });
        setText(hold, 'a.h.hold', { t: clock(Number(c.hold) || 0) });
        const moves = (Array.isArray(c.transfers) ? c.transfers : [])
            .map((m) => String(m.from ?? '') + ' → '
                 + String(m.to || '*') + (m.reason ? ': ' + m.reason : ''));
        const transfers = h('p', { class: 'transfers' });
        transfers.textContent = moves.join(' · ');
        show(transfers, moves.length > 0);
        const lines = (Array.isArray(c.transcript) ? c.transcript : [])
            .filter((l) => l && typeof l.text === 'string')
            .map((l) => {
                const li = h('li', { class: 'from-' + (l.from === 'agent'
                                                      ? 'agent'
                                                      : 'customer') });
                const who = h('span', { class: 'who' });
                setText(who, l.from === 'agent' ? 'call.agent'
                                                : 'a.h.customer');
                li.append(who, ': ' + l.text);
                return li;
            });
        const transcript = h('ol', { class: 'transcript' }, ...lines);
        const none = h('p', { class: 'muted', i18n: 'a.h.no_transcript' });
        show(none, lines.length === 0 && !c.erased);
        const cell = h('td', { colspan: String(row.cells.length) },
                       note, rated, hold, transfers, none, transcript,
                       this.eraseBox(c, button));
        row.after(h('tr', { class: 'call-detail' }, cell));
        button.setAttribute('aria-expanded', 'true');
    }

    // In a call's record: when its personal data was erased, or the
    // button that erases it (if this agent may), with the place where an
    // error is said.
    eraseBox(c, detailsButton) {
        if (c.erased) {
            const done = h('p', { class: 'erased' });
            setText(done, 'a.h.erased.at', { when: when(c.erased) });
            return done;
        }
        const box = h('div', { class: 'erase' });
        if (!this.canErase) {
            return box;
        }
        const btn = h('button', { type: 'button', class: 'danger-quiet',
                                  i18n: 'a.erase', 'data-act': 'erase' });
        setAttr(btn, 'aria-label', 'a.erase.label', { when: when(c.ended) });
        const error = h('p', { class: 'erase-error', role: 'alert' });
        show(error, false);
        btn.addEventListener('click', () => this.erase(c, btn, error,
                                                       detailsButton));
        box.append(btn, error);
        return box;
    }

    // Asked first (Cancel has the focus, Escape cancels); then DELETE.
    // Erased: the call's row and record again, from the server, the focus
    // on its time.  Refused or failed: said below the button.
    async erase(c, btn, error, detailsButton) {
        if (this.question.open || btn.getAttribute('aria-busy') === 'true') {
            return;
        }
        const id = String(c.call_id ?? '');
        // (the list may be shown again meanwhile: its button then)
        const button = () => this.rowOf(id)
            ?.querySelector('[data-act=details]') ?? detailsButton;
        const yes = await this.question.ask({
            text: 'a.erase.text',
            vars: { name: String(c.customer ?? ''), when: when(c.ended) },
            fallback: button(),
        });
        if (!yes || !btn.isConnected) {
            return;
        }
        show(error, false);
        // (not disabled meanwhile: the focus stays on it)
        btn.setAttribute('aria-busy', 'true');
        const r = await eraseCall(this.endpoint + '?call_id='
                                  + encodeURIComponent(id), this.token);
        btn.removeAttribute('aria-busy');
        if (r.error !== undefined) {
            const known = ERASE_ERRORS.includes(r.error);
            setText(error, known ? 'a.erase.err.' + r.error
                                 : 'a.erase.err.other', { code: r.error });
            show(error, true);
            if (r.error === 'forbidden') {
                // the server says no: no button until it says yes again
                this.canErase = false;
                show(btn, false);
                button().focus();
            }
            return;
        }
        this.status('a.erase.done', {}, 'ok');
        await this.reload(id);
    }

    // One call's record from the server, its row rendered again and its
    // record opened, the focus on its time.
    async reload(id) {
        const data = await this.get('?call_id=' + encodeURIComponent(id));
        const c = data && Array.isArray(data.calls) ? data.calls[0] : null;
        if (!c) {
            return;
        }
        this.render(this.calls.map((x) => (x.call_id === c.call_id ? c : x)));
        const row = this.rowOf(id);
        if (row) {
            // its record as it is now, not as it was kept open
            if (row.nextElementSibling?.classList.contains('call-detail')) {
                row.nextElementSibling.remove();
            }
            const more = row.querySelector('[data-act=details]');
            await this.details(row, id, more);
            more.focus();
        }
    }

    // The list.  A record the agent has open stays open below its call's
    // new row, and the focus stays on the call it was on.
    render(calls) {
        this.calls = calls;
        const open = new Map();
        for (const tr of this.body.querySelectorAll('tr.call-detail')) {
            const id = tr.previousElementSibling?.dataset.callId;
            if (id !== undefined) {
                open.set(id, tr);
            }
        }
        const focused = this.body.contains(document.activeElement)
            ? document.activeElement : null;
        const focusRow = focused?.closest('tr');
        const focusId = focusRow?.classList.contains('call-row')
            ? focusRow.dataset.callId : null;
        const rows = calls.map((c) => {
            const at = when(c.ended);
            const known = OUTCOMES.includes(c.outcome) ? c.outcome : 'other';
            const outcome = h('td', { class: 'outcome-' + known });
            const word = h('span');
            setText(word, 'outcome.' + known, { outcome: String(c.outcome) });
            outcome.append(word);
            if (c.recorded) {
                const rec = h('span', { class: 'tag' });
                setText(rec, 'a.h.recorded');
                outcome.append(' ', rec);
            }
            const name = h('td', { class: 'who' });
            name.textContent = String(c.customer ?? '');
            if (c.erased) {
                name.append(h('span', { class: 'tag', i18n: 'a.h.erased' }));
            }
            // the agent's note and disposition, the customer's rating
            const note = h('td', { class: 'note col-extra' });
            if (c.note && typeof c.note === 'object') {
                note.textContent = (c.note.disposition
                                    ? String(c.note.disposition) + ': ' : '')
                                   + String(c.note.text ?? '');
            }
            const rating = h('td', { class: 'rating col-extra' });
            const stars = Math.min(5, Math.round(Number(c.rating)) || 0);
            if (stars > 0) {
                const shown = h('span', { class: 'stars', role: 'img' });
                shown.textContent = '★'.repeat(stars);
                setAttr(shown, 'aria-label', 'a.h.rating.of', { n: stars });
                rating.append(shown, c.comment ? ' ' + String(c.comment) : '');
            }
            // the time opens the call's record below its row
            const more = h('button', { type: 'button', class: 'link',
                                       'data-act': 'details',
                                       'aria-expanded': 'false' }, at);
            setAttr(more, 'aria-label', 'a.h.details', { when: at });
            const row = h('tr', { class: 'call-row',
                                  'data-call-id': String(c.call_id ?? '') },
                          h('td', {}, more), name,
                          h('td', { class: 'num' },
                            clock(Number(c.duration) || 0)),
                          outcome, note, rating);
            more.addEventListener('click', () => this.details(
                row, String(c.call_id ?? ''), more));
            return row;
        });
        this.body.replaceChildren(...rows);
        for (const row of rows) {
            const detail = open.get(row.dataset.callId);
            if (detail) {
                row.after(detail);
                row.querySelector('[data-act=details]')
                    .setAttribute('aria-expanded', 'true');
            }
        }
        if (focused?.isConnected) {
            // in a record kept open
            focused.focus();
        } else if (focusId !== null && focusId !== undefined) {
            this.rowOf(focusId)?.querySelector('[data-act=details]')
                ?.focus();
        }
        show(this.table, rows.length > 0);
        show(this.empty, rows.length === 0);
    }
}
