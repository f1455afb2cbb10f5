
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <jansson.h>
#include "ngx_http_hotline_jwt.h"


/*
 * HS256 JWT verify and sign.  Pure code: only macros and types from
 * nginx, no nginx function call.
 */


#define NGX_HOTLINE_JWT_SIG_LEN      32          /* HMAC-SHA256 */
#define NGX_HOTLINE_JWT_SIG_B64      43          /* its base64url */

/* NumericDate values beyond 2^53 make no sense and cannot be doubles */
#define NGX_HOTLINE_JWT_MAX_DATE     9007199254740992LL

#define NGX_HOTLINE_JWT_HEADER       "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

#define ngx_http_hotline_b64url_len(n)                                       \
    (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))


static ngx_int_t ngx_http_hotline_jwt_header(const u_char *b64, size_t len,
    const char **err);
static ngx_int_t ngx_http_hotline_jwt_payload(const u_char *b64, size_t len,
    ngx_http_hotline_jwt_claims_t *claims, const char **err);
static ngx_int_t ngx_http_hotline_jwt_date(json_t *obj, const char *name,
    ngx_uint_t required, int64_t *value);
static ngx_int_t ngx_http_hotline_jwt_string(json_t *obj, const char *name,
    size_t min, u_char *dst, size_t *len);
static ngx_int_t ngx_http_hotline_jwt_safe(const u_char *s, size_t len);
static ngx_int_t ngx_http_hotline_jwt_hmac(const u_char *key, size_t key_len,
    const u_char *data, size_t len, u_char *md);
static ngx_int_t ngx_http_hotline_b64url_decode(u_char *dst, size_t *dst_len,
    const u_char *src, size_t len);
static size_t ngx_http_hotline_b64url_encode(u_char *dst, const u_char *src,
    size_t len);


static const char  ngx_http_hotline_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/* 0xff: not in the base64url alphabet */

static const u_char  ngx_http_hotline_b64url_val[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /*  !"#$%&' */
    0xff, 0xff, 0xff, 0xff, 0xff, 62,   0xff, 0xff,     /* ()*+,-./ */
    52,   53,   54,   55,   56,   57,   58,   59,       /* 01234567 */
    60,   61,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     /* 89:;<=>? */
    0xff, 0,    1,    2,    3,    4,    5,    6,        /* @ABCDEFG */
    7,    8,    9,    10,   11,   12,   13,   14,       /* HIJKLMNO */
    15,   16,   17,   18,   19,   20,   21,   22,       /* PQRSTUVW */
    23,   24,   25,   0xff, 0xff, 0xff, 0xff, 63,       /* XYZ[\]^_ */
    0xff, 26,   27,   28,   29,   30,   31,   32,       /* `abcdefg */
    33,   34,   35,   36,   37,   38,   39,   40,       /* hijklmno */
    41,   42,   43,   44,   45,   46,   47,   48,       /* pqrstuvw */
    49,   50,   51,   0xff, 0xff, 0xff, 0xff, 0xff,     /* xyz{|}~  */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};


ngx_int_t
ngx_http_hotline_jwt_verify(const u_char *token, size_t len,
    const u_char *key, size_t key_len, int64_t now, int64_t leeway,
    ngx_http_hotline_jwt_claims_t *claims, const char **err)
{
    size_t                          i, dots[2], nd, sig_len;
    ngx_int_t                       rc;
    const u_char                   *payload, *sig;
    ngx_http_hotline_jwt_claims_t   c;
    u_char                          md[EVP_MAX_MD_SIZE];
    u_char                          got[NGX_HOTLINE_JWT_SIG_LEN];

    *err = "malformed";

    if (token == NULL || len == 0 || len > NGX_HOTLINE_JWT_MAX_TOKEN) {
        return NGX_DECLINED;
    }

    /* header.payload.signature, base64url only */

    nd = 0;

    for (i = 0; i < len; i++) {

        if (token[i] == '.') {
            if (nd == 2) {
                return NGX_DECLINED;
            }

            dots[nd++] = i;
            continue;
        }

        if (ngx_http_hotline_b64url_val[token[i]] == 0xff) {
            return NGX_DECLINED;
        }
    }

    /* the signature may be empty here: "alg":"none" is told apart below */

    if (nd != 2 || dots[0] == 0 || dots[1] == dots[0] + 1) {
        return NGX_DECLINED;
    }

    payload = token + dots[0] + 1;
    sig = token + dots[1] + 1;
    sig_len = len - dots[1] - 1;

    rc = ngx_http_hotline_jwt_header(token, dots[0], err);
    if (rc != NGX_OK) {
        return rc;
    }

    *err = "bad signature";

    if (sig_len != NGX_HOTLINE_JWT_SIG_B64) {
        return NGX_DECLINED;
    }

    i = sizeof(got);

    if (ngx_http_hotline_b64url_decode(got, &i, sig, sig_len) != NGX_OK
        || i != NGX_HOTLINE_JWT_SIG_LEN)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_hotline_jwt_hmac(key, key_len, token, dots[1], md)
        != NGX_OK)
    {
        *err = "out of memory";
        return NGX_ERROR;
    }

    if (CRYPTO_memcmp(md, got, NGX_HOTLINE_JWT_SIG_LEN) != 0) {
        return NGX_DECLINED;
    }

    /* authentic from here on: the claims decide */

    ngx_memzero(&c, sizeof(ngx_http_hotline_jwt_claims_t));

    rc = ngx_http_hotline_jwt_payload(payload, dots[1] - dots[0] - 1, &c, err);
    if (rc != NGX_OK) {
        return rc;
    }

    if (leeway < 0) {
        leeway = 0;
    }

    if (now - leeway >= c.exp) {
        *err = "expired";
        return NGX_DECLINED;
    }

    if (c.nbf && now + leeway < c.nbf) {
        *err = "not yet valid";
        return NGX_DECLINED;
    }

    *claims = c;
    *err = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_jwt_header(const u_char *b64, size_t len, const char **err)
{
    size_t        n;
    json_t       *hdr, *alg;
    json_error_t  jerr;
    u_char        buf[NGX_HOTLINE_JWT_MAX_TOKEN];

    *err = "malformed";
    n = sizeof(buf);

    if (ngx_http_hotline_b64url_decode(buf, &n, b64, len) != NGX_OK) {
        return NGX_DECLINED;
    }

    hdr = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &jerr);

    if (hdr == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            *err = "out of memory";
            return NGX_ERROR;
        }

        *err = "bad header";
        return NGX_DECLINED;
    }

    *err = "bad header";

    if (!json_is_object(hdr) || json_object_get(hdr, "crit") != NULL) {
        json_decref(hdr);
        return NGX_DECLINED;
    }

    alg = json_object_get(hdr, "alg");

    if (!json_is_string(alg)) {
        json_decref(hdr);
        return NGX_DECLINED;
    }

    if (json_string_length(alg) != 5
        || ngx_memcmp(json_string_value(alg), "HS256", 5) != 0)
    {
        json_decref(hdr);
        *err = "unsupported alg";
        return NGX_DECLINED;
    }

    json_decref(hdr);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_jwt_payload(const u_char *b64, size_t len,
    ngx_http_hotline_jwt_claims_t *claims, const char **err)
{
    size_t        n;
    json_t       *obj;
    json_error_t  jerr;
    u_char        buf[NGX_HOTLINE_JWT_MAX_TOKEN];

    *err = "malformed";
    n = sizeof(buf);

    if (ngx_http_hotline_b64url_decode(buf, &n, b64, len) != NGX_OK) {
        return NGX_DECLINED;
    }

    obj = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &jerr);

    if (obj == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory) {
            *err = "out of memory";
            return NGX_ERROR;
        }

        *err = "bad claims";
        return NGX_DECLINED;
    }

    *err = "bad claims";

    if (!json_is_object(obj)
        || ngx_http_hotline_jwt_date(obj, "exp", 1, &claims->exp) != NGX_OK
        || ngx_http_hotline_jwt_date(obj, "nbf", 0, &claims->nbf) != NGX_OK
        || ngx_http_hotline_jwt_date(obj, "iat", 0, &claims->iat) != NGX_OK
        || ngx_http_hotline_jwt_string(obj, "sub", 1, claims->sub,
                                       &claims->sub_len)
           != NGX_OK
        || ngx_http_hotline_jwt_string(obj, "role", 0, claims->role,
                                       &claims->role_len)
           != NGX_OK
        || ngx_http_hotline_jwt_string(obj, "jti", 0, claims->jti,
                                       &claims->jti_len)
           != NGX_OK)
    {
        json_decref(obj);
        return NGX_DECLINED;
    }

    /* a display name that is not a plain short string is left out */

    if (ngx_http_hotline_jwt_string(obj, "name", 0, claims->name,
                                    &claims->name_len)
        != NGX_OK)
    {
        claims->name[0] = '\0';
        claims->name_len = 0;
    }

    json_decref(obj);

    return NGX_OK;
}


/* a NumericDate: integer or real seconds, fractions dropped */

static ngx_int_t
ngx_http_hotline_jwt_date(json_t *obj, const char *name, ngx_uint_t required,
    int64_t *value)
{
    double      d;
    json_t     *v;
    json_int_t  i;

    v = json_object_get(obj, name);

    if (v == NULL) {
        *value = 0;
        return required ? NGX_DECLINED : NGX_OK;
    }

    if (json_is_integer(v)) {
        i = json_integer_value(v);

        if (i > NGX_HOTLINE_JWT_MAX_DATE || i < -NGX_HOTLINE_JWT_MAX_DATE) {
            return NGX_DECLINED;
        }

        *value = (int64_t) i;
        return NGX_OK;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);

        /* also false for NaN */

        if (!(d <= (double) NGX_HOTLINE_JWT_MAX_DATE
              && d >= (double) -NGX_HOTLINE_JWT_MAX_DATE))
        {
            return NGX_DECLINED;
        }

        i = (json_int_t) d;

        if ((double) i > d) {
            i--;                                  /* floor, not truncate */
        }

        *value = (int64_t) i;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hotline_jwt_string(json_t *obj, const char *name, size_t min,
    u_char *dst, size_t *len)
{
    size_t   n;
    json_t  *v;

    v = json_object_get(obj, name);

    if (v == NULL) {
        *len = 0;
        dst[0] = '\0';
        return min ? NGX_DECLINED : NGX_OK;
    }

    if (!json_is_string(v)) {
        return NGX_DECLINED;
    }

    n = json_string_length(v);

    if (n < min || n > NGX_HOTLINE_JWT_MAX_CLAIM
        || ngx_http_hotline_jwt_safe((const u_char *) json_string_value(v), n)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    *len = n;

    return NGX_OK;
}


/*
 * no C0 controls, no DEL, no C1 controls (U+0080-U+009F, C2 80-C2 9F);
 * the string is valid UTF-8 already: jansson checks it
 */

static ngx_int_t
ngx_http_hotline_jwt_safe(const u_char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (s[i] < 0x20 || s[i] == 0x7f) {
            return NGX_DECLINED;
        }

        if (s[i] == 0xc2 && i + 1 < len && s[i + 1] < 0xa0) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


size_t
ngx_http_hotline_jwt_sign(const ngx_http_hotline_jwt_claims_t *claims,
    const u_char *key, size_t key_len, u_char *out, size_t size)
{
    int      rc;
    size_t   clen;
    json_t  *obj;
    char     json[NGX_HOTLINE_JWT_MAX_TOKEN];

    /* never mint what verify would refuse */

    if (claims->sub_len == 0
        || claims->sub_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || claims->role_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || claims->jti_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || claims->name_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || ngx_http_hotline_jwt_safe(claims->sub, claims->sub_len) != NGX_OK
        || ngx_http_hotline_jwt_safe(claims->name, claims->name_len) != NGX_OK
        || ngx_http_hotline_jwt_safe(claims->role, claims->role_len) != NGX_OK
        || ngx_http_hotline_jwt_safe(claims->jti, claims->jti_len) != NGX_OK
        || claims->exp > NGX_HOTLINE_JWT_MAX_DATE
        || claims->exp < -NGX_HOTLINE_JWT_MAX_DATE
        || claims->nbf > NGX_HOTLINE_JWT_MAX_DATE
        || claims->nbf < -NGX_HOTLINE_JWT_MAX_DATE
        || claims->iat > NGX_HOTLINE_JWT_MAX_DATE
        || claims->iat < -NGX_HOTLINE_JWT_MAX_DATE)
    {
        return 0;
    }

    obj = json_object();
    if (obj == NULL) {
        return 0;
    }

    rc = json_object_set_new(obj, "sub",
                             json_stringn((const char *) claims->sub,
                                          claims->sub_len));

    if (rc == 0 && claims->role_len) {
        rc = json_object_set_new(obj, "role",
                                 json_stringn((const char *) claims->role,
                                              claims->role_len));
    }

    if (rc == 0 && claims->jti_len) {
        rc = json_object_set_new(obj, "jti",
                                 json_stringn((const char *) claims->jti,
                                              claims->jti_len));
    }

    if (rc == 0 && claims->name_len) {
        rc = json_object_set_new(obj, "name",
                                 json_stringn((const char *) claims->name,
                                              claims->name_len));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "iat", json_integer(claims->iat));
    }

    if (rc == 0 && claims->nbf) {
        rc = json_object_set_new(obj, "nbf", json_integer(claims->nbf));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "exp", json_integer(claims->exp));
    }

    /* the claims are short: 4 strings of 64 bytes and 3 numbers */

    clen = (rc == 0) ? json_dumpb(obj, json, sizeof(json), JSON_COMPACT) : 0;

    json_decref(obj);

    if (clen == 0 || clen > sizeof(json)) {
        return 0;
    }

    return ngx_http_hotline_jwt_sign_json((u_char *) json, clen, key,
                                          key_len, out, size);
}


size_t
ngx_http_hotline_jwt_sign_json(const u_char *json, size_t clen,
    const u_char *key, size_t key_len, u_char *out, size_t size)
{
    size_t   n, hlen, total;
    u_char  *p;
    u_char   md[EVP_MAX_MD_SIZE];

    hlen = sizeof(NGX_HOTLINE_JWT_HEADER) - 1;

    total = ngx_http_hotline_b64url_len(hlen) + 1
            + ngx_http_hotline_b64url_len(clen) + 1
            + NGX_HOTLINE_JWT_SIG_B64;

    if (total > size || total > NGX_HOTLINE_JWT_MAX_TOKEN) {
        return 0;
    }

    p = out;
    p += ngx_http_hotline_b64url_encode(p, (u_char *) NGX_HOTLINE_JWT_HEADER,
                                        hlen);
    *p++ = '.';
    p += ngx_http_hotline_b64url_encode(p, json, clen);

    n = p - out;

    if (ngx_http_hotline_jwt_hmac(key, key_len, out, n, md) != NGX_OK) {
        return 0;
    }

    *p++ = '.';
    p += ngx_http_hotline_b64url_encode(p, md, NGX_HOTLINE_JWT_SIG_LEN);

    OPENSSL_cleanse(md, sizeof(md));

    if (total < size) {
        *p = '\0';
    }

    return total;
}


static ngx_int_t
ngx_http_hotline_jwt_hmac(const u_char *key, size_t key_len,
    const u_char *data, size_t len, u_char *md)
{
    unsigned int  md_len;

    if (key_len > INT_MAX) {
        return NGX_ERROR;
    }

    md_len = 0;

    if (HMAC(EVP_sha256(), key_len ? key : (const u_char *) "",
             (int) key_len, data, len, md, &md_len)
        == NULL
        || md_len != NGX_HOTLINE_JWT_SIG_LEN)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * strict base64url: no padding, no byte outside the alphabet, and the
 * unused low bits of the last character must be zero, so that every
 * byte string has exactly one encoding
 */

static ngx_int_t
ngx_http_hotline_b64url_decode(u_char *dst, size_t *dst_len,
    const u_char *src, size_t len)
{
    size_t      i, n;
    u_char      v;
    uint32_t    acc;
    ngx_uint_t  bits;

    if (len % 4 == 1) {
        return NGX_DECLINED;
    }

    n = 0;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        v = ngx_http_hotline_b64url_val[src[i]];

        if (v == 0xff) {
            return NGX_DECLINED;
        }

        acc = (acc << 6) | v;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;

            if (n == *dst_len) {
                return NGX_DECLINED;
            }

            dst[n++] = (u_char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    if (acc != 0) {
        return NGX_DECLINED;
    }

    *dst_len = n;

    return NGX_OK;
}


static size_t
ngx_http_hotline_b64url_encode(u_char *dst, const u_char *src, size_t len)
{
    u_char  *d;

    d = dst;

    while (len >= 3) {
        *d++ = ngx_http_hotline_b64url[src[0] >> 2];
        *d++ = ngx_http_hotline_b64url[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = ngx_http_hotline_b64url[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = ngx_http_hotline_b64url[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len == 1) {
        *d++ = ngx_http_hotline_b64url[src[0] >> 2];
        *d++ = ngx_http_hotline_b64url[(src[0] & 0x03) << 4];

    } else if (len == 2) {
        *d++ = ngx_http_hotline_b64url[src[0] >> 2];
        *d++ = ngx_http_hotline_b64url[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = ngx_http_hotline_b64url[(src[1] & 0x0f) << 2];
    }

    return d - dst;
}
