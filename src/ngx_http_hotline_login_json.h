
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_LOGIN_JSON_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_LOGIN_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The bodies of the login endpoints: {"username": "..."} and
 * {"username": "...", "code": "123456"}.  Pure code: no nginx function
 * calls (macros and types only) and jansson, so the fuzz target links it
 * alone.
 */


#define NGX_HOTLINE_USER_MAX            64      /* [a-z0-9._-]{1,64} */
#define NGX_HOTLINE_OTP_DIGITS          6
#define NGX_HOTLINE_LOGIN_BODY_MAX      1024

#define NGX_HOTLINE_LOGIN_OK            0
#define NGX_HOTLINE_LOGIN_BAD_JSON      1       /* not an object as wanted */
#define NGX_HOTLINE_LOGIN_BAD_USERNAME  2
#define NGX_HOTLINE_LOGIN_BAD_CODE      3


typedef struct {
    u_char      user[NGX_HOTLINE_USER_MAX];
    size_t      user_len;
    u_char      code[NGX_HOTLINE_OTP_DIGITS];    /* with_code only */
} ngx_http_hotline_login_t;


/*
 * Parses len bytes (at most NGX_HOTLINE_LOGIN_BODY_MAX) of JSON: exactly
 * one object, no duplicate member, "username" a string of 1 to 64 of
 * a-z 0-9 . _ -, with_code: "code" a string of 6 ASCII digits; no other
 * member.  Returns NGX_HOTLINE_LOGIN_OK with login filled, or the first
 * problem found (NGX_HOTLINE_LOGIN_BAD_*), or NGX_ERROR when jansson
 * cannot allocate.
 */
ngx_int_t ngx_http_hotline_login_parse(const u_char *buf, size_t len,
    ngx_uint_t with_code, ngx_http_hotline_login_t *login);

/* NGX_OK if p is 1 to 64 bytes of a-z 0-9 . _ - */
ngx_int_t ngx_http_hotline_username_valid(const u_char *p, size_t len);


#endif /* _NGX_HTTP_HOTLINE_LOGIN_JSON_H_INCLUDED_ */
