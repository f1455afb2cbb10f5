#!/usr/bin/perl
# Hostile names and chat in real browsers (t/e2e/names.test.mjs): a
# caller's name and messages that look like markup, like the pages'
# attribute syntax and like JSON, shown as typed on every element of both
# pages that shows them, in Turkish and English and after language
# switches, and no element gains an attribute from them.  Headless
# Chromium and nginx with the module run in a loopback-only network
# namespace (t/e2e/HotlineE2E.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('names.test.mjs');
