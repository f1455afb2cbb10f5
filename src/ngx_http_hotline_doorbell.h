
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_DOORBELL_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_DOORBELL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_zone.h"


/*
 * Cross-worker wake-ups of one node (ngx_http_hotline_doorbell.c): each
 * worker has a mailbox in the zone; entries name an inbox of the embedded
 * store with a generation, flags say what every worker must look at.
 */

#define NGX_HOTLINE_MAIL_DELIVER  0
#define NGX_HOTLINE_MAIL_REPLACED 1
#define NGX_HOTLINE_MAIL_SLOW     2

/* mailbox flags */
#define NGX_HOTLINE_MAIL_QUEUE    1       /* the queue changed */
#define NGX_HOTLINE_MAIL_AUTH     2       /* a token was revoked */
#define NGX_HOTLINE_MAIL_OVERFLOW 4       /* entries were lost */
#define NGX_HOTLINE_MAIL_STORE_UP 8       /* a worker reached the store */

/* a worker's link to the store, in its mailbox (health, metrics) */
#define NGX_HOTLINE_STORE_DOWN        0
#define NGX_HOTLINE_STORE_CONNECTING  1
#define NGX_HOTLINE_STORE_UP          2
#define NGX_HOTLINE_STORE_N           3

typedef struct {
    ngx_pid_t                  pid;
    ngx_uint_t                 state;       /* NGX_HOTLINE_STORE_* */
    ngx_msec_t                 since;       /* ngx_current_msec */
    ngx_msec_t                 retry;       /* down: the next attempt */
    ngx_uint_t                 failures;    /* attempts since it was up */
} ngx_http_hotline_worker_store_t;


typedef struct {
    void                      *inbox;
    uint64_t                   gen;
    ngx_uint_t                 kind;
} ngx_http_hotline_mail_t;


ngx_int_t ngx_http_hotline_doorbell_init(ngx_cycle_t *cycle,
    void (*handler)(void));
void ngx_http_hotline_doorbell_flush(void);
void ngx_http_hotline_doorbell_done(void);

/* these run with the zone locked */
void ngx_http_hotline_mailbox_push(ngx_pid_t pid, void *inbox,
    uint64_t gen, ngx_uint_t kind);
void ngx_http_hotline_mailbox_broadcast(ngx_uint_t flag);
void ngx_http_hotline_mailbox_conns(ngx_uint_t role, ngx_int_t delta);
void ngx_http_hotline_mailbox_totals(ngx_uint_t *conns);
ngx_uint_t ngx_http_hotline_mailbox_alive(ngx_pid_t pid);
uint64_t ngx_http_hotline_mailbox_generation(ngx_pid_t pid);
ngx_uint_t ngx_http_hotline_mailbox_take(ngx_http_hotline_mail_t *mail,
    ngx_uint_t max, ngx_uint_t *flags);
ngx_uint_t ngx_http_hotline_mailbox_reap(void);
void ngx_http_hotline_mailbox_store(ngx_uint_t state, ngx_msec_t retry,
    ngx_uint_t failures);
ngx_uint_t ngx_http_hotline_mailbox_count(void);
ngx_uint_t ngx_http_hotline_mailbox_stores(
    ngx_http_hotline_worker_store_t *ws, ngx_uint_t max);


#endif /* _NGX_HTTP_HOTLINE_DOORBELL_H_INCLUDED_ */
