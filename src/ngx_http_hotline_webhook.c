
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_notify.h"
#include "ngx_http_hotline_webhook.h"


/*
 * hotline_webhook: its configuration, the events' envelope and their
 * signature.  The secret is read when the configuration is, and shows in
 * no message; the URL may hold a secret too (a token in its query): log
 * lines name a webhook by its place in the configuration.
 */


ngx_str_t  ngx_http_hotline_webhook_types[] = {
    ngx_string("call.queued"),
    ngx_string("call.accepted"),
    ngx_string("call.transferred"),
    ngx_string("call.ended"),
    ngx_string("message.left"),
    ngx_string("rating.given")
};


static ngx_uint_t ngx_http_hotline_webhook_events(ngx_conf_t *cf,
    ngx_str_t *list);


char *
ngx_http_hotline_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_notify_conf_t *nmcf = conf;

    ngx_str_t                     *value, url, path, list;
    ngx_uint_t                     i, events;
    ngx_http_hotline_webhook_t    *wh;
    ngx_http_hotline_main_conf_t  *hmcf;

    if (nmcf->webhooks == NULL) {
        nmcf->webhooks = ngx_array_create(cf->pool, 2,
                                          sizeof(ngx_http_hotline_webhook_t));
        if (nmcf->webhooks == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (nmcf->webhooks->nelts >= NGX_HOTLINE_WH_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "at most %d \"hotline_webhook\" directives",
                           NGX_HOTLINE_WH_MAX);
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    url = value[1];
    ngx_str_null(&path);
    ngx_str_null(&list);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "secret_file=", 12) == 0) {
            if (path.data) {
                goto duplicate;
            }

            path.data = value[i].data + 12;
            path.len = value[i].len - 12;
            continue;
        }

        if (ngx_strncmp(value[i].data, "events=", 7) == 0) {
            if (list.data) {
                goto duplicate;
            }

            list.data = value[i].data + 7;
            list.len = value[i].len - 7;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" (secret_file= or "
                           "events=)", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_webhook\" requires "
                           "\"secret_file=PATH\"");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_hotline_notify_check_url(cf, "hotline_webhook", &url, 0)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (list.data) {
        events = ngx_http_hotline_webhook_events(cf, &list);
        if (events == 0) {
            return NGX_CONF_ERROR;
        }

    } else {
        events = (1 << NGX_HOTLINE_WH_N) - 1;
    }

    wh = ngx_array_push(nmcf->webhooks);
    if (wh == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_hotline_read_secret(cf, &path, "webhook secret file",
                                     NGX_HOTLINE_WH_SECRET_MIN,
                                     NGX_HOTLINE_WH_SECRET_MAX, &wh->secret)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    wh->url = url;
    wh->events = events;
    wh->index = nmcf->webhooks->nelts;

    /* the counters live in the node's zone, the events come from calls */
    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hotline_module);
    hmcf->signaling = 1;

    return NGX_CONF_OK;

duplicate:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "duplicate parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* "call.ended,rating.given": a bit per type; 0: an error, logged */

static ngx_uint_t
ngx_http_hotline_webhook_events(ngx_conf_t *cf, ngx_str_t *list)
{
    u_char      *p, *last, *comma;
    ngx_str_t    name;
    ngx_uint_t   i, events;

    events = 0;
    p = list->data;
    last = list->data + list->len;

    for ( ;; ) {
        comma = ngx_strlchr(p, last, ',');

        name.data = p;
        name.len = (comma ? comma : last) - p;

        for (i = 0; i < NGX_HOTLINE_WH_N; i++) {
            if (name.len == ngx_http_hotline_webhook_types[i].len
                && ngx_strncmp(name.data,
                               ngx_http_hotline_webhook_types[i].data,
                               name.len)
                   == 0)
            {
                break;
            }
        }

        if (i == NGX_HOTLINE_WH_N) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown webhook event \"%V\" (call.queued, "
                               "call.accepted, call.transferred, call.ended, "
                               "message.left, rating.given)", &name);
            return 0;
        }

        events |= 1 << i;

        if (comma == NULL) {
            return events;
        }

        p = comma + 1;
    }
}


ngx_uint_t
ngx_http_hotline_webhook_wanted(ngx_uint_t type)
{
    ngx_uint_t                   i;
    ngx_array_t                 *webhooks;
    ngx_http_hotline_webhook_t  *wh;

    webhooks = ngx_http_hotline_notify_webhooks();
    if (webhooks == NULL) {
        return 0;
    }

    wh = webhooks->elts;

    for (i = 0; i < webhooks->nelts; i++) {
        if (wh[i].events & (1 << type)) {
            return 1;
        }
    }

    return 0;
}


void
ngx_http_hotline_webhook_emit(ngx_uint_t type, u_char *data, size_t len)
{
    u_char                      *p;
    ngx_str_t                    body, id, label;
    ngx_uint_t                   i;
    ngx_array_t                 *webhooks;
    ngx_http_hotline_webhook_t  *wh;
    u_char                       raw[NGX_HOTLINE_ID_LEN];
    u_char                       hex[NGX_HOTLINE_ID_HEX];
    u_char                       what[64];

    webhooks = ngx_http_hotline_notify_webhooks();
    if (webhooks == NULL || type >= NGX_HOTLINE_WH_N) {
        return;
    }

    if (ngx_http_hotline_random_id(raw) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "hotline: webhook event %V not sent: no random id",
                      &ngx_http_hotline_webhook_types[type]);
        return;
    }

    id.data = hex;
    id.len = ngx_http_hotline_hex(hex, raw, NGX_HOTLINE_ID_LEN) - hex;

    body.data = ngx_alloc(sizeof("{\"id\":\"\",\"type\":\"\",\"created\":,"
                                 "\"data\":}") - 1
                          + NGX_HOTLINE_ID_HEX
                          + ngx_http_hotline_webhook_types[type].len
                          + NGX_TIME_T_LEN + len,
                          ngx_cycle->log);
    if (body.data == NULL) {
        return;
    }

    p = ngx_sprintf(body.data, "{\"id\":\"%V\",\"type\":\"%V\",\"created\":%T,"
                    "\"data\":", &id, &ngx_http_hotline_webhook_types[type],
                    ngx_time());
    p = ngx_cpymem(p, data, len);
    *p++ = '}';

    body.len = p - body.data;

    wh = webhooks->elts;

    for (i = 0; i < webhooks->nelts; i++) {
        if (!(wh[i].events & (1 << type))) {
            continue;
        }

        label.data = what;
        label.len = ngx_snprintf(what, sizeof(what), "%V, hotline_webhook %ui",
                                 &ngx_http_hotline_webhook_types[type],
                                 wh[i].index)
                    - what;

        /* counted and logged in there when it fails */
        (void) ngx_http_hotline_notify_webhook((ngx_cycle_t *) ngx_cycle,
                                               &wh[i], &id, &label, &body);
    }

    ngx_free(body.data);
}
