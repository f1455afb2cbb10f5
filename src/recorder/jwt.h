/*
 * hotline-recorder: HS256 JSON Web Token verification (RFC 7519); the
 * token itself is the module's shared core's (ngx_http_hotline_jwt_core.h:
 * base64url, signing, the signature check), the claims the recorder's.
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


/* now < 0: "exp" and "nbf" are not checked (an existing session's token) */
int rec_jwt_verify(const char *token, size_t len, const u_char *secret,
    size_t secret_len, int64_t now, rec_jwt_claims_t *claims,
    const char **err);


#endif /* _REC_JWT_H_INCLUDED_ */
