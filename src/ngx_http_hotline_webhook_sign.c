
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_webhook_sign.h"


ngx_int_t
ngx_http_hotline_webhook_sign(u_char *buf, ngx_str_t *secret, time_t t,
    ngx_str_t *body)
{
    u_char        *p, *start;
    size_t         n;
    unsigned int   md_len;
    u_char         md[EVP_MAX_MD_SIZE];
    u_char         stamp[NGX_TIME_T_LEN + 1];

    /* "<t>." right before the body: HMAC(secret, "<t>.<body>") */

    n = ngx_sprintf(stamp, "%T.", t) - stamp;
    start = body->data - n;
    ngx_memcpy(start, stamp, n);

    if (HMAC(EVP_sha256(), secret->data, (int) secret->len, start,
             n + body->len, md, &md_len)
        == NULL)
    {
        return NGX_ERROR;
    }

    p = ngx_sprintf(buf, "Hotline-Signature: t=%T,v1=", t);
    p = ngx_http_hotline_hex(p, md, md_len);
    *p = '\0';

    ngx_explicit_memzero(md, sizeof(md));

    return NGX_OK;
}
