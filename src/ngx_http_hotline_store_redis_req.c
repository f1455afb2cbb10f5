
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"


/*
 * Requests on the worker's command connection: a script (EVALSHA, the
 * script itself once Redis says NOSCRIPT) or a plain command, with its
 * arguments in one allocation, and the function its reply goes to.
 * hiredis pipelines what one pass of the event loop sends.
 */


static void ngx_http_hotline_rreq_write(ngx_http_hotline_rreq_t *req);
static void ngx_http_hotline_rreq_batch_send(ngx_event_t *ev);
static void ngx_http_hotline_rreq_batch_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_rreq_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_rreq_free(ngx_http_hotline_rreq_t *req);
static void ngx_http_hotline_rreq_called(ngx_http_hotline_rreq_t *req,
    redisReply *r);


/*
 * A request for script (NGX_HOTLINE_LUA_N: a plain command, whose name
 * the caller adds first) with room for args more arguments of bytes in
 * all.  Scripts of the store get the prefix and the channel first.
 */

ngx_http_hotline_rreq_t *
ngx_http_hotline_rreq(ngx_uint_t script, ngx_uint_t args, size_t bytes,
    ngx_http_hotline_rreq_pt done)
{
    u_char                     *p;
    size_t                      size;
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    args += 5;
    bytes += rs->conf->prefix.len + rs->channel.len + 2 * NGX_INT64_LEN;

    size = offsetof(ngx_http_hotline_rreq_t, buf)
           + args * (sizeof(char *) + sizeof(size_t)) + bytes;

    req = ngx_alloc(size, rs->log);
    if (req == NULL) {
        return NULL;
    }

    ngx_memzero(req, offsetof(ngx_http_hotline_rreq_t, buf));

    p = ngx_align_ptr(req->buf, sizeof(void *));
    req->argv = (const char **) p;
    req->argvlen = (size_t *) (req->argv + args);
    req->argmax = (int) args;
    req->pos = (u_char *) (req->argvlen + args);
    req->end = (u_char *) req + size;

    req->script = script;
    req->done = done;

    if (script == NGX_HOTLINE_LUA_N) {
        return req;
    }

    req->argv[0] = "EVALSHA";
    req->argvlen[0] = 7;
    req->argv[1] = (char *) rs->sha[script];
    req->argvlen[1] = 40;
    req->argc = 3;

    if (script < NGX_HOTLINE_LUA_KEYED) {
        req->argv[2] = "0";
        req->argvlen[2] = 1;

        ngx_http_hotline_rreq_arg(req, rs->conf->prefix.data,
                                  rs->conf->prefix.len);
        ngx_http_hotline_rreq_arg(req, rs->channel.data, rs->channel.len);

    } else {
        req->argv[2] = "1";
        req->argvlen[2] = 1;
    }

    return req;
}


void
ngx_http_hotline_rreq_arg(ngx_http_hotline_rreq_t *req, u_char *data,
    size_t len)
{
    if (req->argc == req->argmax || len > (size_t) (req->end - req->pos)) {
        req->overflow = 1;
        return;
    }

    req->argv[req->argc] = (char *) req->pos;
    req->argvlen[req->argc++] = len;

    if (len) {
        req->pos = ngx_cpymem(req->pos, data, len);
    }
}


void
ngx_http_hotline_rreq_num(ngx_http_hotline_rreq_t *req, int64_t n)
{
    u_char  *p;

    if (req->argc == req->argmax
        || (size_t) (req->end - req->pos) < NGX_INT64_LEN + 1)
    {
        req->overflow = 1;
        return;
    }

    p = req->pos;
    req->pos = ngx_sprintf(p, "%L", n);
    req->argv[req->argc] = (char *) p;
    req->argvlen[req->argc++] = req->pos - p;
}


/*
 * sends it, after the commits of the batch, so that Redis sees requests
 * in the order they were made; done() is called from here when Redis is
 * unavailable
 */

void
ngx_http_hotline_rreq_send(ngx_http_hotline_rreq_t *req)
{
    ngx_http_hotline_rreq_flush();
    ngx_http_hotline_rreq_write(req);
}


/*
 * A commit: the commits made in one pass of the event loop go to Redis as
 * one call of the script, their operations separated by "|", and each
 * gets its own part of the reply.  One call instead of many saves Redis
 * a command each, and what they publish to one channel goes as one
 * message.
 */

void
ngx_http_hotline_rreq_batch(ngx_http_hotline_rreq_t *req)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (req->overflow || rs->state != NGX_HOTLINE_REDIS_UP
        || rs->cmd.ac == NULL)
    {
        ngx_http_hotline_rreq_send(req);
        return;
    }

    if (rs->batch == NULL) {
        rs->batch_last = &rs->batch;
    }

    req->next = NULL;
    *rs->batch_last = req;
    rs->batch_last = &req->next;

    if (++rs->batch_n == NGX_HOTLINE_REDIS_BATCH) {
        ngx_http_hotline_rreq_flush();
        return;
    }

    if (!rs->batch_ev.posted) {
        rs->batch_ev.handler = ngx_http_hotline_rreq_batch_send;
        rs->batch_ev.log = rs->log;
        rs->batch_ev.data = rs;
        ngx_post_event(&rs->batch_ev, &ngx_posted_events);
    }
}


static void
ngx_http_hotline_rreq_batch_send(ngx_event_t *ev)
{
    ngx_http_hotline_rreq_flush();
}


/* sends the batch: a commit alone as it is */

void
ngx_http_hotline_rreq_flush(void)
{
    int                         i;
    size_t                      bytes;
    ngx_uint_t                  args, n;
    ngx_http_hotline_rreq_t    *req, *m, *next;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL || rs->batch == NULL) {
        return;
    }

    m = rs->batch;
    rs->batch = NULL;
    rs->batch_n = 0;

    if (rs->batch_ev.posted) {
        ngx_delete_posted_event(&rs->batch_ev);
    }

    if (m->next == NULL) {
        ngx_http_hotline_rreq_write(m);
        return;
    }

    /* the operations of each after the prefix and the channel */

    n = 0;
    args = 0;
    bytes = 0;

    for (req = m; req; req = req->next) {
        n++;
        args += req->argc - 5 + 2;

        for (i = 5; i < req->argc; i++) {
            bytes += req->argvlen[i];
        }
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_COMMIT, args, bytes + 2 * args,
                                ngx_http_hotline_rreq_batch_done);
    if (req == NULL) {
        for ( /* void */ ; m; m = next) {
            next = m->next;
            m->done(m, NULL);
            ngx_free(m);
        }

        return;
    }

    req->members = m;

    for ( /* void */ ; m; m = m->next) {
        for (i = 5; i < m->argc; i++) {
            ngx_http_hotline_rreq_arg(req, (u_char *) m->argv[i],
                                      m->argvlen[i]);
        }

        if (m->next) {
            ngx_http_hotline_rreq_arg(req, (u_char *) "|", 1);
            ngx_http_hotline_rreq_arg(req, (u_char *) "0", 1);
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rs->log, 0,
                   "hotline redis: a batch of %ui commits", n);

    ngx_http_hotline_rreq_write(req);
}


/* each commit of a batch gets its part of the reply */

static void
ngx_http_hotline_rreq_batch_done(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    size_t                    i;
    redisReply               *one;
    ngx_http_hotline_rreq_t  *m, *next;

    i = 0;

    for (m = req->members; m; m = next) {
        next = m->next;

        one = r;

        if (r && r->type == REDIS_REPLY_ARRAY) {
            one = (i < r->elements) ? r->element[i] : NULL;
        }

        i++;

        m->done(m, one);
        ngx_free(m);
    }

    req->members = NULL;
}


static void
ngx_http_hotline_rreq_write(ngx_http_hotline_rreq_t *req)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (req->overflow) {
        ngx_log_error(NGX_LOG_ALERT, rs->log, 0,
                      "hotline: redis request for %s is too big",
                      req->script < NGX_HOTLINE_LUA_N
                      ? ngx_http_hotline_lua[req->script].name : "command");
        req->done(req, NULL);
        ngx_free(req);
        return;
    }

    if (rs->state != NGX_HOTLINE_REDIS_UP || rs->cmd.ac == NULL
        || redisAsyncCommandArgv(rs->cmd.ac, ngx_http_hotline_rreq_reply, req,
                                 req->argc, req->argv, req->argvlen)
           != REDIS_OK)
    {
        req->done(req, NULL);
        ngx_free(req);
    }
}


static void
ngx_http_hotline_rreq_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                 *reply = r;
    ngx_http_hotline_rreq_t    *req = privdata;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (reply && reply->type == REDIS_REPLY_ERROR
        && reply->len >= 8 && ngx_strncmp(reply->str, "NOSCRIPT", 8) == 0
        && !req->retried && req->script < NGX_HOTLINE_LUA_N && rs)
    {
        /* the script cache was flushed: send the script itself */
        req->retried = 1;
        req->argv[0] = "EVAL";
        req->argvlen[0] = 4;
        req->argv[1] = (char *) rs->text[req->script].data;
        req->argvlen[1] = rs->text[req->script].len;

        if (redisAsyncCommandArgv(ac, ngx_http_hotline_rreq_reply, req,
                                  req->argc, req->argv, req->argvlen)
            == REDIS_OK)
        {
            return;
        }

        reply = NULL;
    }

    if (reply && reply->type == REDIS_REPLY_ERROR
        && reply->len >= 8 && ngx_strncmp(reply->str, "READONLY", 8) == 0
        && rs && !rs->exiting)
    {
        /* a replica now (a failover): the master is elsewhere */
        rs->down("the node is a replica now (READONLY)");
        reply = NULL;
    }

    if (reply && reply->type == REDIS_REPLY_ERROR && !req->quiet) {
        ngx_log_error(NGX_LOG_ERR, rs ? rs->log : ngx_cycle->log, 0,
                      "hotline: redis %s failed: %*s",
                      req->script < NGX_HOTLINE_LUA_N
                      ? ngx_http_hotline_lua[req->script].name : "command",
                      (size_t) reply->len, reply->str);
    }

    if (rs == NULL || rs->exiting) {
        /* the worker exits: nobody waits for the answer any more */
        ngx_http_hotline_rreq_free(req);
        return;
    }

    req->done(req, reply);
    ngx_free(req);
}


static void
ngx_http_hotline_rreq_free(ngx_http_hotline_rreq_t *req)
{
    ngx_http_hotline_rreq_t  *m, *next;

    for (m = req->members; m; m = next) {
        next = m->next;
        ngx_free(m);
    }

    ngx_free(req);
}


/*
 * A keyed script for another part of the store (the history): KEYS[1]
 * is the prefixed key, args follow as ARGV.  The handler gets the reply,
 * or NULL if Redis is unavailable or the script failed.
 */

void
ngx_http_hotline_redis_call(ngx_uint_t script, ngx_str_t *key,
    ngx_str_t *args, ngx_uint_t nargs, ngx_http_hotline_redis_reply_pt handler,
    void *data)
{
    size_t                      size;
    ngx_uint_t                  i;
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL || script < NGX_HOTLINE_LUA_KEYED
        || script >= NGX_HOTLINE_LUA_N)
    {
        handler(data, NULL);
        return;
    }

    size = rs->conf->prefix.len + key->len;

    for (i = 0; i < nargs; i++) {
        size += args[i].len;
    }

    req = ngx_http_hotline_rreq(script, nargs + 1, size,
                                ngx_http_hotline_rreq_called);
    if (req == NULL) {
        handler(data, NULL);
        return;
    }

    req->handler = (void *) handler;
    req->data = data;

    /* KEYS[1]: the prefix and the key, one argument */

    req->argv[req->argc] = (char *) req->pos;
    req->pos = ngx_cpymem(req->pos, rs->conf->prefix.data,
                          rs->conf->prefix.len);
    req->pos = ngx_cpymem(req->pos, key->data, key->len);
    req->argvlen[req->argc] = req->pos - (u_char *) req->argv[req->argc];
    req->argc++;

    for (i = 0; i < nargs; i++) {
        ngx_http_hotline_rreq_arg(req, args[i].data, args[i].len);
    }

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_rreq_called(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    ngx_http_hotline_redis_reply_pt  handler;

    handler = (ngx_http_hotline_redis_reply_pt) req->handler;

    handler(req->data, ngx_http_hotline_reply_err(r) == NGX_HOTLINE_OK
                       ? r : NULL);
}


ngx_str_t *
ngx_http_hotline_redis_prefix(void)
{
    return &ngx_http_hotline_rs->conf->prefix;
}


/* replies */

ngx_uint_t
ngx_http_hotline_reply_err(redisReply *r)
{
    int64_t  n;

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        return NGX_HOTLINE_E_UNAVAILABLE;
    }

    if (r->type != REDIS_REPLY_ARRAY) {
        /* plain commands */
        return NGX_HOTLINE_OK;
    }

    n = ngx_http_hotline_reply_int(r, 0);

    if (n == NGX_HOTLINE_E_CONFLICT || n == NGX_HOTLINE_E_BUSY) {
        return (ngx_uint_t) n;
    }

    if (n < 0 || n >= NGX_HOTLINE_E_MAX) {
        return NGX_HOTLINE_E_INTERNAL;
    }

    return (ngx_uint_t) n;
}


int64_t
ngx_http_hotline_reply_int(redisReply *r, size_t i)
{
    int64_t      n;
    u_char      *p, *last;
    ngx_uint_t   neg;
    redisReply  *e;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements) {
        return 0;
    }

    e = r->element[i];

    if (e->type == REDIS_REPLY_INTEGER) {
        return e->integer;
    }

    if (e->type != REDIS_REPLY_STRING || e->len == 0) {
        return 0;
    }

    p = (u_char *) e->str;
    last = p + e->len;
    neg = (*p == '-');
    p += neg;

    for (n = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
    }

    return neg ? -n : n;
}


/* a message of a subscriber: {kind, channel, payload}; NGX_DECLINED: none */

ngx_int_t
ngx_http_hotline_reply_pubsub(redisReply *r, ngx_str_t *kind,
    ngx_str_t *channel, ngx_str_t *payload)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
        return NGX_DECLINED;
    }

    *kind = ngx_http_hotline_reply_str(r, 0);
    *channel = ngx_http_hotline_reply_str(r, 1);
    *payload = ngx_http_hotline_reply_str(r, 2);

    return NGX_OK;
}


ngx_str_t
ngx_http_hotline_reply_str(redisReply *r, size_t i)
{
    ngx_str_t    s;
    redisReply  *e;

    s.len = 0;
    s.data = (u_char *) "";

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements) {
        return s;
    }

    e = r->element[i];

    if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) {
        s.data = (u_char *) e->str;
        s.len = e->len;
    }

    return s;
}
