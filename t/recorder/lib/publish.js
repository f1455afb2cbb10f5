// hotline-recorder test publisher: headless Chromium with fake devices
// publishes audio+video to a WHIP endpoint; node is the WHIP HTTP client.
//
// usage: node publish.js WHIP_URL TOKEN SECONDS [MODE]
//   MODE: normal (default) | badfp (offer with a wrong DTLS fingerprint)
//       | kill (print the JSON line once connected, then publish until the
//         recorder is gone) | camoff (as kill, camera stopped after 2 s)
//       | vanish (publish SECONDS, then close the browser without DELETE)
//       | hostile (as normal, garbage datagrams sent to the ICE port)
// prints one JSON line with timings on stdout.

'use strict';

const http = require('http');
const { chromium } = require('playwright-core');

const [url, token, seconds, mode = 'normal'] = process.argv.slice(2);

function now() { return Date.now() / 1000; }

async function main() {
  const page_srv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>whip</title>');
  });
  await new Promise((r) => page_srv.listen(0, '127.0.0.1', r));
  const origin = 'http://127.0.0.1:' + page_srv.address().port + '/';

  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu',
           '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--use-fake-ui-for-media-stream',
           '--use-fake-device-for-media-stream',
           '--allow-loopback-in-peer-connection'],
    // playwright gives each launch a fresh temporary --user-data-dir
  });

  const out = { mode };
  try {
    const page = await browser.newPage();
    await page.goto(origin);

    const offer = await page.evaluate(async () => {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: true, video: { width: 640, height: 480, frameRate: 30 } });
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      window.pc = pc;
      for (const t of stream.getTracks()) {
        pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        const t = setTimeout(resolve, 5000);
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') {
            clearTimeout(t); resolve();
          }
        });
      });
      return pc.localDescription.sdp;
    });

    let sdp = offer;
    if (mode === 'badfp') {
      sdp = sdp.replace(/a=fingerprint:sha-256 ([0-9A-F:]+)/g,
        (m, fp) => 'a=fingerprint:sha-256 ' +
          fp.split(':').map((b) => b === '00' ? '01' : '00').join(':'));
    }

    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp',
                 'Authorization': 'Bearer ' + token },
      body: sdp,
    });
    out.post_status = res.status;
    const answer = await res.text();
    if (res.status !== 201) {
      out.error = answer;
      console.log(JSON.stringify(out));
      return;
    }
    out.location = new URL(res.headers.get('location'), url).href;

    await page.evaluate(async (a) => {
      await window.pc.setRemoteDescription({ type: 'answer', sdp: a });
    }, answer);

    // bounded wait for the connection to settle either way
    out.state = await page.evaluate(() => new Promise((resolve) => {
      const pc = window.pc;
      const done = () => {
        const s = pc.connectionState;
        if (s === 'connected' || s === 'failed' || s === 'closed') {
          resolve(s); return true;
        }
        return false;
      };
      if (done()) return;
      const t = setTimeout(() => resolve(pc.connectionState), 15000);
      pc.addEventListener('connectionstatechange', () => {
        if (done()) clearTimeout(t);
      });
    }));
    out.connected_at = now();

    if (out.state === 'connected') {
      // the real start of the media: the first audio packet sent (polled
      // every 10 ms, bounded)
      out.media_at = await page.evaluate(() => new Promise((resolve) => {
        const end = Date.now() + 10000;
        (async function poll() {
          let sent = 0;
          (await window.pc.getStats()).forEach((s) => {
            if (s.type === 'outbound-rtp' && s.kind === 'audio') {
              sent = s.packetsSent;
            }
          });
          if (sent > 0 || Date.now() > end) {
            return resolve(Date.now() / 1000);
          }
          setTimeout(poll, 10);
        })();
      }));
    }

    if (mode === 'badfp') {
      // the recorder must drop the DTLS association: wait (bounded) for
      // the browser to notice
      out.final_state = await page.evaluate(() => new Promise((resolve) => {
        const pc = window.pc;
        const end = Date.now() + 15000;
        (function poll() {
          const s = pc.connectionState;
          if (s !== 'connected' || Date.now() > end) {
            return resolve(s);
          }
          setTimeout(poll, 100);
        })();
      }));
      console.log(JSON.stringify(out));
      return;
    }

    if (out.state !== 'connected') {
      console.log(JSON.stringify(out));
      return;
    }

    if (mode === 'vanish') {
      // publish, then go away without a DELETE (tab closed, crash)
      await new Promise((r) => setTimeout(r, 1000 * Number(seconds)));
      out.vanished_at = now();
      console.log(JSON.stringify(out));
      return;
    }

    if (mode === 'kill' || mode === 'camoff') {
      if (mode === 'camoff') {
        // the camera goes off after 2 s, the microphone stays on
        await new Promise((r) => setTimeout(r, 2000));
        await page.evaluate(() => {
          for (const s of window.pc.getSenders()) {
            if (s.track && s.track.kind === 'video') s.track.stop();
          }
        });
        out.camera_off_at = now();
      }
      console.log(JSON.stringify(out));
      // keep publishing until the test kills the recorder (bounded)
      const health = new URL('/health', url).href;
      const end = Date.now() + 1000 * Number(seconds);
      while (Date.now() < end) {
        try {
          await fetch(health);
        } catch (e) {
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      return;
    }

    if (mode === 'hostile') {
      // someone else sprays the recorder's ICE port with garbage: fake
      // RTP/RTCP, fake DTLS records, STUN-looking and random datagrams
      const port = Number(/a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 (\d+)/
                          .exec(answer)[1]);
      const sock = require('dgram').createSocket('udp4');
      const crypto = require('crypto');
      await new Promise((r) => setTimeout(r, 1000));
      out.garbage = 0;
      for (let i = 0; i < 400; i++) {
        const b = crypto.randomBytes(20 + (i * 37) % 1200);
        b[0] = [0x80, 0x81, 22, 23, 0x00, 0x01, 0xff, 64][i % 8];
        if (i % 8 === 1) b[1] = 200;           // RTCP SR
        await new Promise((r) => sock.send(b, port, '127.0.0.1', r));
        out.garbage++;
      }
      sock.close();
      await new Promise((r) => setTimeout(r, 1000 * Number(seconds) - 1000));
    } else {
      await new Promise((r) => setTimeout(r, 1000 * Number(seconds)));
    }

    out.stats = await page.evaluate(async () => {
      const r = {};
      (await window.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp') {
          r[s.kind] = Object.assign(r[s.kind] || {}, {
            packets: s.packetsSent, frames: s.framesEncoded,
            plis: s.pliCount, nacks: s.nackCount,
            bitrate_target: s.targetBitrate });
        }
        // present once the recorder's receiver reports arrive
        if (s.type === 'remote-inbound-rtp') {
          r['rr_' + s.kind] = { lost: s.packetsLost, rtt: s.roundTripTime,
                                jitter: s.jitter,
                                reports: s.roundTripTimeMeasurements };
        }
      });
      return r;
    });

    const del = await fetch(out.location, {
      method: 'DELETE', headers: { 'Authorization': 'Bearer ' + token } });
    out.deleted_at = now();
    out.delete_status = del.status;
    out.elapsed = out.deleted_at - (out.media_at || out.connected_at);
    console.log(JSON.stringify(out));
  } finally {
    await browser.close();
    page_srv.close();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exit(1);
});
