
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_auth.h"


/*
 * hotline_auth_jwt: an access-phase check, in the manner of nginx's auth
 * modules, that lets a request through only with a valid agent token
 * (Authorization: Bearer or the session cookie) that was not revoked.
 * The claims are variables: $hotline_jwt_sub, $hotline_jwt_role,
 * $hotline_jwt_jti, $hotline_jwt_exp.  Refused requests get 401 with a
 * JSON body and WWW-Authenticate: Bearer (under "satisfy any" the 401 is
 * left to nginx, so another module may still allow the request).
 */


#define NGX_HOTLINE_VAR_SUB   0
#define NGX_HOTLINE_VAR_ROLE  1
#define NGX_HOTLINE_VAR_JTI   2
#define NGX_HOTLINE_VAR_EXP   3


static void ngx_http_hotline_access_checked(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);
static ngx_int_t ngx_http_hotline_access_result(ngx_http_request_t *r,
    ngx_http_hotline_auth_ctx_t *ctx);
static ngx_int_t ngx_http_hotline_access_send(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_hotline_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_hotline_access_vars[] = {

    { ngx_string("hotline_jwt_sub"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_SUB, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hotline_jwt_role"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_ROLE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hotline_jwt_jti"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_JTI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hotline_jwt_exp"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_EXP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_hotline_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_http_hotline_auth_ctx_t       *ctx;
    ngx_http_hotline_loc_conf_t       *hlcf;
    ngx_http_hotline_auth_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_auth_module);

    if (!alcf->auth_jwt) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_auth_module);

    if (ctx && ctx->access_waiting) {
        return NGX_AGAIN;
    }

    if (ctx && ctx->access_done) {
        /* back after the store answered */
        return ngx_http_hotline_access_result(r, ctx);
    }

    ctx = ngx_http_hotline_auth_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);

    ctx->access.done = ngx_http_hotline_access_checked;
    ctx->access.data = ctx;

    rc = ngx_http_hotline_token_check(r, &hlcf->jwt_secret,
                                      NGX_HOTLINE_TOKEN_BEARER
                                      |NGX_HOTLINE_TOKEN_COOKIE,
                                      &ctx->access);

    if (rc == NGX_AGAIN) {
        ctx->access_waiting = 1;
        r->write_event_handler = ngx_http_request_empty_handler;
        return NGX_AGAIN;
    }

    ctx->access_done = 1;

    return ngx_http_hotline_access_result(r, ctx);
}


static void
ngx_http_hotline_access_checked(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk)
{
    ngx_http_hotline_auth_ctx_t  *ctx = tk->data;

    ctx->access_waiting = 0;
    ctx->access_done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_hotline_access_result(ngx_http_request_t *r,
    ngx_http_hotline_auth_ctx_t *ctx)
{
    ngx_table_elt_t           *h;
    ngx_http_hotline_token_t  *tk;
    ngx_http_core_loc_conf_t  *clcf;

    tk = &ctx->access;

    switch (tk->rc) {

    case NGX_OK:
        ctx->access_ok = 1;
        return NGX_OK;

    case NGX_ERROR:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    case NGX_HOTLINE_TOKEN_UNAVAILABLE:
        return ngx_http_hotline_access_send(r,
                   ngx_http_hotline_store_error(r,
                                                NGX_HOTLINE_E_UNAVAILABLE));
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hotline: token rejected: %s", tk->reason);

    if (tk->token.len) {
        h = ngx_http_hotline_add_header(r, "WWW-Authenticate",
                                        (u_char *) "Bearer realm=\"hotline\", "
                                                   "error=\"invalid_token\"",
                                        sizeof("Bearer realm=\"hotline\", "
                                               "error=\"invalid_token\"")
                                        - 1);
    } else {
        h = ngx_http_hotline_add_header(r, "WWW-Authenticate",
                                        (u_char *) "Bearer realm=\"hotline\"",
                                        sizeof("Bearer realm=\"hotline\"")
                                        - 1);
    }

    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    return ngx_http_hotline_access_send(r,
               ngx_http_hotline_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "a valid agent token is "
                                           "required"));
}


/* the answer is sent: the request ends here, the phases stop */

static ngx_int_t
ngx_http_hotline_access_send(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


ngx_int_t
ngx_http_hotline_access_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hotline_access_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    ngx_http_hotline_auth_ctx_t    *ctx;
    ngx_http_hotline_jwt_claims_t  *claims;

    /* subrequests are not checked: they see the main request's claims */

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_hotline_auth_module);

    if (ctx == NULL || !ctx->access_ok) {
        v->not_found = 1;
        return NGX_OK;
    }

    claims = &ctx->access.claims;

    switch (data) {

    case NGX_HOTLINE_VAR_SUB:
        v->data = claims->sub;
        v->len = claims->sub_len;
        break;

    case NGX_HOTLINE_VAR_ROLE:
        v->data = claims->role;
        v->len = claims->role_len;
        break;

    case NGX_HOTLINE_VAR_JTI:
        v->data = claims->jti;
        v->len = claims->jti_len;
        break;

    default: /* NGX_HOTLINE_VAR_EXP */
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%L", claims->exp) - p;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
