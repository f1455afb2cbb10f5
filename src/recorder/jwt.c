/*
 * hotline-recorder: bearer tokens are HS256 JWTs minted by the nginx
 * module with claims "call" (the call id), "role" ("customer" or
 * "agent") and "exp"; "nbf" and "aud" ("hotline-recorder") are checked
 * when present.  The token's structure, header and signature (checked in
 * constant time before any claim is looked at) are the module's own code
 * (src/ngx_http_hotline_jwt_core.c); the claims are the recorder's.
 */

#include <string.h>

#include "jwt.h"
#include "ngx_http_hotline_jwt_core.h"


static const char *
rec_jwt_claims(json_t *pl, int64_t now, rec_jwt_claims_t *claims)
{
    json_t      *v;
    int64_t      nbf;
    const char  *s;

    if (!json_is_number(json_object_get(pl, "exp"))) {
        return "token without \"exp\"";
    }

    if (ngx_hotline_jwt_date(pl, "exp", 1, &claims->exp)
        != NGX_HOTLINE_JWT_OK)
    {
        return "token \"exp\" out of range";
    }

    if (ngx_hotline_jwt_date(pl, "nbf", 0, &nbf) != NGX_HOTLINE_JWT_OK) {
        return "token \"nbf\" is not a date";
    }

    /* now < 0: a running session's token, its times no longer matter */

    switch (now < 0 ? NGX_HOTLINE_JWT_OK
                    : ngx_hotline_jwt_in_time(claims->exp, nbf, now, 0))
    {
    case NGX_HOTLINE_JWT_OK:
        break;

    case NGX_HOTLINE_JWT_EXPIRED:
        return "token expired";

    default:
        return "token not yet valid";
    }

    v = json_object_get(pl, "aud");

    if (v != NULL && (!json_is_string(v)
                      || strcmp(json_string_value(v), "hotline-recorder")
                         != 0))
    {
        return "token audience is not hotline-recorder";
    }

    v = json_object_get(pl, "call");
    s = json_is_string(v) ? json_string_value(v) : NULL;

    if (!rec_call_id_valid(s)) {
        return "token \"call\" must be 1-64 of [A-Za-z0-9_-]";
    }

    memcpy(claims->call, s, strlen(s) + 1);

    v = json_object_get(pl, "role");
    s = json_is_string(v) ? json_string_value(v) : "";

    if (strcmp(s, "customer") == 0) {
        claims->role = REC_ROLE_CUSTOMER;

    } else if (strcmp(s, "agent") == 0) {
        claims->role = REC_ROLE_AGENT;

    } else {
        return "token \"role\" must be customer or agent";
    }

    return NULL;
}


int
rec_jwt_verify(const char *token, size_t len, const u_char *secret,
    size_t secret_len, int64_t now, rec_jwt_claims_t *claims,
    const char **err)
{
    json_t  *pl;

    if (len > REC_JWT_MAX_LEN) {
        *err = "malformed token";
        return REC_ERROR;
    }

    switch (ngx_hotline_jwt_open((const u_char *) token, len, secret,
                                 secret_len, &pl))
    {
    case NGX_HOTLINE_JWT_OK:
        break;

    case NGX_HOTLINE_JWT_BAD_ALG:
        *err = "token algorithm must be HS256";
        return REC_ERROR;

    case NGX_HOTLINE_JWT_BAD_SIGNATURE:
        *err = "bad token signature";
        return REC_ERROR;

    case NGX_HOTLINE_JWT_NOMEM:
        *err = "internal error";
        return REC_ERROR;

    default:
        *err = "malformed token";
        return REC_ERROR;
    }

    *err = rec_jwt_claims(pl, now, claims);

    json_decref(pl);

    return *err == NULL ? REC_OK : REC_ERROR;
}
