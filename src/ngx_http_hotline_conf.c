
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"


/* directive values more than one directive takes; default file paths */


/*
 * <n>r/s or <n>r/m (at most 1000 a second) into the interval between two
 * events, in ms, rounded to the nearest: 3r/s is one per 333ms
 */

ngx_int_t
ngx_http_hotline_conf_rate(ngx_str_t *value, ngx_msec_t *interval)
{
    size_t     len;
    ngx_int_t  rate, scale;

    len = value->len;

    if (len > 3 && ngx_strncmp(value->data + len - 3, "r/s", 3) == 0) {
        scale = 1000;

    } else if (len > 3 && ngx_strncmp(value->data + len - 3, "r/m", 3) == 0)
    {
        scale = 60000;

    } else {
        return NGX_ERROR;
    }

    rate = ngx_atoi(value->data, len - 3);

    if (rate <= 0 || rate > scale) {
        return NGX_ERROR;
    }

    *interval = (ngx_msec_t) ((scale + rate / 2) / rate);

    return NGX_OK;
}


/* burst=<n>, 0 to 100000 */

ngx_int_t
ngx_http_hotline_conf_burst(ngx_str_t *value, ngx_uint_t *burst)
{
    ngx_int_t  n;

    if (value->len <= 6 || ngx_strncmp(value->data, "burst=", 6) != 0) {
        return NGX_ERROR;
    }

    n = ngx_atoi(value->data + 6, value->len - 6);

    if (n == NGX_ERROR || n > 100000) {
        return NGX_ERROR;
    }

    *burst = (ngx_uint_t) n;

    return NGX_OK;
}


/*
 * "off" (0) or a number within the bounds of cmd->post, for a directive
 * whose ngx_uint_t starts NGX_CONF_UNSET_UINT
 */

char *
ngx_http_hotline_conf_set_count_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    u_char  *p = conf;

    ngx_int_t               n;
    ngx_str_t              *value;
    ngx_uint_t             *np;
    ngx_conf_num_bounds_t  *b;

    np = (ngx_uint_t *) (p + cmd->offset);

    if (*np != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    b = cmd->post;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *np = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < b->low || n > b->high) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\": expected off or a number "
                           "from %i to %i", &value[1], b->low, b->high);
        return NGX_CONF_ERROR;
    }

    *np = n;

    return NGX_CONF_OK;
}


/* a file of that name in the directory of the default access log */

ngx_int_t
ngx_http_hotline_log_dir_file(ngx_conf_t *cf, const char *file,
    ngx_str_t *name)
{
    u_char  *dir;
    size_t   len, n;

    dir = (u_char *) NGX_HTTP_LOG_PATH;

    for (len = ngx_strlen(dir); len && dir[len - 1] != '/'; len--) {
        /* void */
    }

    n = ngx_strlen(file);

    name->len = len + n;
    name->data = ngx_pnalloc(cf->pool, name->len + 1);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(name->data, dir, len), file, n + 1);

    return NGX_OK;
}
