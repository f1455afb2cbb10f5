/*
 * hotline-recorder: minimal HTTP/1.1 server for WHIP (one request per
 * connection; nginx in front does keep-alive and TLS).
 */

#ifndef _REC_HTTP_H_INCLUDED_
#define _REC_HTTP_H_INCLUDED_


#include "rec.h"


#define REC_HTTP_MAX_HEADER  16384
#define REC_HTTP_MAX_BODY    65536


typedef struct {
    char          method[16];
    char          path[512];
    char          query[256];
    char          content_type[128];
    char          authorization[4200];
    char          if_match[128];
    size_t        content_length;
    int           has_length;
    size_t        header_len;
    const char   *body;
    size_t        body_len;
} rec_http_req_t;


typedef struct rec_http_conn_s  rec_http_conn_t;


/*
 * REC_OK: a complete request, REC_AGAIN: need more bytes, REC_ERROR:
 * *status and *err tell why.
 */
int rec_http_parse(rec_http_req_t *r, const char *buf, size_t len,
    int *status, const char **err);
int rec_http_media_type(const char *content_type, const char *type);

/* every complete request goes to handler (main.c names WHIP's) */
typedef void (*rec_http_handler_pt)(rec_http_conn_t *c, rec_http_req_t *r);
int rec_http_listen(const char *addr, rec_http_handler_pt handler);
void rec_http_respond(rec_http_conn_t *c, int status, const char *headers,
    const char *type, const char *body, size_t len);
void rec_http_error(rec_http_conn_t *c, int status, const char *headers,
    const char *reason);
/* the answer comes later; cancel(data) if the connection closes first */
void rec_http_wait(rec_http_conn_t *c, void (*cancel)(void *data),
    void *data);

/* whip.c */
void rec_whip_handle(rec_http_conn_t *c, rec_http_req_t *r);
/* admin.c */
void rec_admin_handle(rec_http_conn_t *c, rec_http_req_t *r);


#endif /* _REC_HTTP_H_INCLUDED_ */
