// Local media: the microphone (with echo cancellation, noise suppression
// and automatic gain requested), the camera, the screen; and the
// plain-language message for a refused or missing device.

export const AUDIO_CONSTRAINTS = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    channelCount: 1,
};

const VIDEO_CONSTRAINTS = {
    width: { ideal: 640 },
    height: { ideal: 480 },
    frameRate: { ideal: 24, max: 30 },
};

// getUserMedia with a chosen device (deviceId, or none: the browser's
// choice); a device that is gone meanwhile falls back to the default.
async function open(kind, constraints, deviceId) {
    const ask = (c) => navigator.mediaDevices.getUserMedia(
        kind === 'audio' ? { audio: c, video: false }
                         : { audio: false, video: c });
    if (!deviceId) {
        return ask(constraints);
    }
    try {
        return await ask({ ...constraints, deviceId: { exact: deviceId } });
    } catch (err) {
        if (err && (err.name === 'OverconstrainedError'
                    || err.name === 'NotFoundError')) {
            return ask(constraints);
        }
        throw err;
    }
}

// The microphone as a stream (deviceId: a chosen one, or none).
export async function openMicrophone(deviceId = null) {
    return open('audio', AUDIO_CONSTRAINTS, deviceId);
}

export async function openCamera(deviceId = null) {
    const s = await open('video', VIDEO_CONSTRAINTS, deviceId);
    return s.getVideoTracks()[0];
}

export async function openScreen() {
    const s = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 15, max: 30 } }, audio: false,
    });
    const track = s.getVideoTracks()[0];
    if ('contentHint' in track) {
        track.contentHint = 'detail';
    }
    return track;
}

export function screenShareSupported() {
    return !!(navigator.mediaDevices
              && navigator.mediaDevices.getDisplayMedia);
}

// The i18n key that explains a getUserMedia / getDisplayMedia failure.
export function mediaErrorKey(err, what) {
    const name = err && err.name;
    if (name === 'NotAllowedError' || name === 'SecurityError'
        || name === 'PermissionDeniedError') {
        return what === 'screen' ? 'perm.screen_denied'
             : what === 'camera' ? 'perm.camera_denied' : 'perm.denied';
    }
    if (name === 'NotFoundError' || name === 'DevicesNotFoundError'
        || name === 'OverconstrainedError') {
        return 'perm.missing';
    }
    if (name === 'NotReadableError' || name === 'TrackStartError'
        || name === 'AbortError') {
        return 'perm.busy';
    }
    return what === 'screen' ? 'perm.screen_denied' : 'call.no_mic';
}

export function speakerSelectionSupported() {
    return typeof HTMLMediaElement !== 'undefined'
           && 'setSinkId' in HTMLMediaElement.prototype;
}

// The devices of a kind ('audioinput', 'videoinput', 'audiooutput').
export async function devices(kind) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
        return [];
    }
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === kind);
}
