
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_queue.h"
#include "ngx_http_hotline_party.h"
#include "ngx_http_hotline_call_tx.h"


/*
 * The queue as agents and waiting customers see it: a snapshot of the
 * queued calls with the counters (one read at a time; a caller that
 * asks meanwhile gets the one after it), the ETA, and the gauges of
 * health and metrics.  A snapshot holds the whole queue (the positions
 * of all waiting customers) or only its head (the agents' list and the
 * first positions): a copy of 50,000 calls costs milliseconds.
 */


static void ngx_http_hotline_queue_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_gauges_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_waiting_from_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_find_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd);
static void ngx_http_hotline_query(ngx_uint_t op, ngx_str_t *key,
    ngx_uint_t n, ngx_http_hotline_read_pt done, void *data);
static void ngx_http_hotline_read_counters(ngx_http_hotline_read_t *r);


static ngx_http_hotline_store_t      *ngx_http_hotline_st;
static ngx_http_hotline_main_conf_t  *ngx_http_hotline_cf;
static ngx_http_hotline_gauges_t      ngx_http_hotline_g;
static ngx_uint_t                     ngx_http_hotline_gauges_busy;

static ngx_http_hotline_queue_t       ngx_http_hotline_snap;
static ngx_uint_t                     ngx_http_hotline_snap_size;
static ngx_http_hotline_queue_card_t
    ngx_http_hotline_snap_cards[NGX_HOTLINE_QUEUE_LIST_MAX];
static ngx_uint_t                     ngx_http_hotline_snap_busy;
static ngx_uint_t                     ngx_http_hotline_snap_again;
static ngx_uint_t                     ngx_http_hotline_snap_full;
static ngx_http_hotline_queue_pt      ngx_http_hotline_snap_handler;
static void                          *ngx_http_hotline_snap_data;


void
ngx_http_hotline_queue_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf)
{
    ngx_http_hotline_st = store;
    ngx_http_hotline_cf = cf;
}


void
ngx_http_hotline_queue_exit(void)
{
    if (ngx_http_hotline_snap.tickets) {
        ngx_free(ngx_http_hotline_snap.tickets);
        ngx_http_hotline_snap.tickets = NULL;
        ngx_http_hotline_snap_size = 0;
    }
}


/* the queue and the gauges */

void
ngx_http_hotline_call_queue(ngx_http_hotline_queue_pt handler, void *data,
    ngx_uint_t full)
{
    ngx_http_hotline_read_t   *r;
    ngx_http_hotline_reads_t   rd;

    ngx_http_hotline_snap_handler = handler;
    ngx_http_hotline_snap_data = data;

    if (ngx_http_hotline_snap_busy) {
        /* one snapshot at a time; the next one follows this one */
        ngx_http_hotline_snap_again = 1;
        ngx_http_hotline_snap_full |= full;
        return;
    }

    ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

    r = &rd.ops[0];
    r->op = NGX_HOTLINE_READ_QUEUE;
    r->n = ngx_http_hotline_cf->queue_size;

    if (!full && r->n > NGX_HOTLINE_QUEUE_LIST_MAX) {
        r->n = NGX_HOTLINE_QUEUE_LIST_MAX;
    }

    /* behind the agents' list only the tickets count (positions) */
    r->values = NGX_HOTLINE_QUEUE_LIST_MAX;

    ngx_http_hotline_read_counters(&rd.ops[1]);

    rd.n = 2;

    ngx_http_hotline_snap_busy = 1;
    ngx_http_hotline_st->read(&rd, ngx_http_hotline_queue_done, NULL);
}


static void
ngx_http_hotline_queue_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    int64_t                        *num;
    ngx_uint_t                      i, n, full;
    ngx_http_hotline_rec_t         *rec;
    ngx_http_hotline_queue_t       *snap;
    uint64_t                       *t;
    ngx_http_hotline_party_t        p;
    ngx_http_hotline_queue_card_t  *cd;

    snap = &ngx_http_hotline_snap;
    snap->cards = ngx_http_hotline_snap_cards;
    ngx_http_hotline_snap_busy = 0;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_snap_again = 0;
        ngx_http_hotline_snap_full = 0;
        ngx_http_hotline_snap_handler(NULL, ngx_http_hotline_snap_data);
        return;
    }

    n = ngx_http_hotline_cf->queue_size;

    if (ngx_http_hotline_snap_size < n) {
        t = ngx_alloc(n * sizeof(uint64_t), ngx_cycle->log);
        if (t == NULL) {
            ngx_http_hotline_snap_handler(NULL, ngx_http_hotline_snap_data);
            return;
        }

        if (snap->tickets) {
            ngx_free(snap->tickets);
        }

        snap->tickets = t;
        ngx_http_hotline_snap_size = n;
    }

    num = rd->ops[1].numbers;

    snap->n = 0;
    snap->total = rd->ops[0].total;
    snap->complete = (rd->ops[0].nrecs >= rd->ops[0].total);
    snap->agents_online = num[NGX_HOTLINE_C_ONLINE] > 0
                          ? (ngx_uint_t) num[NGX_HOTLINE_C_ONLINE] : 0;
    snap->agents_busy = num[NGX_HOTLINE_C_BUSY] > 0
                        ? (ngx_uint_t) num[NGX_HOTLINE_C_BUSY] : 0;
    snap->agents_away = num[NGX_HOTLINE_C_AWAY] > 0
                        ? (ngx_uint_t) num[NGX_HOTLINE_C_AWAY] : 0;
    snap->agents_wrapup = num[NGX_HOTLINE_C_WRAPUP] > 0
                          ? (ngx_uint_t) num[NGX_HOTLINE_C_WRAPUP] : 0;
    snap->messages = num[NGX_HOTLINE_C_MESSAGES] > 0
                     ? (ngx_uint_t) num[NGX_HOTLINE_C_MESSAGES] : 0;
    snap->avg_handle = num[NGX_HOTLINE_C_AVG] > 0
                       ? (ngx_msec_t) num[NGX_HOTLINE_C_AVG]
                       : ngx_http_hotline_cf->average_handle_time;

    for (i = 0; i < rd->ops[0].nrecs && snap->n < n; i++) {
        rec = &rd->ops[0].recs[i];

        if (snap->n >= NGX_HOTLINE_QUEUE_LIST_MAX && rec->value.len == 0
            && rec->version && rec->ticket)
        {
            /* behind the list: a store that sent the ticket alone */
            snap->tickets[snap->n++] = rec->ticket;
            continue;
        }

        if (rec->version == 0
            || ngx_http_hotline_party_decode(&rec->value, &p) != NGX_OK)
        {
            continue;
        }

        snap->tickets[snap->n] = rec->ticket ? rec->ticket : p.ticket;

        /* the rest for the agents' list only */
        if (snap->n++ >= NGX_HOTLINE_QUEUE_LIST_MAX) {
            continue;
        }

        cd = &snap->cards[snap->n - 1];

        ngx_memcpy(cd->call_id, p.call_id, NGX_HOTLINE_ID_LEN);
        cd->joined = p.joined;
        cd->until = p.until;
        cd->name_len = p.name_len;
        ngx_memcpy(cd->name, p.name, p.name_len);
        cd->from_len = p.from_len;
        ngx_memcpy(cd->from, p.from, p.from_len);
        cd->why_len = p.why_len;
        ngx_memcpy(cd->why, p.why, p.why_len);
        cd->target_len = p.target_len;
        ngx_memcpy(cd->target, p.target, p.target_len);
    }

    ngx_http_hotline_g.waiting = rd->ops[0].total;
    ngx_http_hotline_g.active = num[NGX_HOTLINE_C_ACTIVE] > 0
                                ? (ngx_uint_t) num[NGX_HOTLINE_C_ACTIVE] : 0;
    ngx_http_hotline_g.agents_online = snap->agents_online;
    ngx_http_hotline_g.agents_busy = snap->agents_busy;
    ngx_http_hotline_g.agents_away = snap->agents_away;
    ngx_http_hotline_g.agents_wrapup = snap->agents_wrapup;
    ngx_http_hotline_g.avg_handle = snap->avg_handle;
    snap->agents_available =
                       ngx_http_hotline_gauges_available(&ngx_http_hotline_g);

    ngx_http_hotline_snap_handler(snap, ngx_http_hotline_snap_data);

    if (ngx_http_hotline_snap_again) {
        full = ngx_http_hotline_snap_full;
        ngx_http_hotline_snap_again = 0;
        ngx_http_hotline_snap_full = 0;
        ngx_http_hotline_call_queue(ngx_http_hotline_snap_handler,
                                    ngx_http_hotline_snap_data, full);
    }
}


/*
 * The waiting calls of one client (the address its party holds), oldest
 * first, from one read of the whole queue: for a ban, which ends them
 * all.  handler() gets their call ids (16 bytes each), valid until it
 * returns.
 */

typedef struct {
    ngx_http_hotline_from_pt       handler;
    void                          *data;
    size_t                         len;
    u_char                         addr[NGX_SOCKADDR_STRLEN];
} ngx_http_hotline_from_t;


void
ngx_http_hotline_call_waiting_from(ngx_str_t *addr,
    ngx_http_hotline_from_pt handler, void *data)
{
    ngx_http_hotline_from_t  *from;

    from = ngx_alloc(sizeof(ngx_http_hotline_from_t), ngx_cycle->log);
    if (from == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL, 0);
        return;
    }

    from->handler = handler;
    from->data = data;
    from->len = ngx_min(addr->len, (size_t) NGX_SOCKADDR_STRLEN);
    ngx_memcpy(from->addr, addr->data, from->len);

    ngx_http_hotline_query(NGX_HOTLINE_READ_QUEUE, NULL,
                           ngx_http_hotline_cf->queue_size,
                           ngx_http_hotline_waiting_from_done, from);
}


static void
ngx_http_hotline_waiting_from_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    ngx_http_hotline_from_t *from = data;

    u_char                    *ids;
    ngx_uint_t                 i, n;
    ngx_http_hotline_rec_t    *rec;
    ngx_http_hotline_party_t   p;

    ids = NULL;
    n = 0;

    if (err == NGX_HOTLINE_OK && rd->ops[0].nrecs) {
        ids = ngx_alloc(rd->ops[0].nrecs * NGX_HOTLINE_ID_LEN,
                        ngx_cycle->log);
        if (ids == NULL) {
            err = NGX_HOTLINE_E_INTERNAL;
        }
    }

    for (i = 0; ids && i < rd->ops[0].nrecs; i++) {
        rec = &rd->ops[0].recs[i];

        if (rec->version == 0
            || ngx_http_hotline_party_decode(&rec->value, &p) != NGX_OK
            || p.state != NGX_HOTLINE_WAITING
            || p.addr_len != from->len
            || ngx_memcmp(p.addr, from->addr, from->len) != 0)
        {
            continue;
        }

        ngx_memcpy(ids + n++ * NGX_HOTLINE_ID_LEN, p.call_id,
                   NGX_HOTLINE_ID_LEN);
    }

    from->handler(from->data, err, ids, n);

    if (ids) {
        ngx_free(ids);
    }

    ngx_free(from);
}


/*
 * A call by its id: handler() gets its customer party (state, recorded),
 * or NULL when there is no such call (any more).
 */

typedef struct {
    ngx_http_hotline_find_pt       handler;
    void                          *data;
} ngx_http_hotline_find_t;


void
ngx_http_hotline_call_find(u_char *call_id, ngx_http_hotline_find_pt handler,
    void *data)
{
    ngx_http_hotline_find_t  *find;

    find = ngx_alloc(sizeof(ngx_http_hotline_find_t), ngx_cycle->log);
    if (find == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    find->handler = handler;
    find->data = data;

    /* a customer's party: its id is the call's */
    ngx_http_hotline_query(NGX_HOTLINE_READ_RECORD,
                           ngx_http_hotline_pkey(call_id), 0,
                           ngx_http_hotline_find_done, find);
}


/* one read of the store for a query */

static void
ngx_http_hotline_query(ngx_uint_t op, ngx_str_t *key, ngx_uint_t n,
    ngx_http_hotline_read_pt done, void *data)
{
    ngx_http_hotline_reads_t  rd;

    ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

    rd.ops[0].op = op;
    rd.ops[0].n = n;

    if (key) {
        rd.ops[0].key = *key;
    }

    rd.n = 1;

    ngx_http_hotline_st->read(&rd, done, data);
}


static void
ngx_http_hotline_find_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    ngx_http_hotline_find_t *find = data;

    ngx_http_hotline_rec_t    *rec;
    ngx_http_hotline_party_t   p, *party;

    party = NULL;

    if (err == NGX_HOTLINE_OK && rd->ops[0].nrecs) {
        rec = &rd->ops[0].recs[0];

        if (rec->version
            && ngx_http_hotline_party_decode(&rec->value, &p) == NGX_OK
            && p.role == NGX_HOTLINE_ROLE_CUSTOMER)
        {
            party = &p;
        }
    }

    find->handler(find->data, err, party);

    ngx_free(find);
}


/* another snapshot follows the one its handler is given */

ngx_uint_t
ngx_http_hotline_call_queue_again(void)
{
    return ngx_http_hotline_snap_again;
}


/*
 * The agents who take calls (those online but away), and the estimate of
 * the wait at a position in seconds: position * the average handling
 * time / those agents, less the time waited at it; (ngx_uint_t) -1 when
 * there are none.
 */

ngx_uint_t
ngx_http_hotline_call_staffed(ngx_http_hotline_queue_t *q)
{
    return q->agents_online > q->agents_away
           ? q->agents_online - q->agents_away : 0;
}


ngx_uint_t
ngx_http_hotline_call_eta(ngx_http_hotline_queue_t *q, ngx_uint_t position,
    ngx_msec_t waited)
{
    uint64_t    each, eta, least;
    ngx_uint_t  agents;

    agents = ngx_http_hotline_call_staffed(q);

    if (agents == 0) {
        return (ngx_uint_t) -1;
    }

    /*
     * the time waited at this position counts down, to what the calls
     * ahead take at least
     */

    each = q->avg_handle / agents;
    eta = position * each;
    least = (position - 1) * each;

    eta = (eta > least + waited) ? eta - waited : least;

    return (ngx_uint_t) ((eta + 999) / 1000);
}


void
ngx_http_hotline_call_gauges(ngx_http_hotline_gauges_t *g)
{
    ngx_http_hotline_reads_t  rd;

    if (!ngx_http_hotline_gauges_busy && ngx_http_hotline_st) {
        ngx_memzero(&rd, sizeof(ngx_http_hotline_reads_t));

        ngx_http_hotline_read_counters(&rd.ops[0]);
        rd.n = 1;

        ngx_http_hotline_gauges_busy = 1;
        ngx_http_hotline_st->read(&rd, ngx_http_hotline_gauges_done, NULL);
    }

    if (g) {
        *g = ngx_http_hotline_g;
    }
}


static void
ngx_http_hotline_gauges_done(void *data, ngx_uint_t err,
    ngx_http_hotline_reads_t *rd)
{
    int64_t  *num;

    ngx_http_hotline_gauges_busy = 0;

    if (err != NGX_HOTLINE_OK) {
        return;
    }

    num = rd->ops[0].numbers;

#define ngx_http_hotline_gauge(i)  (num[i] > 0 ? (ngx_uint_t) num[i] : 0)

    ngx_http_hotline_g.waiting = ngx_http_hotline_gauge(NGX_HOTLINE_C_WAITING);
    ngx_http_hotline_g.active = ngx_http_hotline_gauge(NGX_HOTLINE_C_ACTIVE);
    ngx_http_hotline_g.agents_online =
                                  ngx_http_hotline_gauge(NGX_HOTLINE_C_ONLINE);
    ngx_http_hotline_g.agents_busy = ngx_http_hotline_gauge(NGX_HOTLINE_C_BUSY);
    ngx_http_hotline_g.agents_away = ngx_http_hotline_gauge(NGX_HOTLINE_C_AWAY);
    ngx_http_hotline_g.agents_wrapup =
                                  ngx_http_hotline_gauge(NGX_HOTLINE_C_WRAPUP);
    ngx_http_hotline_g.avg_handle = ngx_http_hotline_gauge(NGX_HOTLINE_C_AVG);

#undef ngx_http_hotline_gauge
}


/* the gauges, in the order of ngx_http_hotline_counter_names[] */

static void
ngx_http_hotline_read_counters(ngx_http_hotline_read_t *r)
{
    r->op = NGX_HOTLINE_READ_COUNTERS;
    r->names = ngx_http_hotline_counter_names;
    r->n = NGX_HOTLINE_C_N;
}


/* agents who would take a call now: online, not busy, away or in wrap-up */

ngx_uint_t
ngx_http_hotline_gauges_available(ngx_http_hotline_gauges_t *g)
{
    ngx_uint_t  taken;

    taken = g->agents_busy + g->agents_away + g->agents_wrapup;

    return g->agents_online > taken ? g->agents_online - taken : 0;
}
