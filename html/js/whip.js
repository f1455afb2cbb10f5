// Publishing our own media to hotline-recorder over WHIP (RFC 9725) when
// the call is recorded: the `accepted` message's recording {url, token}.
// A second, send-only RTCPeerConnection: one POST of the complete offer
// (candidates gathered first, so no PATCH is needed), the answer in the
// 201, DELETE of the session's Location at the end.

const GATHER_TIMEOUT_MS = 3000;

export class WhipPublisher {
    constructor({ url, token, iceServers = [] }) {
        this.url = url;
        this.token = token;
        this.iceServers = iceServers;
        this.pc = null;
        this.location = null;
        this.videoSender = null;
        this.audioSender = null;
        this.closed = false;
    }

    // audioTrack: the microphone (or null); videoTrack: camera/screen/null
    async publish(audioTrack, videoTrack) {
        const pc = new RTCPeerConnection({ iceServers: this.iceServers,
                                           bundlePolicy: 'max-bundle' });
        this.pc = pc;
        const audio = pc.addTransceiver(audioTrack || 'audio',
                                        { direction: 'sendonly' });
        this.audioSender = audio.sender;
        const video = pc.addTransceiver('video', { direction: 'sendonly' });
        this.videoSender = video.sender;
        if (videoTrack) {
            await video.sender.replaceTrack(videoTrack);
        }
        onlyCodec(audio, 'audio', /\/opus$/i);
        onlyCodec(video, 'video', /\/VP8$/i);

        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        if (this.closed) {
            return;
        }
        const res = await fetch(this.url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/sdp',
                       Authorization: 'Bearer ' + this.token },
            body: pc.localDescription.sdp,
        });
        if (res.status !== 201) {
            throw new Error('WHIP ' + res.status);
        }
        const loc = res.headers.get('Location');
        this.location = loc ? new URL(loc, new URL(this.url, location.href))
                              .href : null;
        await pc.setRemoteDescription({ type: 'answer',
                                        sdp: await res.text() });
    }

    async setAudioTrack(track) {
        if (this.audioSender) {
            await this.audioSender.replaceTrack(track);
        }
    }

    async setVideoTrack(track) {
        if (this.videoSender) {
            await this.videoSender.replaceTrack(track);
        }
    }

    // Ends the recording of our side: DELETE first (the recorder finalizes
    // the file), then the connection (closing it first would end the
    // recording as "peer_closed"; after 2 s it is closed anyway).
    close() {
        this.closed = true;
        const pc = this.pc;
        this.pc = null;
        this.videoSender = null;
        const closePc = () => {
            if (pc) {
                pc.close();
            }
        };
        if (!this.location) {
            closePc();
            return;
        }
        const timer = setTimeout(closePc, 2000);
        fetch(this.location, {
            method: 'DELETE',
            headers: { Authorization: 'Bearer ' + this.token },
            keepalive: true,
        }).catch(() => {}).finally(() => {
            clearTimeout(timer);
            closePc();
        });
        this.location = null;
    }
}

function onlyCodec(transceiver, kind, re) {
    if (typeof transceiver.setCodecPreferences !== 'function') {
        return;
    }
    const caps = RTCRtpReceiver.getCapabilities(kind);
    const pick = caps ? caps.codecs.filter((c) => re.test(c.mimeType)) : [];
    if (pick.length) {
        try {
            transceiver.setCodecPreferences(pick);
        } catch (err) {
            // the browser's own order then
        }
    }
}

function gathered(pc) {
    if (pc.iceGatheringState === 'complete') {
        return Promise.resolve();
    }
    return new Promise((resolve) => {
        const done = () => {
            if (pc.iceGatheringState === 'complete') {
                clearTimeout(timer);
                pc.removeEventListener('icegatheringstatechange', done);
                resolve();
            }
        };
        const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
        pc.addEventListener('icegatheringstatechange', done);
    });
}
