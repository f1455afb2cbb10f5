
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_history_merge.h"


/*
 * A call's record in the history is written when the call ends; what
 * comes later (the agent's note and disposition, the customer's rating, a
 * message claimed or done) is written as amendments of it, which every
 * reader of the history merges in: the newest value of each member wins.
 * Both the node's journal and the Redis history read records through
 * here: filters, the merge, and the transcript only for one call's page.
 *
 * Two things take personal data out of what readers return, whatever a
 * store still holds: the transcript of a call that ended longer ago than
 * hotline_transcript_retention, and everything personal of a call whose
 * record has an "erased" amendment (a data-protection request,
 * ngx_http_hotline_history_erase.c).
 */


#define NGX_HOTLINE_AMENDS_MAX     20000   /* calls with amendments held */


/* the free texts of a record: a member, of the record or of a member */
typedef struct {
    const char                       *in;        /* NULL: the record */
    const char                       *member;
} ngx_http_hotline_free_text_t;


static ngx_http_hotline_free_text_t  ngx_http_hotline_free_texts[] = {
    { NULL, "transcript" },
    { NULL, "comment" },
    { "note", "text" },
    { "message", "contact" },
    { "message", "text" },
    { "message", "name" },
    { NULL, NULL }
};


void
ngx_http_hotline_amends_init(ngx_http_hotline_amends_t *am)
{
    am->calls = json_object();
}


void
ngx_http_hotline_amends_free(ngx_http_hotline_amends_t *am)
{
    json_decref(am->calls);
    am->calls = NULL;
}


/*
 * an amendment, {"amend":"<call id>","at":ms, members...}, read newest
 * first: what it has that a newer one did not say is kept for its call
 */

ngx_int_t
ngx_http_hotline_amends_add(ngx_http_hotline_amends_t *am, u_char *line,
    size_t len)
{
    json_t        *j, *id, *known;
    json_error_t   err;

    if (am->calls == NULL) {
        return NGX_ERROR;
    }

    j = json_loadb((char *) line, len, 0, &err);
    id = json_object_get(j, "amend");

    if (!json_is_string(id)) {
        /* a torn line: skipped */
        json_decref(j);
        return NGX_OK;
    }

    known = json_object_get(am->calls, json_string_value(id));

    if (known) {
        (void) json_object_update_missing(known, j);

    } else if (json_object_size(am->calls) < NGX_HOTLINE_AMENDS_MAX) {
        (void) json_object_set(am->calls, json_string_value(id), j);
    }

    json_decref(j);

    return NGX_OK;
}


/*
 * A record of the history (its JSON line) as a history answer has it:
 * NGX_DECLINED when the query's filters leave it out; else out (from the
 * query's pool) is the record with its amendments merged in, without its
 * transcript unless the query asks for one call.
 */

ngx_int_t
ngx_http_hotline_history_record(ngx_http_hotline_history_query_t *q,
    ngx_http_hotline_amends_t *am, u_char *line, size_t len, ngx_str_t *out)
{
    char          *s;
    size_t         n;
    json_t        *j, *a, *v;
    ngx_int_t      rc;
    const char    *id;
    json_error_t   err;

    j = json_loadb((char *) line, len, 0, &err);

    if (j == NULL || !json_is_object(j)) {
        /* a torn line (a crash in mid-write): skipped */
        json_decref(j);
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    id = json_string_value(json_object_get(j, "call_id"));

    if (id == NULL
        || (q->call_id.len
            && (ngx_strlen(id) != q->call_id.len
                || ngx_strncmp(id, q->call_id.data, q->call_id.len) != 0)))
    {
        goto done;
    }

    if (ngx_http_hotline_history_member_is(j, "agent", &q->agent)
        != NGX_OK
        || ngx_http_hotline_history_member_is(j, "outcome", &q->outcome)
           != NGX_OK)
    {
        goto done;
    }

    a = am ? json_object_get(am->calls, id) : NULL;

    if (a) {
        (void) json_object_update(j, a);
        (void) json_object_del(j, "amend");
        (void) json_object_del(j, "at");
    }

    (void) ngx_http_hotline_history_forget(j, q->expired, 0);

    if (q->open) {
        /* a message or callback request nobody has done yet */
        v = json_object_get(j, "outcome");

        if (!json_is_string(v)
            || ngx_strcmp(json_string_value(v), "message") != 0
            || json_object_get(j, "done"))
        {
            goto done;
        }
    }

    if (q->call_id.len == 0) {
        (void) json_object_del(j, "transcript");
    }

    s = json_dumps(j, JSON_COMPACT);
    if (s == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    n = ngx_strlen(s);

    out->data = ngx_pnalloc(q->pool, n);

    if (out->data == NULL) {
        rc = NGX_ERROR;

    } else {
        ngx_memcpy(out->data, s, n);
        out->len = n;
        rc = NGX_OK;
    }

    free(s);

done:

    json_decref(j);

    return rc;
}


/* NGX_OK when want is empty, or the string member is want */

ngx_int_t
ngx_http_hotline_history_member_is(json_t *j, const char *name,
    ngx_str_t *want)
{
    const char  *s;

    if (want->len == 0) {
        return NGX_OK;
    }

    s = json_string_value(json_object_get(j, name));

    if (s == NULL || ngx_strlen(s) != want->len
        || ngx_strncmp(s, want->data, want->len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Takes out of a record (or an amendment) what it must no longer hold:
 * erased (erase, or an "erased" member), the customer's name (""), the
 * transcript and every free text (the note's, the comment, a message's
 * contact and text, the reasons of transfers); else the transcript when
 * the call ended before expired (or its end is not known).
 * The facts stay: times, durations, outcome, agents, disposition,
 * rating.  NGX_OK: something was taken out.
 */

ngx_int_t
ngx_http_hotline_history_forget(json_t *j, int64_t expired, ngx_uint_t erase)
{
    size_t                         i;
    json_t                        *v, *t;
    ngx_int_t                      rc;
    ngx_http_hotline_free_text_t  *f;

    rc = NGX_DECLINED;

    if (!erase && json_object_get(j, "erased") == NULL) {
        /* a record without its end (damaged) keeps no transcript */

        v = json_object_get(j, "ended");

        if (expired
            && (!json_is_integer(v) || json_integer_value(v) < expired)
            && json_object_del(j, "transcript") == 0)
        {
            rc = NGX_OK;
        }

        return rc;
    }

    v = json_object_get(j, "customer");

    if (json_is_string(v) && json_string_length(v)) {
        (void) json_object_set_new(j, "customer", json_string(""));
        rc = NGX_OK;
    }

    for (f = ngx_http_hotline_free_texts; f->member; f++) {
        v = f->in ? json_object_get(j, f->in) : j;

        if (json_is_object(v) && json_object_del(v, f->member) == 0) {
            rc = NGX_OK;
        }
    }

    v = json_object_get(j, "transfers");

    for (i = 0; json_is_array(v) && i < json_array_size(v); i++) {
        t = json_array_get(v, i);

        if (json_is_object(t) && json_object_del(t, "reason") == 0) {
            rc = NGX_OK;
        }
    }

    return rc;
}
