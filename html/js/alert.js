// A new call in the queue: a short two-tone sound (Web Audio, no file to
// fetch) and a browser notification when the agent allowed them.

export class NewCallAlert {
    constructor() {
        this.ctx = null;
    }

    supported() {
        return typeof Notification !== 'undefined';
    }

    permission() {
        return this.supported() ? Notification.permission : 'denied';
    }

    // From a click: asks for the notification permission and unlocks the
    // audio context (browsers allow both only after a user gesture).
    async enable() {
        this.unlockSound();
        if (this.supported() && Notification.permission === 'default') {
            await Notification.requestPermission();
        }
        return this.permission();
    }

    unlockSound() {
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC) {
            return;
        }
        if (!this.ctx) {
            this.ctx = new AC();
        }
        if (this.ctx.state === 'suspended') {
            this.ctx.resume().catch(() => {});
        }
    }

    // title and body are plain text (a notification never renders HTML)
    notify(title, body) {
        this.beep();
        if (this.permission() === 'granted') {
            try {
                const n = new Notification(title, { body, tag: 'hotline-call',
                                                    renotify: true });
                n.onclick = () => {
                    window.focus();
                    n.close();
                };
            } catch (err) {
                // e.g. Android Chrome wants a service worker: sound only
            }
        }
    }

    beep() {
        const ctx = this.ctx;
        if (!ctx || ctx.state !== 'running') {
            return;
        }
        const now = ctx.currentTime;
        for (const [freq, at] of [[880, 0], [660, 0.18]]) {
            const osc = ctx.createOscillator();
            const gain = ctx.createGain();
            osc.frequency.value = freq;
            gain.gain.setValueAtTime(0.0001, now + at);
            gain.gain.exponentialRampToValueAtTime(0.2, now + at + 0.02);
            gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.16);
            osc.connect(gain).connect(ctx.destination);
            osc.start(now + at);
            osc.stop(now + at + 0.17);
        }
    }
}
