
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_redis.h"
#include "ngx_http_hotline_store_redis.h"


/*
 * The Redis store: the call model lives in Redis (see the key layout in
 * ngx_http_hotline_store_redis_lua.c), so that the workers of many nginx
 * nodes share it.  Each worker has one command connection (pipelined:
 * hiredis queues what a pass of the event loop produces and writes it at
 * once) and one subscriber connection to its own channel
 * P w:<host>:<pid>:<random> and to P queue.
 *
 * A party held by this worker has a local record (the "attach") named by
 * a generation number unique in the worker; Redis keeps the owner's
 * channel and generation, and publishes every message it buffers for the
 * party to that channel.  The local record keeps what was published
 * until the session pulls it, so pull() stays synchronous.
 */


#define NGX_HOTLINE_REDIS_TICK        500      /* ms: sweep, heartbeat */
#define NGX_HOTLINE_REDIS_CONNECT     3000     /* ms */
#define NGX_HOTLINE_REDIS_SILENT      5000     /* ms without an answer */
#define NGX_HOTLINE_REDIS_BACKOFF     100      /* ms, doubled up to MAX */
#define NGX_HOTLINE_REDIS_BACKOFF_MAX 5000
#define NGX_HOTLINE_REDIS_REAP_AFTER  15000    /* ms up before reaping */
#define NGX_HOTLINE_REDIS_KEEPALIVE   120      /* ticks: 1 min */
#define NGX_HOTLINE_REDIS_TTL         86400000 /* ms: key lifetime */
#define NGX_HOTLINE_REDIS_ARGS        24
#define NGX_HOTLINE_REDIS_RECORD      9        /* elements of a call record */

#define NGX_HOTLINE_REDIS_DOWN        0
#define NGX_HOTLINE_REDIS_CONNECTING  1
#define NGX_HOTLINE_REDIS_UP          2

/* operations, for the completion */
#define NGX_HOTLINE_ROP_JOIN          0
#define NGX_HOTLINE_ROP_AGENT         1
#define NGX_HOTLINE_ROP_RESUME        2
#define NGX_HOTLINE_ROP_ACCEPT        3
#define NGX_HOTLINE_ROP_END           4      /* reject, hangup */
#define NGX_HOTLINE_ROP_RELAY         5
#define NGX_HOTLINE_ROP_DETACH        6
#define NGX_HOTLINE_ROP_SYNC          7
#define NGX_HOTLINE_ROP_SWEEP         8
#define NGX_HOTLINE_ROP_QUEUE         9
#define NGX_HOTLINE_ROP_KV_GET        10
#define NGX_HOTLINE_ROP_KV_SET        11
#define NGX_HOTLINE_ROP_KV_DEL        12
#define NGX_HOTLINE_ROP_KV_INCR       13
#define NGX_HOTLINE_ROP_LIMIT         14
#define NGX_HOTLINE_ROP_PLAIN         15
#define NGX_HOTLINE_ROP_PEEK          16     /* the oldest call, to accept */
#define NGX_HOTLINE_ROP_CALL          17     /* ngx_http_hotline_redis_call */
#define NGX_HOTLINE_ROP_DELIVERED     18
#define NGX_HOTLINE_ROP_BAN           19


typedef struct {
    ngx_str_t                      url;
    u_char                         ip[NGX_SOCKADDR_STRLEN + 1];
    int                            port;
    ngx_uint_t                     db;
    ngx_str_t                      user;
    ngx_str_t                      password;
    ngx_str_t                      prefix;
} ngx_http_hotline_redis_conf_t;


/* a message received for a local party */
typedef struct {
    ngx_queue_t                    link;
    uint64_t                       seq;
    size_t                         len;
    u_char                         data[1];
} ngx_http_hotline_rmsg_t;


/* a party attached to a session of this worker */
typedef struct {
    ngx_rbtree_node_t              node;         /* key: gen */
    ngx_queue_t                    link;         /* all of them */
    ngx_queue_t                    ready;        /* mail to handle */
    ngx_http_hotline_session_t    *session;
    void                          *successor;    /* the resume under way */
    uint64_t                       last;         /* highest seq received */
    uint64_t                       delivered;
    uint64_t                       replayed;     /* the replay's last seq */
    size_t                         unreported;   /* bytes delivered since
                                                    Redis was told */
    ngx_queue_t                    inbox;        /* undelivered, by seq */
    size_t                         inbox_bytes;
    u_char                         token[NGX_HOTLINE_ID_HEX];
    unsigned                       is_ready:1;
    unsigned                       arrived:1;    /* a new message */
    unsigned                       attached:1;   /* session->party */
    unsigned                       replaced:1;
    unsigned                       lost:1;
    unsigned                       superseded:1; /* its session resumes */
} ngx_http_hotline_rparty_t;


/* a detach that waits for Redis to come back */
typedef struct {
    ngx_queue_t                    link;
    uint64_t                       gen;
    uint64_t                       delivered;
    u_char                         token[NGX_HOTLINE_ID_HEX];
} ngx_http_hotline_rdetach_t;


typedef struct {
    ngx_uint_t                     op;
    ngx_uint_t                     script;       /* or NGX_HOTLINE_LUA_N */
    ngx_uint_t                     retried;
    ngx_uint_t                     overflow;     /* a bug: too many args */
    ngx_http_hotline_session_t    *session;
    ngx_http_hotline_rparty_t     *party;        /* join, agent, resume */
    uint64_t                       gen;          /* sync */
    ngx_http_hotline_store_pt      handler;
    ngx_http_hotline_kv_pt         kv_handler;
    ngx_http_hotline_redis_reply_pt  reply_handler;
    void                          *data;
    u_char                         token[NGX_HOTLINE_ID_LEN];
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    int                            argc;
    const char                    *argv[NGX_HOTLINE_REDIS_ARGS];
    size_t                         argvlen[NGX_HOTLINE_REDIS_ARGS];
    u_char                        *pos;
    u_char                        *end;
    u_char                         buf[1];
} ngx_http_hotline_rreq_t;


typedef struct {
    ngx_http_hotline_redis_t       cmd;
    ngx_http_hotline_redis_t       sub;
    ngx_http_hotline_redis_conf_t *conf;
    ngx_http_hotline_main_conf_t  *hmcf;
    ngx_log_t                     *log;

    ngx_uint_t                     state;
    ngx_uint_t                     link;         /* connection generation */
    ngx_uint_t                     cmd_wait;     /* setup replies due */
    ngx_uint_t                     sub_wait;
    ngx_msec_t                     backoff;
    ngx_msec_t                     up_since;
    ngx_uint_t                     exiting;

    ngx_event_t                    reconnect;
    ngx_event_t                    tick;
    ngx_event_t                    ready_ev;
    ngx_event_t                    notify_ev;
    ngx_uint_t                     ticks;
    ngx_uint_t                     sweeping;
    ngx_msec_t                     sweep_sent;

    ngx_rbtree_t                   parties;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    all;
    ngx_queue_t                    ready;
    ngx_queue_t                    detaches;
    uint64_t                       next_gen;

    ngx_str_t                      channel;
    ngx_str_t                      qchannel;
    ngx_str_t                      achannel;
    ngx_str_t                      host;         /* P w:<hostname>: */
    ngx_str_t                      dead;         /* a local worker gone */
    u_char                         dead_buf[256];
    ngx_str_t                      common[NGX_HOTLINE_LUA_ARGS - 1];
    ngx_str_t                      text[NGX_HOTLINE_LUA_N];
    u_char                         sha[NGX_HOTLINE_LUA_N][41];

    ngx_http_hotline_queue_t       snapshot;
    ngx_uint_t                     snapshot_size;
    ngx_uint_t                     queue_busy;
    ngx_uint_t                     queue_again;
    ngx_http_hotline_queue_pt      queue_handler;
    void                          *queue_data;

    ngx_http_hotline_stats_t       gauges;
} ngx_http_hotline_rstore_t;


static ngx_int_t ngx_http_hotline_redis_init_worker(ngx_cycle_t *cycle);
static void ngx_http_hotline_redis_exit_worker(ngx_cycle_t *cycle);
static void ngx_http_hotline_redis_join(ngx_http_hotline_session_t *s,
    u_char *name, size_t len, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_agent(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_resume(ngx_http_hotline_session_t *s,
    u_char *token, uint64_t last_seq, ngx_uint_t replay,
    ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_accept(ngx_http_hotline_session_t *s,
    u_char *call_id, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_ban(ngx_http_hotline_session_t *s,
    u_char *call_id, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_reject(ngx_http_hotline_session_t *s,
    u_char *call_id, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_hangup(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_relay(ngx_http_hotline_session_t *s,
    u_char *msg, size_t len, ngx_http_hotline_store_pt handler, void *data);
static void ngx_http_hotline_redis_detach(ngx_http_hotline_session_t *s);
static ssize_t ngx_http_hotline_redis_pull(ngx_http_hotline_session_t *s,
    u_char *buf, size_t size, size_t budget);
static void ngx_http_hotline_redis_queue(ngx_http_hotline_queue_pt handler,
    void *data);
static void ngx_http_hotline_redis_kv_get(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_kv_del(ngx_str_t *key,
    ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_limit(ngx_str_t *key,
    ngx_msec_t interval, ngx_uint_t burst, ngx_http_hotline_kv_pt handler,
    void *data);
static void ngx_http_hotline_redis_revoke(u_char *jti, size_t len,
    ngx_msec_t ttl, ngx_http_hotline_kv_pt handler, void *data);
static void ngx_http_hotline_redis_stats(ngx_http_hotline_stats_t *st);
static ngx_uint_t ngx_http_hotline_redis_up(void);

static void ngx_http_hotline_redis_connect(void);
static void ngx_http_hotline_redis_down(const char *why);
static void ngx_http_hotline_redis_check_up(void);
static void ngx_http_hotline_redis_cmd_connected(ngx_http_hotline_redis_t *rc);
static void ngx_http_hotline_redis_gone(ngx_http_hotline_redis_t *rc);
static void ngx_http_hotline_redis_setup_done(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_hotline_redis_message(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_redis_reconnect(ngx_event_t *ev);
static void ngx_http_hotline_redis_tick(ngx_event_t *ev);
static void ngx_http_hotline_redis_sweep(void);
static void ngx_http_hotline_redis_ready(ngx_event_t *ev);
static void ngx_http_hotline_redis_notify(ngx_event_t *ev);
static void ngx_http_hotline_redis_noop(void);

static ngx_http_hotline_rreq_t *ngx_http_hotline_redis_new_party(
    ngx_http_hotline_session_t *s, ngx_uint_t op, ngx_uint_t script,
    size_t size, ngx_http_hotline_store_pt handler, void *data);
static ngx_http_hotline_rreq_t *ngx_http_hotline_rreq(ngx_uint_t op,
    ngx_uint_t script, uint64_t gen, size_t extra);
static void ngx_http_hotline_rreq_arg(ngx_http_hotline_rreq_t *req,
    u_char *data, size_t len);
static void ngx_http_hotline_rreq_num(ngx_http_hotline_rreq_t *req,
    uint64_t n);
static void ngx_http_hotline_rreq_send(ngx_http_hotline_rreq_t *req);
static void ngx_http_hotline_rreq_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_hotline_rreq_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_attached(ngx_http_hotline_rreq_t *req,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_redis_ended(redisReply *r, size_t i);
static void ngx_http_hotline_redis_quiet(ngx_str_t ch);
static void ngx_http_hotline_redis_sync(ngx_http_hotline_rparty_t *p);
static void ngx_http_hotline_redis_delivered(ngx_http_hotline_rparty_t *p);
static void ngx_http_hotline_redis_send_detach(u_char *token, uint64_t gen,
    uint64_t delivered);
static void ngx_http_hotline_redis_sync_done(ngx_http_hotline_rreq_t *req,
    redisReply *r, ngx_uint_t err);
static void ngx_http_hotline_redis_queue_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_kv_done(ngx_http_hotline_rreq_t *req,
    redisReply *r);
static void ngx_http_hotline_redis_kv_fail(ngx_http_hotline_kv_pt handler,
    void *data, ngx_uint_t err);
static ngx_int_t ngx_http_hotline_redis_kv_req(ngx_uint_t op,
    ngx_uint_t script, ngx_str_t *key, size_t extra,
    ngx_http_hotline_kv_pt handler, void *data,
    ngx_http_hotline_rreq_t **reqp);

static ngx_http_hotline_rparty_t *ngx_http_hotline_rparty_new(void);
static void ngx_http_hotline_rparty_free(ngx_http_hotline_rparty_t *p);
static ngx_http_hotline_rparty_t *ngx_http_hotline_rparty_find(uint64_t gen);
static ngx_int_t ngx_http_hotline_rparty_add(ngx_http_hotline_rparty_t *p,
    uint64_t seq, u_char *data, size_t len);
static void ngx_http_hotline_rparty_backlog(ngx_http_hotline_rparty_t *p,
    redisReply *r, size_t i);
static void ngx_http_hotline_rparty_mail(ngx_http_hotline_rparty_t *p);

static ngx_uint_t ngx_http_hotline_reply_err(redisReply *r);


ngx_http_hotline_store_t  ngx_http_hotline_store_redis = {
    "redis",
    ngx_http_hotline_redis_init_worker,
    ngx_http_hotline_redis_exit_worker,
    ngx_http_hotline_redis_join,
    ngx_http_hotline_redis_agent,
    ngx_http_hotline_redis_resume,
    ngx_http_hotline_redis_accept,
    ngx_http_hotline_redis_reject,
    ngx_http_hotline_redis_ban,
    ngx_http_hotline_redis_hangup,
    ngx_http_hotline_redis_relay,
    ngx_http_hotline_redis_detach,
    ngx_http_hotline_redis_pull,
    ngx_http_hotline_redis_queue,
    ngx_http_hotline_redis_kv_get,
    ngx_http_hotline_redis_kv_set,
    ngx_http_hotline_redis_kv_del,
    ngx_http_hotline_redis_kv_incr,
    ngx_http_hotline_redis_limit,
    ngx_http_hotline_redis_revoke,
    ngx_http_hotline_redis_stats,
    ngx_http_hotline_redis_up,
    ngx_http_hotline_redis_history
};


static ngx_http_hotline_rstore_t  *ngx_http_hotline_rs;
static ngx_http_hotline_kv_t       ngx_http_hotline_rkv;


/* hotline_redis redis://[user:password@]host[:port][/db] [prefix=...] */

char *
ngx_http_hotline_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_main_conf_t *hmcf = conf;

    u_char                         *p, *last, *at, *colon, *slash;
    ngx_int_t                       db;
    ngx_str_t                      *value, hostport;
    ngx_url_t                       u;
    ngx_uint_t                      i;
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

    if (value[1].len <= sizeof("redis://") - 1
        || ngx_strncmp(value[1].data, "redis://", sizeof("redis://") - 1)
           != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis URL \"%V\": it must start with "
                           "\"redis://\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    p = value[1].data + sizeof("redis://") - 1;
    last = value[1].data + value[1].len;

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

    hostport.data = p;
    hostport.len = (slash ? slash : last) - p;

    if (slash) {
        db = ngx_atoi(slash + 1, last - slash - 1);

        if (db == NGX_ERROR || db > 1000000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis database number in \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        rcf->db = (ngx_uint_t) db;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = hostport;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis address \"%V\"%s%s", &hostport,
                           u.err ? ": " : "", u.err ? u.err : "");
        return NGX_CONF_ERROR;
    }

    /* resolved once, here: hiredis would resolve with a blocking call */
    (void) ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, rcf->ip,
                         NGX_SOCKADDR_STRLEN, 0);
    rcf->port = (int) u.port;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            rcf->prefix.data = value[i].data + 7;
            rcf->prefix.len = value[i].len - 7;

            if (rcf->prefix.len == 0 || rcf->prefix.len > 64) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "redis key prefix must be 1-64 bytes");
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    hmcf->redis = rcf;

    /* the node's zone keeps the counters and connection gauges */
    hmcf->signaling = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_hotline_redis_init_worker(ngx_cycle_t *cycle)
{
    u_char                         *p;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_conf_t  *rcf;
    ngx_http_hotline_main_conf_t   *hmcf;
    u_char                          digest[SHA_DIGEST_LENGTH];
    u_char                          rnd[NGX_HOTLINE_ID_LEN];
    u_char                          num[NGX_INT64_LEN + 1];

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);
    rcf = hmcf->redis;

    rs = ngx_pcalloc(cycle->pool, sizeof(ngx_http_hotline_rstore_t));
    if (rs == NULL) {
        return NGX_ERROR;
    }

    rs->conf = rcf;
    rs->hmcf = hmcf;
    rs->log = cycle->log;
    rs->backoff = NGX_HOTLINE_REDIS_BACKOFF;

    ngx_rbtree_init(&rs->parties, &rs->sentinel, ngx_rbtree_insert_value);
    ngx_queue_init(&rs->all);
    ngx_queue_init(&rs->ready);
    ngx_queue_init(&rs->detaches);

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
    if (rs->qchannel.data == NULL) {
        return NGX_ERROR;
    }

    rs->qchannel.len = ngx_sprintf(rs->qchannel.data, "%Vqueue",
                                   &rcf->prefix)
                       - rs->qchannel.data;

    rs->achannel.data = ngx_pnalloc(cycle->pool, rcf->prefix.len + 4);
    if (rs->achannel.data == NULL) {
        return NGX_ERROR;
    }

    rs->achannel.len = ngx_sprintf(rs->achannel.data, "%Vauth", &rcf->prefix)
                       - rs->achannel.data;

    /* the script arguments that never change: ARGV[1..6] */

    rs->common[0] = rcf->prefix;

    for (i = 1; i < 5; i++) {
        switch (i) {
        case 1:
            p = ngx_sprintf(num, "%uz", hmcf->replay_buffer);
            break;
        case 2:
            p = ngx_sprintf(num, "%M", hmcf->resume_timeout);
            break;
        case 3:
            p = ngx_sprintf(num, "%d", NGX_HOTLINE_REDIS_TTL);
            break;
        default:
            p = ngx_sprintf(num, "%M", hmcf->average_handle_time);
            break;
        }

        rs->common[i].len = p - num;
        rs->common[i].data = ngx_pnalloc(cycle->pool, p - num);
        if (rs->common[i].data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(rs->common[i].data, num, p - num);
    }

    rs->common[5] = rs->channel;

    /* the scripts and their SHA1 for EVALSHA */

    for (i = 0; i < NGX_HOTLINE_LUA_N; i++) {
        len = ngx_strlen(ngx_http_hotline_lua[i].body);

        if (i < NGX_HOTLINE_LUA_KV_GET) {
            len += ngx_strlen(ngx_http_hotline_lua_prelude);
        }

        rs->text[i].data = ngx_pnalloc(cycle->pool, len);
        if (rs->text[i].data == NULL) {
            return NGX_ERROR;
        }

        p = rs->text[i].data;

        if (i < NGX_HOTLINE_LUA_KV_GET) {
            p = ngx_cpymem(p, ngx_http_hotline_lua_prelude,
                           ngx_strlen(ngx_http_hotline_lua_prelude));
        }

        p = ngx_cpymem(p, ngx_http_hotline_lua[i].body,
                       ngx_strlen(ngx_http_hotline_lua[i].body));
        rs->text[i].len = p - rs->text[i].data;

        (void) SHA1(rs->text[i].data, rs->text[i].len, digest);
        *ngx_hex_dump(rs->sha[i], digest, SHA_DIGEST_LENGTH) = '\0';
    }

    rs->cmd.log = cycle->log;
    rs->cmd.what = "command";
    rs->cmd.connected = ngx_http_hotline_redis_cmd_connected;
    rs->cmd.gone = ngx_http_hotline_redis_gone;
    rs->cmd.data = rs;

    rs->sub.log = cycle->log;
    rs->sub.what = "subscriber";
    rs->sub.connected = NULL;
    rs->sub.gone = ngx_http_hotline_redis_gone;
    rs->sub.data = rs;

    rs->reconnect.handler = ngx_http_hotline_redis_reconnect;
    rs->reconnect.log = cycle->log;
    rs->reconnect.data = rs;
    rs->reconnect.cancelable = 1;

    rs->tick.handler = ngx_http_hotline_redis_tick;
    rs->tick.log = cycle->log;
    rs->tick.data = rs;
    rs->tick.cancelable = 1;

    rs->ready_ev.handler = ngx_http_hotline_redis_ready;
    rs->ready_ev.log = cycle->log;
    rs->ready_ev.data = rs;

    rs->notify_ev.handler = ngx_http_hotline_redis_notify;
    rs->notify_ev.log = cycle->log;
    rs->notify_ev.data = rs;

    ngx_http_hotline_rs = rs;

    /* a mailbox in the node's zone, for the connection gauges */
    if (ngx_http_hotline_doorbell_init(cycle, ngx_http_hotline_redis_noop)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hotline_redis_connect();

    ngx_add_timer(&rs->tick, NGX_HOTLINE_REDIS_TICK);

    return NGX_OK;
}


static void
ngx_http_hotline_redis_exit_worker(ngx_cycle_t *cycle)
{
    ngx_queue_t                *q;
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;
    ngx_http_hotline_rparty_t  *p;

    rs = ngx_http_hotline_rs;

    if (rs == NULL) {
        return;
    }

    rs->exiting = 1;

    if (rs->state == NGX_HOTLINE_REDIS_UP) {
        /* others need not wait to see this worker gone */
        req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_PLAIN, NGX_HOTLINE_LUA_N,
                                    0, rs->conf->prefix.len
                                       + rs->channel.len + 16);
        if (req) {
            req->argv[0] = "ZREM";
            req->argvlen[0] = 4;
            req->argc = 1;
            ngx_http_hotline_rreq_arg(req, rs->conf->prefix.data,
                                      rs->conf->prefix.len);
            req->argvlen[1] += 1;
            *req->pos++ = 'w';
            ngx_http_hotline_rreq_arg(req, rs->channel.data,
                                      rs->channel.len);
            ngx_http_hotline_rreq_send(req);
        }

        ngx_http_hotline_redis_flush(&rs->cmd);
    }

    ngx_http_hotline_redis_close(&rs->cmd);
    ngx_http_hotline_redis_close(&rs->sub);

    if (rs->reconnect.timer_set) {
        ngx_del_timer(&rs->reconnect);
    }

    if (rs->tick.timer_set) {
        ngx_del_timer(&rs->tick);
    }

    if (rs->ready_ev.posted) {
        ngx_delete_posted_event(&rs->ready_ev);
    }

    if (rs->notify_ev.posted) {
        ngx_delete_posted_event(&rs->notify_ev);
    }

    while (!ngx_queue_empty(&rs->all)) {
        q = ngx_queue_head(&rs->all);
        p = ngx_queue_data(q, ngx_http_hotline_rparty_t, link);

        if (p->session && p->session->party == p) {
            p->session->party = NULL;
        }

        ngx_http_hotline_rparty_free(p);
    }

    while (!ngx_queue_empty(&rs->detaches)) {
        q = ngx_queue_head(&rs->detaches);
        ngx_queue_remove(q);
        ngx_free(q);
    }

    if (rs->snapshot.items) {
        ngx_free(rs->snapshot.items);
        rs->snapshot.items = NULL;
    }

    ngx_http_hotline_doorbell_done();

    ngx_http_hotline_rs = NULL;
}


static void
ngx_http_hotline_redis_noop(void)
{
}


/* connections */

static void
ngx_http_hotline_redis_connect(void)
{
    ngx_uint_t                      i;
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_redis_conf_t  *rcf;
    const char                     *argv[5];
    size_t                          argvlen[5];
    u_char                          db[NGX_INT_T_LEN];

    rs = ngx_http_hotline_rs;
    rcf = rs->conf;

    rs->state = NGX_HOTLINE_REDIS_CONNECTING;
    rs->link++;
    rs->cmd_wait = 0;
    rs->sub_wait = 0;

    if (ngx_http_hotline_redis_open(&rs->cmd, (char *) rcf->ip, rcf->port,
                                    NGX_HOTLINE_REDIS_CONNECT)
        != NGX_OK
        || ngx_http_hotline_redis_open(&rs->sub, (char *) rcf->ip, rcf->port,
                                       NGX_HOTLINE_REDIS_CONNECT)
           != NGX_OK)
    {
        ngx_http_hotline_redis_down("cannot connect");
        return;
    }

    /* what follows is queued; it goes out once connect() is done */

    for (i = 0; i < 2; i++) {
        redisAsyncContext  *ac = i ? rs->sub.ac : rs->cmd.ac;

        if (rcf->password.len) {
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

            (void) redisAsyncCommandArgv(ac, ngx_http_hotline_redis_setup_done,
                                         (void *) (uintptr_t) rs->link,
                                         rcf->user.len ? 3 : 2, argv,
                                         argvlen);
            if (i) {
                rs->sub_wait++;
            } else {
                rs->cmd_wait++;
            }
        }
    }

    if (rcf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%ui", rcf->db) - db;

        (void) redisAsyncCommandArgv(rs->cmd.ac,
                                     ngx_http_hotline_redis_setup_done,
                                     (void *) (uintptr_t) rs->link, 2, argv,
                                     argvlen);
        rs->cmd_wait++;
    }

    for (i = 0; i < NGX_HOTLINE_LUA_N; i++) {
        argv[0] = "SCRIPT";
        argvlen[0] = 6;
        argv[1] = "LOAD";
        argvlen[1] = 4;
        argv[2] = (char *) rs->text[i].data;
        argvlen[2] = rs->text[i].len;

        (void) redisAsyncCommandArgv(rs->cmd.ac,
                                     ngx_http_hotline_redis_setup_done,
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

    (void) redisAsyncCommandArgv(rs->sub.ac, ngx_http_hotline_redis_message,
                                 (void *) (uintptr_t) rs->link, 4, argv,
                                 argvlen);
    rs->sub_wait += 3;
}


static void
ngx_http_hotline_redis_cmd_connected(ngx_http_hotline_redis_t *rc)
{
    ngx_log_debug0(NGX_LOG_DEBUG_EVENT, rc->log, 0,
                   "hotline: redis command connection connected");
}


static void
ngx_http_hotline_redis_gone(ngx_http_hotline_redis_t *rc)
{
    ngx_http_hotline_redis_down(rc == &ngx_http_hotline_rs->cmd
                                ? "command connection lost"
                                : "subscriber connection lost");
}


static void
ngx_http_hotline_redis_setup_done(redisAsyncContext *ac, void *r,
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
        ngx_http_hotline_redis_down("no answer to the setup");
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "hotline: redis setup failed: %*s",
                      (size_t) reply->len, reply->str);
        ngx_http_hotline_redis_down("setup failed");
        return;
    }

    if (ac == rs->cmd.ac) {
        rs->cmd_wait--;

    } else {
        rs->sub_wait--;
    }

    ngx_http_hotline_redis_check_up();
}


static void
ngx_http_hotline_redis_check_up(void)
{
    ngx_queue_t                 *q, *next;
    ngx_http_hotline_rdetach_t  *d;
    ngx_http_hotline_rstore_t   *rs;
    ngx_http_hotline_rparty_t   *p;

    rs = ngx_http_hotline_rs;

    if (rs->cmd_wait || rs->sub_wait
        || rs->state != NGX_HOTLINE_REDIS_CONNECTING)
    {
        return;
    }

    rs->state = NGX_HOTLINE_REDIS_UP;
    rs->up_since = ngx_current_msec;
    rs->backoff = NGX_HOTLINE_REDIS_BACKOFF;
    rs->sweeping = 0;

    ngx_log_error(NGX_LOG_NOTICE, rs->log, 0,
                  "hotline: redis store at %s:%d is up, channel \"%V\"",
                  rs->conf->ip, rs->conf->port, &rs->channel);

    /* detaches that waited for Redis */

    for (q = ngx_queue_head(&rs->detaches);
         q != ngx_queue_sentinel(&rs->detaches);
         q = next)
    {
        next = ngx_queue_next(q);
        d = ngx_queue_data(q, ngx_http_hotline_rdetach_t, link);
        ngx_queue_remove(q);
        ngx_http_hotline_redis_send_detach(d->token, d->gen, d->delivered);
        ngx_free(d);
    }

    /* what was published while the subscriber was away */

    for (q = ngx_queue_head(&rs->all);
         q != ngx_queue_sentinel(&rs->all);
         q = ngx_queue_next(q))
    {
        p = ngx_queue_data(q, ngx_http_hotline_rparty_t, link);

        if (p->attached && !p->replaced && !p->lost) {
            ngx_http_hotline_redis_sync(p);
        }
    }

    ngx_http_hotline_session_queue_changed();

    /* fresh gauges for health at once, not after a tick */
    ngx_http_hotline_redis_sweep();
}


static void
ngx_http_hotline_redis_down(const char *why)
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

    if (was_up) {
        ngx_log_error(NGX_LOG_ERR, rs->log, 0,
                      "hotline: redis store at %s:%d is unavailable (%s), "
                      "new calls are refused until it is back",
                      rs->conf->ip, rs->conf->port, why);

        if (!rs->notify_ev.posted && !rs->exiting) {
            ngx_post_event(&rs->notify_ev, &ngx_posted_events);
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, rs->log, 0,
                      "hotline: redis store at %s:%d: %s",
                      rs->conf->ip, rs->conf->port, why);
    }

    /* pending operations fail now with "unavailable" */
    ngx_http_hotline_redis_close(&rs->cmd);
    ngx_http_hotline_redis_close(&rs->sub);

    rs->queue_busy = 0;
    rs->sweeping = 0;

    if (rs->exiting || rs->reconnect.timer_set) {
        return;
    }

    /* exponential backoff with jitter: [backoff / 2, backoff] */

    delay = rs->backoff / 2 + (ngx_msec_t) ngx_random() % (rs->backoff / 2 + 1);

    rs->backoff = ngx_min(rs->backoff * 2, NGX_HOTLINE_REDIS_BACKOFF_MAX);

    ngx_add_timer(&rs->reconnect, delay);
}


static void
ngx_http_hotline_redis_reconnect(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    ngx_http_hotline_redis_connect();
}


/* the subscriber: this worker's channel and the queue channel */

static void
ngx_http_hotline_redis_message(redisAsyncContext *ac, void *r,
    void *privdata)
{
    u_char                     *p, *last, *colon;
    uint64_t                    gen, seq;
    ngx_str_t                   kind, channel, payload;
    redisReply                 *reply = r;
    ngx_http_hotline_rstore_t  *rs;
    ngx_http_hotline_rparty_t  *party;

    rs = ngx_http_hotline_rs;

    if (rs == NULL || reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 3)
    {
        return;
    }

    kind = ngx_http_hotline_reply_str(reply, 0);

    if (kind.len == 9 && ngx_strncmp(kind.data, "subscribe", 9) == 0) {
        if (rs->state == NGX_HOTLINE_REDIS_CONNECTING && rs->sub_wait) {
            rs->sub_wait--;
            ngx_http_hotline_redis_check_up();
        }

        return;
    }

    if (kind.len != 7 || ngx_strncmp(kind.data, "message", 7) != 0) {
        return;
    }

    channel = ngx_http_hotline_reply_str(reply, 1);
    payload = ngx_http_hotline_reply_str(reply, 2);

    if (channel.len == rs->qchannel.len
        && ngx_strncmp(channel.data, rs->qchannel.data, channel.len) == 0)
    {
        ngx_http_hotline_session_queue_changed();
        return;
    }

    if (channel.len == rs->achannel.len
        && ngx_strncmp(channel.data, rs->achannel.data, channel.len) == 0)
    {
        /* a token was revoked: agents check theirs */
        ngx_http_hotline_session_auth_changed();
        return;
    }

    if (payload.len < 2) {
        return;
    }

    p = payload.data + 1;
    last = payload.data + payload.len;

    for (gen = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        gen = gen * 10 + (*p - '0');
    }

    party = ngx_http_hotline_rparty_find(gen);

    if (party == NULL) {
        /* a party that this worker let go */
        return;
    }

    if (payload.data[0] == 'r') {
        party->replaced = 1;
        ngx_http_hotline_rparty_mail(party);
        return;
    }

    if (payload.data[0] != 'm' || p == last || *p != ':') {
        return;
    }

    p++;

    for (seq = 0; p < last && *p >= '0' && *p <= '9'; p++) {
        seq = seq * 10 + (*p - '0');
    }

    colon = p;

    if (colon == last || *colon != ':') {
        return;
    }

    if (ngx_http_hotline_rparty_add(party, seq, colon + 1, last - colon - 1)
        == NGX_OK)
    {
        party->arrived = 1;
        ngx_http_hotline_rparty_mail(party);
    }
}


/* local parties */

static ngx_http_hotline_rparty_t *
ngx_http_hotline_rparty_new(void)
{
    ngx_http_hotline_rstore_t  *rs;
    ngx_http_hotline_rparty_t  *p;

    rs = ngx_http_hotline_rs;

    p = ngx_calloc(sizeof(ngx_http_hotline_rparty_t), rs->log);
    if (p == NULL) {
        return NULL;
    }

    p->node.key = (ngx_rbtree_key_t) ++rs->next_gen;
    ngx_rbtree_insert(&rs->parties, &p->node);
    ngx_queue_insert_tail(&rs->all, &p->link);
    ngx_queue_init(&p->inbox);

    return p;
}


static void
ngx_http_hotline_rparty_free(ngx_http_hotline_rparty_t *p)
{
    ngx_queue_t  *q;

    ngx_rbtree_delete(&ngx_http_hotline_rs->parties, &p->node);
    ngx_queue_remove(&p->link);

    if (p->is_ready) {
        ngx_queue_remove(&p->ready);
    }

    while (!ngx_queue_empty(&p->inbox)) {
        q = ngx_queue_head(&p->inbox);
        ngx_queue_remove(q);
        ngx_free(q);
    }

    ngx_free(p);
}


static ngx_http_hotline_rparty_t *
ngx_http_hotline_rparty_find(uint64_t gen)
{
    ngx_rbtree_key_t    key;
    ngx_rbtree_node_t  *node, *sentinel;

    key = (ngx_rbtree_key_t) gen;
    node = ngx_http_hotline_rs->parties.root;
    sentinel = ngx_http_hotline_rs->parties.sentinel;

    while (node != sentinel) {
        if (key == node->key) {
            return (ngx_http_hotline_rparty_t *) node;
        }

        node = (key < node->key) ? node->left : node->right;
    }

    return NULL;
}


/* keeps a message in seq order, once; NGX_DECLINED if known already */

static ngx_int_t
ngx_http_hotline_rparty_add(ngx_http_hotline_rparty_t *p, uint64_t seq,
    u_char *data, size_t len)
{
    ngx_queue_t              *q;
    ngx_http_hotline_rmsg_t  *m, *prev;

    if (seq <= p->delivered) {
        return NGX_DECLINED;
    }

    for (q = ngx_queue_last(&p->inbox);
         q != ngx_queue_sentinel(&p->inbox);
         q = ngx_queue_prev(q))
    {
        prev = ngx_queue_data(q, ngx_http_hotline_rmsg_t, link);

        if (prev->seq == seq) {
            return NGX_DECLINED;
        }

        if (prev->seq < seq) {
            break;
        }
    }

    m = ngx_alloc(offsetof(ngx_http_hotline_rmsg_t, data) + len,
                  ngx_http_hotline_rs->log);
    if (m == NULL) {
        return NGX_ERROR;
    }

    m->seq = seq;
    m->len = len;
    ngx_memcpy(m->data, data, len);

    /* after q (the sentinel: at the head) */
    ngx_queue_insert_after(q, &m->link);

    p->inbox_bytes += len;

    if (seq > p->last) {
        p->last = seq;
    }

    return NGX_OK;
}


/* the messages of a script's reply from element i: gap, first, msgs... */

static void
ngx_http_hotline_rparty_backlog(ngx_http_hotline_rparty_t *p,
    redisReply *r, size_t i)
{
    size_t     k;
    uint64_t   first;
    ngx_str_t  msg;

    if (r->elements < i + 2) {
        return;
    }

    first = (uint64_t) ngx_http_hotline_reply_int(r, i + 1);

    for (k = i + 2; k < r->elements; k++) {
        msg = ngx_http_hotline_reply_str(r, k);

        if (msg.len) {
            (void) ngx_http_hotline_rparty_add(p, first + (k - i - 2),
                                               msg.data, msg.len);
        }
    }

    if (first > 1 && p->delivered < first - 1 && ngx_queue_empty(&p->inbox))
    {
        p->delivered = first - 1;
    }

    if (p->last < first - 1) {
        p->last = first - 1;
    }

    p->replayed = p->last;
}


static void
ngx_http_hotline_rparty_mail(ngx_http_hotline_rparty_t *p)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (!p->is_ready) {
        p->is_ready = 1;
        ngx_queue_insert_tail(&rs->ready, &p->ready);
    }

    if (!rs->ready_ev.posted) {
        ngx_post_event(&rs->ready_ev, &ngx_posted_events);
    }
}


/* mail for local parties: deliver, cut slow consumers, close replaced */

static void
ngx_http_hotline_redis_ready(ngx_event_t *ev)
{
    size_t                       limit;
    ngx_uint_t                   arrived;
    ngx_queue_t                 *q;
    ngx_http_hotline_rstore_t   *rs;
    ngx_http_hotline_rparty_t   *p;
    ngx_http_hotline_session_t  *s;

    rs = ngx_http_hotline_rs;
    limit = rs->hmcf->replay_buffer;

    while (!ngx_queue_empty(&rs->ready)) {
        q = ngx_queue_head(&rs->ready);
        ngx_queue_remove(q);

        p = ngx_queue_data(q, ngx_http_hotline_rparty_t, ready);
        p->is_ready = 0;
        arrived = p->arrived;
        p->arrived = 0;

        s = p->session;

        if (s == NULL || !p->attached || s->party != p
            || (p->replaced && p->superseded))
        {
            continue;
        }

        s->pending++;

        if (p->replaced) {
            ngx_http_hotline_ws_close(s, NGX_HOTLINE_CLOSE_REPLACED,
                                      "replaced");

        } else if (p->lost) {
            ngx_http_hotline_count_error(NGX_HOTLINE_E_EXPIRED);
            (void) ngx_http_hotline_ws_send(s, NGX_HOTLINE_WS_OP_TEXT,
                          (u_char *) "{\"type\":\"error\",\"code\":\"expired\","
                          "\"message\":\"the session was lost by the store\"}",
                          sizeof("{\"type\":\"error\",\"code\":\"expired\","
                          "\"message\":\"the session was lost by the "
                          "store\"}") - 1);
            ngx_http_hotline_ws_close(s, NGX_HOTLINE_CLOSE_EXPIRED,
                                      "session lost");

        } else if (arrived
                   && p->delivered >= p->replayed
                   && p->inbox_bytes > limit
                   && (s->backlogged
                       || s->out_bytes >= s->conf->send_queue / 2))
        {
            /*
             * as on the embedded store: a new message finds the party
             * behind by more than the replay buffer, and its socket
             * does not take more either (not while it catches up with
             * the replay of a resume); Redis accepts no more than twice
             * the buffer that its worker has not reported delivered
             */
            ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                          "hotline: client does not read, its buffer "
                          "is full");
            ngx_http_hotline_ws_close(s, NGX_HOTLINE_CLOSE_SLOW,
                                      "slow consumer");

        } else {
            ngx_http_hotline_session_deliver(s);
        }

        ngx_http_hotline_ws_release(s);
    }
}


/* Redis went away: every open session is told */

static void
ngx_http_hotline_redis_notify(ngx_event_t *ev)
{
    u_char                      *last;
    ngx_queue_t                 *q, *next;
    ngx_http_hotline_session_t  *s;
    u_char                       buf[256];

    if (ngx_http_hotline_rs == NULL
        || ngx_http_hotline_rs->state == NGX_HOTLINE_REDIS_UP)
    {
        return;
    }

    last = ngx_http_hotline_proto_error(buf, NGX_HOTLINE_E_UNAVAILABLE,
                                        NULL);

    for (q = ngx_queue_head(ngx_http_hotline_sessions());
         q != ngx_queue_sentinel(ngx_http_hotline_sessions());
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, ngx_http_hotline_session_t, local);

        if (!s->established || s->closing || s->closed) {
            continue;
        }

        ngx_http_hotline_count_error(NGX_HOTLINE_E_UNAVAILABLE);

        s->pending++;
        (void) ngx_http_hotline_ws_send(s, NGX_HOTLINE_WS_OP_TEXT, buf,
                                        last - buf);
        ngx_http_hotline_ws_release(s);
    }
}


/* every NGX_HOTLINE_REDIS_TICK: grace periods, heartbeat, keep-alive */

static void
ngx_http_hotline_redis_tick(ngx_event_t *ev)
{
    ngx_queue_t                *q;
    ngx_http_hotline_rstore_t  *rs;
    ngx_http_hotline_rparty_t  *p;

    rs = ngx_http_hotline_rs;

    /* the connection gauges of workers of this node that died */
    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    (void) ngx_http_hotline_mailbox_reap();
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (rs->state == NGX_HOTLINE_REDIS_UP) {

        if (rs->sweeping) {
            if (ngx_current_msec - rs->sweep_sent
                > NGX_HOTLINE_REDIS_SILENT)
            {
                ngx_http_hotline_redis_down("redis does not answer");
            }

        } else {
            ngx_http_hotline_redis_sweep();
        }

        if (++rs->ticks % NGX_HOTLINE_REDIS_KEEPALIVE == 0
            && rs->state == NGX_HOTLINE_REDIS_UP)
        {
            for (q = ngx_queue_head(&rs->all);
                 q != ngx_queue_sentinel(&rs->all);
                 q = ngx_queue_next(q))
            {
                p = ngx_queue_data(q, ngx_http_hotline_rparty_t, link);

                if (p->attached && !p->replaced && !p->lost) {
                    ngx_http_hotline_redis_sync(p);
                }
            }
        }
    }

    if (!ngx_exiting && !rs->exiting) {
        ngx_add_timer(ev, NGX_HOTLINE_REDIS_TICK);
    }
}


static void
ngx_http_hotline_redis_sweep(void)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_SWEEP, NGX_HOTLINE_LUA_SWEEP,
                                0, 64 + rs->host.len + rs->dead.len);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_num(req, 100);
    ngx_http_hotline_rreq_num(req, ngx_current_msec - rs->up_since
                                   > NGX_HOTLINE_REDIS_REAP_AFTER ? 1 : 0);
    ngx_http_hotline_rreq_arg(req, rs->host.data, rs->host.len);
    ngx_http_hotline_rreq_arg(req, rs->dead.data, rs->dead.len);
    rs->dead.len = 0;
    rs->sweeping = 1;
    rs->sweep_sent = ngx_current_msec;
    ngx_http_hotline_rreq_send(req);
}


/* requests */

static ngx_http_hotline_rreq_t *
ngx_http_hotline_rreq(ngx_uint_t op, ngx_uint_t script, uint64_t gen,
    size_t extra)
{
    size_t                      size;
    ngx_uint_t                  i;
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    size = extra + 64 + NGX_INT64_LEN;

    if (script < NGX_HOTLINE_LUA_KV_GET) {
        for (i = 0; i < NGX_HOTLINE_LUA_ARGS - 1; i++) {
            size += rs->common[i].len;
        }
    }

    req = ngx_alloc(offsetof(ngx_http_hotline_rreq_t, buf) + size, rs->log);
    if (req == NULL) {
        return NULL;
    }

    ngx_memzero(req, offsetof(ngx_http_hotline_rreq_t, buf));

    req->op = op;
    req->script = script;
    req->gen = gen;
    req->pos = req->buf;
    req->end = req->buf + size;

    if (script == NGX_HOTLINE_LUA_N) {
        /* a plain command: the caller fills argv */
        return req;
    }

    req->argv[0] = "EVALSHA";
    req->argvlen[0] = 7;
    req->argv[1] = (char *) rs->sha[script];
    req->argvlen[1] = 40;
    req->argc = 3;

    if (script < NGX_HOTLINE_LUA_KV_GET) {
        req->argv[2] = "0";
        req->argvlen[2] = 1;

        for (i = 0; i < NGX_HOTLINE_LUA_ARGS - 1; i++) {
            req->argv[req->argc] = (char *) rs->common[i].data;
            req->argvlen[req->argc++] = rs->common[i].len;
        }

        ngx_http_hotline_rreq_num(req, gen);

    } else {
        req->argv[2] = "1";
        req->argvlen[2] = 1;
    }

    return req;
}


static void
ngx_http_hotline_rreq_arg(ngx_http_hotline_rreq_t *req, u_char *data,
    size_t len)
{
    if (req->argc == NGX_HOTLINE_REDIS_ARGS
        || len > (size_t) (req->end - req->pos))
    {
        req->overflow = 1;
        return;
    }

    req->argv[req->argc] = (char *) req->pos;
    req->argvlen[req->argc++] = len;
    req->pos = ngx_cpymem(req->pos, data, len);
}


static void
ngx_http_hotline_rreq_num(ngx_http_hotline_rreq_t *req, uint64_t n)
{
    u_char  *p;

    if (req->argc == NGX_HOTLINE_REDIS_ARGS
        || (size_t) (req->end - req->pos) < NGX_INT64_LEN)
    {
        req->overflow = 1;
        return;
    }

    p = req->pos;
    req->pos = ngx_sprintf(p, "%uL", n);
    req->argv[req->argc] = (char *) p;
    req->argvlen[req->argc++] = req->pos - p;
}


static void
ngx_http_hotline_rreq_send(ngx_http_hotline_rreq_t *req)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (req->overflow) {
        ngx_log_error(NGX_LOG_ALERT, rs->log, 0,
                      "hotline: redis request %ui has too many arguments",
                      req->op);
        ngx_http_hotline_rreq_done(req, NULL);
        return;
    }

    if (rs->state != NGX_HOTLINE_REDIS_UP || rs->cmd.ac == NULL
        || redisAsyncCommandArgv(rs->cmd.ac, ngx_http_hotline_rreq_reply, req,
                                 req->argc, req->argv, req->argvlen)
           != REDIS_OK)
    {
        ngx_http_hotline_rreq_done(req, NULL);
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
        && !req->retried && req->script < NGX_HOTLINE_LUA_N)
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

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, rs ? rs->log : ngx_cycle->log, 0,
                      "hotline: redis %s failed: %*s",
                      req->script < NGX_HOTLINE_LUA_N
                      ? ngx_http_hotline_lua[req->script].name : "command",
                      (size_t) reply->len, reply->str);
    }

    ngx_http_hotline_rreq_done(req, reply);
}


/* the reply of a request (NULL: Redis is unavailable); frees req */

static void
ngx_http_hotline_rreq_done(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    int64_t                      n;
    ngx_str_t                    id;
    ngx_uint_t                   err, k;
    ngx_http_hotline_rstore_t   *rs;
    ngx_http_hotline_rparty_t   *p;
    ngx_http_hotline_session_t  *s;
    ngx_http_hotline_result_t    res;

    rs = ngx_http_hotline_rs;
    s = req->session;
    p = req->party;

    err = ngx_http_hotline_reply_err(r);

    if (rs == NULL || rs->exiting) {
        /* the worker exits: nobody is waiting any more */
        if (p) {
            p->session = NULL;
        }

        if (req->kv_handler) {
            ngx_http_hotline_redis_kv_fail(req->kv_handler, req->data,
                                           NGX_HOTLINE_E_UNAVAILABLE);
        }

        if (req->reply_handler) {
            req->reply_handler(req->data, NULL);
        }

        ngx_free(req);
        return;
    }

    ngx_memzero(&res, sizeof(ngx_http_hotline_result_t));

    switch (req->op) {

    case NGX_HOTLINE_ROP_JOIN:
    case NGX_HOTLINE_ROP_AGENT:
    case NGX_HOTLINE_ROP_RESUME:

        if (err != NGX_HOTLINE_OK) {
            ngx_http_hotline_rparty_free(p);

            if (s->party) {
                p = s->party;
                p->superseded = 0;
                p->successor = NULL;

                if (p->replaced) {
                    ngx_http_hotline_rparty_mail(p);
                }
            }

            req->handler(s, err, NULL, req->data);
            ngx_http_hotline_ws_release(s);
            break;
        }

        if (req->op == NGX_HOTLINE_ROP_JOIN) {
            ngx_hex_dump(p->token, req->token, NGX_HOTLINE_ID_LEN);
            ngx_memcpy(res.resume, req->token, NGX_HOTLINE_ID_LEN);
            ngx_memcpy(res.call_id, req->call_id, NGX_HOTLINE_ID_LEN);
            res.ticket = (uint64_t) ngx_http_hotline_reply_int(r, 1);
            res.waiting = 1;

        } else if (req->op == NGX_HOTLINE_ROP_AGENT) {
            res.resumed = ngx_http_hotline_reply_int(r, 1) ? 1 : 0;

            id = ngx_http_hotline_reply_str(r, 2);
            if (id.len == NGX_HOTLINE_ID_HEX) {
                ngx_memcpy(p->token, id.data, NGX_HOTLINE_ID_HEX);
                (void) ngx_http_hotline_unhex(res.resume, id.data,
                                              NGX_HOTLINE_ID_HEX);
            }

            id = ngx_http_hotline_reply_str(r, 3);
            if (id.len == NGX_HOTLINE_ID_HEX) {
                res.in_call = 1;
                (void) ngx_http_hotline_unhex(res.call_id, id.data,
                                              NGX_HOTLINE_ID_HEX);
            }

            ngx_http_hotline_rparty_backlog(p, r, 4);

        } else {
            n = ngx_http_hotline_reply_int(r, 1);

            res.resumed = 1;
            res.gap = ngx_http_hotline_reply_int(r, 4) ? 1 : 0;
            res.ticket = (uint64_t) ngx_http_hotline_reply_int(r, 2);
            ngx_hex_dump(p->token, req->token, NGX_HOTLINE_ID_LEN);
            ngx_memcpy(res.resume, req->token, NGX_HOTLINE_ID_LEN);

            id = ngx_http_hotline_reply_str(r, 3);
            if (id.len == NGX_HOTLINE_ID_HEX) {
                (void) ngx_http_hotline_unhex(res.call_id, id.data,
                                              NGX_HOTLINE_ID_HEX);
            }

            if (s->role == NGX_HOTLINE_ROLE_CUSTOMER) {
                res.waiting = (n == 1);
                res.in_call = (n == 2);
                res.ended = (n == 3);

            } else {
                res.in_call = (n == 2 && id.len == NGX_HOTLINE_ID_HEX);
            }

            ngx_http_hotline_rparty_backlog(p, r, 4);
        }

        ngx_http_hotline_redis_attached(req, &res);
        ngx_http_hotline_ws_release(s);
        break;

    case NGX_HOTLINE_ROP_ACCEPT:

        if (err == NGX_HOTLINE_OK) {
            id = ngx_http_hotline_reply_str(r, 1);
            if (id.len == NGX_HOTLINE_ID_HEX) {
                (void) ngx_http_hotline_unhex(res.call_id, id.data,
                                              NGX_HOTLINE_ID_HEX);
            }

            res.in_call = 1;
        }

        req->handler(s, err, err == NGX_HOTLINE_OK ? &res : NULL, req->data);
        ngx_http_hotline_ws_release(s);
        break;

    case NGX_HOTLINE_ROP_PEEK:

        /* {0, online, busy, avg, active, ticket, call id, ...} */
        id = ngx_http_hotline_reply_str(r, 6);

        if (err == NGX_HOTLINE_OK
            && (id.len != NGX_HOTLINE_ID_HEX
                || ngx_http_hotline_unhex(res.call_id, id.data, id.len)
                   != NGX_OK))
        {
            err = NGX_HOTLINE_E_NOT_FOUND;
        }

        if (err != NGX_HOTLINE_OK) {
            req->handler(s, err, NULL, req->data);

        } else {
            ngx_http_hotline_redis_accept(s, res.call_id, req->handler,
                                          req->data);
        }

        ngx_http_hotline_ws_release(s);
        break;

    case NGX_HOTLINE_ROP_END:

        if (err == NGX_HOTLINE_OK) {
            ngx_http_hotline_redis_ended(r, 1);
        }

        req->handler(s, err, NULL, req->data);
        ngx_http_hotline_ws_release(s);
        break;

    case NGX_HOTLINE_ROP_BAN:

        /* {0, record, the customer's address} */

        if (err == NGX_HOTLINE_OK) {
            ngx_http_hotline_redis_ended(r, 1);

            id = ngx_http_hotline_reply_str(r, 3);
            if (id.len == NGX_HOTLINE_ID_HEX) {
                (void) ngx_http_hotline_unhex(res.call_id, id.data,
                                              NGX_HOTLINE_ID_HEX);
            }

            id = ngx_http_hotline_reply_str(r, 1 + NGX_HOTLINE_REDIS_RECORD);
            if (id.len <= NGX_SOCKADDR_STRLEN) {
                ngx_memcpy(res.addr, id.data, id.len);
                res.addr_len = id.len;
            }
        }

        req->handler(s, err, err == NGX_HOTLINE_OK ? &res : NULL, req->data);
        ngx_http_hotline_ws_release(s);
        break;

    case NGX_HOTLINE_ROP_RELAY:

        if (err == NGX_HOTLINE_OK) {
            ngx_http_hotline_count_relayed();
        }

        req->handler(s, err, NULL, req->data);
        ngx_http_hotline_ws_release(s);
        break;

    case NGX_HOTLINE_ROP_SYNC:
        ngx_http_hotline_redis_sync_done(req, r, err);
        break;

    case NGX_HOTLINE_ROP_SWEEP:
        rs->sweeping = 0;

        if (err == NGX_HOTLINE_OK && r->elements >= 6) {
            rs->gauges.waiting = ngx_http_hotline_reply_int(r, 1);
            rs->gauges.active = ngx_http_hotline_reply_int(r, 2);
            rs->gauges.agents_online = ngx_http_hotline_reply_int(r, 3);
            rs->gauges.agents_busy = ngx_http_hotline_reply_int(r, 4);

            n = ngx_http_hotline_reply_int(r, 5);

            for (k = 6; k < 6 + (size_t) n && k < r->elements; k++) {
                ngx_http_hotline_redis_quiet(ngx_http_hotline_reply_str(r, k));
            }

            for ( /* void */ ; k + NGX_HOTLINE_REDIS_RECORD <= r->elements;
                 k += NGX_HOTLINE_REDIS_RECORD)
            {
                ngx_http_hotline_redis_ended(r, k);
            }
        }

        break;

    case NGX_HOTLINE_ROP_QUEUE:
        ngx_http_hotline_redis_queue_done(req, r);
        break;

    case NGX_HOTLINE_ROP_CALL:
        req->reply_handler(req->data, err == NGX_HOTLINE_OK ? r : NULL);
        break;

    case NGX_HOTLINE_ROP_KV_GET:
    case NGX_HOTLINE_ROP_KV_SET:
    case NGX_HOTLINE_ROP_KV_DEL:
    case NGX_HOTLINE_ROP_KV_INCR:
    case NGX_HOTLINE_ROP_LIMIT:
        ngx_http_hotline_redis_kv_done(req, r);
        break;

    default: /* detach, plain commands */
        break;
    }

    ngx_free(req);
}


/* a join, agent or resume succeeded: the session gets its party */

static void
ngx_http_hotline_redis_attached(ngx_http_hotline_rreq_t *req,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_rparty_t   *p, *old;
    ngx_http_hotline_session_t  *s;

    s = req->session;
    p = req->party;
    old = s->party;

    if (old && old != p) {
        /* an agent that resumed another session of its own */
        if (!old->replaced && !old->lost) {
            ngx_http_hotline_redis_send_detach(old->token,
                                               old->node.key, old->delivered);
        }

        ngx_http_hotline_rparty_free(old);
    }

    p->session = s;
    p->attached = 1;

    s->party = p;
    s->gen = (ngx_uint_t) p->node.key;
    s->ticket = res->ticket;

    req->handler(s, NGX_HOTLINE_OK, res, req->data);

    if (s->local.next == NULL) {
        /* the connection ended while the store worked */
        ngx_http_hotline_redis_detach(s);
        return;
    }

    if (!ngx_queue_empty(&p->inbox) || p->replaced) {
        ngx_http_hotline_rparty_mail(p);
    }
}


/*
 * a worker of this host has not beaten for 2 s: if its process is gone
 * (killed, crashed), the next sweep detaches its parties at once rather
 * than after the 10 s any node waits for a silent worker
 */

static void
ngx_http_hotline_redis_quiet(ngx_str_t ch)
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


/*
 * a call ended by a script: count it, log it and add it to this node's
 * history journal (Redis keeps it in its P history stream too); the
 * record: reason, duration, call id, agent, customer, joined, accepted,
 * by, recorded
 */

static void
ngx_http_hotline_redis_ended(redisReply *r, size_t i)
{
    int64_t                          reason;
    ngx_str_t                        id, agent, customer;
    ngx_time_t                      *tp;
    ngx_http_hotline_call_record_t   rec;

    if (r->elements < i + NGX_HOTLINE_REDIS_RECORD) {
        return;
    }

    reason = ngx_http_hotline_reply_int(r, i);
    id = ngx_http_hotline_reply_str(r, i + 2);
    agent = ngx_http_hotline_reply_str(r, i + 3);
    customer = ngx_http_hotline_reply_str(r, i + 4);

    if (reason < 0 || reason >= NGX_HOTLINE_END_MAX
        || id.len != NGX_HOTLINE_ID_HEX
        || ngx_http_hotline_unhex(rec.call_id, id.data, id.len) != NGX_OK)
    {
        return;
    }

    tp = ngx_timeofday();

    rec.customer = customer.data;
    rec.customer_len = customer.len;
    rec.agent = agent.len ? agent.data : NULL;
    rec.agent_len = agent.len;
    rec.joined = ngx_http_hotline_reply_int(r, i + 5);
    rec.accepted = ngx_http_hotline_reply_int(r, i + 6);
    rec.ended = (int64_t) tp->sec * 1000 + tp->msec;
    rec.reason = (ngx_uint_t) reason;
    rec.by = (ngx_uint_t) ngx_http_hotline_reply_int(r, i + 7);
    rec.duration = (ngx_uint_t) ngx_http_hotline_reply_int(r, i + 1);
    rec.recorded = ngx_http_hotline_reply_int(r, i + 8) ? 1 : 0;

    ngx_http_hotline_count_ended(rec.reason);
    ngx_http_hotline_history_add(&rec);
    ngx_http_hotline_history_flush();

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "hotline: call ended call_id=%V reason=%V "
                  "duration=%ui agent=\"%V\"",
                  &id, &ngx_http_hotline_end_reasons[reason], rec.duration,
                  &agent);
}


static void
ngx_http_hotline_redis_sync(ngx_http_hotline_rparty_t *p)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_SYNC, NGX_HOTLINE_LUA_SYNC,
                                p->node.key, NGX_HOTLINE_ID_HEX + 32);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_arg(req, p->token, NGX_HOTLINE_ID_HEX);
    ngx_http_hotline_rreq_num(req, p->last);
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_delivered(ngx_http_hotline_rparty_t *p)
{
    ngx_http_hotline_rreq_t  *req;

    p->unreported = 0;

    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_DELIVERED,
                                NGX_HOTLINE_LUA_DELIVERED, p->node.key,
                                NGX_HOTLINE_ID_HEX + 32);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_arg(req, p->token, NGX_HOTLINE_ID_HEX);
    ngx_http_hotline_rreq_num(req, p->delivered);
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_sync_done(ngx_http_hotline_rreq_t *req,
    redisReply *r, ngx_uint_t err)
{
    ngx_http_hotline_rparty_t  *p;

    p = ngx_http_hotline_rparty_find(req->gen);

    if (p == NULL || !p->attached) {
        return;
    }

    if (err == NGX_HOTLINE_E_EXPIRED) {
        /* Redis lost the party (restarted without its data) */
        p->lost = 1;
        ngx_http_hotline_rparty_mail(p);
        return;
    }

    if (err == NGX_HOTLINE_E_BAD_STATE) {
        p->replaced = 1;
        ngx_http_hotline_rparty_mail(p);
        return;
    }

    if (err != NGX_HOTLINE_OK) {
        return;
    }

    ngx_http_hotline_rparty_backlog(p, r, 1);

    if (!ngx_queue_empty(&p->inbox)) {
        ngx_http_hotline_rparty_mail(p);
    }
}


static void
ngx_http_hotline_redis_send_detach(u_char *token, uint64_t gen,
    uint64_t delivered)
{
    ngx_http_hotline_rreq_t     *req;
    ngx_http_hotline_rstore_t   *rs;
    ngx_http_hotline_rdetach_t  *d;

    rs = ngx_http_hotline_rs;

    if (rs->state != NGX_HOTLINE_REDIS_UP) {
        /* sent when Redis is back; the grace period starts then */
        d = ngx_alloc(sizeof(ngx_http_hotline_rdetach_t), rs->log);
        if (d == NULL) {
            return;
        }

        d->gen = gen;
        d->delivered = delivered;
        ngx_memcpy(d->token, token, NGX_HOTLINE_ID_HEX);
        ngx_queue_insert_tail(&rs->detaches, &d->link);
        return;
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_DETACH,
                                NGX_HOTLINE_LUA_DETACH, gen,
                                NGX_HOTLINE_ID_HEX + 32);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_arg(req, token, NGX_HOTLINE_ID_HEX);
    ngx_http_hotline_rreq_num(req, delivered);
    ngx_http_hotline_rreq_send(req);
}


/*
 * A script without the prelude for another part of the Redis store
 * (ngx_http_hotline_store_redis_history.c): KEYS[1] is the prefixed key,
 * args follow as ARGV.  The handler gets the reply, or NULL if Redis is
 * unavailable or the script failed; maybe before this returns.
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

    if (rs == NULL || script < NGX_HOTLINE_LUA_KV_GET
        || script >= NGX_HOTLINE_LUA_N)
    {
        handler(data, NULL);
        return;
    }

    size = rs->conf->prefix.len + key->len;

    for (i = 0; i < nargs; i++) {
        size += args[i].len;
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_CALL, script, 0, size);
    if (req == NULL) {
        handler(data, NULL);
        return;
    }

    req->reply_handler = handler;
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


ngx_str_t *
ngx_http_hotline_redis_prefix(void)
{
    return &ngx_http_hotline_rs->conf->prefix;
}


/* the store interface */

static ngx_uint_t
ngx_http_hotline_redis_up(void)
{
    return ngx_http_hotline_rs
           && ngx_http_hotline_rs->state == NGX_HOTLINE_REDIS_UP;
}


/*
 * A new party and the request that creates it in Redis, with a fresh
 * resume token (and a call id for a customer): NULL after answering the
 * handler when the store is down or memory is short.
 */

static ngx_http_hotline_rreq_t *
ngx_http_hotline_redis_new_party(ngx_http_hotline_session_t *s,
    ngx_uint_t op, ngx_uint_t script, size_t size,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rparty_t  *p;
    u_char                      hex[NGX_HOTLINE_ID_HEX];

    if (!ngx_http_hotline_redis_up()) {
        handler(s, NGX_HOTLINE_E_UNAVAILABLE, NULL, data);
        return NULL;
    }

    p = ngx_http_hotline_rparty_new();
    req = p ? ngx_http_hotline_rreq(op, script, p->node.key, size) : NULL;

    if (req == NULL || p == NULL
        || ngx_http_hotline_random_id(req->token) != NGX_OK
        || (op == NGX_HOTLINE_ROP_JOIN
            && ngx_http_hotline_random_id(req->call_id) != NGX_OK))
    {
        if (req) {
            ngx_free(req);
        }

        if (p) {
            ngx_http_hotline_rparty_free(p);
        }

        handler(s, NGX_HOTLINE_E_INTERNAL, NULL, data);
        return NULL;
    }

    req->session = s;
    req->party = p;
    req->handler = handler;
    req->data = data;

    ngx_hex_dump(hex, req->token, NGX_HOTLINE_ID_LEN);
    ngx_http_hotline_rreq_arg(req, hex, NGX_HOTLINE_ID_HEX);

    return req;
}


static void
ngx_http_hotline_redis_join(ngx_http_hotline_session_t *s, u_char *name,
    size_t len, ngx_http_hotline_store_pt handler, void *data)
{
    u_char                   *last;
    ngx_http_hotline_rreq_t  *req;
    u_char                    hex[NGX_HOTLINE_ID_HEX];
    u_char                    json[6 * NGX_HOTLINE_CUSTOMER_NAME_MAX + 2];

    req = ngx_http_hotline_redis_new_party(s, NGX_HOTLINE_ROP_JOIN,
                                           NGX_HOTLINE_LUA_JOIN,
                                           2 * NGX_HOTLINE_ID_HEX + 7 * len
                                           + s->addr.len + 64,
                                           handler, data);
    if (req == NULL) {
        return;
    }

    ngx_hex_dump(hex, req->call_id, NGX_HOTLINE_ID_LEN);
    ngx_http_hotline_rreq_arg(req, hex, NGX_HOTLINE_ID_HEX);
    ngx_http_hotline_rreq_arg(req, name, len);
    last = ngx_http_hotline_json_str(json, name, len);
    ngx_http_hotline_rreq_arg(req, json, last - json);
    ngx_http_hotline_rreq_num(req, s->main_conf->queue_size);
    ngx_http_hotline_rreq_num(req, s->main_conf->daily_limit);
    ngx_http_hotline_rreq_num(req, (uint64_t) ngx_time() / 86400);
    ngx_http_hotline_rreq_arg(req, s->addr.data, s->addr.len);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_agent(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data)
{
    u_char                   *last;
    ngx_http_hotline_rreq_t  *req;
    u_char                    json[6 * NGX_HOTLINE_NAME_MAX + 2];

    req = ngx_http_hotline_redis_new_party(s, NGX_HOTLINE_ROP_AGENT,
                                           NGX_HOTLINE_LUA_AGENT,
                                           NGX_HOTLINE_ID_HEX + s->sub_len
                                           + 6 * s->display_len + 64,
                                           handler, data);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_arg(req, s->sub, s->sub_len);
    last = ngx_http_hotline_json_str(json, s->display, s->display_len);
    ngx_http_hotline_rreq_arg(req, json, last - json);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_resume(ngx_http_hotline_session_t *s, u_char *token,
    uint64_t last_seq, ngx_uint_t replay, ngx_http_hotline_store_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rparty_t  *p;
    u_char                      hex[NGX_HOTLINE_ID_HEX];

    if (!ngx_http_hotline_redis_up()) {
        handler(s, NGX_HOTLINE_E_UNAVAILABLE, NULL, data);
        return;
    }

    p = ngx_http_hotline_rparty_new();
    req = p ? ngx_http_hotline_rreq(NGX_HOTLINE_ROP_RESUME,
                                    NGX_HOTLINE_LUA_RESUME, p->node.key,
                                    NGX_HOTLINE_ID_HEX + s->sub_len + 64)
            : NULL;

    if (req == NULL || p == NULL) {
        if (req) {
            ngx_free(req);
        }

        if (p) {
            ngx_http_hotline_rparty_free(p);
        }

        handler(s, NGX_HOTLINE_E_INTERNAL, NULL, data);
        return;
    }

    req->session = s;
    req->party = p;
    req->handler = handler;
    req->data = data;

    if (s->party) {
        /*
         * the resume may take over the session's own party: that
         * "replaced" is expected, the new attach follows; messages sent
         * meanwhile go out for the new attach (Redis runs them after the
         * resume, on the same connection)
         */
        ((ngx_http_hotline_rparty_t *) s->party)->superseded = 1;
        ((ngx_http_hotline_rparty_t *) s->party)->successor = p;
    }

    ngx_hex_dump(p->token, token, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(req->token, token, NGX_HOTLINE_ID_LEN);
    ngx_hex_dump(hex, token, NGX_HOTLINE_ID_LEN);
    ngx_http_hotline_rreq_arg(req, hex, NGX_HOTLINE_ID_HEX);
    ngx_http_hotline_rreq_num(req, s->role);
    ngx_http_hotline_rreq_arg(req, s->sub, s->sub_len);
    ngx_http_hotline_rreq_num(req, replay ? last_seq : 0);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


/* an operation of the party this session holds: NULL if it has none */

static ngx_http_hotline_rreq_t *
ngx_http_hotline_redis_op(ngx_http_hotline_session_t *s, ngx_uint_t op,
    ngx_uint_t script, size_t extra, ngx_http_hotline_store_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rparty_t  *p;

    p = s->party;

    if (p && p->superseded && p->successor) {
        p = p->successor;
    }

    if (p == NULL || p->replaced || p->lost) {
        handler(s, NGX_HOTLINE_E_BAD_STATE, NULL, data);
        return NULL;
    }

    if (!ngx_http_hotline_redis_up()) {
        handler(s, NGX_HOTLINE_E_UNAVAILABLE, NULL, data);
        return NULL;
    }

    req = ngx_http_hotline_rreq(op, script, p->node.key,
                                NGX_HOTLINE_ID_HEX + extra + 8);
    if (req == NULL) {
        handler(s, NGX_HOTLINE_E_INTERNAL, NULL, data);
        return NULL;
    }

    req->session = s;
    req->handler = handler;
    req->data = data;

    ngx_http_hotline_rreq_arg(req, p->token, NGX_HOTLINE_ID_HEX);

    return req;
}


static void
ngx_http_hotline_redis_accept(ngx_http_hotline_session_t *s, u_char *call_id,
    ngx_http_hotline_store_pt handler, void *data)
{
    u_char                       *last;
    ngx_http_hotline_rreq_t      *req;
    ngx_http_hotline_recorder_t  *rec;
    u_char                        hex[NGX_HOTLINE_ID_HEX];
    u_char                        suffix[NGX_HOTLINE_RECORDING_MAX];

    rec = s->main_conf->recorder;

    if (rec && call_id == NULL) {
        /*
         * the recording tokens name the call: find the oldest one first
         * (another agent may take it meanwhile: "taken")
         */
        req = ngx_http_hotline_redis_op(s, NGX_HOTLINE_ROP_PEEK,
                                        NGX_HOTLINE_LUA_QUEUE, 16, handler,
                                        data);
        if (req == NULL) {
            return;
        }

        /* the queue script takes the maximum in place of the token */
        req->argc--;
        ngx_http_hotline_rreq_num(req, 1);

        s->pending++;
        ngx_http_hotline_rreq_send(req);
        return;
    }

    req = ngx_http_hotline_redis_op(s, NGX_HOTLINE_ROP_ACCEPT,
                                    NGX_HOTLINE_LUA_ACCEPT,
                                    NGX_HOTLINE_ID_HEX
                                    + 2 * NGX_HOTLINE_RECORDING_MAX + 8,
                                    handler, data);
    if (req == NULL) {
        return;
    }

    if (call_id) {
        ngx_hex_dump(hex, call_id, NGX_HOTLINE_ID_LEN);
        ngx_http_hotline_rreq_arg(req, hex, NGX_HOTLINE_ID_HEX);

    } else {
        ngx_http_hotline_rreq_arg(req, hex, 0);
    }

    /* each party's own recording token, after the peer */

    last = rec ? ngx_http_hotline_recording(suffix, rec, call_id,
                                            NGX_HOTLINE_ROLE_CUSTOMER)
               : suffix;
    ngx_http_hotline_rreq_arg(req, suffix, last - suffix);

    last = rec ? ngx_http_hotline_recording(suffix, rec, call_id,
                                            NGX_HOTLINE_ROLE_AGENT)
               : suffix;
    ngx_http_hotline_rreq_arg(req, suffix, last - suffix);

    ngx_http_hotline_rreq_num(req, rec ? 1 : 0);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_reject(ngx_http_hotline_session_t *s, u_char *call_id,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;
    u_char                    hex[NGX_HOTLINE_ID_HEX];

    req = ngx_http_hotline_redis_op(s, NGX_HOTLINE_ROP_END,
                                    NGX_HOTLINE_LUA_REJECT,
                                    NGX_HOTLINE_ID_HEX, handler, data);
    if (req == NULL) {
        return;
    }

    ngx_hex_dump(hex, call_id, NGX_HOTLINE_ID_LEN);
    ngx_http_hotline_rreq_arg(req, hex, NGX_HOTLINE_ID_HEX);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_ban(ngx_http_hotline_session_t *s, u_char *call_id,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;
    u_char                    hex[NGX_HOTLINE_ID_HEX];

    req = ngx_http_hotline_redis_op(s, NGX_HOTLINE_ROP_BAN,
                                    NGX_HOTLINE_LUA_BAN,
                                    NGX_HOTLINE_ID_HEX, handler, data);
    if (req == NULL) {
        return;
    }

    ngx_hex_dump(hex, call_id, NGX_HOTLINE_ID_LEN);
    ngx_http_hotline_rreq_arg(req, hex, NGX_HOTLINE_ID_HEX);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_hangup(ngx_http_hotline_session_t *s,
    ngx_http_hotline_store_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_redis_op(s, NGX_HOTLINE_ROP_END,
                                    NGX_HOTLINE_LUA_HANGUP, 0, handler, data);
    if (req == NULL) {
        return;
    }

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_relay(ngx_http_hotline_session_t *s, u_char *msg,
    size_t len, ngx_http_hotline_store_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    req = ngx_http_hotline_redis_op(s, NGX_HOTLINE_ROP_RELAY,
                                    NGX_HOTLINE_LUA_RELAY, len, handler,
                                    data);
    if (req == NULL) {
        return;
    }

    ngx_http_hotline_rreq_arg(req, msg, len);

    s->pending++;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_detach(ngx_http_hotline_session_t *s)
{
    ngx_http_hotline_rparty_t  *p;

    p = s->party;

    if (p == NULL || ngx_http_hotline_rs == NULL) {
        return;
    }

    s->party = NULL;

    if (!p->replaced && !p->lost) {
        ngx_http_hotline_redis_send_detach(p->token, p->node.key,
                                           p->delivered);
    }

    ngx_http_hotline_rparty_free(p);
}


static ssize_t
ngx_http_hotline_redis_pull(ngx_http_hotline_session_t *s, u_char *buf,
    size_t size, size_t budget)
{
    u_char                     *pos;
    size_t                      need, bytes;
    ngx_queue_t                *q;
    ngx_http_hotline_rmsg_t    *m;
    ngx_http_hotline_rparty_t  *p;

    p = s->party;

    if (p == NULL) {
        return 0;
    }

    if (p->replaced) {
        return p->superseded ? 0 : NGX_ERROR;
    }

    pos = buf;
    bytes = 0;

    while (!ngx_queue_empty(&p->inbox)) {
        q = ngx_queue_head(&p->inbox);
        m = ngx_queue_data(q, ngx_http_hotline_rmsg_t, link);

        need = ngx_align(sizeof(uint64_t) + sizeof(uint32_t) + m->len, 8);

        if (pos != buf
            && ((size_t) (buf + size - pos) < need || bytes + m->len > budget))
        {
            break;
        }

        ngx_queue_remove(q);
        p->inbox_bytes -= m->len;
        p->delivered = m->seq;

        if ((size_t) (buf + size - pos) < need) {
            /* not reached: buf has room for the largest message */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: message of %uz bytes does not fit",
                          m->len);
            ngx_free(m);
            continue;
        }

        bytes += m->len;

        ngx_memcpy(pos, &m->seq, sizeof(uint64_t));
        *(uint32_t *) (pos + sizeof(uint64_t)) = (uint32_t) m->len;
        ngx_memcpy(pos + sizeof(uint64_t) + sizeof(uint32_t), m->data,
                   m->len);
        pos += need;

        ngx_free(m);
    }

    /*
     * Redis makes room for new messages by dropping what was delivered:
     * it is told every quarter of the replay buffer
     */

    p->unreported += bytes;

    if (p->unreported >= ngx_http_hotline_rs->hmcf->replay_buffer / 4) {
        ngx_http_hotline_redis_delivered(p);
    }

    return pos - buf;
}


static void
ngx_http_hotline_redis_queue(ngx_http_hotline_queue_pt handler, void *data)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (!ngx_http_hotline_redis_up()) {
        handler(NULL, data);
        return;
    }

    rs->queue_handler = handler;
    rs->queue_data = data;

    if (rs->queue_busy) {
        /* one snapshot at a time; the next one follows this one */
        rs->queue_again = 1;
        return;
    }

    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_QUEUE, NGX_HOTLINE_LUA_QUEUE,
                                0, 32);
    if (req == NULL) {
        handler(NULL, data);
        return;
    }

    ngx_http_hotline_rreq_num(req, rs->hmcf->queue_size);

    rs->queue_busy = 1;
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_queue_done(ngx_http_hotline_rreq_t *req,
    redisReply *r)
{
    size_t                          k, n;
    ngx_str_t                       name, id;
    ngx_http_hotline_queue_t       *snap;
    ngx_http_hotline_rstore_t      *rs;
    ngx_http_hotline_queue_pt       handler;
    ngx_http_hotline_queue_item_t  *it;

    rs = ngx_http_hotline_rs;
    snap = &rs->snapshot;
    handler = rs->queue_handler;

    rs->queue_busy = 0;

    if (ngx_http_hotline_reply_err(r) != NGX_HOTLINE_OK
        || r->elements < 5)
    {
        rs->queue_again = 0;
        handler(NULL, rs->queue_data);
        return;
    }

    n = rs->hmcf->queue_size;

    if (rs->snapshot_size < n) {
        it = ngx_alloc(n * sizeof(ngx_http_hotline_queue_item_t), rs->log);
        if (it == NULL) {
            handler(NULL, rs->queue_data);
            return;
        }

        if (snap->items) {
            ngx_free(snap->items);
        }

        snap->items = it;
        rs->snapshot_size = n;
    }

    snap->n = 0;
    snap->agents_online = ngx_http_hotline_reply_int(r, 1);
    snap->agents_busy = ngx_http_hotline_reply_int(r, 2);
    snap->avg_handle = ngx_http_hotline_reply_int(r, 3);

    for (k = 5; k + 4 <= r->elements && snap->n < rs->snapshot_size; k += 4)
    {
        it = &snap->items[snap->n];

        id = ngx_http_hotline_reply_str(r, k + 1);
        name = ngx_http_hotline_reply_str(r, k + 3);

        if (id.len != NGX_HOTLINE_ID_HEX
            || ngx_http_hotline_unhex(it->call_id, id.data, id.len) != NGX_OK)
        {
            continue;
        }

        it->ticket = (uint64_t) ngx_http_hotline_reply_int(r, k);
        it->joined = ngx_http_hotline_reply_int(r, k + 2);
        it->name_len = ngx_min(name.len, sizeof(it->name));
        ngx_memcpy(it->name, name.data, it->name_len);

        snap->n++;
    }

    rs->gauges.waiting = snap->n;
    rs->gauges.active = ngx_http_hotline_reply_int(r, 4);
    rs->gauges.agents_online = snap->agents_online;
    rs->gauges.agents_busy = snap->agents_busy;

    handler(snap, rs->queue_data);

    if (rs->queue_again && ngx_http_hotline_rs) {
        rs->queue_again = 0;
        ngx_http_hotline_redis_queue(rs->queue_handler, rs->queue_data);
    }
}


static void
ngx_http_hotline_redis_stats(ngx_http_hotline_stats_t *st)
{
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (rs == NULL) {
        st->up = 0;
        return;
    }

    *st = rs->gauges;
    st->up = (rs->state == NGX_HOTLINE_REDIS_UP);

    /* the node's zone: counters and mailboxes (the state is in Redis) */
    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
    st->size = ngx_http_hotline_shpool->end
               - (u_char *) ngx_http_hotline_shpool;
    st->used = st->size - ngx_http_hotline_shpool->pfree * ngx_pagesize;
    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
}


/* keyed records */

static ngx_int_t
ngx_http_hotline_redis_kv_req(ngx_uint_t op, ngx_uint_t script,
    ngx_str_t *key, size_t extra, ngx_http_hotline_kv_pt handler,
    void *data, ngx_http_hotline_rreq_t **reqp)
{
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;

    rs = ngx_http_hotline_rs;

    if (key->len == 0 || key->len > NGX_HOTLINE_KV_KEY) {
        ngx_http_hotline_redis_kv_fail(handler, data,
                                       NGX_HOTLINE_E_INTERNAL);
        return NGX_ERROR;
    }

    if (!ngx_http_hotline_redis_up()) {
        ngx_http_hotline_redis_kv_fail(handler, data,
                                       NGX_HOTLINE_E_UNAVAILABLE);
        return NGX_ERROR;
    }

    req = ngx_http_hotline_rreq(op, script, 0,
                                rs->conf->prefix.len + key->len + extra);
    if (req == NULL) {
        ngx_http_hotline_redis_kv_fail(handler, data,
                                       NGX_HOTLINE_E_INTERNAL);
        return NGX_ERROR;
    }

    req->kv_handler = handler;
    req->data = data;

    if (script == NGX_HOTLINE_LUA_N) {
        /* a plain command: argv[0] is its name */
        req->argc = 1;
    }

    /* the full key: prefix and key */
    req->argv[req->argc] = (char *) req->pos;
    req->argvlen[req->argc++] = rs->conf->prefix.len + key->len;
    req->pos = ngx_cpymem(req->pos, rs->conf->prefix.data,
                          rs->conf->prefix.len);
    req->pos = ngx_cpymem(req->pos, key->data, key->len);

    *reqp = req;

    return NGX_OK;
}


static void
ngx_http_hotline_redis_kv_fail(ngx_http_hotline_kv_pt handler, void *data,
    ngx_uint_t err)
{
    ngx_memzero(&ngx_http_hotline_rkv, offsetof(ngx_http_hotline_kv_t, value));
    ngx_http_hotline_rkv.len = 0;
    ngx_http_hotline_rkv.ttl = 0;
    ngx_http_hotline_rkv.retry_after = 0;

    handler(data, err, &ngx_http_hotline_rkv);
}


static void
ngx_http_hotline_redis_kv_get(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t  *req;

    if (ngx_http_hotline_redis_kv_req(NGX_HOTLINE_ROP_KV_GET,
                                      NGX_HOTLINE_LUA_KV_GET, key, 0,
                                      handler, data, &req)
        == NGX_OK)
    {
        ngx_http_hotline_rreq_send(req);
    }
}


static void
ngx_http_hotline_redis_kv_set(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl, ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    if (value->len > NGX_HOTLINE_KV_VALUE) {
        ngx_http_hotline_redis_kv_fail(handler, data,
                                       NGX_HOTLINE_E_INTERNAL);
        return;
    }

    if (ngx_http_hotline_redis_kv_req(NGX_HOTLINE_ROP_KV_SET,
                                      NGX_HOTLINE_LUA_N, key,
                                      value->len + 32, handler, data, &req)
        != NGX_OK)
    {
        return;
    }

    /* SET key value PX ttl GET: "found" is whether it existed */
    req->argv[0] = "SET";
    req->argvlen[0] = 3;
    ngx_http_hotline_rreq_arg(req, value->data, value->len);
    ngx_http_hotline_rreq_arg(req, (u_char *) "PX", 2);
    ngx_http_hotline_rreq_num(req, ttl ? ttl : 1);
    ngx_http_hotline_rreq_arg(req, (u_char *) "GET", 3);
    req->gen = ttl;

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_kv_del(ngx_str_t *key, ngx_http_hotline_kv_pt handler,
    void *data)
{
    ngx_http_hotline_rreq_t  *req;

    if (ngx_http_hotline_redis_kv_req(NGX_HOTLINE_ROP_KV_DEL,
                                      NGX_HOTLINE_LUA_N, key, 0, handler,
                                      data, &req)
        != NGX_OK)
    {
        return;
    }

    /* GETDEL: atomic, so of two deletes one finds it */
    req->argv[0] = "GETDEL";
    req->argvlen[0] = 6;

    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_kv_incr(ngx_str_t *key, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    if (ngx_http_hotline_redis_kv_req(NGX_HOTLINE_ROP_KV_INCR,
                                      NGX_HOTLINE_LUA_KV_INCR, key, 32,
                                      handler, data, &req)
        == NGX_OK)
    {
        ngx_http_hotline_rreq_num(req, ttl ? ttl : 1);
        ngx_http_hotline_rreq_send(req);
    }
}


static void
ngx_http_hotline_redis_limit(ngx_str_t *key, ngx_msec_t interval,
    ngx_uint_t burst, ngx_http_hotline_kv_pt handler, void *data)
{
    ngx_http_hotline_rreq_t  *req;

    if (ngx_http_hotline_redis_kv_req(NGX_HOTLINE_ROP_LIMIT,
                                      NGX_HOTLINE_LUA_LIMIT, key, 64,
                                      handler, data, &req)
        == NGX_OK)
    {
        ngx_http_hotline_rreq_num(req, interval ? interval : 1);
        ngx_http_hotline_rreq_num(req, burst);
        ngx_http_hotline_rreq_send(req);
    }
}


/* revoked:<jti> for ttl, then every worker of every node is told */

static void
ngx_http_hotline_redis_revoke(u_char *jti, size_t len, ngx_msec_t ttl,
    ngx_http_hotline_kv_pt handler, void *data)
{
    u_char                     *p;
    ngx_str_t                   key, value;
    ngx_http_hotline_rreq_t    *req;
    ngx_http_hotline_rstore_t  *rs;
    u_char                      buf[NGX_HOTLINE_KV_KEY];

    rs = ngx_http_hotline_rs;

    if (len > NGX_HOTLINE_KV_KEY - sizeof("revoked:")) {
        len = NGX_HOTLINE_KV_KEY - sizeof("revoked:");
    }

    p = ngx_cpymem(buf, "revoked:", sizeof("revoked:") - 1);
    p = ngx_cpymem(p, jti, len);

    key.data = buf;
    key.len = p - buf;
    ngx_str_set(&value, "1");

    ngx_http_hotline_redis_kv_set(&key, &value, ttl, handler, data);

    if (!ngx_http_hotline_redis_up()) {
        return;
    }

    /* after the SET on the same connection */
    req = ngx_http_hotline_rreq(NGX_HOTLINE_ROP_PLAIN, NGX_HOTLINE_LUA_N, 0,
                                rs->achannel.len + 8);
    if (req == NULL) {
        return;
    }

    req->argv[0] = "PUBLISH";
    req->argvlen[0] = 7;
    req->argc = 1;
    ngx_http_hotline_rreq_arg(req, rs->achannel.data, rs->achannel.len);
    ngx_http_hotline_rreq_arg(req, (u_char *) "1", 1);
    ngx_http_hotline_rreq_send(req);
}


static void
ngx_http_hotline_redis_kv_done(ngx_http_hotline_rreq_t *req, redisReply *r)
{
    int64_t                 n;
    ngx_str_t               v;
    ngx_http_hotline_kv_t  *kv;

    kv = &ngx_http_hotline_rkv;

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        ngx_http_hotline_redis_kv_fail(req->kv_handler, req->data,
                                       NGX_HOTLINE_E_UNAVAILABLE);
        return;
    }

    ngx_memzero(kv, offsetof(ngx_http_hotline_kv_t, value));
    kv->len = 0;
    kv->ttl = 0;
    kv->retry_after = 0;

    switch (req->op) {

    case NGX_HOTLINE_ROP_KV_GET:
    case NGX_HOTLINE_ROP_KV_DEL:

        if (req->op == NGX_HOTLINE_ROP_KV_GET) {
            if (r->type != REDIS_REPLY_ARRAY
                || ngx_http_hotline_reply_int(r, 0) == 0)
            {
                break;
            }

            v = ngx_http_hotline_reply_str(r, 1);
            n = ngx_http_hotline_reply_int(r, 2);
            kv->ttl = n > 0 ? (ngx_msec_t) n : 0;

        } else {
            if (r->type != REDIS_REPLY_STRING) {
                break;
            }

            v.data = (u_char *) r->str;
            v.len = r->len;
        }

        kv->found = 1;
        kv->len = ngx_min(v.len, NGX_HOTLINE_KV_VALUE);
        ngx_memcpy(kv->value, v.data, kv->len);

        /* a counter reads as a number too */
        n = ngx_atoi(v.data, v.len);
        kv->number = (n == NGX_ERROR) ? 0 : n;
        break;

    case NGX_HOTLINE_ROP_KV_SET:
        kv->found = (r->type == REDIS_REPLY_STRING);
        kv->ttl = (ngx_msec_t) req->gen;
        break;

    case NGX_HOTLINE_ROP_KV_INCR:
        kv->found = 1;
        kv->number = ngx_http_hotline_reply_int(r, 0);
        n = ngx_http_hotline_reply_int(r, 1);
        kv->ttl = n > 0 ? (ngx_msec_t) n : 0;
        break;

    default: /* limit */
        kv->retry_after = (ngx_msec_t) ngx_http_hotline_reply_int(r, 1);
        kv->number = ngx_http_hotline_reply_int(r, 2);
        kv->found = ngx_http_hotline_reply_int(r, 0) ? 1 : 0;

        if (kv->retry_after && ngx_http_hotline_zone) {
            (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->limited, 1);
        }

        break;
    }

    req->kv_handler(req->data, NGX_HOTLINE_OK, kv);
}


/* replies */

static ngx_uint_t
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

    if (n < 0 || n >= NGX_HOTLINE_E_MAX) {
        return NGX_HOTLINE_E_INTERNAL;
    }

    return (ngx_uint_t) n;
}


int64_t
ngx_http_hotline_reply_int(redisReply *r, size_t i)
{
    ngx_int_t    n;
    redisReply  *e;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements) {
        return 0;
    }

    e = r->element[i];

    if (e->type == REDIS_REPLY_INTEGER) {
        return e->integer;
    }

    if (e->type == REDIS_REPLY_STRING && e->len > 0) {
        n = ngx_atoi((u_char *) e->str, e->len);
        return n == NGX_ERROR ? 0 : n;
    }

    return 0;
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
