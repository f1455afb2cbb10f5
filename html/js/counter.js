// A live character count under a text field ("12 / 64"), counted as the
// protocol counts (characters, that is Unicode code points: a Turkish
// letter is one, whatever its bytes), shown from `from` characters on and
// marked when over the limit.  Not a live region (it changes with every
// key); the field points to it with aria-describedby.
//
//   const c = new CharCounter(input, countElement, 64);
//   c.over   // true: too long to send

import { chars } from './ui.js';
import { setText, number } from './i18n.js';

export class CharCounter {
    constructor(input, el, max, from = 0) {
        this.input = input;
        this.el = el;
        this.max = max;
        this.from = from;
        el.classList.add('counter');
        const by = input.getAttribute('aria-describedby');
        input.setAttribute('aria-describedby', by ? by + ' ' + el.id : el.id);
        input.addEventListener('input', () => this.render());
        this.render();
    }

    get length() {
        return chars(this.input.value);
    }

    get over() {
        return this.length > this.max;
    }

    render() {
        const n = this.length;
        setText(this.el, 'count', { n: number(n, 0), max: number(this.max, 0) });
        this.el.dataset.over = String(n > this.max);
        this.el.hidden = n < this.from;
    }
}
