
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"


/*
 * Secrets in files (JWT keys, the bot token, the recorder and TURN
 * secrets), read at configuration time so that nginx -t fails on a
 * missing, unreadable or wrongly sized one.  Surrounding white space
 * (a trailing newline) is not part of the secret.  No message shows it.
 */


ngx_int_t
ngx_http_hotline_read_secret(ngx_conf_t *cf, ngx_str_t *name,
    const char *what, size_t min, size_t max, ngx_str_t *secret)
{
    u_char           *p;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t         path;
    ngx_file_info_t   fi;

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " %s \"%V\" failed", what, &path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi)
        || ngx_file_size(&fi) > (off_t) max + 2)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s \"%V\" is not a file of at most %uz bytes",
                           what, &path, max);
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, max + 2);
    if (p == NULL) {
        (void) ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, p, max + 2);

    (void) ngx_close_file(fd);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " %s \"%V\" failed", what, &path);
        return NGX_ERROR;
    }

    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'
                     || p[n - 1] == ' ' || p[n - 1] == '\t'))
    {
        n--;
    }

    while (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        n--;
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s \"%V\" is empty",
                           what, &path);
        return NGX_ERROR;
    }

    if ((size_t) n < min || (size_t) n > max) {
        ngx_explicit_memzero(p, n);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s \"%V\" holds %z bytes, %uz to %uz are "
                           "required", what, &path, n, min, max);
        return NGX_ERROR;
    }

    secret->data = p;
    secret->len = n;

    return NGX_OK;
}
