#!/usr/bin/python3
# hotline-recorder test publisher: GStreamer webrtcbin (Debian's
# gstreamer1.0-plugins-bad, default bundle policy max-bundle: the video
# section is offered bundle-only with port 0) publishes to a WHIP endpoint.
#
# usage: gst_publish.py WHIP_URL TOKEN SECONDS [MODE] [PATTERN]
#   MODE: normal      publish SECONDS, then DELETE
#         delay-video video packets leave 1 s after their capture (a queue
#                     after the payloader); RTP timestamps and sender
#                     reports stay true
#         burst       the first 3 s of both tracks are held back and then
#                     sent at once, real time afterwards (burst=MS: no
#                     packet leaves before MS ms after the connection)
#         hold        print the JSON line once connected, then publish
#                     SECONDS or until killed (no DELETE)
#         audio       audio only
#         clock=unix  the sender reports' NTP time is Unix time (rtpbin's
#                     ntp-time-source: a sender clock 70 years off)
#         late-sr=MS  no RTCP leaves before MS ms after the connection,
#                     then reports every 0.5 s or so (rtpbin's
#                     rtcp-min-interval): the first sender reports come
#                     late, as they may from a sender on RFC 3550's 5 s
#                     schedule
#         several at once: hold,burst=1500
#   PATTERN: flash (default) a white frame and a 880 Hz tone for 150 ms
#                     at the same capture times, 0.9 to 1.7 s apart,
#                     black and silence otherwise (lip sync is measured on
#                     the file)
#            wallflash the same at wall clock times, so that two
#                     publishers flash together
#            ball     videotestsrc's moving ball, 640x480, 1 Mbit/s
#            file:PATH a WebM file's VP8 and Opus as they are, at real
#                     time (the benchmark: no encoding in the publisher)
#
# Prints one JSON line on stdout: post_status, state, connected_at,
# delete_status, elapsed (connected to DELETE, seconds), error.

import json
import math
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
gi.require_version('Nice', '0.1')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice

url, token, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else 'normal'
modes = dict((m.split('=') + [None])[:2] for m in mode.split(','))
pattern = sys.argv[5] if len(sys.argv) > 5 else 'flash'

Gst.init(None)
out = {'mode': mode}
loop = GLib.MainLoop()


def finish(**kw):
    out.update(kw)
    print(json.dumps(out), flush=True)
    loop.quit()


def http(method, target, body=None, ctype=None):
    req = urllib.request.Request(target, data=body, method=method)
    req.add_header('Authorization', 'Bearer ' + token)
    if ctype:
        req.add_header('Content-Type', ctype)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


head = ''
if pattern == 'ball':
    venc = ('videotestsrc is-live=true pattern=ball ! '
            'video/x-raw,width=640,height=480,framerate=30/1 ! '
            'vp8enc deadline=1 cpu-used=8 target-bitrate=1000000 '
            'keyframe-max-dist=90')
    aenc = ('audiotestsrc is-live=true wave=sine freq=440 '
            'samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! '
            'audioconvert ! opusenc bitrate=32000')
elif pattern.startswith('file:'):
    # media encoded beforehand (bench/recorder/gst_bench.sh): paced at
    # real time, so that many publishers cost little besides sending
    head = 'filesrc location=%s ! matroskademux name=d ' % pattern[5:]
    venc = 'd.video_0 ! queue ! clocksync'
    aenc = 'd.audio_0 ! queue ! clocksync'
else:
    # made here (see flash() below), stamped with the pipeline's running
    # time as a live capture is
    venc = ('appsrc name=vsrc is-live=true format=time caps=video/x-raw,'
            'format=I420,width=320,height=240,framerate=30/1 ! '
            'vp8enc deadline=1 keyframe-max-dist=90')
    aenc = ('appsrc name=asrc is-live=true format=time caps=audio/x-raw,'
            'format=S16LE,rate=48000,channels=1,layout=interleaved ! '
            'audioconvert ! opusenc bitrate=32000')

# RTP packets are dropped by a valve after each payloader until the
# connection is up (webrtcbin would hold them and send them in a burst
# when DTLS is done), then go through a queue that holds them back for
# the delay and burst modes (their RTP time stays true)

q = ('valve drop=true drop-mode=forward-sticky-events name={0}v ! '
     'queue max-size-buffers=0 max-size-bytes=0 max-size-time=10000000000 '
     'name={0}q')
desc = ('webrtcbin name=w bundle-policy=max-bundle ' + head
        + aenc + ' ! rtpopuspay pt=111 ! ' + q.format('a') + ' ! '
        'application/x-rtp,media=audio,encoding-name=OPUS,payload=111,'
        'clock-rate=48000 ! w. ')
if 'audio' not in modes:
    desc += (venc + ' ! rtpvp8pay pt=96 ! ' + q.format('v') + ' ! '
             'application/x-rtp,media=video,encoding-name=VP8,payload=96,'
             'clock-rate=90000 ! w.')

pipe = Gst.parse_launch(desc)
w = pipe.get_by_name('w')

# flash and tone at the same capture times, at irregular intervals so
# that an error of a whole second shows: a white frame and a 880 Hz tone
# for 150 ms, black and silence otherwise

FLASHES = []
t = 0
while t < (seconds + 60) * Gst.SECOND:
    for gap in (1000, 1400, 900, 1700, 1200):
        t += gap * Gst.MSECOND
        FLASHES.append(t)

AUDIO_NS = 10 * Gst.MSECOND
VIDEO_NS = Gst.SECOND // 30
Y = 320 * 240
TONE = b''.join(struct.pack('<h', int(12000 * math.sin(2 * math.pi * 880
                                                         * i / 48000)))
                for i in range(480))
SILENCE = bytes(960)
WHITE = b'\xeb' * Y + b'\x80' * (Y // 2)
BLACK = b'\x10' * Y + b'\x80' * (Y // 2)
gen = {'base': None, 'wall0': 0, 'a': 0, 'v': 0}


def lit(pts):
    if pattern == 'wallflash':
        # on the wall clock: the first 150 ms of the seconds an irregular
        # hash picks, the same for every publisher on this host
        wall = gen['wall0'] + pts / Gst.SECOND
        k = int(wall)
        return wall - k < 0.15 and (k * 2654435761 >> 7) % 3 != 0
    return any(f <= pts < f + 150 * Gst.MSECOND for f in FLASHES)


def push(src, data, pts, dur):
    buf = Gst.Buffer.new_wrapped(data)
    buf.pts = pts
    buf.duration = dur
    src.emit('push-buffer', buf)


def flash():
    """pushes what is due by now: capture time = pipeline running time"""
    clock = pipe.get_clock()
    if clock is None:
        return True
    now = clock.get_time() - pipe.get_base_time()
    if gen['base'] is None:
        gen['base'] = now
        gen['wall0'] = time.time() - now / Gst.SECOND
    asrc_el = pipe.get_by_name('asrc')
    vsrc_el = pipe.get_by_name('vsrc')
    while gen['base'] + gen['a'] * AUDIO_NS <= now:
        pts = gen['base'] + gen['a'] * AUDIO_NS
        push(asrc_el, TONE if lit(pts) else SILENCE, pts, AUDIO_NS)
        gen['a'] += 1
    while vsrc_el is not None and gen['base'] + gen['v'] * VIDEO_NS <= now:
        pts = gen['base'] + gen['v'] * VIDEO_NS
        push(vsrc_el, WHITE if lit(pts) else BLACK, pts, VIDEO_NS)
        gen['v'] += 1
    return True


if pattern == 'flash' or pattern == 'wallflash':
    GLib.timeout_add(5, flash)

# libnice leaves loopback out when it gathers by itself; the test runs in
# a loopback-only network namespace

ice = w.get_property('ice-agent')
agent = ice.get_property('agent')
addr = Nice.Address.new()
addr.set_from_string('127.0.0.1')
agent.add_local_address(addr)

# the sender reports map RTP time to the capture time of the media, as
# browsers do (rtpbin's default maps it to the time a packet is sent: the
# delayed video would claim to be 1 s late)

w.get_by_name('rtpbin').set_property('rtcp-sync-send-time', False)

# clock=unix: the sender reports' "NTP" time is Unix time (a clock 70
# years off)
if modes.get('clock'):
    w.get_by_name('rtpbin').set_property('ntp-time-source', modes['clock'])

# late-sr=MS: RTCP is dropped until MS ms after the connection, then
# goes out every 0.5 s or so
rtpbin = w.get_by_name('rtpbin')
probed = set()


def rtcp_gate(pad, info):
    late = int(modes['late-sr']) / 1000
    if 'connected_at' not in out or time.time() < out['connected_at'] + late:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


def late_sr(*_):
    it = rtpbin.iterate_src_pads()
    while True:
        res, pad = it.next()
        if res != Gst.IteratorResult.OK:
            break
        name = pad.get_name()
        if name.startswith('send_rtcp_src') and name not in probed:
            probed.add(name)
            pad.add_probe(Gst.PadProbeType.BUFFER
                          | Gst.PadProbeType.BUFFER_LIST, rtcp_gate)
            sess = rtpbin.emit('get-internal-session',
                               int(name.rsplit('_', 1)[1]))
            if sess is not None:
                sess.set_property('rtcp-min-interval', 500 * Gst.MSECOND)


if modes.get('late-sr'):
    rtpbin.connect('pad-added', late_sr)
    late_sr()

aq = pipe.get_by_name('aq')
vq = pipe.get_by_name('vq')
state = {'posted': False, 'location': None}



def on_connected():
    out['connected_at'] = time.time()
    out['state'] = 'connected'
    if modes.get('late-sr'):
        late_sr()
        out['rtcp_gated'] = sorted(probed)
    if modes.get('burst'):
        # nothing leaves before MS ms from now (blocked before the valves
        # open), then all of it at once
        blocked = [(qq.get_static_pad('src'),
                    qq.get_static_pad('src').add_probe(
                        Gst.PadProbeType.BLOCK_DOWNSTREAM,
                        lambda *_: Gst.PadProbeReturn.OK))
                   for qq in (aq, vq) if qq is not None]

        def unblock():
            out['burst_at'] = time.time()
            for pad, probe in blocked:
                pad.remove_probe(probe)
            return False
        GLib.timeout_add(int(modes['burst']), unblock)
    for v in (pipe.get_by_name('av'), pipe.get_by_name('vv')):
        if v is not None:
            v.set_property('drop', False)
    if 'delay-video' in modes:
        vq.set_property('min-threshold-time', Gst.SECOND)
    if 'burst' in modes and not modes['burst']:
        # hold 3 s of media, then let it all go at once
        for qq in (aq, vq):
            qq.set_property('min-threshold-time', 3 * Gst.SECOND)

        def release():
            out['burst_at'] = time.time()
            for qq in (aq, vq):
                qq.set_property('min-threshold-time', 0)
            return False
        GLib.timeout_add(3000, release)
    if 'hold' in modes:
        print(json.dumps(out), flush=True)
    GLib.timeout_add(int(seconds * 1000), stop)


def stop():
    if 'hold' in modes:
        loop.quit()
        return False
    st, _, _ = http('DELETE', state['location'])
    out['deleted_at'] = time.time()
    out['delete_status'] = st
    out['elapsed'] = out['deleted_at'] - out['connected_at']
    finish()
    return False


def on_conn_state(*_):
    s = w.get_property('connection-state')
    if s == GstWebRTC.WebRTCPeerConnectionState.CONNECTED \
            and 'connected_at' not in out:
        on_connected()
    elif s == GstWebRTC.WebRTCPeerConnectionState.FAILED \
            and 'connected_at' not in out:
        finish(state='failed')


def on_answer_set(promise, _):
    reply = promise.get_reply()
    if reply is not None and reply.has_field('error'):
        finish(state='answer refused',
               error=str(reply.get_value('error')))


def post_offer():
    sdp = w.get_property('local-description').sdp.as_text()
    st, hdrs, body = http('POST', url, sdp.encode(), 'application/sdp')
    out['post_status'] = st
    if st != 201:
        finish(error=body)
        return
    state['location'] = urllib.parse.urljoin(url, hdrs.get('Location'))
    out['location'] = state['location']
    _, msg = GstSdp.SDPMessage.new_from_text(body)
    answer = GstWebRTC.WebRTCSessionDescription.new(
        GstWebRTC.WebRTCSDPType.ANSWER, msg)
    w.emit('set-remote-description', answer,
           Gst.Promise.new_with_change_func(on_answer_set, None))


def on_gathering(*_):
    if w.get_property('ice-gathering-state') \
            == GstWebRTC.WebRTCICEGatheringState.COMPLETE \
            and not state['posted']:
        state['posted'] = True
        GLib.idle_add(lambda: post_offer() and False)


def on_offer(promise, _):
    reply = promise.get_reply()     # owns the offer: keep it referenced
    offer = reply.get_value('offer')
    out['offer_bundle_only'] = 'a=bundle-only' in offer.sdp.as_text()
    w.emit('set-local-description', offer, None)


def on_negotiation_needed(*_):
    i = 0
    while True:
        t = w.emit('get-transceiver', i)
        if t is None:
            break
        t.set_property('direction',
                       GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        i += 1
    w.emit('create-offer', None,
           Gst.Promise.new_with_change_func(on_offer, None))


w.connect('on-negotiation-needed', on_negotiation_needed)
w.connect('notify::ice-gathering-state', on_gathering)
w.connect('notify::connection-state', on_conn_state)

pipe.set_state(Gst.State.PLAYING)


def deadline():
    if 'connected_at' not in out:
        finish(state=str(w.get_property('connection-state')))
    return False


GLib.timeout_add(20000, deadline)
loop.run()
pipe.set_state(Gst.State.NULL)
