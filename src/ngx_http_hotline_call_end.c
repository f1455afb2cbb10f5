
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_op.h"
#include "ngx_http_hotline_call_tx.h"
#include "ngx_http_hotline_call_end.h"
#include "ngx_http_hotline_call_desk.h"
#include "ngx_http_hotline_event.h"


/*
 * A call ends (its counters, the rolling handling time, the agent's
 * wrap-up, the events for both parties, the record for the history), and
 * a party goes (its records, index and inbox).
 */


static ngx_http_hotline_main_conf_t  *ngx_http_hotline_cf;


void
ngx_http_hotline_end_init(ngx_http_hotline_main_conf_t *cf)
{
    ngx_http_hotline_cf = cf;
}


/*
 * Ends the call of customer c (agent a: its agent, in a call), for the
 * reason; who: the agent named in the history when a is not.
 */

void
ngx_http_hotline_end(ngx_http_hotline_op_t *op, ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, ngx_http_hotline_party_t *a,
    ngx_uint_t reason, ngx_uint_t by, ngx_http_hotline_party_t *who)
{
    int64_t                          now, ms, avg, stored;
    ngx_uint_t                       duration;
    ngx_http_hotline_txop_t         *t;
    ngx_http_hotline_event_t         ev;
    ngx_http_hotline_call_record_t  *rec;

    now = ngx_http_hotline_now();
    duration = 0;

    ngx_http_hotline_tx_check(tx, c);

    if (c->state == NGX_HOTLINE_WAITING) {
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_UNQUEUE,
                                        ngx_http_hotline_pkey(c->token));
        ngx_http_hotline_tx_waiting(tx, c, -1);
        a = NULL;

    } else if (c->state == NGX_HOTLINE_ACTIVE) {
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ACTIVE, -1);
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_BUSY, -1);

        ms = now - c->accepted;
        if (ms < 0) {
            ms = 0;
        }

        duration = (ngx_uint_t) ((ms + 500) / 1000);

        /* a rolling average of handling time, weight 1/8 */
        stored = op->avg >= 0 ? op->avg : 0;
        avg = op->avg >= 0 ? op->avg
                           : (int64_t) ngx_http_hotline_cf->average_handle_time;
        avg = avg - avg / 8 + ms / 8;
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AVG, avg - stored);

        if (a && a->version) {
            ngx_http_hotline_tx_check(tx, a);

            /* wrap-up, away or idle */
            ngx_http_hotline_desk_after_call(tx, a);

            ngx_http_hotline_tx_put(tx, a);

        } else {
            a = NULL;
        }

    } else {
        a = NULL;
    }

    if (c->accepted) {
        /* the history took the transcript */
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                        ngx_http_hotline_tkey(c->call_id));
    }

    c->state = NGX_HOTLINE_ENDED;
    c->reason = reason;
    c->has_peer = 0;
    c->recorded = c->recorded && c->accepted;
    ngx_http_hotline_tx_put(tx, c);

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_ENDED;
    ngx_memcpy(ev.call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    ev.reason = reason;
    ev.by = by;
    ev.duration = duration;
    ev.answered = (c->accepted != 0);

    ngx_http_hotline_tx_event(tx, c->token, &ev);

    if (a) {
        ngx_http_hotline_tx_event(tx, a->token, &ev);
    }

    /* the record, for the history (of all nodes) and this node's journal */

    op->ends = 1;
    rec = &op->rec;

    if (a == NULL) {
        a = who;
    }

    ngx_memcpy(rec->call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(op->rec_customer, c->name, c->name_len);
    rec->customer = op->rec_customer;
    rec->customer_len = c->name_len;

    if (a) {
        ngx_memcpy(op->rec_agent, a->name, a->name_len);
        rec->agent = op->rec_agent;
        rec->agent_len = a->name_len;

    } else {
        rec->agent = NULL;
        rec->agent_len = 0;
    }

    rec->joined = c->joined;
    rec->accepted = c->accepted;
    rec->ended = now;
    rec->reason = reason;
    rec->by = by;
    rec->duration = duration;
    rec->recorded = c->recorded;

    /* the desk's members: hold, transfers, notes; the transcript */
    ngx_http_hotline_desk_record(op, c, rec);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_HISTORY, NULL);
    if (t) {
        t->rec = rec;
    }

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);
}


void
ngx_http_hotline_free_party(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                    ngx_http_hotline_pkey(p->token));

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {

        if (ngx_memcmp(p->token, p->call_id, NGX_HOTLINE_ID_LEN) != 0) {
            /*
             * made by 0.1.0, whose customers had a token and a call id
             * of their own, and an index record from the one to the other
             */
            (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                            ngx_http_hotline_ckey(p->call_id));
        }

        return;
    }

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                    ngx_http_hotline_akey(p->name,
                                                          p->name_len));
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ONLINE, -1);
    ngx_http_hotline_desk_agent_gone(tx, p);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);
}
