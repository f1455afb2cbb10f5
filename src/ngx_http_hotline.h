
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>



#define NGX_HOTLINE_ROLE_CUSTOMER     1
#define NGX_HOTLINE_ROLE_AGENT        2

#define NGX_HOTLINE_ID_LEN            16     /* bytes of CSPRNG output */
#define NGX_HOTLINE_ID_HEX            32     /* as sent on the wire */
#define NGX_HOTLINE_NAME_MAX          64

/* a message's seq: what a client's JSON numbers hold exactly (2^53 - 1) */
#define NGX_HOTLINE_SEQ_MAX           ((1ULL << 53) - 1)

/* application close codes, see docs/protocol.md */
#define NGX_HOTLINE_CLOSE_REPLACED    4000
#define NGX_HOTLINE_CLOSE_UNAUTHORIZED 4001
#define NGX_HOTLINE_CLOSE_SLOW        4002
#define NGX_HOTLINE_CLOSE_TIMEOUT     4003
#define NGX_HOTLINE_CLOSE_EXPIRED     4004
#define NGX_HOTLINE_CLOSE_BANNED      4005


typedef struct ngx_http_hotline_store_s    ngx_http_hotline_store_t;
typedef struct ngx_http_hotline_session_s  ngx_http_hotline_session_t;
typedef struct ngx_http_hotline_call_record_s  ngx_http_hotline_call_record_t;


/* the history journal of a configuration (ngx_http_hotline_history.c) */
typedef struct {
    ngx_open_file_t               *file;           /* written through */
    ngx_str_t                      path;
    ngx_fd_t                       fd;             /* read through */
    ngx_pool_cleanup_file_t       *cln;
} ngx_http_hotline_journal_t;


typedef struct {
    ngx_str_t                      url;
    ngx_str_t                      secret;
    ngx_msec_t                     ttl;
    ngx_uint_t                     max;            /* recordings a role */
} ngx_http_hotline_recorder_t;


typedef struct {
    ngx_shm_zone_t                *shm_zone;
    ngx_http_hotline_recorder_t   *recorder;       /* NULL: no recording */
    ngx_http_hotline_store_t      *store;
    ngx_str_t                      history_file;   /* "off": none */
    ngx_http_hotline_journal_t    *journal;        /* NULL: none */
    ngx_str_t                      handoff_file;   /* "off": none */
    ngx_fd_t                       handoff_fd;
    ngx_uint_t                     daily_limit;    /* 0: none */
    time_t                         ban_time;       /* 0: no address bans */
    ngx_msec_t                     resume_timeout;
    size_t                         replay_buffer;
    ngx_uint_t                     queue_size;
    ngx_uint_t                     queue_per_address;  /* 0: no cap */
    ngx_msec_t                     average_handle_time;
    ngx_msec_t                     position_interval;  /* 0: every turn */
    ngx_flag_t                     signaling;      /* some location uses it */
    void                          *redis;          /* hotline_redis */
} ngx_http_hotline_main_conf_t;


typedef struct {
    ngx_uint_t                     role;           /* 0: not signaling */
    ngx_str_t                      jwt_secret_file;
    ngx_str_t                      jwt_secret;     /* the key itself */
    ngx_array_t                   *origins;        /* of ngx_str_t */
    size_t                         max_message;
    size_t                         send_queue;
    ngx_msec_t                     ping_interval;
    ngx_msec_t                     handshake_timeout;
    void                          *ice;            /* ICE servers location */
    ngx_msec_t                     message_interval; /* 0: no limit */
    ngx_uint_t                     message_burst;
    ngx_array_t                   *history_erase;  /* names; none: any
                                                      agent; NULL: off */
    ngx_flag_t                     colocate;       /* a customer goes to
                                                      its agent's worker */
} ngx_http_hotline_loc_conf_t;


extern ngx_module_t  ngx_http_hotline_module;


/* the running configuration's main conf (a worker's, or the master's) */
static ngx_inline ngx_http_hotline_main_conf_t *
ngx_http_hotline_main_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hotline_module);
}


/* ngx_http_hotline_random.c */
ngx_int_t ngx_http_hotline_random_id(u_char *raw);
ngx_int_t ngx_http_hotline_random_bytes(u_char *buf, size_t len);
u_char *ngx_http_hotline_hex(u_char *dst, u_char *src, size_t len);
ngx_int_t ngx_http_hotline_unhex(u_char *dst, u_char *src, size_t len);

/* the time, ms since the epoch (nginx's cached time) */
static ngx_inline int64_t
ngx_http_hotline_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}

/* ngx_http_hotline_party.c: little-endian integers of records */
u_char *ngx_http_hotline_put64(u_char *p, uint64_t v);
uint64_t ngx_http_hotline_get64(u_char *p);

/* ngx_http_hotline_origin.c */
ngx_int_t ngx_http_hotline_origin_allowed(ngx_http_request_t *r,
    ngx_array_t *origins);
char *ngx_http_hotline_origins(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hotline_http.c */
ngx_uint_t ngx_http_hotline_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_hotline_header_list(ngx_http_request_t *r,
    const char *name, ngx_int_t (*handler)(ngx_str_t *item, void *data),
    void *data);
ngx_int_t ngx_http_hotline_json_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
ngx_int_t ngx_http_hotline_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_chain_t *out);
ngx_table_elt_t *ngx_http_hotline_add_header(ngx_http_request_t *r,
    const char *name, u_char *value, size_t len);
ngx_int_t ngx_http_hotline_no_store(ngx_http_request_t *r);
ngx_int_t ngx_http_hotline_not_allowed(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_hotline_not_allowed_text(ngx_http_request_t *r,
    const char *allow, const char *message);

/* the elements of an nginx list, part after part */
typedef struct {
    ngx_list_part_t               *part;
    size_t                         size;
    ngx_uint_t                     i;
} ngx_http_hotline_list_iter_t;

void ngx_http_hotline_list_iter(ngx_http_hotline_list_iter_t *it,
    ngx_list_t *list);
void *ngx_http_hotline_list_next(ngx_http_hotline_list_iter_t *it);

ngx_int_t ngx_http_hotline_store_error(ngx_http_request_t *r,
    ngx_uint_t err);
ngx_int_t ngx_http_hotline_too_many(ngx_http_request_t *r,
    ngx_msec_t retry_after, const char *code, const char *message);
ngx_int_t ngx_http_hotline_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *data, size_t len);

/*
 * ngx_http_hotline_ws_handshake.c: the request's context of this module,
 * from the handshake to the upgrade
 */
#define NGX_HOTLINE_WS_ACCEPT_LEN  28          /* base64 of a SHA-1 */

typedef struct {
    void                          *ws;         /* ngx_http_hotline_ws_t */
    u_char                         accept[NGX_HOTLINE_WS_ACCEPT_LEN];
} ngx_http_hotline_ws_ctx_t;

ngx_int_t ngx_http_hotline_ws_handshake(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_uint_t *subprotocol);

/* ngx_http_hotline_agent_auth.c */
typedef void (*ngx_http_hotline_agent_auth_pt)(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s, ngx_int_t rc);
ngx_int_t ngx_http_hotline_agent_auth(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_http_hotline_session_t *s,
    ngx_http_hotline_agent_auth_pt done);
char *ngx_http_hotline_zone_location(ngx_conf_t *cf,
    ngx_http_handler_pt handler);
char *ngx_http_hotline_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hotline_history.c */
#define NGX_HOTLINE_HISTORY_LINE       1024    /* a record's JSON at most,
                                                  without its extra members
                                                  and transcript */
u_char *ngx_http_hotline_history_json(u_char *p, u_char *last,
    ngx_http_hotline_call_record_t *rec);
size_t ngx_http_hotline_history_size(ngx_http_hotline_call_record_t *rec);
ngx_int_t ngx_http_hotline_history_default(ngx_conf_t *cf, ngx_str_t *name);
ngx_http_hotline_journal_t *ngx_http_hotline_history_open(ngx_conf_t *cf,
    ngx_str_t *name);
void ngx_http_hotline_history_init_worker(ngx_http_hotline_journal_t *jr);
void ngx_http_hotline_history_add(ngx_http_hotline_call_record_t *rec);
void ngx_http_hotline_history_flush(void);
ngx_uint_t ngx_http_hotline_history_count_today(ngx_log_t *log);

/* ngx_http_hotline_history_query.c: the history location */
ngx_int_t ngx_http_hotline_history_handler(ngx_http_request_t *r);

/* ngx_http_hotline_history_sweep.c: expired transcripts taken out */
void ngx_http_hotline_history_sweep_start(ngx_cycle_t *cycle);

/* ngx_http_hotline_history_erase.c */
ngx_int_t ngx_http_hotline_history_erase(ngx_http_request_t *r);
ngx_int_t ngx_http_hotline_history_may_erase(ngx_http_request_t *r);
char *ngx_http_hotline_history_erase_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* ngx_http_hotline_recording.c */
#define NGX_HOTLINE_RECORDING_MAX      512     /* a token at most */
#define NGX_HOTLINE_RECORDER_URL_MAX   256
char *ngx_http_hotline_recorder(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
size_t ngx_http_hotline_recording_token(u_char *p,
    ngx_http_hotline_recorder_t *rc, u_char *call_id, ngx_uint_t role);

/* ngx_http_hotline_conf.c */
ngx_int_t ngx_http_hotline_conf_rate(ngx_str_t *value, ngx_msec_t *interval);
ngx_int_t ngx_http_hotline_conf_burst(ngx_str_t *value, ngx_uint_t *burst);
char *ngx_http_hotline_conf_set_count_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_hotline_log_dir_file(ngx_conf_t *cf, const char *file,
    ngx_str_t *name);

/* ngx_http_hotline_secret.c */
ngx_int_t ngx_http_hotline_read_secret(ngx_conf_t *cf, ngx_str_t *name,
    const char *what, size_t min, size_t max, ngx_str_t *secret);

/* ngx_http_hotline_ice.c */
char *ngx_http_hotline_ice_servers(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hotline_status.c */
ngx_int_t ngx_http_hotline_status_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_hotline_metrics_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HOTLINE_H_INCLUDED_ */
