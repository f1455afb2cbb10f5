
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_store_redis.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_history.h"
#include "ngx_http_hotline_alloc.h"


/*
 * The call history of all nodes, on the Redis store: the script that
 * ends a call appends its record to the P history stream and counts it
 * in the day's hash P hd:<UTC day> (ngx_http_hotline_store_redis_lua.c);
 * here a page of the stream, newest first, or the counts of days are
 * read back for the history location.
 *
 * The cursor of a page is the stream id of the record it starts below,
 * as one number, <ms> * 1024 + <sequence>, so that it stays exact in
 * JavaScript (below 2^53 until the year 2248).  Redis numbers the
 * entries of one millisecond from 0; a sequence above 1023 (more than a
 * thousand calls ended in one millisecond) is clamped.
 */


#define NGX_HOTLINE_RHISTORY_SCAN    5000    /* entries looked at a page */
#define NGX_HOTLINE_RHISTORY_FIELDS  14      /* a record in the reply, but
                                                its amendments */
#define NGX_HOTLINE_RHISTORY_SEQ     1024


typedef struct {
    ngx_http_hotline_history_query_t  *q;
    ngx_http_hotline_history_pt        handler;
    void                              *data;
} ngx_http_hotline_rhistory_t;


static void ngx_http_hotline_rhistory_page(void *data, redisReply *r);
static void ngx_http_hotline_rhistory_days(void *data, redisReply *r);
static ngx_int_t ngx_http_hotline_rhistory_record(
    ngx_http_hotline_history_query_t *q, redisReply *r, size_t *next,
    ngx_str_t *json);
static int64_t ngx_http_hotline_rhistory_cursor(ngx_str_t *id);


static ngx_str_t  ngx_http_hotline_rhistory_key = ngx_string("history");

/*
 * the day hash's fields, in the order of ngx_http_hotline_history_day_t:
 * these, then the outcomes (ngx_http_hotline_end_reasons[])
 */
static ngx_str_t  ngx_http_hotline_rhistory_fields[] = {
    ngx_string("calls"),
    ngx_string("answered"),
    ngx_string("talk")
};

#define NGX_HOTLINE_RHISTORY_DAY   (3 + NGX_HOTLINE_END_MAX)


void
ngx_http_hotline_redis_history(ngx_http_hotline_history_query_t *q,
    ngx_http_hotline_history_pt handler, void *data)
{
    u_char                       *p;
    ngx_str_t                     args[8 + NGX_HOTLINE_RHISTORY_DAY];
    ngx_str_t                    *prefix;
    ngx_uint_t                    i, n;
    ngx_http_hotline_rhistory_t  *ctx;

    ctx = ngx_palloc(q->pool, sizeof(ngx_http_hotline_rhistory_t));
    p = ngx_pnalloc(q->pool, 64 + 3 * NGX_INT64_LEN + 256);

    if (ctx == NULL || p == NULL) {
        handler(data, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    ctx->q = q;
    ctx->handler = handler;
    ctx->data = data;

    if (q->days) {
        prefix = ngx_http_hotline_redis_prefix();

        args[0].data = p;
        p = ngx_cpymem(p, prefix->data, ngx_min(prefix->len, 250));
        p = ngx_cpymem(p, "hd:", 3);
        args[0].len = p - args[0].data;

        args[1].data = p;
        p = ngx_sprintf(p, "%ui", q->day0);
        args[1].len = p - args[1].data;

        args[2].data = p;
        p = ngx_sprintf(p, "%ui", q->days);
        args[2].len = p - args[2].data;

        for (i = 0; i < NGX_HOTLINE_RHISTORY_DAY; i++) {
            args[3 + i] = (i < 3) ? ngx_http_hotline_rhistory_fields[i]
                                  : ngx_http_hotline_end_reasons[i - 3];
        }

        ngx_http_hotline_redis_call(NGX_HOTLINE_LUA_DAYS,
                                    &ngx_http_hotline_rhistory_key, args,
                                    3 + NGX_HOTLINE_RHISTORY_DAY,
                                    ngx_http_hotline_rhistory_days, ctx);
        return;
    }

    /* where the page starts: below the cursor's entry, or the newest */

    args[0].data = p;

    if (q->before >= 0) {
        p = ngx_sprintf(p, "(%L-%L", q->before / NGX_HOTLINE_RHISTORY_SEQ,
                        q->before % NGX_HOTLINE_RHISTORY_SEQ);

    } else {
        *p++ = '+';
    }

    args[0].len = p - args[0].data;

    args[1].data = p;
    p = ngx_sprintf(p, "%i", q->limit);
    args[1].len = p - args[1].data;

    args[2] = q->agent;
    args[3] = q->outcome;

    args[4].data = p;
    p = ngx_sprintf(p, "%ui", (ngx_uint_t) NGX_HOTLINE_RHISTORY_SCAN);
    args[4].len = p - args[4].data;

    args[5] = q->call_id;
    ngx_str_set(&args[6], "0");

    if (q->open) {
        ngx_str_set(&args[6], "1");
    }

    args[7] = *ngx_http_hotline_redis_prefix();

    n = 8;

    ngx_http_hotline_redis_call(NGX_HOTLINE_LUA_HISTORY,
                                &ngx_http_hotline_rhistory_key, args, n,
                                ngx_http_hotline_rhistory_page, ctx);
}


/*
 * {0, next id or "", (id, call_id, customer, ... recorded, extra,
 * transcript, n, n amendments)...}
 */

static void
ngx_http_hotline_rhistory_page(void *data, redisReply *r)
{
    ngx_http_hotline_rhistory_t *ctx = data;

    size_t                       i;
    ngx_int_t                    rc;
    ngx_str_t                    next, *json;
    ngx_http_hotline_history_t   h;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        ctx->handler(ctx->data, NGX_HOTLINE_E_UNAVAILABLE, NULL);
        return;
    }

    if (ngx_array_init(&h.records, ctx->q->pool,
                       (r->elements - 2) / NGX_HOTLINE_RHISTORY_FIELDS + 1,
                       sizeof(ngx_str_t))
        != NGX_OK)
    {
        ctx->handler(ctx->data, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    next = ngx_http_hotline_reply_str(r, 1);
    h.next = next.len ? ngx_http_hotline_rhistory_cursor(&next) : -1;
    h.days = NULL;

    i = 2;

    while (i + NGX_HOTLINE_RHISTORY_FIELDS <= r->elements) {
        json = ngx_array_push(&h.records);
        if (json == NULL) {
            ctx->handler(ctx->data, NGX_HOTLINE_E_INTERNAL, NULL);
            return;
        }

        rc = ngx_http_hotline_rhistory_record(ctx->q, r, &i, json);

        if (rc == NGX_ERROR) {
            ctx->handler(ctx->data, NGX_HOTLINE_E_INTERNAL, NULL);
            return;
        }

        if (rc != NGX_OK) {
            /* not ours or damaged: left out */
            h.records.nelts--;
        }
    }

    ctx->handler(ctx->data, NGX_HOTLINE_OK, &h);
}


/*
 * a stream entry from element *i: id, call_id, customer, agent, joined,
 * accepted, ended, outcome, by, duration, recorded, extra, transcript,
 * n, n amendments; *i moves past it
 */

static ngx_int_t
ngx_http_hotline_rhistory_record(ngx_http_hotline_history_query_t *q,
    redisReply *r, size_t *next, ngx_str_t *json)
{
    u_char                          *line;
    size_t                           i, k, n, size;
    int64_t                          num;
    ngx_int_t                        rc;
    ngx_str_t                        id, customer, agent, outcome, a;
    ngx_uint_t                       reason;
    ngx_http_hotline_amends_t        am;
    ngx_http_hotline_call_record_t   rec;

    i = *next + 1;
    n = (size_t) ngx_http_hotline_reply_int(r, i + 12);
    *next = i + 13 + n;

    id = ngx_http_hotline_reply_str(r, i);
    customer = ngx_http_hotline_reply_str(r, i + 1);
    agent = ngx_http_hotline_reply_str(r, i + 2);
    outcome = ngx_http_hotline_reply_str(r, i + 6);

    reason = ngx_http_hotline_end_reason(outcome.data, outcome.len);

    if (id.len != NGX_HOTLINE_ID_HEX
        || ngx_http_hotline_unhex(rec.call_id, id.data, id.len) != NGX_OK
        || customer.len > NGX_HOTLINE_CUSTOMER_NAME_MAX
        || agent.len > NGX_HOTLINE_NAME_MAX
        || reason == NGX_HOTLINE_END_MAX)
    {
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "hotline: a record of the redis history is damaged");
        return NGX_DECLINED;
    }

    rec.customer = customer.data;
    rec.customer_len = customer.len;
    rec.agent = agent.data;
    rec.agent_len = agent.len;
    rec.joined = ngx_http_hotline_reply_int(r, i + 3);
    rec.accepted = ngx_http_hotline_reply_int(r, i + 4);
    rec.ended = ngx_http_hotline_reply_int(r, i + 5);
    rec.reason = reason;
    rec.by = ngx_http_hotline_reply_int(r, i + 7) == NGX_HOTLINE_ROLE_CUSTOMER
             ? NGX_HOTLINE_ROLE_CUSTOMER : NGX_HOTLINE_ROLE_AGENT;
    num = ngx_http_hotline_reply_int(r, i + 8);
    rec.duration = num > 0 ? (ngx_uint_t) num : 0;
    rec.recorded = ngx_http_hotline_reply_int(r, i + 9) ? 1 : 0;
    rec.extra = ngx_http_hotline_reply_str(r, i + 10);
    rec.transcript = ngx_http_hotline_reply_str(r, i + 11);
    rec.amend = 0;

    size = ngx_http_hotline_history_size(&rec);

    line = ngx_alloc(size, q->log);
    if (line == NULL) {
        return NGX_ERROR;
    }

    ngx_http_hotline_amends_init(&am);

    for (k = n; k > 0; k--) {
        /* the newest first */
        a = ngx_http_hotline_reply_str(r, i + 12 + k);
        (void) ngx_http_hotline_amends_add(&am, a.data, a.len);
    }

    rc = ngx_http_hotline_history_record(q, &am, line,
                                  ngx_http_hotline_history_json(line,
                                                                line + size,
                                                                &rec)
                                  - line,
                                  json);

    ngx_http_hotline_amends_free(&am);
    ngx_free(line);

    return rc;
}


/* "<ms>-<seq>" as one number */

static int64_t
ngx_http_hotline_rhistory_cursor(ngx_str_t *id)
{
    u_char     *dash;
    ngx_int_t   ms, seq;

    dash = ngx_strlchr(id->data, id->data + id->len, '-');
    if (dash == NULL) {
        return -1;
    }

    ms = ngx_atoi(id->data, dash - id->data);
    seq = ngx_atoi(dash + 1, id->data + id->len - dash - 1);

    if (ms == NGX_ERROR || seq == NGX_ERROR) {
        return -1;
    }

    return (int64_t) ms * NGX_HOTLINE_RHISTORY_SEQ
           + ngx_min(seq, NGX_HOTLINE_RHISTORY_SEQ - 1);
}


/* {0, per day: calls, answered, talk, the outcomes...} */

static void
ngx_http_hotline_rhistory_days(void *data, redisReply *r)
{
    ngx_http_hotline_rhistory_t *ctx = data;

    size_t                           i;
    ngx_uint_t                       d, k;
    ngx_http_hotline_history_t       h;
    ngx_http_hotline_history_day_t  *day;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY
        || r->elements != 1 + ctx->q->days * NGX_HOTLINE_RHISTORY_DAY)
    {
        ctx->handler(ctx->data, NGX_HOTLINE_E_UNAVAILABLE, NULL);
        return;
    }

    ngx_memzero(&h, sizeof(ngx_http_hotline_history_t));
    h.next = -1;

    h.days = ngx_pcalloc(ctx->q->pool,
                         ctx->q->days * sizeof(ngx_http_hotline_history_day_t));
    if (h.days == NULL) {
        ctx->handler(ctx->data, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    i = 1;

    for (d = 0; d < ctx->q->days; d++) {
        day = &h.days[d];
        day->calls = (ngx_uint_t) ngx_http_hotline_reply_int(r, i++);
        day->answered = (ngx_uint_t) ngx_http_hotline_reply_int(r, i++);
        day->talk = (ngx_uint_t) ngx_http_hotline_reply_int(r, i++);

        for (k = 0; k < NGX_HOTLINE_END_MAX; k++) {
            day->outcomes[k] = (ngx_uint_t) ngx_http_hotline_reply_int(r, i++);
        }
    }

    ctx->handler(ctx->data, NGX_HOTLINE_OK, &h);
}


/*
 * Erasures reach every node's journal: an erasure adds the call's id to
 * the P he stream (the commit script's "H" step), and the first worker
 * of each node with a journal reads what came after the last id it saw,
 * every NGX_HOTLINE_RERASE_EVERY ms, and rewrites those calls' lines out
 * of its journal and the rotated files beside it
 * (ngx_http_hotline_history_erase_ids()).  The last id applied is kept
 * in Redis for the node (P he:<host name>:<journal>, with the next read):
 * a worker starts from there, so a node that was down applies what it
 * missed, and a reload reads again at most the last batch; without it,
 * from the stream's start.
 */


#define NGX_HOTLINE_RERASE_EVERY   1000
#define NGX_HOTLINE_RERASE_BATCH   256
#define NGX_HOTLINE_RERASE_ID      48      /* "<ms>-<seq>" */


static void ngx_http_hotline_rerase_tick(ngx_event_t *ev);
static void ngx_http_hotline_rerase_read(void *data, redisReply *r);


static ngx_event_t  ngx_http_hotline_rerase_ev;
static u_char       ngx_http_hotline_rerase_last[NGX_HOTLINE_RERASE_ID];
static size_t       ngx_http_hotline_rerase_last_len;     /* 0: not read */
static ngx_uint_t   ngx_http_hotline_rerase_busy;
static ngx_uint_t   ngx_http_hotline_rerase_keep;        /* last: to keep */
static ngx_uint_t   ngx_http_hotline_rerase_kept;        /* ... sent */
static ngx_str_t    ngx_http_hotline_rerase_node;
static ngx_str_t    ngx_http_hotline_rerase_key = ngx_string("he");


void
ngx_http_hotline_redis_erasures_start(ngx_cycle_t *cycle)
{
    u_char     *p;
    ngx_str_t  *path;

    if (ngx_worker != 0 || !ngx_http_hotline_history_journal_on()) {
        return;
    }

    /* the node: its host and its journal */

    path = ngx_http_hotline_history_path();

    p = ngx_pnalloc(cycle->pool, cycle->hostname.len + 1 + path->len);
    if (p == NULL) {
        return;
    }

    ngx_http_hotline_rerase_node.data = p;
    p = ngx_cpymem(p, cycle->hostname.data, cycle->hostname.len);
    *p++ = ':';
    p = ngx_cpymem(p, path->data, path->len);
    ngx_http_hotline_rerase_node.len = p - ngx_http_hotline_rerase_node.data;

    ngx_http_hotline_rerase_last_len = 0;
    ngx_http_hotline_rerase_busy = 0;
    ngx_http_hotline_rerase_keep = 0;

    ngx_http_hotline_timer_init(&ngx_http_hotline_rerase_ev,
                                ngx_http_hotline_rerase_tick, cycle);

    ngx_add_timer(&ngx_http_hotline_rerase_ev, NGX_HOTLINE_RERASE_EVERY);
}


void
ngx_http_hotline_redis_erasures_stop(void)
{
    if (ngx_http_hotline_rerase_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_rerase_ev);
    }
}


static void
ngx_http_hotline_rerase_tick(ngx_event_t *ev)
{
    u_char     buf[NGX_INT64_LEN];
    ngx_str_t  args[4];

    if (ngx_exiting) {
        return;
    }

    ngx_add_timer(ev, NGX_HOTLINE_RERASE_EVERY);

    if (ngx_http_hotline_rerase_busy || !ngx_http_hotline_rconn_up()) {
        return;
    }

    args[0].data = ngx_http_hotline_rerase_last;
    args[0].len = ngx_http_hotline_rerase_last_len;
    args[1].data = buf;
    args[1].len = ngx_sprintf(buf, "%d", NGX_HOTLINE_RERASE_BATCH) - buf;
    args[2] = ngx_http_hotline_rerase_node;
    args[3] = args[0];

    ngx_http_hotline_rerase_kept = ngx_http_hotline_rerase_keep;

    if (!ngx_http_hotline_rerase_keep) {
        args[3].len = 0;
    }

    ngx_http_hotline_rerase_busy = 1;

    ngx_http_hotline_redis_call(NGX_HOTLINE_LUA_ERASURES,
                                &ngx_http_hotline_rerase_key, args, 4,
                                ngx_http_hotline_rerase_read, NULL);
}


/* {0, the last id, call ids...} */

static void
ngx_http_hotline_rerase_read(void *data, redisReply *r)
{
    size_t      i, n;
    ngx_str_t   last, ids[NGX_HOTLINE_RERASE_BATCH];

    ngx_http_hotline_rerase_busy = 0;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->elements > 2 + NGX_HOTLINE_RERASE_BATCH)
    {
        return;
    }

    if (ngx_http_hotline_rerase_kept) {
        ngx_http_hotline_rerase_keep = 0;
    }

    last = ngx_http_hotline_reply_str(r, 1);

    if (last.len == 0 || last.len > NGX_HOTLINE_RERASE_ID) {
        return;
    }

    n = 0;

    for (i = 2; i < r->elements; i++) {
        ids[n] = ngx_http_hotline_reply_str(r, i);

        if (ids[n].len == NGX_HOTLINE_ID_HEX) {
            n++;
        }
    }

    if (ngx_http_hotline_history_erase_ids(ids, n, ngx_cycle->log)
        == NGX_ERROR)
    {
        /* read again next time */
        return;
    }

    if (r->elements > 2) {
        /* kept with the next read */
        ngx_http_hotline_rerase_keep = 1;
    }

    ngx_memcpy(ngx_http_hotline_rerase_last, last.data, last.len);
    ngx_http_hotline_rerase_last_len = last.len;

    if (r->elements == 2 + NGX_HOTLINE_RERASE_BATCH
        && !ngx_exiting && ngx_http_hotline_rerase_ev.timer_set)
    {
        /* more: at once */
        ngx_del_timer(&ngx_http_hotline_rerase_ev);
        ngx_add_timer(&ngx_http_hotline_rerase_ev, 1);
    }
}
