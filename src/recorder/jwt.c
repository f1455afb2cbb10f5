/*
 * hotline-recorder: bearer tokens are HS256 JWTs minted by the nginx
 * module with claims "call" (the call id), "role" ("customer" or
 * "agent") and "exp"; "nbf" and "aud" ("hotline-recorder") are checked
 * when present.  The signature is checked in constant time before the
 * claims are looked at.
 */

#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"


static const signed char  rec_b64url[256] = {
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


/* unpadded base64url; dst must hold (len + 2) / 3 * 4 bytes */

size_t
rec_b64url_encode(char *dst, const u_char *src, size_t len)
{
    size_t             i, n;
    uint32_t           v;
    static const char  t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz0123456789-_";

    n = 0;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) src[i] << 16 | src[i + 1] << 8 | src[i + 2];
        dst[n++] = t[v >> 18];
        dst[n++] = t[(v >> 12) & 63];
        dst[n++] = t[(v >> 6) & 63];
        dst[n++] = t[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) src[i] << 16;
        dst[n++] = t[v >> 18];
        dst[n++] = t[(v >> 12) & 63];

    } else if (len - i == 2) {
        v = (uint32_t) src[i] << 16 | src[i + 1] << 8;
        dst[n++] = t[v >> 18];
        dst[n++] = t[(v >> 12) & 63];
        dst[n++] = t[(v >> 6) & 63];
    }

    return n;
}


size_t
rec_jwt_sign(char *out, const u_char *payload, size_t len,
    const u_char *secret, size_t secret_len)
{
    size_t             n;
    unsigned           mdlen;
    u_char             md[EVP_MAX_MD_SIZE];
    static const char  hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

    n = rec_b64url_encode(out, (const u_char *) hdr, sizeof(hdr) - 1);
    out[n++] = '.';
    n += rec_b64url_encode(out + n, payload, len);

    HMAC(EVP_sha256(), secret, (int) secret_len, (u_char *) out, n, md,
         &mdlen);

    out[n++] = '.';
    n += rec_b64url_encode(out + n, md, 32);
    out[n] = '\0';

    return n;
}


/* unpadded base64url; dst must hold slen * 3 / 4 bytes */

int
rec_b64url_decode(u_char *dst, size_t *dlen, const char *src, size_t slen)
{
    size_t    i, n;
    uint32_t  acc;
    unsigned  bits;
    int       v;

    if (slen % 4 == 1) {
        return REC_ERROR;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < slen; i++) {
        v = rec_b64url[(u_char) src[i]];

        if (v == 0) {
            return REC_ERROR;
        }

        acc = (acc << 6) | (uint32_t) (v - 1);
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (u_char) (acc >> bits);
        }
    }

    /* the unused low bits must be zero (canonical encoding) */

    if (acc & ((1u << bits) - 1)) {
        return REC_ERROR;
    }

    *dlen = n;

    return REC_OK;
}


static json_t *
rec_jwt_part(const char *s, size_t len)
{
    size_t   n;
    json_t  *j;
    u_char   buf[REC_JWT_MAX_LEN];

    if (len == 0 || len > sizeof(buf) * 4 / 3
        || rec_b64url_decode(buf, &n, s, len) != REC_OK)
    {
        return NULL;
    }

    j = json_loadb((const char *) buf, n, JSON_REJECT_DUPLICATES, NULL);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }

    return j;
}


int
rec_jwt_verify(const char *token, size_t len, const u_char *secret,
    size_t secret_len, int64_t now, rec_jwt_claims_t *claims,
    const char **err)
{
    int          rc;
    size_t       n, h, p, i;
    json_t      *hdr, *pl, *v;
    unsigned     mdlen;
    const char  *s, *dot1, *dot2;
    u_char       sig[64], md[EVP_MAX_MD_SIZE];

    *err = "malformed token";

    if (len == 0 || len > REC_JWT_MAX_LEN) {
        return REC_ERROR;
    }

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return REC_ERROR;
    }

    dot2 = memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token));
    if (dot2 == NULL
        || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)))
    {
        return REC_ERROR;
    }

    h = (size_t) (dot1 - token);
    p = (size_t) (dot2 - dot1 - 1);
    n = len - (size_t) (dot2 + 1 - token);

    if (n != 43
        || rec_b64url_decode(sig, &i, dot2 + 1, n) != REC_OK || i != 32)
    {
        *err = "malformed token signature";
        return REC_ERROR;
    }

    if (HMAC(EVP_sha256(), secret, (int) secret_len, (const u_char *) token,
             (size_t) (dot2 - token), md, &mdlen) == NULL
        || mdlen != 32)
    {
        *err = "internal error";
        return REC_ERROR;
    }

    if (CRYPTO_memcmp(md, sig, 32) != 0) {
        *err = "bad token signature";
        return REC_ERROR;
    }

    hdr = rec_jwt_part(token, h);
    pl = rec_jwt_part(dot1 + 1, p);
    rc = REC_ERROR;

    if (hdr == NULL || pl == NULL) {
        goto done;
    }

    v = json_object_get(hdr, "alg");

    if (!json_is_string(v) || strcmp(json_string_value(v), "HS256") != 0) {
        *err = "token algorithm must be HS256";
        goto done;
    }

    v = json_object_get(pl, "exp");

    /* NumericDate: integer or not */

    if (!json_is_number(v)) {
        *err = "token without \"exp\"";
        goto done;
    }

    if (json_number_value(v) < 0 || json_number_value(v) > 1e12) {
        *err = "token \"exp\" out of range";
        goto done;
    }

    claims->exp = (int64_t) json_number_value(v);

    if (now >= 0 && claims->exp <= now) {
        *err = "token expired";
        goto done;
    }

    v = json_object_get(pl, "nbf");

    if (v != NULL
        && (!json_is_number(v)
            || (now >= 0 && json_number_value(v) > (double) now)))
    {
        *err = "token not yet valid";
        goto done;
    }

    v = json_object_get(pl, "aud");

    if (v != NULL && (!json_is_string(v)
                      || strcmp(json_string_value(v), "hotline-recorder")
                         != 0))
    {
        *err = "token audience is not hotline-recorder";
        goto done;
    }

    v = json_object_get(pl, "call");
    s = json_is_string(v) ? json_string_value(v) : NULL;
    n = s ? strlen(s) : 0;

    if (n == 0 || n >= sizeof(claims->call)
        || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-_") != n)
    {
        *err = "token \"call\" must be 1-64 of [A-Za-z0-9_-]";
        goto done;
    }

    memcpy(claims->call, s, n + 1);

    v = json_object_get(pl, "role");
    s = json_is_string(v) ? json_string_value(v) : "";

    if (strcmp(s, "customer") == 0) {
        claims->role = REC_ROLE_CUSTOMER;

    } else if (strcmp(s, "agent") == 0) {
        claims->role = REC_ROLE_AGENT;

    } else {
        *err = "token \"role\" must be customer or agent";
        goto done;
    }

    *err = NULL;
    rc = REC_OK;

done:

    json_decref(hdr);
    json_decref(pl);

    return rc;
}
