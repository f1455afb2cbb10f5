
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_REDIS_STATE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_REDIS_STATE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_store_redis.h"


/*
 * The state that the parts of a worker's Redis store share, below all of
 * them (their order: ngx_http_hotline_store_redis.h).  A part calls only
 * those below it; what it has to tell the ones above goes through the
 * functions registered here by the part that starts it.
 */


/* what the connections tell the parts above them */
struct ngx_http_hotline_rconn_hooks_s {
    /* before a connect, where the master is (NULL: rs->addr); it calls
       ngx_http_hotline_rconn_open() or ngx_http_hotline_rconn_down() */
    void                         (*locate)(void);

    /* all connections are set up: what was missed is caught up */
    void                         (*up)(void);

    /* going down: before the connections and their requests go */
    void                         (*lost)(void);

    /* a message on this worker's channel */
    void                         (*message)(ngx_str_t *payload);
};


/* the worker's side of the Redis store */
typedef struct {
    ngx_http_hotline_redis_t       cmd;          /* commands, pipelined */
    ngx_http_hotline_redis_t       sub;          /* subscriber */
    ngx_http_hotline_redis_t       bar;          /* barriers (replicas=) */
    ngx_http_hotline_redis_addr_t  addr;         /* the master's */
    ngx_http_hotline_redis_conf_t *conf;
    ngx_http_hotline_main_conf_t  *hmcf;
    ngx_log_t                     *log;

    ngx_uint_t                     state;
    ngx_uint_t                     link;         /* connection generation */
    ngx_uint_t                     cmd_wait;     /* setup replies due */
    ngx_uint_t                     sub_wait;
    ngx_uint_t                     bar_wait;
    ngx_msec_t                     backoff;
    ngx_msec_t                     up_since;
    ngx_msec_t                     connect_start;
    ngx_uint_t                     failures;     /* reconnects since up */
    ngx_msec_t                     due_sent;     /* a due() under way */
    ngx_uint_t                     exiting;

    ngx_event_t                    reconnect;
    ngx_event_t                    tick;
    ngx_event_t                    down_ev;      /* tell the listener */

    /* the commits of this pass of the event loop, sent as one call */
    ngx_http_hotline_rreq_t       *batch;
    ngx_http_hotline_rreq_t      **batch_last;
    ngx_uint_t                     batch_n;
    ngx_event_t                    batch_ev;

    ngx_str_t                      channel;      /* P w:<host>:<pid>:<rnd> */
    ngx_str_t                      qchannel;     /* P queue */
    ngx_str_t                      achannel;     /* P auth */
    ngx_str_t                      host;         /* P w:<host>: */
    ngx_str_t                      dead;         /* a local worker gone */
    u_char                         dead_buf[256];

    ngx_str_t                      text[NGX_HOTLINE_LUA_N];
    u_char                         sha[NGX_HOTLINE_LUA_N][41];

    /* sentinel:// (ngx_http_hotline_store_redis_sentinel.c) */
    ngx_http_hotline_redis_t       ask;          /* where is the master? */
    ngx_http_hotline_redis_t       watch;        /* +switch-master */
    ngx_uint_t                     ask_next;     /* the sentinel to ask */
    ngx_uint_t                     asked;        /* in this round */
    ngx_uint_t                     ask_round;    /* answers of older ones
                                                    are ignored */
    ngx_uint_t                     watch_next;
    ngx_event_t                    ask_ev;
    ngx_event_t                    ask_timer;
    ngx_event_t                    watch_timer;

    /* replicas= (ngx_http_hotline_store_redis_durable.c) */
    ngx_uint_t                     barrier_sent;
    ngx_uint_t                     barrier_done;
    ngx_uint_t                     barrier_wanted;
    ngx_event_t                    barrier_ev;
    ngx_queue_t                    held;         /* answers that wait */
    ngx_event_t                    probe;        /* while they lag */
    ngx_uint_t                     lagging;

    /* what waited for the replicas may go; lost: what waited goes again */
    void                         (*durable)(void);
    void                         (*unheld)(void);

    /* the connections' news for the parts above them */
    ngx_http_hotline_rconn_hooks_t hooks;

    /* a request that finds the node a replica takes the store down */
    void                         (*down)(const char *why);
} ngx_http_hotline_rstore_t;


extern ngx_http_hotline_rstore_t  *ngx_http_hotline_rs;


#endif /* _NGX_HTTP_HOTLINE_STORE_REDIS_STATE_H_INCLUDED_ */
