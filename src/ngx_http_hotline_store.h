
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
 * The state store: storage primitives shared by every worker (and, with a
 * distributed backend, every node).  It knows nothing of calls: the call
 * model (ngx_http_hotline_call.c) is written once on top of these.
 *
 *   records    keyed byte strings with a version: read a set of them,
 *              then commit a transaction that checks their versions and
 *              changes several records, the queue, counters and inboxes
 *              at once, or nothing (optimistic concurrency);
 *   inboxes    a record may have one: a log of messages numbered from 1,
 *              bounded in bytes, read by at most one consumer at a time
 *              (the connection that holds the party), replayed from any
 *              sequence number it still holds;
 *   queue      records ordered by a ticket that grows;
 *   counters   named integers, some bounded;
 *   timers     a deadline per record, found again by due();
 *   keyed values with a time to live (auth and guards), rate limits, the
 *   history of ended calls.
 *
 * Every operation is asynchronous: it completes by calling its handler,
 * maybe before it returns (the shared-memory backend) or later from the
 * event loop (a network backend).  What a handler is given is valid until
 * it returns.  A backend tells the layer above of news through the
 * events it was given (ngx_http_hotline_store_events), never by calling
 * it otherwise.
 */


#define NGX_HOTLINE_KEY_MAX        96
#define NGX_HOTLINE_VALUE_MAX      768

/* an error code of the store, beside those of the protocol */
#define NGX_HOTLINE_E_CONFLICT     100     /* a checked version changed */
#define NGX_HOTLINE_E_AGAIN        101     /* the model: read more first */
#define NGX_HOTLINE_E_BUSY         102     /* an inbox's reader is behind:
                                              append again later */


typedef struct ngx_http_hotline_consumer_s  ngx_http_hotline_consumer_t;


/*
 * A record pulled from a consumer may tell a gap instead of a message:
 * the messages from the first seq to the last (the record's seq) are no
 * longer kept.  Its bytes: NGX_HOTLINE_GAP (a first byte no message has),
 * the first and the last seq (uint64_t each, in the host's order).
 */
#define NGX_HOTLINE_GAP            0
#define NGX_HOTLINE_GAP_LEN        (1 + 2 * sizeof(uint64_t))


/* what a consumer is told */
#define NGX_HOTLINE_WAKE_DELIVER   0       /* new messages to pull */
#define NGX_HOTLINE_WAKE_REPLACED  1       /* another consumer took over */
#define NGX_HOTLINE_WAKE_SLOW      2       /* unread bytes over the limit */
#define NGX_HOTLINE_WAKE_LOST      3       /* the store lost the inbox */


typedef struct {
    /* about one consumer: data is what consumer() was given */
    void                         (*consumer)(void *data, ngx_uint_t wake);
    /* to every worker: the queue (or who is online) changed */
    void                         (*queue)(void);
    /* to every worker: a NOTIFY keyed value was set (a revoked token,
       a ban) */
    void                         (*auth)(void);
    /* the store serves again after an outage, or stopped serving */
    void                         (*up)(void);
    void                         (*down)(void);
} ngx_http_hotline_store_events_t;


/* reads */

#define NGX_HOTLINE_READ_RECORD    0       /* key */
#define NGX_HOTLINE_READ_INDEX     1       /* key: its value is the key of
                                              the record read */
#define NGX_HOTLINE_READ_QUEUE     2       /* the first n queued records */
#define NGX_HOTLINE_READ_COUNTERS  3       /* names[n] */
#define NGX_HOTLINE_READ_TICKET    4       /* a new ticket, in numbers[0] */
#define NGX_HOTLINE_READ_INBOX     5       /* key: its inbox's messages,
                                              oldest first (value, ticket:
                                              their seq), as many as fit in
                                              n bytes, without delivering
                                              them */

#define NGX_HOTLINE_READ_MAX       4


typedef struct {
    ngx_str_t                      key;
    uint64_t                       version;    /* 0: there is none */
    ngx_str_t                      value;
    uint64_t                       ticket;     /* queued: its ticket */
    unsigned                       attached:1; /* its inbox has a consumer */
} ngx_http_hotline_rec_t;


typedef struct {
    ngx_uint_t                     op;
    ngx_str_t                      key;
    ngx_uint_t                     n;
    ngx_str_t                     *names;
    ngx_uint_t                     values;     /* queue: the first ones with
                                                  their values, the others
                                                  may come with version and
                                                  ticket only (0: all) */

    /* the answer */
    ngx_http_hotline_rec_t        *recs;
    ngx_uint_t                     nrecs;
    ngx_uint_t                     total;      /* queue: its length */
    int64_t                       *numbers;
} ngx_http_hotline_read_t;


typedef struct {
    ngx_uint_t                     n;
    ngx_http_hotline_read_t        ops[NGX_HOTLINE_READ_MAX];
} ngx_http_hotline_reads_t;


/* transactions: every check first, then every change, or none */

#define NGX_HOTLINE_TX_CHECK       0       /* key: at version n (0: none) */
#define NGX_HOTLINE_TX_OWNED       1       /* key: its inbox's consumer is
                                              consumer (NULL: has none) */
#define NGX_HOTLINE_TX_PUT         2       /* key = value, version + 1 */
#define NGX_HOTLINE_TX_DEL         3       /* key, its inbox and timer */
#define NGX_HOTLINE_TX_QUEUE       4       /* queue key with ticket n; at
                                              most max queued, else err */
#define NGX_HOTLINE_TX_UNQUEUE     5       /* key */
#define NGX_HOTLINE_TX_COUNT       6       /* counter key += n; if max,
                                              at most max, else err; ttl;
                                              a decrement that takes one
                                              with a ttl to 0 removes it */
#define NGX_HOTLINE_TX_APPEND      7       /* to key's inbox: value; over
                                              max bytes not yet delivered:
                                              err, unless force; BUSY
                                              while a reader is attached,
                                              and then to every append
                                              until one with n = 1 (the
                                              one refused, again) gets
                                              in: nothing overtakes it;
                                              err 0: left out (a bounded
                                              log); a record without an
                                              inbox gets one */
#define NGX_HOTLINE_TX_ATTACH      8       /* key's inbox to consumer,
                                              replaying after seq n */
#define NGX_HOTLINE_TX_RELEASE     9       /* key's inbox from consumer,
                                              n delivered */
#define NGX_HOTLINE_TX_TIMER       10      /* key's deadline in n ms
                                              (0: none) */
#define NGX_HOTLINE_TX_HISTORY     11      /* rec: an ended call */
#define NGX_HOTLINE_TX_NOTIFY      12      /* every worker: queue() */

#define NGX_HOTLINE_TX_MAX         24
#define NGX_HOTLINE_TX_BUF         4096


/* an op of a transaction: ngx_http_hotline_txn_add() sets every field */
typedef struct {
    ngx_uint_t                     op;
    ngx_str_t                      key;
    ngx_str_t                      value;
    int64_t                        n;
    int64_t                        max;
    ngx_uint_t                     err;
    ngx_msec_t                     ttl;
    ngx_uint_t                     force;
    ngx_http_hotline_consumer_t   *consumer;
    ngx_http_hotline_call_record_t *rec;
} ngx_http_hotline_txop_t;


typedef struct {
    ngx_uint_t                     n;
    ngx_uint_t                     overflow;   /* a bug: too many, too big */
    ngx_http_hotline_txop_t        ops[NGX_HOTLINE_TX_MAX];
    u_char                        *pos;
    u_char                         buf[NGX_HOTLINE_TX_BUF];
} ngx_http_hotline_txn_t;


/*
 * left: the room under the bound of the transaction's last op, when that
 * is an append that may be left out (err OK) to an inbox nothing is
 * delivered from (a transcript, whose bytes only grow): its max less its
 * bytes after the transaction; -1: not known (another op, no such
 * record, an error)
 */
typedef struct {
    ngx_uint_t                     err;        /* OK, CONFLICT, a bound's */
    ngx_uint_t                     gap;        /* attach: some are gone */
    ngx_int_t                      left;
} ngx_http_hotline_txres_t;


/* due(): records whose timer is due, and those whose consumer died */

#define NGX_HOTLINE_DUE_TIMER      0
#define NGX_HOTLINE_DUE_ORPHAN     1

typedef struct {
    ngx_str_t                      key;
    ngx_uint_t                     why;
} ngx_http_hotline_due_t;


/* gauges of the store itself, for health and metrics */
typedef struct {
    ngx_uint_t                     up;
    size_t                         size;
    size_t                         used;
} ngx_http_hotline_stats_t;


/* a consumer's position, for the delivery policy */
typedef struct {
    uint64_t                       last;       /* the last seq known */
    uint64_t                       delivered;  /* the last seq pulled */
    uint64_t                       replayed;   /* a replay runs to here */
    size_t                         unread;     /* bytes not pulled yet */
} ngx_http_hotline_consumer_info_t;


/*
 * Small keyed values with a time to live, for auth and guards: one-time
 * codes, failure counters, lockouts, rate-limit state, revoked token ids.
 */

#define NGX_HOTLINE_KV_KEY         256
#define NGX_HOTLINE_KV_VALUE       512

/*
 * What a keyed value is to the store: DURABLE survives a restart of the
 * node (the embedded store journals it, a distributed one keeps it
 * anyway); SPARE may be dropped before it expires when room is short
 * (nothing else ever is); NOTIFY tells every worker (events->auth).
 */
#define NGX_HOTLINE_KV_DURABLE     0x01
#define NGX_HOTLINE_KV_SPARE       0x02
#define NGX_HOTLINE_KV_NOTIFY      0x04

typedef struct {
    ngx_uint_t                     found;       /* get, del: it existed */
    int64_t                        number;      /* incr: the new value */
    u_char                         value[NGX_HOTLINE_KV_VALUE];
    size_t                         len;         /* get */
    ngx_msec_t                     ttl;         /* get, incr: time left */
    ngx_msec_t                     retry_after; /* limit: 0 if allowed */
} ngx_http_hotline_kv_t;


/*
 * Call history, for a backend that keeps it for all nodes (otherwise
 * each node's journal is the history, ngx_http_hotline_history.c): a page
 * of records newest first, below a cursor, or the counts of days.
 */

typedef struct {
    ngx_pool_t                    *pool;        /* for the answer */
    ngx_log_t                     *log;
    ngx_int_t                      limit;
    int64_t                        before;      /* cursor; -1: the newest */
    ngx_str_t                      agent;       /* "": any */
    ngx_str_t                      outcome;     /* "": any */
    ngx_str_t                      call_id;     /* hex; "": any (one: with
                                                   its transcript) */
    ngx_uint_t                     open;        /* messages not done */
    ngx_uint_t                     days;        /* > 0: daily counts */
    ngx_uint_t                     day0;        /* the oldest, since 1970 */
    int64_t                        expired;     /* ms: calls ended before
                                                   have no transcript; 0:
                                                   all keep theirs */
} ngx_http_hotline_history_query_t;

typedef struct {
    ngx_uint_t                     calls;
    ngx_uint_t                     outcomes[NGX_HOTLINE_END_MAX];
    ngx_uint_t                     talk;        /* seconds, answered calls */
    ngx_uint_t                     answered;
} ngx_http_hotline_history_day_t;

typedef struct {
    ngx_array_t                    records;     /* ngx_str_t: JSON objects */
    int64_t                        next;        /* cursor; -1: no more */
    ngx_http_hotline_history_day_t *days;       /* q->days, oldest first */
} ngx_http_hotline_history_t;


typedef void (*ngx_http_hotline_read_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
typedef void (*ngx_http_hotline_commit_pt)(void *data,
    ngx_http_hotline_txres_t *res);
typedef void (*ngx_http_hotline_due_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_due_t *due, ngx_uint_t n);
typedef void (*ngx_http_hotline_kv_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
typedef void (*ngx_http_hotline_history_pt)(void *data, ngx_uint_t err,
    ngx_http_hotline_history_t *h);


struct ngx_http_hotline_store_s {
    const char                    *name;

    ngx_int_t   (*init_worker)(ngx_cycle_t *cycle);
    void        (*exit_worker)(ngx_cycle_t *cycle);

    /* whether it serves now */
    ngx_uint_t  (*up)(void);
    void        (*stats)(ngx_http_hotline_stats_t *st);

    /* records, the queue, counters, a ticket */
    void        (*read)(ngx_http_hotline_reads_t *rd,
                        ngx_http_hotline_read_pt handler, void *data);

    /* tx is copied before this returns */
    void        (*commit)(ngx_http_hotline_txn_t *tx,
                          ngx_http_hotline_commit_pt handler, void *data);

    /*
     * at most max keys whose timer is due, or whose consumer died: those
     * are released, with a timer in grace ms
     */
    void        (*due)(ngx_uint_t max, ngx_msec_t grace,
                       ngx_http_hotline_due_pt handler, void *data);

    /*
     * A consumer of this worker, for one inbox at a time: attached and
     * released by transactions, told of news with data.  free() forgets
     * it here; an inbox still attached to it waits for its timer or for
     * another consumer.
     */
    ngx_http_hotline_consumer_t *(*consumer)(void *data);
    void        (*consumer_free)(ngx_http_hotline_consumer_t *c);
    void        (*consumer_info)(ngx_http_hotline_consumer_t *c,
                                 ngx_http_hotline_consumer_info_t *ci);
    /*
     * news of the consumer go to data from now on; NULL: to nobody (its
     * connection is gone, it may be freed)
     */
    void        (*consumer_own)(ngx_http_hotline_consumer_t *c, void *data);

    /*
     * Copies the consumer's undelivered messages into buf, as records of
     * uint64_t seq, uint32_t length, bytes, each aligned to 8 bytes, and
     * marks them delivered: at least one message if there is one (buf has
     * room for the largest), then more while their bytes stay within
     * budget.  Returns the bytes used: 0 when there is nothing more;
     * NGX_ERROR if another consumer took the inbox over.  A
     * record may be a gap (NGX_HOTLINE_GAP) instead of a message.
     */
    ssize_t     (*pull)(ngx_http_hotline_consumer_t *c, u_char *buf,
                        size_t size, size_t budget);

    /*
     * The client read the consumer's messages up to seq (it answered a
     * ping sent after them): those delivered are not kept for a replay
     * any more, so an inbox holds what is in flight, not the most its
     * buffer may; a consumer that takes the inbox over from this one
     * without a seq is replayed after them (docs/protocol.md).
     */
    void        (*read_to)(ngx_http_hotline_consumer_t *c, uint64_t seq);

    /* keyed values; err is NGX_HOTLINE_OK or NGX_HOTLINE_E_UNAVAILABLE */
    void        (*kv_get)(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
                          void *data);
    void        (*kv_set)(ngx_str_t *key, ngx_str_t *value, ngx_msec_t ttl,
                          ngx_uint_t flags, ngx_http_hotline_kv_pt handler,
                          void *data);

    /* atomic: of two deletes of one key, one finds it (single use) */
    void        (*kv_del)(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
                          void *data);

    /* +1, created at 1 with ttl when missing (the ttl is not renewed) */
    void        (*kv_incr)(ngx_str_t *key, ngx_msec_t ttl,
                           ngx_http_hotline_kv_pt handler, void *data);

    /*
     * GCRA rate limit: one event per interval on average, burst more at
     * once; kv->retry_after says when the next one would be allowed.
     * Its state is SPARE: when room is short, the state closest to its
     * end goes first (as limit_req forgets the oldest states).
     */
    void        (*limit)(ngx_str_t *key, ngx_msec_t interval,
                         ngx_uint_t burst, ngx_http_hotline_kv_pt handler,
                         void *data);

    /* the history of all nodes; NULL: the node's journal is the history */
    void        (*history)(ngx_http_hotline_history_query_t *q,
                           ngx_http_hotline_history_pt handler, void *data);

    /*
     * One bounded attempt at a secret, as one atomic step: while lock
     * exists the attempt is refused (kv->retry_after: the time the lock
     * has left); otherwise it is counted in counter (created with ttl,
     * which is not renewed) and the first max attempts get the secret's
     * value to compare (kv->found, kv->value; kv->number is the attempt's
     * number); an attempt beyond max sets lock for ttl and is refused.
     * flags (NGX_HOTLINE_KV_*) apply to the records it makes, DURABLE to
     * the lock only.
     */
    void        (*kv_attempt)(ngx_str_t *secret, ngx_str_t *counter,
                              ngx_str_t *lock, ngx_uint_t max,
                              ngx_msec_t ttl, ngx_uint_t flags,
                              ngx_http_hotline_kv_pt handler, void *data);

    /*
     * How many NOTIFY writes the store has seen, read at once: the same
     * count later means that none was written in between (a revoked token
     * is one).  NULL: the store cannot tell at once (another node writes).
     */
    ngx_atomic_uint_t (*kv_notices)(void);

    /*
     * How often a busy client is asked what it read (a ping, whose pong
     * calls read_to): each hotline_replay_buffer / read_share delivered.
     * The embedded store lets messages go under its lock, a few a time;
     * each report costs Redis a script call.
     */
    ngx_uint_t    read_share;

    /*
     * The worker of this node whose consumer reads key's inbox, so that
     * a connection may go to it (hotline_colocate): 0 if none; NULL: the
     * store cannot tell without asking another node.
     */
    ngx_pid_t   (*owner)(ngx_str_t *key);
};


extern ngx_http_hotline_store_t         ngx_http_hotline_store_shm;
extern ngx_http_hotline_store_t         ngx_http_hotline_store_redis;
extern ngx_http_hotline_store_events_t *ngx_http_hotline_store_events;


/* ngx_http_hotline_store.c */
ngx_http_hotline_store_t *ngx_http_hotline_store(void);
void ngx_http_hotline_store_listen(ngx_http_hotline_store_events_t *ev);

/* building a transaction */
void ngx_http_hotline_txn_init(ngx_http_hotline_txn_t *tx);
ngx_http_hotline_txop_t *ngx_http_hotline_txn_add(ngx_http_hotline_txn_t *tx,
    ngx_uint_t op, ngx_str_t *key);
ngx_int_t ngx_http_hotline_txn_value(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_txop_t *op, u_char *data, size_t len);

/* ngx_http_hotline_store_redis.c: the hotline_redis directive */
char *ngx_http_hotline_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_HOTLINE_STORE_H_INCLUDED_ */
