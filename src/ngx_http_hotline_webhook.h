
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_WEBHOOK_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_WEBHOOK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_notify.h"


/*
 * Call events for other systems (hotline_webhook): a JSON object
 * {"id":..,"type":..,"created":..,"data":{..}} POSTed to each webhook that
 * wants its type, signed with HMAC-SHA256 over "<t>.<body>" in the
 * Hotline-Signature header, delivered by the notification queue
 * (ngx_http_hotline_notify.c).  See docs/webhooks.md.
 */


/* event types, in the order of ngx_http_hotline_webhook_types[] */
#define NGX_HOTLINE_WH_QUEUED        0
#define NGX_HOTLINE_WH_ACCEPTED      1
#define NGX_HOTLINE_WH_TRANSFERRED   2
#define NGX_HOTLINE_WH_ENDED         3
#define NGX_HOTLINE_WH_MESSAGE       4
#define NGX_HOTLINE_WH_RATED         5
#define NGX_HOTLINE_WH_N             6

#define NGX_HOTLINE_WH_MAX           8      /* webhooks configured */
#define NGX_HOTLINE_WH_SECRET_MIN    16     /* bytes of a secret */
#define NGX_HOTLINE_WH_SECRET_MAX    1024


extern ngx_str_t  ngx_http_hotline_webhook_types[];


/* hotline_webhook URL secret_file=PATH [events=type,...] */
char *ngx_http_hotline_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* 1 when a webhook of this worker's configuration wants type */
ngx_uint_t ngx_http_hotline_webhook_wanted(ngx_uint_t type);

/*
 * An event of type with data (a JSON object, copied) to every webhook
 * that wants it; failures are counted and logged, never returned.
 */
void ngx_http_hotline_webhook_emit(ngx_uint_t type, u_char *data,
    size_t len);


#endif /* _NGX_HTTP_HOTLINE_WEBHOOK_H_INCLUDED_ */
