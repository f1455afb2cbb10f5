
/*
 * Copyright (C) hotline authors
 */


#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "hl_ws.h"


#define HL_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


int
hl_ws_parse_header(const uint8_t *p, size_t n, hl_ws_header_t *h)
{
    size_t    need;
    unsigned  len7, i;
    uint64_t  len;

    if (n < 2) {
        return 0;
    }

    h->fin = p[0] >> 7;
    h->rsv = (p[0] >> 4) & 0x7;
    h->opcode = p[0] & 0x0f;
    h->masked = p[1] >> 7;
    len7 = p[1] & 0x7f;

    need = 2 + (len7 == 126 ? 2 : 0) + (len7 == 127 ? 8 : 0)
           + (h->masked ? 4 : 0);

    if (n < need) {
        return 0;
    }

    if (len7 == 126) {
        len = ((uint64_t) p[2] << 8) | p[3];
        i = 4;

    } else if (len7 == 127) {
        len = 0;
        for (i = 2; i < 10; i++) {
            len = (len << 8) | p[i];
        }

        if (len >> 63) {
            return -1;
        }

    } else {
        len = len7;
        i = 2;
    }

    if (h->masked) {
        memcpy(h->mask, p + i, 4);
        i += 4;
    }

    if ((h->opcode & 0x8) && (len > 125 || !h->fin)) {
        return -1;
    }

    h->len = len;
    h->header_len = i;

    return 1;
}


size_t
hl_ws_write_header(uint8_t *dst, unsigned opcode, uint64_t len,
    const uint8_t *mask)
{
    size_t    i;
    unsigned  k;

    dst[0] = 0x80 | (opcode & 0x0f);

    if (len < 126) {
        dst[1] = (uint8_t) len;
        i = 2;

    } else if (len < 65536) {
        dst[1] = 126;
        dst[2] = (uint8_t) (len >> 8);
        dst[3] = (uint8_t) len;
        i = 4;

    } else {
        dst[1] = 127;
        for (k = 0; k < 8; k++) {
            dst[2 + k] = (uint8_t) (len >> (56 - 8 * k));
        }
        i = 10;
    }

    if (mask) {
        dst[1] |= 0x80;
        memcpy(dst + i, mask, 4);
        i += 4;
    }

    return i;
}


void
hl_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] ^= mask[(off + i) & 3];
    }
}


int
hl_ws_make_key(char key[HL_WS_KEY_LEN + 1])
{
    unsigned char  raw[16];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return -1;
    }

    EVP_EncodeBlock((unsigned char *) key, raw, sizeof(raw));

    return 0;
}


int
hl_ws_accept(const char *key, size_t key_len,
    char accept[HL_WS_ACCEPT_LEN + 1])
{
    unsigned char  buf[128], md[SHA_DIGEST_LENGTH];

    if (key_len == 0 || key_len + sizeof(HL_WS_GUID) > sizeof(buf)) {
        return -1;
    }

    memcpy(buf, key, key_len);
    memcpy(buf + key_len, HL_WS_GUID, sizeof(HL_WS_GUID) - 1);

    SHA1(buf, key_len + sizeof(HL_WS_GUID) - 1, md);
    EVP_EncodeBlock((unsigned char *) accept, md, sizeof(md));

    return 0;
}


const char *
hl_http_header(const char *hdr, size_t n, const char *name, size_t *len)
{
    size_t       nlen;
    const char  *p, *end, *eol, *v;

    nlen = strlen(name);
    end = hdr + n;

    /* skip the request or status line */
    p = memchr(hdr, '\n', n);

    while (p && ++p < end) {
        eol = memchr(p, '\n', end - p);
        if (eol == NULL) {
            eol = end;
        }

        if ((size_t) (eol - p) > nlen && p[nlen] == ':'
            && strncasecmp(p, name, nlen) == 0)
        {
            v = p + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }

            *len = eol - v;
            while (*len && (v[*len - 1] == '\r' || v[*len - 1] == ' ')) {
                (*len)--;
            }

            return v;
        }

        p = eol;
    }

    return NULL;
}
