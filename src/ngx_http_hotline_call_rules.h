
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_op.h"
#include "ngx_http_hotline_event.h"


/*
 * The rules of the call model (ngx_http_hotline_call_rules.c): what each
 * transition requires of the records it read and what it changes, as a
 * transaction.  An operation (ngx_http_hotline_call.c) reads, asks the
 * rules, and commits.
 */




extern ngx_str_t  ngx_http_hotline_counter_names[];


void ngx_http_hotline_rules_init(ngx_http_hotline_store_t *store,
    ngx_http_hotline_main_conf_t *cf);

/*
 * fills tx for op from what it read: NGX_HOTLINE_OK, an error for the
 * client, or NGX_HOTLINE_E_AGAIN when the other party must be read too
 */
ngx_uint_t ngx_http_hotline_rules_decide(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);

/* ends the call of customer c, with its agent a */
void ngx_http_hotline_end(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c,
    ngx_http_hotline_party_t *a, ngx_uint_t reason, ngx_uint_t by,
    ngx_http_hotline_party_t *who);

/* frees party p: its record, index and inbox */
void ngx_http_hotline_free_party(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);

/* pieces of a transaction */
void ngx_http_hotline_tx_put(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
void ngx_http_hotline_tx_check(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *p);
void ngx_http_hotline_tx_event(ngx_http_hotline_txn_t *tx, u_char *token,
    ngx_http_hotline_event_t *ev);
void ngx_http_hotline_tx_count(ngx_http_hotline_txn_t *tx,
    ngx_uint_t counter, int64_t delta);
void ngx_http_hotline_tx_waiting(ngx_http_hotline_txn_t *tx,
    ngx_http_hotline_party_t *c, int64_t delta);

/*
 * ngx_http_hotline_call_desk.c: the support desk's rules (presence,
 * wrap-up, hold, transfer)
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
ngx_uint_t ngx_http_hotline_decide_presence(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_int_t ngx_http_hotline_desk_log(ngx_http_hotline_op_t *op,
    ngx_http_hotline_read_t *r);
void ngx_http_hotline_desk_record(ngx_http_hotline_op_t *op,
    ngx_http_hotline_party_t *c, ngx_http_hotline_call_record_t *rec);
void ngx_http_hotline_desk_op_free(ngx_http_hotline_op_t *op);
ngx_uint_t ngx_http_hotline_decide_note(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_rate(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_message(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_amend(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_hold(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_decide_transfer(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx);
ngx_uint_t ngx_http_hotline_desk_decline(ngx_http_hotline_op_t *op,
    ngx_http_hotline_txn_t *tx, ngx_http_hotline_party_t *c);

/*
 * keys: "p:<token hex>", "c:<call hex>", "a:<name>", today's counter,
 * "t:<call hex>" (the record whose inbox is the call's transcript)
 */
ngx_str_t *ngx_http_hotline_pkey(u_char *token);
ngx_str_t *ngx_http_hotline_ckey(u_char *call_id);
ngx_str_t *ngx_http_hotline_akey(u_char *name, size_t len);
ngx_str_t *ngx_http_hotline_dkey(void);
ngx_str_t *ngx_http_hotline_tkey(u_char *call_id);
ngx_int_t ngx_http_hotline_token_of(ngx_str_t *key, u_char *token);


#endif /* _NGX_HTTP_HOTLINE_CALL_RULES_H_INCLUDED_ */
