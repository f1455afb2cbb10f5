
/*
 * Copyright (C) hotline authors
 */


/*
 * Differential libFuzzer target: the walk of what Redis sends
 * (src/ngx_http_hotline_resp.c) against hiredis' own reader, the one the
 * module hands the bytes to.  The walk may refuse what hiredis reads (it
 * is stricter), never the other way round:
 *
 *   - each reply the walk takes whole, hiredis reads as one reply from
 *     exactly those bytes, of the same type, element count, first
 *     elements' types and first string;
 *   - a reply that ngx_http_hotline_resp_pushed() lets through to a
 *     subscribed connection passes the checks that hiredis 0.14 asserts
 *     in __redisGetSubscribeCallback().
 *
 * Input: the bytes Redis sends.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>
#include <strings.h>
#include "ngx_http_hotline_resp.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


static u_char
fz_type(redisReply *r)
{
    switch (r->type) {
    case REDIS_REPLY_STATUS:  return '+';
    case REDIS_REPLY_ERROR:   return '-';
    case REDIS_REPLY_INTEGER: return ':';
    case REDIS_REPLY_STRING:  return '$';
    case REDIS_REPLY_ARRAY:   return '*';
    case REDIS_REPLY_NIL:     return NGX_HOTLINE_RESP_NIL;
    default:                  return 0;
    }
}


/* hiredis 0.14's assertions on a message to a subscribed connection */

static int
fz_subscribe_safe(redisReply *r)
{
    const char  *kind;

    if (r->type != REDIS_REPLY_ARRAY) {
        return 1;
    }

    if (r->elements < 2 || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return 0;
    }

    kind = r->element[0]->str;

    if (tolower((unsigned char) kind[0]) == 'p') {
        kind++;
    }

    if (strcasecmp(kind, "unsubscribe") == 0) {
        return r->elements >= 3
               && r->element[2]->type == REDIS_REPLY_INTEGER;
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *p, *last, *copy;
    size_t                          used, i;
    ngx_int_t                       rv;
    redisReader                    *rd;
    redisReply                     *r;
    void                           *reply;
    ngx_http_hotline_resp_reply_t   w;

    copy = malloc(size ? size : 1);
    fz_check(copy != NULL);
    memcpy(copy, data, size);

    p = copy;
    last = copy + size;

    for ( ;; ) {
        rv = ngx_http_hotline_resp_next(p, last, &w, &used);

        if (rv != NGX_OK) {
            fz_check(rv == NGX_AGAIN || rv == NGX_ERROR);
            break;
        }

        fz_check(used > 0 && used <= (size_t) (last - p));

        /* hiredis, on exactly these bytes: one reply, nothing left */

        rd = redisReaderCreate();
        fz_check(rd != NULL);
        fz_check(redisReaderFeed(rd, (char *) p, used) == REDIS_OK);

        reply = NULL;
        fz_check(redisReaderGetReply(rd, &reply) == REDIS_OK);
        fz_check(reply != NULL);
        fz_check(rd->pos == rd->len);

        r = reply;

        fz_check(fz_type(r) == w.type);

        if (r->type == REDIS_REPLY_ARRAY) {
            fz_check((size_t) w.elements == r->elements);

            for (i = 0; i < 3; i++) {
                fz_check(w.first[i] == (i < r->elements
                                        ? fz_type(r->element[i]) : 0));
            }

            if (r->elements && r->element[0]->type == REDIS_REPLY_STRING) {
                fz_check(w.len == r->element[0]->len);
                fz_check(memcmp(w.str, r->element[0]->str, w.len) == 0);
            }
        }

        if (ngx_http_hotline_resp_pushed(&w)) {
            fz_check(fz_subscribe_safe(r));
        }

        freeReplyObject(reply);
        redisReaderFree(rd);

        p += used;
    }

    free(copy);

    return 0;
}
