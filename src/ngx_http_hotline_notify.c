
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_curl.h"
#include "ngx_http_hotline_notify.h"
#include "ngx_http_hotline_telegram.h"
#include "ngx_http_hotline_webhook_sign.h"


/*
 * The worker's notification queue.  Each notification (one message to
 * one chat) is an item with its own pool.  An attempt is a POST through
 * ngx_http_hotline_curl.c; a failed one (no answer, timeout, 5xx, 429) is
 * retried after an exponential backoff with jitter (429: at least the
 * retry_after Telegram asks for); another 4xx is final at once.  After
 * the last attempt the failure is counted and logged and, if configured,
 * the fallback webhook gets a JSON report (one attempt).  Log lines and
 * the report name the call id or the user, never the OTP (it is only in
 * the request body, wiped when the item goes) nor the bot token (it is in
 * the URL, never logged).
 *
 * Webhook events (hotline_webhook) go through the same queue, with the
 * same retries, to their webhook's URL, signed afresh for each attempt;
 * they have no fallback and their own counters
 * (hotline_webhook_deliveries_total), and log lines name them by their
 * event id and webhook, never by URL.
 *
 * Retry timers are not cancelable: a gracefully exiting worker finishes
 * its queue first (bounded by worker_shutdown_timeout).  What is left
 * when a worker exits is logged and counted as failed (webhook events:
 * dropped).
 */


#define NGX_HOTLINE_NOTIFY_ERROR_MAX  160
#define NGX_HOTLINE_NOTIFY_URL_MAX    1024
#define NGX_HOTLINE_NOTIFY_ID_MAX     64     /* of a user in logs */

/* a login code lives 5 minutes: no attempt after that */
#define NGX_HOTLINE_NOTIFY_OTP_TTL    300000


typedef struct {
    ngx_queue_t                      queue;
    ngx_pool_t                      *pool;
    ngx_http_hotline_notify_conf_t  *conf;
    ngx_uint_t                       kind;
    ngx_uint_t                       attempts;
    ngx_msec_t                       deadline;   /* otp: last attempt */
    ngx_str_t                        chat_id;
    ngx_str_t                        call_id;    /* call, test */
    ngx_str_t                        user;       /* otp */
    ngx_str_t                        body;       /* may hold an OTP */
    ngx_str_t                        report;     /* for the webhook */
    ngx_http_hotline_webhook_t      *webhook;    /* webhook: where to */
    ngx_event_t                      retry;
    ngx_http_hotline_curl_t         *req;
    unsigned                         fallback:1;
} ngx_http_hotline_notify_item_t;


typedef struct {
    ngx_http_hotline_notify_conf_t  *conf;
    ngx_queue_t                      items;
    ngx_uint_t                       n;
    ngx_log_t                       *log;
} ngx_http_hotline_notify_worker_t;


static ngx_http_hotline_notify_conf_t *ngx_http_hotline_notify_conf(
    ngx_cycle_t *cycle);
static ngx_http_hotline_notify_item_t *ngx_http_hotline_notify_item(
    ngx_http_hotline_notify_conf_t *conf, ngx_uint_t kind,
    ngx_str_t *chat_id, ngx_str_t *id);
static ngx_int_t ngx_http_hotline_notify_start(
    ngx_http_hotline_notify_item_t *it, ngx_str_t *html);
static void ngx_http_hotline_notify_attempt(ngx_http_hotline_notify_item_t *it);
static void ngx_http_hotline_notify_retry_handler(ngx_event_t *ev);
static void ngx_http_hotline_notify_done(void *data,
    ngx_http_hotline_curl_result_t *res);
static void ngx_http_hotline_notify_failed(ngx_http_hotline_notify_item_t *it,
    u_char *error, size_t len);
static void ngx_http_hotline_notify_fallback_done(void *data,
    ngx_http_hotline_curl_result_t *res);
static ngx_msec_t ngx_http_hotline_notify_backoff(
    ngx_http_hotline_notify_conf_t *conf, ngx_uint_t retry);
static size_t ngx_http_hotline_notify_printable(u_char *dst, ngx_str_t *s);
static u_char *ngx_http_hotline_notify_what(u_char *buf, u_char *last,
    ngx_http_hotline_notify_item_t *it);
static u_char *ngx_http_hotline_notify_describe(u_char *buf, u_char *last,
    ngx_uint_t kind, ngx_str_t *id, ngx_str_t *chat_id);
static void ngx_http_hotline_notify_count(ngx_uint_t kind,
    ngx_uint_t result);
static void ngx_http_hotline_notify_drop(ngx_http_hotline_notify_item_t *it);
static void ngx_http_hotline_notify_finish(ngx_http_hotline_notify_item_t *it);


static ngx_str_t  ngx_http_hotline_notify_kinds[] = {
    ngx_string("otp"),
    ngx_string("call"),
    ngx_string("test"),
    ngx_string("message"),
    ngx_string("callback"),
    ngx_string("webhook")
};


/* what a notice of each kind but otp says before the customer's name */
static ngx_str_t  ngx_http_hotline_notify_heads[] = {
    ngx_null_string,
    ngx_string("<b>New support call</b>\nCustomer: <b>"),
    ngx_string("<b>Test notification from hotline</b>\n"
               "(a sample of a new-call notice)\nCustomer: <b>"),
    ngx_string("<b>New message</b> (nobody took the call)\nFrom: <b>"),
    ngx_string("<b>Callback request</b>\nFrom: <b>")
};


static ngx_http_hotline_notify_worker_t  ngx_http_hotline_notify_worker;


/*
 * The configuration this worker's queue was started with
 * (ngx_http_hotline_notify_init_worker()), when it has a bot token: none
 * outside a worker nor once the queue is gone.
 */

static ngx_http_hotline_notify_conf_t *
ngx_http_hotline_notify_conf(ngx_cycle_t *cycle)
{
    ngx_http_hotline_notify_conf_t  *conf;

    (void) cycle;

    /* the worker's queue may be there for webhooks only */

    conf = ngx_http_hotline_notify_worker.conf;

    return (conf && conf->token.len) ? conf : NULL;
}


ngx_array_t *
ngx_http_hotline_notify_webhooks(void)
{
    ngx_http_hotline_notify_conf_t  *conf;

    conf = ngx_http_hotline_notify_worker.conf;

    return conf ? conf->webhooks : NULL;
}


ngx_uint_t
ngx_http_hotline_notify_enabled(ngx_cycle_t *cycle)
{
    return ngx_http_hotline_notify_conf(cycle) ? 1 : 0;
}


void
ngx_http_hotline_notify_stats(ngx_cycle_t *cycle,
    ngx_http_hotline_notify_stats_t *st)
{
    ngx_http_hotline_notify_conf_t  *conf;

    ngx_memzero(st, sizeof(ngx_http_hotline_notify_stats_t));

    conf = ngx_http_hotline_notify_conf(cycle);
    if (conf == NULL) {
        return;
    }

    st->enabled = 1;
    st->queued = ngx_http_hotline_notify_worker.n;
    st->size = conf->queue_size;
}


/*
 * http:// or https://, a host, nothing that needs escaping; NUL-ended.
 * base: a base URL, its trailing slashes go.
 */

char *
ngx_http_hotline_notify_check_url(ngx_conf_t *cf, const char *directive,
    ngx_str_t *url, ngx_uint_t base)
{
    u_char  *p, *host;
    size_t   i;

    while (base && url->len && url->data[url->len - 1] == '/') {
        url->len--;
    }

    if (url->len >= 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                         == 0)
    {
        host = url->data + 7;

    } else if (url->len >= 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        host = url->data + 8;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" needs an http:// or https:// URL",
                           directive);
        return NGX_CONF_ERROR;
    }

    if (host == url->data + url->len || *host == '/' || *host == '?'
        || url->len > NGX_HOTLINE_NOTIFY_URL_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\": bad URL \"%V\"", directive, url);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < url->len; i++) {
        if (url->data[i] <= 0x20 || url->data[i] >= 0x7f
            || url->data[i] == '"' || url->data[i] == '\\')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%s\": bad character in URL \"%V\"",
                               directive, url);
            return NGX_CONF_ERROR;
        }
    }

    p = ngx_pnalloc(cf->pool, url->len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, url->data, url->len);
    p[url->len] = '\0';
    url->data = p;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_hotline_notify_init_worker(ngx_cycle_t *cycle,
    ngx_http_hotline_notify_conf_t *conf)
{
    ngx_http_hotline_notify_worker_t  *w;

    w = &ngx_http_hotline_notify_worker;

    ngx_queue_init(&w->items);
    w->n = 0;
    w->log = cycle->log;

    if (ngx_http_hotline_curl_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    w->conf = conf;

    return NGX_OK;
}


void
ngx_http_hotline_notify_exit_worker(ngx_cycle_t *cycle)
{
    u_char                            *p;
    ngx_queue_t                       *q;
    ngx_http_hotline_notify_item_t    *it;
    ngx_http_hotline_notify_worker_t  *w;
    u_char                             what[256];

    w = &ngx_http_hotline_notify_worker;

    if (w->conf == NULL) {
        return;
    }

    while (!ngx_queue_empty(&w->items)) {
        q = ngx_queue_head(&w->items);
        it = ngx_queue_data(q, ngx_http_hotline_notify_item_t, queue);

        p = ngx_http_hotline_notify_what(what, what + sizeof(what), it);

        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "hotline: %*s not delivered: the worker exits "
                      "(%ui attempts made)",
                      p - what, what, it->attempts);

        if (!it->fallback) {
            ngx_http_hotline_notify_count(it->kind,
                                          NGX_HOTLINE_NOTIFY_DROPPED);
        }

        ngx_http_hotline_notify_finish(it);
    }

    ngx_http_hotline_curl_done(cycle);

    w->conf = NULL;
}


ngx_int_t
ngx_http_hotline_notify_otp(ngx_cycle_t *cycle, ngx_str_t *chat_id,
    ngx_str_t *user, ngx_str_t *code)
{
    u_char                          *p;
    size_t                           len;
    ngx_str_t                        html, name;
    ngx_http_hotline_notify_item_t  *it;
    ngx_http_hotline_notify_conf_t  *conf;
    u_char                           safe[NGX_HOTLINE_NOTIFY_ID_MAX];

    static u_char  head[] = "Your hotline login code: <code>";
    static u_char  mid[] = "</code>\nUser: <b>";
    static u_char  tail[] = "</b>\nIt works once and expires in a few "
                            "minutes. If you did not ask for it, "
                            "ignore this message.";

    conf = ngx_http_hotline_notify_conf(cycle);
    if (conf == NULL) {
        return NGX_DECLINED;
    }

    for (len = 0; len < code->len; len++) {
        if (code->data[len] < '0' || code->data[len] > '9') {
            break;
        }
    }

    if (ngx_http_hotline_telegram_chat_valid(chat_id) != NGX_OK
        || user->len == 0 || user->len > NGX_HOTLINE_NOTIFY_TEXT_MAX
        || code->len == 0 || code->len > 16 || len != code->len)
    {
        name.data = safe;
        name.len = ngx_http_hotline_notify_printable(safe, user);

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: login code for user \"%V\" not sent: "
                      "bad chat id or arguments", &name);
        return NGX_ERROR;
    }

    it = ngx_http_hotline_notify_item(conf, NGX_HOTLINE_NOTIFY_KIND_OTP,
                                      chat_id, user);
    if (it == NULL) {
        return NGX_ERROR;
    }

    if (it == (void *) -1) {
        return NGX_BUSY;
    }

    if (ngx_http_hotline_telegram_html(it->pool, user,
                                       NGX_HOTLINE_NOTIFY_TEXT_MAX, &name)
        != NGX_OK)
    {
        ngx_http_hotline_notify_drop(it);
        return NGX_ERROR;
    }

    html.len = sizeof(head) - 1 + code->len + sizeof(mid) - 1 + name.len
               + sizeof(tail) - 1;
    html.data = ngx_pnalloc(it->pool, html.len);
    if (html.data == NULL) {
        ngx_http_hotline_notify_drop(it);
        return NGX_ERROR;
    }

    p = ngx_cpymem(html.data, head, sizeof(head) - 1);
    p = ngx_cpymem(p, code->data, code->len);
    p = ngx_cpymem(p, mid, sizeof(mid) - 1);
    p = ngx_cpymem(p, name.data, name.len);
    ngx_memcpy(p, tail, sizeof(tail) - 1);

    return ngx_http_hotline_notify_start(it, &html);
}


ngx_int_t
ngx_http_hotline_notify_call(ngx_cycle_t *cycle, ngx_str_t *call_id,
    ngx_str_t *customer)
{
    return ngx_http_hotline_notify_new_call(cycle,
                                            NGX_HOTLINE_NOTIFY_KIND_CALL,
                                            call_id, customer, NULL);
}


ngx_int_t
ngx_http_hotline_notify_message(ngx_cycle_t *cycle, ngx_str_t *id,
    ngx_str_t *customer, ngx_uint_t callback)
{
    return ngx_http_hotline_notify_new_call(cycle,
                                       callback
                                       ? NGX_HOTLINE_NOTIFY_KIND_CALLBACK
                                       : NGX_HOTLINE_NOTIFY_KIND_MESSAGE,
                                       id, customer, NULL);
}


ngx_int_t
ngx_http_hotline_notify_new_call(ngx_cycle_t *cycle, ngx_uint_t kind,
    ngx_str_t *call_id, ngx_str_t *customer, ngx_uint_t *queued)
{
    u_char                          *p;
    size_t                           i;
    ngx_int_t                        rc, last;
    ngx_str_t                        html, name, *chat;
    ngx_uint_t                       n;
    ngx_http_hotline_notify_item_t  *it;
    ngx_http_hotline_notify_conf_t  *conf;

    static u_char  mid[] = "</b>\nCall: <code>";
    static u_char  tail[] = "</code>";

    if (queued) {
        *queued = 0;
    }

    conf = ngx_http_hotline_notify_conf(cycle);
    if (conf == NULL || conf->chats == NULL) {
        return NGX_DECLINED;
    }

    if (call_id->len == 0 || call_id->len > NGX_HOTLINE_ID_HEX) {
        return NGX_ERROR;
    }

    for (i = 0; i < call_id->len; i++) {
        if (!((call_id->data[i] >= '0' && call_id->data[i] <= '9')
              || (call_id->data[i] >= 'a' && call_id->data[i] <= 'f')))
        {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "hotline: new-call notice not sent: the call id "
                          "is not lowercase hex");
            return NGX_ERROR;
        }
    }

    chat = conf->chats->elts;
    last = NGX_OK;
    n = 0;

    for (i = 0; i < conf->chats->nelts; i++) {

        it = ngx_http_hotline_notify_item(conf, kind, &chat[i], call_id);

        if (it == NULL) {
            last = NGX_ERROR;
            continue;
        }

        if (it == (void *) -1) {
            last = NGX_BUSY;
            continue;
        }

        if (ngx_http_hotline_telegram_html(it->pool, customer,
                                           NGX_HOTLINE_NOTIFY_TEXT_MAX,
                                           &name)
            != NGX_OK)
        {
            ngx_http_hotline_notify_drop(it);
            last = NGX_ERROR;
            continue;
        }

        html.len = ngx_http_hotline_notify_heads[kind].len
                   + name.len + sizeof(mid) - 1 + call_id->len
                   + sizeof(tail) - 1;

        html.data = ngx_pnalloc(it->pool, html.len);
        if (html.data == NULL) {
            ngx_http_hotline_notify_drop(it);
            last = NGX_ERROR;
            continue;
        }

        p = ngx_cpymem(html.data, ngx_http_hotline_notify_heads[kind].data,
                       ngx_http_hotline_notify_heads[kind].len);

        p = ngx_cpymem(p, name.data, name.len);
        p = ngx_cpymem(p, mid, sizeof(mid) - 1);
        p = ngx_cpymem(p, call_id->data, call_id->len);
        ngx_memcpy(p, tail, sizeof(tail) - 1);

        rc = ngx_http_hotline_notify_start(it, &html);

        if (rc == NGX_OK) {
            n++;

        } else {
            last = rc;
        }
    }

    if (queued) {
        *queued = n;
    }

    return (n == conf->chats->nelts) ? NGX_OK : last;
}


ngx_int_t
ngx_http_hotline_notify_webhook(ngx_cycle_t *cycle,
    ngx_http_hotline_webhook_t *wh, ngx_str_t *id, ngx_str_t *label,
    ngx_str_t *body)
{
    u_char                          *p;
    ngx_http_hotline_notify_item_t  *it;
    ngx_http_hotline_notify_conf_t  *conf;

    conf = ngx_http_hotline_notify_worker.conf;
    if (conf == NULL) {
        return NGX_DECLINED;
    }

    /* label: where it goes, for log lines (in place of a chat) */

    it = ngx_http_hotline_notify_item(conf, NGX_HOTLINE_NOTIFY_KIND_WEBHOOK,
                                      label, id);
    if (it == NULL) {
        return NGX_ERROR;
    }

    if (it == (void *) -1) {
        return NGX_BUSY;
    }

    it->webhook = wh;

    /* room for "<t>." before the body: what is signed is contiguous */

    p = ngx_pnalloc(it->pool, NGX_TIME_T_LEN + 1 + body->len);
    if (p == NULL) {
        ngx_http_hotline_notify_drop(it);
        return NGX_ERROR;
    }

    it->body.data = p + NGX_TIME_T_LEN + 1;
    it->body.len = body->len;
    ngx_memcpy(it->body.data, body->data, body->len);

    ngx_http_hotline_notify_attempt(it);

    return NGX_OK;
}


/*
 * A new item, or NULL (out of memory), or (void *) -1: the queue is full
 * (counted and logged).  id: the call id, or the user of an OTP.
 */

static ngx_http_hotline_notify_item_t *
ngx_http_hotline_notify_item(ngx_http_hotline_notify_conf_t *conf,
    ngx_uint_t kind, ngx_str_t *chat_id, ngx_str_t *id)
{
    u_char                            *p;
    ngx_str_t                          safe;
    ngx_pool_t                        *pool;
    ngx_http_hotline_notify_item_t    *it;
    ngx_http_hotline_notify_worker_t  *w;
    u_char                             what[256];
    u_char                             name[NGX_HOTLINE_NOTIFY_ID_MAX];

    w = &ngx_http_hotline_notify_worker;

    if (w->conf == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: notifications are not set up in this "
                      "process");
        return NULL;
    }

    if (w->n >= conf->queue_size) {
        ngx_http_hotline_notify_count(kind, NGX_HOTLINE_NOTIFY_DROPPED);

        safe.data = name;
        safe.len = ngx_http_hotline_notify_printable(name, id);

        p = ngx_http_hotline_notify_describe(what, what + sizeof(what), kind,
                                             &safe, chat_id);

        ngx_log_error(NGX_LOG_ERR, w->log, 0,
                      "hotline: %*s dropped: the notification queue is "
                      "full (hotline_notify_queue %ui)",
                      p - what, what, conf->queue_size);

        return (void *) -1;
    }

    pool = ngx_create_pool(1024, w->log);
    if (pool == NULL) {
        ngx_http_hotline_notify_count(kind, NGX_HOTLINE_NOTIFY_DROPPED);
        return NULL;
    }

    it = ngx_pcalloc(pool, sizeof(ngx_http_hotline_notify_item_t));
    if (it == NULL) {
        ngx_http_hotline_notify_count(kind, NGX_HOTLINE_NOTIFY_DROPPED);
        ngx_destroy_pool(pool);
        return NULL;
    }

    it->pool = pool;
    it->conf = conf;
    it->kind = kind;

    it->chat_id.data = ngx_pstrdup(pool, chat_id);
    it->chat_id.len = chat_id->len;

    p = ngx_pnalloc(pool, NGX_HOTLINE_NOTIFY_ID_MAX);

    if (it->chat_id.data == NULL || p == NULL) {
        ngx_http_hotline_notify_count(kind, NGX_HOTLINE_NOTIFY_DROPPED);
        ngx_destroy_pool(pool);
        return NULL;
    }

    if (kind == NGX_HOTLINE_NOTIFY_KIND_OTP) {
        it->user.data = p;
        it->user.len = ngx_http_hotline_notify_printable(p, id);
        it->deadline = ngx_current_msec + NGX_HOTLINE_NOTIFY_OTP_TTL;

    } else {
        it->call_id.data = p;
        it->call_id.len = ngx_http_hotline_notify_printable(p, id);
    }

    it->retry.handler = ngx_http_hotline_notify_retry_handler;
    it->retry.data = it;
    it->retry.log = w->log;

    ngx_queue_insert_tail(&w->items, &it->queue);
    w->n++;

    return it;
}


/* the message is in the body from now on: html is wiped */

static ngx_int_t
ngx_http_hotline_notify_start(ngx_http_hotline_notify_item_t *it,
    ngx_str_t *html)
{
    ngx_int_t  rc;

    rc = ngx_http_hotline_telegram_body(it->pool, &it->chat_id, html,
                                        &it->body);

    ngx_explicit_memzero(html->data, html->len);

    if (rc != NGX_OK) {
        ngx_http_hotline_notify_drop(it);
        return NGX_ERROR;
    }

    /* may be over (failed and finished) when this returns */
    ngx_http_hotline_notify_attempt(it);

    return NGX_OK;
}


static void
ngx_http_hotline_notify_attempt(ngx_http_hotline_notify_item_t *it)
{
    u_char  *p;
    char    *headers[4];
    u_char   sig[NGX_HOTLINE_WH_SIG_LEN];
    u_char   event[sizeof("Hotline-Event-Id: ") + NGX_HOTLINE_NOTIFY_ID_MAX];

    it->attempts++;

    if (it->kind != NGX_HOTLINE_NOTIFY_KIND_WEBHOOK) {
        it->req = ngx_http_hotline_curl_post(it->conf->send_url.data,
                                             &it->body, NULL,
                                             it->conf->timeout,
                                             ngx_http_hotline_notify_done,
                                             it);

    } else if (ngx_http_hotline_webhook_sign(sig, &it->webhook->secret,
                                             ngx_time(), &it->body)
               != NGX_OK)
    {
        it->req = NULL;

    } else {
        p = ngx_sprintf(event, "Hotline-Event-Id: %V", &it->call_id);
        *p = '\0';

        headers[0] = (char *) sig;
        headers[1] = (char *) event;
        headers[2] = NULL;

        it->req = ngx_http_hotline_curl_post(it->webhook->url.data,
                                             &it->body, headers,
                                             it->conf->timeout,
                                             ngx_http_hotline_notify_done,
                                             it);
        ngx_explicit_memzero(sig, sizeof(sig));
    }

    if (it->req == NULL) {
        /* could not even start: as good as a failed attempt */
        ngx_http_hotline_notify_failed(it, (u_char *) "request not started",
                                       sizeof("request not started") - 1);
    }
}


static void
ngx_http_hotline_notify_retry_handler(ngx_event_t *ev)
{
    ngx_http_hotline_notify_attempt(ev->data);
}


static void
ngx_http_hotline_notify_done(void *data, ngx_http_hotline_curl_result_t *res)
{
    ngx_http_hotline_notify_item_t *it = data;

    u_char                              *p, *last, *e;
    ngx_msec_t                           delay;
    ngx_uint_t                           retryable;
    ngx_http_hotline_telegram_answer_t   answer;
    u_char                               what[256];
    u_char                               error[NGX_HOTLINE_NOTIFY_ERROR_MAX];

    it->req = NULL;

    p = ngx_http_hotline_notify_what(what, what + sizeof(what), it);

    if (res->rc == NGX_OK && res->status >= 200 && res->status < 300) {
        ngx_http_hotline_notify_count(it->kind, NGX_HOTLINE_NOTIFY_SENT);

        ngx_log_error(NGX_LOG_INFO, it->retry.log, 0,
                      "hotline: %*s sent (attempt %ui)",
                      p - what, what, it->attempts);

        ngx_http_hotline_notify_finish(it);
        return;
    }

    last = error + sizeof(error);

    if (res->rc != NGX_OK) {
        e = ngx_slprintf(error, last, "%s", res->error);
        retryable = 1;
        delay = 0;

    } else {
        ngx_memzero(&answer, sizeof(ngx_http_hotline_telegram_answer_t));

        if (it->kind != NGX_HOTLINE_NOTIFY_KIND_WEBHOOK) {
            ngx_http_hotline_telegram_answer(&res->body, &answer);
        }

        e = ngx_slprintf(error, last, "HTTP %ui", res->status);

        if (answer.description_len) {
            e = ngx_slprintf(e, last, ": %*s", answer.description_len,
                             answer.description);
        }

        retryable = (res->status == 429 || res->status >= 500
                     || res->status < 200);
        delay = (res->status == 429) ? answer.retry_after : 0;
    }

    if (retryable && it->attempts <= it->conf->retries) {
        delay = ngx_max(delay,
                        ngx_http_hotline_notify_backoff(it->conf,
                                                        it->attempts - 1));

        if (it->deadline
            && (ngx_msec_int_t) (ngx_current_msec + delay - it->deadline)
               > 0)
        {
            e = ngx_slprintf(e, last, " (the code expires before the next "
                             "attempt)");
            ngx_http_hotline_notify_failed(it, error, e - error);
            return;
        }

        ngx_http_hotline_notify_count(it->kind, NGX_HOTLINE_NOTIFY_RETRIED);

        ngx_log_error(NGX_LOG_WARN, it->retry.log, 0,
                      "hotline: %*s: attempt %ui of %ui failed (%*s), "
                      "next in %Mms",
                      p - what, what, it->attempts, it->conf->retries + 1,
                      e - error, error, delay);

        ngx_add_timer(&it->retry, delay);
        return;
    }

    ngx_http_hotline_notify_failed(it, error, e - error);
}


/* the last attempt failed: count, log, report to the webhook */

static void
ngx_http_hotline_notify_failed(ngx_http_hotline_notify_item_t *it,
    u_char *error, size_t len)
{
    u_char                          *p, *w;
    size_t                           size;
    ngx_str_t                        s, err;
    ngx_http_hotline_notify_conf_t  *conf;
    u_char                           what[256];

    conf = it->conf;

    ngx_http_hotline_notify_count(it->kind, NGX_HOTLINE_NOTIFY_FAILED);

    w = ngx_http_hotline_notify_what(what, what + sizeof(what), it);

    /* a webhook's event has no fallback: it is not a notification */

    ngx_log_error(NGX_LOG_ERR, it->retry.log, 0,
                  "hotline: %*s failed after %ui attempt%s: %*s%s",
                  w - what, what, it->attempts,
                  it->attempts == 1 ? "" : "s", len, error,
                  (conf->fallback.len && it->webhook == NULL)
                  ? ", calling the fallback webhook" : "");

    if (conf->fallback.len == 0 || it->webhook) {
        ngx_http_hotline_notify_finish(it);
        return;
    }

    /*
     * {"kind":"call","call_id":"..","chat_id":"..","attempts":N,
     *  "error":".."}; kind "otp" has "user" instead of "call_id"
     */

    err.data = error;
    err.len = len;

    s = (it->kind == NGX_HOTLINE_NOTIFY_KIND_OTP) ? it->user : it->call_id;

    size = sizeof("{\"kind\":,\"call_id\":,\"chat_id\":,\"attempts\":,"
                  "\"error\":}") - 1
           + ngx_http_hotline_telegram_json_len(
                 &ngx_http_hotline_notify_kinds[it->kind])
           + ngx_http_hotline_telegram_json_len(&s)
           + ngx_http_hotline_telegram_json_len(&it->chat_id)
           + NGX_INT_T_LEN
           + ngx_http_hotline_telegram_json_len(&err);

    it->report.data = ngx_pnalloc(it->pool, size);
    if (it->report.data == NULL) {
        goto failed;
    }

    p = ngx_cpymem(it->report.data, "{\"kind\":", sizeof("{\"kind\":") - 1);
    p = ngx_http_hotline_telegram_json_string(p,
                                 &ngx_http_hotline_notify_kinds[it->kind]);

    if (it->kind == NGX_HOTLINE_NOTIFY_KIND_OTP) {
        p = ngx_cpymem(p, ",\"user\":", sizeof(",\"user\":") - 1);

    } else {
        p = ngx_cpymem(p, ",\"call_id\":", sizeof(",\"call_id\":") - 1);
    }

    p = ngx_http_hotline_telegram_json_string(p, &s);
    p = ngx_cpymem(p, ",\"chat_id\":", sizeof(",\"chat_id\":") - 1);
    p = ngx_http_hotline_telegram_json_string(p, &it->chat_id);
    p = ngx_sprintf(p, ",\"attempts\":%ui,\"error\":", it->attempts);
    p = ngx_http_hotline_telegram_json_string(p, &err);
    *p++ = '}';

    it->report.len = p - it->report.data;
    it->fallback = 1;

    it->req = ngx_http_hotline_curl_post(conf->fallback.data, &it->report,
                                         NULL, conf->timeout,
                                         ngx_http_hotline_notify_fallback_done,
                                         it);
    if (it->req) {
        return;
    }

failed:

    ngx_log_error(NGX_LOG_ERR, it->retry.log, 0,
                  "hotline: %*s: the fallback webhook could not be called",
                  w - what, what);

    ngx_http_hotline_notify_finish(it);
}


static void
ngx_http_hotline_notify_fallback_done(void *data,
    ngx_http_hotline_curl_result_t *res)
{
    ngx_http_hotline_notify_item_t *it = data;

    u_char  *w;
    u_char   what[256];

    it->req = NULL;

    w = ngx_http_hotline_notify_what(what, what + sizeof(what), it);

    if (res->rc == NGX_OK && res->status >= 200 && res->status < 300) {
        ngx_http_hotline_count_notify(NGX_HOTLINE_NOTIFY_FALLBACK);

        ngx_log_error(NGX_LOG_NOTICE, it->retry.log, 0,
                      "hotline: %*s: the fallback webhook took the report",
                      w - what, what);

    } else if (res->rc == NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, it->retry.log, 0,
                      "hotline: %*s: the fallback webhook failed too: "
                      "HTTP %ui", w - what, what, res->status);

    } else {
        ngx_log_error(NGX_LOG_ERR, it->retry.log, 0,
                      "hotline: %*s: the fallback webhook failed too: %s",
                      w - what, what, res->error);
    }

    ngx_http_hotline_notify_finish(it);
}


/* for log lines and reports: printable ASCII, at most 64 bytes */

static size_t
ngx_http_hotline_notify_printable(u_char *dst, ngx_str_t *s)
{
    size_t  i, len;

    len = ngx_min(s->len, NGX_HOTLINE_NOTIFY_ID_MAX);

    for (i = 0; i < len; i++) {
        dst[i] = (s->data[i] >= 0x20 && s->data[i] < 0x7f
                  && s->data[i] != '"')
                 ? s->data[i] : '?';
    }

    return len;
}


/*
 * Retry k (0: the first) waits a random time in [w/2, w] with
 * w = min(max, base * 2^(k+1)): the window doubles each time, the jitter
 * spreads the retries of many workers, and no retry comes sooner than
 * base (or, once the cap is reached, max/2).
 */

static ngx_msec_t
ngx_http_hotline_notify_backoff(ngx_http_hotline_notify_conf_t *conf,
    ngx_uint_t retry)
{
    ngx_uint_t  i;
    ngx_msec_t  w, half;

    w = conf->backoff_base;

    for (i = 0; i <= retry && w < conf->backoff_max; i++) {
        w *= 2;
    }

    w = ngx_min(w, conf->backoff_max);
    half = w / 2;

    return half + (ngx_msec_t) ngx_random() % (w - half + 1);
}


/* "new-call notice for call <id> to chat <id>" and the like */

static u_char *
ngx_http_hotline_notify_what(u_char *buf, u_char *last,
    ngx_http_hotline_notify_item_t *it)
{
    return ngx_http_hotline_notify_describe(buf, last, it->kind,
                                 (it->kind == NGX_HOTLINE_NOTIFY_KIND_OTP)
                                 ? &it->user : &it->call_id,
                                 &it->chat_id);
}


static u_char *
ngx_http_hotline_notify_describe(u_char *buf, u_char *last, ngx_uint_t kind,
    ngx_str_t *id, ngx_str_t *chat_id)
{
    switch (kind) {

    case NGX_HOTLINE_NOTIFY_KIND_OTP:
        return ngx_slprintf(buf, last, "login code for user \"%V\" to chat %V",
                            id, chat_id);

    case NGX_HOTLINE_NOTIFY_KIND_TEST:
        return ngx_slprintf(buf, last, "test notice for call %V to chat %V",
                            id, chat_id);

    case NGX_HOTLINE_NOTIFY_KIND_WEBHOOK:
        return ngx_slprintf(buf, last, "webhook event %V (%V)", id, chat_id);

    case NGX_HOTLINE_NOTIFY_KIND_MESSAGE:
    case NGX_HOTLINE_NOTIFY_KIND_CALLBACK:
        return ngx_slprintf(buf, last, "%V notice for record %V to chat %V",
                            &ngx_http_hotline_notify_kinds[kind], id,
                            chat_id);

    default:
        return ngx_slprintf(buf, last,
                            "new-call notice for call %V to chat %V",
                            id, chat_id);
    }
}


/*
 * Notifications count a drop as failed; webhook events have counters of
 * their own, with drops apart
 */

static void
ngx_http_hotline_notify_count(ngx_uint_t kind, ngx_uint_t result)
{
    if (kind == NGX_HOTLINE_NOTIFY_KIND_WEBHOOK) {
        ngx_http_hotline_count_webhook(result);
        return;
    }

    ngx_http_hotline_count_notify(result == NGX_HOTLINE_NOTIFY_DROPPED
                                  ? NGX_HOTLINE_NOTIFY_FAILED : result);
}


/* could not be built (out of memory): counted, logged, gone */

static void
ngx_http_hotline_notify_drop(ngx_http_hotline_notify_item_t *it)
{
    u_char  *p;
    u_char   what[256];

    ngx_http_hotline_notify_count(it->kind, NGX_HOTLINE_NOTIFY_DROPPED);

    p = ngx_http_hotline_notify_what(what, what + sizeof(what), it);

    ngx_log_error(NGX_LOG_ERR, it->retry.log, 0,
                  "hotline: %*s not sent: out of memory", p - what, what);

    ngx_http_hotline_notify_finish(it);
}


static void
ngx_http_hotline_notify_finish(ngx_http_hotline_notify_item_t *it)
{
    ngx_http_hotline_notify_worker_t  *w;

    w = &ngx_http_hotline_notify_worker;

    if (it->retry.timer_set) {
        ngx_del_timer(&it->retry);
    }

    if (it->req) {
        ngx_http_hotline_curl_cancel(it->req);
        it->req = NULL;
    }

    if (it->queue.next) {
        ngx_queue_remove(&it->queue);
        w->n--;
    }

    if (it->body.data) {
        ngx_explicit_memzero(it->body.data, it->body.len);
    }

    ngx_destroy_pool(it->pool);
}
