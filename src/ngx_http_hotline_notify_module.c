
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_notify.h"
#include "ngx_http_hotline_telegram.h"
#include "ngx_http_hotline_webhook.h"


/*
 * ngx_http_hotline_notify_module: the Telegram and webhook settings
 * (http level, so that any worker code can send with just the cycle), the
 * per-worker queue's start and end, and hotline_notify_test, a location
 * that sends a sample new-call notice through the whole delivery path so
 * operators can check their setup.  See docs/notify.md.
 */


#define NGX_HOTLINE_NOTIFY_TEST_BODY 4096


static void *ngx_http_hotline_notify_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_notify_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_hotline_token_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_notify_chat(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_notify_backoff(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hotline_notify_test(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_hotline_notify_test_handler(ngx_http_request_t *r);
static void ngx_http_hotline_notify_test_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_notify_test_send(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_notify_init_process(ngx_cycle_t *cycle);
static void ngx_http_hotline_notify_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_hotline_notify_retries_bounds = {
    ngx_conf_check_num_bounds, 0, 20
};

static ngx_conf_num_bounds_t  ngx_http_hotline_notify_queue_bounds = {
    ngx_conf_check_num_bounds, 1, 100000
};


static ngx_command_t  ngx_http_hotline_notify_commands[] = {

    { ngx_string("hotline_telegram_api"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_notify_conf_t, api),
      NULL },

    { ngx_string("hotline_telegram_token_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_token_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_notify_chat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_notify_chat,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_notify_retries"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_notify_conf_t, retries),
      &ngx_http_hotline_notify_retries_bounds },

    { ngx_string("hotline_notify_backoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_hotline_notify_backoff,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_notify_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_notify_conf_t, timeout),
      NULL },

    { ngx_string("hotline_notify_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_notify_conf_t, fallback),
      NULL },

    { ngx_string("hotline_notify_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_notify_conf_t, queue_size),
      &ngx_http_hotline_notify_queue_bounds },

    { ngx_string("hotline_webhook"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_webhook,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_notify_test"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_notify_test,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hotline_notify_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_hotline_notify_create_main_conf, /* create main configuration */
    ngx_http_hotline_notify_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_notify_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_notify_module_ctx,   /* module context */
    ngx_http_hotline_notify_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_hotline_notify_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_hotline_notify_exit_process,  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_hotline_notify_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_notify_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_notify_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->api = { 0, NULL };
     *     conf->token = { 0, NULL };
     *     conf->token_file = { 0, NULL };
     *     conf->send_url = { 0, NULL };
     *     conf->chats = NULL;
     *     conf->fallback = { 0, NULL };
     *     conf->test = 0;
     *     conf->webhooks = NULL;
     */

    conf->retries = NGX_CONF_UNSET_UINT;
    conf->backoff_base = NGX_CONF_UNSET_MSEC;
    conf->backoff_max = NGX_CONF_UNSET_MSEC;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->queue_size = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_hotline_notify_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_hotline_notify_conf_t *nmcf = conf;

    if (nmcf->api.data == NULL) {
        ngx_str_set(&nmcf->api, "https://api.telegram.org");
    }

    ngx_conf_init_uint_value(nmcf->retries, 5);
    ngx_conf_init_msec_value(nmcf->backoff_base, 500);
    ngx_conf_init_msec_value(nmcf->backoff_max, 30000);
    ngx_conf_init_msec_value(nmcf->timeout, 5000);
    ngx_conf_init_uint_value(nmcf->queue_size, 256);

    if (ngx_http_hotline_notify_check_url(cf, "hotline_telegram_api",
                                          &nmcf->api, 1)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (nmcf->fallback.data
        && ngx_http_hotline_notify_check_url(cf, "hotline_notify_fallback",
                                             &nmcf->fallback, 0)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (nmcf->timeout < 100 || nmcf->timeout > 600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_notify_timeout\" must be between "
                           "100ms and 10m");
        return NGX_CONF_ERROR;
    }

    if (nmcf->token.len == 0) {
        if (nmcf->chats) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"hotline_notify_chat\" requires "
                               "\"hotline_telegram_token_file\"");
            return NGX_CONF_ERROR;
        }

        if (nmcf->test) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"hotline_notify_test\" requires "
                               "\"hotline_telegram_token_file\"");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_hotline_telegram_url(cf->pool, &nmcf->api, &nmcf->token,
                                      &nmcf->send_url)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * hotline_telegram_token_file: read at configuration time; nginx -t
 * fails when it cannot be read, is empty or does not look like a token.
 * No message shows the token.
 */

static char *
ngx_http_hotline_token_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_notify_conf_t *nmcf = conf;

    ngx_str_t                     *value, path, token;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (nmcf->token_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_http_hotline_read_secret(cf, &path, "bot token file", 1, 1024,
                                     &token)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_hotline_telegram_token_valid(&token) != NGX_OK) {
        ngx_explicit_memzero(token.data, token.len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "bot token file \"%V\" does not hold a bot token "
                           "(digits, \":\", then letters, digits, \"_\" or "
                           "\"-\")", &path);
        return NGX_CONF_ERROR;
    }

    nmcf->token = token;
    nmcf->token_file = value[1];

    /* the counters live in the node's zone */
    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hotline_module);
    hmcf->signaling = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_notify_chat(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_notify_conf_t *nmcf = conf;

    ngx_str_t   *value, *chat;
    ngx_uint_t   i;

    if (nmcf->chats == NULL) {
        nmcf->chats = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (nmcf->chats == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_http_hotline_telegram_chat_valid(&value[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid chat id \"%V\": a number (\"-\" for "
                               "groups) or \"@channel\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        chat = ngx_array_push(nmcf->chats);
        if (chat == NULL) {
            return NGX_CONF_ERROR;
        }

        *chat = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_notify_backoff(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_notify_conf_t *nmcf = conf;

    ngx_str_t   *value;
    ngx_msec_t   base, max;

    if (nmcf->backoff_base != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    base = ngx_parse_time(&value[1], 0);
    max = ngx_parse_time(&value[2], 0);

    if (base == (ngx_msec_t) NGX_ERROR || max == (ngx_msec_t) NGX_ERROR) {
        return "has an invalid time";
    }

    if (base < 10 || max > 3600000 || base > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_notify_backoff\": base must be at "
                           "least 10ms, max at most 1h, and base <= max");
        return NGX_CONF_ERROR;
    }

    nmcf->backoff_base = base;
    nmcf->backoff_max = max;

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_notify_test(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_notify_conf_t *nmcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    nmcf->test = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_hotline_notify_test_handler;

    return NGX_CONF_OK;
}


/*
 * hotline_notify_test: POST (optional JSON body {"customer": "name"})
 * queues a sample new-call notice to every hotline_notify_chat, with a
 * fresh call id, through the same retries and fallback as real ones.
 * 202 {"queued":N,"call_id":".."}; 503 when the queue is full.
 */

static ngx_int_t
ngx_http_hotline_notify_test_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_hotline_not_allowed(r, "POST");
    }

    if (r->headers_in.content_length_n > NGX_HOTLINE_NOTIFY_TEST_BODY) {
        return ngx_http_hotline_json_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body_too_large",
                                           "the body is limited to 4k");
    }

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_hotline_notify_test_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_hotline_notify_test_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_hotline_notify_test_send(r));
}


static ngx_int_t
ngx_http_hotline_notify_test_send(ngx_http_request_t *r)
{
    u_char       *p;
    size_t        len;
    json_t       *root, *v;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     customer, call_id;
    ngx_uint_t    queued;
    ngx_chain_t  *cl, out;
    json_error_t  err;
    u_char        raw[NGX_HOTLINE_ID_LEN], hex[NGX_HOTLINE_ID_HEX];
    u_char        body[NGX_HOTLINE_NOTIFY_TEST_BODY];

    len = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            if (cl->buf->in_file
                || len + (cl->buf->last - cl->buf->pos) > sizeof(body))
            {
                return ngx_http_hotline_json_error(r,
                                     NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                     "body_too_large",
                                     "the body is limited to 4k");
            }

            if (cl->buf->last == cl->buf->pos) {
                continue;
            }

            p = ngx_cpymem(body + len, cl->buf->pos,
                           cl->buf->last - cl->buf->pos);
            len = p - body;
        }
    }

    ngx_str_set(&customer, "Test Customer");
    root = NULL;

    if (len) {
        root = json_loadb((const char *) body, len, JSON_REJECT_DUPLICATES,
                          &err);

        v = json_is_object(root) ? json_object_get(root, "customer") : NULL;

        if (root == NULL || !json_is_object(root)
            || (v != NULL && !json_is_string(v)))
        {
            json_decref(root);
            return ngx_http_hotline_json_error(r, NGX_HTTP_BAD_REQUEST,
                                               "bad_json",
                                               "expected a JSON object "
                                               "with customer, a string");
        }

        if (v) {
            customer.data = (u_char *) json_string_value(v);
            customer.len = json_string_length(v);
        }
    }

    if (ngx_http_hotline_random_id(raw) != NGX_OK) {
        json_decref(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hotline_hex(hex, raw, NGX_HOTLINE_ID_LEN);

    call_id.data = hex;
    call_id.len = NGX_HOTLINE_ID_HEX;

    rc = ngx_http_hotline_notify_new_call((ngx_cycle_t *) ngx_cycle,
                                          NGX_HOTLINE_NOTIFY_KIND_TEST,
                                          &call_id, &customer, &queued);

    json_decref(root);

    if (rc == NGX_DECLINED) {
        return ngx_http_hotline_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "not_configured",
                                           "hotline_notify_chat is not set");
    }

    if (queued == 0) {
        if (rc == NGX_BUSY) {
            return ngx_http_hotline_json_error(r,
                                     NGX_HTTP_SERVICE_UNAVAILABLE,
                                     "queue_full",
                                     "the notification queue is full");
        }

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, sizeof("{\"queued\":,\"call_id\":\"\"}\n")
                                     + NGX_INT_T_LEN + NGX_HOTLINE_ID_HEX);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"queued\":%ui,\"call_id\":\"%*s\"}\n",
                          queued, (size_t) NGX_HOTLINE_ID_HEX, hex);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_ACCEPTED;
    r->headers_out.content_length_n = b->last - b->pos;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_hotline_notify_init_process(ngx_cycle_t *cycle)
{
    ngx_http_hotline_notify_conf_t  *nmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    nmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                           ngx_http_hotline_notify_module);

    if (nmcf == NULL || (nmcf->token.len == 0 && nmcf->webhooks == NULL)) {
        return NGX_OK;
    }

    return ngx_http_hotline_notify_init_worker(cycle, nmcf);
}


static void
ngx_http_hotline_notify_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_hotline_notify_exit_worker(cycle);
}
