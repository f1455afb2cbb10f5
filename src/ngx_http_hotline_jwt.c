
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>
#include "ngx_http_hotline_jwt.h"


/*
 * HS256 JWT verify and sign for the module: its claims (sub, role, jti,
 * name, iat, nbf, exp) around the shared core (structure, header,
 * signature, dates, base64url: ngx_http_hotline_jwt_core.c).  Pure code:
 * only macros and types from nginx, no nginx function call.
 */


static ngx_int_t ngx_http_hotline_jwt_payload(json_t *obj,
    ngx_http_hotline_jwt_claims_t *claims);
static ngx_int_t ngx_http_hotline_jwt_string(json_t *obj, const char *name,
    size_t min, u_char *dst, size_t *len);
static ngx_int_t ngx_http_hotline_jwt_safe(const u_char *s, size_t len);


ngx_int_t
ngx_http_hotline_jwt_verify(const u_char *token, size_t len,
    const u_char *key, size_t key_len, int64_t now, int64_t leeway,
    ngx_http_hotline_jwt_claims_t *claims, const char **err)
{
    int                             rc;
    json_t                         *obj;
    ngx_http_hotline_jwt_claims_t   c;

    if (len > NGX_HOTLINE_JWT_MAX_TOKEN) {
        *err = "malformed";
        return NGX_DECLINED;
    }

    rc = ngx_hotline_jwt_open(token, len, key, key_len, &obj);

    if (rc == NGX_HOTLINE_JWT_OK) {

        /* authentic: the claims decide */

        ngx_memzero(&c, sizeof(ngx_http_hotline_jwt_claims_t));

        if (ngx_http_hotline_jwt_payload(obj, &c) != NGX_OK) {
            rc = NGX_HOTLINE_JWT_BAD_CLAIMS;

        } else {
            rc = ngx_hotline_jwt_in_time(c.exp, c.nbf, now, leeway);
        }

        json_decref(obj);
    }

    if (rc != NGX_HOTLINE_JWT_OK) {
        *err = ngx_hotline_jwt_error(rc);
        return rc == NGX_HOTLINE_JWT_NOMEM ? NGX_ERROR : NGX_DECLINED;
    }

    *claims = c;
    *err = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_jwt_payload(json_t *obj,
    ngx_http_hotline_jwt_claims_t *claims)
{
    if (ngx_hotline_jwt_date(obj, "exp", 1, &claims->exp)
        != NGX_HOTLINE_JWT_OK
        || ngx_hotline_jwt_date(obj, "nbf", 0, &claims->nbf)
           != NGX_HOTLINE_JWT_OK
        || ngx_hotline_jwt_date(obj, "iat", 0, &claims->iat)
           != NGX_HOTLINE_JWT_OK
        || ngx_http_hotline_jwt_string(obj, "sub", 1, claims->sub,
                                       &claims->sub_len)
           != NGX_OK
        || ngx_http_hotline_jwt_string(obj, "role", 0, claims->role,
                                       &claims->role_len)
           != NGX_OK
        || ngx_http_hotline_jwt_string(obj, "jti", 0, claims->jti,
                                       &claims->jti_len)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    /* a display name that is not a plain short string is left out */

    if (ngx_http_hotline_jwt_string(obj, "name", 0, claims->name,
                                    &claims->name_len)
        != NGX_OK)
    {
        claims->name[0] = '\0';
        claims->name_len = 0;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_jwt_string(json_t *obj, const char *name, size_t min,
    u_char *dst, size_t *len)
{
    size_t   n;
    json_t  *v;

    v = json_object_get(obj, name);

    if (v == NULL) {
        *len = 0;
        dst[0] = '\0';
        return min ? NGX_DECLINED : NGX_OK;
    }

    if (!json_is_string(v)) {
        return NGX_DECLINED;
    }

    n = json_string_length(v);

    if (n < min || n > NGX_HOTLINE_JWT_MAX_CLAIM
        || ngx_http_hotline_jwt_safe((const u_char *) json_string_value(v), n)
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    *len = n;

    return NGX_OK;
}


/*
 * no C0 controls, no DEL, no C1 controls (U+0080-U+009F, C2 80-C2 9F);
 * the string is valid UTF-8 already: jansson checks it
 */

static ngx_int_t
ngx_http_hotline_jwt_safe(const u_char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {

        if (s[i] < 0x20 || s[i] == 0x7f) {
            return NGX_DECLINED;
        }

        if (s[i] == 0xc2 && i + 1 < len && s[i + 1] < 0xa0) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


size_t
ngx_http_hotline_jwt_sign(const ngx_http_hotline_jwt_claims_t *claims,
    const u_char *key, size_t key_len, u_char *out, size_t size)
{
    int      rc;
    size_t   clen;
    json_t  *obj;
    char     json[NGX_HOTLINE_JWT_MAX_TOKEN];

    /* never mint what verify would refuse */

    if (claims->sub_len == 0
        || claims->sub_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || claims->role_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || claims->jti_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || claims->name_len > NGX_HOTLINE_JWT_MAX_CLAIM
        || ngx_http_hotline_jwt_safe(claims->sub, claims->sub_len) != NGX_OK
        || ngx_http_hotline_jwt_safe(claims->name, claims->name_len) != NGX_OK
        || ngx_http_hotline_jwt_safe(claims->role, claims->role_len) != NGX_OK
        || ngx_http_hotline_jwt_safe(claims->jti, claims->jti_len) != NGX_OK
        || claims->exp > NGX_HOTLINE_JWT_MAX_DATE
        || claims->exp < -NGX_HOTLINE_JWT_MAX_DATE
        || claims->nbf > NGX_HOTLINE_JWT_MAX_DATE
        || claims->nbf < -NGX_HOTLINE_JWT_MAX_DATE
        || claims->iat > NGX_HOTLINE_JWT_MAX_DATE
        || claims->iat < -NGX_HOTLINE_JWT_MAX_DATE)
    {
        return 0;
    }

    obj = json_object();
    if (obj == NULL) {
        return 0;
    }

    rc = json_object_set_new(obj, "sub",
                             json_stringn((const char *) claims->sub,
                                          claims->sub_len));

    if (rc == 0 && claims->role_len) {
        rc = json_object_set_new(obj, "role",
                                 json_stringn((const char *) claims->role,
                                              claims->role_len));
    }

    if (rc == 0 && claims->jti_len) {
        rc = json_object_set_new(obj, "jti",
                                 json_stringn((const char *) claims->jti,
                                              claims->jti_len));
    }

    if (rc == 0 && claims->name_len) {
        rc = json_object_set_new(obj, "name",
                                 json_stringn((const char *) claims->name,
                                              claims->name_len));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "iat", json_integer(claims->iat));
    }

    if (rc == 0 && claims->nbf) {
        rc = json_object_set_new(obj, "nbf", json_integer(claims->nbf));
    }

    if (rc == 0) {
        rc = json_object_set_new(obj, "exp", json_integer(claims->exp));
    }

    /* the claims are short: 4 strings of 64 bytes and 3 numbers */

    clen = (rc == 0) ? json_dumpb(obj, json, sizeof(json), JSON_COMPACT) : 0;

    json_decref(obj);

    if (clen == 0 || clen > sizeof(json)) {
        return 0;
    }

    return ngx_http_hotline_jwt_sign_json((u_char *) json, clen, key,
                                          key_len, out, size);
}


size_t
ngx_http_hotline_jwt_sign_json(const u_char *json, size_t clen,
    const u_char *key, size_t key_len, u_char *out, size_t size)
{
    if (ngx_hotline_jwt_sign_len(clen) > NGX_HOTLINE_JWT_MAX_TOKEN) {
        return 0;
    }

    return ngx_hotline_jwt_sign(json, clen, key, key_len, out, size);
}
