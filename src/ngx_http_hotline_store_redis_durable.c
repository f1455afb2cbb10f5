
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"


/*
 * Writes that replicas have (hotline_redis ... replicas=n): Redis
 * replicates asynchronously, so a failover may promote a replica that
 * lacks the master's last writes.  With replicas=n nothing a client is
 * told depends on such a write: the answer of a transaction (an ack, a
 * welcome) and every message handed to a connection wait until n
 * replicas have what came before them.
 *
 * A barrier does it for everything at once: after a pass of the event
 * loop that needs one, the worker's command connection writes (PUBLISH to
 * P fence, nobody listens) and asks WAIT n timeout.  Replication is one
 * stream, so once n replicas have that write they have every write the
 * master made before it: this worker's transactions, and what pub/sub or
 * a read brought it from others'.  Barriers are numbered; what waits
 * carries the number of the barrier that releases it.
 *
 * Barriers have a connection of their own (WAIT blocks the one it is
 * sent on), one at a time.  When fewer than n replicas answer in time
 * (one is down or far behind), what waited goes on and nothing waits any
 * more (no latency of timeout for each message while a replica is
 * away), until a barrier sent every second finds them back; the log
 * says both once.  When the connection is lost, transactions whose answer
 * waited are answered "unavailable" (they happened; whether the next
 * master has them is not known) and messages that waited are read again
 * from the next master.
 */


#define NGX_HOTLINE_DURABLE_PROBE    1000      /* ms: are they back? */


typedef struct {
    ngx_queue_t                    link;
    ngx_uint_t                     barrier;
    ngx_http_hotline_commit_pt     handler;
    void                          *data;
    ngx_http_hotline_txres_t       res;
} ngx_http_hotline_held_t;


static void ngx_http_hotline_rdurable_send(ngx_event_t *ev);
static void ngx_http_hotline_rdurable_waited(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_rdurable_probe(ngx_event_t *ev);
static void ngx_http_hotline_rdurable_release(ngx_uint_t err);


/*
 * durable: what waited for the replicas may go; unheld: the connection
 * is lost, what waited is read again (the consumers' cache)
 */

void
ngx_http_hotline_rdurable_init(ngx_cycle_t *cycle, void (*durable)(void),
    void (*unheld)(void))
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    ngx_queue_init(&rs->held);
    rs->durable = durable;
    rs->unheld = unheld;

    rs->barrier_ev.handler = ngx_http_hotline_rdurable_send;
    rs->barrier_ev.log = cycle->log;
    rs->barrier_ev.data = rs;

    rs->probe.handler = ngx_http_hotline_rdurable_probe;
    rs->probe.log = cycle->log;
    rs->probe.data = rs;
    rs->probe.cancelable = 1;
}


/*
 * The barrier that releases what happens now, asked for (0: nothing
 * waits, without replicas= or while they lag)
 */

ngx_uint_t
ngx_http_hotline_rdurable_next(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs->conf->replicas == 0 || rs->lagging) {
        return 0;
    }

    rs->barrier_wanted = 1;

    if (!rs->barrier_ev.posted) {
        ngx_post_event(&rs->barrier_ev, &ngx_posted_events);
    }

    return rs->barrier_sent + 1;
}


/* the store is up: a barrier asked for meanwhile goes now */

void
ngx_http_hotline_rdurable_up(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs->barrier_wanted && !rs->barrier_ev.posted) {
        ngx_post_event(&rs->barrier_ev, &ngx_posted_events);
    }
}


/* does barrier b still hold back what carries it? */

ngx_uint_t
ngx_http_hotline_rdurable_waits(ngx_uint_t b)
{
    return b > ngx_http_hotline_rs->barrier_done;
}


/* a transaction's answer waits for the barrier after it */

void
ngx_http_hotline_rdurable_answer(ngx_http_hotline_commit_pt handler,
    void *data, ngx_http_hotline_txres_t *res)
{
    ngx_uint_t                  b;
    ngx_http_hotline_held_t    *h;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (!ngx_http_hotline_rconn_up()) {
        /* lost: those that waited were answered first (rdurable_lost) */
        handler(data, res);
        return;
    }

    b = ngx_http_hotline_rdurable_next();

    if (b == 0 && ngx_queue_empty(&rs->held)) {
        handler(data, res);
        return;
    }

    /* (in order: one that is behind others waits for them) */

    h = ngx_alloc(sizeof(ngx_http_hotline_held_t), rs->log);
    if (h == NULL) {
        handler(data, res);
        return;
    }

    h->barrier = b ? b : rs->barrier_sent;
    h->handler = handler;
    h->data = data;
    h->res = *res;

    ngx_queue_insert_tail(&rs->held, &h->link);

    if (b == 0) {
        /* the replicas lag: it goes once those before it went */
        ngx_http_hotline_rdurable_release(NGX_HOTLINE_OK);
    }
}


/*
 * After the pass: the write and the WAIT, on the connection of their own
 * (WAIT blocks the connection it is sent on).  One at a time: what comes
 * meanwhile waits for the next, which covers it all.
 */

static void
ngx_http_hotline_rdurable_send(ngx_event_t *ev)
{
    ngx_http_hotline_rstore_t  *rs;
    const char                 *argv[3];
    size_t                      argvlen[3];
    u_char                      n[NGX_INT_T_LEN], t[NGX_INT_T_LEN];
    u_char                      fence[64 + sizeof("fence")];

    rs = ngx_http_hotline_rs;

    if (!ngx_http_hotline_rconn_up() || rs->bar.ac == NULL
        || rs->barrier_sent > rs->barrier_done)
    {
        /* once it is up (rdurable_up), or the one under way is answered */
        return;
    }

    rs->barrier_sent++;
    rs->barrier_wanted = 0;

    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = (char *) fence;
    argvlen[1] = ngx_cpymem(ngx_cpymem(fence, rs->conf->prefix.data,
                                       rs->conf->prefix.len),
                            "fence", 5)
                 - fence;
    argv[2] = "";
    argvlen[2] = 0;

    (void) redisAsyncCommandArgv(rs->bar.ac, NULL, NULL, 3, argv, argvlen);

    argv[0] = "WAIT";
    argvlen[0] = 4;
    argv[1] = (char *) n;
    argvlen[1] = ngx_sprintf(n, "%ui", rs->conf->replicas) - n;
    argv[2] = (char *) t;
    argvlen[2] = ngx_sprintf(t, "%M", rs->conf->replica_timeout) - t;

    (void) redisAsyncCommandArgv(rs->bar.ac, ngx_http_hotline_rdurable_waited,
                                 (void *) (uintptr_t) rs->barrier_sent, 3,
                                 argv, argvlen);
}


/* WAIT answers how many replicas have it */

static void
ngx_http_hotline_rdurable_waited(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_uint_t                  b;
    redisReply                 *reply = r;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;
    b = (uintptr_t) privdata;

    if (rs == NULL || reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || b <= rs->barrier_done)
    {
        /* the connection is lost: rdurable_lost() took care */
        return;
    }

    rs->barrier_done = b;

    if (reply->integer < (long long) rs->conf->replicas) {

        if (!rs->lagging) {
            ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                          "hotline: redis: %L of %ui replicas have the "
                          "writes after %M ms, going on without them (a "
                          "failover now may lose what clients were told)",
                          (int64_t) reply->integer, rs->conf->replicas,
                          rs->conf->replica_timeout);

            /* nothing waits meanwhile; whether they are back is probed */
            rs->lagging = 1;
            ngx_add_timer(&rs->probe, NGX_HOTLINE_DURABLE_PROBE);
        }

        /* what waited goes now, and what was to wait for the next */

        if (rs->barrier_wanted) {
            rs->barrier_sent++;
            rs->barrier_wanted = 0;
        }

        rs->barrier_done = rs->barrier_sent;

    } else if (rs->lagging) {
        ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                      "hotline: redis: %ui replicas have the writes again",
                      rs->conf->replicas);
        rs->lagging = 0;

        if (rs->probe.timer_set) {
            ngx_del_timer(&rs->probe);
        }
    }

    ngx_http_hotline_rdurable_release(NGX_HOTLINE_OK);

    if (rs->barrier_wanted && !rs->barrier_ev.posted) {
        ngx_post_event(&rs->barrier_ev, &ngx_posted_events);
    }
}


/* while the replicas lag: a barrier nothing waits for, to see */

static void
ngx_http_hotline_rdurable_probe(ngx_event_t *ev)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (!rs->lagging || rs->exiting) {
        return;
    }

    ngx_http_hotline_rdurable_send(&rs->barrier_ev);
    ngx_add_timer(&rs->probe, NGX_HOTLINE_DURABLE_PROBE);
}


/*
 * The connection is lost: no barrier answers any more.  Answers that
 * waited are "unavailable"; messages that waited are read again.
 */

void
ngx_http_hotline_rdurable_lost(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs->conf->replicas == 0) {
        return;
    }

    rs->unheld();

    /* every barrier asked for until now is given up */

    if (rs->barrier_wanted) {
        rs->barrier_sent++;
        rs->barrier_wanted = 0;
    }

    rs->barrier_done = rs->barrier_sent;

    ngx_http_hotline_rdurable_release(NGX_HOTLINE_E_UNAVAILABLE);
}


static void
ngx_http_hotline_rdurable_release(ngx_uint_t err)
{
    ngx_queue_t                *q;
    ngx_http_hotline_held_t    *h;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    while (!ngx_queue_empty(&rs->held)) {
        q = ngx_queue_head(&rs->held);
        h = ngx_queue_data(q, ngx_http_hotline_held_t, link);

        if (h->barrier > rs->barrier_done) {
            break;
        }

        ngx_queue_remove(q);

        if (err != NGX_HOTLINE_OK) {
            h->res.err = err;
        }

        h->handler(h->data, &h->res);
        ngx_free(h);
    }

    if (err == NGX_HOTLINE_OK) {
        rs->durable();
    }
}


/* the worker exits: nobody waits for the answers any more */

void
ngx_http_hotline_rdurable_exit(void)
{
    ngx_queue_t                *q;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs->barrier_ev.posted) {
        ngx_delete_posted_event(&rs->barrier_ev);
    }

    if (rs->probe.timer_set) {
        ngx_del_timer(&rs->probe);
    }

    while (!ngx_queue_empty(&rs->held)) {
        q = ngx_queue_head(&rs->held);
        ngx_queue_remove(q);
        ngx_free(ngx_queue_data(q, ngx_http_hotline_held_t, link));
    }
}
