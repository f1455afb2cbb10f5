
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_op.h"
#include "ngx_http_hotline_call_tx.h"
#include "ngx_http_hotline_call_desk.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_desk.h"
#include "ngx_http_hotline_proto.h"


/*
 * The support desk's part of the call model's transitions
 * (ngx_http_hotline_call_rules.c; its own operations are in
 * ngx_http_hotline_call_desk_rules.c): an agent's presence and wrap-up,
 * transfers held for an agent, a call's log.  An agent is idle (available
 * or away), in a call (busy), or in wrap-up after a call (for
 * hotline_wrapup_time, or until it says it is available or away); the
 * counters away (idle and away) and wrapup keep the agents by state with
 * online and busy.  A party's deadline (a wrap-up's end) is its timer
 * while it is attached; the grace period of a detached party is its timer
 * otherwise.
 */


static void ngx_http_hotline_desk_open(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c);


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
    c->from_len = 0;
    c->why_len = 0;
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

    } else if (p->role == NGX_HOTLINE_ROLE_CUSTOMER
               && p->state == NGX_HOTLINE_WAITING && p->target_len
               && p->until <= ngx_http_hotline_now())
    {
        /* the agent it was transferred to did not take it: anyone may */
        ngx_http_hotline_desk_open(tx, p);
    }

    ngx_http_hotline_desk_set_timer(tx, p, ngx_http_hotline_desk_timer(p));
}


/*
 * call c begins: a record for its log (its inbox, bounded): the chat
 * (hotline_transcript), the notes, the transfers
 */

void
ngx_http_hotline_desk_transcript(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c)
{
    ngx_http_hotline_txop_t  *t;

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_tkey(c->call_id));
    if (t) {
        (void) ngx_http_hotline_txn_value(tx, t, c->call_id,
                                          NGX_HOTLINE_ID_LEN);
    }
}


/*
 * The log of a call that may end (op->log): its chat lines become the
 * transcript, a JSON array; the last note and the transfers become
 * members of the call's record: ,"note":{...},"transfers":[{...}...]
 */

ngx_int_t
ngx_http_hotline_desk_log(ngx_http_hotline_op_t *op,
    ngx_http_hotline_read_t *r)
{
    u_char      *p, *q;
    size_t       size;
    ngx_str_t   *v, *note;
    ngx_uint_t   i, chats, transfers;

    static ngx_str_t  chat = ngx_string("{\"type\":\"chat\"");
    static ngx_str_t  noted = ngx_string("{\"type\":\"note\"");
    static ngx_str_t  moved = ngx_string("{\"type\":\"transfer\"");

    ngx_http_hotline_desk_op_free(op);

    size = 64;

    for (i = 0; i < r->nrecs; i++) {
        size += 2 * (r->recs[i].value.len + 1);
    }

    op->log = ngx_alloc(size, ngx_cycle->log);
    if (op->log == NULL) {
        return NGX_ERROR;
    }

    /* the chat, then (after it in the buffer) the members */

    p = op->log;
    op->log_chat.data = p;
    chats = 0;
    note = NULL;

    for (i = 0; i < r->nrecs; i++) {
        v = &r->recs[i].value;

        if (v->len > chat.len
            && ngx_memcmp(v->data, chat.data, chat.len) == 0)
        {
            *p++ = chats++ ? ',' : '[';
            p = ngx_cpymem(p, v->data, v->len);

        } else if (v->len > noted.len
                   && ngx_memcmp(v->data, noted.data, noted.len) == 0)
        {
            note = v;
        }
    }

    if (chats) {
        *p++ = ']';
    }

    op->log_chat.len = p - op->log_chat.data;

    q = p;

    if (note) {
        p = ngx_cpymem(p, ",\"note\":", sizeof(",\"note\":") - 1);
        p = ngx_cpymem(p, note->data, note->len);
    }

    transfers = 0;

    for (i = 0; i < r->nrecs; i++) {
        v = &r->recs[i].value;

        if (v->len > moved.len
            && ngx_memcmp(v->data, moved.data, moved.len) == 0)
        {
            p = transfers++ ? ngx_cpymem(p, ",", 1)
                            : ngx_cpymem(p, ",\"transfers\":[",
                                         sizeof(",\"transfers\":[") - 1);
            p = ngx_cpymem(p, v->data, v->len);
        }
    }

    if (transfers) {
        *p++ = ']';
    }

    op->log_extra.data = q;
    op->log_extra.len = p - q;

    return NGX_OK;
}


/* the desk's members of an ended call's record c: hold, the log's */

void
ngx_http_hotline_desk_record(ngx_http_hotline_op_t *op,
    ngx_http_hotline_party_t *c, ngx_http_hotline_call_record_t *rec)
{
    u_char   *p;
    int64_t   hold;

    hold = c->hold_ms;

    if (c->held) {
        hold += ngx_http_hotline_now() - c->held;
    }

    if (op->extra) {
        ngx_free(op->extra);
    }

    op->extra = ngx_alloc(64 + op->log_extra.len + op->more.len,
                          ngx_cycle->log);

    if (op->extra == NULL) {
        /* the record without them */
        ngx_str_null(&rec->extra);
        ngx_str_null(&rec->transcript);
        return;
    }

    p = ngx_sprintf(op->extra, ",\"hold\":%L", (hold + 500) / 1000);

    if (op->log_extra.len) {
        p = ngx_cpymem(p, op->log_extra.data, op->log_extra.len);
    }

    if (op->kind == NGX_HOTLINE_OP_MESSAGE) {
        /* the message the customer left */
        p = ngx_cpymem(p, op->more.data, op->more.len);
    }

    rec->extra.data = op->extra;
    rec->extra.len = p - op->extra;
    rec->transcript = op->log_chat;
    rec->amend = 0;
}


void
ngx_http_hotline_desk_op_free(ngx_http_hotline_op_t *op)
{
    if (op->log) {
        ngx_free(op->log);
        op->log = NULL;
    }

    ngx_str_null(&op->log_chat);
    ngx_str_null(&op->log_extra);

    if (op->extra) {
        ngx_free(op->extra);
        op->extra = NULL;
    }
}


/* an ended call's customer may still rate it (with its token) */

ngx_uint_t
ngx_http_hotline_desk_rates(ngx_http_hotline_party_t *c)
{
    return ngx_http_hotline_desk_cf->rating_time && c->accepted && !c->rated
           && c->reason != NGX_HOTLINE_END_BANNED;
}


ngx_msec_t
ngx_http_hotline_desk_rating_time(void)
{
    return ngx_http_hotline_desk_cf->rating_time;
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


void
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


void
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


/* the agent a waiting call was transferred to declines it */

ngx_uint_t
ngx_http_hotline_desk_decline(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c)
{
    ngx_http_hotline_tx_check(tx, c);
    ngx_http_hotline_desk_open(tx, c);

    if (c->attached) {
        ngx_http_hotline_desk_set_timer(tx, c, 0);
    }

    return NGX_HOTLINE_OK;
}


/* a transferred call no longer held for its agent: any may take it */

static void
ngx_http_hotline_desk_open(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c)
{
    ngx_str_t  none;

    ngx_http_hotline_tx_check(tx, c);

    c->target_len = 0;
    c->until = 0;
    ngx_http_hotline_tx_put(tx, c);

    ngx_str_null(&none);
    ngx_http_hotline_desk_transferred(tx, c->token,
                                      NGX_HOTLINE_TRANSFER_OPEN, c, &none);

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);
}


void
ngx_http_hotline_desk_transferred(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_uint_t state, ngx_http_hotline_party_t *c, ngx_str_t *to)
{
    ngx_http_hotline_event_t  ev;

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_TRANSFER;
    ev.state = state;
    ev.until = c->until;
    ev.name = *to;
    ev.token.data = c->why;
    ev.token.len = c->why_len;

    ngx_http_hotline_tx_event(tx, token, &ev);
}
