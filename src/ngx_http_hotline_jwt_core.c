
/*
 * Copyright (C) hotline authors
 */


#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "ngx_http_hotline_jwt_core.h"


/*
 * HS256 JWT, the shared part: structure, header, signature, dates,
 * minting, base64url.  Plain C: the nginx module and hotline-recorder
 * both build it (ngx_http_hotline_jwt_core.h).
 */


#define NGX_HOTLINE_JWT_HEADER       "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"


static int ngx_hotline_jwt_header(const u_char *b64, size_t len);
static int ngx_hotline_jwt_json(const u_char *b64, size_t len, int bad,
    json_t **obj);
static int ngx_hotline_jwt_hmac(const u_char *key, size_t key_len,
    const u_char *data, size_t len, u_char *md);


static const char  ngx_hotline_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


/* a character's value plus 1; 0: not in the base64url alphabet */

static const u_char  ngx_hotline_b64url_val[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
    ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
    ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64
};


int
ngx_hotline_jwt_open(const u_char *token, size_t len, const u_char *key,
    size_t key_len, json_t **payload)
{
    int            rc;
    size_t         i, dots[2], nd, sig_len;
    json_t        *obj;
    const u_char  *sig;
    u_char         md[EVP_MAX_MD_SIZE];
    u_char         got[NGX_HOTLINE_JWT_SIG_LEN];

    if (token == NULL || len == 0 || len > NGX_HOTLINE_JWT_MAX_LEN) {
        return NGX_HOTLINE_JWT_MALFORMED;
    }

    /* header.payload.signature, base64url only */

    nd = 0;

    for (i = 0; i < len; i++) {

        if (token[i] == '.') {
            if (nd == 2) {
                return NGX_HOTLINE_JWT_MALFORMED;
            }

            dots[nd++] = i;
            continue;
        }

        if (ngx_hotline_b64url_val[token[i]] == 0) {
            return NGX_HOTLINE_JWT_MALFORMED;
        }
    }

    /* the signature may be empty here: "alg":"none" is told apart below */

    if (nd != 2 || dots[0] == 0 || dots[1] == dots[0] + 1) {
        return NGX_HOTLINE_JWT_MALFORMED;
    }

    rc = ngx_hotline_jwt_header(token, dots[0]);
    if (rc != NGX_HOTLINE_JWT_OK) {
        return rc;
    }

    sig = token + dots[1] + 1;
    sig_len = len - dots[1] - 1;

    if (sig_len != NGX_HOTLINE_JWT_SIG_B64) {
        return NGX_HOTLINE_JWT_BAD_SIGNATURE;
    }

    i = sizeof(got);

    if (ngx_hotline_b64url_decode(got, &i, sig, sig_len) != NGX_HOTLINE_JWT_OK
        || i != NGX_HOTLINE_JWT_SIG_LEN)
    {
        return NGX_HOTLINE_JWT_BAD_SIGNATURE;
    }

    if (ngx_hotline_jwt_hmac(key, key_len, token, dots[1], md)
        != NGX_HOTLINE_JWT_OK)
    {
        return NGX_HOTLINE_JWT_NOMEM;
    }

    if (CRYPTO_memcmp(md, got, NGX_HOTLINE_JWT_SIG_LEN) != 0) {
        return NGX_HOTLINE_JWT_BAD_SIGNATURE;
    }

    /* authentic from here on: the claims decide */

    rc = ngx_hotline_jwt_json(token + dots[0] + 1, dots[1] - dots[0] - 1,
                              NGX_HOTLINE_JWT_BAD_CLAIMS, &obj);
    if (rc != NGX_HOTLINE_JWT_OK) {
        return rc;
    }

    *payload = obj;

    return NGX_HOTLINE_JWT_OK;
}


static int
ngx_hotline_jwt_header(const u_char *b64, size_t len)
{
    int      rc;
    json_t  *hdr, *alg;

    rc = ngx_hotline_jwt_json(b64, len, NGX_HOTLINE_JWT_BAD_HEADER, &hdr);
    if (rc != NGX_HOTLINE_JWT_OK) {
        return rc;
    }

    rc = NGX_HOTLINE_JWT_BAD_HEADER;

    if (json_object_get(hdr, "crit") != NULL) {
        goto done;
    }

    alg = json_object_get(hdr, "alg");

    if (!json_is_string(alg)) {
        goto done;
    }

    if (json_string_length(alg) != 5
        || memcmp(json_string_value(alg), "HS256", 5) != 0)
    {
        rc = NGX_HOTLINE_JWT_BAD_ALG;
        goto done;
    }

    rc = NGX_HOTLINE_JWT_OK;

done:

    json_decref(hdr);

    return rc;
}


/* a base64url part that must be a JSON object, else "bad" */

static int
ngx_hotline_jwt_json(const u_char *b64, size_t len, int bad, json_t **obj)
{
    size_t        n;
    json_t       *j;
    json_error_t  jerr;
    u_char        buf[NGX_HOTLINE_JWT_MAX_LEN];

    n = sizeof(buf);

    if (ngx_hotline_b64url_decode(buf, &n, b64, len) != NGX_HOTLINE_JWT_OK) {
        return NGX_HOTLINE_JWT_MALFORMED;
    }

    j = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, &jerr);

    if (j == NULL) {
        return json_error_code(&jerr) == json_error_out_of_memory
               ? NGX_HOTLINE_JWT_NOMEM : bad;
    }

    if (!json_is_object(j)) {
        json_decref(j);
        return bad;
    }

    *obj = j;

    return NGX_HOTLINE_JWT_OK;
}


int
ngx_hotline_jwt_date(json_t *payload, const char *name, int required,
    int64_t *value)
{
    double      d;
    json_t     *v;
    json_int_t  i;

    v = json_object_get(payload, name);

    if (v == NULL) {
        *value = 0;
        return required ? NGX_HOTLINE_JWT_BAD_CLAIMS : NGX_HOTLINE_JWT_OK;
    }

    if (json_is_integer(v)) {
        i = json_integer_value(v);

        if (i > NGX_HOTLINE_JWT_MAX_DATE || i < -NGX_HOTLINE_JWT_MAX_DATE) {
            return NGX_HOTLINE_JWT_BAD_CLAIMS;
        }

        *value = (int64_t) i;
        return NGX_HOTLINE_JWT_OK;
    }

    if (json_is_real(v)) {
        d = json_real_value(v);

        /* also false for NaN */

        if (!(d <= (double) NGX_HOTLINE_JWT_MAX_DATE
              && d >= (double) -NGX_HOTLINE_JWT_MAX_DATE))
        {
            return NGX_HOTLINE_JWT_BAD_CLAIMS;
        }

        i = (json_int_t) d;

        if ((double) i > d) {
            i--;                                  /* floor, not truncate */
        }

        *value = (int64_t) i;
        return NGX_HOTLINE_JWT_OK;
    }

    return NGX_HOTLINE_JWT_BAD_CLAIMS;
}


int
ngx_hotline_jwt_in_time(int64_t exp, int64_t nbf, int64_t now,
    int64_t leeway)
{
    if (leeway < 0) {
        leeway = 0;
    }

    if (now - leeway >= exp) {
        return NGX_HOTLINE_JWT_EXPIRED;
    }

    if (nbf && now + leeway < nbf) {
        return NGX_HOTLINE_JWT_NOT_YET_VALID;
    }

    return NGX_HOTLINE_JWT_OK;
}


const char *
ngx_hotline_jwt_error(int rc)
{
    static const char  *errors[] = {
        NULL, "malformed", "bad header", "unsupported alg", "bad signature",
        "bad claims", "expired", "not yet valid", "out of memory"
    };

    if (rc < 0 || (size_t) rc >= sizeof(errors) / sizeof(errors[0])) {
        return "malformed";
    }

    return errors[rc];
}


size_t
ngx_hotline_jwt_sign_len(size_t len)
{
    return ngx_hotline_b64url_len(sizeof(NGX_HOTLINE_JWT_HEADER) - 1) + 1
           + ngx_hotline_b64url_len(len) + 1 + NGX_HOTLINE_JWT_SIG_B64;
}


size_t
ngx_hotline_jwt_sign(const u_char *json, size_t len, const u_char *key,
    size_t key_len, u_char *out, size_t size)
{
    size_t   n, total;
    u_char  *p;
    u_char   md[EVP_MAX_MD_SIZE];

    total = ngx_hotline_jwt_sign_len(len);

    if (total > size) {
        return 0;
    }

    p = out;
    p += ngx_hotline_b64url_encode(p, (u_char *) NGX_HOTLINE_JWT_HEADER,
                                   sizeof(NGX_HOTLINE_JWT_HEADER) - 1);
    *p++ = '.';
    p += ngx_hotline_b64url_encode(p, json, len);

    n = p - out;

    if (ngx_hotline_jwt_hmac(key, key_len, out, n, md) != NGX_HOTLINE_JWT_OK) {
        return 0;
    }

    *p++ = '.';
    p += ngx_hotline_b64url_encode(p, md, NGX_HOTLINE_JWT_SIG_LEN);

    OPENSSL_cleanse(md, sizeof(md));

    if (total < size) {
        *p = '\0';
    }

    return total;
}


static int
ngx_hotline_jwt_hmac(const u_char *key, size_t key_len, const u_char *data,
    size_t len, u_char *md)
{
    unsigned int  md_len;

    if (key_len > INT_MAX) {
        return NGX_HOTLINE_JWT_NOMEM;
    }

    md_len = 0;

    if (HMAC(EVP_sha256(), key_len ? key : (const u_char *) "",
             (int) key_len, data, len, md, &md_len)
        == NULL
        || md_len != NGX_HOTLINE_JWT_SIG_LEN)
    {
        return NGX_HOTLINE_JWT_NOMEM;
    }

    return NGX_HOTLINE_JWT_OK;
}


int
ngx_hotline_b64url_decode(u_char *dst, size_t *dst_len, const u_char *src,
    size_t len)
{
    size_t    i, n;
    u_char    v;
    uint32_t  acc;
    unsigned  bits;

    if (len % 4 == 1) {
        return NGX_HOTLINE_JWT_MALFORMED;
    }

    n = 0;
    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        v = ngx_hotline_b64url_val[src[i]];

        if (v == 0) {
            return NGX_HOTLINE_JWT_MALFORMED;
        }

        acc = (acc << 6) | (uint32_t) (v - 1);
        bits += 6;

        if (bits >= 8) {
            bits -= 8;

            if (n == *dst_len) {
                return NGX_HOTLINE_JWT_MALFORMED;
            }

            dst[n++] = (u_char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    if (acc != 0) {
        return NGX_HOTLINE_JWT_MALFORMED;
    }

    *dst_len = n;

    return NGX_HOTLINE_JWT_OK;
}


size_t
ngx_hotline_b64url_encode(u_char *dst, const u_char *src, size_t len)
{
    u_char  *d;

    d = dst;

    while (len >= 3) {
        *d++ = ngx_hotline_b64url[src[0] >> 2];
        *d++ = ngx_hotline_b64url[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = ngx_hotline_b64url[((src[1] & 0x0f) << 2) | (src[2] >> 6)];
        *d++ = ngx_hotline_b64url[src[2] & 0x3f];

        src += 3;
        len -= 3;
    }

    if (len == 1) {
        *d++ = ngx_hotline_b64url[src[0] >> 2];
        *d++ = ngx_hotline_b64url[(src[0] & 0x03) << 4];

    } else if (len == 2) {
        *d++ = ngx_hotline_b64url[src[0] >> 2];
        *d++ = ngx_hotline_b64url[((src[0] & 0x03) << 4) | (src[1] >> 4)];
        *d++ = ngx_hotline_b64url[(src[1] & 0x0f) << 2];
    }

    return d - dst;
}
