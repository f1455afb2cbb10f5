/*
 * hotline-recorder: HS256 JSON Web Token verification (RFC 7519).
 */

#ifndef _REC_JWT_H_INCLUDED_
#define _REC_JWT_H_INCLUDED_


#include "rec.h"


#define REC_JWT_MAX_LEN  4096


typedef struct {
    char      call[65];
    int       role;
    int64_t   exp;
} rec_jwt_claims_t;


int rec_b64url_decode(u_char *dst, size_t *dlen, const char *src,
    size_t slen);
size_t rec_b64url_encode(char *dst, const u_char *src, size_t len);
/*
 * an HS256 token around payload (the bench and the fuzz target mint with
 * it); out needs (len + 32) * 4 / 3 + 48 bytes; returns the length
 */
size_t rec_jwt_sign(char *out, const u_char *payload, size_t len,
    const u_char *secret, size_t secret_len);
/* now < 0: "exp" and "nbf" are not checked (an existing session's token) */
int rec_jwt_verify(const char *token, size_t len, const u_char *secret,
    size_t secret_len, int64_t now, rec_jwt_claims_t *claims,
    const char **err);


#endif /* _REC_JWT_H_INCLUDED_ */
