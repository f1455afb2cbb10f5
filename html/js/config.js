// Deployment settings for the pages, from config.json beside them:
//
//   {"iceServers": [{"urls": "stun:stun.example.com:3478"},
//                   {"urls": "turn:turn.example.com:3478",
//                    "username": "...", "credential": "..."}],
//    "endpoints": {"history": "/api/history"}}
//
// Missing file or members: no ICE servers (fine on one network) and the
// default endpoints below.

const DEFAULTS = {
    iceServers: [],
    endpoints: {
        customer: '/ws/customer',
        agent: '/ws/agent',
        otp: '/auth/otp',
        verify: '/auth/verify',
        logout: '/auth/logout',
        history: '/api/history',
    },
};

let cached = null;

export function loadConfig() {
    if (!cached) {
        cached = fetch('config.json', { cache: 'no-store' })
            .then((r) => (r.ok ? r.json() : {}))
            .catch(() => ({}))
            .then((c) => ({
                iceServers: Array.isArray(c.iceServers) ? c.iceServers
                                                        : DEFAULTS.iceServers,
                endpoints: { ...DEFAULTS.endpoints,
                             ...(c && typeof c.endpoints === 'object'
                                 ? c.endpoints : {}) },
            }));
    }
    return cached;
}
