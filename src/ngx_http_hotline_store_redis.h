
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


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
#define NGX_HOTLINE_LUA_SYNC      8
#define NGX_HOTLINE_LUA_SWEEP     9
#define NGX_HOTLINE_LUA_QUEUE     10
#define NGX_HOTLINE_LUA_KV_GET    11
#define NGX_HOTLINE_LUA_KV_INCR   12
#define NGX_HOTLINE_LUA_LIMIT     13
#define NGX_HOTLINE_LUA_N         14

/* the signaling scripts (below NGX_HOTLINE_LUA_KV_GET) use the prelude */
#define NGX_HOTLINE_LUA_ARGS      7


typedef struct {
    const char   *name;
    const char   *body;
} ngx_http_hotline_lua_t;


extern const char              *ngx_http_hotline_lua_prelude;
extern ngx_http_hotline_lua_t   ngx_http_hotline_lua[NGX_HOTLINE_LUA_N];


#endif /* _NGX_HTTP_HOTLINE_STORE_REDIS_H_INCLUDED_ */
