// Opus preferences for a call: Opus first among the audio codecs
// (setCodecPreferences where the browser has it), and in-band FEC and DTX
// asked for in its fmtp line (SDP munging of the local description: the
// fmtp of our own description tells the peer what we want to receive and
// how we send).

// Puts Opus first on an audio transceiver; a no-op where unsupported.
export function preferOpus(transceiver) {
    if (!transceiver || typeof transceiver.setCodecPreferences !== 'function'
        || typeof RTCRtpReceiver.getCapabilities !== 'function') {
        return;
    }
    const caps = RTCRtpReceiver.getCapabilities('audio');
    if (!caps) {
        return;
    }
    const opus = caps.codecs.filter((c) => /\/opus$/i.test(c.mimeType));
    const rest = caps.codecs.filter((c) => !/\/opus$/i.test(c.mimeType));
    if (opus.length === 0) {
        return;
    }
    try {
        transceiver.setCodecPreferences([...opus, ...rest]);
    } catch (err) {
        // a browser that refuses the list keeps its own order
    }
}

// Adds useinbandfec=1 and usedtx=1 to the fmtp line of every Opus payload
// type (creating the line when there is none).
export function mungeOpus(sdp) {
    const lines = sdp.split('\r\n');
    const opusPts = new Set();
    for (const l of lines) {
        const m = /^a=rtpmap:(\d+) opus\/48000/i.exec(l);
        if (m) {
            opusPts.add(m[1]);
        }
    }
    if (opusPts.size === 0) {
        return sdp;
    }
    const seen = new Set();
    const out = [];
    for (const l of lines) {
        const m = /^a=fmtp:(\d+) (.*)$/.exec(l);
        if (m && opusPts.has(m[1])) {
            seen.add(m[1]);
            out.push('a=fmtp:' + m[1] + ' ' + withParams(m[2]));
            continue;
        }
        out.push(l);
        const r = /^a=rtpmap:(\d+) opus\/48000/i.exec(l);
        if (r && !lines.some((x) => x.startsWith('a=fmtp:' + r[1] + ' '))) {
            seen.add(r[1]);
            out.push('a=fmtp:' + r[1] + ' ' + withParams(''));
        }
    }
    return out.join('\r\n');
}

function withParams(params) {
    const kv = new Map();
    for (const p of params.split(';')) {
        const [k, v] = p.split('=');
        if (k && k.trim()) {
            kv.set(k.trim(), v === undefined ? '' : v.trim());
        }
    }
    kv.set('useinbandfec', '1');
    kv.set('usedtx', '1');
    return [...kv].map(([k, v]) => (v === '' ? k : k + '=' + v)).join(';');
}
