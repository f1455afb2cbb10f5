// The call history table of the agent console, from the hotline_history
// location (docs/directives.md): GET <endpoint>?limit=N, newest first.
// Names are set with textContent.

import { h, show, clock } from './ui.js';
import { setText, locale, onLang } from './i18n.js';

const OUTCOMES = ['hangup', 'rejected', 'cancelled', 'gone', 'banned'];

export class History {
    constructor({ table, body, empty, status }) {
        this.table = table;
        this.body = body;
        this.empty = empty;
        this.status = status;
        this.calls = [];
        // dates follow the language
        onLang(() => this.render(this.calls));
    }

    async load(endpoint, token, limit = 20) {
        const headers = token ? { Authorization: 'Bearer ' + token } : {};
        let res;
        try {
            res = await fetch(endpoint + '?limit=' + limit, {
                headers, credentials: 'same-origin', cache: 'no-store' });
        } catch (err) {
            this.status('a.history.error', { code: 'network' }, 'warn');
            return;
        }
        if (!res.ok) {
            this.status('a.history.error', { code: res.status }, 'warn');
            return;
        }
        const data = await res.json().catch(() => ({}));
        this.render(Array.isArray(data.calls) ? data.calls : []);
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
            const row = h('tr', { 'data-call-id': String(c.call_id ?? '') },
                          h('td', {}, when), name,
                          h('td', { class: 'num' },
                            clock(Number(c.duration) || 0)),
                          outcome);
            return row;
        });
        this.body.replaceChildren(...rows);
        show(this.table, rows.length > 0);
        show(this.empty, rows.length === 0);
    }
}
