#!/usr/bin/perl
# A real browser's WebSocket moved between workers (the demo's
# configuration has hotline_colocate on; t/e2e/colocate.test.mjs): the
# customer's page on one worker, the agent's console on the other; the
# accept moves the customer's connection while the browsers set up
# WebRTC, and the call goes on: media, chat, a reload, the hangup.
# Headless Chromium and nginx in a loopback-only network namespace
# (t/e2e/HotlineE2E.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('colocate.test.mjs');
