
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "ngx_http_hotline_auth.h"
#include "ngx_http_hotline_guard.h"
#include "ngx_http_hotline_notify.h"


/*
 * One-time login codes: hotline_otp_request and hotline_otp_verify.
 *
 * A code is 6 digits from the CSPRNG, kept in the store only as
 * HMAC-SHA256(key, "<user>:<code>") under "otp:<user>" for 5 minutes and
 * sent to the agent's Telegram chat.  A request for a name that is not a
 * configured agent does the same store work and gets the same answer.
 * Verification is one bounded attempt of the store (kv_attempt): unless
 * "lock:<user>" exists, the attempt is counted in "fail:<user>" (15
 * minutes) and the first five get the stored HMAC, all in one atomic
 * step, so that concurrent guesses on any worker or node never get more
 * than five comparisons; it is compared in constant time; a match is
 * deleted, and only the request whose delete found it wins (single use);
 * the fifth failure locks the user for 15 minutes.  Each step is one
 * store operation; the store may answer at once or later, so every
 * handler is a small state machine that resumes.
 */


#define NGX_HOTLINE_MAC_HEX       64

/* the largest multiple of 10^6 that fits in 2^32: 4294 * 10^6 */
#define NGX_HOTLINE_OTP_LIMIT     4294000000U


typedef enum {
    sw_otp_start = 0,
    sw_otp_ip_limited,
    sw_otp_user_limited,
    sw_otp_stored,
    sw_otp_attempted,
    sw_otp_code_taken,
    sw_otp_failures_reset,
    sw_otp_locked
} ngx_http_hotline_otp_state_e;


typedef struct {
    ngx_http_hotline_kv_call_t     call;
    ngx_http_hotline_otp_state_e   state;
    ngx_uint_t                     verify;       /* 0: request */
    ngx_http_hotline_agent_t      *agent;        /* NULL: not an agent */
    ngx_str_t                      user;
    ngx_str_t                      key;
    ngx_str_t                      value;
    int64_t                        attempt;      /* its number */
    u_char                         user_data[NGX_HOTLINE_USER_MAX];
    u_char                         code[NGX_HOTLINE_OTP_DIGITS];
    u_char                         mac[NGX_HOTLINE_MAC_HEX];
    u_char                         key_data[NGX_HOTLINE_KV_KEY];
    u_char                         fail_data[sizeof("fail:") - 1
                                             + NGX_HOTLINE_USER_MAX];
    u_char                         lock_data[sizeof("lock:") - 1
                                             + NGX_HOTLINE_USER_MAX];
} ngx_http_hotline_otp_t;


/* a code on its way to Telegram, after the answer */
typedef struct {
    ngx_event_t                    ev;
    ngx_http_hotline_agent_t      *agent;
    u_char                         code[NGX_HOTLINE_OTP_DIGITS];
} ngx_http_hotline_otp_send_t;


static void ngx_http_hotline_otp_send(ngx_event_t *ev);
static void ngx_http_hotline_otp_request_body(ngx_http_request_t *r,
    u_char *body, size_t len);
static void ngx_http_hotline_otp_verify_body(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_http_hotline_otp_t *ngx_http_hotline_otp_create(
    ngx_http_request_t *r, u_char *body, size_t len, ngx_uint_t verify);
static void ngx_http_hotline_otp_resume(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call);
static void ngx_http_hotline_otp_run(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_step(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_limited(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_attempt(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_attempted(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_failed(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_sent(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op);
static ngx_int_t ngx_http_hotline_otp_op(ngx_http_hotline_otp_t *op,
    ngx_uint_t kind, const char *prefix, ngx_str_t *value, ngx_msec_t msec,
    ngx_uint_t burst);
static ngx_uint_t ngx_http_hotline_otp_flags(ngx_http_hotline_otp_t *op,
    ngx_uint_t agent);
static ngx_int_t ngx_http_hotline_otp_started(ngx_int_t rc);
static ngx_int_t ngx_http_hotline_otp_generate(u_char *code);
static ngx_int_t ngx_http_hotline_otp_mac(ngx_http_request_t *r,
    ngx_str_t *user, u_char *code, u_char *hex);
static ngx_uint_t ngx_http_hotline_otp_match(ngx_http_hotline_otp_t *op);


ngx_int_t
ngx_http_hotline_otp_request_handler(ngx_http_request_t *r)
{
    return ngx_http_hotline_read_json(r, ngx_http_hotline_otp_request_body);
}


ngx_int_t
ngx_http_hotline_otp_verify_handler(ngx_http_request_t *r)
{
    return ngx_http_hotline_read_json(r, ngx_http_hotline_otp_verify_body);
}


static void
ngx_http_hotline_otp_request_body(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    ngx_http_hotline_otp_t  *op;

    op = ngx_http_hotline_otp_create(r, body, len, 0);

    if (op) {
        ngx_http_hotline_otp_run(r, op);
    }
}


static void
ngx_http_hotline_otp_verify_body(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    ngx_http_hotline_otp_t  *op;

    op = ngx_http_hotline_otp_create(r, body, len, 1);

    if (op) {
        ngx_http_hotline_otp_run(r, op);
    }
}


/*
 * The body (ngx_http_hotline_login_json.c): {"username": "..."} for a
 * request, and "code" besides for a verification.  On a bad body the
 * request is finalized with 400 and NULL returned.
 */

static ngx_http_hotline_otp_t *
ngx_http_hotline_otp_create(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_uint_t verify)
{
    ngx_int_t                  rc;
    const char                *code, *message;
    ngx_http_hotline_otp_t    *op;
    ngx_http_hotline_login_t   login;

    rc = ngx_http_hotline_login_parse(body, len, verify, &login);

    switch (rc) {

    case NGX_HOTLINE_LOGIN_OK:
        break;

    case NGX_HOTLINE_LOGIN_BAD_USERNAME:
        code = "bad_username";
        message = "username must be 1 to 64 of a-z 0-9 . _ -";
        goto invalid;

    case NGX_HOTLINE_LOGIN_BAD_CODE:
        code = "bad_code";
        message = "code must be a string of 6 digits";
        goto invalid;

    case NGX_HOTLINE_LOGIN_BAD_JSON:
        code = "bad_json";
        message = verify ? "the body must be a JSON object with username "
                           "and code, nothing else"
                         : "the body must be a JSON object with username, "
                           "nothing else";
        goto invalid;

    default: /* NGX_ERROR */
        ngx_explicit_memzero(login.code, NGX_HOTLINE_OTP_DIGITS);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NULL;
    }

    op = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_otp_t));
    if (op == NULL) {
        ngx_explicit_memzero(login.code, NGX_HOTLINE_OTP_DIGITS);
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return NULL;
    }

    op->verify = verify;
    op->user.data = op->user_data;
    op->user.len = login.user_len;
    ngx_memcpy(op->user_data, login.user, login.user_len);

    if (verify) {
        ngx_memcpy(op->code, login.code, NGX_HOTLINE_OTP_DIGITS);
        ngx_explicit_memzero(login.code, NGX_HOTLINE_OTP_DIGITS);
    }

    op->agent = ngx_http_hotline_agent_find(r, &op->user);
    op->call.request = r;
    op->call.resume = ngx_http_hotline_otp_resume;
    op->call.data = op;
    op->key.data = op->key_data;

    return op;

invalid:

    ngx_explicit_memzero(login.code, NGX_HOTLINE_OTP_DIGITS);

    ngx_http_finalize_request(r,
        ngx_http_hotline_json_error(r, NGX_HTTP_BAD_REQUEST, code, message));

    return NULL;
}


static void
ngx_http_hotline_otp_resume(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call)
{
    ngx_http_hotline_otp_run(r, call->data);
}


/*
 * Runs steps while the store answers at once; returns when an answer is
 * under way (the resume comes back here) or the request is finalized.
 */

static void
ngx_http_hotline_otp_run(ngx_http_request_t *r, ngx_http_hotline_otp_t *op)
{
    ngx_int_t  rc;

    for ( ;; ) {
        rc = ngx_http_hotline_otp_step(r, op);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc == NGX_AGAIN) {
            return;
        }

        ngx_explicit_memzero(op->code, NGX_HOTLINE_OTP_DIGITS);

        ngx_http_finalize_request(r, rc);
        return;
    }
}


/*
 * Handles the answer of the previous store operation and starts the next
 * one: NGX_DECLINED (its answer is in), NGX_AGAIN (it is under way), or
 * the request's final code.
 */

static ngx_int_t
ngx_http_hotline_otp_step(ngx_http_request_t *r, ngx_http_hotline_otp_t *op)
{
    u_char                            *p;
    ngx_http_hotline_auth_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_auth_module);

    if (op->state != sw_otp_start
        && op->call.err != NGX_HOTLINE_OK)
    {
        return ngx_http_hotline_store_error(r, op->call.err);
    }

    switch (op->state) {

    case sw_otp_start:

        /*
         * "rl:otp_ip:<client>" or "rl:otp_verify_ip:<client>": the
         * address, an IPv6 one cut to its prefix
         */

        if (alcf->ip_interval) {
            op->state = sw_otp_ip_limited;

            p = ngx_cpymem(op->key_data,
                           op->verify ? "rl:otp_verify_ip:" : "rl:otp_ip:",
                           op->verify ? sizeof("rl:otp_verify_ip:") - 1
                                      : sizeof("rl:otp_ip:") - 1);
            p += ngx_http_hotline_client_key(r, p);
            op->key.len = p - op->key_data;

            return ngx_http_hotline_otp_started(
                       ngx_http_hotline_kv_call(&op->call,
                                                NGX_HOTLINE_KV_LIMIT,
                                                &op->key, NULL,
                                                alcf->ip_interval,
                                                alcf->ip_burst));
        }

        /* fall through */

    case sw_otp_ip_limited:

        if (op->state == sw_otp_ip_limited
            && op->call.kv.retry_after)
        {
            return ngx_http_hotline_otp_limited(r, op);
        }

        if (op->verify) {
            return ngx_http_hotline_otp_attempt(r, op);
        }

        op->state = sw_otp_user_limited;
        return ngx_http_hotline_otp_op(op, NGX_HOTLINE_KV_LIMIT, "rl:otp:",
                                       NULL, NGX_HOTLINE_OTP_USER_INTERVAL,
                                       NGX_HOTLINE_OTP_USER_BURST);

    case sw_otp_user_limited:

        if (op->call.kv.retry_after) {
            return ngx_http_hotline_otp_limited(r, op);
        }

        /* a name that is no agent gets a code too, which goes nowhere */

        if (ngx_http_hotline_otp_generate(op->code) != NGX_OK
            || ngx_http_hotline_otp_mac(r, &op->user, op->code, op->mac)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        op->value.data = op->mac;
        op->value.len = NGX_HOTLINE_MAC_HEX;

        op->state = sw_otp_stored;
        op->call.flags = ngx_http_hotline_otp_flags(op, 0);
        return ngx_http_hotline_otp_op(op, NGX_HOTLINE_KV_SET, "otp:",
                                       &op->value, NGX_HOTLINE_OTP_TTL, 0);

    case sw_otp_stored:
        return ngx_http_hotline_otp_sent(r, op);

    case sw_otp_attempted:
        return ngx_http_hotline_otp_attempted(r, op);

    case sw_otp_code_taken:

        /* the delete that found our code wins; anyone else lost */

        if (!ngx_http_hotline_otp_match(op)) {
            return ngx_http_hotline_otp_failed(r, op);
        }

        op->state = sw_otp_failures_reset;
        return ngx_http_hotline_otp_op(op, NGX_HOTLINE_KV_DEL, "fail:", NULL,
                                       0, 0);

    case sw_otp_failures_reset:
        ngx_explicit_memzero(op->code, NGX_HOTLINE_OTP_DIGITS);
        return ngx_http_hotline_session_issue(r, op->agent);

    default: /* sw_otp_locked */

        ngx_http_hotline_audit(r, "login_failed", &op->user, NULL,
                               "bad_code");
        ngx_http_hotline_audit(r, "lockout", &op->user, NULL, NULL);
        ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_FAILED);
        ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_LOCKED);

        return ngx_http_hotline_too_many(r, NGX_HOTLINE_OTP_LOCK, "locked",
                                         "too many failed attempts, "
                                         "try again later");
    }
}


/*
 * One attempt, counted and checked against the lock by the store in one
 * step, which hands out the stored HMAC only to the first five attempts
 */

static ngx_int_t
ngx_http_hotline_otp_attempt(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op)
{
    u_char  *p;

    if (ngx_http_hotline_otp_mac(r, &op->user, op->code, op->mac) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(op->fail_data, "fail:", sizeof("fail:") - 1);
    op->call.counter.data = op->fail_data;
    op->call.counter.len = ngx_cpymem(p, op->user.data, op->user.len)
                           - op->fail_data;

    p = ngx_cpymem(op->lock_data, "lock:", sizeof("lock:") - 1);
    op->call.lock.data = op->lock_data;
    op->call.lock.len = ngx_cpymem(p, op->user.data, op->user.len)
                        - op->lock_data;

    op->state = sw_otp_attempted;
    op->call.flags = ngx_http_hotline_otp_flags(op, NGX_HOTLINE_KV_DURABLE);
    return ngx_http_hotline_otp_op(op, NGX_HOTLINE_KV_ATTEMPT, "otp:", NULL,
                                   NGX_HOTLINE_OTP_LOCK,
                                   NGX_HOTLINE_OTP_MAX_FAILS);
}


static ngx_int_t
ngx_http_hotline_otp_attempted(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op)
{
    if (op->call.kv.retry_after) {
        ngx_http_hotline_audit(r, "login_failed", &op->user, NULL,
                               "locked");
        ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_LOCKED);

        return ngx_http_hotline_too_many(r, op->call.kv.retry_after, "locked",
                                         "too many failed attempts, "
                                         "try again later");
    }

    ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_COMPARED);

    op->attempt = op->call.kv.number;

    if (ngx_http_hotline_otp_match(op)) {
        op->state = sw_otp_code_taken;
        return ngx_http_hotline_otp_op(op, NGX_HOTLINE_KV_DEL, "otp:", NULL,
                                       0, 0);
    }

    return ngx_http_hotline_otp_failed(r, op);
}


/* the stored HMAC (from a get or a delete) is ours; never for non-agents */

static ngx_uint_t
ngx_http_hotline_otp_match(ngx_http_hotline_otp_t *op)
{
    ngx_uint_t  same;

    same = (op->call.kv.found
            && op->call.kv.len == NGX_HOTLINE_MAC_HEX
            && CRYPTO_memcmp(op->call.kv.value, op->mac,
                             NGX_HOTLINE_MAC_HEX) == 0);

    return same && op->agent != NULL;
}


/* a failed attempt: the fifth locks the user */

static ngx_int_t
ngx_http_hotline_otp_failed(ngx_http_request_t *r, ngx_http_hotline_otp_t *op)
{
    ngx_str_t  one;

    if (op->attempt >= NGX_HOTLINE_OTP_MAX_FAILS) {
        ngx_str_set(&one, "1");

        op->state = sw_otp_locked;
        op->call.flags = ngx_http_hotline_otp_flags(op,
                                                    NGX_HOTLINE_KV_DURABLE);
        return ngx_http_hotline_otp_op(op, NGX_HOTLINE_KV_SET, "lock:", &one,
                                       NGX_HOTLINE_OTP_LOCK, 0);
    }

    ngx_http_hotline_audit(r, "login_failed", &op->user, NULL, "bad_code");
    ngx_http_hotline_count_auth(NGX_HOTLINE_AUTH_FAILED);

    return ngx_http_hotline_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                       "invalid_code",
                                       "the code is wrong, used or expired");
}


static ngx_int_t
ngx_http_hotline_otp_limited(ngx_http_request_t *r,
    ngx_http_hotline_otp_t *op)
{
    ngx_http_hotline_audit(r, op->verify ? "verify_limited" : "otp_limited",
                           &op->user, NULL,
                           op->state == sw_otp_ip_limited
                           ? "ip" : "user");

    return ngx_http_hotline_too_many(r, op->call.kv.retry_after,
                                     "rate_limited",
                                     "too many requests, retry later");
}


/*
 * The code is stored: the same answer for every name, sent before the
 * code goes off to Telegram (agents only), from an event posted for
 * after this one: the answer takes the same time whether the name is an
 * agent or not (bench/otp_timing.pl).
 */

static ngx_int_t
ngx_http_hotline_otp_sent(ngx_http_request_t *r, ngx_http_hotline_otp_t *op)
{
    ngx_http_hotline_otp_send_t  *send;

    static u_char  answer[] = "{\"status\":\"accepted\",\"message\":\"if this "
                              "is an agent, a code is on its way\","
                              "\"expires_in\":300}";

    if (op->agent) {
        send = ngx_calloc(sizeof(ngx_http_hotline_otp_send_t),
                          r->connection->log);
        if (send == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        send->agent = op->agent;
        ngx_memcpy(send->code, op->code, NGX_HOTLINE_OTP_DIGITS);

        send->ev.handler = ngx_http_hotline_otp_send;
        send->ev.data = send;
        send->ev.log = ngx_cycle->log;

        ngx_post_event(&send->ev, &ngx_posted_events);

        ngx_http_hotline_audit(r, "otp_requested", &op->user, NULL, NULL);

    } else {
        ngx_http_hotline_audit(r, "otp_requested", &op->user, NULL,
                               "unknown_user");
    }

    ngx_explicit_memzero(op->code, NGX_HOTLINE_OTP_DIGITS);

    return ngx_http_hotline_send_json(r, NGX_HTTP_ACCEPTED, answer,
                                      sizeof(answer) - 1);
}


static void
ngx_http_hotline_otp_send(ngx_event_t *ev)
{
    ngx_http_hotline_otp_send_t *send = ev->data;

    ngx_int_t   rc;
    ngx_str_t   code;

    code.data = send->code;
    code.len = NGX_HOTLINE_OTP_DIGITS;

    rc = ngx_http_hotline_notify_otp((ngx_cycle_t *) ngx_cycle,
                                     &send->agent->chat_id,
                                     &send->agent->username, &code);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                      "hotline: the code for \"%V\" cannot be sent%s",
                      &send->agent->username,
                      rc == NGX_DECLINED ? " (no Telegram configured)" : "");
    }

    ngx_explicit_memzero(send->code, NGX_HOTLINE_OTP_DIGITS);
    ngx_free(send);
}


/* a store operation on "<prefix><user>" */

static ngx_int_t
ngx_http_hotline_otp_op(ngx_http_hotline_otp_t *op, ngx_uint_t kind,
    const char *prefix, ngx_str_t *value, ngx_msec_t msec, ngx_uint_t burst)
{
    u_char  *p;

    p = ngx_cpymem(op->key_data, prefix, ngx_strlen(prefix));
    p = ngx_cpymem(p, op->user.data, op->user.len);
    op->key.len = p - op->key_data;

    return ngx_http_hotline_otp_started(
               ngx_http_hotline_kv_call(&op->call, kind, &op->key, value,
                                        msec, burst));
}


/*
 * What the records of a name are to the store: an agent's lockout
 * survives a restart, its code and counter are kept until they expire;
 * a name that is no agent costs only records that make room for others
 * (a flood of made-up names cannot push an agent's lockout out).
 */

static ngx_uint_t
ngx_http_hotline_otp_flags(ngx_http_hotline_otp_t *op, ngx_uint_t agent)
{
    return op->agent ? agent : NGX_HOTLINE_KV_SPARE;
}


/* a store operation's start in the terms of a step */

static ngx_int_t
ngx_http_hotline_otp_started(ngx_int_t rc)
{
    switch (rc) {

    case NGX_OK:
        return NGX_DECLINED;

    case NGX_AGAIN:
        return NGX_AGAIN;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/* 6 uniform digits: 32-bit draws above the last multiple of 10^6 redrawn */

static ngx_int_t
ngx_http_hotline_otp_generate(u_char *code)
{
    uint32_t    v;
    ngx_uint_t  i;

    do {
        if (RAND_bytes((u_char *) &v, sizeof(v)) != 1) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "hotline: RAND_bytes() failed");
            return NGX_ERROR;
        }
    } while (v >= NGX_HOTLINE_OTP_LIMIT);

    v %= 1000000;

    for (i = NGX_HOTLINE_OTP_DIGITS; i > 0; i--) {
        code[i - 1] = (u_char) ('0' + v % 10);
        v /= 10;
    }

    return NGX_OK;
}


/* hex HMAC-SHA256(jwt key, "<user>:<code>") */

static ngx_int_t
ngx_http_hotline_otp_mac(ngx_http_request_t *r, ngx_str_t *user,
    u_char *code, u_char *hex)
{
    u_char                       *p;
    unsigned int                  n;
    ngx_http_hotline_loc_conf_t  *hlcf;
    u_char                        msg[NGX_HOTLINE_USER_MAX + 1
                                      + NGX_HOTLINE_OTP_DIGITS];
    u_char                        md[EVP_MAX_MD_SIZE];

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);

    p = ngx_cpymem(msg, user->data, user->len);
    *p++ = ':';
    p = ngx_cpymem(p, code, NGX_HOTLINE_OTP_DIGITS);

    n = 0;

    if (HMAC(EVP_sha256(), hlcf->jwt_secret.data, (int) hlcf->jwt_secret.len,
             msg, p - msg, md, &n)
        == NULL || n != 32)
    {
        ngx_explicit_memzero(msg, sizeof(msg));
        return NGX_ERROR;
    }

    ngx_explicit_memzero(msg, sizeof(msg));

    ngx_hex_dump(hex, md, 32);

    return NGX_OK;
}
