
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_store_redis.h"
#include "ngx_http_hotline_call.h"


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
#define NGX_HOTLINE_RHISTORY_FIELDS  11      /* a record in the reply */
#define NGX_HOTLINE_RHISTORY_SEQ     1024


typedef struct {
    ngx_http_hotline_history_query_t  *q;
    ngx_http_hotline_history_pt        handler;
    void                              *data;
} ngx_http_hotline_rhistory_t;


static void ngx_http_hotline_rhistory_page(void *data, redisReply *r);
static void ngx_http_hotline_rhistory_days(void *data, redisReply *r);
static ngx_int_t ngx_http_hotline_rhistory_record(
    ngx_http_hotline_history_query_t *q, redisReply *r, size_t i,
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
    ngx_str_t                     args[4 + NGX_HOTLINE_RHISTORY_DAY];
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

    n = 5;

    ngx_http_hotline_redis_call(NGX_HOTLINE_LUA_HISTORY,
                                &ngx_http_hotline_rhistory_key, args, n,
                                ngx_http_hotline_rhistory_page, ctx);
}


/* {0, next id or "", (id, call_id, customer, ... recorded)...} */

static void
ngx_http_hotline_rhistory_page(void *data, redisReply *r)
{
    ngx_http_hotline_rhistory_t *ctx = data;

    size_t                       i;
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

    for (i = 2; i + NGX_HOTLINE_RHISTORY_FIELDS <= r->elements;
         i += NGX_HOTLINE_RHISTORY_FIELDS)
    {
        json = ngx_array_push(&h.records);
        if (json == NULL) {
            ctx->handler(ctx->data, NGX_HOTLINE_E_INTERNAL, NULL);
            return;
        }

        if (ngx_http_hotline_rhistory_record(ctx->q, r, i + 1, json)
            != NGX_OK)
        {
            /* not ours or damaged: left out */
            h.records.nelts--;
        }
    }

    ctx->handler(ctx->data, NGX_HOTLINE_OK, &h);
}


/*
 * a stream entry's fields from element i: call_id, customer, agent,
 * joined, accepted, ended, outcome, by, duration, recorded
 */

static ngx_int_t
ngx_http_hotline_rhistory_record(ngx_http_hotline_history_query_t *q,
    redisReply *r, size_t i, ngx_str_t *json)
{
    int64_t                          n;
    ngx_str_t                        id, customer, agent, outcome;
    ngx_uint_t                       k;
    ngx_http_hotline_call_record_t   rec;

    id = ngx_http_hotline_reply_str(r, i);
    customer = ngx_http_hotline_reply_str(r, i + 1);
    agent = ngx_http_hotline_reply_str(r, i + 2);
    outcome = ngx_http_hotline_reply_str(r, i + 6);

    if (id.len != NGX_HOTLINE_ID_HEX
        || ngx_http_hotline_unhex(rec.call_id, id.data, id.len) != NGX_OK
        || customer.len > NGX_HOTLINE_CUSTOMER_NAME_MAX
        || agent.len > NGX_HOTLINE_NAME_MAX)
    {
        ngx_log_error(NGX_LOG_WARN, q->log, 0,
                      "hotline: a record of the redis history is damaged");
        return NGX_DECLINED;
    }

    k = ngx_http_hotline_end_reason(outcome.data, outcome.len);

    if (k == NGX_HOTLINE_END_MAX) {
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
    rec.reason = k;
    rec.by = ngx_http_hotline_reply_int(r, i + 7) == NGX_HOTLINE_ROLE_CUSTOMER
             ? NGX_HOTLINE_ROLE_CUSTOMER : NGX_HOTLINE_ROLE_AGENT;
    n = ngx_http_hotline_reply_int(r, i + 8);
    rec.duration = n > 0 ? (ngx_uint_t) n : 0;
    rec.recorded = ngx_http_hotline_reply_int(r, i + 9) ? 1 : 0;

    json->data = ngx_pnalloc(q->pool, NGX_HOTLINE_HISTORY_LINE);
    if (json->data == NULL) {
        return NGX_ERROR;
    }

    json->len = ngx_http_hotline_history_json(json->data,
                                              json->data
                                              + NGX_HOTLINE_HISTORY_LINE,
                                              &rec)
                - json->data;

    return NGX_OK;
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
