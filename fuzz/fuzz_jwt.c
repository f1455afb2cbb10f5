
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for src/ngx_http_hotline_jwt.c.  The first byte picks
 * a mode (the rest is the input):
 *
 *   0  the input is a token: verify it
 *   1  the input is "header JSON\nclaims JSON": sign it here (OpenSSL's
 *      base64 and HMAC) with the fuzz key and verify it, so the claims
 *      code sees what a key holder could send
 *   2  the input fills a claims struct: sign it with the unit, and what
 *      sign accepts must verify back to the same claims
 *
 * A token that verifies must keep verify's promises, and must re-sign and
 * verify to the same claims.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "ngx_http_hotline_jwt.h"


#define FZ_KEY      "fuzz-key-fuzz-key-fuzz-key-0123456789"
#define FZ_NOW      1700000000
#define FZ_LEEWAY   30

#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


static const char  *fz_errors[] = {
    "malformed", "bad header", "unsupported alg", "bad signature",
    "expired", "not yet valid", "bad claims"
};


static void
fz_string(const u_char *s, size_t len)
{
    size_t  i;

    fz_check(len <= NGX_HOTLINE_JWT_MAX_CLAIM && s[len] == '\0');

    for (i = 0; i < len; i++) {
        fz_check(s[i] >= 0x20 && s[i] != 0x7f);
    }
}


static ngx_int_t
fz_same(ngx_http_hotline_jwt_claims_t *a, ngx_http_hotline_jwt_claims_t *b)
{
    return a->sub_len == b->sub_len
           && ngx_memcmp(a->sub, b->sub, a->sub_len) == 0
           && a->role_len == b->role_len
           && ngx_memcmp(a->role, b->role, a->role_len) == 0
           && a->jti_len == b->jti_len
           && ngx_memcmp(a->jti, b->jti, a->jti_len) == 0
           && a->iat == b->iat && a->nbf == b->nbf && a->exp == b->exp;
}


static ngx_int_t
fz_verify(const u_char *token, size_t len, ngx_http_hotline_jwt_claims_t *c)
{
    size_t                          i;
    ngx_int_t                       rc;
    const char                     *err;
    ngx_http_hotline_jwt_claims_t   before;

    ngx_memset(c, 0x5a, sizeof(ngx_http_hotline_jwt_claims_t));
    before = *c;
    err = "unset";

    rc = ngx_http_hotline_jwt_verify(token, len, (u_char *) FZ_KEY,
                                     sizeof(FZ_KEY) - 1, FZ_NOW, FZ_LEEWAY,
                                     c, &err);

    fz_check(rc == NGX_OK || rc == NGX_DECLINED);

    if (rc == NGX_DECLINED) {
        for (i = 0; i < sizeof(fz_errors) / sizeof(fz_errors[0]); i++) {
            if (err == fz_errors[i] || strcmp(err, fz_errors[i]) == 0) {
                break;
            }
        }

        fz_check(i < sizeof(fz_errors) / sizeof(fz_errors[0]));
        fz_check(ngx_memcmp(c, &before, sizeof(before)) == 0);

        return rc;
    }

    fz_check(len <= NGX_HOTLINE_JWT_MAX_TOKEN);
    fz_check(c->sub_len >= 1);
    fz_string(c->sub, c->sub_len);
    fz_string(c->role, c->role_len);
    fz_string(c->jti, c->jti_len);
    fz_check(c->exp > FZ_NOW - FZ_LEEWAY);
    fz_check(c->nbf <= FZ_NOW + FZ_LEEWAY);

    return NGX_OK;
}


static ngx_int_t
fz_plain(const u_char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


/* what verify accepted signs and verifies back to the same claims */

static void
fz_resign(ngx_http_hotline_jwt_claims_t *c)
{
    size_t                          n;
    u_char                          out[NGX_HOTLINE_JWT_MAX_TOKEN];
    ngx_http_hotline_jwt_claims_t   v;

    n = ngx_http_hotline_jwt_sign(c, (u_char *) FZ_KEY, sizeof(FZ_KEY) - 1,
                                  out, sizeof(out));
    fz_check(n > 0);
    fz_check(fz_verify(out, n, &v) == NGX_OK);
    fz_check(fz_same(c, &v));
}


static size_t
fz_b64url(u_char *dst, const u_char *src, size_t len)
{
    int     n;
    size_t  i;

    n = EVP_EncodeBlock(dst, src, (int) len);

    while (n > 0 && dst[n - 1] == '=') {
        n--;
    }

    for (i = 0; i < (size_t) n; i++) {
        if (dst[i] == '+') {
            dst[i] = '-';

        } else if (dst[i] == '/') {
            dst[i] = '_';
        }
    }

    return n;
}


static void
fz_mint_verify(const u_char *data, size_t size)
{
    u_char                         *tok, *nl;
    size_t                          n, hlen;
    unsigned int                    md_len;
    u_char                          md[EVP_MAX_MD_SIZE];
    ngx_http_hotline_jwt_claims_t   c;

    nl = memchr(data, '\n', size);
    hlen = nl ? (size_t) (nl - data) : size;

    tok = malloc(size * 2 + 128);
    fz_check(tok != NULL);

    n = fz_b64url(tok, data, hlen);
    tok[n++] = '.';

    if (nl) {
        n += fz_b64url(tok + n, nl + 1, size - hlen - 1);
    }

    fz_check(HMAC(EVP_sha256(), FZ_KEY, sizeof(FZ_KEY) - 1, tok, n, md,
                  &md_len) != NULL);

    tok[n++] = '.';
    n += fz_b64url(tok + n, md, md_len);

    if (fz_verify(tok, n, &c) == NGX_OK) {
        fz_resign(&c);
    }

    free(tok);
}


static void
fz_sign_verify(const u_char *data, size_t size)
{
    size_t                          n, i;
    u_char                          out[NGX_HOTLINE_JWT_MAX_TOKEN];
    const u_char                   *p, *end;
    ngx_http_hotline_jwt_claims_t   c, v;

    ngx_memzero(&c, sizeof(c));

    p = data;
    end = data + size;

    /* 3 length bytes, 2 date offsets, then the strings */

    if (size < 5) {
        return;
    }

    c.sub_len = p[0] % (NGX_HOTLINE_JWT_MAX_CLAIM + 8);
    c.role_len = p[1] % (NGX_HOTLINE_JWT_MAX_CLAIM + 8);
    c.jti_len = p[2] % (NGX_HOTLINE_JWT_MAX_CLAIM + 8);
    c.iat = FZ_NOW - p[3];
    c.nbf = (p[4] & 1) ? FZ_NOW - (p[4] >> 1) : 0;
    c.exp = FZ_NOW + 1 + p[3];
    p += 5;

    for (i = 0; i < c.sub_len && i <= NGX_HOTLINE_JWT_MAX_CLAIM && p < end;
         i++)
    {
        c.sub[i] = *p++;
    }

    for (i = 0; i < c.role_len && i <= NGX_HOTLINE_JWT_MAX_CLAIM && p < end;
         i++)
    {
        c.role[i] = *p++;
    }

    for (i = 0; i < c.jti_len && i <= NGX_HOTLINE_JWT_MAX_CLAIM && p < end;
         i++)
    {
        c.jti[i] = *p++;
    }

    n = ngx_http_hotline_jwt_sign(&c, (u_char *) FZ_KEY, sizeof(FZ_KEY) - 1,
                                  out, sizeof(out));

    if (n == 0) {
        /* refused only for bad lengths or bytes other than printable ASCII */
        fz_check(c.sub_len == 0 || c.sub_len > NGX_HOTLINE_JWT_MAX_CLAIM
                 || c.role_len > NGX_HOTLINE_JWT_MAX_CLAIM
                 || c.jti_len > NGX_HOTLINE_JWT_MAX_CLAIM
                 || !fz_plain(c.sub, c.sub_len)
                 || !fz_plain(c.role, c.role_len)
                 || !fz_plain(c.jti, c.jti_len));
        return;
    }

    fz_check(n <= NGX_HOTLINE_JWT_MAX_TOKEN);
    fz_check(fz_verify(out, n, &v) == NGX_OK);
    fz_check(fz_same(&c, &v));
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                         *in;
    ngx_http_hotline_jwt_claims_t   c;

    if (size < 1) {
        return 0;
    }

    /* an exact copy: reads past the end are caught */

    in = malloc(size);
    fz_check(in != NULL);
    ngx_memcpy(in, data + 1, size - 1);

    switch (data[0] % 3) {

    case 0:
        if (fz_verify(in, size - 1, &c) == NGX_OK) {
            fz_resign(&c);
        }
        break;

    case 1:
        fz_mint_verify(in, size - 1);
        break;

    default:
        fz_sign_verify(in, size - 1);
    }

    free(in);

    return 0;
}
