
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"


/*
 * Whether Redis keeps the calls on disk (docs/redis.md, persistence):
 * each time the first worker of the node is up on Redis (at start, after
 * an outage or a failover), it asks: INFO persistence says whether the
 * AOF is on; CONFIG GET says how it is synced, or whether RDB snapshots
 * are taken.  CONFIG may be renamed away or refused to the user: then
 * only what INFO says is known.  A Redis that keeps nothing gets a
 * warning: a restart of it would end every call in progress.
 */


static void ngx_http_hotline_rpersist_info(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_rpersist_config(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_rpersist_send(u_char *what,
    ngx_http_hotline_rreq_pt done, ngx_uint_t aof);


void
ngx_http_hotline_rpersist_check(void)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_N, 2, sizeof("persistence"),
                                ngx_http_hotline_rpersist_info);
    if (req == NULL) {
        return;
    }

    req->argv[0] = "INFO";
    req->argvlen[0] = 4;
    req->argc = 1;
    ngx_http_hotline_rreq_arg(req, (u_char *) "persistence",
                              sizeof("persistence") - 1);
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_rpersist_info(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_uint_t  aof;

    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        /* Redis went away meanwhile: again when it is back */
        return;
    }

    aof = (ngx_strlcasestrn((u_char *) r->str, (u_char *) r->str + r->len,
                            (u_char *) "aof_enabled:1",
                            sizeof("aof_enabled:1") - 2)
           != NULL);

    /* with the AOF: how it is synced; without: RDB snapshots? */

    ngx_http_hotline_rpersist_send(aof ? (u_char *) "appendfsync"
                                       : (u_char *) "save",
                                   ngx_http_hotline_rpersist_config, aof);
}


static void
ngx_http_hotline_rpersist_send(u_char *what, ngx_http_hotline_rreq_pt done,
    ngx_uint_t aof)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_N, 3, 16, done);
    if (req == NULL) {
        return;
    }

    req->argv[0] = "CONFIG";
    req->argvlen[0] = 6;
    req->argc = 1;
    req->gen = aof;
    req->quiet = 1;

    ngx_http_hotline_rreq_arg(req, (u_char *) "GET", 3);
    ngx_http_hotline_rreq_arg(req, what, ngx_strlen(what));
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_rpersist_config(ngx_http_hotline_rreq_t *req,
    redisReply *r)
{
    ngx_str_t                   value, err, unknown;
    ngx_uint_t                  known;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (r == NULL) {
        return;
    }

    /* {name, value}; an error: CONFIG is renamed away or not allowed */

    known = (r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    value = ngx_http_hotline_reply_str(r, 1);

    err.len = 0;
    err.data = (u_char *) "";

    if (r->type == REDIS_REPLY_ERROR) {
        err.len = ngx_min(r->len, 128);
        err.data = (u_char *) r->str;
    }

    if (req->gen) {
        ngx_str_set(&unknown, "not readable");

        ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                      "hotline: redis at %s:%d keeps its data in an "
                      "append-only file (appendfsync %V)",
                      rs->addr.ip, rs->addr.port,
                      known ? &value : &unknown);
        return;
    }

    if (known && value.len) {
        ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                      "hotline: redis at %s:%d keeps its data in RDB "
                      "snapshots only (save \"%V\"): a restart of redis "
                      "goes back to the last snapshot, see docs/redis.md",
                      rs->addr.ip, rs->addr.port, &value);
        return;
    }

    if (known) {
        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "hotline: redis at %s:%d keeps no data on disk "
                      "(no append-only file, no RDB snapshots): a restart "
                      "of redis ends every call in progress, see "
                      "docs/redis.md", rs->addr.ip, rs->addr.port);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                  "hotline: redis at %s:%d has no append-only file, and "
                  "whether it takes RDB snapshots cannot be read (CONFIG "
                  "GET save: %V): without either a restart of redis ends "
                  "every call in progress, see docs/redis.md",
                  rs->addr.ip, rs->addr.port, &err);
}
