
/*
 * Copyright (C) hotline authors
 */


#include <stdio.h>
#include <string.h>

#include "hl_result.h"


void
hl_count(hl_count_t *t, const char *name, size_t len)
{
    char  buf[sizeof(t[0].name)];

    if (len >= sizeof(buf)) {
        len = sizeof(buf) - 1;
    }

    memcpy(buf, name, len);
    buf[len] = '\0';

    hl_count_add(t, buf, 1);
}


void
hl_count_add(hl_count_t *t, const char *name, uint64_t n)
{
    int  i;

    for (i = 0; i < HL_CODES; i++) {
        if (t[i].n == 0) {
            snprintf(t[i].name, sizeof(t[i].name), "%s", name);
            t[i].n = n;
            return;
        }

        if (strcmp(t[i].name, name) == 0) {
            t[i].n += n;
            return;
        }
    }
}


uint64_t
hl_count_total(const hl_count_t *t)
{
    int       i;
    uint64_t  n;

    n = 0;

    for (i = 0; i < HL_CODES; i++) {
        n += t[i].n;
    }

    return n;
}


void
hl_count_print(const char *title, const hl_count_t *t)
{
    int  i;

    if (t[0].n == 0) {
        return;
    }

    printf("  %s:", title);

    for (i = 0; i < HL_CODES && t[i].n; i++) {
        printf(" %s=%llu", t[i].name, (unsigned long long) t[i].n);
    }

    printf("\n");
}


void
hl_result_merge(hl_result_t *sum, const hl_result_t *r)
{
    int  i;

    sum->ok += r->ok;
    sum->calls += r->calls;
    sum->pairs += r->pairs;
    sum->cross += r->cross;
    sum->cross_end += r->cross_end;
    sum->same += r->same;
    sum->unknown += r->unknown;
    sum->senders += r->senders;
    sum->ended += r->ended;

    sum->sent += r->sent;
    sum->delivered += r->delivered;
    sum->rejected += r->rejected;
    sum->acks += r->acks;
    sum->skipped += r->skipped;
    sum->bad_payload += r->bad_payload;
    sum->recv_window += r->recv_window;
    sum->gen_cpu += r->gen_cpu;

    for (i = 0; i < HL_CODES && r->errors[i].n; i++) {
        hl_count_add(sum->errors, r->errors[i].name, r->errors[i].n);
    }

    for (i = 0; i < HL_CODES && r->closes[i].n; i++) {
        hl_count_add(sum->closes, r->closes[i].name, r->closes[i].n);
    }

    for (i = 0; i < HL_CODES && r->refusals[i].n; i++) {
        hl_count_add(sum->refusals, r->refusals[i].name, r->refusals[i].n);
    }

    hl_hist_merge(&sum->hist, &r->hist);
}
