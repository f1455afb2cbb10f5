
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto.h"


/*
 * The state store: queue, calls, agents, resume tokens and per-party
 * message buffers, shared by every worker (and, with a distributed
 * backend, every node).  The interface is asynchronous: each operation
 * completes by calling its handler, possibly before it returns (the
 * shared-memory backend) or later from the event loop (a network
 * backend).  While an operation is under way the session is pinned
 * (s->pending), so a handler always gets a live session; it checks
 * s->closed before writing to the connection.
 *
 * Messages for a party are appended to its buffer by whoever produces
 * them (the peer's worker, a store operation); the worker that holds the
 * party's connection is woken and calls pull().
 */


typedef struct {
    u_char                     call_id[NGX_HOTLINE_ID_LEN];
    u_char                     resume[NGX_HOTLINE_ID_LEN];
    uint64_t                   ticket;
    u_char                     addr[NGX_SOCKADDR_STRLEN];  /* ban */
    size_t                     addr_len;
    unsigned                   resumed:1;
    unsigned                   gap:1;
    unsigned                   in_call:1;
    unsigned                   waiting:1;
    unsigned                   ended:1;
} ngx_http_hotline_result_t;


typedef struct {
    ngx_uint_t                 up;
    size_t                     size;
    size_t                     used;
    ngx_uint_t                 waiting;
    ngx_uint_t                 active;
    ngx_uint_t                 agents_online;
    ngx_uint_t                 agents_busy;
} ngx_http_hotline_stats_t;


/* the close codes counted, in the order of the zone's closes[] */
#define NGX_HOTLINE_CLOSE_CODES   { 1000, 1001, 1002, 1003, 1007, 1008, \
                                    1009, 1011, 4000, 4001, 4002, 4003, \
                                    4004, 4005 }
#define NGX_HOTLINE_CLOSE_N       14


#define NGX_HOTLINE_NOTIFY_SENT     0
#define NGX_HOTLINE_NOTIFY_RETRIED  1
#define NGX_HOTLINE_NOTIFY_FAILED   2
#define NGX_HOTLINE_NOTIFY_FALLBACK 3

#define NGX_HOTLINE_AUTH_OK         0
#define NGX_HOTLINE_AUTH_FAILED     1
#define NGX_HOTLINE_AUTH_LOCKED     2
#define NGX_HOTLINE_AUTH_REVOKED    3


/*
 * The node's shared zone: counters of this node (Prometheus scrapes each
 * node), the workers' mailboxes (ngx_http_hotline_doorbell.c) and the
 * embedded backend's state.
 */
typedef struct {
    ngx_atomic_t               relayed;
    ngx_atomic_t               ended[NGX_HOTLINE_END_MAX];
    ngx_atomic_t               errors[NGX_HOTLINE_E_MAX];
    ngx_atomic_t               closes[NGX_HOTLINE_CLOSE_N];
    ngx_atomic_t               notify[4];      /* NGX_HOTLINE_NOTIFY_* */
    ngx_atomic_t               auth[4];        /* NGX_HOTLINE_AUTH_* */
    ngx_atomic_t               limited;        /* rate-limit rejections */
    ngx_queue_t                mailboxes;
    void                      *backend;
    void                      *kv;
} ngx_http_hotline_zone_t;


typedef void (*ngx_http_hotline_store_pt)(ngx_http_hotline_session_t *s,
    ngx_uint_t err, ngx_http_hotline_result_t *res, void *data);

typedef void (*ngx_http_hotline_queue_pt)(ngx_http_hotline_queue_t *q,
    void *data);


/*
 * Small keyed records with a time to live, for auth and guards: one-time
 * codes, failure counters, lockouts, rate-limit state, revoked token ids.
 * Keys are up to NGX_HOTLINE_KV_KEY bytes, values up to NGX_HOTLINE_KV_VALUE.
 */

#define NGX_HOTLINE_KV_KEY        256
#define NGX_HOTLINE_KV_VALUE      512

typedef struct {
    ngx_uint_t                 found;       /* get, del: it existed */
    int64_t                    number;      /* incr: the new value */
    u_char                     value[NGX_HOTLINE_KV_VALUE];
    size_t                     len;         /* get */
    ngx_msec_t                 ttl;         /* get, incr: time left */
    ngx_msec_t                 retry_after; /* limit: 0 if allowed */
} ngx_http_hotline_kv_t;

typedef void (*ngx_http_hotline_kv_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);


/*
 * Call history, for a backend that keeps it for all nodes (otherwise
 * each node's journal is the history, ngx_http_hotline_history.c): a page
 * of records newest first, below a cursor, or the counts of days.
 */

typedef struct {
    ngx_pool_t                *pool;        /* for the answer */
    ngx_log_t                 *log;
    ngx_int_t                  limit;
    int64_t                    before;      /* cursor; -1: the newest */
    ngx_str_t                  agent;       /* "": any */
    ngx_str_t                  outcome;     /* "": any */
    ngx_uint_t                 days;        /* > 0: daily counts */
    ngx_uint_t                 day0;        /* the oldest, days since 1970 */
} ngx_http_hotline_history_query_t;

typedef struct {
    ngx_uint_t                 calls;
    ngx_uint_t                 outcomes[NGX_HOTLINE_END_MAX];
    ngx_uint_t                 talk;        /* seconds, of answered calls */
    ngx_uint_t                 answered;
} ngx_http_hotline_history_day_t;

typedef struct {
    ngx_array_t                records;     /* ngx_str_t: JSON objects */
    int64_t                    next;        /* cursor; -1: no more */
    ngx_http_hotline_history_day_t  *days;  /* q->days of them, oldest first */
} ngx_http_hotline_history_t;

typedef void (*ngx_http_hotline_history_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_history_t *h);


struct ngx_http_hotline_store_s {
    const char   *name;

    ngx_int_t   (*init_worker)(ngx_cycle_t *cycle);
    void        (*exit_worker)(ngx_cycle_t *cycle);

    /* a customer enters the queue */
    void        (*join)(ngx_http_hotline_session_t *s, u_char *name,
                        size_t len, ngx_http_hotline_store_pt handler,
                        void *data);

    /* an agent comes online (or takes its session over) */
    void        (*agent)(ngx_http_hotline_session_t *s,
                         ngx_http_hotline_store_pt handler,
                        void *data);

    /* a party comes back with its resume token */
    void        (*resume)(ngx_http_hotline_session_t *s, u_char *token,
                          uint64_t last_seq, ngx_uint_t replay,
                          ngx_http_hotline_store_pt handler,
                        void *data);

    /* agent: take a waiting call (NULL: the oldest) or decline one */
    void        (*accept)(ngx_http_hotline_session_t *s, u_char *call_id,
                          ngx_http_hotline_store_pt handler,
                        void *data);
    void        (*reject)(ngx_http_hotline_session_t *s, u_char *call_id,
                          ngx_http_hotline_store_pt handler,
                        void *data);

    /*
     * agent: remove a waiting call or its own call's customer for good
     * (outcome banned); res->addr is the customer's client address
     */
    void        (*ban)(ngx_http_hotline_session_t *s, u_char *call_id,
                       ngx_http_hotline_store_pt handler, void *data);

    /* end the call (hangup) or leave the queue (cancel) */
    void        (*hangup)(ngx_http_hotline_session_t *s,
                          ngx_http_hotline_store_pt handler,
                        void *data);

    /* buffer a message (without its "seq" and closing brace) for peer */
    void        (*relay)(ngx_http_hotline_session_t *s, u_char *msg,
                         size_t len, ngx_http_hotline_store_pt handler,
                        void *data);

    /* the connection is gone: the grace period starts */
    void        (*detach)(ngx_http_hotline_session_t *s);

    /*
     * Copies the party's undelivered messages into buf, as records of
     * uint64_t seq, uint32_t length, bytes, each aligned to 8 bytes,
     * and marks them delivered: at least one message if there is one
     * (buf has room for the largest), then more while their bytes stay
     * within budget.  Returns the bytes used: 0 when there is nothing
     * more; NGX_ERROR if the session was replaced by another connection.
     */
    ssize_t     (*pull)(ngx_http_hotline_session_t *s, u_char *buf,
                        size_t size, size_t budget);

    /* a consistent snapshot of the queue */
    void        (*queue)(ngx_http_hotline_queue_pt handler, void *data);

    /* keyed records; err is NGX_HOTLINE_OK or NGX_HOTLINE_E_UNAVAILABLE */
    void        (*kv_get)(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
                          void *data);
    void        (*kv_set)(ngx_str_t *key, ngx_str_t *value, ngx_msec_t ttl,
                          ngx_http_hotline_kv_pt handler, void *data);

    /* atomic: of two deletes of one key, one finds it (single use) */
    void        (*kv_del)(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
                          void *data);

    /* +1, created at 1 with ttl when missing (the ttl is not renewed) */
    void        (*kv_incr)(ngx_str_t *key, ngx_msec_t ttl,
                           ngx_http_hotline_kv_pt handler, void *data);

    /*
     * GCRA rate limit: one event per interval on average, burst more at
     * once; kv->retry_after says when the next one would be allowed.
     */
    void        (*limit)(ngx_str_t *key, ngx_msec_t interval,
                         ngx_uint_t burst, ngx_http_hotline_kv_pt handler,
                         void *data);

    /*
     * revokes a token id until ttl: stored like kv_set("revoked:<jti>"),
     * and every worker closes the connections that use it
     */
    void        (*revoke)(u_char *jti, size_t len, ngx_msec_t ttl,
                          ngx_http_hotline_kv_pt handler, void *data);

    /* gauges for health and metrics */
    void        (*stats)(ngx_http_hotline_stats_t *st);

    /* whether new sessions can be served now; NULL: always */
    ngx_uint_t  (*up)(void);

    /* the history of all nodes; NULL: the node's journal is the history */
    void        (*history)(ngx_http_hotline_history_query_t *q,
                           ngx_http_hotline_history_pt handler, void *data);
};


extern ngx_http_hotline_store_t  ngx_http_hotline_store_shm;
extern ngx_http_hotline_store_t  ngx_http_hotline_store_redis;

/* ngx_http_hotline_store_redis.c: the hotline_redis directive */
char *ngx_http_hotline_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hotline_store.c */
extern ngx_http_hotline_zone_t  *ngx_http_hotline_zone;
extern ngx_slab_pool_t          *ngx_http_hotline_shpool;

ngx_int_t ngx_http_hotline_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_http_hotline_store_t *ngx_http_hotline_store(void);
void ngx_http_hotline_count_error(ngx_uint_t code);
void ngx_http_hotline_count_close(ngx_uint_t code);
void ngx_http_hotline_count_relayed(void);
void ngx_http_hotline_count_ended(ngx_uint_t reason);
void ngx_http_hotline_count_notify(ngx_uint_t result);
void ngx_http_hotline_count_auth(ngx_uint_t result);

/* ngx_http_hotline_store_shm.c: the embedded backend's zone part */
ngx_int_t ngx_http_hotline_shm_init(ngx_slab_pool_t *shpool,
    ngx_http_hotline_zone_t *zone);

/* ngx_http_hotline_store_shm_kv.c: keyed records in the zone */
ngx_int_t ngx_http_hotline_kv_init(ngx_slab_pool_t *shpool,
    ngx_http_hotline_zone_t *zone);
void ngx_http_hotline_kv_expire(ngx_uint_t max);
void ngx_http_hotline_shm_kv_get(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_kv_del(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_limit(ngx_str_t *key, ngx_msec_t interval,
    ngx_uint_t burst, ngx_http_hotline_kv_pt handler, void *data);
void ngx_http_hotline_shm_revoke(u_char *jti, size_t len, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data);

/* ngx_http_hotline_doorbell.c: mailboxes, called under the zone lock */
#define NGX_HOTLINE_MAIL_DELIVER  0
#define NGX_HOTLINE_MAIL_REPLACED 1
#define NGX_HOTLINE_MAIL_SLOW     2

/* mailbox flags: what every worker must look at again */
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
    void                      *party;
    uint64_t                   gen;
    ngx_uint_t                 kind;
} ngx_http_hotline_mail_t;

void ngx_http_hotline_mailbox_push(ngx_pid_t pid, void *party,
    uint64_t gen, ngx_uint_t kind);
void ngx_http_hotline_mailbox_broadcast(ngx_uint_t flag);
void ngx_http_hotline_mailbox_conns(ngx_uint_t role, ngx_int_t delta);
void ngx_http_hotline_mailbox_totals(ngx_uint_t *conns);
ngx_uint_t ngx_http_hotline_mailbox_alive(ngx_pid_t pid);
ngx_uint_t ngx_http_hotline_mailbox_take(ngx_http_hotline_mail_t *mail,
    ngx_uint_t max, ngx_uint_t *flags);
ngx_uint_t ngx_http_hotline_mailbox_reap(void);
void ngx_http_hotline_mailbox_store(ngx_uint_t state, ngx_msec_t retry,
    ngx_uint_t failures);
ngx_uint_t ngx_http_hotline_mailbox_count(void);
ngx_uint_t ngx_http_hotline_mailbox_stores(
    ngx_http_hotline_worker_store_t *ws, ngx_uint_t max);


#endif /* _NGX_HTTP_HOTLINE_STORE_H_INCLUDED_ */
