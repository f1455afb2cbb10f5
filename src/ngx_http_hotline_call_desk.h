
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_DESK_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_DESK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_op.h"


/*
 * The support desk's part of the call model's transitions
 * (ngx_http_hotline_call_desk.c): presence, wrap-up, transfers held for
 * an agent, a call's log.
 */


void ngx_http_hotline_desk_init(void);
ngx_uint_t ngx_http_hotline_agent_shows(ngx_http_hotline_party_t *a);
ngx_msec_t ngx_http_hotline_desk_timer(ngx_http_hotline_party_t *p);
ngx_uint_t ngx_http_hotline_desk_reserved(ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_taken(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_after_call(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_deadline(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
void ngx_http_hotline_desk_agent_gone(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_transcript(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c);
ngx_uint_t ngx_http_hotline_desk_rates(ngx_http_hotline_party_t *c);
ngx_msec_t ngx_http_hotline_desk_rating_time(void);
ngx_int_t ngx_http_hotline_desk_log(ngx_http_hotline_op_t *op,
    ngx_http_hotline_read_t *r);
void ngx_http_hotline_desk_record(ngx_http_hotline_op_t *op,
    ngx_http_hotline_party_t *c, ngx_http_hotline_call_record_t *rec);
void ngx_http_hotline_desk_op_free(ngx_http_hotline_op_t *op);
ngx_uint_t ngx_http_hotline_desk_decline(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c);

/* pieces of the desk's transactions */
void ngx_http_hotline_desk_presence_event(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *a);
void ngx_http_hotline_desk_set_timer(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p, ngx_msec_t ms);
void ngx_http_hotline_desk_transferred(ngx_http_hotline_txn_t *tx,
    u_char *token, ngx_uint_t state, ngx_http_hotline_party_t *c,
    ngx_str_t *to);


#endif /* _NGX_HTTP_HOTLINE_CALL_DESK_H_INCLUDED_ */
