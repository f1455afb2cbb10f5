
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"


/*
 * Redis Sentinel (hotline_redis sentinel://...), the client's side as
 * Redis documents it for clients of Sentinel:
 *
 *  * before each connection a worker asks the sentinels in turn where the
 *    master of the name is (SENTINEL get-master-addr-by-name); the first
 *    that answers is asked first the next time.  The connection then
 *    checks that the node is a master (ROLE, in the setup);
 *  * meanwhile the worker listens to one sentinel (SUBSCRIBE
 *    +switch-master): after a failover it leaves the old master and
 *    connects to the new one at once, rather than when the old one
 *    fails or answers READONLY.  A sentinel that goes away is replaced
 *    by the next one a second later.
 *
 * On the new master the worker catches up like after any outage
 * (docs/redis.md).
 */


#define NGX_HOTLINE_SENTINEL_TIMEOUT  1000     /* ms: connect and answer */
#define NGX_HOTLINE_SENTINEL_RETRY    1000     /* ms: another to listen to */


static void ngx_http_hotline_rsentinel_ask_next(ngx_event_t *ev);
static void ngx_http_hotline_rsentinel_asked(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_rsentinel_ask_timeout(ngx_event_t *ev);
static void ngx_http_hotline_rsentinel_ask_failed(const char *why);
static ngx_uint_t ngx_http_hotline_rsentinel_ip(ngx_str_t *ip);
static void ngx_http_hotline_rsentinel_abandon(void);
static void ngx_http_hotline_rsentinel_watch(ngx_event_t *ev);
static void ngx_http_hotline_rsentinel_watched(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_hotline_rsentinel_watch_gone(
    ngx_http_hotline_redis_t *rc);
static ngx_int_t ngx_http_hotline_rsentinel_open(ngx_http_hotline_redis_t *rc,
    ngx_http_hotline_redis_addr_t *s);


void
ngx_http_hotline_rsentinel_init(ngx_cycle_t *cycle)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    rs->ask.log = cycle->log;
    rs->ask.what = "sentinel";
    rs->ask.data = rs;

    rs->watch.log = cycle->log;
    rs->watch.what = "sentinel subscriber";
    rs->watch.subscriber = 1;
    rs->watch.gone = ngx_http_hotline_rsentinel_watch_gone;
    rs->watch.data = rs;

    rs->ask_ev.handler = ngx_http_hotline_rsentinel_ask_next;
    rs->ask_ev.log = cycle->log;
    rs->ask_ev.data = rs;

    rs->ask_timer.handler = ngx_http_hotline_rsentinel_ask_timeout;
    rs->ask_timer.log = cycle->log;
    rs->ask_timer.data = rs;
    rs->ask_timer.cancelable = 1;

    rs->watch_timer.handler = ngx_http_hotline_rsentinel_watch;
    rs->watch_timer.log = cycle->log;
    rs->watch_timer.data = rs;
    rs->watch_timer.cancelable = 1;

    /* the first sentinel of the list for this worker: spread them */
    rs->ask_next = ngx_worker % rs->conf->nsentinels;
    rs->watch_next = rs->ask_next;

    ngx_http_hotline_rsentinel_watch(&rs->watch_timer);
}


void
ngx_http_hotline_rsentinel_exit(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    ngx_http_hotline_rsentinel_abandon();
    ngx_http_hotline_redis_close(&rs->watch);

    if (rs->ask_ev.posted) {
        ngx_delete_posted_event(&rs->ask_ev);
    }

    if (rs->watch_timer.timer_set) {
        ngx_del_timer(&rs->watch_timer);
    }
}


/* a new round: every sentinel may be asked once */

void
ngx_http_hotline_rsentinel_ask(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    ngx_http_hotline_rsentinel_abandon();
    rs->asked = 0;

    /* after this pass: a connection asked before may still be freed */
    if (!rs->ask_ev.posted) {
        ngx_post_event(&rs->ask_ev, &ngx_posted_events);
    }
}


static void
ngx_http_hotline_rsentinel_ask_next(ngx_event_t *ev)
{
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_conf_t  *rcf;
    const char                     *argv[3];
    size_t                          argvlen[3];

    rs = ngx_http_hotline_rs;
    rcf = rs->conf;

    if (rs->state != NGX_HOTLINE_REDIS_CONNECTING || rs->exiting) {
        return;
    }

    if (rs->asked == rcf->nsentinels) {
        ngx_http_hotline_rconn_down("no sentinel told where the master is");
        return;
    }

    rs->asked++;

    if (ngx_http_hotline_rsentinel_open(&rs->ask,
                                        &rcf->sentinels[rs->ask_next])
        != NGX_OK)
    {
        ngx_http_hotline_rsentinel_ask_failed("cannot connect");
        return;
    }

    argv[0] = "SENTINEL";
    argvlen[0] = 8;
    argv[1] = "get-master-addr-by-name";
    argvlen[1] = sizeof("get-master-addr-by-name") - 1;
    argv[2] = (char *) rcf->master.data;
    argvlen[2] = rcf->master.len;

    (void) redisAsyncCommandArgv(rs->ask.ac, ngx_http_hotline_rsentinel_asked,
                                 (void *) (uintptr_t) rs->ask_round, 3, argv,
                                 argvlen);

    ngx_add_timer(&rs->ask_timer, NGX_HOTLINE_SENTINEL_TIMEOUT);
}


/* {ip, port}; nil: the sentinel does not know the name */

static void
ngx_http_hotline_rsentinel_asked(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_int_t                       port;
    ngx_str_t                       ip, p;
    redisReply                     *reply = r;
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_addr_t  *s;
    u_char                          why[128];

    rs = ngx_http_hotline_rs;

    if (rs == NULL || (uintptr_t) privdata != rs->ask_round) {
        /* an ask given up */
        return;
    }

    if (rs->state != NGX_HOTLINE_REDIS_CONNECTING) {
        /* the attempt was given up meanwhile */
        ngx_http_hotline_rsentinel_abandon();
        return;
    }

    if (reply == NULL) {
        ngx_http_hotline_rsentinel_ask_failed("no answer");
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        (void) ngx_snprintf(why, sizeof(why), "%*s%Z",
                            ngx_min(reply->len, 100), reply->str);
        ngx_http_hotline_rsentinel_ask_failed((char *) why);
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        ngx_http_hotline_rsentinel_ask_failed("it does not know that name");
        return;
    }

    ip = ngx_http_hotline_reply_str(reply, 0);
    p = ngx_http_hotline_reply_str(reply, 1);
    port = ngx_atoi(p.data, p.len);

    if (ip.len == 0 || ip.len > NGX_SOCKADDR_STRLEN || port < 1
        || port > 65535)
    {
        ngx_http_hotline_rsentinel_ask_failed("a bad address");
        return;
    }

    if (!ngx_http_hotline_rsentinel_ip(&ip)) {
        /* hiredis would resolve a host name, the worker waiting for it */
        ngx_http_hotline_rsentinel_ask_failed("not an IP address (set "
                                              "\"announce-hostnames no\")");
        return;
    }

    /* this sentinel answered: done with it */

    ngx_http_hotline_rsentinel_abandon();

    if (ngx_strlen(rs->addr.ip) != ip.len
        || ngx_strncmp(rs->addr.ip, ip.data, ip.len) != 0
        || rs->addr.port != port)
    {
        s = &rs->conf->sentinels[rs->ask_next];

        ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                      "hotline: sentinel %s:%d: the master \"%V\" is at "
                      "%V:%i", s->ip, s->port, &rs->conf->master, &ip, port);

        *ngx_cpymem(rs->addr.ip, ip.data, ip.len) = '\0';
        rs->addr.port = (int) port;
    }

    ngx_http_hotline_rconn_open();
}


/* an IPv4 or IPv6 address, as a sentinel that announces no host names says */

static ngx_uint_t
ngx_http_hotline_rsentinel_ip(ngx_str_t *ip)
{
#if (NGX_HAVE_INET6)
    u_char  addr6[16];
#endif

    if (ngx_inet_addr(ip->data, ip->len) != INADDR_NONE) {
        return 1;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr(ip->data, ip->len, addr6) == NGX_OK) {
        return 1;
    }
#endif

    return 0;
}


/* the ask under way is given up: its answer, if any, is ignored */

static void
ngx_http_hotline_rsentinel_abandon(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    rs->ask_round++;
    ngx_http_hotline_redis_close(&rs->ask);

    if (rs->ask_timer.timer_set) {
        ngx_del_timer(&rs->ask_timer);
    }
}


static void
ngx_http_hotline_rsentinel_ask_timeout(ngx_event_t *ev)
{
    ngx_http_hotline_rsentinel_ask_failed("no answer in time");
}


/* that sentinel did not tell: the next one */

static void
ngx_http_hotline_rsentinel_ask_failed(const char *why)
{
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_addr_t  *s;

    rs = ngx_http_hotline_rs;
    s = &rs->conf->sentinels[rs->ask_next];

    ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                  "hotline: sentinel %s:%d does not tell where the master "
                  "\"%V\" is: %s", s->ip, s->port, &rs->conf->master, why);

    ngx_http_hotline_rsentinel_abandon();

    rs->ask_next = (rs->ask_next + 1) % rs->conf->nsentinels;

    if (!rs->ask_ev.posted) {
        ngx_post_event(&rs->ask_ev, &ngx_posted_events);
    }
}


/* listening for failovers */

static void
ngx_http_hotline_rsentinel_watch(ngx_event_t *ev)
{
    ngx_http_hotline_rstore_t  *rs;
    const char                 *argv[2];
    size_t                      argvlen[2];

    rs = ngx_http_hotline_rs;

    if (rs->exiting || ngx_exiting || ngx_terminate) {
        return;
    }

    if (ngx_http_hotline_rsentinel_open(&rs->watch,
                                   &rs->conf->sentinels[rs->watch_next])
        != NGX_OK)
    {
        rs->watch_next = (rs->watch_next + 1) % rs->conf->nsentinels;
        ngx_add_timer(&rs->watch_timer, NGX_HOTLINE_SENTINEL_RETRY);
        return;
    }

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = "+switch-master";
    argvlen[1] = sizeof("+switch-master") - 1;

    (void) redisAsyncCommandArgv(rs->watch.ac,
                                 ngx_http_hotline_rsentinel_watched, NULL, 2,
                                 argv, argvlen);
}


/* "+switch-master": "<name> <old ip> <old port> <new ip> <new port>" */

static void
ngx_http_hotline_rsentinel_watched(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                         *p, *last;
    ngx_str_t                       kind, channel, payload, f[5];
    ngx_uint_t                      n;
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_addr_t  *s;

    rs = ngx_http_hotline_rs;

    if (rs == NULL
        || ngx_http_hotline_reply_pubsub(r, &kind, &channel, &payload)
           != NGX_OK)
    {
        return;
    }

    s = &rs->conf->sentinels[rs->watch_next];

    if (kind.len == 9 && ngx_strncmp(kind.data, "subscribe", 9) == 0) {
        ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                      "hotline: listening to sentinel %s:%d for failovers",
                      s->ip, s->port);
        return;
    }

    if (kind.len != 7 || ngx_strncmp(kind.data, "message", 7) != 0) {
        return;
    }

    p = payload.data;
    last = p + payload.len;

    for (n = 0; n < 5 && p < last; n++) {
        f[n].data = p;

        while (p < last && *p != ' ') {
            p++;
        }

        f[n].len = p - f[n].data;
        p++;
    }

    if (n < 5 || f[0].len != rs->conf->master.len
        || ngx_strncmp(f[0].data, rs->conf->master.data, f[0].len) != 0)
    {
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                  "hotline: sentinel %s:%d: the master \"%V\" moved from "
                  "%V:%V to %V:%V", s->ip, s->port, &rs->conf->master,
                  &f[1], &f[2], &f[3], &f[4]);

    if (rs->state == NGX_HOTLINE_REDIS_DOWN) {
        /* it tries again soon, asking the sentinels */
        ngx_http_hotline_rconn_retry_now();
        return;
    }

    if (ngx_strlen(rs->addr.ip) == f[3].len
        && ngx_strncmp(rs->addr.ip, f[3].data, f[3].len) == 0
        && rs->addr.port == ngx_atoi(f[4].data, f[4].len))
    {
        /* it is there already */
        return;
    }

    ngx_http_hotline_rconn_down("the master moved");
    ngx_http_hotline_rconn_retry_now();
}


static void
ngx_http_hotline_rsentinel_watch_gone(ngx_http_hotline_redis_t *rc)
{
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_addr_t  *s;

    rs = ngx_http_hotline_rs;
    s = &rs->conf->sentinels[rs->watch_next];

    ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                  "hotline: sentinel %s:%d is gone, listening to another "
                  "in %d ms", s->ip, s->port, NGX_HOTLINE_SENTINEL_RETRY);

    rs->watch_next = (rs->watch_next + 1) % rs->conf->nsentinels;

    if (!rs->exiting && !rs->watch_timer.timer_set) {
        ngx_add_timer(&rs->watch_timer, NGX_HOTLINE_SENTINEL_RETRY);
    }
}


/* a connection to a sentinel, authenticated if it wants a password */

static ngx_int_t
ngx_http_hotline_rsentinel_open(ngx_http_hotline_redis_t *rc,
    ngx_http_hotline_redis_addr_t *s)
{
    ngx_http_hotline_rstore_t  *rs;
    const char                 *argv[2];
    size_t                      argvlen[2];

    rs = ngx_http_hotline_rs;

    if (ngx_http_hotline_redis_open(rc, (char *) s->ip, s->port,
                                    NGX_HOTLINE_SENTINEL_TIMEOUT)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (rs->conf->sentinel_password.len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (char *) rs->conf->sentinel_password.data;
        argvlen[1] = rs->conf->sentinel_password.len;

        /* a wrong one: the next command says NOAUTH */
        (void) redisAsyncCommandArgv(rc->ac, NULL, NULL, 2, argv, argvlen);
    }

    return NGX_OK;
}
