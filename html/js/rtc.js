// The WebRTC side of a call, shared by both pages: the microphone, one
// RTCPeerConnection with an audio and a video transceiver (the video one
// carries the camera or the screen when either is on, nothing otherwise,
// so turning them on and off needs no renegotiation), trickle ICE over the
// signaling WebSocket, Opus with FEC/DTX, and ICE restarts.
//
// The agent makes the first offer; the customer answers.  Later offers
// (ICE restarts) may come from either side: "perfect negotiation", with
// the customer as the polite peer that rolls back on a collision and the
// agent as the one that ignores the colliding offer.  Incoming signaling
// messages and our own negotiation run one at a time, in order.

import { openMicrophone, mediaErrorKey } from './media.js';
import { preferOpus, mungeOpus } from './sdp.js';

const DISCONNECTED_RESTART_MS = 4000;

export class PeerCall {
    // role: 'agent' (offers first) or 'customer' (answers)
    // signaling: a Signaling; iceServers: RTCIceServer[]
    // onState(key, kind): connection news for the page's status line
    // onRemote(stream): the peer's media stream (audio, maybe video)
    // onPeerConnection(pc): a new RTCPeerConnection (for the stats)
    // stream: the microphone opened already (the customer's device
    // check), else micDevice: the device to open (null: the default)
    constructor({ role, signaling, iceServers = [], onState, onRemote,
                  onPeerConnection = () => {}, stream = null,
                  micDevice = null }) {
        this.role = role;
        this.polite = role === 'customer';
        this.sig = signaling;
        this.iceServers = iceServers;
        this.onState = onState;
        this.onRemote = onRemote;
        this.onPeerConnection = onPeerConnection;
        this.stream = stream;       // the microphone
        this.micDevice = micDevice;
        this.videoTrack = null;     // camera or screen, or null
        this.pc = null;
        this.muted = false;
        this.closed = false;
        this.chain = Promise.resolve();
        this.makingOffer = false;
        this.ignoreOffer = false;
        this.remote = new MediaStream();
        this.restartTimer = null;
        this.everConnected = false;
    }

    // Opens the microphone; the agent then creates the connection and
    // offers.  Resolves with null or the i18n key of a microphone problem.
    start() {
        let problem = null;
        return this.serial(async () => {
            const live = this.micTrack()
                         && this.micTrack().readyState === 'live';
            try {
                if (!live) {
                    this.stream = await openMicrophone(this.micDevice);
                }
            } catch (err) {
                this.stream = null;
                problem = mediaErrorKey(err, 'microphone');
                this.onState(problem, 'warn');
            }
            if (this.closed) {
                this.stopLocal();
                return;
            }
            this.applyMute();
            if (this.role === 'agent') {
                this.createPeer();
            }
        }).then(() => problem);
    }

    micTrack() {
        return this.stream ? this.stream.getAudioTracks()[0] || null : null;
    }

    createPeer() {
        if (this.pc) {
            this.pc.close();
        }
        const pc = new RTCPeerConnection({
            iceServers: this.iceServers,
            bundlePolicy: 'max-bundle',
        });
        this.pc = pc;
        this.makingOffer = false;
        this.ignoreOffer = false;
        this.remote = new MediaStream();

        if (this.role === 'agent') {
            const mic = this.micTrack();
            const audio = pc.addTransceiver(mic || 'audio', {
                direction: 'sendrecv',
                streams: this.stream ? [this.stream] : [],
            });
            preferOpus(audio);
            const video = pc.addTransceiver('video', { direction: 'sendrecv' });
            if (this.videoTrack) {
                video.sender.replaceTrack(this.videoTrack);
            }
        }

        pc.ontrack = (ev) => {
            for (const old of this.remote.getTracks()) {
                if (old.kind === ev.track.kind && old !== ev.track) {
                    this.remote.removeTrack(old);
                }
            }
            if (!this.remote.getTracks().includes(ev.track)) {
                this.remote.addTrack(ev.track);
            }
            this.onRemote(this.remote);
        };

        pc.onicecandidate = (ev) => {
            const c = ev.candidate;
            this.sig.send({
                type: 'ice',
                candidate: c === null || c.candidate === '' ? null : {
                    candidate: c.candidate,
                    sdpMid: c.sdpMid,
                    sdpMLineIndex: c.sdpMLineIndex,
                    usernameFragment: c.usernameFragment,
                },
            });
        };

        pc.onnegotiationneeded = () => {
            if (this.pc === pc) {
                this.serial(() => this.makeOffer({}));
            }
        };

        pc.onconnectionstatechange = () => {
            if (this.pc !== pc) {
                return;
            }
            const s = pc.connectionState;
            if (s === 'connected') {
                if (!this.everConnected) {
                    // for the operators' time-to-media histogram
                    this.sig.send({ type: 'connected' });
                }
                this.everConnected = true;
                clearTimeout(this.restartTimer);
                this.onState('call.connected', 'ok');
            } else if (s === 'disconnected') {
                this.onState('call.interrupted', 'warn');
                clearTimeout(this.restartTimer);
                this.restartTimer = setTimeout(() => {
                    if (this.pc === pc && pc.connectionState !== 'connected') {
                        this.restartIce();
                    }
                }, DISCONNECTED_RESTART_MS);
            } else if (s === 'failed') {
                this.restartIce();
            }
        };

        this.onPeerConnection(pc);
        return pc;
    }

    // The peer's page started over (it reloaded and came back into the
    // call): a connection of our own again; the agent's offers at once.
    restart() {
        if (this.closed) {
            return;
        }
        this.serial(async () => {
            if (!this.closed) {
                this.createPeer();
            }
        });
    }

    // An ICE restart: a new offer with fresh ICE credentials.
    restartIce() {
        if (this.closed || !this.pc) {
            return;
        }
        this.onState('call.restart', 'warn');
        this.serial(() => this.makeOffer({ iceRestart: true }));
    }

    async makeOffer(options) {
        const pc = this.pc;
        if (this.closed || !pc || pc.signalingState !== 'stable') {
            return;
        }
        try {
            this.makingOffer = true;
            const offer = await pc.createOffer(options);
            if (this.pc !== pc || pc.signalingState !== 'stable') {
                return;
            }
            await pc.setLocalDescription({ type: 'offer',
                                           sdp: mungeOpus(offer.sdp) });
            this.sig.send({ type: 'offer', sdp: pc.localDescription.sdp });
        } finally {
            this.makingOffer = false;
        }
    }

    // An `offer`, `answer` or `ice` message from the peer.
    handle(msg) {
        return this.serial(async () => {
            if (this.closed) {
                return;
            }
            if (msg.type === 'ice') {
                await this.addIce(msg.candidate);
            } else {
                await this.takeDescription(msg.type, msg.sdp);
            }
        });
    }

    async takeDescription(type, sdp) {
        if (!this.pc) {
            if (type !== 'offer') {
                return;
            }
            this.createPeer();
        }
        const pc = this.pc;
        const collision = type === 'offer'
            && (this.makingOffer || pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) {
            return;
        }
        if (type === 'answer' && pc.signalingState !== 'have-local-offer') {
            return;     // a late answer to an offer that was rolled back
        }
        try {
            await pc.setRemoteDescription({ type, sdp });
        } catch (err) {
            if (type !== 'offer') {
                throw err;
            }
            // The peer started over with a new connection (its page
            // reloaded): start over with a fresh one of ours.
            this.createPeer();
            await this.pc.setRemoteDescription({ type, sdp });
        }
        if (type === 'offer') {
            this.attachLocal();
            const answer = await this.pc.createAnswer();
            await this.pc.setLocalDescription({ type: 'answer',
                                                sdp: mungeOpus(answer.sdp) });
            this.sig.send({ type: 'answer',
                            sdp: this.pc.localDescription.sdp });
        }
    }

    // The answering side: our microphone and video on the transceivers the
    // offer created, both sending and receiving.
    attachLocal() {
        for (const tr of this.pc.getTransceivers()) {
            if (tr.stopped || tr.currentDirection === 'stopped') {
                continue;
            }
            const kind = tr.receiver.track.kind;
            if (kind === 'audio') {
                preferOpus(tr);
                if (!tr.sender.track && this.micTrack()) {
                    tr.sender.replaceTrack(this.micTrack());
                    if (this.stream && tr.sender.setStreams) {
                        tr.sender.setStreams(this.stream);
                    }
                }
            } else if (kind === 'video' && tr.sender.track !== this.videoTrack) {
                tr.sender.replaceTrack(this.videoTrack);
            }
            tr.direction = 'sendrecv';
        }
    }

    async addIce(candidate) {
        if (!this.pc) {
            return;
        }
        try {
            await this.pc.addIceCandidate(candidate || null);
        } catch (err) {
            if (!this.ignoreOffer) {
                console.warn('ice candidate refused', err);
            }
        }
    }

    // Another microphone in the middle of the call (the old one stops).
    async setMicTrack(track) {
        const old = this.micTrack();
        this.stream = new MediaStream([track]);
        this.applyMute();
        if (this.pc) {
            for (const tr of this.pc.getTransceivers()) {
                if (tr.receiver.track.kind === 'audio' && !tr.stopped) {
                    await tr.sender.replaceTrack(track);
                }
            }
        }
        if (old && old !== track) {
            old.stop();
        }
    }

    setMuted(muted) {
        this.muted = muted;
        this.applyMute();
    }

    applyMute() {
        if (this.stream) {
            for (const track of this.stream.getAudioTracks()) {
                track.enabled = !this.muted;
            }
        }
    }

    // Camera or screen track (or null) on the video transceiver.
    async setVideoTrack(track) {
        this.videoTrack = track;
        if (!this.pc) {
            return;
        }
        for (const tr of this.pc.getTransceivers()) {
            if (tr.receiver.track.kind === 'video' && !tr.stopped) {
                await tr.sender.replaceTrack(track);
            }
        }
    }

    serial(fn) {
        this.chain = this.chain.then(fn).catch((err) => {
            console.error(err);
            if (!this.closed) {
                this.onState('call.failed', 'error');
            }
        });
        return this.chain;
    }

    stopLocal() {
        if (this.stream) {
            for (const track of this.stream.getTracks()) {
                track.stop();
            }
        }
        this.stream = null;
    }

    close() {
        this.closed = true;
        clearTimeout(this.restartTimer);
        if (this.pc) {
            this.pc.close();
            this.pc = null;
        }
        this.stopLocal();
    }
}
