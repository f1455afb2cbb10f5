
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_history.h"
#include "ngx_http_hotline_desk.h"


/*
 * The history location: GET reads the calls of the history, newest
 * first, with filters and paging, or their daily counts, from the store
 * when it keeps the history of all nodes (Redis), else from this node's
 * journal (ngx_http_hotline_history.c); DELETE erases a call's personal
 * data (ngx_http_hotline_history_erase.c).
 */


#define NGX_HOTLINE_HISTORY_PAGE    200
#define NGX_HOTLINE_HISTORY_DAYS    90


typedef struct {
    ngx_http_request_t                *request;
    ngx_http_hotline_history_query_t   q;
    ngx_http_hotline_history_t         h;
    ngx_http_hotline_amends_t          amends;
    ngx_fd_t                           fd;
    off_t                              last;     /* the page's last line */
    ngx_int_t                          rc;
    unsigned                           done:1;
    unsigned                           async:1;
} ngx_http_hotline_history_ctx_t;


static ngx_int_t ngx_http_hotline_history_query(ngx_http_request_t *r,
    ngx_http_hotline_history_query_t *q);
static void ngx_http_hotline_history_done(void *data, ngx_uint_t err,
    ngx_http_hotline_history_t *h);
static ngx_int_t ngx_http_hotline_history_send(ngx_http_request_t *r,
    ngx_http_hotline_history_query_t *q, ngx_http_hotline_history_t *h);
static ngx_int_t ngx_http_hotline_history_journal(
    ngx_http_hotline_history_ctx_t *ctx);
static ngx_int_t ngx_http_hotline_history_page(u_char *line, size_t len,
    off_t offset, void *data);
static ngx_int_t ngx_http_hotline_history_daily(u_char *line, size_t len,
    off_t offset, void *data);


/*
 * GET <history location>?limit=&before=&agent=&outcome=  or  ?days=
 * from the store when it keeps the history of all nodes (Redis), else
 * from this node's journal
 */

ngx_int_t
ngx_http_hotline_history_handler(ngx_http_request_t *r)
{
    ngx_http_hotline_store_t        *store;
    ngx_http_hotline_main_conf_t    *hmcf;
    ngx_http_hotline_history_ctx_t  *ctx;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD
        && r->method != NGX_HTTP_DELETE)
    {
        return ngx_http_hotline_not_allowed_text(r, "GET, HEAD, DELETE",
                                                 "use GET, or DELETE to "
                                                 "erase a call's personal "
                                                 "data");
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);
    store = hmcf->store;

    if (!ngx_http_hotline_history_kept()
        && (store == NULL || store->history == NULL))
    {
        return ngx_http_hotline_json_error(r, NGX_HTTP_NOT_FOUND,
                                           "no_history",
                                           "hotline_history_file is off");
    }

    if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_hotline_history_erase(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_history_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->q.pool = r->pool;
    ctx->q.log = r->connection->log;

    if (ngx_http_hotline_history_query(r, &ctx->q) != NGX_OK) {
        return ngx_http_hotline_json_error(r, NGX_HTTP_BAD_REQUEST,
                                           "bad_query",
                                           "limit 1-200, before >= 0, "
                                           "days 1-90, outcome one of "
                                           "hangup rejected cancelled gone "
                                           "banned message, call_id 32 hex "
                                           "digits, open 0 or 1");
    }

    if (store == NULL || store->history == NULL) {
        if (ngx_http_hotline_history_journal(ctx) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_hotline_history_send(r, &ctx->q, &ctx->h);
    }

    store->history(&ctx->q, ngx_http_hotline_history_done, ctx);

    if (ctx->done) {
        return ctx->rc;
    }

    /* the answer comes from the event loop */

    ctx->async = 1;
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hotline_history_done(void *data, ngx_uint_t err,
    ngx_http_hotline_history_t *h)
{
    ngx_http_hotline_history_ctx_t *ctx = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (err != NGX_HOTLINE_OK) {
        rc = ngx_http_hotline_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "unavailable",
                                         "the store is unavailable, "
                                         "try again");

    } else if (h == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_hotline_history_send(r, &ctx->q, h);
    }

    if (!ctx->async) {
        ctx->done = 1;
        ctx->rc = rc;
        return;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* the answer: {"calls":[...],"next":...,"erase":...} or {"days":[...]} */

static ngx_int_t
ngx_http_hotline_history_send(ngx_http_request_t *r,
    ngx_http_hotline_history_query_t *q, ngx_http_hotline_history_t *h)
{
    u_char                          *p;
    size_t                           len;
    time_t                           t;
    ngx_tm_t                         tm;
    ngx_buf_t                       *b;
    ngx_str_t                       *rec;
    ngx_int_t                        i, k;
    ngx_uint_t                       n;
    ngx_chain_t                     *out;
    ngx_http_hotline_history_day_t  *d;

    rec = h->records.elts;

    if (q->days) {
        len = q->days * (96 + NGX_HOTLINE_END_MAX * 32) + 32;

    } else {
        len = sizeof("{\"calls\":[],\"next\":,\"erase\":false}\n")
              + NGX_INT64_LEN;

        for (n = 0; n < h->records.nelts; n++) {
            len += rec[n].len + 1;
        }
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    if (q->days) {
        p = ngx_cpymem(p, "{\"days\":[", sizeof("{\"days\":[") - 1);

        for (i = q->days - 1; i >= 0; i--) {
            d = &h->days[i];
            t = (time_t) (q->day0 + i) * 86400;
            ngx_gmtime(t, &tm);

            p = ngx_sprintf(p, "%s{\"date\":\"%4d-%02d-%02d\",\"calls\":%ui,"
                            "\"answered\":%ui,\"talk_seconds\":%ui",
                            i == (ngx_int_t) q->days - 1 ? "" : ",",
                            tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                            d->calls, d->answered, d->talk);

            for (k = 0; k < NGX_HOTLINE_END_MAX; k++) {
                p = ngx_sprintf(p, ",\"%V\":%ui",
                                &ngx_http_hotline_end_reasons[k],
                                d->outcomes[k]);
            }

            *p++ = '}';
        }

        p = ngx_cpymem(p, "]}\n", 3);

    } else {
        p = ngx_cpymem(p, "{\"calls\":[", sizeof("{\"calls\":[") - 1);

        for (n = 0; n < h->records.nelts; n++) {
            if (n) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, rec[n].data, rec[n].len);
        }

        if (h->next >= 0) {
            p = ngx_sprintf(p, "],\"next\":%L", h->next);

        } else {
            p = ngx_cpymem(p, "],\"next\":null",
                           sizeof("],\"next\":null") - 1);
        }

        /* may this agent erase these calls (the console's button) */

        p = ngx_sprintf(p, ",\"erase\":%s}\n",
                        ngx_http_hotline_history_may_erase(r) == NGX_OK
                        ? "true" : "false");
    }

    b->last = p;

    out = ngx_alloc_chain_link(r->pool);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out->buf = b;
    out->next = NULL;

    return ngx_http_hotline_send(r, NGX_HTTP_OK, "application/json", out);
}


/* the answer from this node's journal */

static ngx_int_t
ngx_http_hotline_history_journal(ngx_http_hotline_history_ctx_t *ctx)
{
    off_t                               size;
    ngx_fd_t                            fd;
    ngx_int_t                           rc;
    ngx_log_t                          *log;
    ngx_file_info_t                     fi;
    ngx_http_hotline_history_t         *h;
    ngx_http_hotline_history_query_t   *q;

    q = &ctx->q;
    h = &ctx->h;
    log = q->log;

    h->next = -1;

    if (ngx_array_init(&h->records, q->pool, q->days ? 1 : q->limit,
                       sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hotline_history_flush();

    fd = ngx_http_hotline_history_fd(log);
    ctx->fd = fd;
    size = 0;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
        size = ngx_file_size(&fi);
    }

    if (q->days) {
        h->days = ngx_pcalloc(q->pool,
                              q->days * sizeof(ngx_http_hotline_history_day_t));
        if (h->days == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_hotline_history_scan(fd, size, log,
                                             ngx_http_hotline_history_daily,
                                             ctx);
    }

    ngx_http_hotline_amends_init(&ctx->amends);

    rc = ngx_http_hotline_history_scan(fd, size, log,
                                       ngx_http_hotline_history_page, ctx);

    ngx_http_hotline_amends_free(&ctx->amends);

    return rc;
}


static ngx_int_t
ngx_http_hotline_history_query(ngx_http_request_t *r,
    ngx_http_hotline_history_query_t *q)
{
    ngx_str_t                      v;
    u_char                         id[NGX_HOTLINE_ID_LEN];
    ngx_http_hotline_desk_conf_t  *dcf;

    dcf = ngx_http_hotline_desk();

    q->expired = dcf->retention
                 ? ngx_http_hotline_now() - (int64_t) dcf->retention : 0;
    q->limit = 50;
    q->before = -1;
    q->days = 0;
    q->open = 0;
    ngx_str_null(&q->agent);
    ngx_str_null(&q->outcome);
    ngx_str_null(&q->call_id);

    if (ngx_http_arg(r, (u_char *) "call_id", 7, &v) == NGX_OK) {
        if (v.len != NGX_HOTLINE_ID_HEX
            || ngx_http_hotline_unhex(id, v.data, v.len) != NGX_OK)
        {
            return NGX_ERROR;
        }

        q->call_id = v;
    }

    if (ngx_http_arg(r, (u_char *) "open", 4, &v) == NGX_OK) {
        if (v.len != 1 || (v.data[0] != '0' && v.data[0] != '1')) {
            return NGX_ERROR;
        }

        q->open = (v.data[0] == '1');
    }

    if (ngx_http_arg(r, (u_char *) "limit", 5, &v) == NGX_OK) {
        q->limit = ngx_atoi(v.data, v.len);

        if (q->limit < 1 || q->limit > NGX_HOTLINE_HISTORY_PAGE) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_arg(r, (u_char *) "before", 6, &v) == NGX_OK) {
        q->before = ngx_atoof(v.data, v.len);

        if (q->before < 0) {
            return NGX_ERROR;
        }
    }

    if (ngx_http_arg(r, (u_char *) "days", 4, &v) == NGX_OK) {
        q->days = ngx_atoi(v.data, v.len);

        if (q->days < 1 || q->days > NGX_HOTLINE_HISTORY_DAYS) {
            return NGX_ERROR;
        }

        q->day0 = ngx_time() / 86400 - (q->days - 1);
    }

    if (ngx_http_arg(r, (u_char *) "agent", 5, &v) == NGX_OK) {
        if (v.len == 0 || v.len > NGX_HOTLINE_NAME_MAX) {
            return NGX_ERROR;
        }

        /* names of agents need no unescaping: [a-z0-9._-] */
        q->agent = v;
    }

    if (ngx_http_arg(r, (u_char *) "outcome", 7, &v) == NGX_OK) {
        if (ngx_http_hotline_end_reason(v.data, v.len)
            == NGX_HOTLINE_END_MAX)
        {
            return NGX_ERROR;
        }

        q->outcome = v;
    }

    return NGX_OK;
}


/*
 * The page reads from the journal's end: the amendments of records below
 * the cursor may come after it; records above it are passed over.
 */

static ngx_int_t
ngx_http_hotline_history_page(u_char *line, size_t len, off_t offset,
    void *data)
{
    ngx_http_hotline_history_ctx_t  *ctx = data;

    ngx_int_t                          rc;
    ngx_str_t                          json, *rec;
    ngx_http_hotline_history_query_t  *q;

    q = &ctx->q;

    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }

    if (ngx_http_hotline_is_amend(line, len)) {
        return ngx_http_hotline_amends_add(&ctx->amends, line, len);
    }

    if (q->before >= 0 && offset >= q->before) {
        return NGX_OK;
    }

    if (q->expired
        && ngx_strlcasestrn(line, line + len, (u_char *) "\"transcript\":",
                            sizeof("\"transcript\":") - 2)
           != NULL)
    {
        /* an expired transcript read over goes from the journal */
        (void) ngx_http_hotline_history_rewrite(ctx->fd, offset, line, len,
                                                q->expired, 0, q->log);
    }

    rc = ngx_http_hotline_history_record(q, &ctx->amends, line, len, &json);

    if (rc == NGX_DECLINED) {
        return NGX_OK;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    if ((ngx_int_t) ctx->h.records.nelts == q->limit) {
        /* one more line matches: the next page starts below the last */
        ctx->h.next = ctx->last;
        return NGX_DONE;
    }

    rec = ngx_array_push(&ctx->h.records);
    if (rec == NULL) {
        return NGX_ERROR;
    }

    *rec = json;
    ctx->last = offset;

    /* one call: it is found */
    return q->call_id.len ? NGX_DONE : NGX_OK;
}


static ngx_int_t
ngx_http_hotline_history_daily(u_char *line, size_t len, off_t offset,
    void *data)
{
    ngx_http_hotline_history_ctx_t  *ctx = data;

    json_t                          *j;
    ngx_uint_t                       day, i;
    json_int_t                       ended, duration;
    const char                      *outcome;
    json_error_t                     err;
    ngx_http_hotline_history_day_t  *d;

    if (ngx_http_hotline_is_amend(line, len)) {
        return NGX_OK;
    }

    j = json_loadb((char *) line, len, 0, &err);

    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return NGX_OK;
    }

    ended = json_integer_value(json_object_get(j, "ended"));
    duration = json_integer_value(json_object_get(j, "duration"));
    outcome = json_string_value(json_object_get(j, "outcome"));

    day = (ngx_uint_t) (ended / 1000 / 86400);

    if (day < ctx->q.day0) {
        /* the journal is in time order: older days follow */
        json_decref(j);
        return NGX_DONE;
    }

    if (day < ctx->q.day0 + ctx->q.days) {
        d = &ctx->h.days[day - ctx->q.day0];
        d->calls++;

        if (json_integer_value(json_object_get(j, "accepted"))) {
            d->answered++;
            d->talk += duration > 0 ? (ngx_uint_t) duration : 0;
        }

        i = outcome ? ngx_http_hotline_end_reason((u_char *) outcome,
                                                  ngx_strlen(outcome))
                    : NGX_HOTLINE_END_MAX;

        if (i < NGX_HOTLINE_END_MAX) {
            d->outcomes[i]++;
        }
    }

    json_decref(j);

    return NGX_OK;
}
