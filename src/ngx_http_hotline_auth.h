
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_AUTH_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_AUTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_jwt.h"
#include "ngx_http_hotline_login_json.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_kv_journal.h"


/*
 * Agent login and sessions (ngx_http_hotline_auth_module): the agents
 * registry, one-time codes, session tokens, logout with revocation, the
 * access-phase token check and the audit trail.  docs/auth.md.
 */


#define NGX_HOTLINE_OTP_TTL           300000  /* 5 min */
#define NGX_HOTLINE_OTP_USER_INTERVAL 60000   /* 3 at once, then 1/min */
#define NGX_HOTLINE_OTP_USER_BURST    2
#define NGX_HOTLINE_OTP_MAX_FAILS     5
#define NGX_HOTLINE_OTP_LOCK          900000  /* 15 min */

#define NGX_HOTLINE_SESSION_COOKIE    "__Host-hotline_session"

/* where a token may come from */
#define NGX_HOTLINE_TOKEN_BEARER      0x01
#define NGX_HOTLINE_TOKEN_COOKIE      0x02
#define NGX_HOTLINE_TOKEN_PROTOCOL    0x04

/* answers of the token check besides NGX_OK, NGX_DECLINED, NGX_ERROR */
#define NGX_HOTLINE_TOKEN_UNAVAILABLE NGX_BUSY


typedef struct {
    ngx_str_t                      username;
    ngx_str_t                      chat_id;
    ngx_str_t                      name;         /* display name */
} ngx_http_hotline_agent_t;


typedef struct {
    ngx_array_t                   *agents;       /* sorted by username */
    ngx_str_t                      agents_file;
    ngx_str_t                      state_file;   /* "off": none */
    ngx_http_hotline_kv_journal_t *journal;      /* NULL: none */
} ngx_http_hotline_auth_main_conf_t;


typedef struct {
    ngx_flag_t                     auth_jwt;
    time_t                         jwt_ttl;      /* seconds */
    ngx_msec_t                     ip_interval;  /* 0: no per-IP limit */
    ngx_uint_t                     ip_burst;
    ngx_uint_t                     endpoint;     /* what the handler is */
} ngx_http_hotline_auth_loc_conf_t;


#define NGX_HOTLINE_ENDPOINT_OTP_REQUEST  1
#define NGX_HOTLINE_ENDPOINT_OTP_VERIFY   2
#define NGX_HOTLINE_ENDPOINT_LOGOUT       3
#define NGX_HOTLINE_ENDPOINT_RECORDING    4


/*
 * A store operation on behalf of a request.  The answer is copied into
 * err and kv.  If it came before ngx_http_hotline_kv_call() returned,
 * that returns NGX_OK; otherwise NGX_AGAIN, and resume(r, call) runs when
 * it comes (then the posted requests are run) -- unless the request is
 * gone by then, in which case the answer is dropped.
 */

#define NGX_HOTLINE_KV_GET            0
#define NGX_HOTLINE_KV_SET            1
#define NGX_HOTLINE_KV_DEL            2
#define NGX_HOTLINE_KV_INCR           3
#define NGX_HOTLINE_KV_LIMIT          4
#define NGX_HOTLINE_KV_ATTEMPT        6       /* key: the secret, burst:
                                                 max, msec: ttl */

typedef struct ngx_http_hotline_kv_call_s  ngx_http_hotline_kv_call_t;

typedef void (*ngx_http_hotline_kv_resume_pt)(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call);

struct ngx_http_hotline_kv_call_s {
    ngx_http_request_t            *request;
    ngx_http_hotline_kv_resume_pt  resume;
    void                          *data;
    ngx_uint_t                     err;          /* NGX_HOTLINE_OK, ... */
    ngx_uint_t                     flags;        /* NGX_HOTLINE_KV_* */
    ngx_str_t                      counter;      /* attempt: its counter */
    ngx_str_t                      lock;         /* and its lock */
    ngx_http_hotline_kv_t          kv;
};

ngx_int_t ngx_http_hotline_kv_call(ngx_http_hotline_kv_call_t *call,
    ngx_uint_t op, ngx_str_t *key, ngx_str_t *value, ngx_msec_t msec,
    ngx_uint_t burst);


/*
 * A bearer token and what is known about it: found, verified (HS256,
 * exp, nbf, role "agent"), not revoked.
 */

/*
 * A token on the deny list: the keyed value "revoked:<id>", <id> its jti
 * or "#<hash>" for a token without one (DURABLE, every worker NOTIFYed).
 */
#define NGX_HOTLINE_REVOKED        "revoked:"
#define NGX_HOTLINE_REVOKED_MAX    (sizeof(NGX_HOTLINE_REVOKED) - 1          \
                                    + NGX_HOTLINE_JWT_MAX_CLAIM + 2)


typedef struct ngx_http_hotline_token_s  ngx_http_hotline_token_t;

typedef void (*ngx_http_hotline_token_pt)(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);

struct ngx_http_hotline_token_s {
    ngx_str_t                      token;
    ngx_http_hotline_jwt_claims_t  claims;
    const char                    *reason;       /* static, safe to log */
    ngx_int_t                      rc;
    ngx_http_hotline_token_pt      done;         /* after NGX_AGAIN */
    void                          *data;
    ngx_http_hotline_kv_call_t     call;
    u_char                         key[NGX_HOTLINE_REVOKED_MAX];
    ngx_str_t                      revocation;   /* the key in the store */
    void                          *cached;       /* its entry in the
                                                    worker's cache */
};


/* a JSON body's handler gets its bytes (wiped when it returns) */
typedef void (*ngx_http_hotline_json_pt)(ngx_http_request_t *r,
    u_char *body, size_t len);


/* the module's request context: the access check, then a handler */
typedef struct {
    ngx_http_hotline_token_t       access;
    ngx_http_hotline_json_pt       json_handler;
    unsigned                       access_done:1;
    unsigned                       access_ok:1;
    unsigned                       access_waiting:1;
} ngx_http_hotline_auth_ctx_t;


extern ngx_module_t  ngx_http_hotline_auth_module;


/* ngx_http_hotline_auth_module.c */
ngx_http_hotline_auth_ctx_t *ngx_http_hotline_auth_ctx(ngx_http_request_t *r);

/* ngx_http_hotline_agents.c */
char *ngx_http_hotline_agent_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hotline_agents_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_hotline_agents_init(ngx_conf_t *cf,
    ngx_http_hotline_auth_main_conf_t *amcf);
ngx_http_hotline_agent_t *ngx_http_hotline_agent_find(ngx_http_request_t *r,
    ngx_str_t *username);
ngx_int_t ngx_http_hotline_agent_listed(ngx_http_request_t *r,
    ngx_str_t *username);

/* ngx_http_hotline_json_body.c */
ngx_int_t ngx_http_hotline_read_json(ngx_http_request_t *r,
    ngx_http_hotline_json_pt handler);

/* ngx_http_hotline_otp.c */
ngx_int_t ngx_http_hotline_otp_request_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_hotline_otp_verify_handler(ngx_http_request_t *r);

/* ngx_http_hotline_session_token.c */
ngx_int_t ngx_http_hotline_session_issue(ngx_http_request_t *r,
    ngx_http_hotline_agent_t *agent);
ngx_int_t ngx_http_hotline_logout_handler(ngx_http_request_t *r);

/* ngx_http_hotline_agent_auth.c */
ngx_int_t ngx_http_hotline_token_find(ngx_http_request_t *r,
    ngx_uint_t carriers, ngx_str_t *token);
ngx_int_t ngx_http_hotline_token_verify(ngx_http_request_t *r,
    ngx_str_t *secret, ngx_http_hotline_token_t *tk);
ngx_int_t ngx_http_hotline_token_check(ngx_http_request_t *r,
    ngx_str_t *secret, ngx_uint_t carriers, ngx_http_hotline_token_t *tk);
u_char *ngx_http_hotline_revoked_key(u_char *buf, u_char *id, size_t len);
void ngx_http_hotline_token_id(ngx_http_hotline_token_t *tk, ngx_str_t *id);

/* ngx_http_hotline_token_cache.c */
ngx_int_t ngx_http_hotline_token_cache_get(ngx_str_t *secret,
    ngx_http_hotline_token_t *tk);
void ngx_http_hotline_token_cache_put(ngx_str_t *secret,
    ngx_http_hotline_token_t *tk);
void ngx_http_hotline_token_cache_unrevoked(ngx_http_hotline_token_t *tk,
    ngx_atomic_uint_t notices);
ngx_uint_t ngx_http_hotline_token_cache_still_unrevoked(
    ngx_http_hotline_token_t *tk, ngx_atomic_uint_t notices);

/* ngx_http_hotline_recording_check.c */
ngx_int_t ngx_http_hotline_recording_check_handler(ngx_http_request_t *r);

/* ngx_http_hotline_audit.c */
void ngx_http_hotline_audit(ngx_http_request_t *r, const char *event,
    ngx_str_t *user, ngx_str_t *jti, const char *reason);
void ngx_http_hotline_audit_call(ngx_http_request_t *r, const char *event,
    ngx_str_t *user, ngx_str_t *jti, const char *reason, ngx_str_t *call_id);


#endif /* _NGX_HTTP_HOTLINE_AUTH_H_INCLUDED_ */
