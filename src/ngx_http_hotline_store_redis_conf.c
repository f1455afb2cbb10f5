
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis.h"


/*
 * The hotline_redis directive:
 *
 *   hotline_redis redis://[[user]:password@]host[:port][/db] [params];
 *   hotline_redis sentinel://[[user]:password@]host[:port][,host[:port]...]
 *                 /master[/db] [params];
 *
 * params: prefix=string, sentinel_password=string, replicas=number,
 * replica_timeout=time.  Addresses are resolved here, once: hiredis would
 * resolve with a blocking call.
 */


#define NGX_HOTLINE_REDIS_REPLICAS_MAX   16
#define NGX_HOTLINE_REDIS_REPLICA_WAIT   500       /* ms */


static char *ngx_http_hotline_redis_addr(ngx_conf_t *cf, ngx_str_t *url,
    u_char *p, u_char *last, in_port_t port,
    ngx_http_hotline_redis_addr_t *addr);
static char *ngx_http_hotline_redis_sentinels(ngx_conf_t *cf,
    ngx_http_hotline_redis_conf_t *rcf, u_char *p, u_char *last);
static char *ngx_http_hotline_redis_db(ngx_conf_t *cf,
    ngx_http_hotline_redis_conf_t *rcf, u_char *p, u_char *last);
static char *ngx_http_hotline_redis_param(ngx_conf_t *cf,
    ngx_http_hotline_redis_conf_t *rcf, ngx_str_t *v);


char *
ngx_http_hotline_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_main_conf_t *hmcf = conf;

    u_char                         *p, *last, *at, *colon, *slash;
    char                           *rv;
    ngx_str_t                      *value;
    ngx_uint_t                      i, sentinel;
    ngx_http_hotline_redis_conf_t  *rcf;

    if (hmcf->redis) {
        return "is duplicate";
    }

    value = cf->args->elts;

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    rcf->url = value[1];
    ngx_str_set(&rcf->prefix, "hotline:");

    p = value[1].data;
    last = p + value[1].len;

    if (value[1].len > sizeof("redis://") - 1
        && ngx_strncmp(p, "redis://", sizeof("redis://") - 1) == 0)
    {
        sentinel = 0;
        p += sizeof("redis://") - 1;

    } else if (value[1].len > sizeof("sentinel://") - 1
               && ngx_strncmp(p, "sentinel://", sizeof("sentinel://") - 1)
                  == 0)
    {
        sentinel = 1;
        p += sizeof("sentinel://") - 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis URL \"%V\": it must start with "
                           "\"redis://\" or \"sentinel://\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    /* [[user]:password@]: the last "@", a password may hold one */

    at = NULL;

    for (i = 0; p + i < last; i++) {
        if (p[i] == '@') {
            at = p + i;
        }
    }

    if (at) {
        colon = ngx_strlchr(p, at, ':');

        if (colon == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis URL: the user part must be "
                               "\"user:password@\" or \":password@\"");
            return NGX_CONF_ERROR;
        }

        rcf->user.data = p;
        rcf->user.len = colon - p;
        rcf->password.data = colon + 1;
        rcf->password.len = at - colon - 1;
        p = at + 1;
    }

    slash = ngx_strlchr(p, last, '/');

    if (!sentinel) {
        rv = ngx_http_hotline_redis_addr(cf, &value[1], p,
                                         slash ? slash : last, 6379,
                                         &rcf->addr);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        if (slash) {
            rv = ngx_http_hotline_redis_db(cf, rcf, slash + 1, last);
            if (rv != NGX_CONF_OK) {
                return rv;
            }
        }

    } else {
        if (slash == NULL || slash + 1 == last) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid sentinel URL \"%V\": the name of "
                               "the master is missing (sentinel://host"
                               "[:port][,host[:port]...]/name[/db])",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        rv = ngx_http_hotline_redis_sentinels(cf, rcf, p, slash);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        /* the master's name, as the sentinels know it */

        p = slash + 1;
        slash = ngx_strlchr(p, last, '/');

        rcf->master.data = p;
        rcf->master.len = (slash ? slash : last) - p;

        for (i = 0; i < rcf->master.len; i++) {
            if (!isalnum(p[i]) && p[i] != '.' && p[i] != '_' && p[i] != '-')
            {
                break;
            }
        }

        if (rcf->master.len == 0 || rcf->master.len > 64
            || i < rcf->master.len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid master name \"%V\" in \"%V\": it "
                               "must be 1-64 letters, digits, \".\", \"_\" "
                               "or \"-\"", &rcf->master, &value[1]);
            return NGX_CONF_ERROR;
        }

        if (slash) {
            rv = ngx_http_hotline_redis_db(cf, rcf, slash + 1, last);
            if (rv != NGX_CONF_OK) {
                return rv;
            }
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_hotline_redis_param(cf, rcf, &value[i]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    if (rcf->replica_timeout && rcf->replicas == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"replica_timeout\" needs \"replicas\"");
        return NGX_CONF_ERROR;
    }

    if (rcf->replicas && rcf->replica_timeout == 0) {
        rcf->replica_timeout = NGX_HOTLINE_REDIS_REPLICA_WAIT;
    }

    if (rcf->sentinel_password.len && rcf->nsentinels == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sentinel_password\" needs a \"sentinel://\" "
                           "URL");
        return NGX_CONF_ERROR;
    }

    hmcf->redis = rcf;

    /* the node's zone keeps the counters and connection gauges */
    hmcf->signaling = 1;

    return NGX_CONF_OK;
}


/* host[:port] from p to last, resolved now */

static char *
ngx_http_hotline_redis_addr(ngx_conf_t *cf, ngx_str_t *url, u_char *p,
    u_char *last, in_port_t port, ngx_http_hotline_redis_addr_t *addr)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url.data = p;
    u.url.len = last - p;
    u.default_port = port;

    if (u.url.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK
        || u.naddrs == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\" in \"%V\"%s%s",
                           &u.url, url, u.err ? ": " : "",
                           u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    (void) ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, addr->ip,
                         NGX_SOCKADDR_STRLEN, 0);
    addr->port = (int) u.port;

    return NGX_CONF_OK;
}


/* host[:port][,host[:port]...] of the sentinels */

static char *
ngx_http_hotline_redis_sentinels(ngx_conf_t *cf,
    ngx_http_hotline_redis_conf_t *rcf, u_char *p, u_char *last)
{
    char    *rv;
    u_char  *comma;

    rcf->sentinels = ngx_pcalloc(cf->pool,
                                 NGX_HOTLINE_REDIS_SENTINELS_MAX
                                 * sizeof(ngx_http_hotline_redis_addr_t));
    if (rcf->sentinels == NULL) {
        return NGX_CONF_ERROR;
    }

    for ( ;; ) {
        if (rcf->nsentinels == NGX_HOTLINE_REDIS_SENTINELS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid sentinel URL \"%V\": more than %d "
                               "sentinels", &rcf->url,
                               NGX_HOTLINE_REDIS_SENTINELS_MAX);
            return NGX_CONF_ERROR;
        }

        comma = ngx_strlchr(p, last, ',');

        rv = ngx_http_hotline_redis_addr(cf, &rcf->url, p,
                                         comma ? comma : last, 26379,
                                         &rcf->sentinels[rcf->nsentinels]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }

        rcf->nsentinels++;

        if (comma == NULL) {
            return NGX_CONF_OK;
        }

        p = comma + 1;
    }
}


static char *
ngx_http_hotline_redis_db(ngx_conf_t *cf, ngx_http_hotline_redis_conf_t *rcf,
    u_char *p, u_char *last)
{
    ngx_int_t  db;

    db = ngx_atoi(p, last - p);

    if (db == NGX_ERROR || db > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis database number in \"%V\"",
                           &rcf->url);
        return NGX_CONF_ERROR;
    }

    rcf->db = (ngx_uint_t) db;

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_redis_param(ngx_conf_t *cf,
    ngx_http_hotline_redis_conf_t *rcf, ngx_str_t *v)
{
    ngx_int_t  n;
    ngx_str_t  s;

    if (v->len >= 7 && ngx_strncmp(v->data, "prefix=", 7) == 0) {
        rcf->prefix.data = v->data + 7;
        rcf->prefix.len = v->len - 7;

        if (rcf->prefix.len == 0 || rcf->prefix.len > 64) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "redis key prefix must be 1-64 bytes");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (v->len >= 18 && ngx_strncmp(v->data, "sentinel_password=", 18) == 0)
    {
        rcf->sentinel_password.data = v->data + 18;
        rcf->sentinel_password.len = v->len - 18;

        if (rcf->sentinel_password.len == 0
            || rcf->sentinel_password.len > 512)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "sentinel password must be 1-512 bytes");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (v->len >= 9 && ngx_strncmp(v->data, "replicas=", 9) == 0) {
        n = ngx_atoi(v->data + 9, v->len - 9);

        if (n == NGX_ERROR || n > NGX_HOTLINE_REDIS_REPLICAS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\": replicas must be 0-%d", v,
                               NGX_HOTLINE_REDIS_REPLICAS_MAX);
            return NGX_CONF_ERROR;
        }

        rcf->replicas = (ngx_uint_t) n;
        return NGX_CONF_OK;
    }

    if (v->len >= 16 && ngx_strncmp(v->data, "replica_timeout=", 16) == 0) {
        s.data = v->data + 16;
        s.len = v->len - 16;
        n = ngx_parse_time(&s, 0);

        if (n == NGX_ERROR || n < 1 || n > 60000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\": replica_timeout must be "
                               "1ms-60s", v);
            return NGX_CONF_ERROR;
        }

        rcf->replica_timeout = (ngx_msec_t) n;
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid parameter \"%V\"", v);
    return NGX_CONF_ERROR;
}
