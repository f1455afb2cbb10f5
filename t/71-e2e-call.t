#!/usr/bin/perl
# The customer page and the agent console in real browsers, a whole call
# (t/e2e/call.test.mjs): OTP sign-in through the Telegram stand-in, two
# customers in the queue, accept, WebRTC media both ways, chat, mute,
# camera, a cut WebSocket resumed, an ICE restart, hang up, history,
# reject, sign out.  Headless Chromium and nginx with the module run in a
# loopback-only network namespace (t/e2e/HotlineE2E.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('call.test.mjs');
