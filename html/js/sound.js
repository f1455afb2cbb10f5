// Short tones made with Web Audio (no file to fetch): the console's
// new-call alert and the customer page's "an agent answered" chime.
//
// Browsers keep a page silent until the person has clicked or typed in
// it: an AudioContext made before that starts suspended, and a reload
// starts over.  prepare() makes the context and resumes it at the page's
// first click or key press; blocked() says whether it still waits for
// one, onChange(fn) follows that.
//
//   const tones = new Tones();
//   tones.prepare();                 // or unlock() from a click handler
//   tones.play(Tones.ANSWERED);      // false: blocked (no sound)

export class Tones {
    constructor() {
        this.ctx = null;
        this.listeners = [];
        this.armed = false;
    }

    supported() {
        return !!(window.AudioContext || window.webkitAudioContext);
    }

    prepare() {
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC) {
            return;
        }
        if (!this.ctx) {
            this.ctx = new AC();
            this.ctx.addEventListener('statechange', () => this.changed());
        }
        if (this.ctx.state !== 'running' && !this.armed) {
            // the first gesture anywhere on the page unlocks the sound
            this.armed = true;
            const gesture = () => {
                document.removeEventListener('pointerdown', gesture, true);
                document.removeEventListener('keydown', gesture, true);
                this.armed = false;
                this.unlock();
            };
            document.addEventListener('pointerdown', gesture, true);
            document.addEventListener('keydown', gesture, true);
        }
        this.changed();
    }

    // From a click or key press: sound is allowed from now on.
    unlock() {
        this.prepare();
        if (this.ctx && this.ctx.state === 'suspended') {
            this.ctx.resume().then(() => this.changed(), () => {});
        }
    }

    blocked() {
        return !this.ctx || this.ctx.state !== 'running';
    }

    onChange(fn) {
        this.listeners.push(fn);
    }

    changed() {
        for (const fn of this.listeners) {
            fn(this.blocked());
        }
    }

    // notes: [[frequency Hz, start s], ...], each 0.16 s long.
    play(notes) {
        if (this.blocked()) {
            return false;
        }
        const ctx = this.ctx;
        const now = ctx.currentTime;
        for (const [freq, at] of notes) {
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
        return true;
    }
}

// a falling two-tone: someone is waiting (the console)
Tones.NEW_CALL = [[880, 0], [660, 0.18]];
// a rising three-tone: an agent answered (the customer page)
Tones.ANSWERED = [[523, 0], [659, 0.15], [784, 0.3]];
// a soft low pair, now and then: the call is on hold (the customer page)
Tones.HOLD = [[392, 0], [330, 0.2]];
