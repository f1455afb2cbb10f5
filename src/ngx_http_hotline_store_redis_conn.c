
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_doorbell.h"


/*
 * The worker's connections to Redis: commands (pipelined), a subscriber
 * to its own channel P w:<host>:<pid>:<random> and to the broadcasts
 * P queue and P auth, and with replicas= one for the barriers (WAIT
 * blocks the connection it is sent on).  All are set up (AUTH, SELECT,
 * ROLE, the scripts, SUBSCRIBE) before the store counts as up; any one
 * lost takes the store down, and it connects again with backoff.  The
 * parts above are told through the hooks their starter registered
 * (ngx_http_hotline_store_redis_state.h): where the master is, up, lost,
 * a message; the store's users through ngx_http_hotline_store_events.
 */


#define NGX_HOTLINE_REDIS_TICK        500      /* ms */
#define NGX_HOTLINE_REDIS_CONNECT     3000     /* ms */
#define NGX_HOTLINE_REDIS_SILENT      5000     /* ms without an answer */
#define NGX_HOTLINE_REDIS_BACKOFF     100      /* ms, doubled up to MAX */
#define NGX_HOTLINE_REDIS_BACKOFF_MAX 1000     /* docs/redis.md: the bound */


static void ngx_http_hotline_rconn_setup_done(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_hotline_rconn_role(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_rconn_check_up(void);
static void ngx_http_hotline_rconn_gone(ngx_http_hotline_redis_t *rc);
static void ngx_http_hotline_rconn_connected(ngx_http_hotline_redis_t *rc);
static void ngx_http_hotline_rconn_message(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_rconn_reconnect(ngx_event_t *ev);
static void ngx_http_hotline_rconn_tick(ngx_event_t *ev);
static void ngx_http_hotline_rconn_gone_told(ngx_event_t *ev);
static void ngx_http_hotline_rconn_wake(void);
static void ngx_http_hotline_rconn_publish(ngx_uint_t wake);
static void ngx_http_hotline_rconn_said(ngx_http_hotline_rreq_t *req,
    redisReply *r);


/*
 * The connections of the worker, not yet opened (rconn_connect() does);
 * hooks: what they tell the parts above them
 */

ngx_int_t
ngx_http_hotline_rconn_init(ngx_cycle_t *cycle,
    ngx_http_hotline_rconn_hooks_t *hooks)
{
    u_char                         *p;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_conf_t  *rcf;
    ngx_http_hotline_main_conf_t   *hmcf;
    u_char                          digest[SHA_DIGEST_LENGTH];
    u_char                          rnd[NGX_HOTLINE_ID_LEN];

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);
    rcf = hmcf->redis;

    rs = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hotline_rstore_t));
    if (rs == NULL) {
        return NGX_ERROR;
    }

    rs->conf = rcf;
    rs->addr = rcf->addr;
    rs->hmcf = hmcf;
    rs->log = cycle->log;
    rs->hooks = *hooks;
    rs->down = ngx_http_hotline_rconn_down;
    rs->backoff = NGX_HOTLINE_REDIS_BACKOFF;

    /* this worker's channel: unique across nodes and restarts */

    if (ngx_http_hotline_random_id(rnd) != NGX_OK) {
        return NGX_ERROR;
    }

    len = rcf->prefix.len + sizeof("w:") - 1 + ngx_cycle->hostname.len
          + 1 + NGX_INT64_LEN + 1 + 16;

    rs->channel.data = ngx_pnalloc(cycle->pool, len);
    if (rs->channel.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(rs->channel.data, "%Vw:%V:", &rcf->prefix,
                    &ngx_cycle->hostname);
    rs->host.data = rs->channel.data;
    rs->host.len = p - rs->channel.data;
    p = ngx_sprintf(p, "%P:", ngx_pid);
    p = ngx_hex_dump(p, rnd, 8);
    rs->channel.len = p - rs->channel.data;

    rs->qchannel.data = ngx_pnalloc(cycle->pool, rcf->prefix.len + 5);
    rs->achannel.data = ngx_pnalloc(cycle->pool, rcf->prefix.len + 4);
    if (rs->qchannel.data == NULL || rs->achannel.data == NULL) {
        return NGX_ERROR;
    }

    rs->qchannel.len = ngx_sprintf(rs->qchannel.data, "%Vqueue",
                                   &rcf->prefix)
                       - rs->qchannel.data;
    rs->achannel.len = ngx_sprintf(rs->achannel.data, "%Vauth", &rcf->prefix)
                       - rs->achannel.data;

    /* the scripts and their SHA1 for EVALSHA */

    for (i = 0; i < NGX_HOTLINE_LUA_N; i++) {
        rs->text[i].data = (u_char *) ngx_http_hotline_lua[i].body;
        rs->text[i].len = ngx_strlen(ngx_http_hotline_lua[i].body);

        (void) SHA1(rs->text[i].data, rs->text[i].len, digest);
        *ngx_hex_dump(rs->sha[i], digest, SHA_DIGEST_LENGTH) = '\0';
    }

    rs->cmd.log = cycle->log;
    rs->cmd.what = "command";
    rs->cmd.connected = ngx_http_hotline_rconn_connected;
    rs->cmd.gone = ngx_http_hotline_rconn_gone;
    rs->cmd.data = rs;

    rs->sub.log = cycle->log;
    rs->sub.what = "subscriber";
    rs->sub.subscriber = 1;
    rs->sub.connected = NULL;
    rs->sub.gone = ngx_http_hotline_rconn_gone;
    rs->sub.data = rs;

    rs->bar.log = cycle->log;
    rs->bar.what = "replicas";
    rs->bar.connected = NULL;
    rs->bar.gone = ngx_http_hotline_rconn_gone;
    rs->bar.data = rs;

    rs->reconnect.handler = ngx_http_hotline_rconn_reconnect;
    rs->reconnect.log = cycle->log;
    rs->reconnect.data = rs;
    rs->reconnect.cancelable = 1;

    rs->down_ev.handler = ngx_http_hotline_rconn_gone_told;
    rs->down_ev.log = cycle->log;
    rs->down_ev.data = rs;

    rs->tick.handler = ngx_http_hotline_rconn_tick;
    rs->tick.log = cycle->log;
    rs->tick.data = rs;
    rs->tick.cancelable = 1;

    ngx_http_hotline_rs = rs;

    /*
     * a mailbox in the node's zone: the connection gauges, this worker's
     * link to Redis (health), and the wake-up when another worker of the
     * node has reached Redis again
     */
    if (ngx_http_hotline_doorbell_init(cycle, ngx_http_hotline_rconn_wake)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_add_timer(&rs->tick, NGX_HOTLINE_REDIS_TICK);

    return NGX_OK;
}


void
ngx_http_hotline_rconn_exit(void)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    /* the commits of this pass first */
    ngx_http_hotline_rreq_flush();

    if (rs->state == NGX_HOTLINE_REDIS_UP) {
        /*
         * this worker is gone: a heartbeat of 0 lets the next due() of
         * any worker let its consumers' inboxes go at once
         */
        req = ngx_http_hotline_rreq(NGX_HOTLINE_LUA_N, 4,
                                    rs->conf->prefix.len + 8
                                    + rs->channel.len,
                                    ngx_http_hotline_rconn_said);
        if (req) {
            req->argv[0] = "ZADD";
            req->argvlen[0] = 4;
            req->argc = 1;
            req->argv[req->argc] = (char *) req->pos;
            req->pos = ngx_cpymem(req->pos, rs->conf->prefix.data,
                                  rs->conf->prefix.len);
            *req->pos++ = 'w';
            req->argvlen[req->argc] = req->pos
                                      - (u_char *) req->argv[req->argc];
            req->argc++;
            ngx_http_hotline_rreq_num(req, 0);
            ngx_http_hotline_rreq_arg(req, rs->channel.data,
                                      rs->channel.len);
            ngx_http_hotline_rreq_send(req);
        }

        ngx_http_hotline_redis_flush(&rs->cmd);
    }

    rs->exiting = 1;

    ngx_http_hotline_redis_close(&rs->cmd);
    ngx_http_hotline_redis_close(&rs->sub);
    ngx_http_hotline_redis_close(&rs->bar);

    if (rs->reconnect.timer_set) {
        ngx_del_timer(&rs->reconnect);
    }

    if (rs->tick.timer_set) {
        ngx_del_timer(&rs->tick);
    }

    if (rs->down_ev.posted) {
        ngx_delete_posted_event(&rs->down_ev);
    }

    ngx_http_hotline_doorbell_done();
}


static void
ngx_http_hotline_rconn_said(ngx_http_hotline_rreq_t *req, redisReply *r)
{
}


ngx_uint_t
ngx_http_hotline_rconn_up(void)
{
    return ngx_http_hotline_rs
           && ngx_http_hotline_rs->state == NGX_HOTLINE_REDIS_UP;
}


void
ngx_http_hotline_rconn_connect(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    rs->state = NGX_HOTLINE_REDIS_CONNECTING;
    rs->link++;
    rs->cmd_wait = 0;
    rs->sub_wait = 0;
    rs->bar_wait = 0;
    rs->connect_start = ngx_current_msec;

    ngx_http_hotline_rconn_publish(0);

    if (rs->hooks.locate) {
        /* where the master is now (Sentinel): rconn_open() follows */
        rs->hooks.locate();
        return;
    }

    ngx_http_hotline_rconn_open();
}


/* the connections to rs->addr, and their setup */

void
ngx_http_hotline_rconn_open(void)
{
    ngx_uint_t                      i, n;
    ngx_uint_t                     *wait[3];
    ngx_http_hotline_redis_t       *rc[3];
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_conf_t  *rcf;
    const char                     *argv[5];
    size_t                          argvlen[5];
    u_char                          db[NGX_INT_T_LEN];

    rs = ngx_http_hotline_rs;
    rcf = rs->conf;

    rc[0] = &rs->cmd;
    wait[0] = &rs->cmd_wait;
    rc[1] = &rs->sub;
    wait[1] = &rs->sub_wait;
    rc[2] = &rs->bar;
    wait[2] = &rs->bar_wait;

    /* the third, for the barriers, only with replicas= */
    n = rcf->replicas ? 3 : 2;

    for (i = 0; i < n; i++) {
        if (ngx_http_hotline_redis_open(rc[i], (char *) rs->addr.ip,
                                        rs->addr.port,
                                        NGX_HOTLINE_REDIS_CONNECT)
            != NGX_OK)
        {
            ngx_http_hotline_rconn_down("cannot connect");
            return;
        }
    }

    /* what follows is queued; it goes out once connect() is done */

    for (i = 0; i < n && rcf->password.len; i++) {
        argv[0] = "AUTH";
        argvlen[0] = 4;

        if (rcf->user.len) {
            argv[1] = (char *) rcf->user.data;
            argvlen[1] = rcf->user.len;
            argv[2] = (char *) rcf->password.data;
            argvlen[2] = rcf->password.len;

        } else {
            argv[1] = (char *) rcf->password.data;
            argvlen[1] = rcf->password.len;
        }

        (void) redisAsyncCommandArgv(rc[i]->ac,
                                     ngx_http_hotline_rconn_setup_done,
                                     (void *) (uintptr_t) rs->link,
                                     rcf->user.len ? 3 : 2, argv, argvlen);
        (*wait[i])++;
    }

    if (n == 3) {
        /* answered: the barriers' connection is there */
        argv[0] = "PING";
        argvlen[0] = 4;

        (void) redisAsyncCommandArgv(rs->bar.ac,
                                     ngx_http_hotline_rconn_setup_done,
                                     (void *) (uintptr_t) rs->link, 1, argv,
                                     argvlen);
        rs->bar_wait++;
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        (void) redisAsyncCommandArgv(rs->cmd.ac,
                                     ngx_http_hotline_rconn_setup_done,
                                     (void *) (uintptr_t) rs->link, 2, argv,
                                     argvlen);
        rs->cmd_wait++;
    }

    /* a master (a replica answers READONLY to every write) */

    argv[0] = "ROLE";
    argvlen[0] = 4;

    (void) redisAsyncCommandArgv(rs->cmd.ac, ngx_http_hotline_rconn_role,
                                 (void *) (uintptr_t) rs->link, 1, argv,
                                 argvlen);
    rs->cmd_wait++;

    for (i = 0; i < NGX_HOTLINE_LUA_N; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = (char *) rs->text[i].data;
        argvlen[2] = rs->text[i].len;

        (void) redisAsyncCommandArgv(rs->cmd.ac,
                                     ngx_http_hotline_rconn_setup_done,
                                     (void *) (uintptr_t) rs->link, 3, argv,
                                     argvlen);
        rs->cmd_wait++;
    }

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = (char *) rs->channel.data;
    argvlen[1] = rs->channel.len;
    argv[2] = (char *) rs->qchannel.data;
    argvlen[2] = rs->qchannel.len;
    argv[3] = (char *) rs->achannel.data;
    argvlen[3] = rs->achannel.len;

    (void) redisAsyncCommandArgv(rs->sub.ac, ngx_http_hotline_rconn_message,
                                 (void *) (uintptr_t) rs->link, 4, argv,
                                 argvlen);
    rs->sub_wait += 3;
}


static void
ngx_http_hotline_rconn_connected(ngx_http_hotline_redis_t *rc)
{
    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "hotline: redis command connection connected");
}


static void
ngx_http_hotline_rconn_gone(ngx_http_hotline_redis_t *rc)
{
    ngx_http_hotline_rconn_down(rc == &ngx_http_hotline_rs->cmd
                                ? "command connection lost"
                                : rc == &ngx_http_hotline_rs->sub
                                  ? "subscriber connection lost"
                                  : "replicas connection lost");
}


static void
ngx_http_hotline_rconn_setup_done(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                 *reply = r;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL || (uintptr_t) privdata != rs->link
        || rs->state != NGX_HOTLINE_REDIS_CONNECTING)
    {
        return;
    }

    if (reply == NULL) {
        /* a refused connect ends here too: say why */
        ngx_http_hotline_rconn_down(ac->err && ac->errstr[0]
                                    ? ac->errstr : "no answer to the setup");
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "hotline: redis setup failed: %*s",
                      (size_t) reply->len, reply->str);
        ngx_http_hotline_rconn_down("setup failed");
        return;
    }

    if (ac == rs->cmd.ac) {
        rs->cmd_wait--;

    } else if (ac == rs->sub.ac) {
        rs->sub_wait--;

    } else {
        rs->bar_wait--;
    }

    ngx_http_hotline_rconn_check_up();
}


/* ROLE: the first element says "master", "slave" or "sentinel" */

static void
ngx_http_hotline_rconn_role(redisAsyncContext *ac, void *r, void *privdata)
{
    ngx_str_t                   role;
    redisReply                 *reply = r;
    ngx_http_hotline_rstore_t  *rs;
    u_char                      why[64];

    rs = ngx_http_hotline_rs;

    if (rs == NULL || (uintptr_t) privdata != rs->link
        || rs->state != NGX_HOTLINE_REDIS_CONNECTING
        || reply == NULL || reply->type != REDIS_REPLY_ARRAY)
    {
        /* a failure, or an error answer: setup_done() says it */
        ngx_http_hotline_rconn_setup_done(ac, r, privdata);
        return;
    }

    role = ngx_http_hotline_reply_str(reply, 0);

    if (role.len == 6 && ngx_strncmp(role.data, "master", 6) == 0) {
        ngx_http_hotline_rconn_setup_done(ac, r, privdata);
        return;
    }

    /* a replica: after a failover, the old master and its replicas */

    (void) ngx_snprintf(why, sizeof(why), "the node is a %*s, not the "
                        "master%Z", ngx_min(role.len, 16), role.data);

    ngx_http_hotline_rconn_down((char *) why);
}


static void
ngx_http_hotline_rconn_check_up(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs->cmd_wait || rs->sub_wait || rs->bar_wait
        || rs->state != NGX_HOTLINE_REDIS_CONNECTING)
    {
        return;
    }

    rs->state = NGX_HOTLINE_REDIS_UP;
    rs->up_since = ngx_current_msec;
    rs->backoff = NGX_HOTLINE_REDIS_BACKOFF;
    rs->due_sent = 0;

    ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                  "hotline: redis store at %s:%d is up, channel \"%V\"",
                  rs->addr.ip, rs->addr.port, &rs->channel);

    rs->failures = 0;

    /* the node's other workers waiting for their backoff retry at once */
    ngx_http_hotline_rconn_publish(1);

    /* what was missed meanwhile, and what waited */
    rs->hooks.up();

    ngx_http_hotline_store_events->up();
}


void
ngx_http_hotline_rconn_down(const char *why)
{
    ngx_msec_t                  delay;
    ngx_uint_t                  was_up;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL || rs->state == NGX_HOTLINE_REDIS_DOWN) {
        return;
    }

    was_up = (rs->state == NGX_HOTLINE_REDIS_UP);
    rs->state = NGX_HOTLINE_REDIS_DOWN;
    rs->link++;
    rs->failures = was_up ? 0 : rs->failures + 1;

    /*
     * exponential backoff with jitter: [backoff / 2, backoff], backoff
     * capped at NGX_HOTLINE_REDIS_BACKOFF_MAX, so that a worker tries
     * again at most that long after Redis is back; the first worker of
     * the node that gets through wakes the others
     */

    delay = 0;

    if (!rs->exiting && !rs->reconnect.timer_set) {
        delay = rs->backoff / 2
                + (ngx_msec_t) ngx_random() % (rs->backoff / 2 + 1);
        rs->backoff = ngx_min(rs->backoff * 2, NGX_HOTLINE_REDIS_BACKOFF_MAX);
    }

    /* before the connections are freed: "why" may be their error text */

    if (was_up) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "hotline: redis store at %s:%d is unavailable (%s), "
                      "new calls are refused until it is back",
                      rs->addr.ip, rs->addr.port, why);

    } else {
        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "hotline: redis store at %s:%d: %s, "
                      "next attempt in %M ms",
                      rs->addr.ip, rs->addr.port, why, delay);
    }

    /* answers that waited for replicas first, then those under way */
    rs->hooks.lost();

    /* requests under way fail now with "unavailable", then the batch */
    ngx_http_hotline_redis_close(&rs->cmd);
    ngx_http_hotline_redis_close(&rs->sub);
    ngx_http_hotline_redis_close(&rs->bar);
    ngx_http_hotline_rreq_flush();

    rs->due_sent = 0;

    if (was_up && !rs->exiting && !rs->down_ev.posted) {
        /* after what runs now: the sessions are told */
        ngx_post_event(&rs->down_ev, &ngx_posted_events);
    }

    if (delay) {
        ngx_add_timer(&rs->reconnect, delay);
    }

    ngx_http_hotline_rconn_publish(0);
}


static void
ngx_http_hotline_rconn_gone_told(ngx_event_t *ev)
{
    if (ngx_http_hotline_rs && !ngx_http_hotline_rconn_up()) {
        ngx_http_hotline_store_events->down();
    }
}


/*
 * Writes this worker's link to Redis into its mailbox, for health and
 * metrics; wake: it is up again, the node's other workers are woken.
 */

static void
ngx_http_hotline_rconn_publish(ngx_uint_t wake)
{
    ngx_msec_t                  retry;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    retry = rs->reconnect.timer_set ? rs->reconnect.timer.key : 0;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    ngx_http_hotline_mailbox_store(rs->state, retry, rs->failures);

    if (wake) {
        ngx_http_hotline_mailbox_broadcast(NGX_HOTLINE_MAIL_STORE_UP);
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (wake) {
        ngx_http_hotline_doorbell_flush();
    }
}


/* the doorbell: another worker of the node has reached Redis */

static void
ngx_http_hotline_rconn_wake(void)
{
    ngx_uint_t               flags;
    ngx_http_hotline_mail_t  mail[1];

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    (void) ngx_http_hotline_mailbox_take(mail, 1, &flags);
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (flags & NGX_HOTLINE_MAIL_STORE_UP) {
        ngx_http_hotline_rconn_retry_now();
    }
}


void
ngx_http_hotline_rconn_retry_now(void)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL || rs->exiting || ngx_exiting || ngx_terminate) {
        return;
    }

    /* an attempt under way that fails tries again soon */
    rs->backoff = NGX_HOTLINE_REDIS_BACKOFF;

    if (rs->state != NGX_HOTLINE_REDIS_DOWN || !rs->reconnect.timer_set) {
        return;
    }

    ngx_del_timer(&rs->reconnect);

    ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                  "hotline: redis store at %s:%d reached by another worker, "
                  "reconnecting now", rs->addr.ip, rs->addr.port);

    ngx_http_hotline_rconn_connect();
}


static void
ngx_http_hotline_rconn_reconnect(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    ngx_http_hotline_rconn_connect();
}


/* the subscriber: this worker's channel and the broadcasts */

static void
ngx_http_hotline_rconn_message(redisAsyncContext *ac, void *r,
    void *privdata)
{
    ngx_str_t                   kind, channel, payload;
    redisReply                 *reply = r;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL
        || ngx_http_hotline_reply_pubsub(reply, &kind, &channel, &payload)
           != NGX_OK)
    {
        return;
    }

    if (kind.len == 9 && ngx_strncmp(kind.data, "subscribe", 9) == 0) {
        if (rs->state == NGX_HOTLINE_REDIS_CONNECTING && rs->sub_wait) {
            rs->sub_wait--;
            ngx_http_hotline_rconn_check_up();
        }

        return;
    }

    if (kind.len != 7 || ngx_strncmp(kind.data, "message", 7) != 0) {
        return;
    }

    if (channel.len == rs->qchannel.len
        && ngx_strncmp(channel.data, rs->qchannel.data, channel.len) == 0)
    {
        ngx_http_hotline_store_events->queue();
        return;
    }

    if (channel.len == rs->achannel.len
        && ngx_strncmp(channel.data, rs->achannel.data, channel.len) == 0)
    {
        ngx_http_hotline_store_events->auth();
        return;
    }

    rs->hooks.message(&payload);
}


/* every NGX_HOTLINE_REDIS_TICK: a Redis that does not answer is down */

static void
ngx_http_hotline_rconn_tick(ngx_event_t *ev)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    /* the connection gauges of workers of this node that died */
    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    (void) ngx_http_hotline_mailbox_reap();
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (rs->state == NGX_HOTLINE_REDIS_CONNECTING
        && ngx_current_msec - rs->connect_start > NGX_HOTLINE_REDIS_CONNECT)
    {
        /* connected, but the setup is not answered */
        ngx_http_hotline_rconn_down("no answer to the setup in time");
    }

    if (rs->state == NGX_HOTLINE_REDIS_UP && rs->due_sent
        && ngx_current_msec - rs->due_sent > NGX_HOTLINE_REDIS_SILENT)
    {
        ngx_http_hotline_rconn_down("redis does not answer");
    }

    if (!ngx_exiting && !rs->exiting) {
        ngx_add_timer(ev, NGX_HOTLINE_REDIS_TICK);
    }
}


/*
 * a worker of this host has not beaten for 2 s: if its process is gone
 * (killed, crashed), the next due() lets its inboxes go at once rather
 * than after the 10 s any node waits for a silent worker
 */

void
ngx_http_hotline_rconn_quiet(ngx_str_t ch)
{
    u_char                     *p, *last;
    ngx_pid_t                   pid;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs->dead.len || ch.len <= rs->host.len
        || ch.len > sizeof(rs->dead_buf)
        || ngx_strncmp(ch.data, rs->host.data, rs->host.len) != 0)
    {
        return;
    }

    last = ch.data + ch.len;
    pid = 0;

    for (p = ch.data + rs->host.len; p < last && *p >= '0' && *p <= '9'; p++)
    {
        pid = pid * 10 + (*p - '0');
    }

    if (p == last || *p != ':' || pid <= 0 || pid == ngx_pid) {
        return;
    }

    if (kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "hotline: worker %P is gone, its parties wait for "
                      "resume", pid);
        rs->dead.data = rs->dead_buf;
        rs->dead.len = ch.len;
        ngx_memcpy(rs->dead_buf, ch.data, ch.len);
    }
}
