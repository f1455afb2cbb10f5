
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_queue.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_doorbell.h"
#include "ngx_http_hotline_notify.h"
#include "ngx_http_hotline_version.h"


/* the health location (JSON) and the metrics location (Prometheus) */


#define NGX_HOTLINE_WORKER_JSON  sizeof("{\"pid\":,\"status\":\"connecting\"," \
                                        "\"for\":,\"failures\":," \
                                        "\"retry_in\":},") \
                                 + NGX_INT64_LEN + 3 * NGX_INT_T_LEN


typedef struct {
    ngx_uint_t                        n;
    ngx_uint_t                        count[NGX_HOTLINE_STORE_N];
    ngx_http_hotline_worker_store_t  *ws;
} ngx_http_hotline_workers_t;


static ngx_int_t ngx_http_hotline_status_read(ngx_http_request_t *r,
    ngx_http_hotline_stats_t *st, ngx_http_hotline_gauges_t *g,
    ngx_http_hotline_workers_t *w, ngx_uint_t *conns, ngx_uint_t *up);
static u_char *ngx_http_hotline_status_workers_json(u_char *p,
    ngx_http_hotline_workers_t *w);


static const char  *ngx_http_hotline_store_states[] = {
    "down", "connecting", "up"
};


ngx_int_t
ngx_http_hotline_status_handler(ngx_http_request_t *r)
{
    ngx_buf_t                        *b;
    ngx_uint_t                        conns[3], up;
    ngx_chain_t                       out;
    const char                       *store;
    ngx_http_hotline_stats_t          st;
    ngx_http_hotline_gauges_t         g;
    ngx_http_hotline_workers_t        w;
    ngx_http_hotline_notify_stats_t   ns;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_hotline_not_allowed(r, "GET, HEAD");
    }

    if (ngx_http_hotline_zone == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ngx_http_hotline_notify_stats((ngx_cycle_t *) ngx_cycle, &ns);

    if (ngx_http_hotline_status_read(r, &st, &g, &w, conns, &up) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (up) {
        store = "ok";

    } else if (w.count[NGX_HOTLINE_STORE_UP] == 0) {
        store = "down";

    } else {
        store = "partial";
    }

    b = ngx_create_temp_buf(r->pool, 1024 + w.n * NGX_HOTLINE_WORKER_JSON);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last,
                  "{\"status\":\"%s\","
                  "\"store\":{\"backend\":\"%s\",\"status\":\"%s\","
                  "\"size\":%uz,\"used\":%uz,\"workers\":[",
                  up ? "ok" : "degraded",
                  ngx_http_hotline_store()->name, store, st.size, st.used);

    b->last = ngx_http_hotline_status_workers_json(b->last, &w);

    b->last = ngx_sprintf(b->last,
                  "]},"
                  "\"connections\":{\"customer\":%ui,\"agent\":%ui},"
                  "\"calls\":{\"waiting\":%ui,\"active\":%ui},"
                  "\"agents\":{\"online\":%ui,\"busy\":%ui,\"away\":%ui,"
                  "\"wrapup\":%ui,\"available\":%ui},"
                  "\"notifier\":{\"enabled\":%s,\"telegram\":%s,"
                  "\"webhooks\":%ui,\"queued\":%ui,\"failed\":%uA},"
                  "\"warnings\":[%s]}\n",
                  conns[NGX_HOTLINE_ROLE_CUSTOMER],
                  conns[NGX_HOTLINE_ROLE_AGENT],
                  g.waiting, g.active, g.agents_online, g.agents_busy,
                  g.agents_away, g.agents_wrapup,
                  ngx_http_hotline_gauges_available(&g),
                  ns.enabled ? "true" : "false",
                  ns.telegram ? "true" : "false", ns.webhooks, ns.queued,
                  ngx_http_hotline_zone->counters.notify[
                                                 NGX_HOTLINE_NOTIFY_FAILED],
                  ngx_http_hotline_zone_nearly_full(st.size, st.used)
                  ? "\"zone_nearly_full\"" : "");

    out.buf = b;
    out.next = NULL;

    return ngx_http_hotline_send(r, up ? NGX_HTTP_OK
                                       : NGX_HTTP_SERVICE_UNAVAILABLE,
                                 "application/json", &out);
}


/*
 * What health and metrics tell: the store's and the calls' gauges, the
 * connection gauges and every worker's link to the store; up: the node
 * serves when every worker does (any of them takes requests)
 */

static ngx_int_t
ngx_http_hotline_status_read(ngx_http_request_t *r,
    ngx_http_hotline_stats_t *st, ngx_http_hotline_gauges_t *g,
    ngx_http_hotline_workers_t *w, ngx_uint_t *conns, ngx_uint_t *up)
{
    ngx_uint_t  i;

    ngx_memzero(st, sizeof(ngx_http_hotline_stats_t));
    ngx_http_hotline_store()->stats(st);
    ngx_http_hotline_call_gauges(g);

    ngx_memzero(w, sizeof(ngx_http_hotline_workers_t));

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    ngx_http_hotline_mailbox_totals(conns);

    w->n = ngx_http_hotline_mailbox_count();
    w->ws = ngx_palloc(r->pool, (w->n + 1)
                                * sizeof(ngx_http_hotline_worker_store_t));

    if (w->ws) {
        w->n = ngx_http_hotline_mailbox_stores(w->ws, w->n);
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (w->ws == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < w->n; i++) {
        if (w->ws[i].state < NGX_HOTLINE_STORE_N) {
            w->count[w->ws[i].state]++;
        }
    }

    *up = st->up && w->count[NGX_HOTLINE_STORE_UP] == w->n;

    return NGX_OK;
}


static u_char *
ngx_http_hotline_status_workers_json(u_char *p, ngx_http_hotline_workers_t *w)
{
    ngx_uint_t                        i;
    ngx_msec_int_t                    age, retry;
    ngx_http_hotline_worker_store_t  *ws;

    for (i = 0; i < w->n; i++) {
        ws = &w->ws[i];

        /* the clock is the same in every worker, but read at other times */
        age = (ngx_msec_int_t) (ngx_current_msec - ws->since);
        retry = ws->retry ? (ngx_msec_int_t) (ws->retry - ngx_current_msec)
                          : 0;

        p = ngx_sprintf(p, "%s{\"pid\":%P,\"status\":\"%s\",\"for\":%M,"
                        "\"failures\":%ui,\"retry_in\":%M}",
                        i ? "," : "", ws->pid,
                        ngx_http_hotline_store_states[ws->state
                                                      % NGX_HOTLINE_STORE_N],
                        (ngx_msec_t) ngx_max(age, 0), ws->failures,
                        (ngx_msec_t) ngx_max(retry, 0));
    }

    return p;
}


ngx_int_t
ngx_http_hotline_metrics_handler(ngx_http_request_t *r)
{
    ngx_buf_t                    *b;
    ngx_uint_t                    i, conns[3], up;
    ngx_chain_t                   out;
    ngx_http_hotline_gauges_t     g;
    ngx_http_hotline_counters_t  *z;
    ngx_http_hotline_stats_t      st;
    ngx_http_hotline_workers_t    w;

    static ngx_uint_t  codes[] = NGX_HOTLINE_CLOSE_CODES;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_hotline_not_allowed(r, "GET, HEAD");
    }

    z = ngx_http_hotline_counters();

    if (z == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    if (ngx_http_hotline_status_read(r, &st, &g, &w, conns, &up) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b = ngx_create_temp_buf(r->pool, 9216 + NGX_HOTLINE_HIST_TEXT);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->last,
        "# HELP hotline_build_info The module's version and the nginx "
        "it runs in.\n"
        "# TYPE hotline_build_info gauge\n"
        "hotline_build_info{version=\"" NGX_HTTP_HOTLINE_VERSION "\","
        "nginx=\"" NGINX_VERSION "\"} 1\n"
        "# HELP hotline_connections Open signaling WebSocket connections.\n"
        "# TYPE hotline_connections gauge\n"
        "hotline_connections{role=\"customer\"} %ui\n"
        "hotline_connections{role=\"agent\"} %ui\n"
        "# HELP hotline_queue_length Customers waiting in the queue.\n"
        "# TYPE hotline_queue_length gauge\n"
        "hotline_queue_length %ui\n"
        "# HELP hotline_calls Calls by state.\n"
        "# TYPE hotline_calls gauge\n"
        "hotline_calls{state=\"waiting\"} %ui\n"
        "hotline_calls{state=\"active\"} %ui\n"
        "# HELP hotline_agents Agents online, and by state (online = "
        "available + busy + away + wrapup).\n"
        "# TYPE hotline_agents gauge\n"
        "hotline_agents{state=\"online\"} %ui\n"
        "hotline_agents{state=\"busy\"} %ui\n"
        "hotline_agents{state=\"available\"} %ui\n"
        "hotline_agents{state=\"away\"} %ui\n"
        "hotline_agents{state=\"wrapup\"} %ui\n"
        "# HELP hotline_store_up Whether every worker can use the state "
        "store.\n"
        "# TYPE hotline_store_up gauge\n"
        "hotline_store_up %ui\n"
        "# HELP hotline_store_workers Workers by their link to the state "
        "store.\n"
        "# TYPE hotline_store_workers gauge\n"
        "hotline_store_workers{state=\"up\"} %ui\n"
        "hotline_store_workers{state=\"connecting\"} %ui\n"
        "hotline_store_workers{state=\"down\"} %ui\n"
        "# HELP hotline_store_bytes Size and use of the shared zone.\n"
        "# TYPE hotline_store_bytes gauge\n"
        "hotline_store_bytes{kind=\"size\"} %uz\n"
        "hotline_store_bytes{kind=\"used\"} %uz\n"
        "# HELP hotline_messages_relayed_total Messages relayed between "
        "the parties of a call.\n"
        "# TYPE hotline_messages_relayed_total counter\n"
        "hotline_messages_relayed_total %uA\n",
        conns[NGX_HOTLINE_ROLE_CUSTOMER], conns[NGX_HOTLINE_ROLE_AGENT],
        g.waiting, g.waiting, g.active,
        g.agents_online, g.agents_busy,
        ngx_http_hotline_gauges_available(&g), g.agents_away,
        g.agents_wrapup, up,
        w.count[NGX_HOTLINE_STORE_UP], w.count[NGX_HOTLINE_STORE_CONNECTING],
        w.count[NGX_HOTLINE_STORE_DOWN], st.size, st.used,
        z->relayed);

    b->last = ngx_sprintf(b->last,
        "# HELP hotline_calls_ended_total Calls ended, by reason.\n"
        "# TYPE hotline_calls_ended_total counter\n");

    for (i = 0; i < NGX_HOTLINE_END_MAX; i++) {
        b->last = ngx_sprintf(b->last,
                              "hotline_calls_ended_total{reason=\"%V\"} %uA\n",
                              &ngx_http_hotline_end_reasons[i], z->ended[i]);
    }

    b->last = ngx_sprintf(b->last,
        "# HELP hotline_errors_total Error messages sent to clients, "
        "by code.\n"
        "# TYPE hotline_errors_total counter\n");

    for (i = 1; i < NGX_HOTLINE_E_MAX; i++) {
        b->last = ngx_sprintf(b->last,
                              "hotline_errors_total{code=\"%V\"} %uA\n",
                              &ngx_http_hotline_errors[i], z->errors[i]);
    }

    b->last = ngx_sprintf(b->last,
        "# HELP hotline_ws_closed_total WebSocket close frames, by code.\n"
        "# TYPE hotline_ws_closed_total counter\n");

    for (i = 0; i < NGX_HOTLINE_CLOSE_N; i++) {
        b->last = ngx_sprintf(b->last,
                              "hotline_ws_closed_total{code=\"%ui\"} %uA\n",
                              codes[i], z->closes[i]);
    }

    b->last = ngx_sprintf(b->last,
        "# HELP hotline_notifications_total Telegram notifications and "
        "OTP deliveries, by result.\n"
        "# TYPE hotline_notifications_total counter\n"
        "hotline_notifications_total{result=\"sent\"} %uA\n"
        "hotline_notifications_total{result=\"retried\"} %uA\n"
        "hotline_notifications_total{result=\"failed\"} %uA\n"
        "hotline_notifications_total{result=\"fallback\"} %uA\n"
        "# HELP hotline_webhook_deliveries_total Call events for "
        "hotline_webhook, by result.\n"
        "# TYPE hotline_webhook_deliveries_total counter\n"
        "hotline_webhook_deliveries_total{result=\"ok\"} %uA\n"
        "hotline_webhook_deliveries_total{result=\"retried\"} %uA\n"
        "hotline_webhook_deliveries_total{result=\"failed\"} %uA\n"
        "hotline_webhook_deliveries_total{result=\"dropped\"} %uA\n"
        "# HELP hotline_auth_total Agent authentications, by result.\n"
        "# TYPE hotline_auth_total counter\n"
        "hotline_auth_total{result=\"ok\"} %uA\n"
        "hotline_auth_total{result=\"failed\"} %uA\n"
        "hotline_auth_total{result=\"locked\"} %uA\n"
        "hotline_auth_total{result=\"revoked\"} %uA\n"
        "# HELP hotline_otp_compared_total One-time codes compared with a "
        "stored code (at most 5 per user and lockout period).\n"
        "# TYPE hotline_otp_compared_total counter\n"
        "hotline_otp_compared_total %uA\n"
        "# HELP hotline_rate_limited_total Requests refused by a rate "
        "limit.\n"
        "# TYPE hotline_rate_limited_total counter\n"
        "hotline_rate_limited_total %uA\n"
        "# HELP hotline_connections_moved_total Customer connections "
        "handed to the worker of their agent (hotline_colocate).\n"
        "# TYPE hotline_connections_moved_total counter\n"
        "hotline_connections_moved_total{result=\"moved\"} %uA\n"
        "hotline_connections_moved_total{result=\"failed\"} %uA\n",
        z->notify[0], z->notify[1], z->notify[2], z->notify[3],
        z->webhook[0], z->webhook[1], z->webhook[2], z->webhook[3],
        z->auth[0], z->auth[1], z->auth[2], z->auth[3], z->auth[4],
        z->limited, z->moved[0], z->moved[1]);

    b->last = ngx_http_hotline_histograms(b->last, z);

    out.buf = b;
    out.next = NULL;

    return ngx_http_hotline_send(r, NGX_HTTP_OK, "text/plain; version=0.0.4",
                                 &out);
}
