
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_CALL_OP_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_CALL_OP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_types.h"


/*
 * An operation of the call model: its kind, the party it is for, what it
 * read, and what its commit makes of the party (ngx_http_hotline_call.c
 * runs it, the rules decide it).
 */


#define NGX_HOTLINE_OP_JOIN        0
#define NGX_HOTLINE_OP_LOGIN       1
#define NGX_HOTLINE_OP_RESUME      2
#define NGX_HOTLINE_OP_ACCEPT      3
#define NGX_HOTLINE_OP_REJECT      4
#define NGX_HOTLINE_OP_BAN         5
#define NGX_HOTLINE_OP_HANGUP      6
#define NGX_HOTLINE_OP_VIEW        7      /* a relay's view of its party */
#define NGX_HOTLINE_OP_DETACH      8
#define NGX_HOTLINE_OP_EXPIRE      9      /* its grace period is over */
#define NGX_HOTLINE_OP_ORPHAN      10     /* its worker died */
#define NGX_HOTLINE_OP_SEED        11     /* today's count, from the journal */
#define NGX_HOTLINE_OP_PRESENCE    12     /* an agent: available, away */
#define NGX_HOTLINE_OP_NOTE        13     /* an agent's note of a call */
#define NGX_HOTLINE_OP_RATE        14     /* a customer's rating */
#define NGX_HOTLINE_OP_MESSAGE     15     /* a message instead of a call */
#define NGX_HOTLINE_OP_AMEND       16     /* later members of a record */
#define NGX_HOTLINE_OP_HOLD        17     /* an agent's customer on hold */
#define NGX_HOTLINE_OP_TRANSFER    18     /* back in the queue, for another */
#define NGX_HOTLINE_OP_MOVE        19     /* its connection came from
                                             another worker */


typedef struct {
    ngx_uint_t                     kind;
    ngx_uint_t                     tries;
    ngx_uint_t                     step;       /* reads done */
    ngx_http_hotline_ref_t        *ref;
    ngx_http_hotline_consumer_t   *consumer;
    ngx_http_hotline_call_pt       handler;
    void                          *data;
    ngx_queue_t                    link;       /* detaches that wait */
    ngx_queue_t                    all;        /* not over: freed at a
                                                  worker's exit */

    u_char                         token[NGX_HOTLINE_ID_LEN];
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    uint64_t                       last_seq;   /* resume */
    int64_t                        from;       /* login: replay after */
    int64_t                        count;      /* seed */

    /* who the caller says it is: name, display name, address */
    ngx_http_hotline_party_t       arg;

    /* what was read */
    ngx_http_hotline_party_t       me;
    ngx_http_hotline_party_t       other;
    ngx_http_hotline_party_t       third;      /* a transfer's agent */
    uint64_t                       index;      /* the index's version */
    uint64_t                       ticket;
    int64_t                        avg;        /* -1: none stored */

    /* what the commit makes of the caller's party */
    uint64_t                       version;
    ngx_uint_t                     state;
    u_char                         peer[NGX_HOTLINE_ID_LEN];

    ngx_http_hotline_result_t      res;

    /*
     * the call's log as read when it may end: its chat (a JSON array) and
     * what the desk kept with it (record members), ngx_alloc()ed
     */
    u_char                        *log;
    ngx_str_t                      log_chat;
    ngx_str_t                      log_extra;
    u_char                        *extra;      /* ngx_alloc()ed: rec.extra */
    ngx_str_t                      more;       /* ngx_alloc()ed: what the
                                                  caller adds (members, or a
                                                  note's object) */

    /* a call that the commit ends */
    ngx_http_hotline_call_record_t rec;
    u_char                         rec_customer[NGX_HOTLINE_CUSTOMER_NAME_MAX];
    u_char                         rec_agent[NGX_HOTLINE_NAME_MAX];

    unsigned                       has_call_id:1;
    unsigned                       ends:1;
    unsigned                       amends:1;   /* rec is an amendment */
    unsigned                       waiting:1;  /* detach: for the store */
    unsigned                       read_all:1; /* detach: the client read
                                                  what was delivered */
} ngx_http_hotline_op_t;


#endif /* _NGX_HTTP_HOTLINE_CALL_OP_H_INCLUDED_ */
