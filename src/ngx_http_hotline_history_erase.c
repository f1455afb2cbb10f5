
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_auth.h"
#include "ngx_http_hotline_history.h"


/*
 * DELETE <history location>?call_id=<id>: erases a call's personal data
 * on request (the operator's data-protection duty), for the agents
 * hotline_history_erase names.  The call's record keeps its facts
 * (times, durations, outcome, agents, disposition, rating): statistics
 * stay right.  An amendment {"erased":<ms>} goes to the history, through
 * the call model like every amendment (both stores, every node): every
 * reader leaves the call's personal data out from then on
 * (ngx_http_hotline_history_forget()).  What is stored goes too:
 *
 *   - the node's journal and the rotated files beside it have the call's
 *     lines rewritten in place (ngx_http_hotline_history_erase_journal());
 *   - on Redis, the commit script's "H" step deletes the call's name,
 *     desk's members (P hp:) and transcript (P ht:) and rewrites its
 *     amendments without their free texts; the facts the members held
 *     come with the amendment (ngx_http_hotline_erase_facts()); the call's
 *     id goes to P he, from which every other node rewrites its own
 *     journal (ngx_http_hotline_store_redis_history.c).
 *
 * Erasing again is harmless: 200 each time.
 */


typedef struct {
    ngx_http_request_t                *request;
    ngx_http_hotline_history_query_t   q;
    u_char                             id[NGX_HOTLINE_ID_LEN];
    int64_t                            at;
    ngx_int_t                          rc;
    ngx_str_t                          facts;
    unsigned                           done:1;
    unsigned                           async:1;
} ngx_http_hotline_erase_ctx_t;


/* a record's own members: the Redis history's stream entry has them */
static const char  *ngx_http_hotline_erase_own[] = {
    "call_id", "customer", "agent", "joined", "accepted", "ended",
    "outcome", "by", "duration", "recorded", "transcript", "erased",
    "amend", "at", NULL
};


static void ngx_http_hotline_erase_found(void *data, ngx_uint_t err,
    ngx_http_hotline_history_t *h);
static ngx_int_t ngx_http_hotline_erase_facts(
    ngx_http_hotline_erase_ctx_t *ctx, ngx_str_t *rec);
static void ngx_http_hotline_erase_amend(ngx_http_hotline_erase_ctx_t *ctx);
static void ngx_http_hotline_erase_amended(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_erase_finish(ngx_http_hotline_erase_ctx_t *ctx,
    ngx_int_t rc);


/*
 * May the agent of this request erase calls at this location: NGX_OK;
 * NGX_HTTP_UNAUTHORIZED without an agent's session, NGX_HTTP_FORBIDDEN
 * for an agent hotline_history_erase does not name (or "off").  The
 * history's answers say it too ("erase"), for the console's button.
 */

ngx_int_t
ngx_http_hotline_history_may_erase(ngx_http_request_t *r)
{
    ngx_str_t                    *name;
    ngx_uint_t                    i;
    ngx_http_hotline_auth_ctx_t  *actx;
    ngx_http_hotline_loc_conf_t  *hlcf;

    actx = ngx_http_get_module_ctx(r, ngx_http_hotline_auth_module);

    if (actx == NULL || !actx->access_ok) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);

    if (hlcf->history_erase == NULL) {
        return NGX_HTTP_FORBIDDEN;
    }

    if (hlcf->history_erase->nelts == 0) {
        return NGX_OK;                             /* any */
    }

    name = hlcf->history_erase->elts;

    for (i = 0; i < hlcf->history_erase->nelts; i++) {
        if (name[i].len == actx->access.claims.sub_len
            && ngx_strncmp(name[i].data, actx->access.claims.sub,
                           name[i].len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_HTTP_FORBIDDEN;
}


ngx_int_t
ngx_http_hotline_history_erase(ngx_http_request_t *r)
{
    ngx_str_t                      v;
    ngx_http_hotline_store_t      *store;
    ngx_http_hotline_main_conf_t  *hmcf;
    ngx_http_hotline_erase_ctx_t  *ctx;

    switch (ngx_http_hotline_history_may_erase(r)) {

    case NGX_OK:
        break;

    case NGX_HTTP_UNAUTHORIZED:
        return ngx_http_hotline_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "erasing needs an agent's "
                                           "session (hotline_auth_jwt)");

    default:
        return ngx_http_hotline_json_error(r, NGX_HTTP_FORBIDDEN,
                                           "forbidden",
                                           "this agent may not erase calls "
                                           "(hotline_history_erase)");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_erase_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_arg(r, (u_char *) "call_id", 7, &v) != NGX_OK
        || v.len != NGX_HOTLINE_ID_HEX
        || ngx_http_hotline_unhex(ctx->id, v.data, v.len) != NGX_OK)
    {
        return ngx_http_hotline_json_error(r, NGX_HTTP_BAD_REQUEST,
                                           "bad_query",
                                           "call_id: 32 hex digits");
    }

    ctx->request = r;
    ctx->at = ngx_http_hotline_now();

    /* the call's record, to tell an unknown call */

    ctx->q.pool = r->pool;
    ctx->q.log = r->connection->log;
    ctx->q.limit = 1;
    ctx->q.before = -1;
    ctx->q.call_id = v;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);
    store = hmcf->store;

    if (store && store->history) {
        store->history(&ctx->q, ngx_http_hotline_erase_found, ctx);

    } else {
        switch (ngx_http_hotline_history_erase_journal(&ctx->q)) {

        case NGX_OK:
            ngx_http_hotline_erase_amend(ctx);
            break;

        case NGX_DECLINED:
            ngx_http_hotline_erase_finish(ctx,
                      ngx_http_hotline_json_error(r, NGX_HTTP_NOT_FOUND,
                                                  "not_found",
                                                  "no such call"));
            break;

        default:
            ngx_http_hotline_erase_finish(ctx,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR);
        }
    }

    if (ctx->done) {
        return ctx->rc;
    }

    /* the answer comes from the event loop */

    ctx->async = 1;
    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_hotline_erase_found(void *data, ngx_uint_t err,
    ngx_http_hotline_history_t *h)
{
    ngx_http_hotline_erase_ctx_t *ctx = data;

    ngx_http_request_t  *r;

    r = ctx->request;

    if (err != NGX_HOTLINE_OK || h == NULL) {
        ngx_http_hotline_erase_finish(ctx,
                  ngx_http_hotline_store_error(r, err != NGX_HOTLINE_OK
                                                  ? err
                                                  : NGX_HOTLINE_E_INTERNAL));
        return;
    }

    if (h->records.nelts == 0) {
        ngx_http_hotline_erase_finish(ctx,
                  ngx_http_hotline_json_error(r, NGX_HTTP_NOT_FOUND,
                                              "not_found", "no such call"));
        return;
    }

    if (ngx_http_hotline_erase_facts(ctx, h->records.elts) != NGX_OK) {
        ngx_http_hotline_erase_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* this node's copy of the history (its journal) too */

    (void) ngx_http_hotline_history_erase_journal(&ctx->q);

    ngx_http_hotline_erase_amend(ctx);
}


/*
 * The store deletes the call's name and desk's members, which hold its
 * facts too (the hold time, the disposition, the transfers, a message's
 * kind): ctx->facts, the members of its record rec but its own, without
 * its personal data, go in the amendment that erases it.
 */

static ngx_int_t
ngx_http_hotline_erase_facts(ngx_http_hotline_erase_ctx_t *ctx,
    ngx_str_t *rec)
{
    char          *s;
    size_t         n;
    json_t        *j;
    const char   **own;
    json_error_t   err;

    j = json_loadb((char *) rec->data, rec->len, 0, &err);

    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return NGX_ERROR;
    }

    (void) ngx_http_hotline_history_forget(j, 0, 1);

    for (own = ngx_http_hotline_erase_own; *own; own++) {
        (void) json_object_del(j, *own);
    }

    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);

    if (s == NULL) {
        return NGX_ERROR;
    }

    /* {members} as ,members */

    n = ngx_strlen(s);

    if (n > 2) {
        ctx->facts.data = ngx_pnalloc(ctx->request->pool, n - 1);
        if (ctx->facts.data == NULL) {
            free(s);
            return NGX_ERROR;
        }

        ctx->facts.data[0] = ',';
        ngx_memcpy(ctx->facts.data + 1, s + 1, n - 2);
        ctx->facts.len = n - 1;
    }

    free(s);

    return NGX_OK;
}


/* the amendment every reader applies: ,"erased":<ms>, the facts */

static void
ngx_http_hotline_erase_amend(ngx_http_hotline_erase_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   members;

    members.data = ngx_pnalloc(ctx->request->pool,
                               sizeof(",\"erased\":") + NGX_INT64_LEN
                               + ctx->facts.len);
    if (members.data == NULL) {
        ngx_http_hotline_erase_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(members.data, ",\"erased\":%L", ctx->at);

    if (ctx->facts.len) {
        p = ngx_cpymem(p, ctx->facts.data, ctx->facts.len);
    }
    members.len = p - members.data;

    ngx_http_hotline_call_amend(ctx->id, &members,
                                ngx_http_hotline_erase_amended, ctx);
}


static void
ngx_http_hotline_erase_amended(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_erase_ctx_t *ctx = data;

    u_char                       *p;
    ngx_buf_t                    *b;
    ngx_str_t                     sub, jti, id;
    ngx_chain_t                  *out;
    ngx_http_request_t           *r;
    ngx_http_hotline_auth_ctx_t  *actx;

    r = ctx->request;

    if (err != NGX_HOTLINE_OK) {
        ngx_http_hotline_erase_finish(ctx,
                                      ngx_http_hotline_store_error(r, err));
        return;
    }

    /* the audit trail: who erased which call, nothing of its data */

    actx = ngx_http_get_module_ctx(r, ngx_http_hotline_auth_module);

    sub.data = actx->access.claims.sub;
    sub.len = actx->access.claims.sub_len;
    jti.data = actx->access.claims.jti;
    jti.len = actx->access.claims.jti_len;
    id = ctx->q.call_id;

    ngx_http_hotline_audit_call(r, "history_erase", &sub, &jti, NULL, &id);

    b = ngx_create_temp_buf(r->pool, sizeof("{\"call_id\":\"\",\"erased\":}")
                                     + NGX_HOTLINE_ID_HEX + NGX_INT64_LEN);
    out = ngx_alloc_chain_link(r->pool);

    if (b == NULL || out == NULL) {
        ngx_http_hotline_erase_finish(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_sprintf(b->last, "{\"call_id\":\"%V\",\"erased\":%L}", &id,
                    ctx->at);
    b->last = p;

    out->buf = b;
    out->next = NULL;

    ngx_http_hotline_erase_finish(ctx,
                                  ngx_http_hotline_send(r, NGX_HTTP_OK,
                                                        "application/json",
                                                        out));
}


static void
ngx_http_hotline_erase_finish(ngx_http_hotline_erase_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    if (!ctx->async) {
        ctx->done = 1;
        ctx->rc = rc;
        return;
    }

    r = ctx->request;
    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * hotline_history_erase off | any | <agent> ...: who may erase a call's
 * personal data through this history location
 */

char *
ngx_http_hotline_history_erase_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_loc_conf_t *hlcf = conf;

    u_char      *c;
    ngx_str_t   *value, *name;
    ngx_uint_t   i;

    if (hlcf->history_erase != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->history_erase = NULL;
        return NGX_CONF_OK;
    }

    hlcf->history_erase = ngx_array_create(cf->pool, cf->args->nelts,
                                           sizeof(ngx_str_t));
    if (hlcf->history_erase == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "any") == 0) {
        /* no names: any agent */
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        for (c = value[i].data; c < value[i].data + value[i].len; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
                  || *c == '.' || *c == '_' || *c == '-'))
            {
                break;
            }
        }

        if (value[i].len == 0 || value[i].len > NGX_HOTLINE_NAME_MAX
            || c != value[i].data + value[i].len
            || ngx_strcmp(value[i].data, "off") == 0
            || ngx_strcmp(value[i].data, "any") == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid agent \"%V\" in \"%V\": expected "
                               "off, any, or names of agents", &value[i],
                               &cmd->name);
            return NGX_CONF_ERROR;
        }

        name = ngx_array_push(hlcf->history_erase);
        if (name == NULL) {
            return NGX_CONF_ERROR;
        }

        *name = value[i];
    }

    return NGX_CONF_OK;
}
