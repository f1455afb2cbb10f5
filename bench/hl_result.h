
/*
 * Copyright (C) hotline authors
 *
 * What one load generator process measured in a relay run, in a form that
 * the processes of one run add up (hl_team.c): counters, counts by name
 * and the latency histogram.
 */


#ifndef _HL_RESULT_H_INCLUDED_
#define _HL_RESULT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "hl_hist.h"


#define HL_CODES  24


typedef struct {
    char          name[32];
    uint64_t      n;
} hl_count_t;


typedef struct {
    int           ok;              /* set up and measured */
    unsigned      calls;           /* calls asked for */
    unsigned      pairs;           /* ... set up */
    unsigned      cross;           /* ... with the parties on two workers */
    unsigned      cross_end;       /* ... at the end (hotline_colocate
                                      moves the customer to its agent) */
    unsigned      same;
    unsigned      unknown;
    unsigned      senders;
    unsigned      ended;           /* parties that got "ended" at hangup */

    uint64_t      sent;
    uint64_t      delivered;
    uint64_t      rejected;
    uint64_t      acks;
    uint64_t      skipped;
    uint64_t      bad_payload;
    uint64_t      recv_window;     /* received inside the window */

    double        gen_cpu;         /* this process, CPU seconds, window */

    hl_count_t    errors[HL_CODES];
    hl_count_t    closes[HL_CODES];
    hl_count_t    refusals[HL_CODES];

    hl_hist_t     hist;            /* latency, ns */
} hl_result_t;


/* Counts one more name in t (HL_CODES names at most). */
void hl_count(hl_count_t *t, const char *name, size_t len);
void hl_count_add(hl_count_t *t, const char *name, uint64_t n);
uint64_t hl_count_total(const hl_count_t *t);
void hl_count_print(const char *title, const hl_count_t *t);

/* Adds r to sum (every counter, count and the histogram). */
void hl_result_merge(hl_result_t *sum, const hl_result_t *r);


#endif /* _HL_RESULT_H_INCLUDED_ */
