
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_tx.h"
#include "ngx_http_hotline_party.h"
#include "ngx_http_hotline_event.h"


/*
 * The pieces of the call model's transactions (a party's record put or
 * checked, an event for its inbox, a counter) and the keys of its records.
 */


static ngx_str_t *ngx_http_hotline_key(u_char *prefix, u_char *data,
    size_t len, ngx_uint_t hex);


ngx_str_t  ngx_http_hotline_counter_names[] = {
    ngx_string("waiting"),
    ngx_string("active"),
    ngx_string("online"),
    ngx_string("busy"),
    ngx_string("avg"),
    ngx_string("away"),
    ngx_string("wrapup"),
    ngx_string("messages")
};


static ngx_http_hotline_main_conf_t  *ngx_http_hotline_cf;

/* keys are built here; a transaction copies them */
static u_char      ngx_http_hotline_keybuf[4][NGX_HOTLINE_KEY_MAX];
static ngx_uint_t  ngx_http_hotline_keyn;


void
ngx_http_hotline_tx_init(ngx_http_hotline_main_conf_t *cf)
{
    ngx_http_hotline_cf = cf;
}


/* transaction pieces */

void
ngx_http_hotline_tx_put(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    size_t                    n;
    ngx_http_hotline_txop_t  *t;
    u_char                    buf[NGX_HOTLINE_VALUE_MAX];

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_pkey(p->token));
    if (t == NULL) {
        return;
    }

    n = ngx_http_hotline_party_encode(buf, p);

    (void) ngx_http_hotline_txn_value(tx, t, buf, n);
}


void
ngx_http_hotline_tx_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    ngx_uint_t                i;
    ngx_str_t                *key;
    ngx_http_hotline_txop_t  *t;

    key = ngx_http_hotline_pkey(p->token);

    for (i = 0; i < tx->n; i++) {
        t = &tx->ops[i];

        if (t->op == NGX_HOTLINE_TX_CHECK && t->key.len == key->len
            && ngx_memcmp(t->key.data, key->data, key->len) == 0)
        {
            return;
        }
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_CHECK, key);
    if (t) {
        t->n = (int64_t) p->version;
    }
}


void
ngx_http_hotline_tx_event(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_http_hotline_event_t *ev)
{
    u_char                   *last;
    ngx_http_hotline_txop_t  *t;
    u_char                    buf[NGX_HOTLINE_EVENT_CODE_MAX];

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_APPEND,
                                 ngx_http_hotline_pkey(token));
    if (t == NULL) {
        return;
    }

    last = ngx_http_hotline_event_encode(buf, ev);

    t->force = 1;
    t->max = ngx_http_hotline_cf->replay_buffer;
    t->err = NGX_HOTLINE_E_PEER_BACKLOG;

    (void) ngx_http_hotline_txn_value(tx, t, buf, last - buf);
}


/*
 * A customer starts or stops waiting: the gauge, and the calls waiting
 * from its client (its address, an IPv6 one by prefix), at most
 * hotline_queue_per_address of them
 */

void
ngx_http_hotline_tx_waiting(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, int64_t delta)
{
    ngx_http_hotline_txop_t  *t;

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WAITING, delta);

    if (ngx_http_hotline_cf->queue_per_address == 0 || c->addr_len == 0) {
        return;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                 ngx_http_hotline_key((u_char *) "w:",
                                                      c->addr, c->addr_len,
                                                      0));
    if (t == NULL) {
        return;
    }

    t->n = delta;
    t->ttl = NGX_HOTLINE_DAY_TTL;

    if (delta > 0) {
        t->max = ngx_http_hotline_cf->queue_per_address;
        t->err = NGX_HOTLINE_E_ADDRESS_LIMIT;
    }
}


/* counter (ngx_uint_t) -1 is today's */

void
ngx_http_hotline_tx_count(ngx_http_hotline_txn_t *tx, ngx_uint_t counter,
    int64_t delta)
{
    ngx_http_hotline_txop_t  *t;

    if (counter == (ngx_uint_t) -1) {
        /* the seed: only where there is none */
        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                     ngx_http_hotline_dkey());
        if (t) {
            t->n = delta;
            t->force = 1;
            t->ttl = NGX_HOTLINE_DAY_TTL;
        }

        return;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                 &ngx_http_hotline_counter_names[counter]);
    if (t) {
        t->n = delta;
    }
}


/* keys: built into a small ring, copied by the transaction */

static ngx_str_t *
ngx_http_hotline_key(u_char *prefix, u_char *data, size_t len,
    ngx_uint_t hex)
{
    u_char            *p;
    static ngx_str_t   key[4];

    ngx_http_hotline_keyn = (ngx_http_hotline_keyn + 1) % 4;

    p = ngx_http_hotline_keybuf[ngx_http_hotline_keyn];
    p = ngx_cpymem(p, prefix, ngx_strlen(prefix));

    if (hex) {
        p = ngx_http_hotline_hex(p, data, len);

    } else {
        p = ngx_cpymem(p, data, ngx_min(len, NGX_HOTLINE_KEY_MAX - 2));
    }

    key[ngx_http_hotline_keyn].data =
                               ngx_http_hotline_keybuf[ngx_http_hotline_keyn];
    key[ngx_http_hotline_keyn].len =
                     p - ngx_http_hotline_keybuf[ngx_http_hotline_keyn];

    return &key[ngx_http_hotline_keyn];
}


ngx_str_t *
ngx_http_hotline_pkey(u_char *token)
{
    return ngx_http_hotline_key((u_char *) "p:", token, NGX_HOTLINE_ID_LEN,
                                1);
}


ngx_str_t *
ngx_http_hotline_ckey(u_char *call_id)
{
    return ngx_http_hotline_key((u_char *) "c:", call_id, NGX_HOTLINE_ID_LEN,
                                1);
}


ngx_str_t *
ngx_http_hotline_tkey(u_char *call_id)
{
    return ngx_http_hotline_key((u_char *) "t:", call_id, NGX_HOTLINE_ID_LEN,
                                1);
}


ngx_str_t *
ngx_http_hotline_akey(u_char *name, size_t len)
{
    return ngx_http_hotline_key((u_char *) "a:", name, len, 0);
}


/* today's counter: day:<UTC days since 1970> */

ngx_str_t *
ngx_http_hotline_dkey(void)
{
    u_char     *p;
    ngx_str_t  *key;
    u_char      day[NGX_TIME_T_LEN];

    p = ngx_sprintf(day, "%T", ngx_time() / 86400);

    key = ngx_http_hotline_key((u_char *) "day:", day, p - day, 0);

    return key;
}


/* the token of a key "p:<hex>" */

ngx_int_t
ngx_http_hotline_token_of(ngx_str_t *key, u_char *token)
{
    if (key->len != 2 + NGX_HOTLINE_ID_HEX
        || key->data[0] != 'p' || key->data[1] != ':')
    {
        return NGX_ERROR;
    }

    return ngx_http_hotline_unhex(token, key->data + 2, NGX_HOTLINE_ID_HEX);
}
