// The call panel both pages share: the peer's name and the call timer, the
// recording badge, the connection-quality bar, the media stage (the peer's
// video or screen when they send one, our own preview), the controls
// (mute, camera, screen sharing, speaker, full screen, hang up), the
// diagnostics (agent console) and the chat.  It owns the PeerCall of the
// call and the WHIP publisher when the call is recorded.
//
//   const view = new CallView({ mount, role, diagnostics, status, onHangup });
//   view.begin({ sig, peerName, recording, iceServers });
//   view.handle(msg);      // offer / answer / ice / chat / media / peer
//   view.end();

import { h, show, clock, every } from './ui.js';
import { setText, setPlain, number } from './i18n.js';
import { PeerCall } from './rtc.js';
import { Chat } from './chat.js';
import { QualityMonitor } from './stats.js';
import { WhipPublisher } from './whip.js';
import { Confirm } from './confirm.js';
import {
    openMicrophone, openCamera, openScreen, mediaErrorKey,
    screenShareSupported, speakerSelectionSupported,
} from './media.js';
import { DevicePicker } from './devices.js';
import { Tones } from './sound.js';

// Hanging up is asked first during a call's first seconds.
const EARLY_HANGUP_MS = 10000;

// The tone a customer on hold hears, every so often.
const HOLD_TONE_MS = 6000;

// Consecutive poor samples (2 s each) before video is dropped.
const POOR_SAMPLES_FOR_AUDIO_ONLY = 3;

function button(id, key, cls = '') {
    const b = h('button', { id, type: 'button', class: cls });
    setText(b, key);
    return b;
}

export class CallView {
    // mount: the element to build into; role: 'customer' | 'agent'
    // diagnostics: show the diagnostics panel
    // status(key, vars, kind): the page's status line
    // onHangup(): the user hangs up (asked first in the call's first
    // EARLY_HANGUP_MS)
    constructor({ mount, role, diagnostics = false, status, onHangup,
                  tones = null }) {
        this.role = role;
        this.tones = tones;
        this.held = false;
        this.holdTone = null;
        this.status = status;
        this.onHangup = onHangup;
        this.peerName = '';
        this.rtc = null;
        this.sig = null;
        this.monitor = null;
        this.whip = null;
        this.stopTimer = null;
        this.peerMedia = { audio: true, video: false, screen: false };
        this.local = { muted: false, camera: null, screen: null };
        this.poorCount = 0;
        this.lastSample = null;
        this.since = 0;
        this.peerAudio = { none: 0, silent: 0 };
        this.build(mount, diagnostics);
        this.hangupQuestion = new Confirm('hangup', {
            title: 'call.end.title', keep: 'call.end.keep', go: 'call.end.go' });
    }

    // Hang up; in the first seconds of a call only when confirmed (an
    // Enter too many, a slip of the finger).
    async hangup() {
        const age = Date.now() - this.since;
        if (age < EARLY_HANGUP_MS) {
            const yes = await this.hangupQuestion.ask({
                text: 'call.end.text', vars: { t: clock(age / 1000) },
                fallback: this.r.title });
            if (!yes || !this.sig) {
                return;
            }
        }
        this.onHangup();
    }

    // The focus on the call's title (a call begins).
    focus() {
        this.r.title.focus();
    }

    build(mount, diagnostics) {
        const r = {};
        // the focus lands here when a call begins (never on Hang up); the
        // customer's page is the call then (h1), the console has its own
        r.title = h(this.role === 'customer' ? 'h1' : 'h2',
                    { id: 'call-title', tabindex: '-1' });
        r.timer = h('span', { id: 'call-timer', class: 'timer' }, '0:00');
        r.rec = h('span', { id: 'rec-badge', class: 'rec', hidden: true });
        r.recText = h('span', { i18n: 'call.recording' });
        r.rec.append(h('span', { class: 'dot', 'aria-hidden': 'true' }),
                     r.recText);
        r.peerMedia = h('p', { id: 'peer-media', class: 'peer-media',
                               'aria-live': 'polite' });

        r.bars = h('span', { class: 'bars', 'data-level': 'none',
                             'aria-hidden': 'true' },
                   h('i'), h('i'), h('i'));
        r.qText = h('span', { class: 'q-text', i18n: 'q.none' });
        r.qDetail = h('span', { class: 'q-detail' });
        // not a live region: its numbers change every 2 s
        r.quality = h('div', { id: 'quality', class: 'quality',
                               role: 'group', 'data-level': 'none',
                               'i18n-attr': { 'aria-label': 'q.label' } },
                      r.bars, r.qText, r.qDetail);

        r.remoteVideo = h('video', { id: 'remote-video', class: 'remote-video',
                                     autoplay: true, playsinline: true,
                                     muted: true, hidden: true });
        r.remoteVideo.muted = true;
        r.localVideo = h('video', { id: 'local-video', class: 'local-video',
                                    autoplay: true, playsinline: true,
                                    muted: true, hidden: true });
        r.localVideo.muted = true;
        r.avatar = h('div', { class: 'avatar', 'aria-hidden': 'true' });
        r.stage = h('div', { id: 'stage', class: 'stage' },
                    r.avatar, r.remoteVideo, r.localVideo);
        r.audio = h('audio', { id: 'remote-audio', autoplay: true });
        // media problems stay in view (the status line moves on)
        r.mediaNote = h('p', { id: 'media-note', class: 'media-note',
                               role: 'alert', hidden: true });
        // the call on hold
        r.holdNote = h('p', { id: 'hold-note', class: 'hold-note',
                              role: 'status', hidden: true });

        r.mute = button('mute-btn', 'call.mute');
        r.selfMuted = h('span', { id: 'self-muted', class: 'flag',
                                  i18n: 'call.self_muted', hidden: true });
        r.mute.setAttribute('aria-pressed', 'false');
        r.camera = button('camera-btn', 'call.camera_on');
        r.camera.setAttribute('aria-pressed', 'false');
        r.share = button('share-btn', 'call.share');
        r.share.setAttribute('aria-pressed', 'false');
        show(r.share, screenShareSupported());
        r.full = button('fullscreen-btn', 'call.fullscreen');
        r.full.setAttribute('aria-pressed', 'false');
        r.hangup = button('hangup-btn', 'call.hangup', 'danger');

        r.controls = h('div', { class: 'controls', role: 'group',
                                'i18n-attr': { 'aria-label': 'call.controls' } },
                       r.mute, r.camera, r.share, r.full, r.hangup);

        // the devices: chosen here, remembered for the next call
        this.mic = new DevicePicker({ kind: 'audioinput',
                                      id: 'call-mic-select', label: 'dev.mic' });
        this.cam = new DevicePicker({ kind: 'videoinput',
                                      id: 'call-camera-select',
                                      label: 'dev.camera' });
        this.speaker = new DevicePicker({ kind: 'audiooutput',
                                          id: 'speaker-select',
                                          label: 'dev.speaker' });
        r.speakerNote = h('p', { id: 'speaker-note', class: 'note',
                                 i18n: 'call.speaker.unsupported' });
        show(r.speakerNote, !speakerSelectionSupported());
        r.devices = h('details', { id: 'devices', class: 'devices',
                                   open: wide() },
                      h('summary', { i18n: 'dev.title' }),
                      h('div', { class: 'device-list' }, this.mic.el,
                        this.cam.el, this.speaker.el));
        this.mic.onChange((id) => this.switchMic(id));
        this.cam.onChange((id) => this.switchCamera(id));
        this.speaker.onChange(() => this.chooseSpeaker());

        r.diag = null;
        if (diagnostics) {
            r.diagRows = {};
            const dl = h('dl', { class: 'diag-list' });
            for (const [k, key] of [['rtt', 'a.diag.rtt'],
                                    ['loss', 'a.diag.loss'],
                                    ['jitter', 'a.diag.jitter'],
                                    ['codec', 'a.diag.codec'],
                                    ['path', 'a.diag.path'],
                                    ['bitrate', 'a.diag.bitrate']]) {
                const dd = h('dd', { id: 'diag-' + k }, '–');
                r.diagRows[k] = dd;
                dl.append(h('dt', { i18n: key }), dd);
            }
            // open where there is room; on a phone it waits to be asked
            r.diag = h('details', { id: 'diag', class: 'diag', open: wide() },
                       h('summary', { i18n: 'a.diag' }), dl);
        }

        // focusable: a long chat scrolls, by keyboard too
        r.chatLog = h('ol', { id: 'chat-log', class: 'chat-log',
                              tabindex: '0', 'aria-live': 'polite',
                              'i18n-attr': { 'aria-label': 'chat' } });
        r.chatInput = h('input', {
            id: 'chat-input', autocomplete: 'off',
            'i18n-attr': { placeholder: 'chat.placeholder',
                           'aria-label': 'chat.message' } });
        r.chatSend = h('button', { type: 'submit', i18n: 'chat.send' });
        r.chatCount = h('p', { id: 'chat-count' });
        r.chatForm = h('form', { id: 'chat-form', class: 'row' },
                       r.chatInput, r.chatSend, r.chatCount);
        const chatBox = h('section', { class: 'chat',
                                       'aria-labelledby': 'chat-title' },
                          h(this.role === 'customer' ? 'h2' : 'h3',
                            { id: 'chat-title', i18n: 'chat' }),
                          r.chatLog, r.chatForm);

        const head = h('div', { class: 'call-head' },
                       h('div', { class: 'who' }, r.title,
                         h('p', { class: 'meta' }, r.timer, r.rec,
                           r.selfMuted),
                         r.peerMedia),
                       r.quality);
        const main = h('div', { class: 'call-main' }, r.holdNote,
                       r.mediaNote, r.stage,
                       r.audio, r.controls, r.devices, r.speakerNote);
        if (r.diag) {
            main.append(r.diag);
        }
        const body = h('div', { class: 'call-body' }, main, chatBox);
        mount.replaceChildren(head, body);
        this.r = r;

        this.chat = new Chat({ log: r.chatLog, form: r.chatForm,
                               input: r.chatInput, count: r.chatCount,
                               peerLabel: () => this.peerName });
        this.chat.setEnabled(false);

        r.mute.addEventListener('click', () => this.toggleMute());
        r.camera.addEventListener('click', () => this.toggleCamera());
        r.share.addEventListener('click', () => this.toggleScreen());
        r.full.addEventListener('click', () => this.toggleFullscreen());
        r.hangup.addEventListener('click', () => this.hangup());
        document.addEventListener('fullscreenchange', () => {
            r.full.setAttribute('aria-pressed',
                                String(document.fullscreenElement === r.stage));
        });
    }

    // A new call: recording is the `accepted` message's `recording` member;
    // micStream: the microphone opened already (else it is opened here);
    // keepChat: the same conversation goes on (a transferred call)
    begin({ sig, peerName, recording = null, iceServers = [],
            micStream = null, keepChat = false }) {
        this.end();
        const r = this.r;
        this.sig = sig;
        this.peerName = peerName;
        this.peerMedia = { audio: true, video: false, screen: false };
        this.local = { muted: false, camera: null, screen: null };
        this.poorCount = 0;
        this.peerAudio = { none: 0, silent: 0 };
        r.peerMedia.dataset.sound = 'ok';
        setText(r.title, 'call.with', { name: peerName });
        const initial = /[\p{L}\p{N}]/u.exec(peerName);
        r.avatar.textContent = initial ? initial[0] : '?';
        this.renderPeerMedia();
        this.renderButtons();
        this.renderQuality(null);
        r.mute.disabled = false;
        show(r.rec, !!recording);
        this.note(null);
        this.setHold(false);
        this.chat.attach(sig);
        if (!keepChat) {
            this.chat.clear();
        }
        this.chat.setEnabled(true);

        this.rtc = new PeerCall({
            role: this.role, signaling: sig, iceServers,
            onState: (key, kind) => this.status(key, { name: peerName }, kind),
            onRemote: (stream) => this.showRemote(stream),
            onPeerConnection: (pc) => this.watch(pc),
            stream: micStream, micDevice: this.mic.value,
        });
        this.rtc.start().then((problem) => {
            if (problem) {
                this.note(problem);
            }
            // nothing to mute without a microphone
            const track = this.rtc && this.rtc.micTrack();
            this.r.mute.disabled = !track;
            this.fillDevices(track);
            if (recording && recording.url && recording.token) {
                this.record(recording, iceServers);
            }
        });
        this.since = Date.now();
        this.stopTimer = every(1000, () => {
            r.timer.textContent = clock((Date.now() - this.since) / 1000);
        });
    }

    handle(msg) {
        switch (msg.type) {
        case 'offer':
        case 'answer':
        case 'ice':
            if (this.rtc) {
                this.rtc.handle(msg);
            }
            break;
        case 'chat':
            this.chat.receive(msg);
            break;
        case 'media':
            for (const k of ['audio', 'video', 'screen']) {
                if (typeof msg[k] === 'boolean') {
                    this.peerMedia[k] = msg[k];
                }
            }
            this.renderPeerMedia();
            break;
        case 'peer':
            if (msg.state === 'back') {
                this.status('call.peer_back', { name: this.peerName }, 'ok');
                if (msg.fresh && this.role === 'agent' && this.rtc) {
                    // its page reloaded: the media start over
                    this.rtc.restart();
                }
                // our media state, in case the peer's page started over
                this.sendMedia();
            } else {
                this.status('call.peer_lost', { name: this.peerName }, 'warn');
            }
            break;
        default:
            break;
        }
    }

    // On hold (the agent put the call there) or back: neither hears the
    // other; the customer hears a soft tone now and then; media stay up.
    setHold(on) {
        this.held = !!on;
        const r = this.r;
        setText(r.holdNote, this.role === 'customer' ? 'c.hold' : 'a.on_hold');
        show(r.holdNote, this.held);
        r.holdNote.dataset.held = String(this.held);
        r.audio.muted = this.held;
        if (this.rtc) {
            this.rtc.setMuted(this.held || this.local.muted);
        }
        clearInterval(this.holdTone);
        this.holdTone = null;
        if (this.held && this.role === 'customer' && this.tones) {
            this.tones.play(Tones.HOLD);
            this.holdTone = setInterval(() => this.tones.play(Tones.HOLD),
                                        HOLD_TONE_MS);
        }
    }

    end() {
        clearInterval(this.holdTone);
        this.holdTone = null;
        this.held = false;
        this.hangupQuestion.dismiss();
        if (this.monitor) {
            this.monitor.stop();
            this.monitor = null;
        }
        if (this.whip) {
            this.whip.close();
            this.whip = null;
        }
        if (this.rtc) {
            this.rtc.close();
            this.rtc = null;
        }
        for (const tr of [this.local.camera, this.local.screen]) {
            if (tr) {
                tr.stop();
            }
        }
        this.local = { muted: false, camera: null, screen: null };
        if (this.stopTimer) {
            this.stopTimer();
            this.stopTimer = null;
        }
        if (document.fullscreenElement === this.r.stage) {
            document.exitFullscreen().catch(() => {});
        }
        this.r.audio.srcObject = null;
        this.r.remoteVideo.srcObject = null;
        this.r.localVideo.srcObject = null;
        show(this.r.remoteVideo, false);
        show(this.r.localVideo, false);
        show(this.r.rec, false);
        this.chat.setEnabled(false);
        this.sig = null;
    }

    // --- media

    // A lasting note about our own media (null: none).
    note(key) {
        if (key) {
            setText(this.r.mediaNote, key);
        }
        this.r.mediaNote.dataset.key = key || '';
        show(this.r.mediaNote, !!key);
    }

    showRemote(stream) {
        const r = this.r;
        if (r.audio.srcObject !== stream) {
            r.audio.srcObject = stream;
        }
        r.audio.play().catch(() => {});
        if (stream.getVideoTracks().length && r.remoteVideo.srcObject !== stream) {
            r.remoteVideo.srcObject = stream;
        }
        this.renderPeerMedia();
    }

    sendMedia() {
        if (!this.sig) {
            return;
        }
        this.sig.send({
            type: 'media',
            audio: !this.local.muted,
            video: !!this.local.camera,
            screen: !!this.local.screen,
        });
    }

    toggleMute() {
        if (!this.rtc) {
            return;
        }
        this.local.muted = !this.local.muted;
        this.rtc.setMuted(this.local.muted || this.held);
        this.renderButtons();
        this.sendMedia();
    }

    async toggleCamera() {
        if (!this.rtc) {
            return;
        }
        if (this.local.camera) {
            this.local.camera.stop();
            this.local.camera = null;
        } else {
            try {
                this.local.camera = await openCamera(this.cam.value);
            } catch (err) {
                this.note(mediaErrorKey(err, 'camera'));
                return;
            }
            this.poorCount = 0;
            this.cam.refresh(this.local.camera.getSettings().deviceId);
        }
        await this.applyVideo();
    }

    async toggleScreen() {
        if (!this.rtc) {
            return;
        }
        if (this.local.screen) {
            this.local.screen.stop();
            this.local.screen = null;
        } else {
            try {
                const track = await openScreen();
                track.addEventListener('ended', () => {
                    if (this.local.screen === track) {
                        this.local.screen = null;
                        this.applyVideo();
                    }
                });
                this.local.screen = track;
            } catch (err) {
                this.note(mediaErrorKey(err, 'screen'));
                return;
            }
        }
        await this.applyVideo();
    }

    // The screen wins over the camera on the one video transceiver.
    async applyVideo() {
        const track = this.local.screen || this.local.camera || null;
        if (this.rtc) {
            await this.rtc.setVideoTrack(track);
        }
        if (this.whip) {
            this.whip.setVideoTrack(track).catch(() => {});
        }
        const r = this.r;
        if (track) {
            r.localVideo.srcObject = new MediaStream([track]);
            r.localVideo.play().catch(() => {});
        } else {
            r.localVideo.srcObject = null;
        }
        show(r.localVideo, !!track);
        this.renderButtons();
        this.sendMedia();
    }

    toggleFullscreen() {
        const stage = this.r.stage;
        if (document.fullscreenElement) {
            document.exitFullscreen().catch(() => {});
        } else if (stage.requestFullscreen) {
            stage.requestFullscreen().catch(() => {});
        } else if (this.r.remoteVideo.webkitEnterFullscreen) {
            this.r.remoteVideo.webkitEnterFullscreen();
        }
    }

    // The device lists, with the devices in use chosen (their names are
    // there now that the page had the microphone).
    async fillDevices(track) {
        await this.mic.refresh(track ? track.getSettings().deviceId : null);
        await this.cam.refresh(this.local.camera
            ? this.local.camera.getSettings().deviceId : null);
        if (speakerSelectionSupported()) {
            await this.speaker.refresh();
            if (this.speaker.value) {
                this.chooseSpeaker();
            }
        }
    }

    async switchMic(deviceId) {
        if (!this.rtc) {
            return;
        }
        let track;
        try {
            track = (await openMicrophone(deviceId)).getAudioTracks()[0];
        } catch (err) {
            this.note(mediaErrorKey(err, 'microphone'));
            return;
        }
        if (!this.rtc) {
            track.stop();
            return;
        }
        await this.rtc.setMicTrack(track);
        if (this.whip) {
            this.whip.setAudioTrack(track).catch(() => {});
        }
        this.r.mute.disabled = false;
        this.note(null);
    }

    // Another camera: used at once when the camera is on, else next time.
    async switchCamera(deviceId) {
        if (!this.rtc || !this.local.camera) {
            return;
        }
        let track;
        try {
            track = await openCamera(deviceId);
        } catch (err) {
            this.note(mediaErrorKey(err, 'camera'));
            return;
        }
        this.local.camera.stop();
        this.local.camera = track;
        await this.applyVideo();
    }

    async chooseSpeaker() {
        try {
            await this.r.audio.setSinkId(this.speaker.value || '');
        } catch (err) {
            this.status('call.speaker.unsupported', {}, 'warn');
        }
    }

    async record(recording, iceServers) {
        this.whip = new WhipPublisher({ url: recording.url,
                                        token: recording.token, iceServers });
        try {
            await this.whip.publish(this.rtc ? this.rtc.micTrack() : null,
                                    this.local.screen || this.local.camera);
        } catch (err) {
            console.warn('recording: publishing failed', err);
        }
    }

    // --- quality

    watch(pc) {
        if (this.monitor) {
            this.monitor.stop();
        }
        this.monitor = new QualityMonitor(pc, (s) => this.onSample(s));
    }

    onSample(s) {
        this.lastSample = s;
        this.followPeerAudio(s.audioIn);
        this.renderQuality(s);
        if (s.level === 'poor') {
            this.poorCount++;
        } else {
            this.poorCount = 0;
        }
        if (this.poorCount >= POOR_SAMPLES_FOR_AUDIO_ONLY
            && this.local.camera) {
            // Audio-only fallback: the camera goes, the voice stays.
            this.local.camera.stop();
            this.local.camera = null;
            this.applyVideo();
            this.note('call.audio_only');
        }
    }

    // Whether the peer's sound arrives: two samples in a row (4 s) of no
    // audio packets, or of silence, before it is said (no flicker).
    followPeerAudio(audioIn) {
        const a = this.peerAudio;
        if (audioIn === 'none' || audioIn === 'silent') {
            a[audioIn]++;
            a[audioIn === 'none' ? 'silent' : 'none'] = 0;
        } else if (audioIn === 'ok') {
            a.none = 0;
            a.silent = 0;
        }
        const state = a.none >= 2 ? 'none' : a.silent >= 2 ? 'silent' : 'ok';
        if (state !== this.r.peerMedia.dataset.sound) {
            this.r.peerMedia.dataset.sound = state;
            this.renderPeerMedia();
        }
    }

    // No sound from a peer who has not muted: not a "good" call.
    noSound() {
        return this.peerMedia.audio
               && this.r.peerMedia.dataset.sound !== 'ok';
    }

    renderQuality(s) {
        const r = this.r;
        const lvl = !s ? 'none' : this.noSound() ? 'nosound' : s.level;
        r.quality.dataset.level = lvl;
        r.bars.dataset.level = lvl;
        setText(r.qText, 'q.' + lvl);
        if (s && lvl !== 'none' && r.diag) {
            // the figures are for agents
            setText(r.qDetail, 'q.detail', {
                rtt: fmt(s.rtt, 0), loss: fmt(s.loss, 1),
                jitter: fmt(s.jitter, 0) });
        } else if (lvl === 'poor' || lvl === 'nosound') {
            // customers get plain words
            setText(r.qDetail, 'q.hint.' + lvl);
        } else {
            setPlain(r.qDetail, '');
        }
        if (!r.diag) {
            return;
        }
        const d = r.diagRows;
        d.rtt.textContent = s && s.rtt !== null ? fmt(s.rtt, 0) + ' ms' : '–';
        d.loss.textContent = s && s.loss !== null ? fmt(s.loss, 1) + ' %' : '–';
        d.jitter.textContent = s && s.jitter !== null
            ? fmt(s.jitter, 0) + ' ms' : '–';
        d.codec.textContent = s && s.codec ? s.codec : '–';
        if (s && s.path) {
            setText(d.path, s.path.relayed ? 'path.relay' : 'path.direct',
                    { local: s.path.local, remote: s.path.remote });
            d.path.dataset.relayed = String(s.path.relayed);
        } else {
            setPlain(d.path, '–');
        }
        d.bitrate.textContent = s && s.inKbps !== null
            ? fmt(s.inKbps, 0) + ' / ' + fmt(s.outKbps, 0) + ' kbit/s' : '–';
    }

    // --- buttons and the peer's state

    renderButtons() {
        const r = this.r;
        // toggles keep their names; aria-pressed (and the look) is the
        // state: "Mute, pressed" is muted
        r.mute.setAttribute('aria-pressed', String(this.local.muted));
        r.camera.setAttribute('aria-pressed', String(!!this.local.camera));
        r.share.setAttribute('aria-pressed', String(!!this.local.screen));
        show(r.selfMuted, this.local.muted);
    }

    renderPeerMedia() {
        const r = this.r;
        const p = this.peerMedia;
        const vars = { name: this.peerName };
        const lines = [];
        if (!p.audio) {
            lines.push('call.peer_muted');
        } else if (r.peerMedia.dataset.sound === 'none') {
            lines.push('call.peer_no_audio');
        } else if (r.peerMedia.dataset.sound === 'silent') {
            lines.push('call.peer_silent');
        }
        if (p.screen) {
            lines.push('call.peer_screen');
        } else if (p.video) {
            lines.push('call.peer_camera');
        }
        const items = lines.map((key) => h('span', { class: 'flag' }));
        lines.forEach((key, i) => setText(items[i], key, vars));
        r.peerMedia.replaceChildren(...items);
        r.peerMedia.dataset.audio = String(p.audio);
        const hasVideo = (p.video || p.screen)
                         && !!r.remoteVideo.srcObject;
        show(r.remoteVideo, hasVideo);
        show(r.avatar, !hasVideo);
    }
}

// Room for the details beside the call (not a phone held upright).
function wide() {
    return !window.matchMedia || window.matchMedia('(min-width: 700px)').matches;
}

function fmt(v, digits) {
    return v === null || v === undefined ? '–' : number(v, digits);
}
