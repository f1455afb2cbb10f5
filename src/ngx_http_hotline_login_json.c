
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_login_json.h"


/* the login bodies' schema; pure code, see the header */


ngx_int_t
ngx_http_hotline_login_parse(const u_char *buf, size_t len,
    ngx_uint_t with_code, ngx_http_hotline_login_t *login)
{
    size_t         n;
    json_t        *json, *v;
    ngx_int_t      rc;
    ngx_uint_t     i;
    const char    *s;
    json_error_t   error;

    if (len > NGX_HOTLINE_LOGIN_BODY_MAX) {
        return NGX_HOTLINE_LOGIN_BAD_JSON;
    }

    json = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES,
                      &error);

    if (json == NULL) {
        return (json_error_code(&error) == json_error_out_of_memory)
               ? NGX_ERROR : NGX_HOTLINE_LOGIN_BAD_JSON;
    }

    rc = NGX_HOTLINE_LOGIN_BAD_JSON;

    if (!json_is_object(json)) {
        goto done;
    }

    rc = NGX_HOTLINE_LOGIN_BAD_USERNAME;

    v = json_object_get(json, "username");

    if (v == NULL || !json_is_string(v)) {
        goto done;
    }

    s = json_string_value(v);
    n = json_string_length(v);

    if (ngx_http_hotline_username_valid((const u_char *) s, n) != NGX_OK) {
        goto done;
    }

    ngx_memcpy(login->user, s, n);
    login->user_len = n;

    if (with_code) {
        rc = NGX_HOTLINE_LOGIN_BAD_CODE;

        v = json_object_get(json, "code");

        if (v == NULL || !json_is_string(v)
            || json_string_length(v) != NGX_HOTLINE_OTP_DIGITS)
        {
            goto done;
        }

        s = json_string_value(v);

        for (i = 0; i < NGX_HOTLINE_OTP_DIGITS; i++) {
            if (s[i] < '0' || s[i] > '9') {
                goto done;
            }
        }

        ngx_memcpy(login->code, s, NGX_HOTLINE_OTP_DIGITS);
    }

    rc = (json_object_size(json) == (with_code ? 2 : 1))
         ? NGX_HOTLINE_LOGIN_OK : NGX_HOTLINE_LOGIN_BAD_JSON;

done:

    json_decref(json);

    return rc;
}


ngx_int_t
ngx_http_hotline_username_valid(const u_char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > NGX_HOTLINE_USER_MAX) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')
            || p[i] == '.' || p[i] == '_' || p[i] == '-')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}
