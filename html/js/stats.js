// Call quality from RTCPeerConnection.getStats(): round-trip time, packet
// loss and jitter of the received audio, the codec, the bit rates and the
// path (direct or relayed) of the selected ICE candidate pair; whether the
// peer's sound arrives (audioIn); and a quality level for the bar.
//
//   const q = new QualityMonitor(pc, (sample) => ...);   // every 2 s
//   q.stop();

const INTERVAL_MS = 2000;
// totalAudioEnergy gained in an interval below which the peer's audio is
// silence (a quiet room with a working microphone gains far more)
const SILENT_ENERGY = 1e-7;

export class QualityMonitor {
    constructor(pc, onSample) {
        this.pc = pc;
        this.onSample = onSample;
        this.prev = null;
        this.timer = setInterval(() => this.tick(), INTERVAL_MS);
        this.tick();
    }

    stop() {
        clearInterval(this.timer);
        this.timer = null;
    }

    async tick() {
        if (!this.pc || this.pc.connectionState === 'closed') {
            return;
        }
        let report;
        try {
            report = await this.pc.getStats();
        } catch (err) {
            return;
        }
        if (this.timer === null) {
            return;
        }
        const sample = summarize(report, this.prev);
        this.prev = sample.raw;
        this.onSample(sample);
    }
}

// One sample from a stats report and the previous sample's counters.
export function summarize(report, prev) {
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));

    let pair = null;
    let inAudio = null;
    let outBytes = 0;
    let inBytes = 0;
    let remoteInbound = null;
    report.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
            pair = byId.get(s.selectedCandidatePairId) || pair;
        }
        if (s.type === 'inbound-rtp') {
            inBytes += s.bytesReceived || 0;
            if (s.kind === 'audio') {
                inAudio = s;
            }
        }
        if (s.type === 'outbound-rtp') {
            outBytes += s.bytesSent || 0;
        }
        if (s.type === 'remote-inbound-rtp' && s.kind === 'audio') {
            remoteInbound = s;
        }
    });
    if (!pair) {
        report.forEach((s) => {
            if (s.type === 'candidate-pair' && s.nominated
                && s.state === 'succeeded') {
                pair = s;
            }
        });
    }

    const raw = {
        t: performance.now(),
        lost: inAudio ? Math.max(0, inAudio.packetsLost || 0) : 0,
        received: inAudio ? inAudio.packetsReceived || 0 : 0,
        inBytes, outBytes,
        audioPackets: inAudio ? inAudio.packetsReceived || 0 : 0,
        audioEnergy: inAudio ? inAudio.totalAudioEnergy || 0 : 0,
    };

    // The peer's sound since the last sample, once connected: 'none' (no
    // audio packets: no microphone, or it is off), 'silent' (packets of
    // silence: a microphone that hears nothing), 'ok'; null: unknown.
    let audioIn = null;
    if (pair && prev) {
        const packets = raw.audioPackets - prev.audioPackets;
        const energy = raw.audioEnergy - prev.audioEnergy;
        audioIn = packets <= 0 ? 'none'
                : energy < SILENT_ENERGY ? 'silent' : 'ok';
    }

    let loss = null;
    if (inAudio && prev) {
        const dl = raw.lost - prev.lost;
        const dr = raw.received - prev.received;
        loss = dl + dr > 0 ? (100 * Math.max(0, dl)) / (dl + dr) : 0;
    } else if (inAudio) {
        const total = raw.lost + raw.received;
        loss = total > 0 ? (100 * raw.lost) / total : 0;
    }

    let rtt = null;
    if (pair && Number.isFinite(pair.currentRoundTripTime)) {
        rtt = pair.currentRoundTripTime * 1000;
    } else if (remoteInbound && Number.isFinite(remoteInbound.roundTripTime)) {
        rtt = remoteInbound.roundTripTime * 1000;
    }
    const jitter = inAudio && Number.isFinite(inAudio.jitter)
        ? inAudio.jitter * 1000 : null;

    let codec = null;
    if (inAudio && inAudio.codecId && byId.get(inAudio.codecId)) {
        const c = byId.get(inAudio.codecId);
        codec = c.mimeType.replace(/^audio\//, '') + ' ' + c.clockRate / 1000
                + ' kHz' + (c.sdpFmtpLine ? ' (' + c.sdpFmtpLine + ')' : '');
    }

    let path = null;
    if (pair) {
        const local = byId.get(pair.localCandidateId);
        const remote = byId.get(pair.remoteCandidateId);
        if (local && remote) {
            path = {
                relayed: local.candidateType === 'relay'
                         || remote.candidateType === 'relay',
                local: local.candidateType + '/' + (local.protocol || '?'),
                remote: remote.candidateType + '/' + (remote.protocol || '?'),
            };
        }
    }

    let inKbps = null;
    let outKbps = null;
    if (prev && raw.t > prev.t) {
        const secs = (raw.t - prev.t) / 1000;
        inKbps = (8 * (raw.inBytes - prev.inBytes)) / 1000 / secs;
        outKbps = (8 * (raw.outBytes - prev.outBytes)) / 1000 / secs;
    }

    return {
        rtt, loss, jitter, codec, path, inKbps, outKbps, audioIn,
        bytesReceived: inBytes,
        level: level(rtt, loss, jitter),
        raw,
    };
}

// 'good', 'fair', 'poor', or 'none' before anything was measured.
export function level(rtt, loss, jitter) {
    if (rtt === null && loss === null && jitter === null) {
        return 'none';
    }
    if ((rtt ?? 0) > 500 || (loss ?? 0) > 8 || (jitter ?? 0) > 60) {
        return 'poor';
    }
    if ((rtt ?? 0) > 250 || (loss ?? 0) > 2 || (jitter ?? 0) > 30) {
        return 'fair';
    }
    return 'good';
}
