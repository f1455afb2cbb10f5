
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_JWT_CORE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_JWT_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>


/*
 * HS256 JSON Web Tokens (RFC 7519, RFC 7515): the part the nginx module
 * (ngx_http_hotline_jwt.c) and hotline-recorder (src/recorder/jwt.c)
 * share.  Plain C, no nginx type or call (it builds with the module under
 * nginx's flags and with the recorder on its own), OpenSSL for
 * HMAC-SHA256 and jansson for JSON.  Each side reads its own claims from
 * the payload this opens.
 */


#define NGX_HOTLINE_JWT_MAX_LEN     4096   /* a token, bytes at most */
#define NGX_HOTLINE_JWT_SIG_LEN     32     /* HMAC-SHA256 */
#define NGX_HOTLINE_JWT_SIG_B64     43     /* its base64url */

/* NumericDate values beyond 2^53 make no sense and cannot be doubles */
#define NGX_HOTLINE_JWT_MAX_DATE    9007199254740992LL

/* unpadded base64url of n bytes */
#define ngx_hotline_b64url_len(n)                                            \
    (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))


/* results; ngx_hotline_jwt_error() names them */

#define NGX_HOTLINE_JWT_OK             0
#define NGX_HOTLINE_JWT_MALFORMED      1   /* not header.payload.sig */
#define NGX_HOTLINE_JWT_BAD_HEADER     2
#define NGX_HOTLINE_JWT_BAD_ALG        3   /* alg is not HS256 */
#define NGX_HOTLINE_JWT_BAD_SIGNATURE  4
#define NGX_HOTLINE_JWT_BAD_CLAIMS     5
#define NGX_HOTLINE_JWT_EXPIRED        6
#define NGX_HOTLINE_JWT_NOT_YET_VALID  7
#define NGX_HOTLINE_JWT_NOMEM          8   /* OpenSSL or jansson failed */


/*
 * Opens token (compact JWS, at most NGX_HOTLINE_JWT_MAX_LEN bytes of
 * base64url and two dots): its header must be a JSON object with
 * "alg":"HS256" and no "crit" (other members are ignored), checked
 * first; then its HMAC-SHA256 signature with key, compared in constant
 * time; then its payload must be a JSON object (duplicate keys refused),
 * returned in *payload for the caller's claims (json_decref() it).
 */
int ngx_hotline_jwt_open(const u_char *token, size_t len, const u_char *key,
    size_t key_len, json_t **payload);

/*
 * A NumericDate claim: an integer or real number of seconds within
 * +-2^53, fractions floored; absent: *value 0, NGX_HOTLINE_JWT_OK unless
 * required; otherwise NGX_HOTLINE_JWT_BAD_CLAIMS.
 */
int ngx_hotline_jwt_date(json_t *payload, const char *name, int required,
    int64_t *value);

/*
 * exp and nbf (0: absent) at time now, with leeway seconds of clock skew
 * (a negative leeway counts as 0): NGX_HOTLINE_JWT_OK, _EXPIRED (now -
 * leeway >= exp) or _NOT_YET_VALID (now + leeway < nbf).
 */
int ngx_hotline_jwt_in_time(int64_t exp, int64_t nbf, int64_t now,
    int64_t leeway);

/* a short static reason, safe to log: "malformed", "bad signature"... */
const char *ngx_hotline_jwt_error(int rc);

/*
 * Mints a token with the header {"alg":"HS256","typ":"JWT"} around the
 * claims the caller serialized (json, a compact JSON object of len
 * bytes) into out (size bytes, NUL-terminated when there is room).
 * Returns its length (ngx_hotline_jwt_sign_len()), 0 if out is too small
 * or on an OpenSSL failure.
 */
size_t ngx_hotline_jwt_sign(const u_char *json, size_t len, const u_char *key,
    size_t key_len, u_char *out, size_t size);
size_t ngx_hotline_jwt_sign_len(size_t len);

/*
 * Strict base64url (RFC 4648 5): no padding, nothing outside the
 * alphabet, the unused low bits of the last character zero, so that each
 * byte string has one encoding.  *dst_len: the room in dst, then the
 * bytes decoded.  NGX_HOTLINE_JWT_OK or NGX_HOTLINE_JWT_MALFORMED.
 */
int ngx_hotline_b64url_decode(u_char *dst, size_t *dst_len,
    const u_char *src, size_t len);
/* returns the length written: ngx_hotline_b64url_len(len) */
size_t ngx_hotline_b64url_encode(u_char *dst, const u_char *src, size_t len);


#endif /* _NGX_HTTP_HOTLINE_JWT_CORE_H_INCLUDED_ */
