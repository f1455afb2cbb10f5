
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <openssl/rand.h>

#include "ngx_http_hotline.h"


/* ids, tokens and codes come from OpenSSL's CSPRNG, never from random() */

ngx_int_t
ngx_http_hotline_random_id(u_char *raw)
{
    if (RAND_bytes(raw, NGX_HOTLINE_ID_LEN) != 1) {
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
