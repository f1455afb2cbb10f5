// Deployment settings for the pages.
//
// ICE servers come from the module's hotline_ice_servers location
// (endpoints.ice, default /api/ice: STUN and TURN entries, TURN with
// short-lived coturn REST credentials), read afresh for every call.
//
// config.json beside the pages may override the endpoints, and give ICE
// servers for a deployment without that location:
//
//   {"endpoints": {"history": "/api/history", "ice": "/api/ice"},
//    "iceServers": [{"urls": "stun:stun.example.com:3478"}]}
//
// Without either: no ICE servers (fine on one network) and the default
// endpoints below.

const DEFAULTS = {
    customer: '/ws/customer',
    agent: '/ws/agent',
    otp: '/auth/otp',
    verify: '/auth/verify',
    logout: '/auth/logout',
    history: '/api/history',
    desk: '/api/desk',
    ice: '/api/ice',
};

export async function getJson(url) {
    try {
        const r = await fetch(url, { cache: 'no-store',
                                     credentials: 'same-origin' });
        if (!r.ok) {
            return null;
        }
        const j = await r.json();
        return j && typeof j === 'object' ? j : null;
    } catch (err) {
        return null;
    }
}

export async function loadConfig() {
    const c = (await getJson('config.json')) || {};
    const endpoints = { ...DEFAULTS,
                        ...(c.endpoints && typeof c.endpoints === 'object'
                            ? c.endpoints : {}) };
    let iceServers = Array.isArray(c.iceServers) ? c.iceServers : [];
    if (endpoints.ice) {
        const ice = await getJson(endpoints.ice);
        if (ice && Array.isArray(ice.iceServers)) {
            iceServers = ice.iceServers;
        }
    }
    return { iceServers, endpoints };
}
