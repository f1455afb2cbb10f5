// The customer's microphone check before a call: the microphone is asked
// for when the customer presses Call (or "test my microphone"), and a
// level meter and a device list show whether it hears them while they
// wait, so that a refused, missing or silent microphone shows before an
// agent is on the line.  The open microphone then goes into the call.
//
//   const check = new MicCheck({ card, select, pick, meter, state });
//   const problem = await check.open();   // null, or an i18n key
//   view.begin({ ..., micStream: check.take() });
//   check.release();                      // the call is over

import { show } from './ui.js';
import { setText } from './i18n.js';
import { openMicrophone, mediaErrorKey } from './media.js';
import { DevicePicker } from './devices.js';
import { LevelMeter } from './meter.js';

export class MicCheck {
    // card: the section shown while checking; select/pick: the device
    // list and its label; meter: <meter>; state: the line that says
    // whether sound comes
    constructor({ card, select, pick, meter, state }) {
        this.card = card;
        this.state = state;
        this.stream = null;
        this.picker = new DevicePicker({ kind: 'audioinput', select,
                                         wrap: pick });
        this.meter = new LevelMeter(meter, (heard) => this.heard(heard));
        this.picker.onChange(() => this.open());
    }

    // Opens (or reopens, with the chosen device) the microphone and
    // meters it; resolves with null or the key of the problem.
    async open() {
        const old = this.stream;
        let stream;
        try {
            stream = await openMicrophone(this.picker.value);
        } catch (err) {
            return mediaErrorKey(err, 'microphone');
        }
        if (old) {
            for (const tr of old.getTracks()) {
                tr.stop();
            }
        }
        this.stream = stream;
        const track = stream.getAudioTracks()[0];
        setText(this.state, 'c.mic.speak');
        this.state.dataset.heard = '';
        this.meter.start(track);
        show(this.card, true);
        await this.picker.refresh(track.getSettings().deviceId);
        return null;
    }

    heard(yes) {
        setText(this.state, yes ? 'c.mic.ok' : 'c.mic.silent');
        this.state.dataset.heard = String(yes);
    }

    get ready() {
        return !!this.stream && this.stream.getAudioTracks()
            .some((t) => t.readyState === 'live');
    }

    // The microphone for the call (the check stops showing).
    take() {
        this.meter.stop();
        show(this.card, false);
        return this.ready ? this.stream : null;
    }

    release() {
        this.meter.stop();
        show(this.card, false);
        if (this.stream) {
            for (const tr of this.stream.getTracks()) {
                tr.stop();
            }
        }
        this.stream = null;
    }
}
