
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for the readers' merge of the call history
 * (src/ngx_http_hotline_history_merge.c): a record line and an amendment
 * line, as a journal or a Redis anyone on its network may write, merged
 * as an answer has them.  The first input byte picks the query (bit 0:
 * one call's page, call id 0...0; bit 1: every transcript expired); the
 * rest is the amendment, a newline, the record.
 *
 * An answer the merge gives is one JSON object; a list has no
 * transcript; an expired call has none; an erased call (an "erased"
 * member, merged in or its own) has no name, transcript, comment, note
 * text, nor a message's contact or text.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_history.h"
#include "nginx_stubs.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fz_erased(json_t *j)
{
    json_t  *v;

    v = json_object_get(j, "customer");
    fz_check(!json_is_string(v) || json_string_length(v) == 0);
    fz_check(json_object_get(j, "transcript") == NULL);
    fz_check(json_object_get(j, "comment") == NULL);

    v = json_object_get(j, "note");
    fz_check(!json_is_object(v) || json_object_get(v, "text") == NULL);

    v = json_object_get(j, "message");
    fz_check(!json_is_object(v)
             || (json_object_get(v, "contact") == NULL
                 && json_object_get(v, "text") == NULL));
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                            *in, *nl;
    json_t                            *j;
    ngx_int_t                          rc;
    ngx_str_t                          out;
    json_error_t                       err;
    ngx_http_hotline_amends_t          am;
    ngx_http_hotline_history_query_t   q;

    if (size < 2) {
        return 0;
    }

    in = malloc(size - 1);
    if (in == NULL) {
        return 0;
    }

    memcpy(in, data + 1, size - 1);

    nl = memchr(in, '\n', size - 1);
    if (nl == NULL) {
        nl = in;
    }

    ngx_memzero(&q, sizeof(ngx_http_hotline_history_query_t));

    q.limit = 1;
    q.before = -1;

    if (data[0] & 1) {
        ngx_str_set(&q.call_id, "00000000000000000000000000000000");
    }

    if (data[0] & 2) {
        q.expired = INT64_MAX;
    }

    ngx_http_hotline_amends_init(&am);
    fz_check(ngx_http_hotline_amends_add(&am, in, nl - in) == NGX_OK);

    rc = ngx_http_hotline_history_record(&q, &am, nl,
                                         in + size - 1 - nl, &out);

    fz_check(rc == NGX_OK || rc == NGX_DECLINED || rc == NGX_ERROR);

    if (rc == NGX_OK) {
        j = json_loadb((char *) out.data, out.len, 0, &err);
        fz_check(json_is_object(j));

        if (q.call_id.len == 0 || q.expired) {
            fz_check(json_object_get(j, "transcript") == NULL);
        }

        if (json_object_get(j, "erased")) {
            fz_erased(j);
        }

        json_decref(j);
    }

    ngx_http_hotline_amends_free(&am);

    fz_pool_reset();
    free(in);

    return 0;
}
