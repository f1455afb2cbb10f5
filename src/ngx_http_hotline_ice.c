
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

#include "ngx_http_hotline.h"


/*
 * The ICE servers location: the STUN and TURN URLs a page gives to
 * RTCPeerConnection, with short-lived TURN credentials in the REST scheme
 * of coturn's use-auth-secret: username "<expiry>:<name>", password
 * base64(HMAC-SHA1(secret, username)).  The secret never leaves nginx.
 */


#define NGX_HOTLINE_ICE_URL_MAX   256


typedef struct {
    ngx_array_t      *stun;          /* of ngx_str_t */
    ngx_array_t      *turn;          /* of ngx_str_t */
    ngx_str_t         secret;
    ngx_msec_t        ttl;
} ngx_http_hotline_ice_conf_t;


static ngx_int_t ngx_http_hotline_ice_handler(ngx_http_request_t *r);
static u_char *ngx_http_hotline_ice_urls(u_char *p, ngx_array_t *urls);


/*
 * hotline_ice_servers [stun=<url>]... [turn=<url>]...
 *                     [turn_secret_file=<path>] [ttl=<time>]
 */

char *
ngx_http_hotline_ice_servers(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                    *value, v, path, *url;
    ngx_uint_t                    i, k;
    ngx_array_t                 **list;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_hotline_ice_conf_t  *ic;

    ic = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_ice_conf_t));
    if (ic == NULL) {
        return NGX_CONF_ERROR;
    }

    ic->ttl = 3600000;
    ngx_str_null(&path);

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "stun=", 5) == 0
            || ngx_strncmp(value[i].data, "turn=", 5) == 0)
        {
            list = (value[i].data[0] == 's') ? &ic->stun : &ic->turn;

            v.data = value[i].data + 5;
            v.len = value[i].len - 5;

            /* stun:, turn:, turns: URLs (RFC 7064, 7065), JSON-safe */

            if (v.len == 0 || v.len > NGX_HOTLINE_ICE_URL_MAX
                || !(ngx_strncmp(v.data, "stun:", 5) == 0
                     || ngx_strncmp(v.data, "stuns:", 6) == 0
                     || ngx_strncmp(v.data, "turn:", 5) == 0
                     || ngx_strncmp(v.data, "turns:", 6) == 0))
            {
                goto invalid;
            }

            for (k = 0; k < v.len; k++) {
                if (v.data[k] <= 0x20 || v.data[k] >= 0x7f
                    || v.data[k] == '"' || v.data[k] == '\\')
                {
                    goto invalid;
                }
            }

            if (*list == NULL) {
                *list = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
                if (*list == NULL) {
                    return NGX_CONF_ERROR;
                }
            }

            url = ngx_array_push(*list);
            if (url == NULL) {
                return NGX_CONF_ERROR;
            }

            *url = v;
            continue;
        }

        if (ngx_strncmp(value[i].data, "turn_secret_file=", 17) == 0) {
            path.data = value[i].data + 17;
            path.len = value[i].len - 17;
            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            v.data = value[i].data + 4;
            v.len = value[i].len - 4;

            ic->ttl = ngx_parse_time(&v, 0);

            if (ic->ttl == (ngx_msec_t) NGX_ERROR || ic->ttl < 60000
                || ic->ttl > 86400000)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\": from 1m to 24h",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        goto invalid;
    }

    if (ic->turn && path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "TURN servers need turn_secret_file=");
        return NGX_CONF_ERROR;
    }

    if (path.len
        && ngx_http_hotline_read_secret(cf, &path, "TURN secret file", 16,
                                        1024, &ic->secret)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_hotline_ice_handler;

    /* the location's own loc conf of the hotline module keeps it */
    ((ngx_http_hotline_loc_conf_t *) conf)->ice = ic;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\": expected stun=<url>, "
                       "turn=<url>, turn_secret_file=<path> or ttl=<time>",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_hotline_ice_handler(ngx_http_request_t *r)
{
    u_char                       *p, *user;
    size_t                        len, ulen;
    time_t                        expires;
    ngx_buf_t                    *b;
    ngx_str_t                     mac, cred;
    ngx_uint_t                    i;
    ngx_chain_t                   out;
    unsigned int                  mlen;
    ngx_http_hotline_loc_conf_t  *hlcf;
    ngx_http_hotline_ice_conf_t  *ic;
    u_char                        md[EVP_MAX_MD_SIZE];
    u_char                        b64[64];
    u_char                        name[64];

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_hotline_not_allowed(r, "GET, HEAD");
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);
    ic = hlcf->ice;

    len = sizeof("{\"iceServers\":[],\"ttl\":}") + NGX_TIME_T_LEN + 256;

    for (i = 0; ic->stun && i < ic->stun->nelts; i++) {
        len += ((ngx_str_t *) ic->stun->elts)[i].len + 4;
    }

    for (i = 0; ic->turn && i < ic->turn->nelts; i++) {
        len += ((ngx_str_t *) ic->turn->elts)[i].len + 4;
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"iceServers\":[",
                   sizeof("{\"iceServers\":[") - 1);

    if (ic->stun) {
        p = ngx_cpymem(p, "{\"urls\":", sizeof("{\"urls\":") - 1);
        p = ngx_http_hotline_ice_urls(p, ic->stun);
        *p++ = '}';
    }

    if (ic->turn) {
        /* "<expiry>:hotline-<random>": no name of a person in a log */

        expires = ngx_time() + (time_t) (ic->ttl / 1000);

        if (ngx_http_hotline_random_id(md) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        user = name;
        ulen = ngx_snprintf(name, sizeof(name), "%T:hotline-", expires)
               - name;
        ulen = ngx_http_hotline_hex(name + ulen, md, 8) - name;

        if (HMAC(EVP_sha1(), ic->secret.data, (int) ic->secret.len,
                 user, ulen, md, &mlen) == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        mac.data = md;
        mac.len = mlen;
        cred.data = b64;
        ngx_encode_base64(&cred, &mac);

        if (ic->stun) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "{\"urls\":", sizeof("{\"urls\":") - 1);
        p = ngx_http_hotline_ice_urls(p, ic->turn);
        p = ngx_cpymem(p, ",\"username\":\"", sizeof(",\"username\":\"") - 1);
        p = ngx_cpymem(p, user, ulen);
        p = ngx_cpymem(p, "\",\"credential\":\"",
                       sizeof("\",\"credential\":\"") - 1);
        p = ngx_cpymem(p, cred.data, cred.len);
        p = ngx_cpymem(p, "\"}", 2);
    }

    p = ngx_sprintf(p, "],\"ttl\":%M}\n", ic->ttl / 1000);
    b->last = p;

    /* credentials: never cached by anyone */

    if (ngx_http_hotline_no_store(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_hotline_send(r, NGX_HTTP_OK, "application/json", &out);
}


static u_char *
ngx_http_hotline_ice_urls(u_char *p, ngx_array_t *urls)
{
    ngx_str_t   *u;
    ngx_uint_t   i;

    u = urls->elts;

    *p++ = '[';

    for (i = 0; i < urls->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, u[i].data, u[i].len);
        *p++ = '"';
    }

    *p++ = ']';

    return p;
}
