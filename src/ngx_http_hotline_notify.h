
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_NOTIFY_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_NOTIFY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_telegram.h"


/*
 * Notifications: Telegram Bot API messages (sendMessage) delivered in the
 * background by the calling worker, through libcurl's multi interface on
 * the nginx event loop.  Nothing here ever blocks.  A failed attempt is
 * retried with exponential backoff and jitter; after the last attempt the
 * fallback webhook (hotline_notify_fallback) gets a JSON report and the
 * failure is counted (hotline_notifications_total{result="failed"}) and
 * logged with the call id or the user.  OTP codes and the bot token are
 * never logged and never sent to the webhook.  See docs/notify.md.
 *
 * The calls below may be made from any handler of a worker (a request, a
 * WebSocket session, a store completion): they need only the cycle, e.g.
 * (ngx_cycle_t *) ngx_cycle.  They copy what they are given; the caller's
 * buffers may go away as soon as they return.  Return values:
 *
 *     NGX_OK        queued (delivery goes on in the background)
 *     NGX_DECLINED  notifications are not configured (no
 *                   hotline_telegram_token_file), or, for new-call
 *                   notices, no hotline_notify_chat: nothing to do
 *     NGX_BUSY      this worker's queue (hotline_notify_queue) is full:
 *                   counted as failed and logged
 *     NGX_ERROR     bad arguments or out of memory (logged)
 */


#define NGX_HOTLINE_NOTIFY_KIND_OTP   0
#define NGX_HOTLINE_NOTIFY_KIND_CALL  1
#define NGX_HOTLINE_NOTIFY_KIND_TEST  2
#define NGX_HOTLINE_NOTIFY_KIND_MESSAGE   3
#define NGX_HOTLINE_NOTIFY_KIND_CALLBACK  4
#define NGX_HOTLINE_NOTIFY_KIND_WEBHOOK   5   /* hotline_webhook */

#define NGX_HOTLINE_NOTIFY_CHAT_MAX   NGX_HOTLINE_TG_CHAT_MAX  /* 64 */
#define NGX_HOTLINE_NOTIFY_TEXT_MAX   256    /* bytes of user text */


/*
 * A one-time login code for the agent "user", to the Telegram chat
 * chat_id (a numeric id or "@channel").  code: the digits; user: the
 * agent's name, used in the log lines and the fallback report.
 */
ngx_int_t ngx_http_hotline_notify_otp(ngx_cycle_t *cycle, ngx_str_t *chat_id,
    ngx_str_t *user, ngx_str_t *code);

/*
 * A customer is waiting: a notice to every hotline_notify_chat.
 * call_id: the call id as sent on the wire (32 hex digits); customer: the
 * name the customer typed (escaped for Telegram's HTML mode here).
 */
ngx_int_t ngx_http_hotline_notify_call(ngx_cycle_t *cycle,
    ngx_str_t *call_id, ngx_str_t *customer);

/*
 * A customer left a message, or asks to be called back (callback 1),
 * instead of waiting: the same chats as new calls.  id: its record's
 * call id (32 hex digits); customer: the name it gave.
 */
ngx_int_t ngx_http_hotline_notify_message(ngx_cycle_t *cycle,
    ngx_str_t *id, ngx_str_t *customer, ngx_uint_t callback);

/* 1 when hotline_telegram_token_file is configured */
ngx_uint_t ngx_http_hotline_notify_enabled(ngx_cycle_t *cycle);


/*
 * A webhook (hotline_webhook): the events it wants, where they go, and
 * the secret they are signed with (ngx_http_hotline_webhook.c)
 */
typedef struct {
    ngx_str_t                  url;        /* NUL-terminated, not logged */
    ngx_str_t                  secret;     /* never logged */
    ngx_uint_t                 events;     /* 1 << NGX_HOTLINE_WH_* */
    ngx_uint_t                 index;      /* 1, 2...: in log lines */
} ngx_http_hotline_webhook_t;

/*
 * An event (body: its JSON, id: its id, label: what log lines say of
 * it) to webhook wh, through the worker's queue with the retries of
 * notifications; every attempt is signed afresh.  Returns as above.
 */
ngx_int_t ngx_http_hotline_notify_webhook(ngx_cycle_t *cycle,
    ngx_http_hotline_webhook_t *wh, ngx_str_t *id, ngx_str_t *label,
    ngx_str_t *body);


/* this worker's queue, e.g. for a health report */
typedef struct {
    ngx_uint_t                 enabled;
    ngx_uint_t                 queued;     /* waiting or under way */
    ngx_uint_t                 size;       /* hotline_notify_queue */
} ngx_http_hotline_notify_stats_t;

void ngx_http_hotline_notify_stats(ngx_cycle_t *cycle,
    ngx_http_hotline_notify_stats_t *st);


/*
 * Internal: the configuration (main conf of ngx_http_hotline_notify_module,
 * ngx_http_hotline_notify_module.c) and the worker's queue
 * (ngx_http_hotline_notify.c).
 */

typedef struct {
    ngx_str_t                  api;           /* no trailing slash */
    ngx_str_t                  token;         /* never logged */
    ngx_str_t                  token_file;
    ngx_str_t                  send_url;      /* holds the token */
    ngx_array_t               *chats;         /* of ngx_str_t */
    ngx_uint_t                 retries;
    ngx_msec_t                 backoff_base;
    ngx_msec_t                 backoff_max;
    ngx_msec_t                 timeout;
    ngx_str_t                  fallback;      /* NUL-terminated URL */
    ngx_uint_t                 queue_size;
    ngx_uint_t                 test;          /* hotline_notify_test used */
    ngx_array_t               *webhooks;      /* hotline_webhook */
} ngx_http_hotline_notify_conf_t;


/*
 * http:// or https://, a host, nothing that needs escaping; made
 * NUL-terminated.  base: a base URL, its trailing slashes go.
 */
char *ngx_http_hotline_notify_check_url(ngx_conf_t *cf,
    const char *directive, ngx_str_t *url, ngx_uint_t base);

ngx_int_t ngx_http_hotline_notify_init_worker(ngx_cycle_t *cycle,
    ngx_http_hotline_notify_conf_t *conf);
void ngx_http_hotline_notify_exit_worker(ngx_cycle_t *cycle);

/* the webhooks of this worker's queue (hotline_webhook), or NULL */
ngx_array_t *ngx_http_hotline_notify_webhooks(void);

/* a new-call notice, or a sample of one (NGX_HOTLINE_NOTIFY_KIND_TEST) */
ngx_int_t ngx_http_hotline_notify_new_call(ngx_cycle_t *cycle,
    ngx_uint_t kind, ngx_str_t *call_id, ngx_str_t *customer,
    ngx_uint_t *queued);


#endif /* _NGX_HTTP_HOTLINE_NOTIFY_H_INCLUDED_ */
