
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_JWT_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_JWT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hotline_jwt_core.h"


/*
 * HS256 JSON Web Tokens (RFC 7519, RFC 7515): the module's claims around
 * the core it shares with hotline-recorder (ngx_http_hotline_jwt_core.h).
 * Pure code: no nginx function calls (macros and types only), OpenSSL for
 * HMAC-SHA256 and jansson for JSON, so unit tests and fuzz targets link it
 * and the core alone.
 */


#define NGX_HOTLINE_JWT_MAX_TOKEN     2048
#define NGX_HOTLINE_JWT_MAX_CLAIM     64     /* sub, role, jti, name */
#define NGX_HOTLINE_JWT_MIN_KEY       32


typedef struct {
    u_char      sub[NGX_HOTLINE_JWT_MAX_CLAIM + 1];   /* NUL-terminated */
    size_t      sub_len;
    u_char      role[NGX_HOTLINE_JWT_MAX_CLAIM + 1];
    size_t      role_len;
    u_char      jti[NGX_HOTLINE_JWT_MAX_CLAIM + 1];
    size_t      jti_len;
    u_char      name[NGX_HOTLINE_JWT_MAX_CLAIM + 1];  /* display name */
    size_t      name_len;
    int64_t     iat;                                   /* 0 if absent */
    int64_t     nbf;                                   /* 0 if absent */
    int64_t     exp;                                   /* required */
} ngx_http_hotline_jwt_claims_t;


/*
 * Verifies token (compact JWS) with key at time now (seconds), allowing
 * leeway seconds of clock skew for exp/nbf.  The header must be exactly
 * an object with "alg":"HS256" (and optionally "typ":"JWT"; any other
 * member such as "crit", "jku", "kid" with unknown meaning: reject "crit",
 * ignore "kid"/"typ").  The signature is compared in constant time.
 * Claims: "exp" (number) required; "nbf", "iat" optional numbers; "sub"
 * required string 1..64 bytes; "role", "jti" optional strings <= 64 bytes.
 * Strings with control characters are rejected.  "name" (a display name)
 * is taken when it is such a string and ignored otherwise.
 * Returns NGX_OK and fills claims, or NGX_DECLINED with *err set to a
 * short static reason ("malformed", "bad header", "unsupported alg",
 * "bad signature", "expired", "not yet valid", "bad claims") that is
 * safe to log (it never contains token bytes).
 * Returns NGX_ERROR only on allocation failure inside OpenSSL/jansson.
 */
ngx_int_t ngx_http_hotline_jwt_verify(const u_char *token, size_t len,
    const u_char *key, size_t key_len, int64_t now, int64_t leeway,
    ngx_http_hotline_jwt_claims_t *claims, const char **err);

/*
 * Mints an HS256 token with header {"alg":"HS256","typ":"JWT"} and the
 * claims given (sub, role, jti if non-empty; iat, exp; nbf if non-zero)
 * into out (size bytes).  Returns the token length, or 0 if out is too
 * small or on allocation failure.
 */
size_t ngx_http_hotline_jwt_sign(const ngx_http_hotline_jwt_claims_t *claims,
    const u_char *key, size_t key_len, u_char *out, size_t size);


/*
 * Mints an HS256 token for claims that the caller serialized itself (a
 * compact JSON object of clen bytes, e.g. for another service's claims).
 * Returns the token length, or 0 if out is too small.
 */
size_t ngx_http_hotline_jwt_sign_json(const u_char *json, size_t clen,
    const u_char *key, size_t key_len, u_char *out, size_t size);


#endif /* _NGX_HTTP_HOTLINE_JWT_H_INCLUDED_ */
