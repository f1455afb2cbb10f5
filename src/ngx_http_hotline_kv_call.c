
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_auth.h"


/*
 * Keyed store operations on behalf of an HTTP request.  The store may
 * answer before the operation returns (the shared-memory backend) or
 * later from the event loop (a network backend); in the latter case the
 * request may be gone by then.  A small ticket outside the request pool
 * carries the answer: the request pool's cleanup detaches it, and the
 * answer then only frees the ticket.
 */


typedef struct ngx_http_hotline_kv_ticket_s  ngx_http_hotline_kv_ticket_t;

struct ngx_http_hotline_kv_ticket_s {
    ngx_http_hotline_kv_call_t    *call;     /* NULL: the request is gone */
    ngx_pool_cleanup_t            *cleanup;
    ngx_http_hotline_kv_ticket_t  *next;     /* in the free list */
    unsigned                       done:1;
    unsigned                       async:1;
};


/* tickets are reused: most answers come at once, one ticket serves all */

#define NGX_HOTLINE_KV_FREE_MAX  64

static ngx_http_hotline_kv_ticket_t  *ngx_http_hotline_kv_free;
static ngx_uint_t                     ngx_http_hotline_kv_nfree;


static void ngx_http_hotline_kv_call_done(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
static void ngx_http_hotline_kv_call_cleanup(void *data);
static void ngx_http_hotline_kv_ticket_free(ngx_http_hotline_kv_ticket_t *t);


ngx_int_t
ngx_http_hotline_kv_call(ngx_http_hotline_kv_call_t *call, ngx_uint_t op,
    ngx_str_t *key, ngx_str_t *value, ngx_msec_t msec, ngx_uint_t burst)
{
    ngx_http_request_t            *r;
    ngx_pool_cleanup_t            *cln;
    ngx_http_hotline_store_t      *store;
    ngx_http_hotline_kv_ticket_t  *t;
    ngx_http_hotline_main_conf_t  *hmcf;

    r = call->request;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);
    store = hmcf->store;

    if (store == NULL) {
        call->err = NGX_HOTLINE_E_UNAVAILABLE;
        ngx_memzero(&call->kv, offsetof(ngx_http_hotline_kv_t, value));
        return NGX_OK;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    t = ngx_http_hotline_kv_free;

    if (t) {
        ngx_http_hotline_kv_free = t->next;
        ngx_http_hotline_kv_nfree--;

    } else {
        t = ngx_alloc(sizeof(ngx_http_hotline_kv_ticket_t),
                      r->connection->log);
        if (t == NULL) {
            return NGX_ERROR;
        }
    }

    t->call = call;
    t->cleanup = cln;
    t->done = 0;
    t->async = 0;

    cln->handler = ngx_http_hotline_kv_call_cleanup;
    cln->data = t;

    switch (op) {

    case NGX_HOTLINE_KV_GET:
        store->kv_get(key, ngx_http_hotline_kv_call_done, t);
        break;

    case NGX_HOTLINE_KV_SET:
        store->kv_set(key, value, msec, call->flags,
                      ngx_http_hotline_kv_call_done, t);
        break;

    case NGX_HOTLINE_KV_DEL:
        store->kv_del(key, ngx_http_hotline_kv_call_done, t);
        break;

    case NGX_HOTLINE_KV_INCR:
        store->kv_incr(key, msec, ngx_http_hotline_kv_call_done, t);
        break;

    case NGX_HOTLINE_KV_LIMIT:
        store->limit(key, msec, burst, ngx_http_hotline_kv_call_done, t);
        break;

    case NGX_HOTLINE_KV_ATTEMPT:
        store->kv_attempt(key, &call->counter, &call->lock, burst, msec,
                          call->flags, ngx_http_hotline_kv_call_done, t);
        break;
    }

    if (t->done) {
        ngx_http_hotline_kv_ticket_free(t);
        return NGX_OK;
    }

    t->async = 1;

    return NGX_AGAIN;
}


static void
ngx_http_hotline_kv_call_done(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_kv_ticket_t *t = data;

    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_hotline_kv_call_t  *call;

    call = t->call;

    if (call == NULL) {
        /* the request went away while the store worked */
        ngx_http_hotline_kv_ticket_free(t);
        return;
    }

    t->cleanup->handler = NULL;

    call->err = err;
    ngx_memcpy(&call->kv, kv, offsetof(ngx_http_hotline_kv_t, value));
    call->kv.len = kv->len;
    call->kv.ttl = kv->ttl;
    call->kv.retry_after = kv->retry_after;

    if (kv->len && kv->len <= NGX_HOTLINE_KV_VALUE) {
        ngx_memcpy(call->kv.value, kv->value, kv->len);

    } else {
        call->kv.len = 0;
    }

    if (!t->async) {
        t->done = 1;
        return;
    }

    ngx_http_hotline_kv_ticket_free(t);

    r = call->request;
    c = r->connection;

    call->resume(r, call);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_hotline_kv_call_cleanup(void *data)
{
    ngx_http_hotline_kv_ticket_t *t = data;

    t->call = NULL;
}


static void
ngx_http_hotline_kv_ticket_free(ngx_http_hotline_kv_ticket_t *t)
{
    if (ngx_http_hotline_kv_nfree >= NGX_HOTLINE_KV_FREE_MAX) {
        ngx_free(t);
        return;
    }

    t->next = ngx_http_hotline_kv_free;
    ngx_http_hotline_kv_free = t;
    ngx_http_hotline_kv_nfree++;
}
