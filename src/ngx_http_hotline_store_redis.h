
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_redis.h"


/*
 * The Lua side of the Redis store (ngx_http_hotline_store_redis_lua.c).
 * Signaling scripts start with a common prelude and take ARGV[1..7]:
 * key prefix, replay buffer bytes, grace ms, key TTL ms, default
 * handling time ms, the caller's channel and attach generation; their
 * own arguments follow from ARGV[8].  Keyed-record scripts take KEYS[1].
 */


#define NGX_HOTLINE_LUA_JOIN      0
#define NGX_HOTLINE_LUA_AGENT     1
#define NGX_HOTLINE_LUA_RESUME    2
#define NGX_HOTLINE_LUA_ACCEPT    3
#define NGX_HOTLINE_LUA_REJECT    4
#define NGX_HOTLINE_LUA_HANGUP    5
#define NGX_HOTLINE_LUA_RELAY     6
#define NGX_HOTLINE_LUA_DETACH    7
#define NGX_HOTLINE_LUA_DELIVERED 8
#define NGX_HOTLINE_LUA_SYNC      9
#define NGX_HOTLINE_LUA_SWEEP     10
#define NGX_HOTLINE_LUA_QUEUE     11
#define NGX_HOTLINE_LUA_BAN       12
#define NGX_HOTLINE_LUA_KV_GET    13
#define NGX_HOTLINE_LUA_KV_INCR   14
#define NGX_HOTLINE_LUA_LIMIT     15
#define NGX_HOTLINE_LUA_HISTORY   16
#define NGX_HOTLINE_LUA_DAYS      17
#define NGX_HOTLINE_LUA_N         18

/* the signaling scripts (below NGX_HOTLINE_LUA_KV_GET) use the prelude */
#define NGX_HOTLINE_LUA_ARGS      7


typedef struct {
    const char   *name;
    const char   *body;
} ngx_http_hotline_lua_t;


extern const char              *ngx_http_hotline_lua_prelude;
extern ngx_http_hotline_lua_t   ngx_http_hotline_lua[NGX_HOTLINE_LUA_N];


/* ngx_http_hotline_store_redis.c, for the store's other parts */

typedef void (*ngx_http_hotline_redis_reply_pt)(void *data, redisReply *r);

void ngx_http_hotline_redis_call(ngx_uint_t script, ngx_str_t *key,
    ngx_str_t *args, ngx_uint_t nargs, ngx_http_hotline_redis_reply_pt handler,
    void *data);
ngx_str_t *ngx_http_hotline_redis_prefix(void);
int64_t ngx_http_hotline_reply_int(redisReply *r, size_t i);
ngx_str_t ngx_http_hotline_reply_str(redisReply *r, size_t i);

/* ngx_http_hotline_store_redis_history.c */
void ngx_http_hotline_redis_history(ngx_http_hotline_history_query_t *q,
    ngx_http_hotline_history_pt handler, void *data);


#endif /* _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_ */
