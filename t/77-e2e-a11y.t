#!/usr/bin/perl
# Accessibility and layout in real browsers (t/e2e/a11y.test.mjs):
# axe-core finds no violation in any state of either page, in both
# languages; a whole call with the keyboard alone; the console on a phone
# with long names and its call controls in reach.  Headless Chromium and
# nginx with the module run in a loopback-only network namespace
# (t/e2e/HotlineE2E.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('a11y.test.mjs');
