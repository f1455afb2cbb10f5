// A page that comes back into its call from scratch (reloaded, or the
// console opened in another tab) is sent what its predecessor was sent,
// up to the `desk` message's replay_to: the media negotiation in it
// (offer, answer, ICE candidates) and the call's start were for a page
// that is gone, and are passed over; the chat in it is the transcript's.

const STALE = new Set(['offer', 'answer', 'ice', 'accepted']);

export class Replay {
    constructor() {
        this.to = 0;
    }

    // a new connection: nothing known yet; `desk`: up to where
    reset() {
        this.to = 0;
    }

    mark(msg) {
        this.to = Number(msg.replay_to) || 0;
    }

    stale(msg) {
        return this.to > 0 && STALE.has(msg.type)
               && Number(msg.seq) > 0 && Number(msg.seq) <= this.to;
    }
}
