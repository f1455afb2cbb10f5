#!/usr/bin/python3
# hotline-recorder test publisher: aiortc (Debian's python3-aiortc) with
# its own ICE transport for each m= line inside one BUNDLE group (RFC
# 8843 allows it: the answerer uses the transport of the tagged section).
#
# usage: aiortc_publish.py WHIP_URL TOKEN SECONDS [OPTION...]
#   gcm   offer only SRTP_AEAD_AES_128_GCM: aiortc 1.4 offers AES-CM
#         only, though its SRTP library (pylibsrtp) does GCM; the profile
#         list, the exported key length and the SRTP policy are switched
#         here, as later aiortc releases do
#   turn  ask OPTIONS (with the token) for the ICE servers first and use
#         the TURN server with the credentials of its Link header
#
# Prints one JSON line: post_status, ufrags (distinct a=ice-ufrag values
# of the offer), relay (the offer has a relay candidate), state,
# delete_status, elapsed, error.

import asyncio
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from aiortc import (RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
import aiortc.rtcdtlstransport as dtls

url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
opts = set(sys.argv[4:])


def use_gcm():
    import pylibsrtp

    make_context = dtls.RTCCertificate._create_ssl_context

    def context(self):
        ctx = make_context(self)
        ctx.set_tlsext_use_srtp(b'SRTP_AEAD_AES_128_GCM')
        return ctx

    class Policy(pylibsrtp.Policy):
        def __init__(self, **kw):
            super().__init__(
                srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
                **kw)

    dtls.RTCCertificate._create_ssl_context = context
    dtls.SRTP_SALT_LEN = 12
    dtls.Policy = Policy


def http(method, body=None, ctype=None, target=None):
    req = urllib.request.Request(target or url, data=body, method=method)
    req.add_header('Authorization', 'Bearer ' + token)
    if ctype:
        req.add_header('Content-Type', ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def ice_servers(headers):
    """RFC 9725 4.6: Link: <url>; rel="ice-server"; username=...;
    credential=...; credential-type="password" """
    servers = []
    for link in headers.get_all('Link') or []:
        m = re.match(r'\s*<([^>]+)>(.*)', link)
        if not m or 'rel="ice-server"' not in m.group(2):
            continue
        params = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m.group(2)))
        servers.append(RTCIceServer(urls=m.group(1),
                                    username=params.get('username'),
                                    credential=params.get('credential')))
    return servers


async def main():
    out = {'options': sorted(opts)}
    if 'gcm' in opts:
        use_gcm()

    config = RTCConfiguration()
    if 'turn' in opts:
        st, hdrs, _ = http('OPTIONS')
        out['options_status'] = st
        config = RTCConfiguration(iceServers=[s for s in ice_servers(hdrs)
                                              if s.username])
        out['turn_servers'] = len(config.iceServers)

    pc = RTCPeerConnection(config)
    connected = asyncio.Event()

    @pc.on('connectionstatechange')
    async def on_state():
        if pc.connectionState in ('connected', 'failed', 'closed'):
            connected.set()

    pc.addTransceiver(AudioStreamTrack(), direction='sendonly')
    pc.addTransceiver(VideoStreamTrack(), direction='sendonly')
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    out['ufrags'] = len(set(re.findall(r'a=ice-ufrag:(\S+)', offer)))
    out['relay'] = ' typ relay' in offer

    st, hdrs, body = http('POST', offer.encode(), 'application/sdp')
    out['post_status'] = st
    if st != 201:
        out['error'] = body
        await pc.close()
        return out
    location = urllib.parse.urljoin(url, hdrs.get('Location'))

    await pc.setRemoteDescription(RTCSessionDescription(body, 'answer'))
    try:
        await asyncio.wait_for(connected.wait(), 15)
    except asyncio.TimeoutError:
        pass
    out['state'] = pc.connectionState
    if pc.connectionState == 'connected':
        t0 = time.time()
        await asyncio.sleep(seconds)
        st, _, _ = http('DELETE', target=location)
        out['delete_status'] = st
        out['elapsed'] = time.time() - t0
    await pc.close()
    return out


try:
    result = asyncio.run(main())
except Exception as e:  # noqa: BLE001 - reported to the test
    result = {'error': repr(e)}
print(json.dumps(result), flush=True)
