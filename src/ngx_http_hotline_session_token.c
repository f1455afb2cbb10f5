
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_hotline_auth.h"


/*
 * Agent sessions: the token issued after a good code (an HS256 JWT with
 * sub, role "agent", iat, exp, a 128-bit random jti), handed out both as
 * the __Host- session cookie and in the JSON body; and hotline_logout,
 * which puts the token's id on the store's deny list until the token
 * would have expired and clears the cookie.
 */


#define NGX_HOTLINE_COOKIE_ATTRS  "; Path=/; Secure; HttpOnly; SameSite=Strict"


static ngx_int_t ngx_http_hotline_set_cookie(ngx_http_request_t *r,
    ngx_str_t *token, time_t max_age);
static ngx_int_t ngx_http_hotline_logout_refused(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);
static void ngx_http_hotline_logout_resume(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call);
static ngx_int_t ngx_http_hotline_logout_done(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);
static void ngx_http_hotline_session_claims(ngx_http_request_t *r,
    ngx_http_hotline_jwt_claims_t *claims);


ngx_int_t
ngx_http_hotline_session_issue(ngx_http_request_t *r,
    ngx_http_hotline_agent_t *agent)
{
    u_char                            *out;
    size_t                             len, size;
    time_t                             now;
    json_t                            *body;
    ngx_str_t                          token, jti;
    ngx_http_hotline_loc_conf_t       *hlcf;
    ngx_http_hotline_jwt_claims_t      claims;
    ngx_http_hotline_auth_loc_conf_t  *alcf;
    u_char                             raw[NGX_HOTLINE_ID_LEN];

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);
    alcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_auth_module);

    now = ngx_time();

    ngx_memzero(&claims, sizeof(ngx_http_hotline_jwt_claims_t));

    ngx_memcpy(claims.sub, agent->username.data, agent->username.len);
    claims.sub_len = agent->username.len;
    ngx_memcpy(claims.role, "agent", sizeof("agent") - 1);
    claims.role_len = sizeof("agent") - 1;

    if (agent->name.len <= NGX_HOTLINE_JWT_MAX_CLAIM) {
        ngx_memcpy(claims.name, agent->name.data, agent->name.len);
        claims.name_len = agent->name.len;
    }

    if (ngx_http_hotline_random_id(raw) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hotline_hex(claims.jti, raw, NGX_HOTLINE_ID_LEN);
    claims.jti_len = NGX_HOTLINE_ID_HEX;

    claims.iat = now;
    claims.exp = now + alcf->jwt_ttl;

    token.data = ngx_pnalloc(r->pool, NGX_HOTLINE_JWT_MAX_TOKEN);
    if (token.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    token.len = ngx_http_hotline_jwt_sign(&claims, hlcf->jwt_secret.data,
                                          hlcf->jwt_secret.len, token.data,
                                          NGX_HOTLINE_JWT_MAX_TOKEN);
    if (token.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "hotline: a session token could not be signed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body = json_pack("{s:s%,s:s,s:I,s:I,s:s%,s:s%}",
                     "token", (const char *) token.data, token.len,
                     "token_type", "Bearer",
                     "expires_at", (json_int_t) claims.exp,
                     "expires_in", (json_int_t) alcf->jwt_ttl,
                     "sub", (const char *) agent->username.data,
                     agent->username.len,
                     "name", (const char *) agent->name.data,
                     agent->name.len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = json_dumpb(body, NULL, 0, JSON_COMPACT);

    out = size ? ngx_pnalloc(r->pool, size) : NULL;

    len = out ? json_dumpb(body, (char *) out, size, JSON_COMPACT) : 0;

    json_decref(body);

    if (len == 0 || len > size) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hotline_set_cookie(r, &token, alcf->jwt_ttl) != NGX_OK
        || ngx_http_hotline_no_store(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hotline_session_claims(r, &claims);

    jti.data = claims.jti;
    jti.len = claims.jti_len;

    ngx_http_hotline_audit(r, "login_ok", &agent->username, &jti, NULL);
    ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_OK);

    return ngx_http_hotline_send_json(r, NGX_HTTP_OK, out, len);
}


/* hotline_logout: POST with the token in Authorization or the cookie */

ngx_int_t
ngx_http_hotline_logout_handler(ngx_http_request_t *r)
{
    time_t                        now;
    ngx_int_t                     rc;
    ngx_msec_t                    ttl;
    ngx_http_hotline_token_t     *tk;
    ngx_http_hotline_loc_conf_t  *hlcf;

    static ngx_str_t  one = ngx_string("1");

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_hotline_not_allowed(r, "POST");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);

    tk = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_token_t));
    if (tk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hotline_token_find(r, NGX_HOTLINE_TOKEN_BEARER
                                       |NGX_HOTLINE_TOKEN_COOKIE,
                                    &tk->token)
        != NGX_OK)
    {
        tk->reason = "no token";
        return ngx_http_hotline_logout_refused(r, tk);
    }

    rc = ngx_http_hotline_token_verify(r, &hlcf->jwt_secret, tk);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != NGX_OK) {
        return ngx_http_hotline_logout_refused(r, tk);
    }

    /*
     * On the deny list ("revoked:<id>") until the token would have expired
     * anyway; the store also tells every worker, which close the agent
     * WebSockets opened with it.
     */

    now = ngx_time();
    ttl = (tk->claims.exp > now) ? (ngx_msec_t) (tk->claims.exp - now) * 1000
                                 : 1000;

    tk->call.request = r;
    tk->call.resume = ngx_http_hotline_logout_resume;
    tk->call.data = tk;
    tk->call.flags = NGX_HOTLINE_KV_DURABLE|NGX_HOTLINE_KV_NOTIFY;

    rc = ngx_http_hotline_kv_call(&tk->call, NGX_HOTLINE_KV_SET,
                                  &tk->revocation, &one, ttl, 0);

    if (rc == NGX_AGAIN) {
        r->main->count++;
        r->write_event_handler = ngx_http_request_empty_handler;
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_logout_done(r, tk);
}


static void
ngx_http_hotline_logout_resume(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call)
{
    ngx_http_finalize_request(r, ngx_http_hotline_logout_done(r, call->data));
}


static ngx_int_t
ngx_http_hotline_logout_done(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk)
{
    ngx_str_t  user, id, none;

    static u_char  answer[] = "{\"status\":\"logged_out\"}";

    if (tk->call.err != NGX_HOTLINE_OK) {
        return ngx_http_hotline_store_error(r, tk->call.err);
    }

    ngx_str_null(&none);

    if (ngx_http_hotline_set_cookie(r, &none, 0) != NGX_OK
        || ngx_http_hotline_no_store(r) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hotline_session_claims(r, &tk->claims);

    user.data = tk->claims.sub;
    user.len = tk->claims.sub_len;

    /* the jti, or "#<hash>" for a token without one */

    ngx_http_hotline_token_id(tk, &id);

    ngx_http_hotline_audit(r, "logout", &user, &id, NULL);
    ngx_http_hotline_audit(r, "revoked", &user, &id, "logout");
    ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_REVOKED);

    return ngx_http_hotline_send_json(r, NGX_HTTP_OK, answer,
                                      sizeof(answer) - 1);
}


/* no valid token: nothing to revoke; the cookie is cleared all the same */

static ngx_int_t
ngx_http_hotline_logout_refused(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk)
{
    ngx_str_t         none;
    ngx_table_elt_t  *h;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hotline: logout refused: %s", tk->reason);

    ngx_str_null(&none);

    if (ngx_http_hotline_set_cookie(r, &none, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_http_hotline_add_header(r, "WWW-Authenticate",
                                    (u_char *) "Bearer realm=\"hotline\"",
                                    sizeof("Bearer realm=\"hotline\"") - 1);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    return ngx_http_hotline_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                       "unauthorized",
                                       "a valid agent token is required");
}


static ngx_int_t
ngx_http_hotline_set_cookie(ngx_http_request_t *r, ngx_str_t *token,
    time_t max_age)
{
    u_char  *p, *last;
    size_t   len;

    len = sizeof(NGX_HOTLINE_SESSION_COOKIE "=") - 1 + token->len
          + sizeof(NGX_HOTLINE_COOKIE_ATTRS "; Max-Age=") - 1
          + NGX_TIME_T_LEN;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(p, NGX_HOTLINE_SESSION_COOKIE "=%V"
                       NGX_HOTLINE_COOKIE_ATTRS "; Max-Age=%T",
                       token, max_age);

    if (ngx_http_hotline_add_header(r, "Set-Cookie", p, last - p) == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* $hotline_jwt_* of the session just issued or ended, for the logs */

static void
ngx_http_hotline_session_claims(ngx_http_request_t *r,
    ngx_http_hotline_jwt_claims_t *claims)
{
    ngx_http_hotline_auth_ctx_t  *ctx;

    ctx = ngx_http_hotline_auth_ctx(r);
    if (ctx == NULL) {
        return;
    }

    if (&ctx->access.claims != claims) {
        ctx->access.claims = *claims;
    }

    ctx->access_ok = 1;
}
