
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_jwt.h"


/*
 * Recording: with hotline_recorder, every accepted call is recorded by
 * hotline-recorder (a WHIP endpoint, docs/recorder.md).  Each party gets,
 * in its "accepted" message, the WHIP URL and a token of its own that
 * lets it publish its media for this call and role only; both parties
 * thereby know that the call is recorded.
 */


/* hotline_recorder <url> secret_file=<path> [ttl=<time>] [max=<n>] */

char *
ngx_http_hotline_recorder(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_main_conf_t *hmcf = conf;

    ngx_int_t                     n;
    ngx_str_t                    *value, path;
    ngx_uint_t                    i;
    ngx_http_hotline_recorder_t  *rc;

    if (hmcf->recorder) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rc = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_recorder_t));
    if (rc == NULL) {
        return NGX_CONF_ERROR;
    }

    rc->url = value[1];
    rc->ttl = 300000;
    rc->max = 10;
    ngx_str_null(&path);

    /* the URL goes into JSON as it is: keep it to URL characters */

    if (rc->url.len == 0 || rc->url.len > NGX_HOTLINE_RECORDER_URL_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "recorder URL \"%V\" is longer than %d bytes",
                           &rc->url, NGX_HOTLINE_RECORDER_URL_MAX);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < rc->url.len; i++) {
        if (rc->url.data[i] <= 0x20 || rc->url.data[i] >= 0x7f
            || rc->url.data[i] == '"' || rc->url.data[i] == '\\')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid recorder URL \"%V\"", &rc->url);
            return NGX_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret_file=", 12) == 0) {
            path.data = value[i].data + 12;
            path.len = value[i].len - 12;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            ngx_str_t  s;

            s.data = value[i].data + 4;
            s.len = value[i].len - 4;

            rc->ttl = ngx_parse_time(&s, 0);

            if (rc->ttl == (ngx_msec_t) NGX_ERROR || rc->ttl < 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid ttl \"%V\", at least 1s",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "max=", 4) == 0) {
            n = ngx_atoi(value[i].data + 4, value[i].len - 4);

            if (n <= 0 || n > 1000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\", 1 to 1000", &value[i]);
                return NGX_CONF_ERROR;
            }

            rc->max = n;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_recorder\" needs secret_file=");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_hotline_read_secret(cf, &path, "recorder secret file",
                                     NGX_HOTLINE_JWT_MIN_KEY, 4096,
                                     &rc->secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    hmcf->recorder = rc;

    return NGX_CONF_OK;
}


/*
 * Writes the recording token (a JWT for hotline-recorder) of the party of
 * role in call call_id (16 bytes) into p; returns its length, 0 when
 * calls are not recorded.  Room: NGX_HOTLINE_RECORDING_MAX.
 */

size_t
ngx_http_hotline_recording_token(u_char *p, ngx_http_hotline_recorder_t *rc,
    u_char *call_id, ngx_uint_t role)
{
    size_t   clen;
    u_char  *c;
    u_char   claims[256];
    u_char   id[NGX_HOTLINE_ID_HEX];

    if (rc == NULL) {
        return 0;
    }

    (void) ngx_http_hotline_hex(id, call_id, NGX_HOTLINE_ID_LEN);

    /* "sub" names the call too, for the module's own check of it */

    c = ngx_snprintf(claims, sizeof(claims),
                     "{\"call\":\"%*s\",\"sub\":\"%*s\",\"role\":\"%s\","
                     "\"exp\":%T,\"aud\":\"hotline-recorder\"}",
                     (size_t) NGX_HOTLINE_ID_HEX, id,
                     (size_t) NGX_HOTLINE_ID_HEX, id,
                     role == NGX_HOTLINE_ROLE_CUSTOMER ? "customer" : "agent",
                     ngx_time() + (time_t) (rc->ttl / 1000));

    clen = c - claims;

    return ngx_http_hotline_jwt_sign_json(claims, clen, rc->secret.data,
                                          rc->secret.len, p,
                                          NGX_HOTLINE_RECORDING_MAX);
}
