
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call_queue.h"
#include "ngx_http_hotline_desk.h"


/*
 * hotline_desk_status: what the customer page shows before a customer
 * calls, from this worker's latest gauges (fresh within the model's tick
 * on Redis): whether support is open (hotline_hours) and when that
 * changes, how many agents take calls and are free, how many wait, and
 * the wait a new caller may expect (null: nobody takes calls).  Public:
 * it tells no names, only counts.
 */


static ngx_int_t ngx_http_hotline_desk_status_handler(ngx_http_request_t *r);


char *
ngx_http_hotline_desk_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return ngx_http_hotline_zone_location(cf,
                                      ngx_http_hotline_desk_status_handler);
}


static ngx_int_t
ngx_http_hotline_desk_status_handler(ngx_http_request_t *r)
{
    time_t                         now, next;
    ngx_buf_t                     *b;
    ngx_uint_t                     open, eta;
    ngx_chain_t                    out;
    ngx_http_hotline_queue_t       q;
    ngx_http_hotline_gauges_t      g;
    ngx_http_hotline_desk_conf_t  *dcf;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_hotline_not_allowed(r, "GET, HEAD");
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_module);
    dcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_desk_module);

    if (hmcf->store == NULL) {
        return ngx_http_hotline_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                           "unavailable",
                                           "the store is not ready");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_hotline_call_gauges(&g);

    now = ngx_time();
    open = ngx_http_hotline_hours_open(dcf->hours, now);
    next = ngx_http_hotline_hours_next(dcf->hours, now);
    /* a new caller's wait: behind those waiting */

    ngx_memzero(&q, sizeof(ngx_http_hotline_queue_t));
    q.agents_online = g.agents_online;
    q.agents_away = g.agents_away;
    q.avg_handle = g.avg_handle ? g.avg_handle : hmcf->average_handle_time;

    eta = open ? ngx_http_hotline_call_eta(&q, g.waiting + 1, 0)
               : (ngx_uint_t) -1;

    b = ngx_create_temp_buf(r->pool, 256);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last, "{\"open\":%s,\"next\":",
                          open ? "true" : "false");

    b->last = next ? ngx_sprintf(b->last, "%T000", next)
                   : ngx_cpymem(b->last, "null", 4);

    b->last = ngx_sprintf(b->last,
                          ",\"agents\":%ui,\"available\":%ui,\"waiting\":%ui,"
                          "\"eta\":",
                          ngx_http_hotline_call_staffed(&q),
                          ngx_http_hotline_gauges_available(&g), g.waiting);

    b->last = (eta == (ngx_uint_t) -1) ? ngx_cpymem(b->last, "null", 4)
                                       : ngx_sprintf(b->last, "%ui", eta);

    *b->last++ = '}';
    *b->last++ = '\n';

    out.buf = b;
    out.next = NULL;

    return ngx_http_hotline_send(r, NGX_HTTP_OK, "application/json", &out);
}
