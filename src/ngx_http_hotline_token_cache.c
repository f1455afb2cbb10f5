
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>

#include "ngx_http_hotline_auth.h"


/*
 * Tokens this worker has verified, so that an agent's next request with
 * the same token does not pay for the HMAC and the JSON parsing again:
 * a small direct-mapped table, per worker, in process memory.  An entry
 * holds the whole token (compared, the signature in constant time), the
 * key it was verified with, the claims and the revocation key.  Only fully
 * verified tokens go in; time (exp, nbf) is checked again on every use,
 * and the revocation is always looked up in the store, never cached.  A
 * reload starts new workers, with an empty table.
 */


#define NGX_HOTLINE_TOKEN_CACHE_SIZE   256
#define NGX_HOTLINE_TOKEN_CACHE_MAX    640     /* longer tokens: no cache */
#define NGX_HOTLINE_TOKEN_SIG_B64      43      /* HS256 signature, base64url */


typedef struct {
    size_t                          len;       /* 0: empty */
    uint32_t                        hash;
    u_char                         *key_data;  /* the secret verified with */
    size_t                          key_len;
    ngx_http_hotline_jwt_claims_t   claims;
    size_t                          revocation_len;
    u_char                          revocation[NGX_HOTLINE_REVOKED_MAX];
    u_char                          token[NGX_HOTLINE_TOKEN_CACHE_MAX];
} ngx_http_hotline_token_entry_t;


static ngx_http_hotline_token_entry_t  *ngx_http_hotline_token_cache;


static ngx_http_hotline_token_entry_t *ngx_http_hotline_token_slot(
    ngx_str_t *token, uint32_t *hash);


ngx_int_t
ngx_http_hotline_token_cache_get(ngx_str_t *secret,
    ngx_http_hotline_token_t *tk)
{
    size_t                           n;
    uint32_t                         hash;
    ngx_http_hotline_token_entry_t  *e;

    e = ngx_http_hotline_token_slot(&tk->token, &hash);

    if (e == NULL
        || e->len != tk->token.len
        || e->hash != hash
        || e->key_data != secret->data
        || e->key_len != secret->len)
    {
        return NGX_DECLINED;
    }

    /*
     * The signature in constant time; the header and the claims before it
     * say nothing secret once the signature is known to match.
     */

    n = ngx_min(tk->token.len, NGX_HOTLINE_TOKEN_SIG_B64);

    if (CRYPTO_memcmp(e->token + e->len - n, tk->token.data + e->len - n, n)
        != 0
        || ngx_memcmp(e->token, tk->token.data, e->len - n) != 0)
    {
        return NGX_DECLINED;
    }

    tk->claims = e->claims;

    ngx_memcpy(tk->key, e->revocation, e->revocation_len);
    tk->revocation.data = tk->key;
    tk->revocation.len = e->revocation_len;

    return NGX_OK;
}


void
ngx_http_hotline_token_cache_put(ngx_str_t *secret,
    ngx_http_hotline_token_t *tk)
{
    uint32_t                         hash;
    ngx_http_hotline_token_entry_t  *e;

    if (ngx_http_hotline_token_cache == NULL) {
        ngx_http_hotline_token_cache = ngx_calloc(
            NGX_HOTLINE_TOKEN_CACHE_SIZE
            * sizeof(ngx_http_hotline_token_entry_t), ngx_cycle->log);

        if (ngx_http_hotline_token_cache == NULL) {
            return;
        }
    }

    e = ngx_http_hotline_token_slot(&tk->token, &hash);

    if (e == NULL || tk->revocation.len > sizeof(e->revocation)) {
        return;
    }

    e->len = tk->token.len;
    e->hash = hash;
    e->key_data = secret->data;
    e->key_len = secret->len;
    e->claims = tk->claims;
    e->revocation_len = tk->revocation.len;
    ngx_memcpy(e->revocation, tk->revocation.data, tk->revocation.len);
    ngx_memcpy(e->token, tk->token.data, tk->token.len);
}


static ngx_http_hotline_token_entry_t *
ngx_http_hotline_token_slot(ngx_str_t *token, uint32_t *hash)
{
    if (ngx_http_hotline_token_cache == NULL
        || token->len == 0
        || token->len > NGX_HOTLINE_TOKEN_CACHE_MAX)
    {
        return NULL;
    }

    /* the signature, the last 43 bytes, spreads tokens well */

    *hash = ngx_murmur_hash2(token->data + token->len
                             - ngx_min(token->len, NGX_HOTLINE_TOKEN_SIG_B64),
                             ngx_min(token->len, NGX_HOTLINE_TOKEN_SIG_B64));

    return &ngx_http_hotline_token_cache[*hash
                                         % NGX_HOTLINE_TOKEN_CACHE_SIZE];
}
