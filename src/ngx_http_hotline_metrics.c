
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


/* a webhook event's delivery: NGX_HOTLINE_NOTIFY_SENT ... DROPPED */

void
ngx_http_hotline_count_webhook(ngx_uint_t result)
{
    ngx_http_hotline_add_at(webhook,
                            result == NGX_HOTLINE_NOTIFY_DROPPED ? 3 : result,
                            4);
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


void
ngx_http_hotline_count_moved(ngx_uint_t failed)
{
    ngx_http_hotline_add(moved[failed ? 1 : 0]);
}


/*
 * Histograms of what SREs watch: time in the queue, call duration, time
 * to media.  Bucket bounds in ms (Prometheus "le" in seconds); per call,
 * never per message.
 */

typedef struct {
    char                      *name;
    char                      *label;
    ngx_msec_t                 le[NGX_HOTLINE_HIST_BUCKETS - 1];
} ngx_http_hotline_hist_spec_t;


#define NGX_HOTLINE_WAIT_LE                                                   \
    { 1000, 5000, 10000, 30000, 60000, 120000, 300000, 600000, 1800000 }

static ngx_http_hotline_hist_spec_t  ngx_http_hotline_hists[] = {
    { "hotline_queue_wait_seconds", "outcome=\"accepted\"",
      NGX_HOTLINE_WAIT_LE },
    { "hotline_queue_wait_seconds", "outcome=\"unanswered\"",
      NGX_HOTLINE_WAIT_LE },
    { "hotline_call_duration_seconds", NULL,
      { 30000, 60000, 120000, 300000, 600000, 900000, 1200000, 1800000,
        3600000 } },
    { "hotline_call_connect_seconds", "role=\"customer\"",
      { 250, 500, 1000, 2000, 3000, 5000, 10000, 20000, 30000 } },
    { "hotline_call_connect_seconds", "role=\"agent\"",
      { 250, 500, 1000, 2000, 3000, 5000, 10000, 20000, 30000 } }
};


void
ngx_http_hotline_observe(ngx_uint_t hist, ngx_msec_int_t ms)
{
    ngx_uint_t                    i;
    ngx_http_hotline_hist_t      *h;
    ngx_http_hotline_hist_spec_t *spec;

    if (ngx_http_hotline_zone == NULL || hist >= NGX_HOTLINE_HIST_N) {
        return;
    }

    if (ms < 0) {
        /* clocks of two nodes */
        ms = 0;
    }

    spec = &ngx_http_hotline_hists[hist];
    h = &ngx_http_hotline_zone->counters.hist[hist];

    for (i = 0; i < NGX_HOTLINE_HIST_BUCKETS - 1; i++) {
        if ((ngx_msec_t) ms <= spec->le[i]) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&h->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&h->sum, (ngx_atomic_int_t) ms);
}


/* the exposition: cumulative buckets, sum and count */

u_char *
ngx_http_hotline_histograms(u_char *p, ngx_http_hotline_counters_t *z)
{
    char                          *sep;
    ngx_uint_t                     i, k;
    ngx_atomic_uint_t              n;
    ngx_http_hotline_hist_t       *h;
    ngx_http_hotline_hist_spec_t  *spec;

    static char  *help[] = {
        "Time customers waited in the queue, by how the wait ended.",
        NULL,
        "Calls from accepted to ended.",
        "Time from accepted to a party's media connected, as its page "
        "reports it.",
        NULL
    };

    for (k = 0; k < NGX_HOTLINE_HIST_N; k++) {
        spec = &ngx_http_hotline_hists[k];
        h = &z->hist[k];

        if (help[k]) {
            p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s histogram\n",
                            spec->name, help[k], spec->name);
        }

        sep = spec->label ? "," : "";
        n = 0;

        for (i = 0; i < NGX_HOTLINE_HIST_BUCKETS; i++) {
            n += h->bucket[i];

            p = ngx_sprintf(p, "%s_bucket{%s%s", spec->name,
                            spec->label ? spec->label : "", sep);

            if (i == NGX_HOTLINE_HIST_BUCKETS - 1) {
                p = ngx_sprintf(p, "le=\"+Inf\"} %uA\n", n);

            } else {
                p = ngx_sprintf(p, "le=\"%M.%03M\"} %uA\n",
                                spec->le[i] / 1000, spec->le[i] % 1000, n);
            }
        }

        p = ngx_sprintf(p, "%s_sum%s%s%s %uA.%03uA\n%s_count%s%s%s %uA\n",
                        spec->name, spec->label ? "{" : "",
                        spec->label ? spec->label : "",
                        spec->label ? "}" : "",
                        h->sum / 1000, h->sum % 1000,
                        spec->name, spec->label ? "{" : "",
                        spec->label ? spec->label : "",
                        spec->label ? "}" : "", n);
    }

    return p;
}
