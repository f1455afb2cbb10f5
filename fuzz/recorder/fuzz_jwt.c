/*
 * libFuzzer target: bearer token verification (base64url, JSON, HMAC).
 * The first input byte selects whether a valid signature is computed
 * over the rest, so the claim checks behind the signature get fuzzed too,
 * and whether expiry is checked.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jwt.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const u_char  key[] = "fuzz-secret-fuzz-secret-fuzz-secret!";


static size_t
b64url(char *dst, const u_char *src, size_t len)
{
    size_t        i, n;
    uint32_t      v;
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


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              *tok;
    size_t             n;
    unsigned           mdlen;
    const char        *err;
    u_char             md[EVP_MAX_MD_SIZE];
    rec_jwt_claims_t   c;
    static const char  hdr[] = "eyJhbGciOiJIUzI1NiJ9.";   /* HS256 */

    if (size < 1 || size > 3000) {
        return 0;
    }

    tok = malloc(size * 2 + 100);
    if (tok == NULL) {
        return 0;
    }

    if (data[0] & 1) {
        /* a correctly signed token around a fuzzed payload */
        memcpy(tok, hdr, sizeof(hdr) - 1);
        n = sizeof(hdr) - 1;
        n += b64url(tok + n, data + 1, size - 1);
        HMAC(EVP_sha256(), key, sizeof(key) - 1, (u_char *) tok, n, md,
             &mdlen);
        tok[n++] = '.';
        n += b64url(tok + n, md, 32);

    } else {
        memcpy(tok, data + 1, size - 1);
        n = size - 1;
    }

    (void) rec_jwt_verify(tok, n, key, sizeof(key) - 1,
                          (data[0] & 2) ? -1 : 1700000000, &c, &err);

    free(tok);

    return 0;
}
