
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"


/*
 * The choice of the store backend, the one listener of its events, and
 * the building of transactions (keys and small values are copied into
 * the transaction, so that callers may build them in scratch space).
 */


ngx_http_hotline_store_events_t  *ngx_http_hotline_store_events;


ngx_http_hotline_store_t *
ngx_http_hotline_store(void)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    hmcf = ngx_http_hotline_main_conf();

    if (hmcf && hmcf->redis) {
        return &ngx_http_hotline_store_redis;
    }

    return &ngx_http_hotline_store_shm;
}


void
ngx_http_hotline_store_listen(ngx_http_hotline_store_events_t *ev)
{
    ngx_http_hotline_store_events = ev;
}


void
ngx_http_hotline_txn_init(ngx_http_hotline_txn_t *tx)
{
    tx->n = 0;
    tx->overflow = 0;
    tx->pos = tx->buf;
}


/* a new op on key (copied; NULL: none), or NULL if there is no room */

ngx_http_hotline_txop_t *
ngx_http_hotline_txn_add(ngx_http_hotline_txn_t *tx, ngx_uint_t op,
    ngx_str_t *key)
{
    ngx_http_hotline_txop_t  *t;

    if (tx->n == NGX_HOTLINE_TX_MAX
        || (key && key->len > (size_t) (tx->buf + NGX_HOTLINE_TX_BUF
                                        - tx->pos)))
    {
        tx->overflow = 1;
        return NULL;
    }

    /*
     * field by field: a relay adds three or four ops, and ngx_memzero()
     * of the whole op compiles to "rep stos", half of this function's
     * time at the most relays a core takes (docs/performance.md)
     */

    t = &tx->ops[tx->n++];

    t->op = op;
    t->value.len = 0;
    t->value.data = NULL;
    t->n = 0;
    t->max = 0;
    t->err = 0;
    t->ttl = 0;
    t->force = 0;
    t->consumer = NULL;
    t->rec = NULL;

    if (key) {
        t->key.data = tx->pos;
        t->key.len = key->len;
        tx->pos = ngx_cpymem(tx->pos, key->data, key->len);

    } else {
        t->key.len = 0;
        t->key.data = NULL;
    }

    return t;
}


ngx_int_t
ngx_http_hotline_txn_value(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_txop_t *t, u_char *data, size_t len)
{
    if (len > (size_t) (tx->buf + NGX_HOTLINE_TX_BUF - tx->pos)) {
        tx->overflow = 1;
        return NGX_ERROR;
    }

    t->value.data = tx->pos;
    t->value.len = len;
    tx->pos = ngx_cpymem(tx->pos, data, len);

    return NGX_OK;
}
