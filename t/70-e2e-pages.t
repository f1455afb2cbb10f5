#!/usr/bin/perl
# The customer page and the agent console in real browsers, without a
# whole call (t/e2e/pages.test.mjs): the CSP nonce and no violations, the
# Turkish default and the English switch, accessible names for every
# control, the name check, the demo's fragment token, and a customer whose
# microphone permission is refused (plain-language message; the call goes
# on, listening).  Headless Chromium and nginx with the module run in a
# loopback-only network namespace (t/e2e/HotlineE2E.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('pages.test.mjs');
