
/*
 * Copyright (C) hotline authors
 */


#include "hl_hist.h"


static unsigned
hl_hist_index(uint64_t v)
{
    unsigned  shift;

    if (v < 2 * HL_HIST_SUB) {
        return (unsigned) v;
    }

    /* v >> shift lies in [HL_HIST_SUB, 2 * HL_HIST_SUB) */
    shift = 63 - __builtin_clzll(v) - 7;

    return 2 * HL_HIST_SUB + (shift - 1) * HL_HIST_SUB
           + (unsigned) ((v >> shift) - HL_HIST_SUB);
}


static uint64_t
hl_hist_upper(unsigned i)
{
    unsigned  shift, sub;

    if (i < 2 * HL_HIST_SUB) {
        return i;
    }

    shift = (i - 2 * HL_HIST_SUB) / HL_HIST_SUB + 1;
    sub = (i - 2 * HL_HIST_SUB) % HL_HIST_SUB + HL_HIST_SUB;

    return (((uint64_t) sub + 1) << shift) - 1;
}


void
hl_hist_add(hl_hist_t *h, uint64_t v)
{
    unsigned  i;

    i = hl_hist_index(v);
    if (i >= HL_HIST_BUCKETS) {
        i = HL_HIST_BUCKETS - 1;
    }

    h->bucket[i]++;
    h->count++;
    h->sum += v;

    if (v > h->max) {
        h->max = v;
    }
}


uint64_t
hl_hist_quantile(const hl_hist_t *h, double q)
{
    unsigned  i;
    uint64_t  rank, seen, v;

    if (h->count == 0) {
        return 0;
    }

    rank = (uint64_t) (q * (double) h->count);
    if (rank >= h->count) {
        rank = h->count - 1;
    }

    seen = 0;

    for (i = 0; i < HL_HIST_BUCKETS; i++) {
        seen += h->bucket[i];

        if (seen > rank) {
            v = hl_hist_upper(i);
            return v < h->max ? v : h->max;
        }
    }

    return h->max;
}


void
hl_hist_merge(hl_hist_t *h, const hl_hist_t *from)
{
    unsigned  i;

    for (i = 0; i < HL_HIST_BUCKETS; i++) {
        h->bucket[i] += from->bucket[i];
    }

    h->count += from->count;
    h->sum += from->sum;

    if (from->max > h->max) {
        h->max = from->max;
    }
}
