
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/rand.h>

#include "ngx_http_hotline.h"


/*
 * Ids, tokens, nonces and codes come from OpenSSL's CSPRNG, never from
 * random().  Its output is drawn NGX_HOTLINE_RANDOM_POOL bytes at a time
 * (a RAND_bytes() call costs about as much as a small response: a CSP
 * nonce per page paid for one each) and each byte is handed out once,
 * then wiped; a process that did not draw the pool itself (a worker
 * forked from the master that drew it) draws its own.
 */

#define NGX_HOTLINE_RANDOM_POOL  4096


static u_char     ngx_http_hotline_random_pool[NGX_HOTLINE_RANDOM_POOL];
static size_t     ngx_http_hotline_random_left;
static ngx_pid_t  ngx_http_hotline_random_pid;


ngx_int_t
ngx_http_hotline_random_id(u_char *raw)
{
    u_char  *p;

    if (ngx_http_hotline_random_left < NGX_HOTLINE_ID_LEN
        || ngx_http_hotline_random_pid != ngx_pid)
    {
        if (RAND_bytes(ngx_http_hotline_random_pool, NGX_HOTLINE_RANDOM_POOL)
            != 1)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: RAND_bytes() failed");
            return NGX_ERROR;
        }

        ngx_http_hotline_random_left = NGX_HOTLINE_RANDOM_POOL;
        ngx_http_hotline_random_pid = ngx_pid;
    }

    p = ngx_http_hotline_random_pool + NGX_HOTLINE_RANDOM_POOL
        - ngx_http_hotline_random_left;

    ngx_memcpy(raw, p, NGX_HOTLINE_ID_LEN);
    ngx_explicit_memzero(p, NGX_HOTLINE_ID_LEN);

    ngx_http_hotline_random_left -= NGX_HOTLINE_ID_LEN;

    return NGX_OK;
}


/* len bytes of the CSPRNG, not from the pool (rarely used) */

ngx_int_t
ngx_http_hotline_random_bytes(u_char *buf, size_t len)
{
    if (RAND_bytes(buf, (int) len) != 1) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "hotline: RAND_bytes() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


u_char *
ngx_http_hotline_hex(u_char *dst, u_char *src, size_t len)
{
    return ngx_hex_dump(dst, src, len);
}


ngx_int_t
ngx_http_hotline_unhex(u_char *dst, u_char *src, size_t len)
{
    u_char      c;
    ngx_uint_t  i;

    /* len hex digits, lowercase */

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c = c - 'a' + 10;

        } else {
            return NGX_ERROR;
        }

        if (i % 2 == 0) {
            dst[i / 2] = (u_char) (c << 4);

        } else {
            dst[i / 2] |= c;
        }
    }

    return NGX_OK;
}
