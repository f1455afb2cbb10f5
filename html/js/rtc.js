// The WebRTC side of a call, shared by both pages: microphone, one
// RTCPeerConnection, the offer (agent) or answer (customer), trickle ICE
// relayed over the signaling WebSocket, and mute.
//
// The agent makes the offer; the customer answers.  Incoming signaling
// messages are handled one at a time in arrival order.

export class PeerCall {
    // role: 'agent' (offers) or 'customer' (answers)
    // signaling: a Signaling; audio: an <audio> element for the peer
    // onState(text, kind): connection state for the page's status
    constructor({ role, signaling, audio, onState, iceServers = [] }) {
        this.role = role;
        this.sig = signaling;
        this.audio = audio;
        this.onState = onState;
        this.iceServers = iceServers;
        this.stream = null;
        this.pc = null;
        this.muted = false;
        this.closed = false;
        this.chain = Promise.resolve();
        this.remoteIce = [];    // candidates that came before the description
        this.localIce = [];     // ours, held until our description is sent
        this.described = false;
    }

    // Opens the microphone and, for the agent, sends the offer.
    start() {
        return this.serial(async () => {
            try {
                this.stream = await navigator.mediaDevices.getUserMedia({
                    audio: true, video: false,
                });
            } catch (err) {
                this.onState('Microphone unavailable (' + err.name
                             + '): you can listen and chat.', 'warn');
            }
            if (this.closed) {
                this.stopMic();
                return;
            }
            this.createPeer();
            if (this.role === 'agent') {
                await this.offer(false);
            }
        });
    }

    createPeer() {
        if (this.pc) {
            this.pc.close();
        }
        const pc = new RTCPeerConnection({ iceServers: this.iceServers });
        this.pc = pc;
        this.described = false;
        this.localIce = [];
        this.remoteIce = [];

        if (this.stream) {
            for (const track of this.stream.getAudioTracks()) {
                track.enabled = !this.muted;
                pc.addTrack(track, this.stream);
            }
        } else if (this.role === 'agent') {
            pc.addTransceiver('audio', { direction: 'recvonly' });
        }

        pc.ontrack = (ev) => {
            this.audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
            this.audio.play().catch(() => {});
        };

        pc.onicecandidate = (ev) => {
            const c = ev.candidate;
            const msg = {
                type: 'ice',
                candidate: c === null || c.candidate === '' ? null : {
                    candidate: c.candidate,
                    sdpMid: c.sdpMid,
                    sdpMLineIndex: c.sdpMLineIndex,
                    usernameFragment: c.usernameFragment,
                },
            };
            if (this.described) {
                this.sig.send(msg);
            } else {
                this.localIce.push(msg);
            }
        };

        pc.onconnectionstatechange = () => {
            if (this.pc !== pc) {
                return;
            }
            const s = pc.connectionState;
            if (s === 'connected') {
                this.onState('Audio connected.', 'ok');
            } else if (s === 'disconnected') {
                this.onState('Audio interrupted, waiting for it to recover…',
                             'warn');
            } else if (s === 'failed') {
                this.onState('Audio connection failed.', 'error');
                if (this.role === 'agent') {
                    this.serial(() => this.offer(true));
                }
            }
        };
    }

    async offer(iceRestart) {
        if (this.closed || !this.pc) {
            return;
        }
        const desc = await this.pc.createOffer({ iceRestart });
        await this.pc.setLocalDescription(desc);
        this.sendDescription('offer');
    }

    sendDescription(type) {
        this.sig.send({ type, sdp: this.pc.localDescription.sdp });
        this.described = true;
        for (const msg of this.localIce) {
            this.sig.send(msg);
        }
        this.localIce = [];
    }

    // An `offer`, `answer` or `ice` message from the peer.
    handle(msg) {
        return this.serial(async () => {
            if (this.closed) {
                return;
            }
            if (msg.type === 'offer') {
                await this.takeOffer(msg.sdp);
            } else if (msg.type === 'answer') {
                if (this.pc && this.pc.signalingState === 'have-local-offer') {
                    await this.pc.setRemoteDescription({ type: 'answer',
                                                         sdp: msg.sdp });
                    await this.drainRemoteIce();
                }
            } else if (msg.type === 'ice') {
                await this.addIce(msg.candidate);
            }
        });
    }

    async takeOffer(sdp) {
        if (!this.pc) {
            this.createPeer();
        }
        try {
            await this.pc.setRemoteDescription({ type: 'offer', sdp });
        } catch (err) {
            // A new peer connection on the other side (it reloaded): start
            // over with a fresh one of ours.
            this.createPeer();
            await this.pc.setRemoteDescription({ type: 'offer', sdp });
        }
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.sendDescription('answer');
        await this.drainRemoteIce();
    }

    async addIce(candidate) {
        if (!this.pc || !this.pc.remoteDescription) {
            this.remoteIce.push(candidate);
            return;
        }
        try {
            await this.pc.addIceCandidate(candidate || null);
        } catch (err) {
            console.warn('ice candidate refused', err);
        }
    }

    async drainRemoteIce() {
        const queued = this.remoteIce;
        this.remoteIce = [];
        for (const c of queued) {
            await this.addIce(c);
        }
    }

    setMuted(muted) {
        this.muted = muted;
        if (this.stream) {
            for (const track of this.stream.getAudioTracks()) {
                track.enabled = !muted;
            }
        }
        this.sig.send({ type: 'media', audio: !muted });
    }

    hasMicrophone() {
        return this.stream !== null;
    }

    serial(fn) {
        this.chain = this.chain.then(fn).catch((err) => {
            console.error(err);
            this.onState('Audio setup failed: ' + err.message, 'error');
        });
        return this.chain;
    }

    stopMic() {
        if (this.stream) {
            for (const track of this.stream.getTracks()) {
                track.stop();
            }
        }
        this.stream = null;
    }

    close() {
        this.closed = true;
        if (this.pc) {
            this.pc.close();
            this.pc = null;
        }
        this.stopMic();
        this.audio.srcObject = null;
    }
}
