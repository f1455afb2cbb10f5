
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_shm.h"
#include "ngx_http_hotline_store_shm_handoff.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_session.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_alloc.h"
#include "ngx_http_hotline_move.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif


/*
 * ngx_http_hotline_module: the directives, their configuration, and the
 * content handlers of the signaling, health and metrics locations.
 */


#define NGX_HOTLINE_ZONE_NAME     "hotline"
#define NGX_HOTLINE_ZONE_DEFAULT  (16 * 1024 * 1024)


static ngx_int_t ngx_http_hotline_signaling_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_reject(ngx_http_request_t *r,
    ngx_int_t status);
static void ngx_http_hotline_agent_authed(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s, ngx_int_t rc);
static ngx_int_t ngx_http_hotline_agent_continue(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s, ngx_int_t rc);
static void *ngx_http_hotline_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_hotline_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_hotline_zone_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hotline_signaling(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_history(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_ban_time(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_message_rate(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hotline_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_hotline_zone_resized(ngx_conf_t *cf,
    ngx_shm_zone_t *shm_zone, ngx_uint_t handoff);
static ngx_shm_zone_t *ngx_http_hotline_add_zone(ngx_conf_t *cf,
    size_t size);
static ngx_int_t ngx_http_hotline_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_hotline_init_process(ngx_cycle_t *cycle);
static void ngx_http_hotline_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_hotline_queue_bounds = {
    ngx_conf_check_num_bounds, 1, 100000
};

/* "off" or a number */

static ngx_conf_num_bounds_t  ngx_http_hotline_per_address_bounds = {
    ngx_conf_check_num_bounds, 1, 100000
};

static ngx_conf_num_bounds_t  ngx_http_hotline_daily_limit_bounds = {
    ngx_conf_check_num_bounds, 1, 10000000
};


static ngx_conf_enum_t  ngx_http_hotline_roles[] = {
    { ngx_string("customer"), NGX_HOTLINE_ROLE_CUSTOMER },
    { ngx_string("agent"), NGX_HOTLINE_ROLE_AGENT },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_hotline_commands[] = {

    { ngx_string("hotline_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_zone_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_signaling"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_signaling,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_history"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_history,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_history_erase"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_history_erase_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_ice_servers"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_ice_servers,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_history_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, history_file),
      NULL },

    { ngx_string("hotline_handoff_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, handoff_file),
      NULL },

    { ngx_string("hotline_recorder"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_recorder,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_daily_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_conf_set_count_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, daily_limit),
      &ngx_http_hotline_daily_limit_bounds },

    { ngx_string("hotline_ban_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_ban_time,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_jwt_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_secret_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_allowed_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_origins,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_loc_conf_t, origins),
      NULL },

    { ngx_string("hotline_max_message"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_loc_conf_t, max_message),
      NULL },

    { ngx_string("hotline_send_queue"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_loc_conf_t, send_queue),
      NULL },

    { ngx_string("hotline_colocate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_loc_conf_t, colocate),
      NULL },

    { ngx_string("hotline_ping_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_loc_conf_t, ping_interval),
      NULL },

    { ngx_string("hotline_handshake_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_loc_conf_t, handshake_timeout),
      NULL },

    { ngx_string("hotline_message_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_hotline_message_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_resume_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, resume_timeout),
      NULL },

    { ngx_string("hotline_replay_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, replay_buffer),
      NULL },

    { ngx_string("hotline_queue_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, queue_size),
      &ngx_http_hotline_queue_bounds },

    { ngx_string("hotline_queue_per_address"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_conf_set_count_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, queue_per_address),
      &ngx_http_hotline_per_address_bounds },

    { ngx_string("hotline_average_handle_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, average_handle_time),
      NULL },

    { ngx_string("hotline_position_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_main_conf_t, position_interval),
      NULL },

    /* the Redis store backend: ngx_http_hotline_store_redis.c */
    { ngx_string("hotline_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hotline_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_hotline_create_main_conf,     /* create main configuration */
    ngx_http_hotline_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hotline_create_loc_conf,      /* create location configuration */
    ngx_http_hotline_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_module_ctx,          /* module context */
    ngx_http_hotline_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_hotline_init_module,          /* init module */
    ngx_http_hotline_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_hotline_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_hotline_signaling_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      v;
    ngx_uint_t                     subprotocol;
    ngx_http_hotline_session_t    *s;
    ngx_http_hotline_loc_conf_t   *hlcf;
    ngx_http_hotline_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);

    rc = ngx_http_hotline_ws_handshake(r, hlcf, &subprotocol);
    if (rc != NGX_OK) {
        return ngx_http_hotline_reject(r, rc);
    }

    if (ngx_http_hotline_origin_allowed(r, hlcf->origins) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "hotline: handshake from a foreign origin");
        return ngx_http_hotline_reject(r, NGX_HTTP_FORBIDDEN);
    }

    if (ngx_http_hotline_zone == NULL || ngx_exiting
        || (hmcf->store && hmcf->store->up && !hmcf->store->up()))
    {
        return ngx_http_hotline_reject(r, NGX_HTTP_SERVICE_UNAVAILABLE);
    }

    /*
     * a chunk of its own, freed with the connection's pool: in the pool's
     * block (512 bytes, most of it nginx's) it would take a second block
     */
    s = ngx_pmemalign(r->connection->pool, sizeof(ngx_http_hotline_session_t),
                      NGX_ALIGNMENT);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(s, sizeof(ngx_http_hotline_session_t));

    s->ws.conf = hlcf;
    s->ws.handler = &ngx_http_hotline_session_handler;
    s->role = hlcf->role;
    s->ws.subprotocol = subprotocol ? 1 : 0;
    s->agent = &ngx_http_hotline_no_agent;

    if (s->role != NGX_HOTLINE_ROLE_AGENT) {
        return ngx_http_hotline_agent_continue(r, s, NGX_OK);
    }

    s->agent = ngx_pcalloc(r->connection->pool,
                           sizeof(ngx_http_hotline_agent_id_t));
    if (s->agent == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->agent->resume_from = -1;

    /*
     * an agent that comes back says what it had: ?last_seq=<n>, and its
     * session is replayed from there (docs/protocol.md)
     */

    if (ngx_http_arg(r, (u_char *) "last_seq", 8, &v) == NGX_OK) {
        s->agent->resume_from = (v.len && v.len <= 15)
                                ? ngx_atoof(v.data, v.len) : NGX_ERROR;

        if (s->agent->resume_from < 0) {
            return ngx_http_hotline_json_error(r, NGX_HTTP_BAD_REQUEST,
                                               "bad_last_seq",
                                               "last_seq must be an integer "
                                               "from 0 to 10^15");
        }
    }

    rc = ngx_http_hotline_agent_auth(r, hlcf, s,
                                     ngx_http_hotline_agent_authed);

    if (rc == NGX_AGAIN) {
        /* the store answers whether the token was revoked later */
        r->main->count++;
        r->write_event_handler = ngx_http_request_empty_handler;
        return NGX_DONE;
    }

    return ngx_http_hotline_agent_continue(r, s, rc);
}


static void
ngx_http_hotline_agent_authed(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s, ngx_int_t rc)
{
    ngx_http_finalize_request(r, ngx_http_hotline_agent_continue(r, s, rc));
}


static ngx_int_t
ngx_http_hotline_agent_continue(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s, ngx_int_t rc)
{
    switch (rc) {

    case NGX_OK:
        break;

    case NGX_ERROR:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    case NGX_BUSY:
        return ngx_http_hotline_reject(r, NGX_HTTP_SERVICE_UNAVAILABLE);

    default:
        return ngx_http_hotline_reject(r, NGX_HTTP_UNAUTHORIZED);
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_ws_start(r, &s->ws);
}


static ngx_int_t
ngx_http_hotline_reject(ngx_http_request_t *r, ngx_int_t status)
{
    const char  *code, *message;

    switch (status) {

    case NGX_HTTP_NOT_ALLOWED:
        code = "method_not_allowed";
        message = "a WebSocket handshake is a GET";

        if (ngx_http_hotline_add_header(r, "Allow", (u_char *) "GET", 3)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        break;

    case 426:
        ngx_str_set(&r->headers_out.status_line, "426 Upgrade Required");

        if (ngx_http_hotline_add_header(r, "Sec-WebSocket-Version",
                                        (u_char *) "13", 2)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /*
         * HTTP/2 and HTTP/3 have no Upgrade (a client treats the header as
         * a protocol error) and nginx offers no WebSocket over them (RFC
         * 8441): the answer says to use HTTP/1.1
         */

        if (r->http_version >= NGX_HTTP_VERSION_20) {
            code = "http1_required";
            message = "a WebSocket handshake needs HTTP/1.1 (RFC 6455), "
                      "this request came over HTTP/2 or HTTP/3";
            break;
        }

        code = "upgrade_required";
        message = "a WebSocket handshake (RFC 6455, version 13) is required";

        if (ngx_http_hotline_add_header(r, "Upgrade", (u_char *) "websocket",
                                        sizeof("websocket") - 1)
            == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        break;

    case NGX_HTTP_BAD_REQUEST:
        code = "bad_handshake";
        message = "Sec-WebSocket-Key must be base64 of 16 bytes";
        break;

    case NGX_HTTP_FORBIDDEN:
        code = "forbidden_origin";
        message = "this origin is not allowed";
        break;

    case NGX_HTTP_UNAUTHORIZED:
        code = "unauthorized";
        message = "a valid agent token is required";
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        code = "unavailable";
        message = "the service is temporarily unavailable";
        break;

    default:
        return status;
    }

    return ngx_http_hotline_json_error(r, status, code, message);
}


static void *
ngx_http_hotline_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->shm_zone = NULL;
     *     hmcf->signaling = 0;
     */

    hmcf->resume_timeout = NGX_CONF_UNSET_MSEC;
    hmcf->replay_buffer = NGX_CONF_UNSET_SIZE;
    hmcf->queue_size = NGX_CONF_UNSET_UINT;
    hmcf->average_handle_time = NGX_CONF_UNSET_MSEC;
    hmcf->position_interval = NGX_CONF_UNSET_MSEC;
    hmcf->daily_limit = NGX_CONF_UNSET_UINT;
    hmcf->queue_per_address = NGX_CONF_UNSET_UINT;
    hmcf->ban_time = NGX_CONF_UNSET;

    return hmcf;
}


static char *
ngx_http_hotline_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_hotline_main_conf_t *hmcf = conf;

    if (hmcf->signaling && hmcf->shm_zone == NULL) {
        hmcf->shm_zone = ngx_http_hotline_add_zone(cf,
                                                   NGX_HOTLINE_ZONE_DEFAULT);
        if (hmcf->shm_zone == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_uint_value(hmcf->daily_limit, 0);
    ngx_conf_init_uint_value(hmcf->queue_per_address, 10);
    ngx_conf_init_value(hmcf->ban_time, 3600);

    if (hmcf->history_file.data == NULL
        && ngx_http_hotline_history_default(cf, &hmcf->history_file)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the embedded store's calls outlive a restart and a binary upgrade */

    hmcf->handoff_fd = NGX_INVALID_FILE;

    if (hmcf->handoff_file.data == NULL
        && ngx_http_hotline_handoff_default(cf, &hmcf->handoff_file)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (hmcf->shm_zone && hmcf->redis == NULL
        && ngx_strcmp(hmcf->handoff_file.data, "off") != 0
        && ngx_http_hotline_handoff_open(cf, &hmcf->handoff_file,
                                         &hmcf->handoff_fd)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (hmcf->shm_zone) {
        ngx_http_hotline_zone_resized(cf, hmcf->shm_zone,
                            ngx_strcmp(hmcf->handoff_file.data, "off") != 0);
    }

    if (hmcf->shm_zone && ngx_strcmp(hmcf->history_file.data, "off") != 0) {
        hmcf->journal = ngx_http_hotline_history_open(cf,
                                                      &hmcf->history_file);
        if (hmcf->journal == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_msec_value(hmcf->resume_timeout, 30000);
    ngx_conf_init_size_value(hmcf->replay_buffer, 64 * 1024);
    ngx_conf_init_uint_value(hmcf->queue_size, 1000);
    ngx_conf_init_msec_value(hmcf->average_handle_time, 180000);
    ngx_conf_init_msec_value(hmcf->position_interval, 1000);

    if (hmcf->resume_timeout < 1000 || hmcf->resume_timeout > 3600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_resume_timeout\" must be between "
                           "1s and 1h");
        return NGX_CONF_ERROR;
    }

    if (hmcf->replay_buffer < 4096 || hmcf->replay_buffer > 16 * 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_replay_buffer\" must be between "
                           "4k and 16m");
        return NGX_CONF_ERROR;
    }

    if (hmcf->average_handle_time < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_average_handle_time\" must be at "
                           "least 1s");
        return NGX_CONF_ERROR;
    }

    if (hmcf->position_interval > 60000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_position_interval\" must be between "
                           "0 and 60s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_hotline_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_loc_conf_t  *hlcf;

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hlcf->role = 0;
     *     hlcf->jwt_secret_file = { 0, NULL };
     *     hlcf->jwt_secret = { 0, NULL };
     */

    hlcf->origins = NGX_CONF_UNSET_PTR;
    hlcf->max_message = NGX_CONF_UNSET_SIZE;
    hlcf->send_queue = NGX_CONF_UNSET_SIZE;
    hlcf->ping_interval = NGX_CONF_UNSET_MSEC;
    hlcf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    hlcf->message_interval = NGX_CONF_UNSET_MSEC;
    hlcf->message_burst = NGX_CONF_UNSET_UINT;
    hlcf->history_erase = NGX_CONF_UNSET_PTR;
    hlcf->colocate = NGX_CONF_UNSET;

    return hlcf;
}


static char *
ngx_http_hotline_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_hotline_loc_conf_t *prev = parent;
    ngx_http_hotline_loc_conf_t *conf = child;

    if (conf->jwt_secret.data == NULL) {
        conf->jwt_secret = prev->jwt_secret;
        conf->jwt_secret_file = prev->jwt_secret_file;
    }

    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message,
                              64 * 1024);
    ngx_conf_merge_size_value(conf->send_queue, prev->send_queue,
                              256 * 1024);
    ngx_conf_merge_msec_value(conf->ping_interval, prev->ping_interval,
                              30000);
    ngx_conf_merge_msec_value(conf->handshake_timeout,
                              prev->handshake_timeout, 10000);

    ngx_conf_merge_msec_value(conf->message_interval,
                              prev->message_interval, 0);
    ngx_conf_merge_uint_value(conf->message_burst, prev->message_burst, 0);
    ngx_conf_merge_ptr_value(conf->history_erase, prev->history_erase, NULL);
    ngx_conf_merge_value(conf->colocate, prev->colocate, 0);

    if (conf->max_message < 125 || conf->max_message > 16 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_max_message\" must be between "
                           "125 and 16m");
        return NGX_CONF_ERROR;
    }

    if (conf->send_queue < 4096 || conf->send_queue > 64 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_send_queue\" must be between "
                           "4k and 64m");
        return NGX_CONF_ERROR;
    }

    if (conf->ping_interval < 100 || conf->ping_interval > 3600000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_ping_interval\" must be between "
                           "100ms and 1h");
        return NGX_CONF_ERROR;
    }

    if (conf->handshake_timeout < 100
        || conf->handshake_timeout > 3600000)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_handshake_timeout\" must be between "
                           "100ms and 1h");
        return NGX_CONF_ERROR;
    }

    if (conf->role == NGX_HOTLINE_ROLE_AGENT
        && conf->jwt_secret.data == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_signaling agent\" requires "
                           "\"hotline_jwt_secret_file\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_main_conf_t *hmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (hmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < (ssize_t) (1024 * 1024)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\", at least 1m",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->shm_zone = ngx_http_hotline_add_zone(cf, size);
    if (hmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_shm_zone_t *
ngx_http_hotline_add_zone(ngx_conf_t *cf, size_t size)
{
    ngx_str_t        name;
    ngx_shm_zone_t  *shm_zone;

    ngx_str_set(&name, NGX_HOTLINE_ZONE_NAME);

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_hotline_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    shm_zone->init = ngx_http_hotline_init_zone;
    shm_zone->noreuse = 0;

    return shm_zone;
}


/*
 * nginx keeps a shared zone over a reload only when its size is the same:
 * a reload that changes hotline_zone starts on a new zone, empty, or with
 * the calls of the running one once its workers have handed them over
 * (handoff: hotline_handoff_file is on).  The running configuration's
 * zone says what that loses (the master reads it as the new configuration
 * is parsed).
 */

static void
ngx_http_hotline_zone_resized(ngx_conf_t *cf, ngx_shm_zone_t *shm_zone,
    ngx_uint_t handoff)
{
    size_t                         used;
    ngx_shm_zone_t                *old;
    ngx_slab_pool_t               *shpool;
    ngx_http_hotline_main_conf_t  *omcf;

    old = ngx_http_hotline_zone_running(shm_zone);

    if (old == NULL || old->shm.size == shm_zone->shm.size) {
        return;
    }

    omcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hotline_module);

    if (omcf && omcf->redis) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "hotline_zone changes from %uzk to %uzk: the "
                           "reload starts on a new, empty zone; calls live "
                           "in Redis and go on, this node's counters of "
                           "/metrics restart from zero",
                           old->shm.size / 1024, shm_zone->shm.size / 1024);
        return;
    }

    /* the zone's slab pool: what the running state takes */

    shpool = (ngx_slab_pool_t *) old->shm.addr;
    used = old->shm.size - shpool->pfree * ngx_pagesize;

    if (handoff) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "hotline_zone changes from %uzk to %uzk: the "
                           "reload starts on a new zone, which takes the "
                           "calls of the running one (%uzk of state) "
                           "through hotline_handoff_file once its workers "
                           "have exited, and answers signaling with 503 "
                           "until then; one-time codes, rate limits and "
                           "the counters of /metrics start anew, revoked "
                           "tokens, lockouts and bans come back from "
                           "hotline_state_file (docs/runbook.md)",
                           old->shm.size / 1024, shm_zone->shm.size / 1024,
                           used / 1024);
        return;
    }

    ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                       "hotline_zone changes from %uzk to %uzk: the reload "
                       "starts on a new, empty zone and loses the %uzk of "
                       "state the running one holds (waiting calls, calls "
                       "in progress, agents, resume tokens, one-time codes, "
                       "rate limits, counters; revoked tokens, lockouts and "
                       "bans come back from hotline_state_file); "
                       "change the size with a restart in a quiet hour "
                       "(docs/runbook.md)",
                       old->shm.size / 1024, shm_zone->shm.size / 1024,
                       used / 1024);
}


static char *
ngx_http_hotline_signaling(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_loc_conf_t *hlcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (hlcf->role) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = ngx_http_hotline_roles; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcmp(e->name.data, value[1].data) == 0)
        {
            hlcf->role = e->value;
            break;
        }
    }

    if (hlcf->role == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\", expected "
                           "\"customer\" or \"agent\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_hotline_zone_location(cf,
                                          ngx_http_hotline_signaling_handler);
}


/*
 * A location answered by the module: its handler, and the node's zone
 * (the store) made sure of
 */

char *
ngx_http_hotline_zone_location(ngx_conf_t *cf, ngx_http_handler_pt handler)
{
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_hotline_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hotline_module);
    hmcf->signaling = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_history(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_hotline_zone_location(cf, ngx_http_hotline_history_handler);
}


/* hotline_ban_time off | <time>: how long a banned address may not call */

static char *
ngx_http_hotline_ban_time(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_main_conf_t *hmcf = conf;

    time_t      t;
    ngx_str_t  *value;

    if (hmcf->ban_time != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        hmcf->ban_time = 0;
        return NGX_CONF_OK;
    }

    t = ngx_parse_time(&value[1], 1);

    if (t == (time_t) NGX_ERROR || t < 1 || t > 365 * 86400) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\": expected off or a time "
                           "from 1s to 365d", &value[1]);
        return NGX_CONF_ERROR;
    }

    hmcf->ban_time = t;

    return NGX_CONF_OK;
}


/* hotline_message_rate off | <n>r/s | <n>r/m [burst=<n>] */

static char *
ngx_http_hotline_message_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_loc_conf_t *hlcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   burst;
    ngx_msec_t   interval;

    if (hlcf->message_interval != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0 && cf->args->nelts == 2) {
        hlcf->message_interval = 0;
        hlcf->message_burst = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_hotline_conf_rate(&value[1], &interval) != NGX_OK) {
        goto invalid;
    }

    burst = 10;

    if (cf->args->nelts == 3
        && (ngx_http_hotline_conf_burst(&value[2], &burst) != NGX_OK
            || burst == 0))
    {
        goto invalid;
    }

    hlcf->message_interval = interval;
    hlcf->message_burst = burst;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\": expected off, "
                       "<n>r/s or <n>r/m (1..1000 a second) and an "
                       "optional burst=<n>",
                       &value[cf->args->nelts - 1], &cmd->name);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_hotline_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_hotline_zone_location(cf, ngx_http_hotline_status_handler);
}


static char *
ngx_http_hotline_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_hotline_zone_location(cf, ngx_http_hotline_metrics_handler);
}


/* in the master, once the configuration is whole */

static ngx_int_t
ngx_http_hotline_init_module(ngx_cycle_t *cycle)
{
    /* the workers of this configuration, told from those of another */
    if (ngx_http_hotline_random_bytes((u_char *) &ngx_http_hotline_generation,
                                      sizeof(uint64_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_hotline_handoff_upgrade(cycle);

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_init_process(ngx_cycle_t *cycle)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);

    if (hmcf == NULL || hmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    hmcf->store = ngx_http_hotline_store();

    ngx_http_hotline_trim_init(cycle);
    ngx_http_hotline_history_init_worker(hmcf->journal);

    if (hmcf->journal) {
        ngx_http_hotline_history_sweep_start(cycle);
    }

    /* the session layer listens to the store before it starts */

    if (ngx_http_hotline_session_init_worker(cycle) != NGX_OK
        || hmcf->store->init_worker(cycle) != NGX_OK
        || ngx_http_hotline_call_init_worker(cycle, hmcf->store) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_hotline_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_hotline_main_conf_t  *hmcf;

#if defined(__SANITIZE_ADDRESS__)
    /*
     * a sanitizer build (make test-asan): nginx frees the cycle's pool on
     * a worker's way out, not the connections and events the cycle points
     * to; LeakSanitizer is to report what the module leaks
     */
    __lsan_ignore_object(cycle->connections);
    __lsan_ignore_object(cycle->read_events);
    __lsan_ignore_object(cycle->write_events);
#endif

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);

    if (hmcf == NULL || hmcf->store == NULL) {
        return;
    }

    ngx_http_hotline_trim_exit();
    ngx_http_hotline_move_done();
    ngx_http_hotline_call_exit_worker(cycle);
    hmcf->store->exit_worker(cycle);
    ngx_http_hotline_call_exit_ops();
}
