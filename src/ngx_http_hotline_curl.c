
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <curl/curl.h>

#include "ngx_http_hotline_curl.h"
#include "ngx_http_hotline_borrowed.h"


/*
 * libcurl's multi interface on the nginx event loop of a worker.
 *
 * curl tells which sockets it wants watched (CURLMOPT_SOCKETFUNCTION):
 * each gets an nginx connection (ngx_get_connection) whose read and write
 * events are added or deleted as curl asks, level-triggered because curl
 * may leave data unread.  The socket belongs to curl: it is never closed
 * here; when curl is done with it (CURL_POLL_REMOVE, which curl says
 * before closing it) its events are deleted and the connection goes back
 * to the free list without closing the descriptor.  curl's own timeout
 * (CURLMOPT_TIMERFUNCTION) is one nginx timer.  Finished transfers are
 * collected after every curl_multi_socket_action().
 */


struct ngx_http_hotline_curl_s {
    ngx_queue_t                    queue;
    CURL                          *easy;
    struct curl_slist             *headers;    /* NULL: the shared ones */
    ngx_http_hotline_curl_pt       handler;
    void                          *data;
    size_t                         len;
    u_char                         body[NGX_HOTLINE_CURL_BODY_MAX];
};


typedef struct {
    CURLM                         *multi;
    struct curl_slist             *headers;
    ngx_event_t                    timer;
    ngx_queue_t                    requests;
    ngx_log_t                     *log;
    ngx_uint_t                     global;      /* curl_global_init done */
} ngx_http_hotline_curl_ctx_t;


static int ngx_http_hotline_curl_socket(CURL *easy, curl_socket_t s,
    int what, void *userp, void *socketp);
static int ngx_http_hotline_curl_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_hotline_curl_timer_handler(ngx_event_t *ev);
static void ngx_http_hotline_curl_event_handler(ngx_event_t *ev);
static void ngx_http_hotline_curl_collect(void);
static size_t ngx_http_hotline_curl_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static void ngx_http_hotline_curl_free(ngx_http_hotline_curl_t *req);


static ngx_http_hotline_curl_ctx_t  ngx_http_hotline_curl_ctx;


ngx_int_t
ngx_http_hotline_curl_init(ngx_cycle_t *cycle)
{
    curl_version_info_data       *info;
    ngx_http_hotline_curl_ctx_t  *ctx;

    ctx = &ngx_http_hotline_curl_ctx;

    if (ctx->multi) {
        return NGX_OK;
    }

    ctx->log = cycle->log;
    ngx_queue_init(&ctx->requests);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "hotline: curl_global_init() failed");
        return NGX_ERROR;
    }

    ctx->global = 1;

    info = curl_version_info(CURLVERSION_NOW);

    if (info == NULL || !(info->features & CURL_VERSION_ASYNCHDNS)) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "hotline: this libcurl resolves host names "
                      "synchronously, which blocks the worker: use IP "
                      "addresses in hotline_telegram_api and "
                      "hotline_notify_fallback");
    }

    ctx->multi = curl_multi_init();
    if (ctx->multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "hotline: curl_multi_init() failed");
        return NGX_ERROR;
    }

    if (curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETFUNCTION,
                          ngx_http_hotline_curl_socket) != CURLM_OK
        || curl_multi_setopt(ctx->multi, CURLMOPT_TIMERFUNCTION,
                             ngx_http_hotline_curl_timer) != CURLM_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "hotline: curl_multi_setopt() failed");
        return NGX_ERROR;
    }

    ctx->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (ctx->headers == NULL) {
        return NGX_ERROR;
    }

    /* no "Expect: 100-continue" round trip */
    ctx->headers = curl_slist_append(ctx->headers, "Expect:");
    if (ctx->headers == NULL) {
        return NGX_ERROR;
    }

    ctx->timer.handler = ngx_http_hotline_curl_timer_handler;
    ctx->timer.data = ctx;
    ctx->timer.log = cycle->log;

    return NGX_OK;
}


void
ngx_http_hotline_curl_done(ngx_cycle_t *cycle)
{
    ngx_queue_t                  *q;
    ngx_http_hotline_curl_t      *req;
    ngx_http_hotline_curl_ctx_t  *ctx;

    ctx = &ngx_http_hotline_curl_ctx;

    if (ctx->multi) {
        while (!ngx_queue_empty(&ctx->requests)) {
            q = ngx_queue_head(&ctx->requests);
            req = ngx_queue_data(q, ngx_http_hotline_curl_t, queue);
            ngx_http_hotline_curl_cancel(req);
        }

        /* closes cached connections: curl says CURL_POLL_REMOVE first */
        curl_multi_cleanup(ctx->multi);
        ctx->multi = NULL;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (ctx->headers) {
        curl_slist_free_all(ctx->headers);
        ctx->headers = NULL;
    }

    if (ctx->global) {
        curl_global_cleanup();
        ctx->global = 0;
    }
}


ngx_http_hotline_curl_t *
ngx_http_hotline_curl_post(u_char *url, ngx_str_t *body, char **headers,
    ngx_msec_t timeout, ngx_http_hotline_curl_pt handler, void *data)
{
    CURL                         *easy;
    CURLcode                      rc;
    struct curl_slist            *h, *list;
    ngx_http_hotline_curl_t      *req;
    ngx_http_hotline_curl_ctx_t  *ctx;

    ctx = &ngx_http_hotline_curl_ctx;

    if (ctx->multi == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: notifications are not set up in this "
                      "process");
        return NULL;
    }

    req = ngx_alloc(sizeof(ngx_http_hotline_curl_t), ngx_cycle->log);
    if (req == NULL) {
        return NULL;
    }

    easy = curl_easy_init();
    if (easy == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: curl_easy_init() failed");
        ngx_free(req);
        return NULL;
    }

    req->easy = easy;
    req->headers = NULL;
    req->handler = handler;
    req->data = data;
    req->len = 0;

    /* the request's own headers after the shared ones (curl copies) */

    for (list = ctx->headers; headers && list; list = list->next) {
        h = curl_slist_append(req->headers, list->data);
        if (h == NULL) {
            ngx_http_hotline_curl_free(req);
            return NULL;
        }

        req->headers = h;
    }

    while (headers && *headers) {
        h = curl_slist_append(req->headers, *headers++);
        if (h == NULL) {
            ngx_http_hotline_curl_free(req);
            return NULL;
        }

        req->headers = h;
    }

    /* the URL may hold the bot token: nothing here prints it */

    rc = curl_easy_setopt(easy, CURLOPT_URL, (char *) url);

#if (LIBCURL_VERSION_NUM >= 0x075500)
    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    }
#endif

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_POST, 1L);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) body->len);
    }

    if (rc == CURLE_OK) {
        /* not copied: the caller keeps (and wipes) it */
        rc = curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *) body->data);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
                              req->headers ? req->headers : ctx->headers);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_USERAGENT, "hotline");
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                              (long) timeout);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                              ngx_http_hotline_curl_write);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    }

    if (rc == CURLE_OK) {
        rc = curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    }

    if (rc != CURLE_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: curl_easy_setopt() failed: %s",
                      curl_easy_strerror(rc));
        ngx_http_hotline_curl_free(req);
        return NULL;
    }

    /* curl starts it from its timer: the handler never runs in here */

    if (curl_multi_add_handle(ctx->multi, easy) != CURLM_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: curl_multi_add_handle() failed");
        ngx_http_hotline_curl_free(req);
        return NULL;
    }

    ngx_queue_insert_tail(&ctx->requests, &req->queue);

    return req;
}


void
ngx_http_hotline_curl_cancel(ngx_http_hotline_curl_t *req)
{
    ngx_queue_remove(&req->queue);

    (void) curl_multi_remove_handle(ngx_http_hotline_curl_ctx.multi,
                                    req->easy);

    ngx_http_hotline_curl_free(req);
}


static void
ngx_http_hotline_curl_free(ngx_http_hotline_curl_t *req)
{
    curl_easy_cleanup(req->easy);

    if (req->headers) {
        curl_slist_free_all(req->headers);
    }

    /* the answer may echo what was sent */
    ngx_explicit_memzero(req->body, req->len);

    ngx_free(req);
}


static size_t
ngx_http_hotline_curl_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_hotline_curl_t *req = userdata;

    size_t  n, len;

    len = size * nmemb;
    n = ngx_min(len, NGX_HOTLINE_CURL_BODY_MAX - req->len);

    if (n) {
        ngx_memcpy(req->body + req->len, ptr, n);
        req->len += n;
    }

    /* the rest is read and dropped: answers are small */

    return len;
}


static int
ngx_http_hotline_curl_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_connection_t             *c;
    ngx_http_hotline_curl_ctx_t  *ctx;

    ctx = &ngx_http_hotline_curl_ctx;
    c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c) {
            (void) curl_multi_assign(ctx->multi, s, NULL);

            /*
             * a transfer that timed out while connecting: curl closed the
             * socket before it says so (and epoll forgot it)
             */
            ngx_http_hotline_borrowed_release(c, fcntl(s, F_GETFD) == -1);
        }

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, ctx->log);
        if (c == NULL) {
            return -1;
        }

        c->read->handler = ngx_http_hotline_curl_event_handler;
        c->write->handler = ngx_http_hotline_curl_event_handler;
        c->read->log = c->log;
        c->write->log = c->log;

        if (curl_multi_assign(ctx->multi, s, c) != CURLM_OK) {
            ngx_http_hotline_borrowed_release(c, 0);
            return -1;
        }
    }

    if (ngx_http_hotline_borrowed_watch(c->read, NGX_READ_EVENT,
                                        what & CURL_POLL_IN)
        != NGX_OK
        || ngx_http_hotline_borrowed_watch(c->write, NGX_WRITE_EVENT,
                                           what & CURL_POLL_OUT)
           != NGX_OK)
    {
        return -1;
    }

    return 0;
}


static int
ngx_http_hotline_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    ngx_event_t  *ev;

    ev = &ngx_http_hotline_curl_ctx.timer;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    if (timeout_ms >= 0) {
        /* 0: on the next turn of the loop, not from inside curl */
        ngx_add_timer(ev, (ngx_msec_t) timeout_ms);
    }

    return 0;
}


static void
ngx_http_hotline_curl_timer_handler(ngx_event_t *ev)
{
    int  running;

    if (ngx_http_hotline_curl_ctx.multi == NULL) {
        return;
    }

    (void) curl_multi_socket_action(ngx_http_hotline_curl_ctx.multi,
                                    CURL_SOCKET_TIMEOUT, 0, &running);

    ngx_http_hotline_curl_collect();
}


static void
ngx_http_hotline_curl_event_handler(ngx_event_t *ev)
{
    int                mask, running;
    curl_socket_t      fd;
    ngx_connection_t  *c;

    c = ev->data;
    fd = c->fd;

    mask = ev->write ? CURL_CSELECT_OUT : CURL_CSELECT_IN;

    if (ev->error) {
        mask |= CURL_CSELECT_ERR;
    }

    /* c may be released in there */

    (void) curl_multi_socket_action(ngx_http_hotline_curl_ctx.multi, fd,
                                    mask, &running);

    ngx_http_hotline_curl_collect();
}


static void
ngx_http_hotline_curl_collect(void)
{
    int                              left;
    long                             status;
    char                            *priv;
    CURL                            *easy;
    CURLMsg                         *msg;
    CURLcode                         code;
    ngx_http_hotline_curl_t         *req;
    ngx_http_hotline_curl_result_t   res;

    for ( ;; ) {
        if (ngx_http_hotline_curl_ctx.multi == NULL) {
            return;
        }

        msg = curl_multi_info_read(ngx_http_hotline_curl_ctx.multi, &left);
        if (msg == NULL) {
            return;
        }

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        code = msg->data.result;

        priv = NULL;
        status = 0;
        (void) curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        (void) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);

        req = (ngx_http_hotline_curl_t *) priv;

        if (req == NULL) {
            continue;
        }

        ngx_queue_remove(&req->queue);
        (void) curl_multi_remove_handle(ngx_http_hotline_curl_ctx.multi,
                                        easy);

        ngx_memzero(&res, sizeof(ngx_http_hotline_curl_result_t));

        if (code == CURLE_OK) {
            res.rc = NGX_OK;
            res.status = (status > 0 && status < 1000) ? status : 0;

        } else {
            res.rc = NGX_ERROR;
            res.timed_out = (code == CURLE_OPERATION_TIMEDOUT);
            res.error = curl_easy_strerror(code);
        }

        res.body.data = req->body;
        res.body.len = req->len;

        req->handler(req->data, &res);

        ngx_http_hotline_curl_free(req);
    }
}
