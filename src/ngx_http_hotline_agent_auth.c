
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_jwt.h"


/*
 * Agents authenticate the WebSocket handshake with an HS256 token from
 * the Authorization header, the session cookie, or (browsers cannot set
 * headers on a WebSocket) a "bearer.<token>" subprotocol value.
 */


#define NGX_HOTLINE_COOKIE  "__Host-hotline_session"


static ngx_int_t ngx_http_hotline_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_hotline_cookie(ngx_str_t *item, void *data);
static ngx_int_t ngx_http_hotline_bearer_protocol(ngx_str_t *item,
    void *data);


ngx_int_t
ngx_http_hotline_agent_auth(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, u_char *sub, size_t *sub_len)
{
    ngx_int_t                      rc;
    ngx_str_t                      token;
    const char                    *err;
    ngx_http_hotline_jwt_claims_t  claims;

    if (ngx_http_hotline_token(r, &token) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hotline: agent handshake without a token");
        return NGX_DECLINED;
    }

    err = "malformed";

    rc = ngx_http_hotline_jwt_verify(token.data, token.len,
                                     hlcf->jwt_secret.data,
                                     hlcf->jwt_secret.len,
                                     (int64_t) ngx_time(), 0, &claims, &err);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hotline: agent token rejected: %s", err);
        return NGX_DECLINED;
    }

    if (claims.role_len != sizeof("agent") - 1
        || ngx_strncmp(claims.role, "agent", claims.role_len) != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hotline: agent token rejected: role is not agent");
        return NGX_DECLINED;
    }

    if (claims.sub_len == 0 || claims.sub_len > NGX_HOTLINE_NAME_MAX) {
        return NGX_DECLINED;
    }

    ngx_memcpy(sub, claims.sub, claims.sub_len);
    *sub_len = claims.sub_len;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_token(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_str_t  value;

    if (ngx_http_hotline_header(r, "Authorization", &value) == 1
        && value.len > sizeof("Bearer ") - 1
        && ngx_strncasecmp(value.data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) == 0)
    {
        token->data = value.data + sizeof("Bearer ") - 1;
        token->len = value.len - (sizeof("Bearer ") - 1);
        return NGX_OK;
    }

    token->len = 0;

    /* cookies are separated by ";", protocols by "," */

    (void) ngx_http_hotline_header_list(r, "Cookie",
                                        ngx_http_hotline_cookie, token);
    if (token->len) {
        return NGX_OK;
    }

    (void) ngx_http_hotline_header_list(r, "Sec-WebSocket-Protocol",
                                        ngx_http_hotline_bearer_protocol,
                                        token);
    if (token->len) {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hotline_cookie(ngx_str_t *item, void *data)
{
    ngx_str_t  *token = data;

    u_char  *p, *last, *start;
    size_t   n;

    n = sizeof(NGX_HOTLINE_COOKIE "=") - 1;

    p = item->data;
    last = p + item->len;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == ';')) {
            p++;
        }

        start = p;

        while (p < last && *p != ';') {
            p++;
        }

        if ((size_t) (p - start) > n
            && ngx_strncmp(start, NGX_HOTLINE_COOKIE "=", n) == 0)
        {
            token->data = start + n;
            token->len = p - start - n;
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_hotline_bearer_protocol(ngx_str_t *item, void *data)
{
    ngx_str_t  *token = data;

    if (item->len > sizeof("bearer.") - 1
        && ngx_strncmp(item->data, "bearer.", sizeof("bearer.") - 1) == 0)
    {
        token->data = item->data + sizeof("bearer.") - 1;
        token->len = item->len - (sizeof("bearer.") - 1);
        return 1;
    }

    return 0;
}


/* hotline_jwt_secret_file: read at configuration time, nginx -t checks */

char *
ngx_http_hotline_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_loc_conf_t *hlcf = conf;

    u_char           *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *value, path;
    ngx_file_info_t   fi;

    if (hlcf->jwt_secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &path);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    if (ngx_file_size(&fi) > 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" is larger than 4096 bytes",
                           &path);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, 4096);
    if (p == NULL) {
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, p, 4096);

    (void) ngx_close_file(fd);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    /* a trailing newline is not part of the key */

    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r')) {
        n--;
    }

    if (n < NGX_HOTLINE_JWT_MIN_KEY) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" holds %z bytes, at least %d "
                           "are required", &path, n, NGX_HOTLINE_JWT_MIN_KEY);
        return NGX_CONF_ERROR;
    }

    hlcf->jwt_secret.data = p;
    hlcf->jwt_secret.len = n;
    hlcf->jwt_secret_file = value[1];

    return NGX_CONF_OK;
}
