
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/evp.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_auth.h"
#include "ngx_http_hotline_session.h"


/*
 * Agent tokens: found in the Authorization header, the session cookie,
 * or (browsers cannot set headers on a WebSocket) a "bearer.<token>"
 * subprotocol value; verified (HS256, exp, nbf, role "agent"); and looked
 * up in the store's deny list of revoked tokens.  Used by the agent
 * WebSocket handshake, the access check (hotline_auth_jwt) and logout.
 */


typedef struct {
    ngx_http_hotline_token_t          token;
    ngx_http_hotline_session_t       *session;
    ngx_http_hotline_agent_auth_pt    done;
} ngx_http_hotline_agent_auth_t;


static ngx_int_t ngx_http_hotline_agent_result(ngx_http_request_t *r,
    ngx_http_hotline_agent_auth_t *aa);
static void ngx_http_hotline_agent_checked(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);
static ngx_int_t ngx_http_hotline_token_revocation(
    ngx_http_hotline_token_t *tk);
static ngx_int_t ngx_http_hotline_token_agent(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);
static void ngx_http_hotline_token_answer(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call);
static ngx_int_t ngx_http_hotline_cookie(ngx_str_t *item, void *data);
static ngx_int_t ngx_http_hotline_bearer_protocol(ngx_str_t *item,
    void *data);


/*
 * The agent WebSocket handshake: NGX_OK (s->sub is the agent),
 * NGX_DECLINED (401), NGX_HOTLINE_TOKEN_UNAVAILABLE (503: the store
 * cannot say whether the token was revoked), NGX_ERROR, or NGX_AGAIN:
 * done(r, s, rc) is called with one of the others later.
 */

ngx_int_t
ngx_http_hotline_agent_auth(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_http_hotline_session_t *s,
    ngx_http_hotline_agent_auth_pt done)
{
    ngx_int_t                       rc;
    ngx_http_hotline_agent_auth_t  *aa;

    aa = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_agent_auth_t));
    if (aa == NULL) {
        return NGX_ERROR;
    }

    aa->session = s;
    aa->done = done;
    aa->token.done = ngx_http_hotline_agent_checked;
    aa->token.data = aa;

    rc = ngx_http_hotline_token_check(r, &hlcf->jwt_secret,
                                      NGX_HOTLINE_TOKEN_BEARER
                                      |NGX_HOTLINE_TOKEN_COOKIE
                                      |NGX_HOTLINE_TOKEN_PROTOCOL,
                                      &aa->token);
    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    return ngx_http_hotline_agent_result(r, aa);
}


static void
ngx_http_hotline_agent_checked(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk)
{
    ngx_http_hotline_agent_auth_t  *aa = tk->data;

    aa->done(r, aa->session, ngx_http_hotline_agent_result(r, aa));
}


static ngx_int_t
ngx_http_hotline_agent_result(ngx_http_request_t *r,
    ngx_http_hotline_agent_auth_t *aa)
{
    ngx_str_t                  id;
    ngx_http_hotline_token_t  *tk;

    tk = &aa->token;

    if (tk->rc != NGX_OK) {
        if (tk->rc != NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          tk->token.len ? "hotline: agent token rejected: %s"
                                        : "hotline: agent handshake without "
                                          "a token",
                          tk->reason);
        }

        return tk->rc;
    }

    ngx_memcpy(aa->session->agent->sub, tk->claims.sub, tk->claims.sub_len);
    aa->session->agent->sub_len = tk->claims.sub_len;

    /* the name the customer sees: the display name, else the username */

    if (tk->claims.name_len && tk->claims.name_len <= NGX_HOTLINE_NAME_MAX) {
        ngx_memcpy(aa->session->agent->display, tk->claims.name,
                   tk->claims.name_len);
        aa->session->agent->display_len = tk->claims.name_len;

    } else {
        ngx_memcpy(aa->session->agent->display, tk->claims.sub,
                   tk->claims.sub_len);
        aa->session->agent->display_len = tk->claims.sub_len;
    }

    /*
     * The connection ends with the token: revoked (logout) or expired.
     * Its id in the deny list: the jti, or "#<hash>" for a token without.
     */

    ngx_http_hotline_token_id(tk, &id);

    if (id.len > sizeof(aa->session->agent->jti)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(aa->session->agent->jti, id.data, id.len);
    aa->session->agent->jti_len = id.len;
    aa->session->agent->exp = (time_t) tk->claims.exp;

    return NGX_OK;
}


/*
 * Finds, verifies and looks up the revocation of a token: NGX_OK,
 * NGX_DECLINED (tk->reason says why), NGX_HOTLINE_TOKEN_UNAVAILABLE,
 * NGX_ERROR, or NGX_AGAIN: tk->done(r, tk) with tk->rc set comes later.
 */

ngx_int_t
ngx_http_hotline_token_check(ngx_http_request_t *r, ngx_str_t *secret,
    ngx_uint_t carriers, ngx_http_hotline_token_t *tk)
{
    ngx_int_t                      rc;
    ngx_atomic_uint_t              notices;
    ngx_http_hotline_store_t      *store;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (ngx_http_hotline_token_find(r, carriers, &tk->token) != NGX_OK) {
        tk->reason = "no token";
        tk->rc = NGX_DECLINED;
        return tk->rc;
    }

    tk->rc = ngx_http_hotline_token_verify(r, secret, tk);
    if (tk->rc != NGX_OK) {
        return tk->rc;
    }

    /*
     * A store that counts its NOTIFY writes (every revocation is one)
     * is asked again only when one was written since it last found this
     * token not revoked; the count is read before the lookup.
     */

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);
    store = hmcf->store;
    notices = 0;

    if (store && store->kv_notices) {
        notices = store->kv_notices();

        if (ngx_http_hotline_token_cache_still_unrevoked(tk, notices)) {
            return NGX_OK;
        }
    }

    tk->call.request = r;
    tk->call.resume = ngx_http_hotline_token_answer;
    tk->call.data = tk;

    rc = ngx_http_hotline_kv_call(&tk->call, NGX_HOTLINE_KV_GET,
                                  &tk->revocation, NULL, 0, 0);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_ERROR) {
        tk->rc = NGX_ERROR;
        return tk->rc;
    }

    tk->rc = ngx_http_hotline_token_revocation(tk);

    if (tk->rc == NGX_OK && store && store->kv_notices) {
        ngx_http_hotline_token_cache_unrevoked(tk, notices);
    }

    return tk->rc;
}


static void
ngx_http_hotline_token_answer(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call)
{
    ngx_http_hotline_token_t  *tk = call->data;

    tk->rc = ngx_http_hotline_token_revocation(tk);

    tk->done(r, tk);
}


static ngx_int_t
ngx_http_hotline_token_revocation(ngx_http_hotline_token_t *tk)
{
    if (tk->call.err != NGX_HOTLINE_OK) {
        tk->reason = "the store is unavailable";
        return NGX_HOTLINE_TOKEN_UNAVAILABLE;
    }

    if (tk->call.kv.found) {
        tk->reason = "revoked";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * HS256 with the key, exp and nbf (no leeway), role "agent", sub of at
 * most NGX_HOTLINE_NAME_MAX bytes.  Also sets the token's revocation key:
 * "revoked:<jti>", or for a token without jti "revoked:#" and the first
 * 16 bytes of the SHA-256 of the token in hex, so that every token can be
 * revoked.  Tokens verified before come from the worker's cache
 * (ngx_http_hotline_token_cache.c).
 */

ngx_int_t
ngx_http_hotline_token_verify(ngx_http_request_t *r, ngx_str_t *secret,
    ngx_http_hotline_token_t *tk)
{
    u_char                         *p;
    ngx_int_t                       rc;
    unsigned int                    n;
    const char                     *err;
    ngx_http_hotline_jwt_claims_t  *claims;
    u_char                          md[EVP_MAX_MD_SIZE];

    claims = &tk->claims;
    tk->cached = NULL;

    if (ngx_http_hotline_token_cache_get(secret, tk) == NGX_OK) {

        /* verified before: only time (and the agents list) moved on */

        if ((int64_t) ngx_time() >= claims->exp) {
            tk->reason = "expired";
            return NGX_DECLINED;
        }

        return ngx_http_hotline_token_agent(r, tk);
    }

    err = "malformed";

    rc = ngx_http_hotline_jwt_verify(tk->token.data, tk->token.len,
                                     secret->data, secret->len,
                                     (int64_t) ngx_time(), 0, claims, &err);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        tk->reason = err;
        return NGX_DECLINED;
    }

    if (claims->role_len != sizeof("agent") - 1
        || ngx_strncmp(claims->role, "agent", claims->role_len) != 0)
    {
        tk->reason = "role is not agent";
        return NGX_DECLINED;
    }

    if (claims->sub_len == 0 || claims->sub_len > NGX_HOTLINE_NAME_MAX) {
        tk->reason = "bad sub";
        return NGX_DECLINED;
    }

    if (claims->jti_len) {
        p = ngx_http_hotline_revoked_key(tk->key, claims->jti,
                                         claims->jti_len);

    } else {
        p = ngx_cpymem(tk->key, NGX_HOTLINE_REVOKED,
                       sizeof(NGX_HOTLINE_REVOKED) - 1);

        if (EVP_Digest(tk->token.data, tk->token.len, md, &n, EVP_sha256(),
                       NULL)
            != 1)
        {
            return NGX_ERROR;
        }

        *p++ = '#';
        p = ngx_hex_dump(p, md, 16);
    }

    tk->revocation.data = tk->key;
    tk->revocation.len = p - tk->key;

    ngx_http_hotline_token_cache_put(secret, tk);

    return ngx_http_hotline_token_agent(r, tk);
}


/* the subject is an agent of the configuration (the list may change) */

static ngx_int_t
ngx_http_hotline_token_agent(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk)
{
    ngx_str_t  sub;

    sub.data = tk->claims.sub;
    sub.len = tk->claims.sub_len;

    if (ngx_http_hotline_agent_listed(r, &sub) != NGX_OK) {
        tk->reason = "not a listed agent";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The first carrier present is the one used: a bad Authorization header
 * is not rescued by a cookie, nor a bad cookie by the subprotocol.
 */

ngx_int_t
ngx_http_hotline_token_find(ngx_http_request_t *r, ngx_uint_t carriers,
    ngx_str_t *token)
{
    ngx_str_t  *value;

    /* nginx refuses a request with two Authorization headers (400) */

    value = r->headers_in.authorization ? &r->headers_in.authorization->value
                                        : NULL;

    if ((carriers & NGX_HOTLINE_TOKEN_BEARER)
        && value
        && value->len > sizeof("Bearer ") - 1
        && ngx_strncasecmp(value->data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) == 0)
    {
        token->data = value->data + sizeof("Bearer ") - 1;
        token->len = value->len - (sizeof("Bearer ") - 1);
        return NGX_OK;
    }

    token->len = 0;

    /* cookies are separated by ";", protocols by "," */

    if (carriers & NGX_HOTLINE_TOKEN_COOKIE) {
        (void) ngx_http_hotline_header_list(r, "Cookie",
                                            ngx_http_hotline_cookie, token);
        if (token->len) {
            return NGX_OK;
        }
    }

    if (carriers & NGX_HOTLINE_TOKEN_PROTOCOL) {
        (void) ngx_http_hotline_header_list(r, "Sec-WebSocket-Protocol",
                                            ngx_http_hotline_bearer_protocol,
                                            token);
        if (token->len) {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hotline_cookie(ngx_str_t *item, void *data)
{
    ngx_str_t  *token = data;

    u_char  *p, *last, *start;
    size_t   n;

    n = sizeof(NGX_HOTLINE_SESSION_COOKIE "=") - 1;

    p = item->data;
    last = p + item->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ';')) {
            p++;
        }

        start = p;

        while (p < last && *p != ';') {
            p++;
        }

        if ((size_t) (p - start) > n
            && ngx_strncmp(start, NGX_HOTLINE_SESSION_COOKIE "=", n) == 0)
        {
            token->data = start + n;
            token->len = p - start - n;
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_hotline_bearer_protocol(ngx_str_t *item, void *data)
{
    ngx_str_t  *token = data;

    if (item->len > sizeof("bearer.") - 1
        && ngx_strncmp(item->data, "bearer.", sizeof("bearer.") - 1) == 0)
    {
        token->data = item->data + sizeof("bearer.") - 1;
        token->len = item->len - (sizeof("bearer.") - 1);
        return 1;
    }

    return 0;
}


/* hotline_jwt_secret_file: read at configuration time, nginx -t checks */

char *
ngx_http_hotline_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_loc_conf_t *hlcf = conf;

    ngx_str_t  *value;

    if (hlcf->jwt_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_hotline_read_secret(cf, &value[1],
                                     "hotline_jwt_secret_file",
                                     NGX_HOTLINE_JWT_MIN_KEY, 4096,
                                     &hlcf->jwt_secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    hlcf->jwt_secret_file = value[1];

    return NGX_CONF_OK;
}


/* the deny list's key of a token id (at most NGX_HOTLINE_REVOKED_MAX) */

u_char *
ngx_http_hotline_revoked_key(u_char *buf, u_char *id, size_t len)
{
    len = ngx_min(len, NGX_HOTLINE_REVOKED_MAX
                       - (sizeof(NGX_HOTLINE_REVOKED) - 1));

    buf = ngx_cpymem(buf, NGX_HOTLINE_REVOKED,
                     sizeof(NGX_HOTLINE_REVOKED) - 1);

    return ngx_cpymem(buf, id, len);
}


/* a verified token's id: its jti, or "#<hash>" */

void
ngx_http_hotline_token_id(ngx_http_hotline_token_t *tk, ngx_str_t *id)
{
    id->data = tk->revocation.data + sizeof(NGX_HOTLINE_REVOKED) - 1;
    id->len = tk->revocation.len - (sizeof(NGX_HOTLINE_REVOKED) - 1);
}
