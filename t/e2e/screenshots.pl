#!/usr/bin/perl
# make screenshots: every state of both pages at 1366x768 and 390x844, in
# Turkish and English (t/e2e/screenshots.mjs), into t/e2e/screenshots/
# (HOTLINE_SHOTS).  Not part of make test: for people to look at.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", "$FindBin::Bin";
use HotlineE2E;

HotlineE2E::run('screenshots.mjs');
