
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_auth.h"


/*
 * The audit trail: one error-log line at "notice" per login event,
 *
 *     hotline audit: <event> user=<name> ip=<client address>
 *                    [jti=<token id>] [reason=<word>] [call_id=<id>]
 *
 * The client address is the connection's, as rewritten by the realip
 * module behind a trusted proxy.  Names are checked ([a-z0-9._-]) before
 * they get here or come from a verified token; anything else is written
 * escaped.  Never a code, never a token.
 */


void
ngx_http_hotline_audit(ngx_http_request_t *r, const char *event,
    ngx_str_t *user, ngx_str_t *jti, const char *reason)
{
    ngx_http_hotline_audit_call(r, event, user, jti, reason, NULL);
}


/* the same, about a call (its id: hex digits, checked) */

void
ngx_http_hotline_audit_call(ngx_http_request_t *r, const char *event,
    ngx_str_t *user, ngx_str_t *jti, const char *reason, ngx_str_t *call_id)
{
    u_char     *p, *last;
    size_t      n;
    ngx_str_t   name, none;
    u_char      buf[NGX_HOTLINE_USER_MAX * 4];

    if (r->connection->log->log_level < NGX_LOG_NOTICE) {
        return;
    }

    /* a token's sub may hold any printable text: escaped like nginx does */

    n = ngx_min(user->len, NGX_HOTLINE_USER_MAX);
    last = buf + sizeof(buf);
    p = buf;

    for (name.data = user->data; n; n--, name.data++) {
        if (*name.data > 0x20 && *name.data < 0x7f && *name.data != '\\'
            && *name.data != '"')
        {
            *p++ = *name.data;

        } else if (last - p >= 4) {
            p = ngx_sprintf(p, "\\x%02Xd", *name.data);
        }
    }

    name.data = buf;
    name.len = p - buf;

    ngx_str_null(&none);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "hotline audit: %s user=%V ip=%V%s%V%s%s%s%V",
                  event, &name, &r->connection->addr_text,
                  jti && jti->len ? " jti=" : "",
                  jti && jti->len ? jti : &none,
                  reason ? " reason=" : "",
                  reason ? reason : "",
                  call_id ? " call_id=" : "",
                  call_id ? call_id : &none);
}
