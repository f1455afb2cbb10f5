
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_auth.h"
#include "ngx_http_hotline_call_queue.h"


/*
 * hotline_recording_check: where hotline-recorder asks whether a
 * recording token may start a recording now.  A recording token is valid
 * for its lifetime (hotline_recorder ttl=) by its signature alone; this
 * makes it die with its call and bounds what it may do: the recorder
 * sends the token it was given (Authorization: Bearer) before it accepts
 * a new recording, and goes on only on 200:
 *
 *   200  {"call":"<id>","role":"customer","recording":3,"max":10}
 *   401  unauthorized       the token is not a recording token of ours
 *   410  call_ended         the call is not in progress (ended, banned,
 *                           never accepted, unknown)
 *   429  recording_limit    the role of the call started max recordings
 *   503  unavailable        the store cannot say
 *
 * Each 200 counts a recording of the role in the call (in the store,
 * "rec:<call>:<role>", kept a day).
 */


#define NGX_HOTLINE_REC_COUNT_TTL  86400000
#define NGX_HOTLINE_HTTP_GONE      410


typedef struct {
    ngx_http_request_t            *request;   /* NULL: it went away */
    ngx_http_hotline_kv_call_t     call;
    ngx_http_hotline_jwt_claims_t  claims;
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    u_char                         key[sizeof("rec::customer")
                                       + NGX_HOTLINE_ID_HEX];
    ngx_str_t                      counter;
    unsigned                       found:1;   /* the request owns it */
} ngx_http_hotline_rc_t;


static void ngx_http_hotline_rc_cleanup(void *data);
static void ngx_http_hotline_rc_found(void *data, ngx_uint_t err,
    ngx_http_hotline_party_t *customer);
static ngx_int_t ngx_http_hotline_rc_live(ngx_http_request_t *r,
    ngx_http_hotline_rc_t *rc, ngx_uint_t err,
    ngx_http_hotline_party_t *customer);
static void ngx_http_hotline_rc_counted(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call);
static ngx_int_t ngx_http_hotline_rc_answer(ngx_http_request_t *r,
    ngx_http_hotline_rc_t *rc);


ngx_int_t
ngx_http_hotline_recording_check_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      token;
    const char                    *err;
    ngx_pool_cleanup_t            *cln;
    ngx_http_hotline_rc_t         *ctx;
    ngx_http_hotline_recorder_t   *rec;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_hotline_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);
    rec = hmcf->recorder;

    if (rec == NULL || hmcf->store == NULL) {
        return ngx_http_hotline_json_error(r, NGX_HTTP_NOT_FOUND,
                                           "no_recording",
                                           "hotline_recorder is not "
                                           "configured");
    }

    if (ngx_http_hotline_token_find(r, NGX_HOTLINE_TOKEN_BEARER, &token)
        != NGX_OK)
    {
        goto unauthorized;
    }

    ctx = ngx_calloc(sizeof(ngx_http_hotline_rc_t), r->connection->log);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err = "malformed";

    rc = ngx_http_hotline_jwt_verify(token.data, token.len, rec->secret.data,
                                     rec->secret.len, (int64_t) ngx_time(), 0,
                                     &ctx->claims, &err);

    /* a recording token: sub is the call's id, role one of the two */

    if (rc != NGX_OK
        || ctx->claims.sub_len != NGX_HOTLINE_ID_HEX
        || ngx_http_hotline_unhex(ctx->call_id, ctx->claims.sub,
                                  NGX_HOTLINE_ID_HEX)
           != NGX_OK
        || !((ctx->claims.role_len == sizeof("customer") - 1
              && ngx_strncmp(ctx->claims.role, "customer",
                             ctx->claims.role_len) == 0)
             || (ctx->claims.role_len == sizeof("agent") - 1
                 && ngx_strncmp(ctx->claims.role, "agent",
                                ctx->claims.role_len) == 0)))
    {
        ngx_free(ctx);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hotline: recording token rejected: %s",
                      rc == NGX_OK ? "not a recording token" : err);
        goto unauthorized;
    }

    /* the answer may come after the request is gone */

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_free(ctx);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_hotline_rc_cleanup;
    cln->data = ctx;

    ctx->request = r;
    r->main->count++;

    ngx_http_hotline_call_find(ctx->call_id, ngx_http_hotline_rc_found, ctx);

    return NGX_DONE;

unauthorized:

    if (ngx_http_hotline_add_header(r, "WWW-Authenticate",
                                    (u_char *) "Bearer realm=\"hotline\"",
                                    sizeof("Bearer realm=\"hotline\"") - 1)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                       "unauthorized",
                                       "a valid recording token is required");
}


static void
ngx_http_hotline_rc_cleanup(void *data)
{
    ngx_http_hotline_rc_t *ctx = data;

    if (ctx->found) {
        /* the lookup answered: the context is the request's */
        ngx_free(ctx);
        return;
    }

    /* the request goes first: the lookup's answer frees the context */
    ctx->request = NULL;
}


static void
ngx_http_hotline_rc_found(void *data, ngx_uint_t err,
    ngx_http_hotline_party_t *customer)
{
    ngx_http_hotline_rc_t *ctx = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (r == NULL) {
        ngx_free(ctx);
        return;
    }

    ctx->found = 1;
    c = r->connection;

    rc = ngx_http_hotline_rc_live(r, ctx, err, customer);

    if (rc != NGX_AGAIN) {
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }
}


/* the call is in progress and recorded: the recording is counted */

static ngx_int_t
ngx_http_hotline_rc_live(ngx_http_request_t *r, ngx_http_hotline_rc_t *ctx,
    ngx_uint_t err, ngx_http_hotline_party_t *customer)
{
    u_char     *p;
    ngx_int_t   rc;

    if (err != NGX_HOTLINE_OK) {
        return ngx_http_hotline_store_error(r, err);
    }

    if (customer == NULL || customer->state != NGX_HOTLINE_ACTIVE
        || !customer->recorded)
    {
        return ngx_http_hotline_json_error(r, NGX_HOTLINE_HTTP_GONE,
                                           "call_ended",
                                           "the call of this token is not "
                                           "in progress");
    }

    p = ngx_cpymem(ctx->key, "rec:", sizeof("rec:") - 1);
    p = ngx_cpymem(p, ctx->claims.sub, NGX_HOTLINE_ID_HEX);
    *p++ = ':';
    p = ngx_cpymem(p, ctx->claims.role, ctx->claims.role_len);

    ctx->counter.data = ctx->key;
    ctx->counter.len = p - ctx->key;

    ctx->call.request = r;
    ctx->call.resume = ngx_http_hotline_rc_counted;
    ctx->call.data = ctx;

    rc = ngx_http_hotline_kv_call(&ctx->call, NGX_HOTLINE_KV_INCR,
                                  &ctx->counter, NULL,
                                  NGX_HOTLINE_REC_COUNT_TTL, 0);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_rc_answer(r, ctx);
}


static void
ngx_http_hotline_rc_counted(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call)
{
    ngx_http_finalize_request(r, ngx_http_hotline_rc_answer(r, call->data));
}


static ngx_int_t
ngx_http_hotline_rc_answer(ngx_http_request_t *r, ngx_http_hotline_rc_t *ctx)
{
    u_char                        *p, *body;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (ctx->call.err != NGX_HOTLINE_OK) {
        return ngx_http_hotline_store_error(r, ctx->call.err);
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);

    if ((ngx_uint_t) ctx->call.kv.number > hmcf->recorder->max) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "hotline: recording %L of the %s of call_id=%s "
                      "refused: hotline_recorder max=%ui",
                      ctx->call.kv.number, ctx->claims.role, ctx->claims.sub,
                      hmcf->recorder->max);

        return ngx_http_hotline_json_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                           "recording_limit",
                                           "this call has as many "
                                           "recordings as it may");
    }

    body = ngx_pnalloc(r->pool, 160);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_snprintf(body, 160,
                     "{\"call\":\"%s\",\"role\":\"%s\",\"recording\":%L,"
                     "\"max\":%ui}",
                     ctx->claims.sub, ctx->claims.role, ctx->call.kv.number,
                     hmcf->recorder->max);

    return ngx_http_hotline_send_json(r, NGX_HTTP_OK, body, p - body);
}
