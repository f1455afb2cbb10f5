
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_session.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_call_tx.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_doorbell.h"
#include "ngx_http_hotline_move.h"
#include "ngx_http_hotline_ws_move.h"


/*
 * hotline_colocate: once a customer's call is accepted by an agent whose
 * connection another worker of the node holds, the customer's connection
 * goes to that worker, so that the call's messages stay in one process
 * (a message between workers costs a wake-up of the other and the cache
 * lines of its bytes).  It goes between two messages, when nothing of
 * it is under way: its transport's state, then the session's (below),
 * with the descriptor.  The worker that takes it attaches the party's
 * inbox after what was written to the client; the one it left lets the
 * inbox go.  The client sees nothing; the store keeps the party as it
 * was (no grace period, its peer is not told).
 */

#define NGX_HOTLINE_MOVE_TRIES  16         /* drains with no agent found */


typedef struct {
    uint32_t                       role;
    uint32_t                       ping_n;
    uint32_t                       unconfirmed;
    uint32_t                       strikes;
    uint32_t                       connected;
    uint64_t                       delivered;  /* written to the client */
    uint64_t                       ticket;
    uint64_t                       ping_seq;
    ngx_msec_t                     accepted_at;
    ngx_msec_t                     tat;
    u_char                         token[NGX_HOTLINE_ID_LEN];
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
} ngx_http_hotline_session_move_t;


typedef struct {
    ngx_http_hotline_ws_move_t       ws;       /* first: the transport's */
    ngx_http_hotline_session_move_t  session;
} ngx_http_hotline_hand_over_t;


static ngx_int_t ngx_http_hotline_session_hand_over_in(ngx_socket_t fd,
    u_char *msg, size_t len, ngx_http_hotline_hand_over_t *h);
static void ngx_http_hotline_session_moved(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);


/* its call was accepted: it may go to its agent's worker */

void
ngx_http_hotline_session_move_want(ngx_http_hotline_session_t *s)
{
    if (!s->ws.conf->colocate || s->role != NGX_HOTLINE_ROLE_CUSTOMER
        || ngx_http_hotline_store()->owner == NULL
        || s->ws.connection->ssl)
    {
        return;
    }

    s->move = NGX_HOTLINE_MOVE_WANTED;
    s->move_tries = 0;
    s->ws.want_drained = 1;

    /*
     * who its peer is now: the connection's view of its record is from
     * before the accept (waiting, or in a call with the agent that
     * transferred it); until it is back the move waits (ref.version 0)
     */
    ngx_http_hotline_call_look(&s->ref);
}


/* all it had to write is written: whether it goes now */

void
ngx_http_hotline_session_drained(ngx_http_hotline_ws_t *ws)
{
    ngx_http_hotline_session_t *s = (ngx_http_hotline_session_t *) ws;

    ngx_int_t                          rc;
    ngx_pid_t                          pid;
    uint64_t                           generation;
    ngx_http_hotline_hand_over_t       h;
    ngx_http_hotline_consumer_info_t   ci;

    if (s->move != NGX_HOTLINE_MOVE_WANTED) {
        ws->want_drained = 0;
        return;
    }

    /* between two messages: nothing of it under way */

    if (ngx_exiting || ngx_terminate || !s->established || s->waiting
        || !ngx_queue_empty(&s->ops) || s->ref.ops || s->ref.detached
        || !ngx_queue_empty(&s->ref.relays) || s->ref.consumer == NULL
        || !s->ref.has_token || s->ref.version == 0
        || s->ref.state != NGX_HOTLINE_ACTIVE)
    {
        return;
    }

    pid = ngx_http_hotline_store()->owner(
                                       ngx_http_hotline_pkey(s->ref.peer));

    if (pid == 0) {
        /* the agent is between connections */
        if (++s->move_tries == NGX_HOTLINE_MOVE_TRIES) {
            s->move = NGX_HOTLINE_MOVE_DONE;
            ws->want_drained = 0;
        }

        return;
    }

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    generation = ngx_http_hotline_mailbox_generation(pid);
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (pid == ngx_pid || generation != ngx_http_hotline_generation) {
        /* here already, or a worker of another configuration */
        s->move = NGX_HOTLINE_MOVE_DONE;
        ws->want_drained = 0;
        return;
    }

    ngx_memzero(&h.session, sizeof(ngx_http_hotline_session_move_t));

    ngx_http_hotline_store()->consumer_info(s->ref.consumer, &ci);

    h.session.role = s->role;
    h.session.ping_n = s->ping_n;
    h.session.unconfirmed = s->unconfirmed;
    h.session.strikes = s->strikes;
    h.session.connected = s->connected;
    h.session.delivered = ci.delivered;
    h.session.ticket = s->ticket;
    h.session.ping_seq = s->ping_seq;
    h.session.accepted_at = s->accepted_at;
    h.session.tat = s->tat;
    ngx_memcpy(h.session.token, s->ref.token, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(h.session.call_id, s->call_id, NGX_HOTLINE_ID_LEN);

    rc = ngx_http_hotline_ws_hand_over(ws, pid, (u_char *) &h,
                                       sizeof(ngx_http_hotline_hand_over_t));

    if (rc == NGX_DECLINED) {
        /* the next drain */
        return;
    }

    ngx_http_hotline_count_moved(rc == NGX_OK ? 0 : 1);

    if (rc == NGX_ERROR) {
        s->move = NGX_HOTLINE_MOVE_DONE;
        ws->want_drained = 0;
    }

    /* NGX_OK: s is closed, freed when the caller lets go */
}


/*
 * a hand-over's bytes into h, their shape checked (a wrong one gets a zero
 * magic: the ws layer refuses it); NGX_ERROR: not even its size, fd closed
 */

static ngx_int_t
ngx_http_hotline_session_hand_over_in(ngx_socket_t fd, u_char *msg,
    size_t len, ngx_http_hotline_hand_over_t *h)
{
    if (len != sizeof(ngx_http_hotline_hand_over_t)) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: a hand-over of %uz bytes, its connection "
                      "closed", len);
        (void) ngx_close_socket(fd);
        return NGX_ERROR;
    }

    ngx_memcpy(h, msg, len);

    if (h->ws.size != len || h->session.role != NGX_HOTLINE_ROLE_CUSTOMER) {
        h->ws.magic = 0;
    }

    return NGX_OK;
}


/* a hand-over that came as this worker exits: not taken */

void
ngx_http_hotline_session_refuse(ngx_socket_t fd, u_char *msg, size_t len)
{
    ngx_http_hotline_hand_over_t  h;

    if (ngx_http_hotline_session_hand_over_in(fd, msg, len, &h) == NGX_OK) {
        ngx_http_hotline_ws_refuse(fd, &h.ws);
    }
}


/* a connection another worker handed over; fd is ours to close or keep */

void
ngx_http_hotline_session_adopt(ngx_socket_t fd, u_char *msg, size_t len)
{
    ngx_connection_t              *c;
    ngx_http_hotline_session_t    *s;
    ngx_http_hotline_hand_over_t   h;

    if (ngx_http_hotline_session_hand_over_in(fd, msg, len, &h) != NGX_OK) {
        return;
    }

    c = ngx_http_hotline_ws_adopt(fd, &h.ws);
    if (c == NULL) {
        return;
    }

    s = ngx_pmemalign(c->pool, sizeof(ngx_http_hotline_session_t),
                      NGX_ALIGNMENT);
    if (s == NULL) {
        ngx_http_hotline_ws_drop(c, &h.ws);
        return;
    }

    ngx_memzero(s, sizeof(ngx_http_hotline_session_t));

    ngx_http_hotline_ws_adopted(&s->ws, c, &h.ws,
                                &ngx_http_hotline_session_handler);

    s->role = NGX_HOTLINE_ROLE_CUSTOMER;
    s->agent = &ngx_http_hotline_no_agent;
    s->move = NGX_HOTLINE_MOVE_DONE;

    s->ping_n = h.session.ping_n;
    s->unconfirmed = h.session.unconfirmed;
    s->strikes = h.session.strikes;
    s->connected = h.session.connected ? 1 : 0;
    s->ticket = h.session.ticket;
    s->ping_seq = h.session.ping_seq;
    s->accepted_at = h.session.accepted_at;
    s->tat = h.session.tat;
    ngx_memcpy(s->call_id, h.session.call_id, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_session_join(s);

    if (ngx_exiting) {
        /* this worker is going: the client resumes elsewhere */
        c->close = 1;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "hotline session: handed over, from seq %uL",
                   h.session.delivered);

    /* nothing is read until the party is ours */
    s->ws.pending++;
    ngx_http_hotline_call_move(&s->ref, h.session.token, h.session.delivered,
                               ngx_http_hotline_session_moved, s);
}


static void
ngx_http_hotline_session_moved(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_session_t *s = data;

    if (s->ws.closed) {
        goto done;
    }

    if (err != NGX_HOTLINE_OK) {
        /* it changed meanwhile: the client resumes, as after a drop */
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: a connection handed over did not get its "
                      "party (error %ui)", err);

        if (err == NGX_HOTLINE_E_CONFLICT) {
            ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_REPLACED,
                                      "replaced");

        } else if (err == NGX_HOTLINE_E_EXPIRED) {
            ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_EXPIRED,
                                      "session lost");

        } else {
            ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_WS_CLOSE_INTERNAL,
                                      "try again");
        }

        ngx_http_hotline_ws_go(&s->ws);
        goto done;
    }

    s->waiting = res->waiting;

    if (s->waiting) {
        /* back in the queue meanwhile (a transfer): its position */
        ngx_http_hotline_established(s);

    } else {
        s->established = 1;
        ngx_http_hotline_ws_timer(&s->ws, s->ws.conf->ping_interval);
    }

    ngx_http_hotline_ws_go(&s->ws);
    ngx_http_hotline_session_deliver(s);

done:

    ngx_http_hotline_ws_release(&s->ws);
}
