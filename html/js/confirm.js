// A question before a destructive step (ban a caller, leave the queue,
// end a call that has just begun): a modal <dialog> with a safe and a
// destructive answer.  The focus starts on the safe one, Escape means the
// safe one, and afterwards the focus goes back to where it was (or to
// `fallback` when that element has gone meanwhile).
//
//   const q = new Confirm('leave', { title: 'c.leave.title', ... });
//   if (await q.ask({ text: 'c.leave.text', vars })) { ... }
//   q.dismiss();   // the question no longer applies: answered "no"
//
// The dialog's elements are #<id>-dialog, -title, -text, -keep and -go.

import { h } from './ui.js';
import { setText } from './i18n.js';

export class Confirm {
    // keys: { title, keep, go } (i18n keys of the fixed texts)
    constructor(id, keys) {
        this.title = h('h2', { id: id + '-title' });
        this.text = h('p', { id: id + '-text' });
        this.keep = h('button', { id: id + '-keep', type: 'button',
                                  class: 'primary' });
        this.go = h('button', { id: id + '-go', type: 'button',
                                class: 'danger' });
        setText(this.title, keys.title);
        setText(this.keep, keys.keep);
        setText(this.go, keys.go);
        this.dialog = h('dialog', {
            id: id + '-dialog', class: 'confirm', role: 'alertdialog',
            'aria-labelledby': id + '-title', 'aria-describedby': id + '-text',
        }, this.title, this.text,
        h('div', { class: 'actions' }, this.keep, this.go));
        document.body.append(this.dialog);
        this.pending = null;    // { resolve, back, fallback }
        this.keep.addEventListener('click', () => this.finish(false));
        this.go.addEventListener('click', () => this.finish(true));
        // Escape ('cancel'), or any other way the dialog closes: "no";
        // not a close whose event comes when the dialog is open again (the
        // event is queued: an answer and the next question in one turn of
        // the page, and the next question would be answered "no")
        this.dialog.addEventListener('cancel', (ev) => {
            ev.preventDefault();
            this.finish(false);
        });
        this.dialog.addEventListener('close', () => {
            if (!this.dialog.open) {
                this.finish(false);
            }
        });
    }

    get open() {
        return this.pending !== null;
    }

    // Resolves with true (the destructive answer) or false.  text, vars:
    // the question's details; fallback: where the focus goes when the
    // element that had it is gone (an element, or a function that moves
    // it).
    ask({ text, vars = {}, fallback = null }) {
        if (this.pending) {
            this.finish(false);
        }
        setText(this.text, text, vars);
        return new Promise((resolve) => {
            this.pending = { resolve, back: document.activeElement, fallback };
            this.dialog.showModal();
            this.keep.focus();      // the safe choice first
        });
    }

    dismiss() {
        this.finish(false);
    }

    finish(yes) {
        const p = this.pending;
        if (!p) {
            return;
        }
        this.pending = null;
        if (this.dialog.open) {
            this.dialog.close();
        }
        if (p.back && p.back.isConnected && !p.back.disabled
            && !p.back.closest('[hidden]')) {
            p.back.focus();
        } else if (typeof p.fallback === 'function') {
            p.fallback();
        } else if (p.fallback) {
            p.fallback.focus();
        }
        p.resolve(yes);
    }
}
