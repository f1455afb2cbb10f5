
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_types.h"


/*
 * The operations of the call model (ngx_http_hotline_call.c), for the
 * session layer: each reads what it needs, asks the rules, commits, and
 * tells its handler the result (ngx_http_hotline_call_types.h).
 */


ngx_int_t ngx_http_hotline_call_init_worker(ngx_cycle_t *cycle,
    ngx_http_hotline_store_t *store);
void ngx_http_hotline_call_exit_worker(ngx_cycle_t *cycle);
void ngx_http_hotline_call_exit_ops(void);

void ngx_http_hotline_ref_init(ngx_http_hotline_ref_t *ref, ngx_uint_t role,
    void *owner);

/* a customer enters the queue */
void ngx_http_hotline_call_join(ngx_http_hotline_ref_t *ref, u_char *name,
    size_t len, ngx_str_t *addr, ngx_http_hotline_call_pt handler,
    void *data);

/*
 * an agent comes online, or takes its session over: replayed what came
 * after seq from (-1: after what its inbox counts as delivered)
 */
void ngx_http_hotline_call_login(ngx_http_hotline_ref_t *ref, u_char *sub,
    size_t sub_len, u_char *display, size_t display_len, int64_t from,
    ngx_http_hotline_call_pt handler, void *data);

/* a party comes back with its resume token (an agent: its own) */
void ngx_http_hotline_call_resume(ngx_http_hotline_ref_t *ref,
    u_char *token, uint64_t last_seq, u_char *sub, size_t sub_len,
    ngx_http_hotline_call_pt handler, void *data);

/*
 * a party's connection that another worker of the node handed over: it
 * takes the party's inbox (token: the party's id, ref->token there),
 * replayed after seq delivered (what the other worker wrote to it);
 * nobody else is told
 */
void ngx_http_hotline_call_move(ngx_http_hotline_ref_t *ref, u_char *token,
    uint64_t delivered, ngx_http_hotline_call_pt handler, void *data);

/*
 * the party's record changed by another's operation (an event said so):
 * its view is read again now, not at the next relay's conflict; while it
 * is read, ref->version is 0 (and ref->ops counts the read)
 */
void ngx_http_hotline_call_look(ngx_http_hotline_ref_t *ref);

/* agent: take a waiting call (NULL: the oldest), decline or ban one */
void ngx_http_hotline_call_accept(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data);
void ngx_http_hotline_call_reject(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data);
void ngx_http_hotline_call_ban(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_http_hotline_call_pt handler, void *data);

/* agent: available or away (NGX_HOTLINE_AVAILABLE, NGX_HOTLINE_AWAY) */
void ngx_http_hotline_call_presence(ngx_http_hotline_ref_t *ref,
    ngx_uint_t presence, ngx_http_hotline_call_pt handler, void *data);

/*
 * agent: a note of its call, or of its last one (call_id: which, or
 * NULL); note: its JSON object ({"type":"note",...}), copied
 */
void ngx_http_hotline_call_note(ngx_http_hotline_ref_t *ref,
    u_char *call_id, ngx_str_t *note, ngx_http_hotline_call_pt handler,
    void *data);

/*
 * customer: the rating of its ended call (members: ,"rating":n...), with
 * the call's resume token, within hotline_rating_time of its end
 */
void ngx_http_hotline_call_rate(ngx_http_hotline_ref_t *ref, u_char *token,
    ngx_str_t *members, ngx_http_hotline_call_pt handler, void *data);

/*
 * customer: a message (members: ,"message":{...}) instead of joining, or
 * instead of waiting; res->call_id names its record
 */
void ngx_http_hotline_call_message(ngx_http_hotline_ref_t *ref,
    u_char *name, size_t len, ngx_str_t *members,
    ngx_http_hotline_call_pt handler, void *data);

/* later members of a record (a message claimed, done) */
void ngx_http_hotline_call_amend(u_char *call_id, ngx_str_t *members,
    ngx_http_hotline_call_pt handler, void *data);

/* agent: its customer on hold (on 1) or back (on 0) */
void ngx_http_hotline_call_hold(ngx_http_hotline_ref_t *ref, ngx_uint_t on,
    ngx_http_hotline_call_pt handler, void *data);

/*
 * agent: its customer back in the queue, at its place (cold transfer),
 * held for the agent to (empty: any) for hotline_transfer_timeout
 */
void ngx_http_hotline_call_transfer(ngx_http_hotline_ref_t *ref,
    ngx_str_t *to, ngx_str_t *reason, ngx_http_hotline_call_pt handler,
    void *data);

/* end the call, or leave the queue */
void ngx_http_hotline_call_hangup(ngx_http_hotline_ref_t *ref,
    ngx_http_hotline_call_pt handler, void *data);

/*
 * an event for the peer (ngx_http_hotline_event.h, encoded), in the
 * order of the calls; msg is copied.  logged: a chat line, kept in the
 * call's transcript too: msg[len] is the closing brace of its JSON.
 */
void ngx_http_hotline_call_relay(ngx_http_hotline_ref_t *ref, u_char *msg,
    size_t len, ngx_http_hotline_call_pt handler, void *data);
void ngx_http_hotline_call_relay_logged(ngx_http_hotline_ref_t *ref,
    u_char *msg, size_t len, ngx_http_hotline_call_pt handler, void *data);

/*
 * the transcript of a call so far: its lines (JSON objects) in order;
 * what handler is given is valid until it returns
 */
typedef void (*ngx_http_hotline_lines_pt)(void *data, ngx_uint_t err,
    ngx_str_t *lines, ngx_uint_t n);

void ngx_http_hotline_call_transcript(u_char *call_id,
    ngx_http_hotline_lines_pt handler, void *data);

/*
 * The connection is gone: the party's grace period starts.  The model
 * takes the ref's consumer over and frees it when the store let it go;
 * the ref may be freed once this returns.  With ref->moved set, the
 * connection went to another worker, which takes the inbox over: this
 * one only lets it go (no grace period, nobody told).
 */
void ngx_http_hotline_call_detach(ngx_http_hotline_ref_t *ref);

#endif /* _NGX_HTTP_HOTLINE_CALL_H_INCLUDED_ */
