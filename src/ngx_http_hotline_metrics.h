
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_METRICS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_METRICS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_proto.h"


/*
 * The node's counters for Prometheus (each node is scraped on its own):
 * they live in the node's zone, so every worker adds to the same ones.
 */


/* the close codes counted, in the order of closes[] */
#define NGX_HOTLINE_CLOSE_CODES   { 1000, 1001, 1002, 1003, 1007, 1008, \
                                    1009, 1011, 4000, 4001, 4002, 4003, \
                                    4004, 4005 }
#define NGX_HOTLINE_CLOSE_N       14

#define NGX_HOTLINE_NOTIFY_SENT     0
#define NGX_HOTLINE_NOTIFY_RETRIED  1
#define NGX_HOTLINE_NOTIFY_FAILED   2
#define NGX_HOTLINE_NOTIFY_FALLBACK 3
#define NGX_HOTLINE_NOTIFY_DROPPED  4       /* never (fully) attempted:
                                               queue full, out of memory,
                                               the worker exits */

#define NGX_HOTLINE_AUTH_OK         0
#define NGX_HOTLINE_AUTH_FAILED     1
#define NGX_HOTLINE_AUTH_LOCKED     2
#define NGX_HOTLINE_AUTH_REVOKED    3
#define NGX_HOTLINE_AUTH_COMPARED   4       /* a code compared */


/* histograms: how long, in ms; buckets and names in metrics.c */
#define NGX_HOTLINE_HIST_WAIT       0       /* in the queue, then accepted */
#define NGX_HOTLINE_HIST_UNANSWERED 1       /* in the queue, then left */
#define NGX_HOTLINE_HIST_DURATION   2       /* accepted to ended */
#define NGX_HOTLINE_HIST_CONNECT_C  3       /* accepted to the customer's
                                               media connected */
#define NGX_HOTLINE_HIST_CONNECT_A  4       /* ... the agent's */
#define NGX_HOTLINE_HIST_N          5
#define NGX_HOTLINE_HIST_BUCKETS    10      /* the last one: +Inf */

typedef struct {
    ngx_atomic_t               bucket[NGX_HOTLINE_HIST_BUCKETS];
    ngx_atomic_t               sum;            /* ms */
} ngx_http_hotline_hist_t;


typedef struct {
    ngx_atomic_t               relayed;
    ngx_atomic_t               ended[NGX_HOTLINE_END_MAX];
    ngx_atomic_t               errors[NGX_HOTLINE_E_MAX];
    ngx_atomic_t               closes[NGX_HOTLINE_CLOSE_N];
    ngx_atomic_t               notify[4];      /* NGX_HOTLINE_NOTIFY_* */
    ngx_atomic_t               webhook[4];     /* ok, retried, failed,
                                                  dropped */
    ngx_atomic_t               auth[5];        /* NGX_HOTLINE_AUTH_* */
    ngx_atomic_t               limited;        /* rate-limit rejections */
    ngx_atomic_t               moved[2];       /* hand-overs to another
                                                  worker: done, failed */
    ngx_http_hotline_hist_t    hist[NGX_HOTLINE_HIST_N];
} ngx_http_hotline_counters_t;


/* NULL before the zone exists (nginx -t) */
ngx_http_hotline_counters_t *ngx_http_hotline_counters(void);

void ngx_http_hotline_count_error(ngx_uint_t code);
void ngx_http_hotline_count_close(ngx_uint_t code);
void ngx_http_hotline_count_relayed(void);
void ngx_http_hotline_count_moved(ngx_uint_t failed);
void ngx_http_hotline_count_ended(ngx_uint_t reason);
void ngx_http_hotline_count_notify(ngx_uint_t result);
void ngx_http_hotline_count_webhook(ngx_uint_t result);
void ngx_http_hotline_count_auth(ngx_uint_t result);
void ngx_http_hotline_count_limited(void);
void ngx_http_hotline_observe(ngx_uint_t hist, ngx_msec_int_t ms);
u_char *ngx_http_hotline_histograms(u_char *p,
    ngx_http_hotline_counters_t *z);

/* room histograms() needs */
#define NGX_HOTLINE_HIST_TEXT                                                 \
    (NGX_HOTLINE_HIST_N * (NGX_HOTLINE_HIST_BUCKETS + 2) * 128 + 1024)


#endif /* _NGX_HTTP_HOTLINE_METRICS_H_INCLUDED_ */
