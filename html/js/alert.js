// A new call in the queue: a short two-tone sound (sound.js) and a
// browser notification when the agent allowed them.

import { Tones } from './sound.js';

export class NewCallAlert {
    constructor() {
        this.tones = new Tones();
    }

    notificationsSupported() {
        return typeof Notification !== 'undefined';
    }

    permission() {
        return this.notificationsSupported() ? Notification.permission
                                             : 'denied';
    }

    // The console is open: sound as soon as the browser allows it (at
    // once, or from the first click or key press in the page).
    prepare() {
        this.tones.prepare();
    }

    soundBlocked() {
        return this.tones.blocked();
    }

    onChange(fn) {
        this.tones.onChange(fn);
    }

    // From a click: unlocks the sound and asks for the notification
    // permission (browsers allow both only after a user gesture).
    async enable() {
        this.tones.unlock();
        if (this.notificationsSupported()
            && Notification.permission === 'default') {
            await Notification.requestPermission();
        }
        return this.permission();
    }

    unlockSound() {
        this.tones.unlock();
    }

    // title and body are plain text (a notification never renders HTML)
    notify(title, body) {
        this.tones.play(Tones.NEW_CALL);
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
}
