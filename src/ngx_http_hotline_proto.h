
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_PROTO_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_PROTO_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_json_scan.h"


/*
 * Signaling protocol v1 (docs/protocol.md): validation of client messages
 * and serialization of server messages.  Pure code apart from jansson,
 * so the fuzz target links it alone.
 */


/* error codes: the index into ngx_http_hotline_errors[] */
#define NGX_HOTLINE_OK                0
#define NGX_HOTLINE_E_BAD_JSON        1
#define NGX_HOTLINE_E_BAD_TYPE        2
#define NGX_HOTLINE_E_BAD_FIELD       3
#define NGX_HOTLINE_E_NOT_ALLOWED     4
#define NGX_HOTLINE_E_BAD_STATE       5
#define NGX_HOTLINE_E_NOT_FOUND       6
#define NGX_HOTLINE_E_TAKEN           7
#define NGX_HOTLINE_E_QUEUE_FULL      8
#define NGX_HOTLINE_E_PEER_BACKLOG    9
#define NGX_HOTLINE_E_EXPIRED         10
#define NGX_HOTLINE_E_UNAVAILABLE     11
#define NGX_HOTLINE_E_RATE_LIMITED    12
#define NGX_HOTLINE_E_INTERNAL        13
#define NGX_HOTLINE_E_DAILY_LIMIT     14
#define NGX_HOTLINE_E_BANNED          15
#define NGX_HOTLINE_E_ADDRESS_LIMIT   16
#define NGX_HOTLINE_E_CLOSED          17     /* outside opening hours */
#define NGX_HOTLINE_E_AGENT_UNAVAILABLE  18  /* a transfer's target */
#define NGX_HOTLINE_E_FULL            19     /* the call's record */
#define NGX_HOTLINE_E_MAX             20

/* client message types */
#define NGX_HOTLINE_MSG_JOIN          1
#define NGX_HOTLINE_MSG_RESUME        2
#define NGX_HOTLINE_MSG_CANCEL        3
#define NGX_HOTLINE_MSG_ACCEPT        4
#define NGX_HOTLINE_MSG_REJECT        5
#define NGX_HOTLINE_MSG_OFFER         6
#define NGX_HOTLINE_MSG_ANSWER        7
#define NGX_HOTLINE_MSG_ICE           8
#define NGX_HOTLINE_MSG_CHAT          9
#define NGX_HOTLINE_MSG_MEDIA         10
#define NGX_HOTLINE_MSG_HANGUP        11
#define NGX_HOTLINE_MSG_BAN           12
#define NGX_HOTLINE_MSG_CONNECTED     13

/* call end reasons */
#define NGX_HOTLINE_END_HANGUP        0
#define NGX_HOTLINE_END_REJECTED      1
#define NGX_HOTLINE_END_CANCELLED     2
#define NGX_HOTLINE_END_GONE          3
#define NGX_HOTLINE_END_BANNED        4
#define NGX_HOTLINE_END_MESSAGE       5      /* left a message instead */
#define NGX_HOTLINE_END_MAX           6

#define NGX_HOTLINE_MSG_ID_MAX        64
#define NGX_HOTLINE_FIELD_MAX         32
#define NGX_HOTLINE_ERROR_MAX         320
/*
 * limits of what people type, in characters (UTF-8 code points): the
 * pages count characters, and a Turkish letter is 2 bytes.  A customer's
 * name also takes at most 3 bytes a character on average (any letter of
 * the Basic Multilingual Plane; the store keeps its length in one byte).
 */
#define NGX_HOTLINE_TEXT_MAX          2000
#define NGX_HOTLINE_CUSTOMER_NAME     64
#define NGX_HOTLINE_CUSTOMER_NAME_MAX (3 * NGX_HOTLINE_CUSTOMER_NAME)
#define NGX_HOTLINE_QUEUE_LIST_MAX    200

/* room a relayed message needs beyond the client's own text */
#define NGX_HOTLINE_RELAY_EXTRA       64


typedef struct {
    ngx_uint_t        type;
    ngx_uint_t        relay;             /* relayed to the peer */

    u_char            id[NGX_HOTLINE_MSG_ID_MAX];
    size_t            id_len;            /* 0: no id */

    const char       *field;             /* the bad member, or NULL */
    u_char            field_buf[NGX_HOTLINE_FIELD_MAX + 1];

    /* join */
    u_char           *name;              /* into the client's buffer */
    size_t            name_len;

    /* resume, accept, reject */
    u_char            token[16];
    ngx_uint_t        has_call_id;
    u_char            call_id[16];
    uint64_t          last_seq;

    /* relay: the server message without its closing brace and "seq" */
    u_char           *out;
    size_t            out_len;
} ngx_http_hotline_msg_t;


/*
 * what the agents' list shows of a waiting call: kept for the first
 * NGX_HOTLINE_QUEUE_LIST_MAX calls only; behind them a worker keeps the
 * ticket alone (the positions)
 */
typedef struct {
    u_char            call_id[16];
    int64_t           joined;            /* ms since the epoch */
    int64_t           until;             /* held for an agent until */

    size_t            name_len;
    u_char            name[NGX_HOTLINE_CUSTOMER_NAME_MAX];

    /* a transferred call: from whom, why, held for whom */
    size_t            from_len;
    u_char            from[64];
    size_t            why_len;
    u_char            why[128];
    size_t            target_len;
    u_char            target[64];
} ngx_http_hotline_queue_card_t;


typedef struct {
    ngx_uint_t                      n;       /* calls in tickets */
    ngx_uint_t                      total;   /* waiting calls */
    ngx_uint_t                      complete; /* tickets has them all */
    ngx_uint_t                      agents_online;
    ngx_uint_t                      agents_busy;
    ngx_uint_t                      agents_away;
    ngx_uint_t                      agents_wrapup;
    ngx_uint_t                      agents_available;
    ngx_uint_t                      messages;   /* their changes so far */
    ngx_msec_t                      avg_handle;
    uint64_t                       *tickets; /* oldest first */
    ngx_http_hotline_queue_card_t  *cards;   /* of the first tickets */
} ngx_http_hotline_queue_t;


extern ngx_str_t  ngx_http_hotline_errors[];
extern ngx_str_t  ngx_http_hotline_end_reasons[];
ngx_uint_t ngx_http_hotline_end_reason(u_char *name, size_t len);


/*
 * Parses and validates one client text message for role.  The member
 * strings the server forwards are serialized into out (size bytes,
 * at least len + NGX_HOTLINE_RELAY_EXTRA, times 6 for escaping is never
 * needed since escaping only grows what JSON already escaped).  Returns
 * an error code; on error, m->id and m->field are set when known.
 */
ngx_uint_t ngx_http_hotline_proto_parse(u_char *data, size_t len,
    ngx_uint_t role, ngx_http_hotline_msg_t *m, u_char *out, size_t size);

/*
 * The parts of a parser for messages of another schema (the support
 * desk's): a message scanned for the names keys, jansson judging what
 * the tokenizer declines; its id; the first member that allowed does not name
 * (bad_field); a string member of min..max characters of printable text
 * (multiline 1: \n and \t too, 2: \r too); an id of 32 lowercase hex
 * digits into dst (16 bytes).  keys[0] must be "type", keys[1] "id".
 */
ngx_int_t ngx_http_hotline_proto_scan(u_char *data, size_t len,
    ngx_str_t *keys, ngx_uint_t nested, ngx_http_hotline_json_obj_t *root,
    ngx_http_hotline_json_obj_t *inner);
ngx_uint_t ngx_http_hotline_proto_id(ngx_http_hotline_json_obj_t *o,
    ngx_http_hotline_msg_t *m);
ngx_uint_t ngx_http_hotline_proto_members(ngx_http_hotline_json_obj_t *o,
    uint32_t allowed, ngx_http_hotline_msg_t *m);
ngx_uint_t ngx_http_hotline_proto_text(ngx_http_hotline_json_obj_t *o,
    ngx_uint_t key, size_t min, size_t max, ngx_uint_t multiline,
    ngx_http_hotline_json_val_t **value, ngx_http_hotline_msg_t *m);
ngx_uint_t ngx_http_hotline_proto_hexid(ngx_http_hotline_json_obj_t *o,
    ngx_uint_t key, u_char *dst, ngx_http_hotline_msg_t *m);

/* server messages: each writes into p and returns the new end */
u_char *ngx_http_hotline_json_str(u_char *p, u_char *s, size_t len);
u_char *ngx_http_hotline_proto_error(u_char *p, ngx_uint_t code,
    ngx_http_hotline_msg_t *m);
u_char *ngx_http_hotline_proto_ack(u_char *p, u_char *id, size_t len);
u_char *ngx_http_hotline_proto_welcome(u_char *p, ngx_uint_t role,
    u_char *resume, u_char *call_id, u_char *sub, size_t sub_len,
    ngx_uint_t resumed, ngx_uint_t gap);
u_char *ngx_http_hotline_proto_position(u_char *p, u_char *call_id,
    ngx_uint_t position, ngx_uint_t eta, ngx_uint_t agents);
size_t ngx_http_hotline_proto_queue_size(ngx_http_hotline_queue_t *q);
u_char *ngx_http_hotline_proto_queue(u_char *p, ngx_http_hotline_queue_t *q,
    int64_t now);

/* buffered server messages: no closing brace, "seq" is added on send */
#define NGX_HOTLINE_EVENT_MAX         1536
u_char *ngx_http_hotline_proto_accepted(u_char *p, u_char *call_id,
    ngx_uint_t peer_role, u_char *name, size_t name_len);
u_char *ngx_http_hotline_proto_peer(u_char *p, ngx_uint_t back);
u_char *ngx_http_hotline_proto_gap(u_char *p, uint64_t first, uint64_t last);
u_char *ngx_http_hotline_proto_ended(u_char *p, u_char *call_id,
    ngx_uint_t reason, ngx_uint_t by, ngx_uint_t duration);
u_char *ngx_http_hotline_proto_seq(u_char *p, uint64_t seq);
u_char *ngx_http_hotline_proto_ts(u_char *p, uint64_t ms);


#endif /* _NGX_HTTP_HOTLINE_PROTO_H_INCLUDED_ */
