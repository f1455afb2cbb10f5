#!/usr/bin/perl
# A call relayed through TURN in real browsers (t/e2e/turn.test.mjs): a
# real coturn (use-auth-secret), the module's hotline_ice_servers location
# minting the REST credentials from the same secret, relay-only peer
# connections; the call connects, media flow, the diagnostics say
# "relayed".  Skipped without coturn.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('turn.test.mjs', turn => 1);
