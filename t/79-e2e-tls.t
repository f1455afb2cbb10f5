#!/usr/bin/perl
# A whole call in real browsers over https:// and wss://, nginx terminating
# TLS itself (t/e2e/tls.test.mjs): sign-in, call, media both ways, chat,
# hang-up.  Headless Chromium and nginx run in a loopback-only network
# namespace (t/e2e/HotlineE2E.pm, tls => 1).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('tls.test.mjs', tls => 1);
