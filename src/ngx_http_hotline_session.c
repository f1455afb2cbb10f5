
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_session.h"
#include "ngx_http_hotline_auth.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_call_queue.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_alloc.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_doorbell.h"
#include "ngx_http_hotline_move.h"
#include "ngx_http_hotline_notify.h"
#include "ngx_http_hotline_desk.h"
#include "ngx_http_hotline_proto_desk.h"


/*
 * The signaling session of one connection: validates client messages,
 * turns them into operations of the call model, and writes what the
 * party's inbox holds (events, relayed messages) and queue updates to
 * the client.  This is where events become JSON, and where the delivery
 * policy lives: slow consumers, replaced and lost sessions.  Nothing
 * here knows which store backend runs.
 */


#define NGX_HOTLINE_OPS_FREE   64       /* kept for reuse */
#define NGX_HOTLINE_ETA_EVERY  5000     /* ms: waiting customers' estimates */
#define NGX_HOTLINE_WAVE_SENDS 64       /* positions a wave writes a turn */
#define NGX_HOTLINE_WAVE_LOOKS 1024     /* sessions it looks at a turn */


/*
 * Answers wait for the answers of the messages sent before them: at
 * most this many messages of one connection are unanswered.  The
 * connection is not read while more than a few are (the WebSocket
 * layer's pins); a client that packs more into one read is closed
 * (1008) after their answers.
 */
#define NGX_HOTLINE_ANSWERS_MAX  512


/*
 * A message of the session without its answer yet: at the model (it
 * carries the message's id to its answer), or answered and held until
 * the messages before it have theirs, so that a client is answered in
 * the order it sent on any store (the embedded one answers at once,
 * Redis after a round trip per step of the operation).
 */
typedef struct {
    ngx_http_hotline_session_t  *session;
    ngx_queue_t                  queue;     /* the session's, in order */
    ngx_uint_t                   answered;  /* held: its answer is */
    ngx_uint_t                   code;      /* an ack (OK), or an error */
    u_char                       field[NGX_HOTLINE_FIELD_MAX + 1];
    u_char                       id[NGX_HOTLINE_MSG_ID_MAX];
    size_t                       id_len;
    /* join */
    u_char                       name[NGX_HOTLINE_CUSTOMER_NAME_MAX];
    size_t                       name_len;
    /* resume, after the ban check */
    ngx_uint_t                   type;
    u_char                       token[NGX_HOTLINE_ID_LEN];
    uint64_t                     last_seq;
} ngx_http_hotline_op_t;


static ngx_http_hotline_op_t *ngx_http_hotline_op(
    ngx_http_hotline_session_t *s, ngx_http_hotline_msg_t *m);
static void ngx_http_hotline_join_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_login_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_resume_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_op_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_ban_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_ban_stored(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
static void ngx_http_hotline_welcome(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_desk_welcome(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_transcript(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_transcript_got(void *data, ngx_uint_t err,
    ngx_str_t *lines, ngx_uint_t n);
static void ngx_http_hotline_error(ngx_http_hotline_session_t *s,
    ngx_uint_t code, ngx_http_hotline_msg_t *m);
static void ngx_http_hotline_refuse(ngx_http_hotline_session_t *s,
    ngx_uint_t code, ngx_http_hotline_msg_t *m);
static void ngx_http_hotline_op_error(ngx_http_hotline_op_t *op,
    ngx_uint_t code);
static void ngx_http_hotline_op_close(ngx_http_hotline_op_t *op,
    ngx_uint_t err, ngx_uint_t close, const char *reason);
static void ngx_http_hotline_ack(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_answer(ngx_http_hotline_op_t *op,
    ngx_uint_t code);
static void ngx_http_hotline_answer_write(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_op_free(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_join_checked(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
static ngx_int_t ngx_http_hotline_rate_exceeded(
    ngx_http_hotline_session_t *s, ngx_http_hotline_msg_t *m);
static void ngx_http_hotline_revoked(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);

static void ngx_http_hotline_session_start(ngx_http_hotline_ws_t *ws);
static void ngx_http_hotline_session_message(ngx_http_hotline_ws_t *ws,
    u_char *data, size_t len);
static void ngx_http_hotline_session_writable(ngx_http_hotline_ws_t *ws);
static void ngx_http_hotline_session_timer(ngx_http_hotline_ws_t *ws);
static void ngx_http_hotline_session_pong(ngx_http_hotline_ws_t *ws,
    u_char *data, size_t len);
static ngx_int_t ngx_http_hotline_session_ping(ngx_http_hotline_session_t *s,
    uint64_t seq);
static void ngx_http_hotline_session_closed(ngx_http_hotline_ws_t *ws);

static void ngx_http_hotline_on_consumer(void *data, ngx_uint_t wake);
static void ngx_http_hotline_on_queue(void);
static void ngx_http_hotline_on_auth(void);
static void ngx_http_hotline_on_up(void);
static void ngx_http_hotline_on_down(void);
static void ngx_http_hotline_queue_event(ngx_event_t *ev);
static void ngx_http_hotline_position_timer(ngx_event_t *ev);
static void ngx_http_hotline_position_later(ngx_http_hotline_session_t *s);
static void ngx_http_hotline_eta_event(ngx_event_t *ev);
static void ngx_http_hotline_queue_done(ngx_http_hotline_queue_t *q,
    void *data);
static ngx_uint_t ngx_http_hotline_position_find(ngx_http_hotline_queue_t *q,
    uint64_t ticket);
static ngx_uint_t ngx_http_hotline_position_tell(ngx_http_hotline_session_t *s,
    ngx_http_hotline_queue_t *q, ngx_uint_t pos, int64_t now, ngx_msec_t at);
static void ngx_http_hotline_wave_start(ngx_http_hotline_queue_t *q,
    ngx_uint_t sessions);
static void ngx_http_hotline_wave_event(ngx_event_t *ev);
static void ngx_http_hotline_wave_forget(ngx_http_hotline_session_t *s);


static ngx_queue_t   ngx_http_hotline_local;
static ngx_event_t   ngx_http_hotline_queue_ev;

/*
 * Positions are sent at most once per hotline_position_interval per
 * customer: the whole queue is read when a customer waits for its first
 * position, when the interval has passed since the last whole read, or
 * when the timer of a position held back fires; otherwise only its head.
 */
static ngx_event_t   ngx_http_hotline_position_ev;
static ngx_msec_t    ngx_http_hotline_position_due;
static ngx_msec_t    ngx_http_hotline_full_at;       /* the last whole read */
static ngx_uint_t    ngx_http_hotline_full_wanted;
static ngx_msec_t    ngx_http_hotline_position_interval;
static ngx_event_t   ngx_http_hotline_eta_ev;
static ngx_uint_t    ngx_http_hotline_eta_wanted;
static ngx_uint_t    ngx_http_hotline_queue_changed;

/*
 * The wave: the customers behind the head are told their positions from
 * a copy of the last whole read (or, for the estimates' count down, the
 * positions they were told), a bounded batch per event-loop turn, so
 * that an accept never waits behind all the customers of a worker.
 */
static ngx_event_t               ngx_http_hotline_wave_ev;
static ngx_http_hotline_queue_t  ngx_http_hotline_wave_q;
static ngx_uint_t                ngx_http_hotline_wave_size;
static ngx_queue_t              *ngx_http_hotline_wave_at;   /* next one */
static ngx_uint_t                ngx_http_hotline_wave_left; /* to look at */
static ngx_msec_t                ngx_http_hotline_wave_from; /* its read */
static uint64_t                  ngx_http_hotline_wave_told; /* by a head
                                                               read since */
static ngx_http_hotline_pool_t     ngx_http_hotline_ops;

/* one buffer per worker for work that never nests */
static ngx_http_hotline_scratch_t  ngx_http_hotline_buf;

/* a customer's agent fields: read, never written */
ngx_http_hotline_agent_id_t         ngx_http_hotline_no_agent;

ngx_http_hotline_ws_handler_t  ngx_http_hotline_session_handler = {
    ngx_http_hotline_session_start,
    ngx_http_hotline_session_message,
    ngx_http_hotline_session_writable,
    ngx_http_hotline_session_timer,
    ngx_http_hotline_session_pong,
    ngx_http_hotline_session_closed,
    ngx_http_hotline_session_drained      /* ngx_http_hotline_session_move.c */
};

static ngx_http_hotline_store_events_t  ngx_http_hotline_session_events = {
    ngx_http_hotline_on_consumer,
    ngx_http_hotline_on_queue,
    ngx_http_hotline_on_auth,
    ngx_http_hotline_on_up,
    ngx_http_hotline_on_down
};


ngx_int_t
ngx_http_hotline_session_init_worker(ngx_cycle_t *cycle)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    ngx_queue_init(&ngx_http_hotline_local);
    ngx_http_hotline_pool_init(&ngx_http_hotline_ops,
                               sizeof(ngx_http_hotline_op_t),
                               NGX_HOTLINE_OPS_FREE);

    ngx_http_hotline_queue_ev.handler = ngx_http_hotline_queue_event;
    ngx_http_hotline_queue_ev.log = cycle->log;

    ngx_http_hotline_timer_init(&ngx_http_hotline_position_ev,
                                ngx_http_hotline_position_timer, cycle);
    ngx_http_hotline_full_wanted = 1;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_hotline_module);
    ngx_http_hotline_position_interval = hmcf->position_interval;
    ngx_http_hotline_timer_init(&ngx_http_hotline_eta_ev,
                                ngx_http_hotline_eta_event, cycle);
    ngx_add_timer(&ngx_http_hotline_eta_ev, NGX_HOTLINE_ETA_EVERY);

    ngx_http_hotline_wave_ev.handler = ngx_http_hotline_wave_event;
    ngx_http_hotline_wave_ev.log = cycle->log;
    ngx_http_hotline_wave_at = ngx_queue_sentinel(&ngx_http_hotline_local);

    ngx_http_hotline_store_listen(&ngx_http_hotline_session_events);

    return ngx_http_hotline_move_init(cycle, ngx_http_hotline_session_adopt,
                                      ngx_http_hotline_session_refuse);
}


/* a new session joins this worker's (a handshake, a hand-over) */

void
ngx_http_hotline_session_join(ngx_http_hotline_session_t *s)
{
    ngx_queue_insert_tail(&ngx_http_hotline_local, &s->local);
    ngx_queue_init(&s->ops);

    ngx_http_hotline_ref_init(&s->ref, s->role, s);

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    ngx_http_hotline_mailbox_conns(s->role, 1);
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
}


/* the connection's events; the session is the connection (ws first) */

static void
ngx_http_hotline_session_start(ngx_http_hotline_ws_t *ws)
{
    ngx_http_hotline_session_t *s = (ngx_http_hotline_session_t *) ws;

    ngx_http_hotline_session_join(s);

    if (s->role == NGX_HOTLINE_ROLE_AGENT) {
        /* a console that takes its session over knows nothing yet */
        s->fresh = 1;
        s->ws.pending++;
        ngx_http_hotline_call_login(&s->ref, s->agent->sub, s->agent->sub_len,
                                    s->agent->display, s->agent->display_len,
                                    s->agent->resume_from,
                                    ngx_http_hotline_login_done, s);
        return;
    }

    ngx_http_hotline_ws_timer(&s->ws, s->ws.conf->handshake_timeout);
}


static void
ngx_http_hotline_session_closed(ngx_http_hotline_ws_t *ws)
{
    ngx_http_hotline_session_t *s = (ngx_http_hotline_session_t *) ws;

    if (s->local.next) {
        ngx_http_hotline_wave_forget(s);
        ngx_queue_remove(&s->local);
        s->local.next = NULL;

        ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
        ngx_http_hotline_mailbox_conns(s->role, -1);
        ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    } else if (!s->detach_held) {
        /* closed already, or never started */
        return;
    }

    if (s->ws.moved) {
        /* another worker has the connection now, and takes the party */
        s->ref.moved = 1;
        ngx_http_hotline_call_detach(&s->ref);
        return;
    }

    if (s->ended && !s->ws.closed && !s->ws.close_answered) {
        /*
         * the end of the call was written and our close follows it: the
         * party goes once the client answers the close, which says it
         * read the end; if it never does (the connection died with the
         * end in flight), the party waits for a resume that replays it
         */
        s->detach_held = 1;
        return;
    }

    s->detach_held = 0;
    s->ref.read_all = s->ws.close_answered;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->ws.connection->log, 0,
                   "hotline session: closed, %ui operations under way",
                   (ngx_uint_t) s->ref.ops);

    ngx_http_hotline_call_detach(&s->ref);
}


static void
ngx_http_hotline_session_message(ngx_http_hotline_ws_t *ws, u_char *data,
    size_t len)
{
    ngx_http_hotline_session_t *s = (ngx_http_hotline_session_t *) ws;

    u_char                       *out;
    ngx_uint_t                    rc, opening;
    ngx_time_t                   *tp;
    ngx_http_hotline_op_t        *op;
    ngx_http_hotline_msg_t        m;
    ngx_http_hotline_desk_msg_t   dm;

    if (s->ws.close_later) {
        /* closing: what follows is not read */
        return;
    }

    if (s->ops_n >= NGX_HOTLINE_ANSWERS_MAX) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: client sent %uD messages not yet answered",
                      (uint32_t) s->ops_n);

        /* with the last release, after their answers */
        s->ws.close_later = NGX_HOTLINE_WS_CLOSE_POLICY;
        s->ws.close_reason = "too many messages unanswered";
        return;
    }

    out = ngx_http_hotline_scratch(&ngx_http_hotline_buf, 6 * len + 1024);
    if (out == NULL) {
        ngx_http_hotline_refuse(s, NGX_HOTLINE_E_INTERNAL, NULL);
        return;
    }

    /* out[0]: the event type of a relayed message */

    rc = ngx_http_hotline_proto_parse(data, len, s->role, &m, out + 1,
                                      6 * len + 1023);

    if (rc == NGX_HOTLINE_E_BAD_TYPE) {
        /* the support desk's messages */
        rc = ngx_http_hotline_desk_parse(data, len, s->role,
                                         ngx_http_hotline_desk()->dispositions,
                                         &m, &dm, out + 1, 6 * len + 1023);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, s->ws.connection->log, 0,
                   "hotline session: message of %uz bytes, type %ui, rc %ui",
                   len, m.type, rc);

    /* parsed first, so that a refusal names the message's id */

    if (ngx_http_hotline_rate_exceeded(s, &m)) {
        return;
    }

    if (rc != NGX_HOTLINE_OK) {
        ngx_http_hotline_refuse(s, rc, &m);
        return;
    }

    /*
     * a customer starts with join or resume, and only once; or it comes
     * to leave a message (also instead of waiting) or rate its call
     */

    opening = (m.type == NGX_HOTLINE_MSG_JOIN
               || m.type == NGX_HOTLINE_MSG_RESUME
               || m.type == NGX_HOTLINE_MSG_RATE);

    if (s->role == NGX_HOTLINE_ROLE_CUSTOMER
        && m.type != NGX_HOTLINE_MSG_LEAVE
        && (s->established ? opening : !opening))
    {
        ngx_http_hotline_refuse(s, NGX_HOTLINE_E_BAD_STATE, &m);
        return;
    }

    if (m.type == NGX_HOTLINE_MSG_CHAT) {
        /* the server's clock stamps chat lines; out has room for it */
        tp = ngx_timeofday();
        m.out_len = ngx_http_hotline_proto_ts(m.out + m.out_len,
                                              (uint64_t) tp->sec * 1000
                                              + tp->msec)
                    - m.out;
    }

    /* the id outlives this call: the model may complete later */

    op = ngx_http_hotline_op(s, &m);
    if (op == NULL) {
        ngx_http_hotline_refuse(s, NGX_HOTLINE_E_INTERNAL, &m);
        return;
    }

    s->ws.pending++;

    switch (m.type) {

    case NGX_HOTLINE_MSG_JOIN:

        if (!ngx_http_hotline_hours_open(ngx_http_hotline_desk()->hours,
                                         ngx_time()))
        {
            /* outside the opening hours: a message is taken, no call */
            ngx_http_hotline_op_done(op, NGX_HOTLINE_E_CLOSED, NULL);
            break;
        }

        if (ngx_http_hotline_ban_applies(s)) {
            /* is the address banned?  The join goes on from the answer */
            ngx_http_hotline_store()->kv_get(
                          ngx_http_hotline_ban_key(s->ws.addr.data,
                                                   s->ws.addr.len),
                          ngx_http_hotline_join_checked, op);
            break;
        }

        ngx_http_hotline_call_join(&s->ref, m.name, m.name_len, &s->ws.addr,
                                   ngx_http_hotline_join_done, op);
        break;

    case NGX_HOTLINE_MSG_CONNECTED:

        /* the page's media is up: how long since the call was accepted */

        if (s->accepted_at == 0) {
            ngx_http_hotline_op_done(op, NGX_HOTLINE_E_BAD_STATE, NULL);
            break;
        }

        if (!s->connected) {
            s->connected = 1;
            ngx_http_hotline_observe(s->role == NGX_HOTLINE_ROLE_AGENT
                                     ? NGX_HOTLINE_HIST_CONNECT_A
                                     : NGX_HOTLINE_HIST_CONNECT_C,
                                     ngx_current_msec - s->accepted_at);
        }

        ngx_http_hotline_op_done(op, NGX_HOTLINE_OK, NULL);
        break;

    case NGX_HOTLINE_MSG_BAN:
        ngx_http_hotline_call_ban(&s->ref, m.call_id,
                                  ngx_http_hotline_ban_done, op);
        break;

    case NGX_HOTLINE_MSG_RESUME:
        /* a page that kept nothing (reloaded) gets the transcript too */
        s->fresh = (m.last_seq == 0);

        if (s->role == NGX_HOTLINE_ROLE_CUSTOMER
            && ngx_http_hotline_ban_applies(s))
        {
            /* a banned client does not come back either */
            ngx_memcpy(op->token, m.token, NGX_HOTLINE_ID_LEN);
            op->last_seq = m.last_seq;
            ngx_http_hotline_store()->kv_get(
                          ngx_http_hotline_ban_key(s->ws.addr.data,
                                                   s->ws.addr.len),
                          ngx_http_hotline_join_checked, op);
            break;
        }

        ngx_http_hotline_call_resume(&s->ref, m.token, m.last_seq,
                                     s->agent->sub, s->agent->sub_len,
                                     ngx_http_hotline_resume_done, op);
        break;

    case NGX_HOTLINE_MSG_ACCEPT:
        ngx_http_hotline_call_accept(&s->ref, m.has_call_id ? m.call_id : NULL,
                                     ngx_http_hotline_op_done, op);
        break;

    case NGX_HOTLINE_MSG_REJECT:
        ngx_http_hotline_call_reject(&s->ref, m.call_id,
                                     ngx_http_hotline_op_done, op);
        break;

    case NGX_HOTLINE_MSG_CANCEL:
    case NGX_HOTLINE_MSG_HANGUP:
        ngx_http_hotline_call_hangup(&s->ref, ngx_http_hotline_op_done, op);
        break;

    case NGX_HOTLINE_MSG_PRESENCE:
    case NGX_HOTLINE_MSG_HOLD:
    case NGX_HOTLINE_MSG_TRANSFER:
    case NGX_HOTLINE_MSG_NOTE:
    case NGX_HOTLINE_MSG_RATE:
    case NGX_HOTLINE_MSG_LEAVE:
    case NGX_HOTLINE_MSG_CLAIM:
    case NGX_HOTLINE_MSG_DONE:
        ngx_http_hotline_session_desk(s, op, ngx_http_hotline_op_done, &m,
                                      &dm);
        break;

    case NGX_HOTLINE_MSG_CHAT:
        /* kept in the call's transcript too: a whole JSON object */
        out[0] = NGX_HOTLINE_EV_RELAY;
        out[m.out_len + 1] = '}';
        ngx_http_hotline_call_relay_logged(&s->ref, out, m.out_len + 1,
                                           ngx_http_hotline_op_done, op);
        break;

    default: /* offer, answer, ice, media */
        out[0] = NGX_HOTLINE_EV_RELAY;
        ngx_http_hotline_call_relay(&s->ref, out, m.out_len + 1,
                                    ngx_http_hotline_op_done, op);
        break;
    }
}


/* a session back in its call gets the transcript so far */

static void
ngx_http_hotline_transcript(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res)
{
    if (!(res->in_call || (s->role == NGX_HOTLINE_ROLE_CUSTOMER
                           && res->waiting))
        || !s->fresh
        || ngx_http_hotline_desk()->transcript == 0
        || s->ws.closed || s->ws.closing)
    {
        return;
    }

    s->ws.pending++;
    ngx_http_hotline_call_transcript(res->call_id,
                                     ngx_http_hotline_transcript_got, s);
}


static void
ngx_http_hotline_transcript_got(void *data, ngx_uint_t err,
    ngx_str_t *lines, ngx_uint_t n)
{
    ngx_http_hotline_session_t *s = data;

    u_char      *p, *last;
    size_t       size;
    ngx_uint_t   i, k;

    if (err != NGX_HOTLINE_OK || s->ws.closed || s->ws.closing) {
        ngx_http_hotline_ws_release(&s->ws);
        return;
    }

    /* a customer gets the chat; agents also notes and transfers */

    for (i = 0, k = 0; i < n; i++) {
        if (s->role == NGX_HOTLINE_ROLE_AGENT
            || (lines[i].len > sizeof("{\"type\":\"chat\"") - 1
                && ngx_strncmp(lines[i].data, "{\"type\":\"chat\"",
                               sizeof("{\"type\":\"chat\"") - 1) == 0))
        {
            lines[k++] = lines[i];
        }
    }

    n = k;

    if (n == 0) {
        ngx_http_hotline_ws_release(&s->ws);
        return;
    }

    /*
     * the newest lines that fit in half the send queue (a client that
     * comes back reads them with what is replayed after them)
     */

    size = 128;

    for (i = n; i > 0; i--) {
        if (size + lines[i - 1].len + 1 > s->ws.conf->send_queue / 2) {
            break;
        }

        size += lines[i - 1].len + 1;
    }

    lines += i;
    n -= i;

    p = ngx_http_hotline_scratch(&ngx_http_hotline_buf, size);

    if (p) {
        last = ngx_http_hotline_proto_transcript(p, s->call_id, lines, n);
        (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, p,
                                        last - p);
    }

    ngx_http_hotline_ws_release(&s->ws);
}


static ngx_http_hotline_op_t *
ngx_http_hotline_op(ngx_http_hotline_session_t *s, ngx_http_hotline_msg_t *m)
{
    ngx_http_hotline_op_t  *op;

    op = ngx_http_hotline_pool_get(&ngx_http_hotline_ops);
    if (op == NULL) {
        return NULL;
    }

    op->session = s;
    op->answered = 0;
    op->field[0] = '\0';
    ngx_queue_insert_tail(&s->ops, &op->queue);
    s->ops_n++;

    ngx_memcpy(op->id, m->id, m->id_len);
    op->id_len = m->id_len;

    op->name_len = (m->type == NGX_HOTLINE_MSG_JOIN) ? m->name_len : 0;

    if (op->name_len) {
        ngx_memcpy(op->name, m->name, op->name_len);
    }

    op->type = m->type;

    return op;
}


/*
 * Its answer is written (or not to be): the op goes, and the answers
 * held for it follow.  Each op pins the connection, so that a session
 * closed meanwhile stays until the store has answered them all.
 */

static void
ngx_http_hotline_op_free(ngx_http_hotline_op_t *op)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_session_t  *s;

    s = op->session;

    ngx_queue_remove(&op->queue);
    s->ops_n--;
    ngx_http_hotline_pool_put(&ngx_http_hotline_ops, op);

    while (!ngx_queue_empty(&s->ops)) {
        q = ngx_queue_head(&s->ops);
        op = ngx_queue_data(q, ngx_http_hotline_op_t, queue);

        if (!op->answered) {
            break;
        }

        ngx_http_hotline_answer_write(op);

        ngx_queue_remove(q);
        s->ops_n--;
        ngx_http_hotline_pool_put(&ngx_http_hotline_ops, op);

        /* not the last pin: the caller's op still holds one */
        ngx_http_hotline_ws_release(&s->ws);
    }

    ngx_http_hotline_ws_release(&s->ws);
}


/*
 * the answer to op (code: NGX_HOTLINE_OK, an ack): written now if it is
 * the first, or held until then; frees op
 */

static void
ngx_http_hotline_answer(ngx_http_hotline_op_t *op, ngx_uint_t code)
{
    ngx_http_hotline_session_t  *s;

    s = op->session;
    op->code = code;

    if (ngx_queue_head(&s->ops) != &op->queue) {
        op->answered = 1;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->ws.connection->log, 0,
                       "hotline session: answer held, %uD unanswered",
                       (uint32_t) s->ops_n);
        return;
    }

    ngx_http_hotline_answer_write(op);
    ngx_http_hotline_op_free(op);
}


static void
ngx_http_hotline_answer_write(ngx_http_hotline_op_t *op)
{
    u_char                  *last;
    ngx_http_hotline_msg_t   m;
    u_char                   buf[NGX_HOTLINE_ERROR_MAX];

    if (op->code == NGX_HOTLINE_OK) {
        if (op->id_len == 0) {
            return;
        }

        last = ngx_http_hotline_proto_ack(buf, op->id, op->id_len);

    } else {
        m.id_len = op->id_len;
        ngx_memcpy(m.id, op->id, op->id_len);
        m.field = op->field[0] ? (const char *) op->field : NULL;

        last = ngx_http_hotline_proto_error(buf, op->code, &m);
    }

    (void) ngx_http_hotline_ws_send(&op->session->ws, NGX_HOTLINE_WS_OP_TEXT,
                                    buf, last - buf);
}


/* a join or resume from a client that is not banned goes on */

static void
ngx_http_hotline_join_checked(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_op_t  *op = data;

    ngx_http_hotline_session_t  *s;

    s = op->session;

    if (s->ws.closed || s->ws.closing) {
        ngx_http_hotline_op_free(op);
        return;
    }

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_op_error(op, err);
        return;
    }

    if (kv->found) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: %s from a banned address",
                      op->type == NGX_HOTLINE_MSG_RESUME ? "resume" : "join");
        ngx_http_hotline_op_close(op, NGX_HOTLINE_E_BANNED,
                                  NGX_HOTLINE_CLOSE_BANNED, "banned");
        return;
    }

    if (op->type == NGX_HOTLINE_MSG_RESUME) {
        ngx_http_hotline_call_resume(&s->ref, op->token, op->last_seq,
                                     s->agent->sub, s->agent->sub_len,
                                     ngx_http_hotline_resume_done, op);
        return;
    }

    ngx_http_hotline_call_join(&s->ref, op->name, op->name_len, &s->ws.addr,
                               ngx_http_hotline_join_done, op);
}


/* the customer is gone for good; its client is banned for a while */

static void
ngx_http_hotline_ban_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_op_t *op = data;

    ngx_http_hotline_session_t  *s;
    u_char                       id[NGX_HOTLINE_ID_HEX];

    s = op->session;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_op_error(op, err);
        return;
    }

    (void) ngx_http_hotline_hex(id, res->call_id, NGX_HOTLINE_ID_LEN);

    ngx_log_error(NGX_LOG_NOTICE, s->ws.connection->log, 0,
                  "hotline: agent \"%*s\" banned call_id=%*s address %*s",
                  s->agent->sub_len, s->agent->sub,
                  (size_t) NGX_HOTLINE_ID_HEX, id, res->addr_len, res->addr);

    if (ngx_http_hotline_ban_client(s, res, ngx_http_hotline_ban_stored, op)
        == NGX_DECLINED)
    {
        ngx_http_hotline_ack(op);
    }
}


/* the ban is in the store: the agent's ack (with Redis, not before) */

static void
ngx_http_hotline_ban_stored(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_op_t *op = data;

    if (err != NGX_HOTLINE_OK) {
        /* the call is banned and ended all the same */
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "hotline: the address ban could not be stored");
    }

    ngx_http_hotline_ack(op);
}


static void
ngx_http_hotline_join_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_op_t *op = data;

    ngx_str_t                    call_id, name;
    ngx_http_hotline_session_t  *s;
    u_char                       hex[NGX_HOTLINE_ID_HEX];

    s = op->session;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_op_error(op, err);
        return;
    }

    s->ticket = res->ticket;

    /* agents hear of the new call on Telegram too */

    call_id.data = hex;
    call_id.len = ngx_http_hotline_hex(hex, res->call_id, NGX_HOTLINE_ID_LEN)
                  - hex;
    name.data = op->name;
    name.len = op->name_len;

    (void) ngx_http_hotline_notify_call((ngx_cycle_t *) ngx_cycle, &call_id,
                                        &name);

    s->waiting = 1;
    ngx_http_hotline_welcome(s, res);

    /*
     * the ack frees op and its pin: the last one of a session that closed
     * meanwhile (a page gone before its join was answered)
     */
    s->ws.pending++;
    ngx_http_hotline_ack(op);
    ngx_http_hotline_established(s);
    ngx_http_hotline_ws_release(&s->ws);
}


static void
ngx_http_hotline_login_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_session_t *s = data;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_error(s, err, NULL);
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_WS_CLOSE_TRY_LATER,
                                  "store unavailable");

    } else {
        ngx_http_hotline_welcome(s, res);
        ngx_http_hotline_desk_welcome(s, res);
        ngx_http_hotline_transcript(s, res);
        ngx_http_hotline_established(s);
    }

    ngx_http_hotline_ws_release(&s->ws);
}


/* an agent's console: its presence and the desk's settings */

static void
ngx_http_hotline_desk_welcome(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res)
{
    u_char                            *last;
    uint64_t                           replay_to;
    ngx_http_hotline_desk_conf_t      *dcf;
    ngx_http_hotline_consumer_info_t   ci;
    u_char                             p[256 + 40 * NGX_HOTLINE_DISPOSITIONS];

    if (s->ws.closed || s->ws.closing) {
        return;
    }

    /* a page back from scratch: what is replayed was its predecessor's */

    replay_to = 0;

    if (s->fresh && s->ref.consumer) {
        ngx_http_hotline_store()->consumer_info(s->ref.consumer, &ci);
        replay_to = ci.replayed;
    }

    if (s->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        /* a page that comes back: where its call is */
        last = ngx_http_hotline_proto_desk_customer(p, res->in_call ? "call"
                                                    : res->waiting ? "waiting"
                                                    : "ended", replay_to);
        (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, p,
                                        last - p);
        return;
    }

    dcf = ngx_http_hotline_desk();

    last = ngx_http_hotline_proto_desk(p, res->presence, res->until,
                                       dcf->dispositions, dcf->away_after,
                                       dcf->wrapup_time,
                                       dcf->transfer_timeout, replay_to);

    (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, p,
                                    last - p);
}


static void
ngx_http_hotline_resume_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_op_t *op = data;

    ngx_http_hotline_session_t  *s;

    s = op->session;

    if (err != NGX_HOTLINE_OK) {

        if (err == NGX_HOTLINE_E_EXPIRED && !s->established) {
            ngx_http_hotline_op_close(op, err, NGX_HOTLINE_CLOSE_EXPIRED,
                                      "resume failed");
            return;
        }

        ngx_http_hotline_op_error(op, err);
        return;
    }

    s->ticket = res->ticket;
    s->waiting = res->waiting;
    s->position = 0;
    ngx_http_hotline_welcome(s, res);
    ngx_http_hotline_desk_welcome(s, res);
    ngx_http_hotline_transcript(s, res);
    ngx_http_hotline_established(s);
    ngx_http_hotline_ack(op);
}


static void
ngx_http_hotline_op_done(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_op_t *op = data;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_op_error(op, err);
        return;
    }

    ngx_http_hotline_ack(op);
}


static void
ngx_http_hotline_welcome(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res)
{
    u_char   *last;
    u_char   *call_id;
    u_char    buf[512];

    if (s->ws.closed || s->ws.closing) {
        return;
    }

    call_id = NULL;

    /* a ping sent before is about the inbox it had */
    s->ping_seq = 0;

    if (s->role == NGX_HOTLINE_ROLE_CUSTOMER || res->in_call) {
        call_id = res->call_id;
        ngx_memcpy(s->call_id, res->call_id, NGX_HOTLINE_ID_LEN);
    }

    last = ngx_http_hotline_proto_welcome(buf, s->role, res->resume, call_id,
                                          s->agent->sub, s->agent->sub_len,
                                          res->resumed, res->gap);

    (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, buf,
                                    last - buf);
}


void
ngx_http_hotline_established(ngx_http_hotline_session_t *s)
{
    if (s->ws.closed || s->ws.closing) {
        return;
    }

    if (!s->established) {
        s->established = 1;

        ngx_http_hotline_ws_timer(&s->ws, s->ws.conf->ping_interval);
    }

    /* a fresh session gets the queue (agents) or its position, at once */
    s->position = 0;
    s->queue_dirty = 1;

    if (s->role != NGX_HOTLINE_ROLE_AGENT) {
        ngx_http_hotline_full_wanted = 1;
    }

    ngx_http_hotline_on_queue();
}


static void
ngx_http_hotline_error(ngx_http_hotline_session_t *s, ngx_uint_t code,
    ngx_http_hotline_msg_t *m)
{
    u_char  *last;
    u_char   buf[NGX_HOTLINE_ERROR_MAX];

    ngx_http_hotline_count_error(code);

    if (s->ws.closed) {
        return;
    }

    last = ngx_http_hotline_proto_error(buf, code, m);

    (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, buf,
                                    last - buf);
}


/*
 * a refusal before the model: written at once, or held while messages
 * that came before have no answer yet
 */

static void
ngx_http_hotline_refuse(ngx_http_hotline_session_t *s, ngx_uint_t code,
    ngx_http_hotline_msg_t *m)
{
    ngx_http_hotline_op_t  *op;

    if (ngx_queue_empty(&s->ops) || s->ws.closed) {
        ngx_http_hotline_error(s, code, m);
        return;
    }

    op = ngx_http_hotline_pool_get(&ngx_http_hotline_ops);
    if (op == NULL) {
        /* no room to hold it */
        ngx_http_hotline_error(s, code, m);
        return;
    }

    ngx_http_hotline_count_error(code);

    op->session = s;
    op->answered = 1;
    op->code = code;
    op->id_len = 0;
    op->field[0] = '\0';
    op->name_len = 0;

    if (m != NULL) {
        ngx_memcpy(op->id, m->id, m->id_len);
        op->id_len = m->id_len;

        if (m->field) {
            (void) ngx_cpystrn(op->field, (u_char *) m->field,
                               NGX_HOTLINE_FIELD_MAX + 1);
        }
    }

    ngx_queue_insert_tail(&s->ops, &op->queue);
    s->ops_n++;
    s->ws.pending++;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->ws.connection->log, 0,
                   "hotline session: refusal held, %uD unanswered",
                   (uint32_t) s->ops_n);
}


/* an error for a message the model handled; frees the op */

static void
ngx_http_hotline_op_error(ngx_http_hotline_op_t *op, ngx_uint_t code)
{
    ngx_http_hotline_count_error(code);
    ngx_http_hotline_answer(op, code);
}


/* an error that ends the connection: the close follows it */

static void
ngx_http_hotline_op_close(ngx_http_hotline_op_t *op, ngx_uint_t err,
    ngx_uint_t close, const char *reason)
{
    ngx_uint_t                   first;
    ngx_http_hotline_session_t  *s;

    s = op->session;
    first = (ngx_queue_head(&s->ops) == &op->queue);

    s->ws.pending++;

    ngx_http_hotline_op_error(op, err);

    if (first) {
        ngx_http_hotline_ws_close(&s->ws, close, reason);

    } else {
        /* with the last release, after the answers */
        s->ws.close_later = close;
        s->ws.close_reason = reason;
    }

    ngx_http_hotline_ws_release(&s->ws);
}


/* the ack for a message the model handled (if it had an id); frees op */

static void
ngx_http_hotline_ack(ngx_http_hotline_op_t *op)
{
    ngx_http_hotline_answer(op, NGX_HOTLINE_OK);
}


/* writes what the party's inbox holds for this connection */

void
ngx_http_hotline_session_deliver(ngx_http_hotline_session_t *s)
{
    u_char                        *buf, *p, *end, *data, *json, *last;
    u_char                         tail[32];
    size_t                         size, len;
    ssize_t                        n;
    uint64_t                       seq;
    ngx_uint_t                     ended, transcript;
    ngx_str_t                     *url;
    ngx_http_hotline_event_t       ev;
    ngx_http_hotline_consumer_info_t  ci;
    ngx_http_hotline_store_t      *store;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (s->ws.closed || s->ws.closing || s->ref.consumer == NULL) {
        return;
    }

    store = ngx_http_hotline_store();
    hmcf = ngx_http_hotline_main_conf();
    url = hmcf->recorder ? &hmcf->recorder->url : NULL;

    /* the inbox's records, then each event's JSON after them */

    size = hmcf->replay_buffer + 65536;

    buf = ngx_http_hotline_scratch(&ngx_http_hotline_buf,
                                   2 * size + NGX_HOTLINE_EVENT_MAX
                                   + NGX_HOTLINE_RECORDER_URL_MAX);
    if (buf == NULL) {
        return;
    }

    json = buf + size;

    s->ws.pending++;
    ended = 0;
    transcript = 0;

    for ( ;; ) {
        if (s->ws.out_bytes >= s->ws.conf->send_queue / 2) {
            /* the client reads slowly: more when the queue drains */
            s->ws.backlogged = 1;
            break;
        }

        n = store->pull(s->ref.consumer, buf, size,
                        s->ws.conf->send_queue / 2 - s->ws.out_bytes);

        if (n == NGX_ERROR) {
            ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_REPLACED,
                                      "replaced");
            break;
        }

        if (n == 0) {
            break;
        }

        for (p = buf, end = buf + n; p < end; p += ngx_align(12 + len, 8)) {
            ngx_memcpy(&seq, p, sizeof(uint64_t));
            len = *(uint32_t *) (p + sizeof(uint64_t));
            data = p + 12;

            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, s->ws.connection->log, 0,
                           "hotline session: deliver seq %uL, %uz bytes",
                           seq, len);

            if (ngx_http_hotline_event_decode(data, len, &ev) != NGX_OK) {
                /* on Redis, what came from it: not always a bug of ours */
                ngx_log_error(NGX_LOG_ERR, s->ws.connection->log, 0,
                              "hotline: event %uL of %uz bytes is invalid, "
                              "left out", seq, len);
                continue;
            }

            if (ev.type == NGX_HOTLINE_EV_ENDED) {
                /* banned: its call, or its client (hung up for it) */
                ended = (ev.reason == NGX_HOTLINE_END_BANNED || s->banned)
                        ? 2 : 1;
                s->accepted_at = 0;

            } else if (ev.type == NGX_HOTLINE_EV_ACCEPTED) {
                s->waiting = 0;
                s->accepted_at = ngx_current_msec;
                s->connected = 0;

                /* hotline_colocate: to the agent's worker, if another */
                ngx_http_hotline_session_move_want(s);

                if (s->role == NGX_HOTLINE_ROLE_AGENT) {
                    /* a transferred call's conversation so far, after */
                    ngx_memcpy(s->call_id, ev.call_id, NGX_HOTLINE_ID_LEN);
                    transcript = 1;
                }

            } else {
                /* a transfer, a hold: the desk's */
                ngx_http_hotline_session_event(s, &ev);
            }

            last = ngx_http_hotline_event_json(json, &ev, url);

            if (ev.type == NGX_HOTLINE_EV_ENDED
                && s->role == NGX_HOTLINE_ROLE_CUSTOMER)
            {
                /* whether, and how long, it may rate the call */
                last = ngx_http_hotline_session_ended(last, &ev);
            }

            if (ngx_http_hotline_ws_send2(&s->ws, json, last - json, tail,
                                          ngx_http_hotline_proto_seq(tail,
                                                                     seq)
                                          - tail)
                != NGX_OK)
            {
                goto done;
            }

            s->unconfirmed += (uint32_t) len;
        }
    }

    /*
     * Much delivered since the last ping: another one now, whose pong lets
     * the store forget what the client read (the replay buffer holds what
     * is in flight, not a whole buffer's worth of what was read); once the
     * send queue has room for it, as the next message
     */

    if (s->unconfirmed >= hmcf->replay_buffer / store->read_share
        && !s->ws.awaiting_pong && !s->ws.closing && !s->ws.closed
        && !ended && s->ref.consumer
        && s->ws.out_bytes < s->ws.conf->send_queue / 2)
    {
        store->consumer_info(s->ref.consumer, &ci);
        (void) ngx_http_hotline_session_ping(s, ci.delivered);
    }

    if (ended == 2 && s->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_BANNED, "banned");

    } else if (ended && s->role == NGX_HOTLINE_ROLE_CUSTOMER) {
        /* the call is over: the end was written, nothing else comes */
        s->ended = 1;
        s->ws.await_answer = 1;
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_WS_CLOSE_NORMAL,
                                  "call ended");
    }

done:

    if (transcript && ngx_http_hotline_desk()->transcript
        && !s->ws.closed && !s->ws.closing)
    {
        /* (not above: the read may answer at once, in the buffer) */
        s->ws.pending++;
        ngx_http_hotline_call_transcript(s->call_id,
                                         ngx_http_hotline_transcript_got, s);
    }

    ngx_http_hotline_ws_release(&s->ws);
}


static void
ngx_http_hotline_session_writable(ngx_http_hotline_ws_t *ws)
{
    ngx_http_hotline_session_deliver((ngx_http_hotline_session_t *) ws);
}


/*
 * The client answered the ping: it read what was delivered before it,
 * which need not be kept for a replay any more.
 */

static void
ngx_http_hotline_session_pong(ngx_http_hotline_ws_t *ws, u_char *data,
    size_t len)
{
    ngx_http_hotline_session_t *s = (ngx_http_hotline_session_t *) ws;

    uint32_t                   n;
    ngx_http_hotline_store_t  *store;

    /*
     * Only the answer to the last ping confirms: an earlier ping came
     * before part of what the last one follows, maybe of another inbox (a
     * resume in between), and a pong without the 4-byte payload does not
     * say which ping it answers.
     */

    if (len != sizeof(uint32_t)) {
        return;
    }

    n = (uint32_t) data[0] | ((uint32_t) data[1] << 8)
        | ((uint32_t) data[2] << 16) | ((uint32_t) data[3] << 24);

    if (n != s->ping_n) {
        return;
    }

    store = ngx_http_hotline_store();

    if (s->ref.consumer && s->ping_seq && store->read_to) {
        store->read_to(s->ref.consumer, s->ping_seq);
    }
}


/*
 * A ping after what was delivered up to seq: its pong says the client read
 * it.  Its payload numbers it (pings sent on this connection, 4 bytes,
 * little-endian).
 */

static ngx_int_t
ngx_http_hotline_session_ping(ngx_http_hotline_session_t *s, uint64_t seq)
{
    u_char  buf[4];

    s->ws.awaiting_pong = 1;
    s->ping_seq = seq;
    s->ping_n++;
    s->unconfirmed = 0;

    buf[0] = (u_char) (s->ping_n & 0xff);
    buf[1] = (u_char) ((s->ping_n >> 8) & 0xff);
    buf[2] = (u_char) ((s->ping_n >> 16) & 0xff);
    buf[3] = (u_char) (s->ping_n >> 24);

    return ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_PING, buf, 4);
}


static void
ngx_http_hotline_session_timer(ngx_http_hotline_ws_t *ws)
{
    ngx_http_hotline_session_t *s = (ngx_http_hotline_session_t *) ws;

    ngx_http_hotline_consumer_info_t  ci;

    if (!s->established) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: no join or resume in time");
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_TIMEOUT,
                                  "handshake timeout");
        return;
    }

    if (s->agent->exp && ngx_time() >= s->agent->exp) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: agent token expired");
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_UNAUTHORIZED,
                                  "token expired");
        return;
    }

    if (s->ws.awaiting_pong && !s->ws.received) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: client does not answer pings");
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_TIMEOUT,
                                  "ping timeout");
        return;
    }

    s->ws.received = 0;

    /* what is delivered now goes before the ping: its pong says it is read */

    ci.delivered = 0;

    if (s->ref.consumer) {
        ngx_http_hotline_store()->consumer_info(s->ref.consumer, &ci);
    }

    if (ngx_http_hotline_session_ping(s, ci.delivered) == NGX_OK) {
        ngx_http_hotline_ws_timer(&s->ws, s->ws.conf->ping_interval);
    }
}


/*
 * What the store says of a connection's party.  The delivery policy: a
 * connection that does not read while its inbox is over the limit (and
 * not catching up with a replay) is cut (4002); it resumes and gets the
 * rest replayed.
 */

static void
ngx_http_hotline_on_consumer(void *data, ngx_uint_t wake)
{
    ngx_http_hotline_session_t *s = data;

    u_char                            *last;
    ngx_http_hotline_consumer_info_t   ci;
    u_char                             buf[NGX_HOTLINE_ERROR_MAX];

    if (s == NULL) {
        /* a consumer the model took over from a connection now gone */
        return;
    }

    if (s->ws.closed || s->ws.closing) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, s->ws.connection->log, 0,
                   "hotline session: store says %ui", wake);

    s->ws.pending++;

    switch (wake) {

    case NGX_HOTLINE_WAKE_REPLACED:
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_REPLACED,
                                  "replaced");
        break;

    case NGX_HOTLINE_WAKE_LOST:
        ngx_http_hotline_count_error(NGX_HOTLINE_E_EXPIRED);
        last = ngx_cpymem(buf, "{\"type\":\"error\",\"code\":\"expired\","
                          "\"message\":\"the session was lost by the store\"}",
                          sizeof("{\"type\":\"error\",\"code\":\"expired\","
                                 "\"message\":\"the session was lost by the "
                                 "store\"}") - 1);
        (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, buf,
                                        last - buf);
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_EXPIRED,
                                  "session lost");
        break;

    case NGX_HOTLINE_WAKE_SLOW:

        ngx_http_hotline_store()->consumer_info(s->ref.consumer, &ci);

        if (ci.delivered >= ci.replayed
            && (s->ws.backlogged
                || s->ws.out_bytes >= s->ws.conf->send_queue / 2))
        {
            ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                          "hotline: client does not read, its buffer "
                          "is full");
            ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_SLOW,
                                      "slow consumer");
            break;
        }

        /* it reads: it was only behind */
        ngx_http_hotline_session_deliver(s);
        break;

    default:
        ngx_http_hotline_session_deliver(s);
        break;
    }

    ngx_http_hotline_ws_release(&s->ws);
}


/* a token was revoked somewhere: agents check theirs */

static void
ngx_http_hotline_on_auth(void)
{
    u_char                      *p;
    ngx_str_t                    key;
    ngx_queue_t                 *q, *next;
    ngx_http_hotline_session_t  *s;
    u_char                       buf[NGX_HOTLINE_REVOKED_MAX];

    for (q = ngx_queue_head(&ngx_http_hotline_local);
         q != ngx_queue_sentinel(&ngx_http_hotline_local);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_http_hotline_session_t, local);

        if (s->role == NGX_HOTLINE_ROLE_CUSTOMER) {
            /* a ban, maybe of its client */
            ngx_http_hotline_ban_check(s);
            continue;
        }

        if (s->agent->jti_len == 0 || s->ws.closing || s->ws.closed) {
            continue;
        }

        p = ngx_http_hotline_revoked_key(buf, s->agent->jti, s->agent->jti_len);

        key.data = buf;
        key.len = p - buf;

        s->ws.pending++;
        ngx_http_hotline_store()->kv_get(&key, ngx_http_hotline_revoked, s);
    }
}


static void
ngx_http_hotline_revoked(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_session_t  *s = data;

    if (err == NGX_HOTLINE_OK && kv->found && !s->ws.closed) {
        ngx_log_error(NGX_LOG_NOTICE, s->ws.connection->log, 0,
                      "hotline audit: revoked token closes the connection "
                      "of agent \"%*s\"", s->agent->sub_len, s->agent->sub);
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_UNAUTHORIZED,
                                  "token revoked");
    }

    ngx_http_hotline_ws_release(&s->ws);
}


/* the store serves again: the queue may have changed meanwhile */

static void
ngx_http_hotline_on_up(void)
{
    ngx_http_hotline_on_queue();
}


/* the store went away: every open session is told */

static void
ngx_http_hotline_on_down(void)
{
    u_char                      *last;
    ngx_queue_t                 *q, *next;
    ngx_http_hotline_session_t  *s;
    u_char                       buf[256];

    last = ngx_http_hotline_proto_error(buf, NGX_HOTLINE_E_UNAVAILABLE,
                                        NULL);

    for (q = ngx_queue_head(&ngx_http_hotline_local);
         q != ngx_queue_sentinel(&ngx_http_hotline_local);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_http_hotline_session_t, local);

        if (!s->established || s->ws.closing || s->ws.closed) {
            continue;
        }

        ngx_http_hotline_count_error(NGX_HOTLINE_E_UNAVAILABLE);

        s->ws.pending++;
        (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, buf,
                                        last - buf);
        ngx_http_hotline_ws_release(&s->ws);
    }
}


/* the queue changed: one snapshot serves all sessions of this worker */

static void
ngx_http_hotline_on_queue(void)
{
    ngx_http_hotline_queue_changed = 1;

    if (ngx_http_hotline_queue_ev.posted) {
        return;
    }

    ngx_post_event(&ngx_http_hotline_queue_ev, &ngx_posted_events);
}


static void
ngx_http_hotline_queue_event(ngx_event_t *ev)
{
    ngx_uint_t  full;

    full = ngx_http_hotline_full_wanted
           || ngx_http_hotline_position_interval == 0
           || ngx_current_msec - ngx_http_hotline_full_at
              >= ngx_http_hotline_position_interval;

    if (full) {
        ngx_http_hotline_full_wanted = 0;
        ngx_http_hotline_full_at = ngx_current_msec;

    } else {
        /* positions may have moved: the whole queue once the interval
         * since the last whole read is over */
        ngx_http_hotline_position_later(NULL);
    }

    ngx_http_hotline_call_queue(ngx_http_hotline_queue_done, NULL, full);
}


static void
ngx_http_hotline_position_timer(ngx_event_t *ev)
{
    ngx_http_hotline_position_due = 0;
    ngx_http_hotline_full_wanted = 1;

    /* the queue is as it was: not ngx_http_hotline_on_queue(), agents
     * are not told again */
    if (!ngx_http_hotline_queue_ev.posted) {
        ngx_post_event(&ngx_http_hotline_queue_ev, &ngx_posted_events);
    }
}


/* a whole read when s (NULL: the last whole read) is due again */

static void
ngx_http_hotline_position_later(ngx_http_hotline_session_t *s)
{
    ngx_msec_t  due;

    due = (s ? s->position_at : ngx_http_hotline_full_at)
          + ngx_http_hotline_position_interval;

    if ((ngx_msec_int_t) (due - ngx_current_msec) < 1) {
        due = ngx_current_msec + 1;
    }

    if (ngx_http_hotline_position_ev.timer_set
        && ngx_http_hotline_position_due
        && (ngx_msec_int_t) (ngx_http_hotline_position_due - due) <= 0)
    {
        return;
    }

    if (ngx_http_hotline_position_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_position_ev);
    }

    ngx_http_hotline_position_due = due;
    ngx_add_timer(&ngx_http_hotline_position_ev, due - ngx_current_msec);
}


/*
 * Waiting customers' estimates count down: every NGX_HOTLINE_ETA_EVERY
 * when this worker has any, from the head of the queue (the counters)
 * and the positions the customers behind it were told, by a wave
 */

static void
ngx_http_hotline_eta_event(ngx_event_t *ev)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_session_t  *s;

    for (q = ngx_queue_head(&ngx_http_hotline_local);
         q != ngx_queue_sentinel(&ngx_http_hotline_local);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_http_hotline_session_t, local);

        if (s->waiting) {
            ngx_http_hotline_eta_wanted = 1;
            ngx_http_hotline_call_queue(ngx_http_hotline_queue_done, NULL, 0);
            break;
        }
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HOTLINE_ETA_EVERY);
    }
}


/*
 * A snapshot: the agents get it when the queue changed, the customers in
 * its head (and those waiting for their first position) their positions
 * at once; those behind the head are left to a wave
 */

static void
ngx_http_hotline_queue_done(ngx_http_hotline_queue_t *q, void *data)
{
    u_char                      *msg, *last;
    int64_t                      now;
    uint64_t                     head;
    ngx_uint_t                   pos, agents, sessions;
    ngx_time_t                  *tp;
    ngx_queue_t                 *lq, *next;
    ngx_http_hotline_session_t  *s;

    if (q == NULL) {
        return;
    }

    /*
     * agents get it when the queue changed (a snapshot that follows may
     * be the one after the change: they get that one too).  A change
     * noticed in the same event loop turn as this answer, its read not
     * asked for yet (the event posted), may be newer than this snapshot:
     * the read that follows tells the agents again.
     */

    agents = ngx_http_hotline_queue_changed;

    if (!ngx_http_hotline_call_queue_again()
        && !ngx_http_hotline_queue_ev.posted)
    {
        ngx_http_hotline_queue_changed = 0;
    }

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    /* the last ticket of the head: those up to it are told now */

    head = 0;

    if (q->n) {
        head = q->tickets[ngx_min(q->n, NGX_HOTLINE_QUEUE_LIST_MAX) - 1];
    }

    if (!q->complete && ngx_http_hotline_wave_left) {
        /* a wave from an older read leaves these to this one */
        ngx_http_hotline_wave_told = ngx_max(ngx_http_hotline_wave_told,
                                             head);
    }

    msg = NULL;
    last = NULL;
    sessions = 0;

    for (lq = ngx_queue_head(&ngx_http_hotline_local);
         lq != ngx_queue_sentinel(&ngx_http_hotline_local);
         lq = next)
    {
        next = ngx_queue_next(lq);
        s = ngx_queue_data(lq, ngx_http_hotline_session_t, local);

        sessions++;

        if (!s->established || s->ws.closing || s->ws.closed) {
            continue;
        }

        if (s->role == NGX_HOTLINE_ROLE_AGENT) {

            if (!agents) {
                /* the estimates' refresh: the queue is as it was */
                continue;
            }

            if (msg == NULL) {
                msg = ngx_http_hotline_scratch(&ngx_http_hotline_buf,
                                        ngx_http_hotline_proto_queue_size(q));
                if (msg == NULL) {
                    return;
                }

                last = ngx_http_hotline_proto_queue(msg, q, now);
            }

            s->ws.pending++;
            (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, msg,
                                            last - msg);
            ngx_http_hotline_ws_release(&s->ws);
            continue;
        }

        if (!s->waiting) {
            continue;
        }

        /* tickets grow with time, and so does the queue */

        if (s->ticket > head && !(q->complete && s->queue_dirty)) {
            /* behind the head: told by a wave */
            continue;
        }

        pos = ngx_http_hotline_position_find(q, s->ticket);

        if (pos == 0) {
            if (q->complete) {
                s->waiting = 0;
            }

            continue;
        }

        (void) ngx_http_hotline_position_tell(s, q, pos, now,
                                              ngx_current_msec);
    }

    if (q->complete || ngx_http_hotline_eta_wanted) {
        ngx_http_hotline_eta_wanted = 0;
        ngx_http_hotline_wave_start(q, sessions);
    }
}


/* the position of a ticket in a snapshot, 0 if it is not there */

static ngx_uint_t
ngx_http_hotline_position_find(ngx_http_hotline_queue_t *q, uint64_t ticket)
{
    ngx_uint_t  lo, hi, mid;

    lo = 0;
    hi = q->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (q->tickets[mid] < ticket) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo == q->n || q->tickets[lo] != ticket) {
        return 0;
    }

    return lo + 1;
}


/*
 * A customer's position and estimate, if they changed: 1 if sent.  "at"
 * is when the snapshot was read: the interval counts from it, so that
 * the customers a wave tells one after the other are all due again at
 * the next whole read.
 */

static ngx_uint_t
ngx_http_hotline_position_tell(ngx_http_hotline_session_t *s,
    ngx_http_hotline_queue_t *q, ngx_uint_t pos, int64_t now, ngx_msec_t at)
{
    u_char      *end;
    uint32_t     told;
    ngx_uint_t   eta;
    u_char       buf[160];

    if (pos != s->position || ngx_http_hotline_call_staffed(q) == 0) {
        /* the count down starts at a new position, or an agent */
        s->position_since = now;
    }

    eta = ngx_http_hotline_call_eta(q, pos,
                                    (ngx_msec_t) (now - s->position_since));

    /* as the session keeps it: NGX_MAX_UINT32_VALUE is also "unknown" */
    told = (uint32_t) ngx_min(eta, NGX_MAX_UINT32_VALUE);

    if (pos == s->position && told == s->eta && !s->queue_dirty) {
        return 0;
    }

    /*
     * At most one position per interval; but the first one, and
     * "you are next", at once: the customer gets ready for the call
     * (one customer of the whole queue at a time).
     */
    if (s->position != 0 && !s->queue_dirty && pos != 1
        && (ngx_msec_int_t) (at - s->position_at)
           < (ngx_msec_int_t) ngx_http_hotline_position_interval)
    {
        ngx_http_hotline_position_later(s);
        return 0;
    }

    s->position = (uint32_t) pos;
    s->eta = told;
    s->position_at = at;
    s->queue_dirty = 0;

    end = ngx_http_hotline_proto_position(buf, s->call_id, pos, eta,
                                   ngx_http_hotline_call_staffed(q));

    s->ws.pending++;
    (void) ngx_http_hotline_ws_send(&s->ws, NGX_HOTLINE_WS_OP_TEXT, buf,
                                    end - buf);
    ngx_http_hotline_ws_release(&s->ws);

    return 1;
}


/*
 * A wave over the worker's sessions from where the last one is: a whole
 * read (its copy), or the counters alone (the estimates' count down, from
 * the positions told; a wave of a whole read already does that)
 */

static void
ngx_http_hotline_wave_start(ngx_http_hotline_queue_t *q,
    ngx_uint_t sessions)
{
    uint64_t                  *tickets;
    ngx_http_hotline_queue_t  *w;

    w = &ngx_http_hotline_wave_q;

    if (!q->complete && ngx_http_hotline_wave_left && w->complete) {
        return;
    }

    if (q->complete && ngx_http_hotline_wave_size < q->n) {
        tickets = ngx_alloc(q->n * sizeof(uint64_t), ngx_cycle->log);
        if (tickets == NULL) {
            return;
        }

        if (w->tickets) {
            ngx_free(w->tickets);
        }

        w->tickets = tickets;
        ngx_http_hotline_wave_size = q->n;
    }

    tickets = w->tickets;
    *w = *q;
    w->tickets = tickets;
    w->cards = NULL;

    if (q->complete) {
        if (q->n) {
            /* (an empty queue may have no tickets yet: NULL) */
            ngx_memcpy(tickets, q->tickets, q->n * sizeof(uint64_t));
        }

    } else {
        w->n = 0;
    }

    ngx_http_hotline_wave_told = 0;
    ngx_http_hotline_wave_left = sessions;
    ngx_http_hotline_wave_from = ngx_current_msec;

    if (!ngx_http_hotline_wave_ev.posted && sessions) {
        ngx_post_event(&ngx_http_hotline_wave_ev, &ngx_posted_next_events);
    }
}


static void
ngx_http_hotline_wave_event(ngx_event_t *ev)
{
    int64_t                      now;
    ngx_uint_t                   pos, sent, looked;
    ngx_time_t                  *tp;
    ngx_queue_t                 *lq, *sentinel;
    ngx_http_hotline_queue_t    *w;
    ngx_http_hotline_session_t  *s;

    w = &ngx_http_hotline_wave_q;
    sentinel = ngx_queue_sentinel(&ngx_http_hotline_local);

    tp = ngx_timeofday();
    now = (int64_t) tp->sec * 1000 + tp->msec;

    sent = 0;
    looked = 0;

    while (ngx_http_hotline_wave_left
           && sent < NGX_HOTLINE_WAVE_SENDS
           && looked < NGX_HOTLINE_WAVE_LOOKS)
    {
        lq = ngx_http_hotline_wave_at;

        if (lq == sentinel) {
            lq = ngx_queue_head(&ngx_http_hotline_local);

            if (lq == sentinel) {
                ngx_http_hotline_wave_left = 0;
                break;
            }
        }

        ngx_http_hotline_wave_at = ngx_queue_next(lq);
        ngx_http_hotline_wave_left--;
        looked++;

        s = ngx_queue_data(lq, ngx_http_hotline_session_t, local);

        /* a customer that came or came back since: a newer read tells */

        if (!s->established || s->ws.closing || s->ws.closed
            || s->role == NGX_HOTLINE_ROLE_AGENT || !s->waiting
            || s->queue_dirty || s->ticket <= ngx_http_hotline_wave_told)
        {
            continue;
        }

        if (w->complete) {
            pos = ngx_http_hotline_position_find(w, s->ticket);

        } else {
            pos = s->position;
        }

        if (pos == 0) {
            continue;
        }

        sent += ngx_http_hotline_position_tell(s, w, pos, now,
                                               ngx_http_hotline_wave_from);
    }

    if (ngx_http_hotline_wave_left && !ngx_exiting) {
        /* the next turn: what the network brought meanwhile goes first */
        ngx_post_event(&ngx_http_hotline_wave_ev, &ngx_posted_next_events);
    }
}


/* a session goes: the wave goes on from the one after it */

static void
ngx_http_hotline_wave_forget(ngx_http_hotline_session_t *s)
{
    if (ngx_http_hotline_wave_at == &s->local) {
        ngx_http_hotline_wave_at = ngx_queue_next(&s->local);
    }
}


/*
 * Messages per connection: GCRA on the worker's clock.  A message over the
 * rate gets an error and is dropped; a client that keeps going after a
 * whole burst of refusals is closed (1008).
 */

static ngx_int_t
ngx_http_hotline_rate_exceeded(ngx_http_hotline_session_t *s,
    ngx_http_hotline_msg_t *m)
{
    ngx_msec_t  tat, tau;

    if (s->ws.conf->message_interval == 0) {
        return 0;
    }

    tat = s->tat;
    tau = s->ws.conf->message_interval * s->ws.conf->message_burst;

    if ((ngx_msec_int_t) (tat - ngx_current_msec) < 0) {
        tat = ngx_current_msec;
    }

    if (tat - ngx_current_msec <= tau) {
        s->tat = tat + s->ws.conf->message_interval;
        s->strikes = 0;
        return 0;
    }

    if (++s->strikes > s->ws.conf->message_burst) {
        ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                      "hotline: client keeps sending over the rate");

        /*
         * closed once the messages it sent before have their answers
         * (the model may still work on them): with the last release
         */
        s->ws.close_later = NGX_HOTLINE_WS_CLOSE_POLICY;
        s->ws.close_reason = "message rate";
        return 1;
    }

    m->field = NULL;
    ngx_http_hotline_refuse(s, NGX_HOTLINE_E_RATE_LIMITED, m);

    return 1;
}
