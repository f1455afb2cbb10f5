#!/usr/bin/perl
# The support desk in real browsers (t/e2e/desk.test.mjs): presence,
# nobody online and a message left instead, claimed and done; a customer's
# reload mid-call keeps the call and its chat; the console in a second
# tab; hold and resume; a cold transfer to a second agent (bob); a note,
# wrap-up, the customer's rating, and the call's record in the history.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/e2e";
use HotlineE2E;

HotlineE2E::run('desk.test.mjs',
                http => "hotline_wrapup_time 3s;\nhotline_transcript 64k;\n",
                agents => { bob => 'Bob Demir' });
