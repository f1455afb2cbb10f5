#!/usr/bin/perl
# Microphones, cameras and speakers in real browsers
# (t/e2e/devices.test.mjs): the customer's microphone checked before
# joining the queue (missing: said at once; silent: said while waiting),
# the agent told when no sound comes from the customer, and the devices
# chosen from lists, changed in a call and remembered.  Headless Chromium
# (fake devices) and nginx with the module run in a loopback-only network
# namespace (t/e2e/HotlineE2E.pm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('devices.test.mjs');
