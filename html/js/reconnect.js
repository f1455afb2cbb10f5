// While the signaling connection is being restored: a banner under the
// status line with a countdown to the next attempt and "Retry now".  The
// status line (a live region) says once that the connection was lost;
// the countdown is not live (it would be read out every second).
//
//   const banner = new ReconnectBanner(afterElement);
//   banner.follow(sig);     // shows and hides itself with sig's state

import { h, show } from './ui.js';
import { setText } from './i18n.js';

export class ReconnectBanner {
    constructor(after) {
        this.text = h('span', { id: 'reconnect-text' });
        this.now = h('button', { id: 'reconnect-now', type: 'button',
                                 i18n: 'conn.retry_now' });
        this.el = h('div', { id: 'reconnect', class: 'reconnect',
                             hidden: true }, this.text, this.now);
        after.after(this.el);
        this.sig = null;
        this.at = 0;
        this.timer = null;
        this.now.addEventListener('click', () => {
            if (this.sig) {
                this.sig.retryNow();
            }
        });
    }

    follow(sig) {
        this.sig = sig;
        this.hide();
        sig.on('state', (state, detail) => {
            if (this.sig !== sig) {
                return;
            }
            if (state === 'reconnecting') {
                this.at = detail && detail.at ? detail.at : 0;
                this.render();
                show(this.el, true);
                clearInterval(this.timer);
                this.timer = setInterval(() => this.render(), 250);
            } else {
                this.hide();
            }
        });
    }

    render() {
        const s = Math.ceil((this.at - Date.now()) / 1000);
        if (s > 0) {
            setText(this.text, 'conn.retry_in', { s });
        } else {
            setText(this.text, 'conn.retrying');
        }
        this.now.disabled = s <= 0;
    }

    hide() {
        clearInterval(this.timer);
        this.timer = null;
        show(this.el, false);
    }
}
