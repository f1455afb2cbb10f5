
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
#include "ngx_http_hotline_call_end.h"
#include "ngx_http_hotline_call_desk.h"
#include "ngx_http_hotline_call_desk_rules.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_desk.h"
#include "ngx_http_hotline_proto.h"


/*
 * The support desk's operations (ngx_http_hotline_call_rules.c runs them
 * as the calls'): an agent's presence, notes, hold and transfer; a
 * customer's rating and message; later members of a call's record.
 */


static void ngx_http_hotline_desk_amend(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, u_char *call_id, ngx_str_t *members);
static ngx_uint_t ngx_http_hotline_desk_in_call(ngx_http_hotline_op_t *op);


#define NGX_HOTLINE_NOTES_ROOM     65536   /* a call's log: notes, beside
                                             its transcript */


/*
 * Later members of call_id's record (the commit keeps them as long as
 * the op: members are op's): the history merges them in
 */

static void
ngx_http_hotline_desk_amend(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, u_char *call_id, ngx_str_t *members)
{
    ngx_http_hotline_txop_t         *t;
    ngx_http_hotline_call_record_t  *rec;

    rec = &op->rec;
    ngx_memzero(rec, sizeof(ngx_http_hotline_call_record_t));

    ngx_memcpy(rec->call_id, call_id, NGX_HOTLINE_ID_LEN);
    rec->ended = ngx_http_hotline_now();
    rec->extra = *members;
    rec->amend = 1;

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_HISTORY, NULL);
    if (t) {
        t->rec = rec;
    }

    op->amends = 1;
}


/*
 * An agent's note (op->more: {"type":"note",...}) of its call, kept in the
 * call's log until it ends; or of its last call, an amendment of it
 */

ngx_uint_t
ngx_http_hotline_decide_note(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    u_char                        *p;
    ngx_str_t                      members;
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_party_t      *a;
    ngx_http_hotline_desk_conf_t  *dcf;

    a = &op->me;
    dcf = ngx_http_hotline_desk();

    if (a->version == 0 || a->role != NGX_HOTLINE_ROLE_AGENT) {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (a->state == NGX_HOTLINE_ACTIVE && a->has_peer
        && (!op->has_call_id
            || ngx_memcmp(op->call_id, a->call_id, NGX_HOTLINE_ID_LEN) == 0))
    {
        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_APPEND,
                                     ngx_http_hotline_tkey(a->call_id));
        if (t) {
            t->max = dcf->transcript + NGX_HOTLINE_NOTES_ROOM;
            t->err = NGX_HOTLINE_E_FULL;
            t->value = op->more;
        }

        return NGX_HOTLINE_OK;
    }

    if (!a->has_last
        || (op->has_call_id
            && ngx_memcmp(op->call_id, a->last_call, NGX_HOTLINE_ID_LEN)
               != 0))
    {
        /* only its call, or its last one */
        return NGX_HOTLINE_E_NOT_FOUND;
    }

    if (op->extra == NULL) {
        op->extra = ngx_alloc(op->more.len + sizeof(",\"note\":"),
                              ngx_cycle->log);
        if (op->extra == NULL) {
            return NGX_HOTLINE_E_INTERNAL;
        }
    }

    p = ngx_cpymem(op->extra, ",\"note\":", sizeof(",\"note\":") - 1);
    p = ngx_cpymem(p, op->more.data, op->more.len);

    members.data = op->extra;
    members.len = p - op->extra;

    ngx_http_hotline_desk_amend(op, tx, a->last_call, &members);

    return NGX_HOTLINE_OK;
}


/*
 * A customer rates its answered call once, after it, with its resume token
 * (op->token; its party was kept for this after the call, see detach):
 * the party goes, the rating (op->more: members) amends the call's record
 */

ngx_uint_t
ngx_http_hotline_decide_rate(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_party_t  *c;

    c = &op->me;

    if (c->version == 0 || c->role != NGX_HOTLINE_ROLE_CUSTOMER
        || c->state != NGX_HOTLINE_ENDED || c->accepted == 0 || c->rated
        || c->reason == NGX_HOTLINE_END_BANNED)
    {
        return NGX_HOTLINE_E_EXPIRED;
    }

    ngx_http_hotline_tx_check(tx, c);
    ngx_http_hotline_free_party(tx, c);

    ngx_http_hotline_desk_amend(op, tx, c->call_id, &op->more);

    ngx_memcpy(op->res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);

    return NGX_HOTLINE_OK;
}


/*
 * A customer leaves a message or asks for a callback (op->more: the
 * members): instead of joining (a record of its own) or instead of
 * waiting (its call ends with it)
 */

ngx_uint_t
ngx_http_hotline_decide_message(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    int64_t                          now;
    ngx_http_hotline_txop_t         *t;
    ngx_http_hotline_party_t        *c;
    ngx_http_hotline_call_record_t  *rec;

    c = &op->me;

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_MESSAGES, 1);

    if (op->ref == NULL || !op->ref->has_token) {
        now = ngx_http_hotline_now();

        op->ends = 1;
        rec = &op->rec;

        ngx_memcpy(rec->call_id, op->call_id, NGX_HOTLINE_ID_LEN);
        ngx_memcpy(op->rec_customer, op->arg.name, op->arg.name_len);
        rec->customer = op->rec_customer;
        rec->customer_len = op->arg.name_len;
        rec->joined = now;
        rec->ended = now;
        rec->reason = NGX_HOTLINE_END_MESSAGE;
        rec->by = NGX_HOTLINE_ROLE_CUSTOMER;
        rec->extra = op->more;

        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_HISTORY, NULL);
        if (t) {
            t->rec = rec;
        }

        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

        ngx_memcpy(op->res.call_id, op->call_id, NGX_HOTLINE_ID_LEN);
        return NGX_HOTLINE_OK;
    }

    if (c->version == 0 || c->role != NGX_HOTLINE_ROLE_CUSTOMER
        || c->state != NGX_HOTLINE_WAITING)
    {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (c->accepted && op->step == 0) {
        /* transferred: the call's log first */
        return NGX_HOTLINE_E_AGAIN;
    }

    ngx_http_hotline_end(op, tx, c, NULL, NGX_HOTLINE_END_MESSAGE,
                         NGX_HOTLINE_ROLE_CUSTOMER, NULL);

    ngx_memcpy(op->res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);

    return NGX_HOTLINE_OK;
}


/* later members of a record (a message claimed or done): consoles look */

ngx_uint_t
ngx_http_hotline_decide_amend(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_desk_amend(op, tx, op->call_id, &op->more);

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_MESSAGES, 1);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    return NGX_HOTLINE_OK;
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


/*
 * An operation of an agent in a call (op->me) on its customer: read at
 * step 1 (op->other, and what else the operation needs)
 */

static ngx_uint_t
ngx_http_hotline_desk_in_call(ngx_http_hotline_op_t *op)
{
    ngx_http_hotline_party_t  *a, *c;

    a = &op->me;
    c = &op->other;

    if (a->version == 0 || a->role != NGX_HOTLINE_ROLE_AGENT
        || a->state != NGX_HOTLINE_ACTIVE || !a->has_peer)
    {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (op->step == 0) {
        return NGX_HOTLINE_E_AGAIN;
    }

    if (c->version == 0 || c->state != NGX_HOTLINE_ACTIVE
        || ngx_memcmp(c->peer, a->token, NGX_HOTLINE_ID_LEN) != 0)
    {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    return NGX_HOTLINE_OK;
}


/*
 * An agent's customer on hold (arg.held) or back: media stay up, the
 * pages mute; the time on hold adds up in the customer's record
 */

ngx_uint_t
ngx_http_hotline_decide_hold(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    int64_t                    now;
    ngx_uint_t                 rc;
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_event_t   ev;
    ngx_http_hotline_party_t  *a, *c;

    a = &op->me;
    c = &op->other;

    rc = ngx_http_hotline_desk_in_call(op);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    if ((op->arg.held != 0) == (c->held != 0)) {
        /* as it is already */
        return NGX_HOTLINE_OK;
    }

    now = ngx_http_hotline_now();

    ngx_http_hotline_tx_check(tx, c);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(a->token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    if (op->arg.held) {
        c->held = now;

    } else {
        c->hold_ms += now - c->held;
        c->held = 0;
    }

    ngx_http_hotline_tx_put(tx, c);

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_HOLD;
    ev.state = op->arg.held ? 1 : 0;

    ngx_http_hotline_tx_event(tx, c->token, &ev);
    ngx_http_hotline_tx_event(tx, a->token, &ev);

    return NGX_HOTLINE_OK;
}


/*
 * A cold transfer: the agent's customer goes back into the queue at its
 * place (its ticket: ahead of those who came after it), held for the
 * agent named (op->third, who must be available) for
 * hotline_transfer_timeout, or for any agent; the agent that transfers
 * is done with it (wrap-up).  The call goes on with its id, its record
 * and its log, where the transfer is written.
 */

ngx_uint_t
ngx_http_hotline_decide_transfer(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    u_char                        *p;
    int64_t                        now;
    ngx_str_t                      to;
    ngx_uint_t                     rc;
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_party_t      *a, *c, *b;
    ngx_http_hotline_desk_conf_t  *dcf;
    u_char                         line[512 + 6 * (2 * NGX_HOTLINE_NAME_MAX
                                                   + NGX_HOTLINE_REASON_MAX)];

    a = &op->me;
    c = &op->other;
    b = &op->third;

    rc = ngx_http_hotline_desk_in_call(op);
    if (rc != NGX_HOTLINE_OK) {
        return rc;
    }

    if (op->arg.target_len
        && (b->version == 0 || b->role != NGX_HOTLINE_ROLE_AGENT
            || b->state != NGX_HOTLINE_IDLE
            || b->presence != NGX_HOTLINE_AVAILABLE
            || (b->name_len == a->name_len
                && ngx_memcmp(b->name, a->name, a->name_len) == 0)))
    {
        return NGX_HOTLINE_E_AGENT_UNAVAILABLE;
    }

    now = ngx_http_hotline_now();

    ngx_http_hotline_tx_check(tx, a);
    ngx_http_hotline_tx_check(tx, c);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(a->token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    /* the customer: waiting again, at its place */

    if (c->held) {
        c->hold_ms += now - c->held;
        c->held = 0;
    }

    c->state = NGX_HOTLINE_WAITING;
    c->has_peer = 0;
    ngx_memzero(c->peer, NGX_HOTLINE_ID_LEN);
    c->transfers++;

    c->from_len = a->name_len;
    ngx_memcpy(c->from, a->name, a->name_len);
    c->why_len = op->arg.why_len;
    ngx_memcpy(c->why, op->arg.why, op->arg.why_len);

    c->target_len = op->arg.target_len ? b->name_len : 0;
    ngx_memcpy(c->target, b->name, c->target_len);
    dcf = ngx_http_hotline_desk();

    c->until = c->target_len ? now + dcf->transfer_timeout : 0;

    ngx_http_hotline_tx_put(tx, c);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_QUEUE,
                                 ngx_http_hotline_pkey(c->token));
    if (t) {
        t->n = (int64_t) c->ticket;
    }

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ACTIVE, -1);
    ngx_http_hotline_tx_waiting(tx, c, 1);

    t = &tx->ops[tx->n - 1];

    if (t->op == NGX_HOTLINE_TX_COUNT && t->err) {
        /* it was waiting before: no cap of its address refuses it */
        t->max = 0;
    }

    if (c->attached && c->target_len) {
        ngx_http_hotline_desk_set_timer(tx, c, dcf->transfer_timeout);
    }

    /* the agent that transferred it: done with it */

    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_BUSY, -1);
    ngx_http_hotline_desk_after_call(tx, a);
    ngx_http_hotline_tx_put(tx, a);

    /* the call's log keeps it; both hear of it */

    to.data = b->display_len ? b->display : b->name;
    to.len = c->target_len ? (b->display_len ? b->display_len : b->name_len)
                           : 0;

    p = ngx_cpymem(line, "{\"type\":\"transfer\",\"from\":",
                   sizeof("{\"type\":\"transfer\",\"from\":") - 1);
    p = ngx_http_hotline_json_str(p, a->name, a->name_len);
    p = ngx_cpymem(p, ",\"to\":", sizeof(",\"to\":") - 1);
    p = c->target_len ? ngx_http_hotline_json_str(p, c->target, c->target_len)
                      : ngx_cpymem(p, "null", 4);
    p = ngx_cpymem(p, ",\"reason\":", sizeof(",\"reason\":") - 1);
    p = ngx_http_hotline_json_str(p, c->why, c->why_len);
    p = ngx_sprintf(p, ",\"ts\":%L}", now);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_APPEND,
                                 ngx_http_hotline_tkey(c->call_id));
    if (t) {
        t->force = 1;
        (void) ngx_http_hotline_txn_value(tx, t, line, p - line);
    }

    ngx_http_hotline_desk_transferred(tx, c->token,
                                      NGX_HOTLINE_TRANSFER_WAITING, c, &to);
    ngx_http_hotline_desk_transferred(tx, a->token,
                                      NGX_HOTLINE_TRANSFER_OUT, c, &to);

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    op->version = a->version + 1;
    op->state = a->state;
    ngx_memzero(op->peer, NGX_HOTLINE_ID_LEN);

    return NGX_HOTLINE_OK;
}
