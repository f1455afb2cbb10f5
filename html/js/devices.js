// Choosing the microphone, the camera and the speaker: a labelled
// <select> per kind, filled from the browser's device list (their names
// appear once the page may use the microphone or the camera), and the
// choice remembered (localStorage) for the next call and the next visit.
//
//   const mic = new DevicePicker({ kind: 'audioinput', id: 'mic-select',
//                                  label: 'dev.mic' });
//   parent.append(mic.el);
//   await mic.refresh(track.getSettings().deviceId);
//   mic.onChange((deviceId) => ...);      // the person picked another
//   openMicrophone(mic.value);

import { h, show } from './ui.js';
import { setPlain } from './i18n.js';
import { devices } from './media.js';

const KEY = 'hotline.device.';

// The remembered device of a kind (or null).
export function remembered(kind) {
    try {
        return localStorage.getItem(KEY + kind) || null;
    } catch (err) {
        return null;
    }
}

function remember(kind, deviceId) {
    try {
        localStorage.setItem(KEY + kind, deviceId);
    } catch (err) {
        // not remembered: the browser's choice next time
    }
}

export class DevicePicker {
    // kind: 'audioinput' | 'videoinput' | 'audiooutput'; id: the select's
    // id; label: the i18n key of its label.  select/wrap: existing
    // elements to use instead of building them.
    constructor({ kind, id, label, select = null, wrap = null }) {
        this.kind = kind;
        this.select = select || h('select', { id });
        this.el = wrap || h('label', { class: 'device', for: id },
                            h('span', { i18n: label }), this.select);
        show(this.el, false);
        this.listeners = [];
        this.select.addEventListener('change', () => {
            remember(this.kind, this.select.value);
            for (const fn of this.listeners) {
                fn(this.select.value);
            }
        });
    }

    // The chosen device: the last one chosen in any list of its kind
    // (remembered), else this list's.
    get value() {
        return remembered(this.kind) || this.select.value || null;
    }

    onChange(fn) {
        this.listeners.push(fn);
    }

    // Fills the list; current: the device in use (shown as chosen).  The
    // picker shows only once the devices have names (a list of "device 1,
    // device 2" helps nobody).
    async refresh(current = null) {
        const list = await devices(this.kind).catch(() => []);
        const named = list.filter((d) => d.label);
        const opts = named.map((d) => {
            const o = h('option', { value: d.deviceId });
            setPlain(o, d.label);
            return o;
        });
        this.select.replaceChildren(...opts);
        const want = current || remembered(this.kind);
        if (want && named.some((d) => d.deviceId === want)) {
            this.select.value = want;
        }
        show(this.el, named.length > 0);
        return named.length;
    }
}
