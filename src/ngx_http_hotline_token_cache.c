
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_auth.h"


/*
 * Tokens this worker has verified, so that an agent's next request with
 * the same token does not pay for the HMAC and the JSON parsing again:
 * a small direct-mapped table, per worker, in process memory.  An entry
 * holds the whole token (compared, the signature in constant time), the
 * key it was verified with, the claims and the revocation key.  Only fully
 * verified tokens go in; time (exp, nbf) is checked again on every use.
 * The revocation is looked up in the store, unless the store can say at
 * once that no token was revoked since the last lookup found this one
 * not revoked (kv_notices: the embedded store, whose workers all write
 * into one zone).  A reload starts new workers, with an empty table.
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
    ngx_atomic_uint_t               notices;   /* at the lookup */
    unsigned                        unrevoked:1; /* found so then */
    u_char                          revocation[NGX_HOTLINE_REVOKED_MAX];
    u_char                          token[NGX_HOTLINE_TOKEN_CACHE_MAX];
} ngx_http_hotline_token_entry_t;


static ngx_http_hotline_token_entry_t  *ngx_http_hotline_token_cache;


static ngx_http_hotline_token_entry_t *ngx_http_hotline_token_slot(
    ngx_str_t *token, uint32_t *hash);
static ngx_uint_t ngx_http_hotline_token_sig_differs(u_char *a, u_char *b,
    size_t n);


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

    if (ngx_http_hotline_token_sig_differs(e->token + e->len - n,
                                           tk->token.data + e->len - n, n)
        || ngx_memcmp(e->token, tk->token.data, e->len - n) != 0)
    {
        return NGX_DECLINED;
    }

    tk->claims = e->claims;
    tk->cached = e;

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

    tk->cached = e;

    e->len = tk->token.len;
    e->hash = hash;
    e->unrevoked = 0;
    e->key_data = secret->data;
    e->key_len = secret->len;
    e->claims = tk->claims;
    e->revocation_len = tk->revocation.len;
    ngx_memcpy(e->revocation, tk->revocation.data, tk->revocation.len);
    ngx_memcpy(e->token, tk->token.data, tk->token.len);
}


/*
 * The store found the token not revoked after notices NOTIFY writes.
 * Only at once after the cache's get or put for the token, which set
 * tk->cached (the entry is this worker's, no other request ran since).
 */

void
ngx_http_hotline_token_cache_unrevoked(ngx_http_hotline_token_t *tk,
    ngx_atomic_uint_t notices)
{
    ngx_http_hotline_token_entry_t  *e;

    e = tk->cached;

    if (e == NULL) {
        return;
    }

    e->notices = notices;
    e->unrevoked = 1;
}


/* the token was found not revoked, and no NOTIFY was written since */

ngx_uint_t
ngx_http_hotline_token_cache_still_unrevoked(ngx_http_hotline_token_t *tk,
    ngx_atomic_uint_t notices)
{
    ngx_http_hotline_token_entry_t  *e;

    e = tk->cached;

    return e != NULL && e->unrevoked && e->notices == notices;
}


static ngx_http_hotline_token_entry_t *
ngx_http_hotline_token_slot(ngx_str_t *token, uint32_t *hash)
{
    uint64_t  v;

    if (ngx_http_hotline_token_cache == NULL
        || token->len == 0
        || token->len > NGX_HOTLINE_TOKEN_CACHE_MAX)
    {
        return NULL;
    }

    /*
     * The signature's last 8 bytes (of HMAC output in base64url) spread
     * the tokens well; whoever makes tokens collide in a slot only makes
     * them verified again.
     */

    if (token->len >= sizeof(uint64_t)) {
        ngx_memcpy(&v, token->data + token->len - sizeof(uint64_t),
                   sizeof(uint64_t));

    } else {
        v = token->len;
    }

    *hash = (uint32_t) ((v * 0x9e3779b97f4a7c15ULL) >> 32);

    return &ngx_http_hotline_token_cache[*hash
                                         % NGX_HOTLINE_TOKEN_CACHE_SIZE];
}


/* constant time: how many bytes match says nothing */

static ngx_uint_t
ngx_http_hotline_token_sig_differs(u_char *a, u_char *b, size_t n)
{
    size_t    i;
    uint64_t  x, y, d;

    d = 0;

    for (i = 0; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
        ngx_memcpy(&x, a + i, sizeof(uint64_t));
        ngx_memcpy(&y, b + i, sizeof(uint64_t));
        d |= x ^ y;
    }

    for ( /* void */ ; i < n; i++) {
        d |= a[i] ^ b[i];
    }

    return d != 0;
}
