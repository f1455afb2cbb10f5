// The language of the pages (Turkish or English) and the text they show.
//
// An element shows a string by key: setText(el, key, vars) for its text,
// setAttr(el, attr, key, vars) for one attribute (aria-label, placeholder,
// title), setTitle(key, vars) for the document's title.  What each element
// shows is kept here, in memory (a WeakMap), and a language switch renders
// it all again.  The variables (a caller's name, a chat message, numbers)
// are never written into markup nor into an attribute string that is
// parsed later: they become a text node's data or the value of the one
// attribute named by the code, through the DOM.  The markers data-i18n
// (the key, a constant of the code) and data-i18n-attr (empty) only let
// the switch find the elements.

import { STRINGS } from './strings.js';

const KEY = 'hotline.lang';
const listeners = [];
// element -> { text: [key, vars] | null, attrs: Map(attr -> [key, vars]) }
const bound = new WeakMap();
let title = null;       // [key, vars] of the document's title
let lang = pick();

// ?lang= in the address, else the choice remembered from the switch, else
// the first of the browser's languages that the pages speak, else Turkish.
function pick() {
    const q = new URLSearchParams(location.search).get('lang');
    if (q && STRINGS[q]) {
        return q;
    }
    try {
        const saved = localStorage.getItem(KEY);
        if (saved && STRINGS[saved]) {
            return saved;
        }
    } catch (err) {
        // storage disabled: the browser's languages
    }
    const langs = navigator.languages && navigator.languages.length
        ? navigator.languages : [navigator.language || ''];
    for (const l of langs) {
        const base = String(l).toLowerCase().split('-')[0];
        if (STRINGS[base]) {
            return base;
        }
    }
    return 'tr';
}

export function currentLang() {
    return lang;
}

// The locale for numbers and dates in the current language.
export function locale() {
    return lang === 'tr' ? 'tr-TR' : 'en-GB';
}

export function number(v, digits) {
    return Number(v).toLocaleString(locale(), {
        minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// The text for a key with {variables} filled in (as plain text).
export function t(key, vars = {}) {
    const table = STRINGS[lang];
    const s = table[key] ?? STRINGS.tr[key] ?? key;
    return s.replace(/\{(\w+)\}/g, (m, name) => {
        const v = vars[name];
        if (v === undefined || v === null) {
            return '';
        }
        // a variable may itself be a translatable key: {"$k": key, ...}
        if (typeof v === 'object' && v.$k) {
            return t(v.$k, v);
        }
        return String(v);
    });
}

function binding(el) {
    let b = bound.get(el);
    if (!b) {
        b = { text: null, attrs: new Map() };
        bound.set(el, b);
    }
    return b;
}

// Sets an element's text from a key; it follows language switches.
export function setText(el, key, vars = {}) {
    binding(el).text = [key, vars];
    el.dataset.i18n = key;
    el.textContent = t(key, vars);
}

// Sets an element's text that is not translated (a name, a number), and
// forgets a key it showed before.
export function setPlain(el, text) {
    binding(el).text = null;
    delete el.dataset.i18n;
    el.textContent = text;
}

// Sets one attribute (aria-label, placeholder, title) from a key.
export function setAttr(el, attr, key, vars = {}) {
    binding(el).attrs.set(attr, [key, vars]);
    el.setAttribute('data-i18n-attr', '');
    el.setAttribute(attr, t(key, vars));
}

// The document's title from a key.
export function setTitle(key, vars = {}) {
    title = [key, vars];
    document.title = t(key, vars);
}

function renderAll() {
    for (const el of document.querySelectorAll('[data-i18n]')) {
        const b = bound.get(el);
        const [key, vars] = b && b.text ? b.text : [el.dataset.i18n, {}];
        el.textContent = t(key, vars);
    }
    for (const el of document.querySelectorAll('[data-i18n-attr]')) {
        const b = bound.get(el);
        for (const [attr, [key, vars]] of b ? b.attrs : []) {
            el.setAttribute(attr, t(key, vars));
        }
    }
    if (title) {
        document.title = t(title[0], title[1]);
    }
    document.documentElement.lang = lang;
    const btn = document.getElementById('lang-btn');
    if (btn) {
        btn.lang = lang === 'tr' ? 'en' : 'tr';
    }
}

export function setLang(next) {
    if (!STRINGS[next] || next === lang) {
        return;
    }
    lang = next;
    try {
        localStorage.setItem(KEY, lang);
    } catch (err) {
        // not remembered: fine
    }
    renderAll();
    for (const fn of listeners) {
        fn(lang);
    }
}

export function onLang(fn) {
    listeners.push(fn);
}

// Renders the page in the current language and wires the switch button
// (the element with id lang-btn toggles between the two languages).
export function initI18n() {
    const btn = document.getElementById('lang-btn');
    if (btn) {
        setAttr(btn, 'aria-label', 'lang.switch.label');
        btn.addEventListener('click',
                             () => setLang(lang === 'tr' ? 'en' : 'tr'));
    }
    renderAll();
}
