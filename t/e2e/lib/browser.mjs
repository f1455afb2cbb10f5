// Helpers for the browser tests: Debian's Chromium through playwright-core
// with the flags of the developers' guide, a context per person (separate
// cookies and storage), spies the tests read (WebSockets, peer
// connections, notifications, CSP violations), and the polls every wait
// goes through (bounded deadlines, no fixed sleeps).

import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

// html/js/strings.js as an ES module whatever node thinks of a .js file
// outside a "type": "module" package
const { STRINGS } = await import('data:text/javascript,' + encodeURIComponent(
    fs.readFileSync(new URL('../../../html/js/strings.js', import.meta.url),
                    'utf8')));

export const BASE = process.env.HOTLINE_BASE;
export const SHOTS = process.env.HOTLINE_SHOTS || new URL('../screenshots',
                                                          import.meta.url).pathname;

export const ARGS = [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
];

// Playwright gives each launch a fresh temporary --user-data-dir.
export async function launch() {
    if (!BASE) {
        throw new Error('HOTLINE_BASE is not set (run through t/7x-*.t)');
    }
    return chromium.launch({ executablePath: '/usr/bin/chromium',
                             headless: true, args: ARGS });
}

function spies() {
    window.__ws = [];
    const NativeWS = window.WebSocket;
    window.WebSocket = class extends NativeWS {
        constructor(...a) {
            super(...a);
            window.__ws.push(this);
        }
    };
    window.__pcs = [];
    const NativePC = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends NativePC {
        constructor(...a) {
            super(...a);
            window.__pcs.push(this);
        }
    };
    window.__notes = [];
    if (window.Notification) {
        const N = window.Notification;
        window.Notification = class extends N {
            constructor(title, opts) {
                super(title, opts);
                window.__notes.push({ title, body: opts && opts.body });
            }
        };
    }
    // every tone a page starts, and whether its audio context could be
    // heard (a suspended context plays nothing)
    window.__tones = [];
    if (window.OscillatorNode) {
        const start = OscillatorNode.prototype.start;
        OscillatorNode.prototype.start = function (...a) {
            window.__tones.push({ f: this.frequency.value,
                                  state: this.context.state });
            return start.apply(this, a);
        };
    }
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
        window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
    });
    window.__errors = [];
    window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
}

// Headless Chromium lets every page play sound at once; a desktop browser
// keeps an AudioContext suspended until the person's first click or key
// press in the page, after every load.  As init (person(), or a context's
// addInitScript) this makes AudioContext behave like the latter.
export function gestureAudioPolicy() {
    // (navigator.userActivation survives a reload in Chromium: count the
    // gestures of this load instead)
    let gesture = false;
    for (const type of ['pointerdown', 'keydown']) {
        window.addEventListener(type, () => {
            gesture = true;
        }, true);
    }
    const Native = window.AudioContext;
    window.AudioContext = class extends Native {
        constructor(...a) {
            super(...a);
            this.held = !gesture;
            if (this.held) {
                super.suspend();
            }
        }

        get state() {
            return this.held ? 'suspended' : super.state;
        }

        resume() {
            if (this.held && !gesture) {
                return Promise.resolve();
            }
            this.held = false;
            const p = super.resume();
            this.dispatchEvent(new Event('statechange'));
            return p;
        }
    };
}

// Tones a page played that could be heard (their frequencies).
export function heardTones(page) {
    return page.evaluate(() => window.__tones
        .filter((t) => t.state === 'running').map((t) => t.f));
}

// A page in a context of its own, with the spies and the permissions;
// init: a function run in the page before its scripts (every load);
// timezoneId: the browser's time zone (default: the machine's).
export async function person(browser, { viewport = { width: 1280, height: 800 },
                                        locale = 'tr-TR', init = null,
                                        timezoneId } = {}) {
    const ctx = await browser.newContext({ viewport, locale, timezoneId });
    await ctx.grantPermissions(['microphone', 'camera', 'notifications'],
                               { origin: BASE });
    await ctx.addInitScript(spies);
    if (init) {
        await ctx.addInitScript(init);
    }
    const page = await ctx.newPage();
    // an action on an element that never becomes usable fails soon
    page.setDefaultTimeout(10000);
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(String(e)));
    page.on('console', (m) => {
        if (m.type() === 'error') {
            page.errors.push('console: ' + m.text());
        }
    });
    return page;
}

// The browser of a test file, launched before its tests and closed after
// them, and a person() for each member of `who` (its options): set(p)
// receives { browser, name: page, ... } once they are there.
export function people(who, set) {
    let browser = null;
    before(async () => {
        browser = await launch();
        const p = { browser };
        for (const [name, opts] of Object.entries(who)) {
            p[name] = await person(browser, opts);
        }
        set(p);
    });
    after(async () => {
        if (browser) {
            await browser.close();
        }
    });
}

// Polls fn (sync or async) until it returns a truthy value; throws with
// the message (and the last value) after the deadline.
export async function until(fn, what, timeoutMs = 10000, stepMs = 100) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        last = await fn();
        if (last) {
            return last;
        }
        if (Date.now() > deadline) {
            throw new Error('timed out after ' + timeoutMs + ' ms: ' + what
                            + ' (last: ' + JSON.stringify(last) + ')');
        }
        await new Promise((r) => setTimeout(r, stepMs));
    }
}

export function text(page, selector) {
    return page.$eval(selector, (el) => el.textContent.trim())
        .catch(() => null);
}

export function visible(page, selector) {
    return page.$eval(selector, (el) => !el.closest('[hidden]')
                                        && el.getClientRects().length > 0)
        .catch(() => false);
}

// The call's peer connection (not the recorder's send-only one).
export function pcState(page) {
    return page.evaluate(() => {
        const pc = window.__pcs.filter((p) => p.connectionState !== 'closed'
            && p.getTransceivers().some((t) => t.direction === 'sendrecv'))
            .pop();
        return pc ? pc.connectionState : 'none';
    });
}

// Waits until the call's peer connection of every page is connected.
export function mediaConnected(pages, what = 'media connected',
                               timeoutMs = 20000) {
    return until(async () => {
        for (const page of pages) {
            if ((await pcState(page)) !== 'connected') {
                return false;
            }
        }
        return true;
    }, what, timeoutMs);
}

// Bytes of received RTP of a kind on the call's peer connection.
export function inboundBytes(page, kind = 'audio') {
    return page.evaluate(async (k) => {
        const pc = window.__pcs.filter((p) => p.connectionState !== 'closed'
            && p.getTransceivers().some((t) => t.direction === 'sendrecv'))
            .pop();
        if (!pc) {
            return -1;
        }
        const r = await pc.getStats();
        let b = 0;
        r.forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === k) {
                b += s.bytesReceived || 0;
            }
        });
        return b;
    }, kind);
}

// Asserts that received bytes grow (media flows): returns [first, later].
export async function mediaFlows(page, kind = 'audio') {
    const first = await until(async () => {
        const b = await inboundBytes(page, kind);
        return b > 0 ? b : 0;
    }, kind + ' bytes received', 15000);
    const later = await until(async () => {
        const b = await inboundBytes(page, kind);
        return b > first ? b : 0;
    }, kind + ' bytes grow', 10000);
    return [first, later];
}

// The code the stand-in delivered to a chat after `since` (ms epoch), read
// from its request log as an agent reads it in Telegram.
export async function telegramCode(chat, sinceMs) {
    const log = process.env.HOTLINE_TG_LOG;
    return until(() => {
        const lines = fs.readFileSync(log, 'utf8').split('\n');
        for (const line of lines.reverse()) {
            if (!line.trim()) {
                continue;
            }
            let r;
            try {
                r = JSON.parse(line);
            } catch (e) {
                continue;
            }
            if (!/\/sendMessage$/.test(r.path) || !r.json
                || String(r.json.chat_id) !== String(chat)
                || r.t * 1000 < sinceMs) {
                continue;
            }
            const m = /<code>(\d{6})<\/code>/.exec(r.json.text || '');
            if (m) {
                return m[1];
            }
        }
        return null;
    }, 'a login code in the Telegram stand-in', 10000);
}

// Form controls without an accessible name (a simple axe-like check):
// aria-label, aria-labelledby, a <label>, or text content.
export function unnamedControls(page) {
    return page.evaluate(() => {
        const bad = [];
        for (const el of document.querySelectorAll(
            'button, input, select, textarea, a[href], [role=button]')) {
            let name = el.getAttribute('aria-label') || '';
            const by = el.getAttribute('aria-labelledby');
            if (!name && by) {
                name = by.split(/\s+/).map((id) => {
                    const x = document.getElementById(id);
                    return x ? x.textContent : '';
                }).join(' ');
            }
            if (!name && el.labels && el.labels.length) {
                name = [...el.labels].map((l) => l.textContent).join(' ');
            }
            if (!name && el.tagName !== 'INPUT' && el.tagName !== 'SELECT') {
                name = el.textContent;
            }
            if (!name.trim()) {
                bad.push(el.outerHTML.slice(0, 120));
            }
        }
        return bad;
    });
}

// Screenshots of a page's state (make screenshots): at a laptop's and a
// phone's size, in Turkish and English (the page's own switch), as
// <name>-<size>-<lang>.png; the page ends as it was (language, size).  The
// laptop's is the whole page, the phone's the screen as a person sees it
// (a dialog's backdrop and the call's fixed controls are where they are).
export const SIZES = [['desktop', 1366, 768], ['phone', 390, 844]];

export async function shot(page, name, { langs = ['tr', 'en'],
                                         sizes = SIZES } = {}) {
    fs.mkdirSync(SHOTS, { recursive: true });
    const keepSize = page.viewportSize();
    const keepLang = await page.getAttribute('html', 'lang');
    // (the button from a script: a modal dialog may be open)
    const setLang = async (lang) => {
        if ((await page.getAttribute('html', 'lang')) !== lang) {
            await page.evaluate(() => document.getElementById('lang-btn')
                .click());
        }
    };
    for (const lang of langs) {
        await setLang(lang);
        for (const [label, width, height] of sizes) {
            await page.setViewportSize({ width, height });
            await page.screenshot({
                path: path.join(SHOTS, name + '-' + label + '-' + lang + '.png'),
                fullPage: label !== 'phone', animations: 'disabled',
                caret: 'hide' });
        }
    }
    await setLang(keepLang);
    await page.setViewportSize(keepSize);
}

// The pages' own text for a key in a language, {variables} filled in
// (html/js/strings.js, as html/js/i18n.js renders it).
export function say(lang, key, vars = {}) {
    const s = STRINGS[lang][key] ?? STRINGS.tr[key];
    if (s === undefined) {
        throw new Error('no string ' + key);
    }
    return s.replace(/\{(\w+)\}/g, (m, name) => {
        const v = vars[name];
        if (v === undefined || v === null) {
            return '';
        }
        return typeof v === 'object' && v.$k ? say(lang, v.$k, v) : String(v);
    });
}

// Switches a page's language with its button and waits for it.
export async function switchLang(page, lang) {
    if ((await page.getAttribute('html', 'lang')) !== lang) {
        await page.click('#lang-btn');
    }
    await until(async () => (await page.getAttribute('html', 'lang')) === lang,
                'the page in ' + lang);
}

// Hangs up; in a call's first seconds the page asks first: yes.
export async function hangUp(page) {
    await page.click('#hangup-btn');
    if (await page.evaluate(() => {
        const d = document.getElementById('hangup-dialog');
        return !!d && d.open;
    })) {
        await page.click('#hangup-go');
    }
}

// axe-core (from npm) run in the page: its violations of every rule it
// has (WCAG 2 A and AA, best practices) as "rule: target, ..." strings.
const AXE = fs.readFileSync(new URL('../node_modules/axe-core/axe.min.js',
                                    import.meta.url), 'utf8');

export async function axeViolations(page) {
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
        await page.evaluate(AXE);
    }
    return page.evaluate(async () => {
        const r = await window.axe.run(document, {
            resultTypes: ['violations'] });
        return r.violations.map((v) => v.id + ': ' + v.nodes
            .map((n) => n.target.join(' ')).join(', '));
    });
}

// Fails the test on any axe violation; state: what the page shows.
export async function axeClean(page, state) {
    assert.deepEqual(await axeViolations(page), [],
                     'axe-core violations: ' + state);
}

// Presses Tab (Shift+Tab with back) until the element matching selector
// has the focus: what a keyboard user does.  Fails after `max` presses.
export async function tabTo(page, selector, { back = false, max = 40 } = {}) {
    for (let i = 0; i < max; i++) {
        if (await page.evaluate((s) => document.activeElement
                                && document.activeElement.matches(s),
                                selector)) {
            return;
        }
        await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    }
    throw new Error('Tab never reached ' + selector);
}
