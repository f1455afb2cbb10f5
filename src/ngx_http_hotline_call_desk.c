
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_call_rules.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_desk.h"


/*
 * The support desk's rules, beside the calls' (ngx_http_hotline_call_rules.c):
 * an agent's presence and wrap-up.  An agent is idle (available or away),
 * in a call (busy), or in wrap-up after a call (for hotline_wrapup_time,
 * or until it says it is available or away); the counters away (idle and
 * away) and wrapup keep the agents by state with online and busy.  A
 * party's deadline (a wrap-up's end) is its timer while it is attached;
 * the grace period of a detached party is its timer otherwise.
 */


static void ngx_http_hotline_desk_presence_event(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a);
static void ngx_http_hotline_desk_set_timer(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p, ngx_msec_t ms);


static ngx_http_hotline_desk_conf_t  *ngx_http_hotline_desk_cf;


void
ngx_http_hotline_desk_init(void)
{
    ngx_http_hotline_desk_cf = ngx_http_hotline_desk();
}


/* what an agent shows: available, away, busy or wrap-up */

ngx_uint_t
ngx_http_hotline_agent_shows(ngx_http_hotline_party_t *a)
{
    switch (a->state) {

    case NGX_HOTLINE_ACTIVE:
        return NGX_HOTLINE_SHOWS_BUSY;

    case NGX_HOTLINE_WRAPUP:
        return NGX_HOTLINE_SHOWS_WRAPUP;

    default:
        return a->presence == NGX_HOTLINE_AWAY ? NGX_HOTLINE_SHOWS_AWAY
                                               : NGX_HOTLINE_SHOWS_AVAILABLE;
    }
}


/* the timer an attached party runs: to its deadline, or none (0) */

ngx_msec_t
ngx_http_hotline_desk_timer(ngx_http_hotline_party_t *p)
{
    int64_t  deadline, ms;

    deadline = 0;

    if (p->role == NGX_HOTLINE_ROLE_AGENT
        && p->state == NGX_HOTLINE_WRAPUP)
    {
        deadline = p->until;

    } else if (p->role == NGX_HOTLINE_ROLE_CUSTOMER
               && p->state == NGX_HOTLINE_WAITING && p->target_len)
    {
        deadline = p->until;
    }

    if (deadline == 0) {
        return 0;
    }

    ms = deadline - ngx_http_hotline_now();

    return ms > 0 ? (ngx_msec_t) ms : 1;
}


/* a waiting call held for another agent (a transfer to it) */

ngx_uint_t
ngx_http_hotline_desk_reserved(ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a)
{
    if (c->target_len == 0 || c->until <= ngx_http_hotline_now()) {
        return 0;
    }

    return c->target_len != a->name_len
           || ngx_memcmp(c->target, a->name, a->name_len) != 0;
}


/*
 * Agent a takes call c: it leaves wrap-up, or away for this call (its
 * presence stays away for after it), and is told it is busy; what waited
 * for a transfer is over.
 */

void
ngx_http_hotline_desk_taken(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, ngx_http_hotline_party_t *a)
{
    ngx_http_hotline_event_t  ev;

    if (a->state == NGX_HOTLINE_WRAPUP) {
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WRAPUP, -1);
        a->until = 0;

    } else if (a->presence == NGX_HOTLINE_AWAY) {
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AWAY, -1);
    }

    c->target_len = 0;
    c->until = 0;
    c->held = 0;

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_PRESENCE;
    ev.state = NGX_HOTLINE_SHOWS_BUSY;

    ngx_http_hotline_tx_event(tx, a->token, &ev);
}


/*
 * The call of agent a (read in it) is over; the caller counts it out of
 * busy: it goes into wrap-up (hotline_wrapup_time), away (it said so in
 * the call) or is available again.
 */

void
ngx_http_hotline_desk_after_call(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a)
{
    ngx_msec_t  wrapup;

    ngx_memcpy(a->last_call, a->call_id, NGX_HOTLINE_ID_LEN);
    a->has_last = 1;
    a->has_peer = 0;
    ngx_memzero(a->peer, NGX_HOTLINE_ID_LEN);
    ngx_memzero(a->call_id, NGX_HOTLINE_ID_LEN);

    wrapup = ngx_http_hotline_desk_cf->wrapup_time;

    if (a->presence == NGX_HOTLINE_AWAY) {
        a->state = NGX_HOTLINE_IDLE;
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AWAY, 1);

    } else if (wrapup) {
        a->state = NGX_HOTLINE_WRAPUP;
        a->until = ngx_http_hotline_now() + wrapup;
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WRAPUP, 1);

        if (a->attached) {
            /* detached, its grace period runs; an attach sets this */
            ngx_http_hotline_desk_set_timer(tx, a, wrapup);
        }

    } else {
        a->state = NGX_HOTLINE_IDLE;
    }

    ngx_http_hotline_desk_presence_event(tx, a);
}


/*
 * The timer of attached party p is due: its wrap-up is over; or it is
 * early (set again) or was left from a grace period (none).
 */

void
ngx_http_hotline_desk_deadline(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p)
{
    if (p->role == NGX_HOTLINE_ROLE_AGENT && p->state == NGX_HOTLINE_WRAPUP
        && p->until <= ngx_http_hotline_now())
    {
        ngx_http_hotline_tx_check(tx, p);

        p->state = NGX_HOTLINE_IDLE;
        p->until = 0;
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WRAPUP, -1);

        ngx_http_hotline_tx_put(tx, p);
        ngx_http_hotline_desk_presence_event(tx, p);
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);
    }

    ngx_http_hotline_desk_set_timer(tx, p, ngx_http_hotline_desk_timer(p));
}


/* call c begins: a record for its transcript (its inbox, a bounded log) */

void
ngx_http_hotline_desk_transcript(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c)
{
    ngx_http_hotline_txop_t  *t;

    if (ngx_http_hotline_desk_cf->transcript == 0) {
        return;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_tkey(c->call_id));
    if (t) {
        (void) ngx_http_hotline_txn_value(tx, t, c->call_id,
                                          NGX_HOTLINE_ID_LEN);
    }
}


/* agent a goes for good: out of the counters of its state */

void
ngx_http_hotline_desk_agent_gone(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a)
{
    if (a->state == NGX_HOTLINE_WRAPUP) {
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WRAPUP, -1);

    } else if (a->state == NGX_HOTLINE_IDLE
               && a->presence == NGX_HOTLINE_AWAY)
    {
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AWAY, -1);
    }
}


/*
 * An agent says it is available or away: idle, it is so at once; in
 * wrap-up, the wrap-up ends; in a call, it is so after the call.
 */

ngx_uint_t
ngx_http_hotline_decide_presence(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_uint_t                 want;
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *a;

    a = &op->me;
    want = op->arg.presence;

    if (a->version == 0 || a->role != NGX_HOTLINE_ROLE_AGENT) {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    op->version = a->version;
    op->state = a->state;
    ngx_memcpy(op->peer, a->peer, NGX_HOTLINE_ID_LEN);

    if (a->presence == want && a->state != NGX_HOTLINE_WRAPUP) {
        /* nothing changes */
        op->res.presence = ngx_http_hotline_agent_shows(a);
        return NGX_HOTLINE_OK;
    }

    ngx_http_hotline_tx_check(tx, a);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(a->token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    switch (a->state) {

    case NGX_HOTLINE_WRAPUP:
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_WRAPUP, -1);
        a->state = NGX_HOTLINE_IDLE;
        a->until = 0;
        ngx_http_hotline_desk_set_timer(tx, a, 0);

        if (want == NGX_HOTLINE_AWAY) {
            ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AWAY, 1);
        }

        break;

    case NGX_HOTLINE_IDLE:
        ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_AWAY,
                                  want == NGX_HOTLINE_AWAY ? 1 : -1);
        break;

    default: /* in a call: for after it */
        break;
    }

    a->presence = want;

    ngx_http_hotline_tx_put(tx, a);
    ngx_http_hotline_desk_presence_event(tx, a);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    op->version = a->version + 1;
    op->state = a->state;
    op->res.presence = ngx_http_hotline_agent_shows(a);

    return NGX_HOTLINE_OK;
}


static void
ngx_http_hotline_desk_presence_event(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a)
{
    ngx_http_hotline_event_t  ev;

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_PRESENCE;
    ev.state = ngx_http_hotline_agent_shows(a);
    ev.until = (a->state == NGX_HOTLINE_WRAPUP) ? a->until : 0;

    ngx_http_hotline_tx_event(tx, a->token, &ev);
}


static void
ngx_http_hotline_desk_set_timer(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p, ngx_msec_t ms)
{
    ngx_http_hotline_txop_t  *t;

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_TIMER,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        t->n = ms;
    }
}
