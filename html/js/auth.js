// Agent login against the module's endpoints (docs/auth.md): a code is
// requested for a username and sent to the agent's Telegram; the code is
// verified for a session (an HttpOnly cookie, and the token in the answer
// for the WebSocket's bearer subprotocol); logout revokes it.
//
// Every call resolves with { ok, status, error, retryAfter, body }.

const USERNAME = /^[a-z0-9._-]{1,64}$/;
const CODE = /^[0-9]{6}$/;

export function validUsername(u) {
    return USERNAME.test(u);
}

export function validCode(c) {
    return CODE.test(c);
}

async function post(url, body, token) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) {
        headers.Authorization = 'Bearer ' + token;
    }
    let res;
    try {
        res = await fetch(url, {
            method: 'POST', headers, credentials: 'same-origin',
            cache: 'no-store',
            body: body === null ? '' : JSON.stringify(body),
        });
    } catch (err) {
        return { ok: false, status: 0, error: 'network' };
    }
    let json = {};
    try {
        json = await res.json();
    } catch (err) {
        json = {};
    }
    return {
        ok: res.ok,
        status: res.status,
        error: res.ok ? null : (json.error || 'http_' + res.status),
        retryAfter: Number(res.headers.get('Retry-After')) || 0,
        body: json,
    };
}

export function requestCode(endpoints, username) {
    return post(endpoints.otp, { username });
}

export function verifyCode(endpoints, username, code) {
    return post(endpoints.verify, { username, code });
}

export function logout(endpoints, token) {
    return post(endpoints.logout, null, token);
}
