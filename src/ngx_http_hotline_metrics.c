
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_metrics.h"
#include "ngx_http_hotline_zone.h"


ngx_http_hotline_counters_t *
ngx_http_hotline_counters(void)
{
    return ngx_http_hotline_zone ? &ngx_http_hotline_zone->counters : NULL;
}


#define ngx_http_hotline_add(field)                                           \
    if (ngx_http_hotline_zone) {                                              \
        (void) ngx_atomic_fetch_add(&ngx_http_hotline_zone->counters.field,   \
                                    1);                                       \
    }

/* one of an array's counters, if i is in it */
#define ngx_http_hotline_add_at(field, i, n)                                  \
    if ((i) < (n)) {                                                          \
        ngx_http_hotline_add(field[i]);                                       \
    }


void
ngx_http_hotline_count_error(ngx_uint_t code)
{
    ngx_http_hotline_add_at(errors, code, NGX_HOTLINE_E_MAX);
}


void
ngx_http_hotline_count_close(ngx_uint_t code)
{
    ngx_uint_t  i;

    static ngx_uint_t  codes[] = NGX_HOTLINE_CLOSE_CODES;

    for (i = 0; i < NGX_HOTLINE_CLOSE_N; i++) {
        if (codes[i] == code) {
            ngx_http_hotline_add(closes[i]);
            return;
        }
    }
}


void
ngx_http_hotline_count_relayed(void)
{
    ngx_http_hotline_add(relayed);
}


void
ngx_http_hotline_count_ended(ngx_uint_t reason)
{
    ngx_http_hotline_add_at(ended, reason, NGX_HOTLINE_END_MAX);
}


void
ngx_http_hotline_count_notify(ngx_uint_t result)
{
    ngx_http_hotline_add_at(notify, result, 4);
}


void
ngx_http_hotline_count_auth(ngx_uint_t result)
{
    ngx_http_hotline_add_at(auth, result, 5);
}


void
ngx_http_hotline_count_limited(void)
{
    ngx_http_hotline_add(limited);
}
