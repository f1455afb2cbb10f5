#!/usr/bin/perl
# The agent console reloaded in the middle of a call, in real browsers
# (t/e2e/reload.test.mjs): it takes its session and the call back and the
# media are set up again; the customer keeps the call.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('reload.test.mjs');
