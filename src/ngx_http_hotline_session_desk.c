
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_session.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_notify.h"
#include "ngx_http_hotline_desk.h"
#include "ngx_http_hotline_proto_desk.h"


/*
 * The support desk's messages of a connection (ngx_http_hotline_session.c
 * hands them over, with the function that answers them: this file does
 * not call back into the session): each becomes an operation of the call
 * model, or (a message claimed or done) first an atomic step of the
 * store's keyed values; what a message (note, rating, message, claim)
 * keeps is written as JSON here, the edge, before the model stores it.
 */


/* how long claim: and done: keys live */
#define NGX_HOTLINE_HANDLED_TTL    ((ngx_msec_t) 30 * 86400000)


/* an operation that goes on after an answer (the store's, the model's) */
typedef struct {
    void                          *op;        /* the session's */
    ngx_http_hotline_call_pt       done;      /* its answer */
    ngx_http_hotline_session_t    *session;
    ngx_uint_t                     type;
    ngx_uint_t                     callback;
    u_char                         id[NGX_HOTLINE_ID_LEN];
    ngx_str_t                      members;
    size_t                         name_len;
    u_char                         name[NGX_HOTLINE_CUSTOMER_NAME_MAX];
} ngx_http_hotline_desk_op_t;


static ngx_http_hotline_desk_op_t *ngx_http_hotline_desk_op(
    ngx_http_hotline_session_t *s, void *op, ngx_http_hotline_call_pt done,
    ngx_uint_t type, ngx_http_hotline_desk_msg_t *d);
static void ngx_http_hotline_desk_leave(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
static void ngx_http_hotline_desk_left(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_desk_rated(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_desk_locked(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
static ngx_str_t *ngx_http_hotline_desk_key(const char *prefix, u_char *id);


void
ngx_http_hotline_session_desk(ngx_http_hotline_session_t *s, void *op,
    ngx_http_hotline_call_pt done, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_desk_msg_t *d)
{
    u_char                        *p;
    ngx_str_t                      note, *names;
    ngx_http_hotline_desk_op_t    *dop;
    ngx_http_hotline_desk_conf_t  *dcf;

    dcf = ngx_http_hotline_desk();

    switch (m->type) {

    case NGX_HOTLINE_MSG_PRESENCE:
        ngx_http_hotline_call_presence(&s->ref, d->presence,
                                       done, op);
        return;

    case NGX_HOTLINE_MSG_NOTE:
        p = ngx_alloc(ngx_http_hotline_proto_desk_size(d, s->agent->sub_len),
                      ngx_cycle->log);
        if (p == NULL) {
            done(op, NGX_HOTLINE_E_INTERNAL, NULL);
            return;
        }

        names = dcf->dispositions->elts;

        note.data = p;
        note.len = ngx_http_hotline_proto_note(p, d,
                                     d->disposition >= 0
                                     ? &names[d->disposition] : NULL,
                                     s->agent->sub, s->agent->sub_len,
                                     ngx_http_hotline_now())
                   - p;

        /* the model copies it */
        ngx_http_hotline_call_note(&s->ref,
                                   m->has_call_id ? m->call_id : NULL, &note,
                                   done, op);
        ngx_free(p);
        return;

    case NGX_HOTLINE_MSG_RATE:
        if (dcf->rating_time == 0) {
            done(op, NGX_HOTLINE_E_BAD_STATE, NULL);
            return;
        }

        dop = ngx_http_hotline_desk_op(s, op, done, m->type, d);
        if (dop == NULL) {
            return;
        }

        ngx_http_hotline_call_rate(&s->ref, m->token, &dop->members,
                                   ngx_http_hotline_desk_rated, dop);
        return;

    case NGX_HOTLINE_MSG_LEAVE:
        dop = ngx_http_hotline_desk_op(s, op, done, m->type, d);
        if (dop == NULL) {
            return;
        }

        if (!s->established && ngx_http_hotline_ban_applies(s)) {
            /* a banned address leaves no message either */
            ngx_http_hotline_store()->kv_get(
                       ngx_http_hotline_ban_key(s->ws.addr.data,
                                                        s->ws.addr.len),
                       ngx_http_hotline_desk_leave, dop);
            return;
        }

        ngx_http_hotline_desk_leave(dop, NGX_HOTLINE_OK, NULL);
        return;

    case NGX_HOTLINE_MSG_CLAIM:
    case NGX_HOTLINE_MSG_DONE:
        dop = ngx_http_hotline_desk_op(s, op, done, m->type, d);
        if (dop == NULL) {
            return;
        }

        ngx_memcpy(dop->id, m->call_id, NGX_HOTLINE_ID_LEN);

        /* the first claim (done) of a message wins, on any node */
        ngx_http_hotline_store()->kv_incr(
                   ngx_http_hotline_desk_key(m->type == NGX_HOTLINE_MSG_CLAIM
                                             ? "claim:" : "done:", dop->id),
                   NGX_HOTLINE_HANDLED_TTL, ngx_http_hotline_desk_locked,
                   dop);
        return;

    case NGX_HOTLINE_MSG_HOLD:
        ngx_http_hotline_call_hold(&s->ref, d->on,
                                   done, op);
        return;

    default: /* transfer */
        ngx_http_hotline_call_transfer(&s->ref, &d->to, &d->reason,
                                       done, op);
        return;
    }
}


/* what a message keeps, ready for the model: members of a record */

static ngx_http_hotline_desk_op_t *
ngx_http_hotline_desk_op(ngx_http_hotline_session_t *s, void *op,
    ngx_http_hotline_call_pt done, ngx_uint_t type,
    ngx_http_hotline_desk_msg_t *d)
{
    u_char                      *p;
    size_t                       size;
    ngx_http_hotline_desk_op_t  *dop;

    size = ngx_http_hotline_proto_desk_size(d, s->agent->sub_len);

    dop = ngx_alloc(sizeof(ngx_http_hotline_desk_op_t) + size,
                    ngx_cycle->log);
    if (dop == NULL) {
        done(op, NGX_HOTLINE_E_INTERNAL, NULL);
        return NULL;
    }

    dop->op = op;
    dop->done = done;
    dop->session = s;
    dop->type = type;
    dop->callback = d->callback;
    dop->name_len = ngx_min(d->name.len, NGX_HOTLINE_CUSTOMER_NAME_MAX);

    if (dop->name_len) {
        ngx_memcpy(dop->name, d->name.data, dop->name_len);
    }

    p = (u_char *) (dop + 1);
    dop->members.data = p;

    switch (type) {

    case NGX_HOTLINE_MSG_RATE:
        p = ngx_http_hotline_proto_rating(p, d);
        break;

    case NGX_HOTLINE_MSG_LEAVE:
        p = ngx_http_hotline_proto_message(p, d);
        break;

    default: /* claim, done */
        p = ngx_http_hotline_proto_handled(p,
                                      type == NGX_HOTLINE_MSG_CLAIM
                                      ? "claimed" : "done",
                                      s->agent->sub, s->agent->sub_len,
                                      ngx_http_hotline_now());
        break;
    }

    dop->members.len = p - dop->members.data;

    return dop;
}


/* a message, from an address that is not banned */

static void
ngx_http_hotline_desk_leave(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_desk_op_t *dop = data;

    ngx_http_hotline_session_t  *s;

    s = dop->session;

    if (err == NGX_HOTLINE_OK && kv && kv->found) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: a message from a banned address");
        err = NGX_HOTLINE_E_BANNED;
    }

    if (err != NGX_HOTLINE_OK) {
        dop->done(dop->op, err, NULL);
        ngx_free(dop);
        return;
    }

    ngx_http_hotline_call_message(&s->ref, dop->name, dop->name_len,
                                  &dop->members, ngx_http_hotline_desk_left,
                                  dop);
}


static void
ngx_http_hotline_desk_left(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_desk_op_t *dop = data;

    ngx_str_t                    id, name;
    ngx_http_hotline_session_t  *s;
    u_char                       hex[NGX_HOTLINE_ID_HEX];

    s = dop->session;

    if (err == NGX_HOTLINE_OK) {
        /* agents hear of it on Telegram, as of a new call */

        id.data = hex;
        id.len = ngx_http_hotline_hex(hex, res->call_id, NGX_HOTLINE_ID_LEN)
                 - hex;
        name.data = dop->name;
        name.len = dop->name_len;

        (void) ngx_http_hotline_notify_message((ngx_cycle_t *) ngx_cycle,
                                               &id, &name, dop->callback);

        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: %s left call_id=%*s",
                      dop->callback ? "a callback request" : "a message",
                      (size_t) NGX_HOTLINE_ID_HEX, hex);
    }

    if (err == NGX_HOTLINE_OK && !s->established) {
        /* instead of a call: nothing more comes on this connection */
        dop->done(dop->op, err, res);
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_WS_CLOSE_NORMAL,
                                  "message left");

    } else {
        /* instead of waiting: its call ends (ended, then closed) */
        dop->done(dop->op, err, res);
    }

    ngx_free(dop);
}


static void
ngx_http_hotline_desk_rated(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_desk_op_t *dop = data;

    ngx_http_hotline_session_t  *s;

    s = dop->session;

    dop->done(dop->op, err, res);

    /* the rating, said or refused, is all this connection was for */
    ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_WS_CLOSE_NORMAL,
                              err == NGX_HOTLINE_OK ? "rated" : "not rated");

    ngx_free(dop);
}


/* a claim (done) of a message: the first goes on to amend its record */

static void
ngx_http_hotline_desk_locked(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_desk_op_t *dop = data;

    if (err == NGX_HOTLINE_OK && kv->number != 1) {
        err = (dop->type == NGX_HOTLINE_MSG_CLAIM) ? NGX_HOTLINE_E_TAKEN
                                                   : NGX_HOTLINE_E_NOT_FOUND;
    }

    if (err != NGX_HOTLINE_OK) {
        dop->done(dop->op, err, NULL);

    } else {
        ngx_http_hotline_call_amend(dop->id, &dop->members,
                                    dop->done, dop->op);
    }

    ngx_free(dop);
}


/* "<prefix><id hex>", in a static buffer: the store copies the key */

static ngx_str_t *
ngx_http_hotline_desk_key(const char *prefix, u_char *id)
{
    u_char            *p;
    static ngx_str_t   key;
    static u_char      buf[16 + NGX_HOTLINE_ID_HEX];

    p = ngx_cpymem(buf, prefix, ngx_strlen(prefix));
    p = ngx_hex_dump(p, id, NGX_HOTLINE_ID_LEN);

    key.data = buf;
    key.len = p - buf;

    return &key;
}


/* an ended call, to its customer: how long it may rate the call */

u_char *
ngx_http_hotline_session_ended(u_char *p, ngx_http_hotline_event_t *ev)
{
    ngx_http_hotline_desk_conf_t  *dcf;

    dcf = ngx_http_hotline_desk();

    if (ev->answered && dcf->rating_time
        && ev->reason != NGX_HOTLINE_END_BANNED)
    {
        p = ngx_sprintf(p, ",\"rating\":%M", dcf->rating_time / 1000);
    }

    return p;
}



/* what the session follows of the desk's events as it writes them */

void
ngx_http_hotline_session_event(ngx_http_hotline_session_t *s,
    ngx_http_hotline_event_t *ev)
{
    if (ev->type == NGX_HOTLINE_EV_TRANSFER
        && s->role == NGX_HOTLINE_ROLE_CUSTOMER
        && ev->state == NGX_HOTLINE_TRANSFER_WAITING)
    {
        /* back in the queue, at its place: its position is told again */
        s->waiting = 1;
        s->position = 0;
        s->queue_dirty = 1;
    }
}
