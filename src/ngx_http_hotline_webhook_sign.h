
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_WEBHOOK_SIGN_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_WEBHOOK_SIGN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The signature of a webhook event (hotline_webhook): HMAC-SHA256 over
 * "<t>.<body>" in the Hotline-Signature header.  See docs/webhooks.md.
 */


/* "Hotline-Signature: t=<unix>,v1=<64 hex>" and its NUL */
#define NGX_HOTLINE_WH_SIG_LEN                                                \
    (sizeof("Hotline-Signature: t=,v1=") + NGX_TIME_T_LEN + 64)


/*
 * The signature header of body at time t, into buf (room:
 * NGX_HOTLINE_WH_SIG_LEN, NUL-terminated); body.data - NGX_TIME_T_LEN - 1
 * up to body.data is room of the caller's that "<t>." is written to.
 */
ngx_int_t ngx_http_hotline_webhook_sign(u_char *buf, ngx_str_t *secret,
    time_t t, ngx_str_t *body);


#endif /* _NGX_HTTP_HOTLINE_WEBHOOK_SIGN_H_INCLUDED_ */
