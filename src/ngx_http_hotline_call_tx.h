
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_TX_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_TX_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_event.h"


/*
 * The pieces of the call model's transactions and the keys of its records
 * (ngx_http_hotline_call_tx.c).
 */


#define NGX_HOTLINE_DAY_TTL        (2 * 86400000)


extern ngx_str_t  ngx_http_hotline_counter_names[];


void ngx_http_hotline_tx_init(ngx_http_hotline_main_conf_t *cf);

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
 * keys: "p:<token hex>", "c:<call hex>", "a:<name>", today's counter,
 * "t:<call hex>" (the record whose inbox is the call's transcript)
 */
ngx_str_t *ngx_http_hotline_pkey(u_char *token);
ngx_str_t *ngx_http_hotline_ckey(u_char *call_id);
ngx_str_t *ngx_http_hotline_akey(u_char *name, size_t len);
ngx_str_t *ngx_http_hotline_dkey(void);
ngx_str_t *ngx_http_hotline_tkey(u_char *call_id);
ngx_int_t ngx_http_hotline_token_of(ngx_str_t *key, u_char *token);


#endif /* _NGX_HTTP_HOTLINE_CALL_TX_H_INCLUDED_ */
