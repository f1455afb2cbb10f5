
/*
 * Copyright (C) hotline authors
 *
 * A log-linear latency histogram (HDR-like): 128 sub-buckets per power of
 * two, so any recorded value is reported within 0.8% of itself.
 */


#ifndef _HL_HIST_H_INCLUDED_
#define _HL_HIST_H_INCLUDED_


#include <stdint.h>


#define HL_HIST_SUB      128
#define HL_HIST_BUCKETS  (2 * HL_HIST_SUB + 56 * HL_HIST_SUB)


typedef struct {
    uint64_t  count;
    uint64_t  max;
    uint64_t  sum;
    uint64_t  bucket[HL_HIST_BUCKETS];
} hl_hist_t;


void hl_hist_add(hl_hist_t *h, uint64_t v);

/* The value at quantile q (0..1): the upper bound of its bucket, capped
 * by the largest value recorded; 0 when empty. */
uint64_t hl_hist_quantile(const hl_hist_t *h, double q);

/* Adds every value recorded in from to h. */
void hl_hist_merge(hl_hist_t *h, const hl_hist_t *from);


#endif /* _HL_HIST_H_INCLUDED_ */
