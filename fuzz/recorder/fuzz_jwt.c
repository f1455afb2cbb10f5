/*
 * libFuzzer target: bearer token verification (base64url, JSON, HMAC).
 * The first input byte selects whether a valid signature is computed
 * over the rest, so the claim checks behind the signature get fuzzed too,
 * and whether expiry is checked.
 */

#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "ngx_http_hotline_jwt_core.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const u_char  key[] = "fuzz-secret-fuzz-secret-fuzz-secret!";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              *tok;
    size_t             n;
    const char        *err;
    rec_jwt_claims_t   c;

    if (size < 1 || size > 3000) {
        return 0;
    }

    tok = malloc(size * 2 + 100);
    if (tok == NULL) {
        return 0;
    }

    if (data[0] & 1) {
        /* a correctly signed token around a fuzzed payload */
        n = ngx_hotline_jwt_sign(data + 1, size - 1, key, sizeof(key) - 1,
                                 (u_char *) tok, size * 2 + 100);

    } else {
        memcpy(tok, data + 1, size - 1);
        n = size - 1;
    }

    (void) rec_jwt_verify(tok, n, key, sizeof(key) - 1,
                          (data[0] & 2) ? -1 : 1700000000, &c, &err);

    free(tok);

    return 0;
}
