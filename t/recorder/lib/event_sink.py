#!/usr/bin/python3
# A CRM's webhook receiver for the tests: verifies each event's
# Hotline-Signature with Python's own hmac module (an implementation
# independent of the recorder's OpenSSL HMAC), exactly as docs/recorder.md
# tells integrators to, and appends what it saw to a JSON lines file.
#
# usage: event_sink.py PORT SECRET_FILE OUT_FILE [FAIL_FIRST]
#   FAIL_FIRST: answer 500 to that many requests before accepting

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, secret_file, out_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0

with open(secret_file, 'rb') as f:
    secret = f.read().rstrip(b'\r\n')


def verify(header, body, tolerance=300):
    """The recipe of docs/recorder.md: t and v1 from the header, HMAC-SHA256
    over "<t>.<body>", compared in constant time, t not too old."""
    try:
        parts = dict(p.split('=', 1) for p in header.split(','))
        t = int(parts['t'])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, str(t).encode() + b'.' + body,
                        hashlib.sha256).hexdigest()
    return (hmac.compare_digest(expected, parts.get('v1', ''))
            and abs(time.time() - t) <= tolerance)


class Sink(BaseHTTPRequestHandler):
    seen = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        Sink.seen += 1
        status = 500 if Sink.seen <= fail_first else 204
        rec = {
            'n': Sink.seen,
            'status': status,
            'valid': verify(self.headers.get('Hotline-Signature', ''), body),
            'tampered_valid': verify(self.headers.get('Hotline-Signature',
                                                      ''), body + b' '),
            'signature': self.headers.get('Hotline-Signature'),
            'event_id': self.headers.get('Hotline-Event-Id'),
            'content_type': self.headers.get('Content-Type'),
            'body': json.loads(body),
        }
        with open(out_file, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(('127.0.0.1', port), Sink).serve_forever()
