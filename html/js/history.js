// The call history table of the agent console, from the hotline_history
// location (docs/directives.md): GET <endpoint>?limit=N, newest first;
// a call's record (its transcript, time on hold, transfers) on demand,
// GET <endpoint>?call_id=<id>.  Names and texts are set with textContent.

import { h, show, clock } from './ui.js';
import { setText, setAttr, locale, onLang } from './i18n.js';

const OUTCOMES = ['hangup', 'rejected', 'cancelled', 'gone', 'banned',
                  'message'];

// GET a history URL with the agent's bearer: its JSON, or { error }
// (`network` or the HTTP status)
export async function getHistory(url, token) {
    const headers = token ? { Authorization: 'Bearer ' + token } : {};
    let res;
    try {
        res = await fetch(url, { headers, credentials: 'same-origin',
                                 cache: 'no-store' });
    } catch (err) {
        return { error: 'network' };
    }
    if (!res.ok) {
        return { error: res.status };
    }
    const data = await res.json().catch(() => ({}));
    return data && typeof data === 'object' ? data : {};
}

export class History {
    constructor({ table, body, empty, status }) {
        this.table = table;
        this.body = body;
        this.empty = empty;
        this.status = status;
        this.calls = [];
        this.endpoint = null;
        this.token = null;
        // dates follow the language
        onLang(() => this.render(this.calls));
    }

    async load(endpoint, token, limit = 20) {
        this.endpoint = endpoint;
        this.token = token;
        const data = await this.get('?limit=' + limit);
        if (data) {
            this.render(Array.isArray(data.calls) ? data.calls : []);
        }
    }

    // GET endpoint + query: the answer's JSON, or null (said on the
    // status line)
    async get(query) {
        const data = await getHistory(this.endpoint + query, this.token);
        if (data.error !== undefined) {
            this.status('a.history.error', { code: data.error }, 'warn');
            return null;
        }
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
        if (!c || !row.isConnected) {
            return;
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
        show(none, lines.length === 0);
        const cell = h('td', { colspan: String(row.cells.length) },
                       note, rated, hold, transfers, none, transcript);
        row.after(h('tr', { class: 'call-detail' }, cell));
        button.setAttribute('aria-expanded', 'true');
    }

    render(calls) {
        this.calls = calls;
        const rows = calls.map((c) => {
            const when = new Date(Number(c.ended) || 0).toLocaleString(locale(), {
                month: 'short', day: 'numeric',
                hour: '2-digit', minute: '2-digit' });
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
                                       'aria-expanded': 'false' }, when);
            setAttr(more, 'aria-label', 'a.h.details', { when });
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
        show(this.table, rows.length > 0);
        show(this.empty, rows.length === 0);
    }
}
