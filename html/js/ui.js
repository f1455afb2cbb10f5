// Small DOM helpers shared by the customer page and the agent console.
// User-supplied text is only ever set with textContent (through
// i18n.setText's variables or directly), never parsed as HTML.

import { setText, setAttr } from './i18n.js';

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

// Builds an element: h('button', { class: 'x', type: 'button' }, child...)
// Attributes named i18n / i18n-attr take a key (see i18n.js); children are
// nodes or plain strings (text nodes).
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) {
            continue;
        }
        if (k === 'i18n') {
            setText(el, v);
        } else if (k === 'i18n-attr') {
            for (const [attr, key] of Object.entries(v)) {
                setAttr(el, attr, key);
            }
        } else if (k === 'class') {
            el.className = v;
        } else {
            el.setAttribute(k, v === true ? '' : String(v));
        }
    }
    for (const c of children) {
        el.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
}

// The status line: kind is '', 'ok', 'warn' or 'error'.
export function setStatus(el, key, vars, kind = '') {
    setText(el, key, vars);
    el.dataset.kind = kind;
}

// 75 -> "1:15", 3725 -> "1:02:05"
export function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const hh = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return hh > 0 ? hh + ':' + String(m).padStart(2, '0') + ':' + ss
                  : m + ':' + ss;
}

// An estimated wait as an i18n variable ({$k: key, ...}).
export function etaVar(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) {
        return { $k: 'c.eta.unknown' };
    }
    if (seconds < 60) {
        return { $k: 'c.eta.soon' };
    }
    return { $k: 'c.eta.min', n: Math.round(seconds / 60) };
}

// [key, vars] describing an `ended` message for the given side.
export function endedText(msg, selfRole) {
    let text;
    if (msg.reason === 'hangup') {
        text = !msg.by ? { $k: 'ended.hangup' }
             : msg.by === selfRole ? { $k: 'ended.hangup.self' }
             : { $k: 'ended.hangup.' + (msg.by === 'agent' ? 'agent'
                                                             : 'customer') };
    } else if (['rejected', 'cancelled', 'gone', 'shutdown', 'banned',
                'message'].includes(msg.reason)) {
        text = { $k: 'ended.' + msg.reason };
    } else {
        text = { $k: 'ended.other', reason: String(msg.reason) };
    }
    return Number(msg.duration) > 0
        ? ['ended.duration', { text, d: clock(msg.duration) }]
        : ['ended.plain', { text }];
}

// Length in characters (Unicode code points), as the protocol counts.
export function chars(text) {
    return Array.from(text).length;
}

// A ticker; returns a function that stops it.
export function every(ms, fn) {
    fn();
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
}
