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

export async function openMicrophone() {
    return navigator.mediaDevices.getUserMedia({
        audio: AUDIO_CONSTRAINTS, video: false,
    });
}

export async function openCamera() {
    const s = await navigator.mediaDevices.getUserMedia({
        audio: false, video: VIDEO_CONSTRAINTS,
    });
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

export async function audioOutputs() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
        return [];
    }
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === 'audiooutput');
}
