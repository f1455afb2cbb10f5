#!/usr/bin/perl
# More of the support desk in real browsers (t/e2e/desk_more.test.mjs): a
# console left alone goes away by itself (hotline_away_after); a callback
# request while nobody is online, claimed and done in the consoles; a
# transfer declined and one timed out (hotline_transfer_timeout 5s), then
# taken by anyone; the history's erase button for the agent
# hotline_history_erase names, and none for another.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('desk_more.test.mjs',
                http => "hotline_away_after 1m;\n"
                      . "hotline_transfer_timeout 5s;\n"
                      . "hotline_history_erase demo;\n",
                agents => { bob => 'Bob Demir', carol => 'Carol Ak' });
