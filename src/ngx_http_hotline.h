
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_ws_frame.h"


#define NGX_HOTLINE_ROLE_CUSTOMER     1
#define NGX_HOTLINE_ROLE_AGENT        2

#define NGX_HOTLINE_ID_LEN            16     /* bytes of CSPRNG output */
#define NGX_HOTLINE_ID_HEX            32     /* as sent on the wire */
#define NGX_HOTLINE_NAME_MAX          64

/* application close codes, see docs/protocol.md */
#define NGX_HOTLINE_CLOSE_REPLACED    4000
#define NGX_HOTLINE_CLOSE_UNAUTHORIZED 4001
#define NGX_HOTLINE_CLOSE_SLOW        4002
#define NGX_HOTLINE_CLOSE_TIMEOUT     4003
#define NGX_HOTLINE_CLOSE_EXPIRED     4004
#define NGX_HOTLINE_CLOSE_BANNED      4005


typedef struct ngx_http_hotline_store_s    ngx_http_hotline_store_t;
typedef struct ngx_http_hotline_session_s  ngx_http_hotline_session_t;


typedef struct {
    ngx_str_t                      url;
    ngx_str_t                      secret;
    ngx_msec_t                     ttl;
} ngx_http_hotline_recorder_t;


typedef struct {
    ngx_shm_zone_t                *shm_zone;
    ngx_http_hotline_recorder_t   *recorder;       /* NULL: no recording */
    ngx_http_hotline_store_t      *store;
    ngx_str_t                      history_file;   /* "off": none */
    ngx_uint_t                     daily_limit;    /* 0: none */
    time_t                         ban_time;       /* 0: no address bans */
    ngx_msec_t                     resume_timeout;
    size_t                         replay_buffer;
    ngx_uint_t                     queue_size;
    ngx_msec_t                     average_handle_time;
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
} ngx_http_hotline_loc_conf_t;


/* a queued outgoing frame (or what is left of it) */
typedef struct {
    ngx_chain_t                    cl;
    ngx_buf_t                      buf;
    u_char                         data[1];
} ngx_http_hotline_out_t;


/* one WebSocket connection: lives in the worker that owns it */
struct ngx_http_hotline_session_s {
    ngx_connection_t              *connection;
    ngx_http_request_t            *request;        /* until the upgrade */
    ngx_str_t                      accept;         /* idem */
    ngx_http_hotline_loc_conf_t   *conf;
    ngx_http_hotline_main_conf_t  *main_conf;

    ngx_http_hotline_ws_parser_t   parser;

    ngx_chain_t                   *out;            /* send queue */
    ngx_chain_t                  **out_last;
    size_t                         out_bytes;

    ngx_event_t                    timer;          /* handshake, ping */
    ngx_queue_t                    local;          /* worker's sessions */

    void                          *party;          /* store's handle */
    ngx_uint_t                     gen;            /* attach generation */
    uint64_t                       ticket;         /* queue order */
    ngx_uint_t                     position;       /* last one sent */
    ngx_uint_t                     eta;

    u_char                         call_id[NGX_HOTLINE_ID_HEX];
    u_char                         sub[NGX_HOTLINE_NAME_MAX];
    size_t                         sub_len;
    u_char                         display[NGX_HOTLINE_NAME_MAX];
    size_t                         display_len;    /* agent: shown name */
    ngx_str_t                      addr;           /* customer: client */

    /* an agent's token: it closes the connection when revoked or over */
    u_char                         jti[NGX_HOTLINE_NAME_MAX];
    size_t                         jti_len;
    time_t                         exp;

    ngx_uint_t                     pending;        /* store ops under way */
    ngx_msec_t                     tat;            /* message rate, GCRA */
    ngx_uint_t                     strikes;
    ngx_uint_t                     close_code;
    ngx_uint_t                     close_later;    /* code, once !pending */
    const char                    *close_reason;

    unsigned                       role:2;
    unsigned                       established:1;  /* joined or resumed */
    unsigned                       waiting:1;      /* customer in queue */
    unsigned                       awaiting_pong:1;
    unsigned                       received:1;     /* a frame since ping */
    unsigned                       closing:1;      /* close frame sent */
    unsigned                       closed:1;       /* freed when !pending */
    unsigned                       queue_dirty:1;
    unsigned                       subprotocol:1;
    unsigned                       upgraded:1;
    unsigned                       backlogged:1;   /* more in the store */
    unsigned                       tls_shut:1;     /* close_notify sent */
};


extern ngx_module_t  ngx_http_hotline_module;


/* ngx_http_hotline_random.c */
ngx_int_t ngx_http_hotline_random_id(u_char *raw);
u_char *ngx_http_hotline_hex(u_char *dst, u_char *src, size_t len);
ngx_int_t ngx_http_hotline_unhex(u_char *dst, u_char *src, size_t len);

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

/* ngx_http_hotline_ws_handshake.c */
ngx_int_t ngx_http_hotline_ws_handshake(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_str_t *accept,
    ngx_uint_t *subprotocol);

/* ngx_http_hotline_agent_auth.c */
typedef void (*ngx_http_hotline_agent_auth_pt)(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s, ngx_int_t rc);
ngx_int_t ngx_http_hotline_agent_auth(ngx_http_request_t *r,
    ngx_http_hotline_loc_conf_t *hlcf, ngx_http_hotline_session_t *s,
    ngx_http_hotline_agent_auth_pt done);
char *ngx_http_hotline_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_hotline_ws.c */
ngx_int_t ngx_http_hotline_ws_start(ngx_http_request_t *r,
    ngx_http_hotline_session_t *s);
ngx_int_t ngx_http_hotline_ws_send(ngx_http_hotline_session_t *s,
    ngx_uint_t opcode, u_char *data, size_t len);
ngx_int_t ngx_http_hotline_ws_send2(ngx_http_hotline_session_t *s,
    u_char *data, size_t len, u_char *tail, size_t tail_len);
void ngx_http_hotline_ws_close(ngx_http_hotline_session_t *s,
    ngx_uint_t code, const char *reason);
void ngx_http_hotline_ws_finalize(ngx_http_hotline_session_t *s);
void ngx_http_hotline_ws_release(ngx_http_hotline_session_t *s);

/* ngx_http_hotline_session.c */
void ngx_http_hotline_session_start(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_message(ngx_http_hotline_session_t *s,
    u_char *data, size_t len);
void ngx_http_hotline_session_timer(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_closed(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_deliver(ngx_http_hotline_session_t *s);
void ngx_http_hotline_session_queue_changed(void);
void ngx_http_hotline_session_auth_changed(void);
ngx_queue_t *ngx_http_hotline_sessions(void);

/* ngx_http_hotline_doorbell.c */
ngx_int_t ngx_http_hotline_doorbell_init(ngx_cycle_t *cycle,
    void (*handler)(void));
void ngx_http_hotline_doorbell_flush(void);
void ngx_http_hotline_doorbell_done(void);

/* the record of an ended call, for the history */
typedef struct {
    u_char                         call_id[NGX_HOTLINE_ID_LEN];
    u_char                        *customer;
    size_t                         customer_len;
    u_char                        *agent;
    size_t                         agent_len;
    int64_t                        joined;         /* ms since the epoch */
    int64_t                        accepted;       /* 0: never */
    int64_t                        ended;
    ngx_uint_t                     reason;
    ngx_uint_t                     by;
    ngx_uint_t                     duration;       /* seconds */
    ngx_uint_t                     recorded;
} ngx_http_hotline_call_record_t;

/* ngx_http_hotline_history.c */
#define NGX_HOTLINE_HISTORY_LINE       1024    /* a record's JSON at most */
u_char *ngx_http_hotline_history_json(u_char *p, u_char *last,
    ngx_http_hotline_call_record_t *rec);
ngx_int_t ngx_http_hotline_history_default(ngx_conf_t *cf, ngx_str_t *name);
ngx_int_t ngx_http_hotline_history_open(ngx_conf_t *cf, ngx_str_t *name);
void ngx_http_hotline_history_add(ngx_http_hotline_call_record_t *rec);
void ngx_http_hotline_history_flush(void);
ngx_uint_t ngx_http_hotline_history_count_today(ngx_log_t *log);
ngx_int_t ngx_http_hotline_history_handler(ngx_http_request_t *r);

/* ngx_http_hotline_recording.c */
#define NGX_HOTLINE_RECORDING_MAX      1024
char *ngx_http_hotline_recorder(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
u_char *ngx_http_hotline_recording(u_char *p, ngx_http_hotline_recorder_t *rc,
    u_char *call_id, ngx_uint_t role);

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
