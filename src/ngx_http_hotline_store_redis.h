
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_redis.h"


/*
 * The parts of the Redis store backend:
 *
 *   ngx_http_hotline_store_redis.c          the store's operations
 *   ngx_http_hotline_store_redis_worker.c   a worker's start and stop: it
 *                                           wires the parts below
 *   ngx_http_hotline_store_redis_cache.c    consumers: the messages of
 *                                           their inboxes, in order
 *   ngx_http_hotline_store_redis_sentinel.c where the master is
 *   ngx_http_hotline_store_redis_persist.c  does Redis keep it on disk?
 *   ngx_http_hotline_store_redis_durable.c  replicas= have it
 *   ngx_http_hotline_store_redis_conn.c     connections, pub/sub, health
 *   ngx_http_hotline_store_redis_req.c      requests and their replies
 *   ngx_http_hotline_store_redis_state.c    the state they share (.h)
 *   ngx_http_hotline_store_redis_lua.c      the scripts
 *   ngx_http_hotline_store_redis_history.c  the history of all nodes
 *   ngx_http_hotline_store_redis_conf.c     the hotline_redis directive
 *
 * Each calls only those below it: news goes up through the functions
 * that the worker's start registers (ngx_http_hotline_store_redis_state.h).
 */


#define NGX_HOTLINE_LUA_READ      0
#define NGX_HOTLINE_LUA_COMMIT    1
#define NGX_HOTLINE_LUA_DUE       2
#define NGX_HOTLINE_LUA_SYNC      3
#define NGX_HOTLINE_LUA_DELIVERED 4
#define NGX_HOTLINE_LUA_KV_GET    5
#define NGX_HOTLINE_LUA_KV_INCR   6
#define NGX_HOTLINE_LUA_LIMIT     7
#define NGX_HOTLINE_LUA_HISTORY   8
#define NGX_HOTLINE_LUA_DAYS      9
#define NGX_HOTLINE_LUA_KV_ATTEMPT 10
#define NGX_HOTLINE_LUA_ERASURES  11
#define NGX_HOTLINE_LUA_N         12

/* scripts below this one take the prefix and the channel first */
#define NGX_HOTLINE_LUA_KEYED     NGX_HOTLINE_LUA_KV_GET


typedef struct {
    const char                    *name;
    const char                    *body;
} ngx_http_hotline_lua_t;

extern ngx_http_hotline_lua_t  ngx_http_hotline_lua[NGX_HOTLINE_LUA_N];


#define NGX_HOTLINE_REDIS_REAP_AFTER  15000    /* ms up before reaping */
#define NGX_HOTLINE_REDIS_BATCH       64       /* commits in one call */

/* as a worker's link to the store in its mailbox (doorbell.h) */
#define NGX_HOTLINE_REDIS_DOWN        0
#define NGX_HOTLINE_REDIS_CONNECTING  1
#define NGX_HOTLINE_REDIS_UP          2


#define NGX_HOTLINE_REDIS_SENTINELS_MAX  16


typedef struct {
    u_char                         ip[NGX_SOCKADDR_STRLEN + 1];
    int                            port;
} ngx_http_hotline_redis_addr_t;


/* ngx_http_hotline_store_redis_conf.c: the hotline_redis directive */
typedef struct {
    ngx_str_t                      url;
    ngx_http_hotline_redis_addr_t  addr;         /* redis:// */
    ngx_http_hotline_redis_addr_t *sentinels;    /* sentinel:// */
    ngx_uint_t                     nsentinels;
    ngx_str_t                      master;       /* its name */
    ngx_str_t                      sentinel_password;
    ngx_uint_t                     db;
    ngx_str_t                      user;
    ngx_str_t                      password;
    ngx_str_t                      prefix;
    ngx_uint_t                     replicas;     /* WAIT for them */
    ngx_msec_t                     replica_timeout;
} ngx_http_hotline_redis_conf_t;




/* requests: a reply (NULL: Redis is unavailable) goes to done() */

typedef struct ngx_http_hotline_rreq_s  ngx_http_hotline_rreq_t;

typedef void (*ngx_http_hotline_rreq_pt)(ngx_http_hotline_rreq_t *req,
    redisReply *r);

struct ngx_http_hotline_rreq_s {
    ngx_http_hotline_rreq_pt       done;
    ngx_uint_t                     script;       /* NGX_HOTLINE_LUA_N: plain */
    ngx_uint_t                     retried;
    ngx_uint_t                     overflow;
    ngx_uint_t                     quiet;        /* an error is expected */
    void                          *handler;      /* the caller's */
    void                          *data;
    uint64_t                       gen;          /* a consumer's */
    int                            argc;
    int                            argmax;
    const char                   **argv;
    size_t                        *argvlen;
    u_char                        *pos;
    u_char                        *end;
    ngx_http_hotline_reads_t       rd;           /* a read's operations */
    ngx_http_hotline_rreq_t       *next;         /* in a batch */
    ngx_http_hotline_rreq_t       *members;      /* a batch's requests */
    u_char                         buf[1];
};

ngx_http_hotline_rreq_t *ngx_http_hotline_rreq(ngx_uint_t script,
    ngx_uint_t args, size_t bytes, ngx_http_hotline_rreq_pt done);
void ngx_http_hotline_rreq_arg(ngx_http_hotline_rreq_t *req, u_char *data,
    size_t len);
void ngx_http_hotline_rreq_num(ngx_http_hotline_rreq_t *req, int64_t n);
void ngx_http_hotline_rreq_send(ngx_http_hotline_rreq_t *req);
void ngx_http_hotline_rreq_batch(ngx_http_hotline_rreq_t *req);
void ngx_http_hotline_rreq_flush(void);
ngx_uint_t ngx_http_hotline_reply_err(redisReply *r);
int64_t ngx_http_hotline_reply_int(redisReply *r, size_t i);
ngx_str_t ngx_http_hotline_reply_str(redisReply *r, size_t i);
ngx_int_t ngx_http_hotline_reply_pubsub(redisReply *r, ngx_str_t *kind,
    ngx_str_t *channel, ngx_str_t *payload);

typedef void (*ngx_http_hotline_redis_reply_pt)(void *data, redisReply *r);

/* a keyed script (KEYS[1] is the prefix and key) for the store's parts */
void ngx_http_hotline_redis_call(ngx_uint_t script, ngx_str_t *key,
    ngx_str_t *args, ngx_uint_t nargs, ngx_http_hotline_redis_reply_pt handler,
    void *data);
ngx_str_t *ngx_http_hotline_redis_prefix(void);


/* ngx_http_hotline_store_redis_worker.c: the parts, started and stopped */
ngx_int_t ngx_http_hotline_rworker_init(ngx_cycle_t *cycle);
void ngx_http_hotline_rworker_exit(void);


/* connections */
typedef struct ngx_http_hotline_rconn_hooks_s
    ngx_http_hotline_rconn_hooks_t;

ngx_int_t ngx_http_hotline_rconn_init(ngx_cycle_t *cycle,
    ngx_http_hotline_rconn_hooks_t *hooks);
void ngx_http_hotline_rconn_exit(void);
void ngx_http_hotline_rconn_connect(void);
void ngx_http_hotline_rconn_open(void);
void ngx_http_hotline_rconn_retry_now(void);
void ngx_http_hotline_rconn_down(const char *why);
ngx_uint_t ngx_http_hotline_rconn_up(void);
void ngx_http_hotline_rconn_quiet(ngx_str_t ch);


/* ngx_http_hotline_store_redis_sentinel.c */
void ngx_http_hotline_rsentinel_init(ngx_cycle_t *cycle);
void ngx_http_hotline_rsentinel_exit(void);
void ngx_http_hotline_rsentinel_ask(void);


/* ngx_http_hotline_store_redis_durable.c: replicas have it */
void ngx_http_hotline_rdurable_init(ngx_cycle_t *cycle,
    void (*durable)(void), void (*unheld)(void));
void ngx_http_hotline_rdurable_exit(void);
ngx_uint_t ngx_http_hotline_rdurable_next(void);
void ngx_http_hotline_rdurable_up(void);
ngx_uint_t ngx_http_hotline_rdurable_waits(ngx_uint_t b);
void ngx_http_hotline_rdurable_answer(ngx_http_hotline_commit_pt handler,
    void *data, ngx_http_hotline_txres_t *res);
void ngx_http_hotline_rdurable_lost(void);


/* ngx_http_hotline_store_redis_persist.c: does Redis keep data on disk? */
void ngx_http_hotline_rpersist_check(void);


/* consumers */
ngx_int_t ngx_http_hotline_rcache_init(ngx_cycle_t *cycle);
void ngx_http_hotline_rcache_exit(void);
ngx_http_hotline_consumer_t *ngx_http_hotline_rcache_consumer(void *data);
void ngx_http_hotline_rcache_free(ngx_http_hotline_consumer_t *c);
void ngx_http_hotline_rcache_own(ngx_http_hotline_consumer_t *c, void *data);
void ngx_http_hotline_rcache_info(ngx_http_hotline_consumer_t *c,
    ngx_http_hotline_consumer_info_t *ci);
void ngx_http_hotline_rcache_read_to(ngx_http_hotline_consumer_t *c,
    uint64_t seq);
ssize_t ngx_http_hotline_rcache_pull(ngx_http_hotline_consumer_t *c,
    u_char *buf, size_t size, size_t budget);
uint64_t ngx_http_hotline_rcache_gen(ngx_http_hotline_consumer_t *c);
ngx_str_t *ngx_http_hotline_rcache_key(ngx_http_hotline_consumer_t *c);
void ngx_http_hotline_rcache_attaching(ngx_http_hotline_consumer_t *c,
    ngx_str_t *key);
void ngx_http_hotline_rcache_attached(uint64_t gen, redisReply *r,
    size_t i);
void ngx_http_hotline_rcache_released(ngx_http_hotline_consumer_t *c);
void ngx_http_hotline_rcache_message(ngx_str_t *payload);
void ngx_http_hotline_rcache_resync(void);
void ngx_http_hotline_rcache_durable(void);
void ngx_http_hotline_rcache_unheld(void);


/* ngx_http_hotline_store_redis_history.c */
void ngx_http_hotline_redis_history(ngx_http_hotline_history_query_t *q,
    ngx_http_hotline_history_pt handler, void *data);
void ngx_http_hotline_redis_erasures_start(ngx_cycle_t *cycle);
void ngx_http_hotline_redis_erasures_stop(void);


#endif /* _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_ */
