
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"


/*
 * The embedded store: the call model in the node's shared-memory zone,
 * one slab mutex around every operation.  Operations are short (no
 * system call runs under the lock); wake-ups are sent after unlocking.
 *
 * A customer party is its call: it carries the call id and sits in the
 * waiting queue until an agent party links to it.  Parties are found by
 * resume token, customers also by call id and agents by name.
 */


#define NGX_HOTLINE_WAITING       1
#define NGX_HOTLINE_ACTIVE        2
#define NGX_HOTLINE_ENDED         3
#define NGX_HOTLINE_IDLE          4

#define NGX_HOTLINE_SWEEP         500          /* ms */
#define NGX_HOTLINE_MAIL_BATCH    256


typedef struct ngx_http_hotline_party_s  ngx_http_hotline_party_t;


typedef struct {
    ngx_queue_t                   link;
    uint64_t                      seq;
    size_t                        len;
    u_char                        data[1];
} ngx_http_hotline_buf_t;


struct ngx_http_hotline_party_s {
    ngx_rbtree_node_t             token_node;    /* first: see lookups */
    ngx_rbtree_node_t             id_node;       /* call id or agent */
    ngx_queue_t                   link;          /* waiting queue */
    ngx_queue_t                   detached;
    ngx_http_hotline_party_t     *peer;

    u_char                        token[NGX_HOTLINE_ID_LEN];
    u_char                        call_id[NGX_HOTLINE_ID_LEN];

    ngx_uint_t                    role;
    ngx_uint_t                    state;
    ngx_uint_t                    is_detached;
    ngx_uint_t                    notified;
    ngx_uint_t                    slow;          /* cut for not reading */
    ngx_uint_t                    recorded;

    ngx_pid_t                     owner;         /* 0: no connection */
    uint64_t                      gen;           /* owner's attach id */
    ngx_http_hotline_session_t   *local;         /* valid in owner only */
    ngx_msec_t                    gone_at;

    int64_t                       joined;        /* ms since the epoch */
    int64_t                       accepted;
    uint64_t                      ticket;

    uint64_t                      last_seq;      /* last one assigned */
    uint64_t                      delivered;
    uint64_t                      replayed;      /* a resume's replay end */
    ngx_queue_t                   inbox;
    size_t                        inbox_bytes;

    size_t                        name_len;
    u_char                        name[NGX_HOTLINE_CUSTOMER_NAME_MAX];

    /* an agent's display name, for its customers */
    size_t                        display_len;
    u_char                        display[NGX_HOTLINE_NAME_MAX];

    /* a customer's client address, for a ban */
    size_t                        addr_len;
    u_char                        addr[NGX_SOCKADDR_STRLEN];
};


typedef struct {
    ngx_rbtree_t                  tokens;
    ngx_rbtree_node_t             tokens_sentinel;
    ngx_rbtree_t                  calls;
    ngx_rbtree_node_t             calls_sentinel;
    ngx_rbtree_t                  agents;
    ngx_rbtree_node_t             agents_sentinel;

    ngx_queue_t                   waiting;
    ngx_queue_t                   detached;      /* oldest first */

    ngx_uint_t                    nwaiting;
    ngx_uint_t                    nactive;
    ngx_uint_t                    agents_online;
    ngx_uint_t                    agents_busy;

    uint64_t                      next_ticket;
    uint64_t                      next_gen;
    ngx_msec_t                    avg_handle;

    ngx_uint_t                    day;           /* UTC days since 1970 */
    ngx_uint_t                    day_calls;
} ngx_http_hotline_shm_t;


static ngx_int_t ngx_http_hotline_shm_init_worker(ngx_cycle_t *cycle);
static void ngx_http_hotline_shm_exit_worker(ngx_cycle_t *cycle);
static void ngx_http_hotline_shm_join(ngx_http_hotline_session_t *s,
    u_char *name, size_t len, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_agent(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_resume(ngx_http_hotline_session_t *s,
    u_char *token, uint64_t last_seq, ngx_uint_t replay,
    ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_accept(ngx_http_hotline_session_t *s,
    u_char *call_id, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_ban(ngx_http_hotline_session_t *s,
    u_char *call_id, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_reject(ngx_http_hotline_session_t *s,
    u_char *call_id, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_hangup(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_relay(ngx_http_hotline_session_t *s,
    u_char *msg, size_t len, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_shm_detach(ngx_http_hotline_session_t *s);
static void ngx_http_hotline_shm_gone(ngx_http_hotline_party_t *p);
static ssize_t ngx_http_hotline_shm_pull(ngx_http_hotline_session_t *s,
    u_char *buf, size_t size, size_t budget);
static void ngx_http_hotline_shm_queue(ngx_http_hotline_queue_pt handler,
    void *data);
static void ngx_http_hotline_shm_stats(ngx_http_hotline_stats_t *st);

static void ngx_http_hotline_shm_wake(void);
static void ngx_http_hotline_shm_sweep(ngx_event_t *ev);
static void ngx_http_hotline_shm_attach(ngx_http_hotline_party_t *p,
    ngx_http_hotline_session_t *s);
static void ngx_http_hotline_shm_kick(ngx_http_hotline_party_t *p);
static ngx_http_hotline_party_t *ngx_http_hotline_shm_party(ngx_uint_t role,
    u_char *token, u_char *name, size_t len);
static void ngx_http_hotline_shm_back(ngx_http_hotline_party_t *p);
static ngx_uint_t ngx_http_hotline_shm_append(ngx_http_hotline_party_t *p,
    u_char *data, size_t len, ngx_uint_t force);
static void ngx_http_hotline_shm_event(ngx_http_hotline_party_t *p,
    u_char *data, u_char *last);
static void ngx_http_hotline_shm_end(ngx_http_hotline_party_t *c,
    ngx_uint_t reason, ngx_uint_t by, ngx_http_hotline_party_t *agent);
static void ngx_http_hotline_shm_free(ngx_http_hotline_party_t *p);
static ngx_http_hotline_party_t *ngx_http_hotline_shm_find(ngx_rbtree_t *tree,
    u_char *id, size_t len, ngx_uint_t by_token);
static ngx_http_hotline_party_t *ngx_http_hotline_shm_current(
    ngx_http_hotline_session_t *s);
static void ngx_http_hotline_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel,
    ngx_int_t (*cmp)(ngx_rbtree_node_t *a, ngx_rbtree_node_t *b));
static void ngx_http_hotline_insert_token(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_hotline_insert_call(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_http_hotline_insert_agent(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_rbtree_key_t ngx_http_hotline_key(u_char *id, size_t len);
static int64_t ngx_http_hotline_now_ms(void);


ngx_http_hotline_store_t  ngx_http_hotline_store_shm = {
    "shm",
    ngx_http_hotline_shm_init_worker,
    ngx_http_hotline_shm_exit_worker,
    ngx_http_hotline_shm_join,
    ngx_http_hotline_shm_agent,
    ngx_http_hotline_shm_resume,
    ngx_http_hotline_shm_accept,
    ngx_http_hotline_shm_reject,
    ngx_http_hotline_shm_ban,
    ngx_http_hotline_shm_hangup,
    ngx_http_hotline_shm_relay,
    ngx_http_hotline_shm_detach,
    ngx_http_hotline_shm_pull,
    ngx_http_hotline_shm_queue,
    ngx_http_hotline_shm_kv_get,
    ngx_http_hotline_shm_kv_set,
    ngx_http_hotline_shm_kv_del,
    ngx_http_hotline_shm_kv_incr,
    ngx_http_hotline_shm_limit,
    ngx_http_hotline_shm_revoke,
    ngx_http_hotline_shm_stats,
    NULL,                                  /* up: always */
    NULL                                   /* history: the journal */
};


static ngx_http_hotline_shm_t        *ngx_http_hotline_shm;
static ngx_http_hotline_main_conf_t  *ngx_http_hotline_shm_conf;
static ngx_event_t                    ngx_http_hotline_sweep_ev;
static ngx_http_hotline_queue_t       ngx_http_hotline_snapshot;
static ngx_uint_t                     ngx_http_hotline_snapshot_size;


#define ngx_http_hotline_lock()                                               \
    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex)

#define ngx_http_hotline_unlock()                                             \
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);                        \
    ngx_http_hotline_doorbell_flush();                                        \
    ngx_http_hotline_history_flush()


/* the party that a token or an id node belongs to */

#define ngx_http_hotline_by_token(node)                                       \
    ((ngx_http_hotline_party_t *) (node))

#define ngx_http_hotline_by_id(node)                                          \
    ((ngx_http_hotline_party_t *) ((u_char *) (node)                          \
                       - offsetof(ngx_http_hotline_party_t, id_node)))


ngx_int_t
ngx_http_hotline_shm_init(ngx_slab_pool_t *shpool,
    ngx_http_hotline_zone_t *zone)
{
    ngx_http_hotline_shm_t  *shm;

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_hotline_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&shm->tokens, &shm->tokens_sentinel,
                    ngx_http_hotline_insert_token);
    ngx_rbtree_init(&shm->calls, &shm->calls_sentinel,
                    ngx_http_hotline_insert_call);
    ngx_rbtree_init(&shm->agents, &shm->agents_sentinel,
                    ngx_http_hotline_insert_agent);

    ngx_queue_init(&shm->waiting);
    ngx_queue_init(&shm->detached);

    shm->avg_handle = 0;
    zone->backend = shm;

    /* a new zone (a start, not a reload): today's calls so far */
    shm->day = ngx_time() / 86400;
    shm->day_calls = ngx_http_hotline_history_count_today(ngx_cycle->log);

    return ngx_http_hotline_kv_init(shpool, zone);
}


static ngx_int_t
ngx_http_hotline_shm_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);

    ngx_http_hotline_shm = ngx_http_hotline_zone->backend;
    ngx_http_hotline_shm_conf = hmcf;

    ngx_http_hotline_lock();

    if (ngx_http_hotline_shm->avg_handle == 0) {
        ngx_http_hotline_shm->avg_handle = hmcf->average_handle_time;
    }

    ngx_http_hotline_unlock();

    if (ngx_http_hotline_doorbell_init(cycle, ngx_http_hotline_shm_wake)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hotline_sweep_ev.handler = ngx_http_hotline_shm_sweep;
    ngx_http_hotline_sweep_ev.log = cycle->log;
    ngx_http_hotline_sweep_ev.data = cycle;
    ngx_http_hotline_sweep_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_hotline_sweep_ev, NGX_HOTLINE_SWEEP);

    return NGX_OK;
}


static void
ngx_http_hotline_shm_exit_worker(ngx_cycle_t *cycle)
{
    if (ngx_http_hotline_sweep_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_sweep_ev);
    }

    ngx_http_hotline_doorbell_done();
}


static void
ngx_http_hotline_shm_join(ngx_http_hotline_session_t *s, u_char *name,
    size_t len, ngx_http_hotline_store_pt handler, void *data)
{
    ngx_uint_t                  err;
    ngx_http_hotline_shm_t     *shm;
    ngx_http_hotline_party_t   *p;
    ngx_http_hotline_result_t   res;

    shm = ngx_http_hotline_shm;
    ngx_memzero(&res, sizeof(ngx_http_hotline_result_t));

    if (ngx_http_hotline_random_id(res.resume) != NGX_OK
        || ngx_http_hotline_random_id(res.call_id) != NGX_OK)
    {
        handler(s, NGX_HOTLINE_E_INTERNAL, NULL, data);
        return;
    }

    ngx_http_hotline_lock();

    if (shm->nwaiting >= ngx_http_hotline_shm_conf->queue_size) {
        err = NGX_HOTLINE_E_QUEUE_FULL;
        goto failed;
    }

    if (shm->day != (ngx_uint_t) (ngx_time() / 86400)) {
        shm->day = ngx_time() / 86400;
        shm->day_calls = 0;
    }

    if (ngx_http_hotline_shm_conf->daily_limit
        && shm->day_calls >= ngx_http_hotline_shm_conf->daily_limit)
    {
        err = NGX_HOTLINE_E_DAILY_LIMIT;
        goto failed;
    }

    p = ngx_http_hotline_shm_party(NGX_HOTLINE_ROLE_CUSTOMER, res.resume,
                                   name, len);
    if (p == NULL) {
        err = NGX_HOTLINE_E_UNAVAILABLE;
        goto failed;
    }

    p->state = NGX_HOTLINE_WAITING;
    ngx_memcpy(p->call_id, res.call_id, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(p->addr, s->addr.data, s->addr.len);
    p->addr_len = s->addr.len;
    p->ticket = ++shm->next_ticket;

    p->id_node.key = ngx_http_hotline_key(p->call_id, NGX_HOTLINE_ID_LEN);
    ngx_rbtree_insert(&shm->calls, &p->id_node);

    ngx_queue_insert_tail(&shm->waiting, &p->link);
    shm->nwaiting++;
    shm->day_calls++;

    ngx_http_hotline_shm_attach(p, s);
    ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_QUEUE);

    res.ticket = p->ticket;
    res.waiting = 1;

    ngx_http_hotline_unlock();

    handler(s, NGX_HOTLINE_OK, &res, data);
    return;

failed:

    ngx_http_hotline_unlock();
    handler(s, err, NULL, data);
}


static void
ngx_http_hotline_shm_agent(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_http_hotline_shm_t     *shm;
    ngx_http_hotline_party_t   *p;
    ngx_http_hotline_result_t   res;

    shm = ngx_http_hotline_shm;
    ngx_memzero(&res, sizeof(ngx_http_hotline_result_t));

    if (ngx_http_hotline_random_id(res.resume) != NGX_OK) {
        handler(s, NGX_HOTLINE_E_INTERNAL, NULL, data);
        return;
    }

    ngx_http_hotline_lock();

    p = ngx_http_hotline_shm_find(&shm->agents, s->sub, s->sub_len, 0);

    if (p) {
        /* the same agent again: it takes its session over */

        res.resumed = 1;

        ngx_http_hotline_shm_back(p);
        ngx_http_hotline_shm_attach(p, s);

        ngx_memcpy(res.resume, p->token, NGX_HOTLINE_ID_LEN);

        if (p->state == NGX_HOTLINE_ACTIVE && p->peer) {
            res.in_call = 1;
            ngx_memcpy(res.call_id, p->peer->call_id, NGX_HOTLINE_ID_LEN);
        }

        ngx_http_hotline_unlock();
        handler(s, NGX_HOTLINE_OK, &res, data);
        return;
    }

    p = ngx_http_hotline_shm_party(NGX_HOTLINE_ROLE_AGENT, res.resume,
                                   s->sub, s->sub_len);
    if (p == NULL) {
        ngx_http_hotline_unlock();
        handler(s, NGX_HOTLINE_E_UNAVAILABLE, NULL, data);
        return;
    }

    p->state = NGX_HOTLINE_IDLE;
    ngx_memcpy(p->display, s->display, s->display_len);
    p->display_len = s->display_len;

    p->id_node.key = ngx_http_hotline_key(p->name, p->name_len);
    ngx_rbtree_insert(&shm->agents, &p->id_node);

    shm->agents_online++;

    ngx_http_hotline_shm_attach(p, s);
    ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_QUEUE);

    ngx_http_hotline_unlock();

    handler(s, NGX_HOTLINE_OK, &res, data);
}


static void
ngx_http_hotline_shm_resume(ngx_http_hotline_session_t *s, u_char *token,
    uint64_t last_seq, ngx_uint_t replay, ngx_http_hotline_store_pt handler,
    void *data)
{
    uint64_t                    first;
    ngx_http_hotline_buf_t     *b;
    ngx_http_hotline_shm_t     *shm;
    ngx_http_hotline_party_t   *p;
    ngx_http_hotline_result_t   res;

    shm = ngx_http_hotline_shm;
    ngx_memzero(&res, sizeof(ngx_http_hotline_result_t));

    ngx_http_hotline_lock();

    p = ngx_http_hotline_shm_find(&shm->tokens, token, NGX_HOTLINE_ID_LEN, 1);

    if (p == NULL
        || p->role != s->role
        || (p->role == NGX_HOTLINE_ROLE_AGENT
            && (p->name_len != s->sub_len
                || ngx_memcmp(p->name, s->sub, s->sub_len) != 0)))
    {
        ngx_http_hotline_unlock();
        handler(s, NGX_HOTLINE_E_EXPIRED, NULL, data);
        return;
    }

    ngx_http_hotline_shm_back(p);
    ngx_http_hotline_shm_attach(p, s);

    if (replay) {
        /* replay what came after last_seq, as far as it is kept */

        if (ngx_queue_empty(&p->inbox)) {
            first = p->last_seq + 1;

        } else {
            b = ngx_queue_data(ngx_queue_head(&p->inbox),
                               ngx_http_hotline_buf_t, link);
            first = b->seq;
        }

        if (last_seq > p->last_seq) {
            last_seq = p->last_seq;
        }

        if (last_seq + 1 < first) {
            res.gap = 1;
            last_seq = first - 1;
        }

        p->delivered = last_seq;
        p->replayed = p->last_seq;
        ngx_http_hotline_shm_kick(p);
    }

    res.resumed = 1;
    res.ticket = p->ticket;
    ngx_memcpy(res.resume, p->token, NGX_HOTLINE_ID_LEN);

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        ngx_memcpy(res.call_id, p->call_id, NGX_HOTLINE_ID_LEN);
        res.waiting = (p->state == NGX_HOTLINE_WAITING);
        res.in_call = (p->state == NGX_HOTLINE_ACTIVE);
        res.ended = (p->state == NGX_HOTLINE_ENDED);

    } else if (p->state == NGX_HOTLINE_ACTIVE && p->peer) {
        res.in_call = 1;
        ngx_memcpy(res.call_id, p->peer->call_id, NGX_HOTLINE_ID_LEN);
    }

    ngx_http_hotline_unlock();

    handler(s, NGX_HOTLINE_OK, &res, data);
}


static void
ngx_http_hotline_shm_accept(ngx_http_hotline_session_t *s, u_char *call_id,
    ngx_http_hotline_store_pt handler, void *data)
{
    u_char                     *last;
    ngx_uint_t                  err;
    ngx_http_hotline_shm_t     *shm;
    ngx_http_hotline_party_t   *a, *c;
    ngx_http_hotline_recorder_t *rec;
    ngx_http_hotline_result_t   res;
    u_char                      ev[NGX_HOTLINE_EVENT_MAX];

    shm = ngx_http_hotline_shm;
    ngx_memzero(&res, sizeof(ngx_http_hotline_result_t));

    ngx_http_hotline_lock();

    a = ngx_http_hotline_shm_current(s);

    if (a == NULL || a->state != NGX_HOTLINE_IDLE) {
        err = NGX_HOTLINE_E_BAD_STATE;
        goto failed;
    }

    if (call_id) {
        c = ngx_http_hotline_shm_find(&shm->calls, call_id,
                                      NGX_HOTLINE_ID_LEN, 0);
        if (c == NULL || c->state == NGX_HOTLINE_ENDED) {
            err = NGX_HOTLINE_E_NOT_FOUND;
            goto failed;
        }

        if (c->state != NGX_HOTLINE_WAITING) {
            err = NGX_HOTLINE_E_TAKEN;
            goto failed;
        }

    } else {
        if (ngx_queue_empty(&shm->waiting)) {
            err = NGX_HOTLINE_E_NOT_FOUND;
            goto failed;
        }

        c = ngx_queue_data(ngx_queue_head(&shm->waiting),
                           ngx_http_hotline_party_t, link);
    }

    ngx_queue_remove(&c->link);
    shm->nwaiting--;
    shm->nactive++;
    shm->agents_busy++;

    c->state = NGX_HOTLINE_ACTIVE;
    a->state = NGX_HOTLINE_ACTIVE;
    c->peer = a;
    a->peer = c;
    c->accepted = ngx_http_hotline_now_ms();

    /* each party hears who the other is, and gets its recording token */

    rec = ngx_http_hotline_shm_conf->recorder;
    c->recorded = (rec != NULL);

    last = ngx_http_hotline_proto_accepted(ev, c->call_id,
                                           NGX_HOTLINE_ROLE_AGENT,
                                           a->display, a->display_len);
    last = ngx_http_hotline_recording(last, rec, c->call_id,
                                      NGX_HOTLINE_ROLE_CUSTOMER);
    ngx_http_hotline_shm_event(c, ev, last);

    last = ngx_http_hotline_proto_accepted(ev, c->call_id,
                                           NGX_HOTLINE_ROLE_CUSTOMER,
                                           c->name, c->name_len);
    last = ngx_http_hotline_recording(last, rec, c->call_id,
                                      NGX_HOTLINE_ROLE_AGENT);
    ngx_http_hotline_shm_event(a, ev, last);

    ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_QUEUE);

    ngx_memcpy(res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    res.in_call = 1;

    ngx_http_hotline_unlock();

    handler(s, NGX_HOTLINE_OK, &res, data);
    return;

failed:

    ngx_http_hotline_unlock();
    handler(s, err, NULL, data);
}


static void
ngx_http_hotline_shm_reject(ngx_http_hotline_session_t *s, u_char *call_id,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_uint_t                 err;
    ngx_http_hotline_party_t  *a, *c;

    ngx_http_hotline_lock();

    a = ngx_http_hotline_shm_current(s);

    if (a == NULL) {
        err = NGX_HOTLINE_E_BAD_STATE;
        goto done;
    }

    c = ngx_http_hotline_shm_find(&ngx_http_hotline_shm->calls, call_id,
                                  NGX_HOTLINE_ID_LEN, 0);

    if (c == NULL || c->state == NGX_HOTLINE_ENDED) {
        err = NGX_HOTLINE_E_NOT_FOUND;
        goto done;
    }

    if (c->state != NGX_HOTLINE_WAITING) {
        err = NGX_HOTLINE_E_TAKEN;
        goto done;
    }

    ngx_http_hotline_shm_end(c, NGX_HOTLINE_END_REJECTED,
                             NGX_HOTLINE_ROLE_AGENT, a);
    err = NGX_HOTLINE_OK;

done:

    ngx_http_hotline_unlock();
    handler(s, err, NULL, data);
}


static void
ngx_http_hotline_shm_ban(ngx_http_hotline_session_t *s, u_char *call_id,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_uint_t                  err;
    ngx_http_hotline_party_t   *a, *c;
    ngx_http_hotline_result_t   res;

    ngx_memzero(&res, sizeof(ngx_http_hotline_result_t));

    ngx_http_hotline_lock();

    a = ngx_http_hotline_shm_current(s);

    if (a == NULL) {
        err = NGX_HOTLINE_E_BAD_STATE;
        goto done;
    }

    c = ngx_http_hotline_shm_find(&ngx_http_hotline_shm->calls, call_id,
                                  NGX_HOTLINE_ID_LEN, 0);

    if (c == NULL || c->state == NGX_HOTLINE_ENDED) {
        err = NGX_HOTLINE_E_NOT_FOUND;
        goto done;
    }

    if (c->state != NGX_HOTLINE_WAITING && c->peer != a) {
        /* another agent's call */
        err = NGX_HOTLINE_E_TAKEN;
        goto done;
    }

    ngx_memcpy(res.addr, c->addr, c->addr_len);
    res.addr_len = c->addr_len;
    ngx_memcpy(res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_shm_end(c, NGX_HOTLINE_END_BANNED,
                             NGX_HOTLINE_ROLE_AGENT, a);
    err = NGX_HOTLINE_OK;

done:

    ngx_http_hotline_unlock();
    handler(s, err, err == NGX_HOTLINE_OK ? &res : NULL, data);
}


static void
ngx_http_hotline_shm_hangup(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_uint_t                 err;
    ngx_http_hotline_party_t  *p;

    ngx_http_hotline_lock();

    p = ngx_http_hotline_shm_current(s);
    err = NGX_HOTLINE_OK;

    if (p == NULL) {
        err = NGX_HOTLINE_E_BAD_STATE;

    } else if (p->state == NGX_HOTLINE_WAITING) {
        ngx_http_hotline_shm_end(p, NGX_HOTLINE_END_CANCELLED, p->role, NULL);

    } else if (p->state == NGX_HOTLINE_ACTIVE && p->peer) {
        ngx_http_hotline_shm_end(p->role == NGX_HOTLINE_ROLE_CUSTOMER
                                 ? p : p->peer,
                                 NGX_HOTLINE_END_HANGUP, p->role, NULL);

    } else {
        err = NGX_HOTLINE_E_BAD_STATE;
    }

    ngx_http_hotline_unlock();
    handler(s, err, NULL, data);
}


static void
ngx_http_hotline_shm_relay(ngx_http_hotline_session_t *s, u_char *msg,
    size_t len, ngx_http_hotline_store_pt handler, void *data)
{
    ngx_uint_t                 err;
    ngx_http_hotline_party_t  *p;

    ngx_http_hotline_lock();

    p = ngx_http_hotline_shm_current(s);

    if (p == NULL || p->state != NGX_HOTLINE_ACTIVE || p->peer == NULL) {
        err = NGX_HOTLINE_E_BAD_STATE;

    } else {
        err = ngx_http_hotline_shm_append(p->peer, msg, len, 0);
    }

    ngx_http_hotline_unlock();

    if (err == NGX_HOTLINE_OK) {
        ngx_http_hotline_count_relayed();
    }

    handler(s, err, NULL, data);
}


static void
ngx_http_hotline_shm_detach(ngx_http_hotline_session_t *s)
{
    ngx_http_hotline_party_t  *p;

    ngx_http_hotline_lock();

    p = ngx_http_hotline_shm_current(s);

    /* NULL: replaced by another connection, or never attached */

    if (p) {
        ngx_http_hotline_shm_gone(p);
    }

    ngx_http_hotline_unlock();
}


/* the party lost its connection: its grace period starts */

static void
ngx_http_hotline_shm_gone(ngx_http_hotline_party_t *p)
{
    u_char  *last;
    u_char   ev[NGX_HOTLINE_EVENT_MAX];

    p->owner = 0;
    p->local = NULL;
    p->notified = 0;
    p->gone_at = ngx_current_msec;
    p->is_detached = 1;
    ngx_queue_insert_tail(&ngx_http_hotline_shm->detached, &p->detached);

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER
        && p->state == NGX_HOTLINE_ENDED
        && p->delivered == p->last_seq)
    {
        /* the call is over and its end was sent */
        ngx_http_hotline_shm_free(p);

    } else if (p->state == NGX_HOTLINE_ACTIVE && p->peer) {
        last = ngx_http_hotline_proto_peer(ev, 0);
        ngx_http_hotline_shm_event(p->peer, ev, last);
    }
}


static ssize_t
ngx_http_hotline_shm_pull(ngx_http_hotline_session_t *s, u_char *buf,
    size_t size, size_t budget)
{
    u_char                    *p;
    size_t                     need, bytes;
    ngx_queue_t               *q;
    ngx_http_hotline_buf_t    *b;
    ngx_http_hotline_party_t  *party;

    /*
     * Nothing new: known without the lock (aligned words, read at once);
     * a message appended after this look wakes us again, as the last pull
     * or wake-up cleared "notified".
     */

    party = s->party;

    if (party && party->owner == ngx_pid && party->gen == s->gen
        && party->delivered >= party->last_seq && !party->notified)
    {
        return 0;
    }

    ngx_http_hotline_lock();

    party = ngx_http_hotline_shm_current(s);

    if (party == NULL) {
        ngx_http_hotline_unlock();
        return s->party ? NGX_ERROR : 0;
    }

    party->notified = 0;
    party->slow = 0;
    p = buf;
    bytes = 0;

    /*
     * Delivered messages stay at the head for replay; the undelivered
     * ones are the tail: find where they start from the end.
     */

    q = ngx_queue_last(&party->inbox);

    while (q != ngx_queue_sentinel(&party->inbox)) {
        b = ngx_queue_data(q, ngx_http_hotline_buf_t, link);

        if (b->seq <= party->delivered) {
            break;
        }

        q = ngx_queue_prev(q);
    }

    for (q = ngx_queue_next(q);
         q != ngx_queue_sentinel(&party->inbox);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_http_hotline_buf_t, link);

        need = ngx_align(sizeof(uint64_t) + sizeof(uint32_t) + b->len, 8);

        if (p != buf
            && ((size_t) (buf + size - p) < need || bytes + b->len > budget))
        {
            break;
        }

        if ((size_t) (buf + size - p) < need) {
            /* not reached: buf has room for the largest message */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: message of %uz bytes does not fit",
                          b->len);
            party->delivered = b->seq;
            continue;
        }

        bytes += b->len;

        ngx_memcpy(p, &b->seq, sizeof(uint64_t));
        *(uint32_t *) (p + sizeof(uint64_t)) = (uint32_t) b->len;
        ngx_memcpy(p + sizeof(uint64_t) + sizeof(uint32_t), b->data, b->len);
        p += need;

        party->delivered = b->seq;
    }

    ngx_http_hotline_unlock();

    return p - buf;
}


static void
ngx_http_hotline_shm_queue(ngx_http_hotline_queue_pt handler, void *data)
{
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_http_hotline_shm_t         *shm;
    ngx_http_hotline_queue_t       *snap;
    ngx_http_hotline_party_t       *p;
    ngx_http_hotline_queue_item_t  *it;

    shm = ngx_http_hotline_shm;
    snap = &ngx_http_hotline_snapshot;

    n = ngx_http_hotline_shm_conf->queue_size;

    if (ngx_http_hotline_snapshot_size < n) {
        it = ngx_alloc(n * sizeof(ngx_http_hotline_queue_item_t),
                       ngx_cycle->log);
        if (it == NULL) {
            handler(NULL, data);
            return;
        }

        if (snap->items) {
            ngx_free(snap->items);
        }

        snap->items = it;
        ngx_http_hotline_snapshot_size = n;
    }

    ngx_http_hotline_lock();

    snap->n = 0;
    snap->agents_online = shm->agents_online;
    snap->agents_busy = shm->agents_busy;
    snap->avg_handle = shm->avg_handle;

    for (q = ngx_queue_head(&shm->waiting);
         q != ngx_queue_sentinel(&shm->waiting)
         && snap->n < ngx_http_hotline_snapshot_size;
         q = ngx_queue_next(q))
    {
        p = ngx_queue_data(q, ngx_http_hotline_party_t, link);
        it = &snap->items[snap->n++];

        it->ticket = p->ticket;
        ngx_memcpy(it->call_id, p->call_id, NGX_HOTLINE_ID_LEN);
        it->joined = p->joined;
        it->name_len = p->name_len;
        ngx_memcpy(it->name, p->name, p->name_len);
    }

    ngx_http_hotline_unlock();

    handler(snap, data);
}


static void
ngx_http_hotline_shm_stats(ngx_http_hotline_stats_t *st)
{
    ngx_http_hotline_shm_t  *shm;

    shm = ngx_http_hotline_shm;

    ngx_http_hotline_lock();

    st->up = 1;
    st->size = ngx_http_hotline_shpool->end
               - (u_char *) ngx_http_hotline_shpool;
    st->used = st->size
               - ngx_http_hotline_shpool->pfree * ngx_pagesize;
    st->waiting = shm->nwaiting;
    st->active = shm->nactive;
    st->agents_online = shm->agents_online;
    st->agents_busy = shm->agents_busy;

    ngx_http_hotline_unlock();
}


/* a wake-up: deliver to the sessions named in our mailbox */

static void
ngx_http_hotline_shm_wake(void)
{
    ngx_uint_t                    i, n, k, ns, flags;
    ngx_queue_t                  *q, *next;
    ngx_http_hotline_mail_t      *m;
    ngx_http_hotline_party_t     *p;
    ngx_http_hotline_session_t   *s;

    ngx_http_hotline_mail_t       mail[NGX_HOTLINE_MAIL_BATCH];
    ngx_http_hotline_session_t   *deliver[NGX_HOTLINE_MAIL_BATCH];
    ngx_http_hotline_session_t   *slow[NGX_HOTLINE_MAIL_BATCH];

    ngx_http_hotline_lock();

    n = ngx_http_hotline_mailbox_take(mail, NGX_HOTLINE_MAIL_BATCH,
                                      &flags);
    k = 0;
    ns = 0;

    for (i = 0; i < n; i++) {
        m = &mail[i];
        p = m->party;

        if (m->kind == NGX_HOTLINE_MAIL_REPLACED) {
            continue;
        }

        if (p->owner == ngx_pid && p->gen == m->gen) {
            if (m->kind == NGX_HOTLINE_MAIL_DELIVER
                || p->delivered < p->replayed)
            {
                /* a party that catches up with a replay is not slow */
                p->notified = 0;
                deliver[k++] = p->local;

            } else {
                slow[ns++] = p->local;
            }
        }

        m->party = NULL;
    }

    ngx_http_hotline_unlock();

    for (i = 0; i < k; i++) {
        ngx_http_hotline_session_deliver(deliver[i]);
    }

    for (i = 0; i < ns; i++) {
        s = slow[i];

        if (s->backlogged || s->out_bytes >= s->conf->send_queue / 2) {
            ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                          "hotline: client does not read, its buffer "
                          "is full");
            ngx_http_hotline_ws_close(s, NGX_HOTLINE_CLOSE_SLOW,
                                      "slow consumer");

        } else {
            /* it reads: it was only behind */
            ngx_http_hotline_session_deliver(s);
        }
    }

    /* sessions that another connection took over */

    for (i = 0; i < n; i++) {
        if (mail[i].party == NULL) {
            continue;
        }

        for (q = ngx_queue_head(ngx_http_hotline_sessions());
             q != ngx_queue_sentinel(ngx_http_hotline_sessions());
             q = next)
        {
            next = ngx_queue_next(q);
            s = ngx_queue_data(q, ngx_http_hotline_session_t, local);

            if (s->party == mail[i].party && s->gen == mail[i].gen) {
                ngx_http_hotline_ws_close(s, NGX_HOTLINE_CLOSE_REPLACED,
                                          "replaced");
            }
        }
    }

    if (flags & NGX_HOTLINE_MAIL_OVERFLOW) {
        for (q = ngx_queue_head(ngx_http_hotline_sessions());
             q != ngx_queue_sentinel(ngx_http_hotline_sessions());
             q = next)
        {
            next = ngx_queue_next(q);
            s = ngx_queue_data(q, ngx_http_hotline_session_t, local);
            ngx_http_hotline_session_deliver(s);
        }
    }

    if (flags & NGX_HOTLINE_MAIL_QUEUE) {
        ngx_http_hotline_session_queue_changed();
    }

    if (flags & NGX_HOTLINE_MAIL_AUTH) {
        ngx_http_hotline_session_auth_changed();
    }
}


/* every NGX_HOTLINE_SWEEP: grace periods, and workers that crashed */

static void
ngx_http_hotline_shm_sweep(ngx_event_t *ev)
{
    ngx_msec_t                 grace;
    ngx_queue_t               *q;
    ngx_rbtree_node_t         *node, *root, *sentinel;
    ngx_http_hotline_shm_t    *shm;
    ngx_http_hotline_party_t  *p, *a;

    shm = ngx_http_hotline_shm;
    grace = ngx_http_hotline_shm_conf->resume_timeout;

    ngx_http_hotline_lock();

    if (ngx_http_hotline_mailbox_reap()) {
        sentinel = shm->tokens.sentinel;
        root = shm->tokens.root;

        if (root != sentinel) {
            for (node = ngx_rbtree_min(root, sentinel);
                 node;
                 node = ngx_rbtree_next(&shm->tokens, node))
            {
                p = ngx_http_hotline_by_token(node);

                if (p->owner && !ngx_http_hotline_mailbox_alive(p->owner)) {
                    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                                  "hotline: worker %P is gone, its "
                                  "parties wait for resume", p->owner);
                    ngx_http_hotline_shm_gone(p);
                }
            }
        }
    }

    ngx_http_hotline_kv_expire(1000);

    while (!ngx_queue_empty(&shm->detached)) {
        q = ngx_queue_head(&shm->detached);
        p = ngx_queue_data(q, ngx_http_hotline_party_t, detached);

        if ((ngx_msec_int_t) (ngx_current_msec - p->gone_at)
            < (ngx_msec_int_t) grace)
        {
            break;
        }

        if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {
            if (p->state != NGX_HOTLINE_ENDED) {
                ngx_http_hotline_shm_end(p, NGX_HOTLINE_END_GONE,
                                         NGX_HOTLINE_ROLE_CUSTOMER, NULL);
            }

            ngx_http_hotline_shm_free(p);
            continue;
        }

        if (p->state == NGX_HOTLINE_ACTIVE && p->peer) {
            ngx_http_hotline_shm_end(p->peer, NGX_HOTLINE_END_GONE,
                                     NGX_HOTLINE_ROLE_AGENT, NULL);
        }

        a = p;
        ngx_http_hotline_shm_free(a);
        ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_QUEUE);
    }

    ngx_http_hotline_unlock();

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HOTLINE_SWEEP);
    }
}


/* the functions below run with the zone locked */

/* a new party, found by its resume token */

static ngx_http_hotline_party_t *
ngx_http_hotline_shm_party(ngx_uint_t role, u_char *token, u_char *name,
    size_t len)
{
    ngx_http_hotline_party_t  *p;

    p = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                               sizeof(ngx_http_hotline_party_t));
    if (p == NULL) {
        return NULL;
    }

    p->role = role;
    ngx_memcpy(p->token, token, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(p->name, name, len);
    p->name_len = len;
    p->joined = ngx_http_hotline_now_ms();
    ngx_queue_init(&p->inbox);

    p->token_node.key = ngx_http_hotline_key(p->token, NGX_HOTLINE_ID_LEN);
    ngx_rbtree_insert(&ngx_http_hotline_shm->tokens, &p->token_node);

    return p;
}


static void
ngx_http_hotline_shm_attach(ngx_http_hotline_party_t *p,
    ngx_http_hotline_session_t *s)
{
    if (p->owner) {
        /* tell the connection that had it */
        ngx_http_hotline_mailbox_push(p->owner, p, p->gen,
                                      NGX_HOTLINE_MAIL_REPLACED);
    }

    if (p->is_detached) {
        ngx_queue_remove(&p->detached);
        p->is_detached = 0;
    }

    p->owner = ngx_pid;
    p->gen = ++ngx_http_hotline_shm->next_gen;
    p->local = s;
    p->notified = 0;
    p->slow = 0;

    s->party = p;
    s->gen = p->gen;
    s->ticket = p->ticket;

    ngx_http_hotline_shm_kick(p);
}


/*
 * A party in a call comes back on a new connection: its peer hears that
 * it was reconnecting (unless it was told when the old connection went)
 * and that it is back.
 */

static void
ngx_http_hotline_shm_back(ngx_http_hotline_party_t *p)
{
    u_char  *last;
    u_char   ev[NGX_HOTLINE_EVENT_MAX];

    if (p->state != NGX_HOTLINE_ACTIVE || p->peer == NULL) {
        return;
    }

    if (p->owner) {
        last = ngx_http_hotline_proto_peer(ev, 0);
        ngx_http_hotline_shm_event(p->peer, ev, last);
    }

    last = ngx_http_hotline_proto_peer(ev, 1);
    ngx_http_hotline_shm_event(p->peer, ev, last);
}


/* wakes the owner if the party has undelivered messages */

static void
ngx_http_hotline_shm_kick(ngx_http_hotline_party_t *p)
{
    if (p->owner && !p->notified && p->delivered < p->last_seq) {
        ngx_http_hotline_mailbox_push(p->owner, p, p->gen,
                                      NGX_HOTLINE_MAIL_DELIVER);
        p->notified = 1;
    }
}


static ngx_http_hotline_party_t *
ngx_http_hotline_shm_current(ngx_http_hotline_session_t *s)
{
    ngx_http_hotline_party_t  *p;

    p = s->party;

    if (p == NULL || p->owner != ngx_pid || p->gen != s->gen) {
        return NULL;
    }

    return p;
}


static ngx_uint_t
ngx_http_hotline_shm_append(ngx_http_hotline_party_t *p, u_char *data,
    size_t len, ngx_uint_t force)
{
    size_t                   limit;
    ngx_queue_t             *q;
    ngx_http_hotline_buf_t  *b;

    limit = ngx_http_hotline_shm_conf->replay_buffer;

    /* make room by dropping what was delivered, oldest first */

    while (p->inbox_bytes + len > limit && !ngx_queue_empty(&p->inbox)) {
        q = ngx_queue_head(&p->inbox);
        b = ngx_queue_data(q, ngx_http_hotline_buf_t, link);

        if (b->seq > p->delivered) {
            break;
        }

        ngx_queue_remove(q);
        p->inbox_bytes -= b->len;
        ngx_slab_free_locked(ngx_http_hotline_shpool, b);
    }

    if (p->inbox_bytes + len > limit && !force) {

        /*
         * A connected party may fall behind by twice the buffer for a
         * moment (a burst while its worker is busy); its worker is told
         * and cuts it (4002) if its socket does not take the data either.
         */

        if (p->owner == 0 || p->inbox_bytes + len > 2 * limit) {
            return NGX_HOTLINE_E_PEER_BACKLOG;
        }

        if (!p->slow) {
            p->slow = 1;
            ngx_http_hotline_mailbox_push(p->owner, p, p->gen,
                                          NGX_HOTLINE_MAIL_SLOW);
        }
    }

    b = ngx_slab_alloc_locked(ngx_http_hotline_shpool,
                              offsetof(ngx_http_hotline_buf_t, data) + len);
    if (b == NULL) {
        return NGX_HOTLINE_E_UNAVAILABLE;
    }

    b->seq = ++p->last_seq;
    b->len = len;
    ngx_memcpy(b->data, data, len);

    ngx_queue_insert_tail(&p->inbox, &b->link);
    p->inbox_bytes += len;

    ngx_http_hotline_shm_kick(p);

    return NGX_HOTLINE_OK;
}


static void
ngx_http_hotline_shm_event(ngx_http_hotline_party_t *p, u_char *data,
    u_char *last)
{
    if (ngx_http_hotline_shm_append(p, data, last - data, 1)
        != NGX_HOTLINE_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hotline: no room in the zone for an event");
    }
}


/* agent: who rejected a waiting call, for the history */

static void
ngx_http_hotline_shm_end(ngx_http_hotline_party_t *c, ngx_uint_t reason,
    ngx_uint_t by, ngx_http_hotline_party_t *agent)
{
    u_char                    *last;
    int64_t                    now;
    ngx_uint_t                 duration;
    ngx_http_hotline_shm_t    *shm;
    ngx_http_hotline_party_t  *a;
    ngx_http_hotline_call_record_t  rec;
    u_char                     ev[NGX_HOTLINE_EVENT_MAX];
    u_char                     id[NGX_HOTLINE_ID_HEX];

    shm = ngx_http_hotline_shm;
    now = ngx_http_hotline_now_ms();
    duration = 0;
    a = NULL;

    if (c->state == NGX_HOTLINE_WAITING) {
        ngx_queue_remove(&c->link);
        shm->nwaiting--;

    } else if (c->state == NGX_HOTLINE_ACTIVE) {
        shm->nactive--;
        shm->agents_busy--;

        a = c->peer;
        a->state = NGX_HOTLINE_IDLE;
        a->peer = NULL;

        duration = (ngx_uint_t) ((now - c->accepted + 500) / 1000);

        /* a rolling average of handling time, weight 1/8 */
        shm->avg_handle = shm->avg_handle
                          - shm->avg_handle / 8
                          + (ngx_msec_t) (now - c->accepted) / 8;
    }

    c->state = NGX_HOTLINE_ENDED;
    c->peer = NULL;

    last = ngx_http_hotline_proto_ended(ev, c->call_id, reason, by, duration);

    ngx_http_hotline_shm_event(c, ev, last);

    if (a) {
        ngx_http_hotline_shm_event(a, ev, last);
    }

    ngx_http_hotline_count_ended(reason);
    ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_QUEUE);

    ngx_memcpy(rec.call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    rec.customer = c->name;
    rec.customer_len = c->name_len;
    if (a == NULL) {
        a = agent;
    }

    rec.agent = a ? a->name : NULL;
    rec.agent_len = a ? a->name_len : 0;
    rec.joined = c->joined;
    rec.accepted = c->accepted;
    rec.ended = now;
    rec.reason = reason;
    rec.by = by;
    rec.duration = duration;
    rec.recorded = c->recorded;

    ngx_http_hotline_history_add(&rec);

    (void) ngx_http_hotline_hex(id, c->call_id, NGX_HOTLINE_ID_LEN);

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "hotline: call ended call_id=%*s reason=%V "
                  "duration=%ui agent=\"%*s\"",
                  (size_t) NGX_HOTLINE_ID_HEX, id,
                  &ngx_http_hotline_end_reasons[reason], duration,
                  a ? a->name_len : 0, a ? a->name : (u_char *) "");
}


static void
ngx_http_hotline_shm_free(ngx_http_hotline_party_t *p)
{
    ngx_queue_t             *q;
    ngx_http_hotline_shm_t  *shm;
    ngx_http_hotline_buf_t  *b;

    shm = ngx_http_hotline_shm;

    ngx_rbtree_delete(&shm->tokens, &p->token_node);

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        ngx_rbtree_delete(&shm->calls, &p->id_node);

        if (p->state == NGX_HOTLINE_WAITING) {
            ngx_queue_remove(&p->link);
            shm->nwaiting--;
        }

    } else {
        ngx_rbtree_delete(&shm->agents, &p->id_node);
        shm->agents_online--;
    }

    if (p->is_detached) {
        ngx_queue_remove(&p->detached);
    }

    while (!ngx_queue_empty(&p->inbox)) {
        q = ngx_queue_head(&p->inbox);
        b = ngx_queue_data(q, ngx_http_hotline_buf_t, link);
        ngx_queue_remove(q);
        ngx_slab_free_locked(ngx_http_hotline_shpool, b);
    }

    /* a stale mailbox entry is recognised by its gen */
    p->gen = 0;
    p->owner = 0;

    ngx_slab_free_locked(ngx_http_hotline_shpool, p);
}


static ngx_http_hotline_party_t *
ngx_http_hotline_shm_find(ngx_rbtree_t *tree, u_char *id, size_t len,
    ngx_uint_t by_token)
{
    ngx_int_t                  rc;
    ngx_rbtree_key_t           key;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_hotline_party_t  *p;

    key = ngx_http_hotline_key(id, len);

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        if (by_token) {
            p = ngx_http_hotline_by_token(node);
            rc = ngx_memcmp(id, p->token, NGX_HOTLINE_ID_LEN);

        } else if (tree == &ngx_http_hotline_shm->calls) {
            p = ngx_http_hotline_by_id(node);
            rc = ngx_memcmp(id, p->call_id, NGX_HOTLINE_ID_LEN);

        } else {
            p = ngx_http_hotline_by_id(node);
            rc = (len == p->name_len) ? ngx_memcmp(id, p->name, len)
                                      : (ngx_int_t) len
                                        - (ngx_int_t) p->name_len;
        }

        if (rc == 0) {
            return p;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/*
 * Keys are hashes of random ids (or of an agent's name); equal keys are
 * ordered by the ids themselves, the same order the lookup follows.
 */

static void
ngx_http_hotline_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel,
    ngx_int_t (*cmp)(ngx_rbtree_node_t *a, ngx_rbtree_node_t *b))
{
    ngx_rbtree_node_t  **p;

    for ( ;; ) {

        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            p = (cmp(node, temp) < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_int_t
ngx_http_hotline_cmp_token(ngx_rbtree_node_t *a, ngx_rbtree_node_t *b)
{
    return ngx_memcmp(ngx_http_hotline_by_token(a)->token,
                      ngx_http_hotline_by_token(b)->token,
                      NGX_HOTLINE_ID_LEN);
}


static ngx_int_t
ngx_http_hotline_cmp_call(ngx_rbtree_node_t *a, ngx_rbtree_node_t *b)
{
    return ngx_memcmp(ngx_http_hotline_by_id(a)->call_id,
                      ngx_http_hotline_by_id(b)->call_id,
                      NGX_HOTLINE_ID_LEN);
}


static ngx_int_t
ngx_http_hotline_cmp_agent(ngx_rbtree_node_t *a, ngx_rbtree_node_t *b)
{
    ngx_http_hotline_party_t  *pa, *pb;

    pa = ngx_http_hotline_by_id(a);
    pb = ngx_http_hotline_by_id(b);

    if (pa->name_len != pb->name_len) {
        return (ngx_int_t) pa->name_len - (ngx_int_t) pb->name_len;
    }

    return ngx_memcmp(pa->name, pb->name, pa->name_len);
}


static void
ngx_http_hotline_insert_token(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_http_hotline_rbtree_insert(temp, node, sentinel,
                                   ngx_http_hotline_cmp_token);
}


static void
ngx_http_hotline_insert_call(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_http_hotline_rbtree_insert(temp, node, sentinel,
                                   ngx_http_hotline_cmp_call);
}


static void
ngx_http_hotline_insert_agent(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_http_hotline_rbtree_insert(temp, node, sentinel,
                                   ngx_http_hotline_cmp_agent);
}


static ngx_rbtree_key_t
ngx_http_hotline_key(u_char *id, size_t len)
{
    return (ngx_rbtree_key_t) ngx_murmur_hash2(id, len);
}


static int64_t
ngx_http_hotline_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}
