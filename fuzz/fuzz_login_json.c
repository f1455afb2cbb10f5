
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for src/ngx_http_hotline_login_json.c, the bodies of
 * the login endpoints.  The first byte picks the schema (even: a code
 * request, odd: a verification with a code); the rest is the body.
 * Whatever parses must keep the parser's promises: a valid username of
 * 1 to 64 bytes, 6 ASCII digits for the code.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hotline_login_json.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_int_t                 rc;
    ngx_uint_t                i, with_code;
    ngx_http_hotline_login_t  login;

    if (size == 0) {
        return 0;
    }

    with_code = data[0] & 1;

    ngx_memset(&login, 0xa5, sizeof(login));

    rc = ngx_http_hotline_login_parse(data + 1, size - 1, with_code, &login);

    fz_check(rc == NGX_HOTLINE_LOGIN_OK
             || rc == NGX_HOTLINE_LOGIN_BAD_JSON
             || rc == NGX_HOTLINE_LOGIN_BAD_USERNAME
             || rc == NGX_HOTLINE_LOGIN_BAD_CODE
             || rc == NGX_ERROR);

    if (size - 1 > NGX_HOTLINE_LOGIN_BODY_MAX) {
        fz_check(rc == NGX_HOTLINE_LOGIN_BAD_JSON);
    }

    if (rc != NGX_HOTLINE_LOGIN_OK) {
        return 0;
    }

    fz_check(login.user_len >= 1 && login.user_len <= NGX_HOTLINE_USER_MAX);
    fz_check(ngx_http_hotline_username_valid(login.user, login.user_len)
             == NGX_OK);

    if (with_code) {
        for (i = 0; i < NGX_HOTLINE_OTP_DIGITS; i++) {
            fz_check(login.code[i] >= '0' && login.code[i] <= '9');
        }
    }

    return 0;
}
