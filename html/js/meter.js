// A microphone level meter: the level of a track ten times a second in a
// <meter>, and whether any sound came from it lately, so that a silent
// microphone (muted by a switch, the wrong device) shows before a call.
//
//   const m = new LevelMeter(meterElement, (heard) => ...);
//   m.start(track);     // heard(false) after SILENT_MS without sound
//   m.stop();

const TICK_MS = 100;
// RMS of the samples above which it counts as sound (about -46 dBFS)
const SOUND_RMS = 0.005;
export const SILENT_MS = 3000;

export class LevelMeter {
    // onHeard(heard): true at the first sound, false after SILENT_MS of
    // none (each once per change)
    constructor(meter, onHeard = () => {}) {
        this.meter = meter;
        this.onHeard = onHeard;
        this.ctx = null;
        this.source = null;
        this.timer = null;
        this.heard = null;
    }

    start(track) {
        this.stop();
        const AC = window.AudioContext || window.webkitAudioContext;
        if (!AC || !track) {
            return;
        }
        if (!this.ctx) {
            this.ctx = new AC();
        }
        this.ctx.resume().catch(() => {});
        this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
        const analyser = this.ctx.createAnalyser();
        analyser.fftSize = 1024;
        this.source.connect(analyser);
        const buf = new Float32Array(analyser.fftSize);
        let last = performance.now();
        this.heard = null;
        this.timer = setInterval(() => {
            analyser.getFloatTimeDomainData(buf);
            let sum = 0;
            for (const v of buf) {
                sum += v * v;
            }
            const rms = Math.sqrt(sum / buf.length);
            // a level people read: about 0 at -60 dBFS, full at -10 dBFS
            const db = 20 * Math.log10(Math.max(rms, 1e-6));
            this.meter.value = Math.min(1, Math.max(0, (db + 60) / 50));
            const now = performance.now();
            if (rms > SOUND_RMS) {
                last = now;
                this.set(true);
            } else if (now - last > SILENT_MS) {
                this.set(false);
            }
        }, TICK_MS);
    }

    set(heard) {
        if (this.heard !== heard) {
            this.heard = heard;
            this.onHeard(heard);
        }
    }

    stop() {
        clearInterval(this.timer);
        this.timer = null;
        if (this.source) {
            this.source.disconnect();
            this.source = null;
        }
        this.meter.value = 0;
        this.heard = null;
    }
}
