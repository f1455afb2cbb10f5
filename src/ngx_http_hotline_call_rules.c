
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_rules.h"
#include "ngx_http_hotline_call_tx.h"
#include "ngx_http_hotline_call_end.h"
#include "ngx_http_hotline_call_desk.h"
#include "ngx_http_hotline_call_desk_rules.h"
#include "ngx_http_hotline_event.h"


/*
 * Parties are customers (a customer party is its call) and agents.  A
 * customer waits (queued), is in a call with an agent (active), or its
 * call ended; an agent is idle or in a call.  Every transition checks
 * the versions of the records it read, so that what it decided still
 * holds when it is committed; events for the parties go to their inboxes
 * in the same transaction.
 */


static ngx_uint_t ngx_http_hotline_decide_join(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_login(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_resume(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_accept(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_detach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static ngx_uint_t ngx_http_hotline_decide_expire(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
static void ngx_http_hotline_taken(ngx_http_hotline_op_t *op,
    ngx_http_hotline_party_t *p);
static void ngx_http_hotline_attach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *p, int64_t from);
static void ngx_http_hotline_tx_peer(ngx_http_hotline_txn_t *tx,
    u_char *token, ngx_uint_t state);


static ngx_http_hotline_store_t      *ngx_http_hotline_st;
static ngx_http_hotline_main_conf_t  *ngx_http_hotline_cf;


void
ngx_http_hotline_rules_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf)
{
    ngx_http_hotline_st = store;
    ngx_http_hotline_cf = cf;

    ngx_http_hotline_tx_init(cf);
    ngx_http_hotline_end_init(cf);
    ngx_http_hotline_desk_init();
}


ngx_uint_t
ngx_http_hotline_rules_decide(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    switch (op->kind) {

    case NGX_HOTLINE_OP_JOIN:
        return ngx_http_hotline_decide_join(op, tx);

    case NGX_HOTLINE_OP_LOGIN:
        return ngx_http_hotline_decide_login(op, tx);

    case NGX_HOTLINE_OP_RESUME:
    case NGX_HOTLINE_OP_MOVE:
        return ngx_http_hotline_decide_resume(op, tx);

    case NGX_HOTLINE_OP_ACCEPT:
        return ngx_http_hotline_decide_accept(op, tx);

    case NGX_HOTLINE_OP_VIEW:
        return NGX_HOTLINE_OK;

    case NGX_HOTLINE_OP_DETACH:
    case NGX_HOTLINE_OP_ORPHAN:
        return ngx_http_hotline_decide_detach(op, tx);

    case NGX_HOTLINE_OP_EXPIRE:
        return ngx_http_hotline_decide_expire(op, tx);

    case NGX_HOTLINE_OP_PRESENCE:
        return ngx_http_hotline_decide_presence(op, tx);

    case NGX_HOTLINE_OP_NOTE:
        return ngx_http_hotline_decide_note(op, tx);

    case NGX_HOTLINE_OP_RATE:
        return ngx_http_hotline_decide_rate(op, tx);

    case NGX_HOTLINE_OP_MESSAGE:
        return ngx_http_hotline_decide_message(op, tx);

    case NGX_HOTLINE_OP_AMEND:
        return ngx_http_hotline_decide_amend(op, tx);

    case NGX_HOTLINE_OP_HOLD:
        return ngx_http_hotline_decide_hold(op, tx);

    case NGX_HOTLINE_OP_TRANSFER:
        return ngx_http_hotline_decide_transfer(op, tx);

    case NGX_HOTLINE_OP_SEED:

        if (op->count >= 0) {
            /* counted already */
            return NGX_HOTLINE_OK;
        }

        ngx_http_hotline_tx_count(tx, (ngx_uint_t) -1,
                                  ngx_http_hotline_history_count_today(
                                                      ngx_cycle->log));
        return NGX_HOTLINE_OK;

    default: /* reject, ban, hangup */
        return ngx_http_hotline_decide_end(op, tx);
    }
}


/* decisions: each fills the transaction, or says why not */

static ngx_uint_t
ngx_http_hotline_decide_join(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_party_t      *c;
    ngx_http_hotline_main_conf_t  *cf;

    cf = ngx_http_hotline_cf;
    c = &op->me;

    ngx_memzero(c, sizeof(ngx_http_hotline_party_t));

    c->role = NGX_HOTLINE_ROLE_CUSTOMER;
    c->state = NGX_HOTLINE_WAITING;
    ngx_memcpy(c->token, op->token, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(c->call_id, op->call_id, NGX_HOTLINE_ID_LEN);
    c->ticket = op->ticket;
    c->joined = ngx_http_hotline_now();
    c->name_len = op->arg.name_len;
    ngx_memcpy(c->name, op->arg.name, c->name_len);
    c->addr_len = op->arg.addr_len;
    ngx_memcpy(c->addr, op->arg.addr, c->addr_len);

    /* (its id is the call's: no index from the call id to it) */
    ngx_http_hotline_tx_put(tx, c);

    /* full queue first, then the daily limit: the order clients see */

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_QUEUE,
                                 ngx_http_hotline_pkey(c->token));
    if (t) {
        t->n = (int64_t) c->ticket;
        t->max = cf->queue_size;
        t->err = NGX_HOTLINE_E_QUEUE_FULL;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_COUNT,
                                 ngx_http_hotline_dkey());
    if (t) {
        t->n = 1;
        t->max = cf->daily_limit;
        t->err = NGX_HOTLINE_E_DAILY_LIMIT;
        t->ttl = NGX_HOTLINE_DAY_TTL;
    }

    ngx_http_hotline_attach(op, tx, c, 0);

    ngx_http_hotline_tx_waiting(tx, c, 1);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    op->version = 1;
    op->state = NGX_HOTLINE_WAITING;

    /* (op->res.resume: the token, which only the client keeps) */
    ngx_memcpy(op->res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);
    op->res.ticket = c->ticket;
    op->res.waiting = 1;

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
ngx_http_hotline_decide_login(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_str_t                 *key;
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *a;

    a = &op->me;

    if (a->version && a->role == NGX_HOTLINE_ROLE_AGENT) {

        /* the same agent again: it takes its session over */

        ngx_memcpy(op->token, a->token, NGX_HOTLINE_ID_LEN);

        ngx_http_hotline_tx_check(tx, a);
        ngx_http_hotline_attach(op, tx, a, op->from);
        ngx_http_hotline_taken(op, a);

        return NGX_HOTLINE_OK;
    }

    ngx_memzero(a, sizeof(ngx_http_hotline_party_t));

    a->role = NGX_HOTLINE_ROLE_AGENT;
    a->state = NGX_HOTLINE_IDLE;
    ngx_memcpy(a->token, op->token, NGX_HOTLINE_ID_LEN);
    a->joined = ngx_http_hotline_now();
    a->name_len = op->arg.name_len;
    ngx_memcpy(a->name, op->arg.name, a->name_len);
    a->display_len = op->arg.display_len;
    ngx_memcpy(a->display, op->arg.display, a->display_len);

    /* no other login of this agent got in first */
    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_CHECK,
                                 ngx_http_hotline_akey(a->name, a->name_len));
    if (t) {
        t->n = (int64_t) op->index;
    }

    ngx_http_hotline_tx_put(tx, a);

    key = ngx_http_hotline_pkey(a->token);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_PUT,
                                 ngx_http_hotline_akey(a->name, a->name_len));
    if (t) {
        (void) ngx_http_hotline_txn_value(tx, t, key->data, key->len);
    }

    ngx_http_hotline_attach(op, tx, a, 0);
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ONLINE, 1);
    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    ngx_memcpy(op->res.resume, a->token, NGX_HOTLINE_ID_LEN);

    op->version = 1;
    op->state = NGX_HOTLINE_IDLE;

    return NGX_HOTLINE_OK;
}


static ngx_uint_t
ngx_http_hotline_decide_resume(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *p;

    p = &op->me;

    if (p->version == 0
        || p->role != op->ref->role
        || (p->role == NGX_HOTLINE_ROLE_AGENT
            && (p->name_len != op->arg.name_len
                || ngx_memcmp(p->name, op->arg.name, p->name_len) != 0))
        || (p->state == NGX_HOTLINE_ENDED
            && (p->reason == NGX_HOTLINE_END_BANNED || p->over)))
    {
        /*
         * unknown, someone else's, over (its end was told: it may only
         * rate it), or banned: its token is dead
         */
        return NGX_HOTLINE_E_EXPIRED;
    }

    ngx_http_hotline_tx_check(tx, p);

    if (op->ref->has_token
        && ngx_memcmp(op->ref->token, p->token, NGX_HOTLINE_ID_LEN) == 0)
    {
        /*
         * this connection holds the party already (an agent's handshake
         * took it over, with its own replay): the client has what came
         * since, in order; a second replay would only repeat it
         */
        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                     ngx_http_hotline_pkey(p->token));
        if (t) {
            t->consumer = op->ref->consumer;
        }

    } else {
        ngx_http_hotline_attach(op, tx, p, (int64_t) op->last_seq);
    }

    ngx_http_hotline_taken(op, p);

    return NGX_HOTLINE_OK;
}


/* what the connection that takes party p (login, resume) is told */

static void
ngx_http_hotline_taken(ngx_http_hotline_op_t *op,
    ngx_http_hotline_party_t *p)
{
    op->res.resumed = 1;
    op->res.ticket = p->ticket;

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        /* (op->res.resume: the token it sent) */
        ngx_memcpy(op->res.call_id, p->call_id, NGX_HOTLINE_ID_LEN);
        op->res.waiting = (p->state == NGX_HOTLINE_WAITING);
        op->res.in_call = (p->state == NGX_HOTLINE_ACTIVE);
        op->res.ended = (p->state == NGX_HOTLINE_ENDED);

    } else {
        /* an agent's token is its party's id */
        ngx_memcpy(op->res.resume, p->token, NGX_HOTLINE_ID_LEN);
        op->res.presence = ngx_http_hotline_agent_shows(p);
        op->res.until = p->until;

        if (p->state == NGX_HOTLINE_ACTIVE && p->has_peer) {
            op->res.in_call = 1;
            ngx_memcpy(op->res.call_id, p->call_id, NGX_HOTLINE_ID_LEN);
        }
    }

    op->version = p->version;
    op->state = p->state;
    ngx_memcpy(op->peer, p->peer, NGX_HOTLINE_ID_LEN);
}


/*
 * A connection takes the party's inbox: replayed after seq from (-1: what
 * the inbox counts as delivered); a party in a call tells its peer that
 * it was reconnecting (unless the peer was told when the old connection
 * went) and that it is back.
 */

static void
ngx_http_hotline_attach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *p, int64_t from)
{
    ngx_http_hotline_ref_t   *ref;
    ngx_http_hotline_txop_t  *t;

    ref = op->ref;

    if (ref->consumer == NULL) {
        ref->consumer = ngx_http_hotline_st->consumer(ref->owner);
        if (ref->consumer == NULL) {
            tx->overflow = 1;
            return;
        }
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_ATTACH,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        t->consumer = ref->consumer;
        t->n = from;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_TIMER,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        /*
         * a wrap-up's or a transfer's end, if it has one (a move: the
         * grace period the worker it left may have set goes)
         */
        t->n = ngx_http_hotline_desk_timer(p);
    }

    if (op->kind == NGX_HOTLINE_OP_MOVE) {
        /* the same client, its connection in another worker: its peer
         * saw no change */
        return;
    }

    if (p->version && p->state == NGX_HOTLINE_ACTIVE && p->has_peer) {
        if (p->attached) {
            ngx_http_hotline_tx_peer(tx, p->peer,
                                     NGX_HOTLINE_PEER_RECONNECTING);
        }

        /* from nothing (a reloaded page): its media start over */
        ngx_http_hotline_tx_peer(tx, p->peer, from == 0
                                              ? NGX_HOTLINE_PEER_NEW
                                              : NGX_HOTLINE_PEER_BACK);
    }
}


static ngx_uint_t
ngx_http_hotline_decide_accept(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    size_t                         n;
    int64_t                        now;
    ngx_http_hotline_txop_t       *t;
    ngx_http_hotline_event_t       ev;
    ngx_http_hotline_party_t       c, a;
    ngx_http_hotline_recorder_t   *rc;
    u_char                         token[NGX_HOTLINE_RECORDING_MAX];

    a = op->me;
    c = op->other;

    if (a.version == 0 || a.role != NGX_HOTLINE_ROLE_AGENT
        || (a.state != NGX_HOTLINE_IDLE && a.state != NGX_HOTLINE_WRAPUP))
    {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (c.version == 0 || c.role != NGX_HOTLINE_ROLE_CUSTOMER
        || c.state == NGX_HOTLINE_ENDED)
    {
        return NGX_HOTLINE_E_NOT_FOUND;
    }

    if (c.state != NGX_HOTLINE_WAITING
        || ngx_http_hotline_desk_reserved(&c, &a))
    {
        return NGX_HOTLINE_E_TAKEN;
    }

    rc = ngx_http_hotline_cf->recorder;
    now = ngx_http_hotline_now();

    c.state = NGX_HOTLINE_ACTIVE;
    ngx_memcpy(c.peer, a.token, NGX_HOTLINE_ID_LEN);
    c.has_peer = 1;
    c.accepted = c.accepted ? c.accepted : now;    /* after a transfer */
    c.recorded = c.recorded || (rc != NULL);

    /* the agent leaves wrap-up or away for it; a transfer is over */
    ngx_http_hotline_desk_taken(tx, &c, &a);

    a.state = NGX_HOTLINE_ACTIVE;
    ngx_memcpy(a.peer, c.token, NGX_HOTLINE_ID_LEN);
    a.has_peer = 1;
    ngx_memcpy(a.call_id, c.call_id, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_tx_check(tx, &a);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(a.token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    ngx_http_hotline_tx_check(tx, &c);

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_UNQUEUE,
                                    ngx_http_hotline_pkey(c.token));

    if (c.accepted == now) {
        /* the call's transcript: its record, whose inbox keeps the chat */
        ngx_http_hotline_desk_transcript(tx, &c);
    }

    ngx_http_hotline_tx_put(tx, &c);
    ngx_http_hotline_tx_put(tx, &a);

    ngx_http_hotline_tx_waiting(tx, &c, -1);
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_ACTIVE, 1);
    ngx_http_hotline_tx_count(tx, NGX_HOTLINE_C_BUSY, 1);

    /* each party hears who the other is, and gets its recording token */

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_ACCEPTED;
    ngx_memcpy(ev.call_id, c.call_id, NGX_HOTLINE_ID_LEN);

    ev.role = NGX_HOTLINE_ROLE_AGENT;
    ev.name.data = a.display_len ? a.display : a.name;
    ev.name.len = a.display_len ? a.display_len : a.name_len;
    n = rc ? ngx_http_hotline_recording_token(token, rc, c.call_id,
                                              NGX_HOTLINE_ROLE_CUSTOMER)
           : 0;
    ev.token.data = token;
    ev.token.len = n;
    ngx_http_hotline_tx_event(tx, c.token, &ev);

    ev.role = NGX_HOTLINE_ROLE_CUSTOMER;
    ev.name.data = c.name;
    ev.name.len = c.name_len;
    n = rc ? ngx_http_hotline_recording_token(token, rc, c.call_id,
                                              NGX_HOTLINE_ROLE_AGENT)
           : 0;
    ev.token.len = n;
    ngx_http_hotline_tx_event(tx, a.token, &ev);

    (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_NOTIFY, NULL);

    ngx_memcpy(op->res.call_id, c.call_id, NGX_HOTLINE_ID_LEN);
    op->res.in_call = 1;

    op->version = a.version + 1;
    op->state = NGX_HOTLINE_ACTIVE;
    ngx_memcpy(op->peer, c.token, NGX_HOTLINE_ID_LEN);

    return NGX_HOTLINE_OK;
}


/* reject, ban, hangup */

static ngx_uint_t
ngx_http_hotline_decide_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *me, *c;

    me = &op->me;

    if (me->version == 0 || me->role != op->ref->role) {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(me->token));
    if (t) {
        t->consumer = op->ref->consumer;
    }

    if (op->kind == NGX_HOTLINE_OP_HANGUP) {

        if (me->state == NGX_HOTLINE_WAITING) {
            if (me->accepted && op->step == 0) {
                /* transferred: its log first */
                return NGX_HOTLINE_E_AGAIN;
            }

            ngx_http_hotline_end(op, tx, me, NULL, NGX_HOTLINE_END_CANCELLED,
                                 me->role, NULL);
            return NGX_HOTLINE_OK;
        }

        if (me->state != NGX_HOTLINE_ACTIVE || !me->has_peer) {
            return NGX_HOTLINE_E_BAD_STATE;
        }

        if (op->step == 0) {
            return NGX_HOTLINE_E_AGAIN;
        }

        if (op->other.version == 0) {
            /* the peer is gone already: its end is on its way */
            return NGX_HOTLINE_E_BAD_STATE;
        }

        if (me->role == NGX_HOTLINE_ROLE_CUSTOMER) {
            ngx_http_hotline_end(op, tx, me, &op->other,
                                 NGX_HOTLINE_END_HANGUP, me->role, NULL);

        } else {
            ngx_http_hotline_end(op, tx, &op->other, me,
                                 NGX_HOTLINE_END_HANGUP, me->role, NULL);
        }

        return NGX_HOTLINE_OK;
    }

    /* reject, ban: a waiting call, or (ban) the agent's own */

    c = &op->other;

    if (me->role != NGX_HOTLINE_ROLE_AGENT) {
        return NGX_HOTLINE_E_BAD_STATE;
    }

    if (c->version == 0 || c->role != NGX_HOTLINE_ROLE_CUSTOMER
        || c->state == NGX_HOTLINE_ENDED)
    {
        return NGX_HOTLINE_E_NOT_FOUND;
    }

    if (c->state != NGX_HOTLINE_WAITING
        && (op->kind == NGX_HOTLINE_OP_REJECT
            || !c->has_peer
            || ngx_memcmp(c->peer, me->token, NGX_HOTLINE_ID_LEN) != 0))
    {
        /* another agent's call */
        return NGX_HOTLINE_E_TAKEN;
    }

    if (op->kind == NGX_HOTLINE_OP_REJECT) {
        if (c->state == NGX_HOTLINE_WAITING && c->target_len
            && !ngx_http_hotline_desk_reserved(c, me)
            && c->until > ngx_http_hotline_now())
        {
            /* transferred to it: it declines, any agent may take it */
            return ngx_http_hotline_desk_decline(op, tx, c);
        }

        ngx_http_hotline_end(op, tx, c, NULL, NGX_HOTLINE_END_REJECTED,
                             NGX_HOTLINE_ROLE_AGENT, me);
        return NGX_HOTLINE_OK;
    }

    ngx_memcpy(op->res.addr, c->addr, c->addr_len);
    op->res.addr_len = c->addr_len;
    ngx_memcpy(op->res.call_id, c->call_id, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_end(op, tx, c,
                         c->state == NGX_HOTLINE_ACTIVE ? me : NULL,
                         NGX_HOTLINE_END_BANNED, NGX_HOTLINE_ROLE_AGENT, me);

    return NGX_HOTLINE_OK;
}


/*
 * The connection of a party is gone (detach), or its worker died (orphan:
 * the store released it already): the grace period starts, and a peer
 * in a call hears that the party is reconnecting.
 */

static ngx_uint_t
ngx_http_hotline_decide_detach(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t         *t;
    ngx_http_hotline_party_t        *p;
    ngx_http_hotline_consumer_info_t ci;

    p = &op->me;

    if (p->version == 0) {
        return NGX_HOTLINE_OK;
    }

    ngx_http_hotline_tx_check(tx, p);

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        /* the orphan's consumer is gone: nobody took it back since */
        t->consumer = op->consumer;
    }

    if (op->kind == NGX_HOTLINE_OP_DETACH) {
        ngx_http_hotline_st->consumer_info(op->consumer, &ci);

        if (p->role == NGX_HOTLINE_ROLE_CUSTOMER
            && p->state == NGX_HOTLINE_ENDED && ci.delivered >= ci.last
            && op->read_all)
        {
            /*
             * the call is over and the client read its end (it answered
             * the close that followed): the token dies, or lives on for a
             * rating only; otherwise the party waits for a resume that
             * gets the end again
             */

            if (!ngx_http_hotline_desk_rates(p)) {
                ngx_http_hotline_free_party(tx, p);
                return NGX_HOTLINE_OK;
            }

            p->over = 1;
            ngx_http_hotline_tx_put(tx, p);
        }

        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_RELEASE,
                                     ngx_http_hotline_pkey(p->token));
        if (t) {
            t->consumer = op->consumer;
            t->n = (int64_t) ci.delivered;
        }

        t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_TIMER,
                                     ngx_http_hotline_pkey(p->token));
        if (t) {
            /* a call over: its token lives on for the rating */
            t->n = p->over ? ngx_http_hotline_desk_rating_time()
                           : ngx_http_hotline_cf->resume_timeout;
        }
    }

    if (p->state == NGX_HOTLINE_ACTIVE && p->has_peer) {
        ngx_http_hotline_tx_peer(tx, p->peer, NGX_HOTLINE_PEER_RECONNECTING);
    }

    return NGX_HOTLINE_OK;
}


/* the grace period is over: the call ends, the party is freed */

static ngx_uint_t
ngx_http_hotline_decide_expire(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx)
{
    ngx_http_hotline_txop_t   *t;
    ngx_http_hotline_party_t  *p;

    p = &op->me;

    if (p->version == 0) {
        /* a timer left behind */
        (void) ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_DEL,
                                        ngx_http_hotline_pkey(op->token));
        return NGX_HOTLINE_OK;
    }

    if (p->attached) {
        /* it came back, or its wrap-up or transfer is over */
        ngx_http_hotline_desk_deadline(tx, p);
        return NGX_HOTLINE_OK;
    }

    if (op->step == 0
        && ((p->state == NGX_HOTLINE_ACTIVE && p->has_peer)
            || (p->state == NGX_HOTLINE_WAITING && p->accepted)))
    {
        /* the peer, and the call's log */
        return NGX_HOTLINE_E_AGAIN;
    }

    t = ngx_http_hotline_txn_add(tx, NGX_HOTLINE_TX_OWNED,
                                 ngx_http_hotline_pkey(p->token));
    if (t) {
        t->consumer = NULL;
    }

    if (p->role == NGX_HOTLINE_ROLE_CUSTOMER) {

        if (p->state != NGX_HOTLINE_ENDED) {
            ngx_http_hotline_end(op, tx, p,
                                 op->other.version ? &op->other : NULL,
                                 NGX_HOTLINE_END_GONE,
                                 NGX_HOTLINE_ROLE_CUSTOMER, NULL);
        }

        ngx_http_hotline_free_party(tx, p);
        return NGX_HOTLINE_OK;
    }

    if (p->state == NGX_HOTLINE_ACTIVE && op->other.version) {
        ngx_http_hotline_end(op, tx, &op->other, NULL, NGX_HOTLINE_END_GONE,
                             NGX_HOTLINE_ROLE_AGENT, p);
    }

    ngx_http_hotline_tx_check(tx, p);
    ngx_http_hotline_free_party(tx, p);

    return NGX_HOTLINE_OK;
}


static void
ngx_http_hotline_tx_peer(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_uint_t state)
{
    ngx_http_hotline_event_t  ev;

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));
    ev.type = NGX_HOTLINE_EV_PEER;
    ev.state = state;

    ngx_http_hotline_tx_event(tx, token, &ev);
}
