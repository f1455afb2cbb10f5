
/*
 * Copyright (C) hotline authors
 */


#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hl_jwt.h"


static size_t hl_b64url(const uint8_t *src, size_t n, char *dst);


int
hl_jwt_read_key(const char *path, uint8_t *key, size_t size)
{
    FILE    *f;
    size_t   n;

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    n = fread(key, 1, size, f);
    fclose(f);

    while (n && (key[n - 1] == '\n' || key[n - 1] == '\r')) {
        n--;
    }

    return n ? (int) n : -1;
}


int
hl_jwt_mint(const uint8_t *key, size_t key_len, const char *sub,
    time_t exp, char *out, size_t size)
{
    int            n;
    char           payload[256];
    size_t         len;
    unsigned int   md_len;
    unsigned char  md[EVP_MAX_MD_SIZE];

    static const char  header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

    n = snprintf(payload, sizeof(payload),
                 "{\"sub\":\"%s\",\"role\":\"agent\",\"exp\":%lld}",
                 sub, (long long) exp);

    if (n < 0 || (size_t) n >= sizeof(payload)) {
        return -1;
    }

    /* base64url grows by 4/3; the signature adds 43 characters */
    if (size < (sizeof(header) + n) * 4 / 3 + 4 + 43 + 3) {
        return -1;
    }

    len = hl_b64url((const uint8_t *) header, sizeof(header) - 1, out);
    out[len++] = '.';
    len += hl_b64url((const uint8_t *) payload, n, out + len);

    if (HMAC(EVP_sha256(), key, (int) key_len, (unsigned char *) out, len,
             md, &md_len)
        == NULL)
    {
        return -1;
    }

    out[len++] = '.';
    len += hl_b64url(md, md_len, out + len);
    out[len] = '\0';

    return (int) len;
}


static size_t
hl_b64url(const uint8_t *src, size_t n, char *dst)
{
    size_t  i, len;

    len = EVP_EncodeBlock((unsigned char *) dst, src, (int) n);

    while (len && dst[len - 1] == '=') {
        len--;
    }

    for (i = 0; i < len; i++) {
        if (dst[i] == '+') {
            dst[i] = '-';

        } else if (dst[i] == '/') {
            dst[i] = '_';
        }
    }

    dst[len] = '\0';

    return len;
}
