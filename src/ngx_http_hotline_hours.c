
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_desk.h"


/*
 * Opening hours (hotline_hours): the minutes of a week support is open,
 * in a time zone.  The zone's offsets from UTC are worked out once, when
 * the configuration is read, by the C library from the system's time
 * zone database (TZ set for a moment, then put back): every change of
 * offset from a day before to NGX_HOTLINE_TZ_YEARS years after.  A worker
 * then looks them up; a configuration kept that long needs a reload.
 */


#define NGX_HOTLINE_WEEK           (7 * 1440)       /* minutes */
#define NGX_HOTLINE_TZ_YEARS       5
#define NGX_HOTLINE_TZ_MAX         64


static ngx_int_t ngx_http_hotline_hours_zone(ngx_conf_t *cf,
    ngx_http_hotline_hours_t *h, ngx_str_t *zone);
static ngx_int_t ngx_http_hotline_hours_days(ngx_str_t *s, ngx_uint_t *days);
static ngx_int_t ngx_http_hotline_hours_time(u_char *p, u_char *last,
    ngx_uint_t *minute);
static void ngx_http_hotline_hours_set(ngx_http_hotline_hours_t *h,
    ngx_uint_t from, ngx_uint_t to);
static ngx_int_t ngx_http_hotline_hours_offset(ngx_http_hotline_hours_t *h,
    int64_t t);
static ngx_uint_t ngx_http_hotline_hours_open_minute(
    ngx_http_hotline_hours_t *h, int64_t t);


static const char  *ngx_http_hotline_days[] = {
    "mon", "tue", "wed", "thu", "fri", "sat", "sun"
};


/*
 * hotline_hours <time zone> <days> <HH:MM-HH:MM> [<days> <HH:MM-HH:MM>]...
 * days: mon, mon-fri, sat,sun or *; an interval may go past midnight
 */

char *
ngx_http_hotline_hours(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_desk_conf_t *dcf = conf;

    u_char                    *dash;
    ngx_str_t                 *value;
    ngx_uint_t                 i, d, days, from, to, any;
    ngx_http_hotline_hours_t  *h;

    if (dcf->hours) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts % 2 != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes a time zone, then days and hours "
                           "in pairs, e.g. \"Europe/Istanbul mon-fri "
                           "09:00-18:00 sat 10:00-14:00\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    h = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_hours_t));
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_hotline_hours_zone(cf, h, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    any = 0;

    for (i = 2; i < cf->args->nelts; i += 2) {

        if (ngx_http_hotline_hours_days(&value[i], &days) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid days \"%V\" in \"%V\": mon, mon-fri, "
                               "sat,sun or *", &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        dash = ngx_strlchr(value[i + 1].data,
                           value[i + 1].data + value[i + 1].len, '-');

        if (dash == NULL
            || ngx_http_hotline_hours_time(value[i + 1].data, dash, &from)
               != NGX_OK
            || ngx_http_hotline_hours_time(dash + 1,
                                           value[i + 1].data + value[i + 1].len,
                                           &to)
               != NGX_OK
            || from == to || from == 1440)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid hours \"%V\" in \"%V\": "
                               "HH:MM-HH:MM (00:00 to 24:00)",
                               &value[i + 1], &cmd->name);
            return NGX_CONF_ERROR;
        }

        for (d = 0; d < 7; d++) {
            if (!(days & (1 << d))) {
                continue;
            }

            if (from < to) {
                ngx_http_hotline_hours_set(h, d * 1440 + from, d * 1440 + to);

            } else {
                /* past midnight: into the next day (the week wraps) */
                ngx_http_hotline_hours_set(h, d * 1440 + from, d * 1440 + 1440);
                ngx_http_hotline_hours_set(h, (d + 1) % 7 * 1440,
                                           (d + 1) % 7 * 1440 + to);
            }

            any = 1;
        }
    }

    if (!any) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" names no hours: support would never be "
                           "open", &cmd->name);
        return NGX_CONF_ERROR;
    }

    dcf->hours = h;

    return NGX_CONF_OK;
}


/* the zone's offsets, by the C library, TZ set for a moment */

static ngx_int_t
ngx_http_hotline_hours_zone(ngx_conf_t *cf, ngx_http_hotline_hours_t *h,
    ngx_str_t *zone)
{
    u_char                *p;
    char                  *old;
    time_t                 t, lo, hi, mid, end;
    ngx_int_t              rc;
    ngx_uint_t             i;
    struct tm              tm;
    ngx_http_hotline_tz_t *tz;
    u_char                 path[sizeof("/usr/share/zoneinfo/") + 64];

    /* a name of the database: Area/City, no "..", no leading "/" */

    if (zone->len == 0 || zone->len > 64 || zone->data[0] == '/'
        || ngx_strstr(zone->data, "..") != NULL)
    {
        goto invalid;
    }

    for (i = 0; i < zone->len; i++) {
        if (!(isalnum(zone->data[i]) || ngx_strchr("/_+-", zone->data[i]))) {
            goto invalid;
        }
    }

    p = ngx_cpymem(path, "/usr/share/zoneinfo/",
                   sizeof("/usr/share/zoneinfo/") - 1);
    ngx_memcpy(p, zone->data, zone->len + 1);

    if (access((char *) path, R_OK) != 0
        && ngx_strcmp(zone->data, "UTC") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "time zone \"%V\" of \"hotline_hours\" is not in "
                           "the time zone database (\"%s\"; install tzdata)",
                           zone, path);
        return NGX_ERROR;
    }

    h->zone.data = ngx_pstrdup(cf->pool, zone);
    h->zone.len = zone->len;

    h->tz = ngx_array_create(cf->pool, 16, sizeof(ngx_http_hotline_tz_t));
    if (h->tz == NULL || h->zone.data == NULL) {
        return NGX_ERROR;
    }

    old = getenv("TZ");
    if (old) {
        old = strdup(old);
        if (old == NULL) {
            return NGX_ERROR;
        }
    }

    if (setenv("TZ", (char *) zone->data, 1) != 0) {
        free(old);
        return NGX_ERROR;
    }

    tzset();

    rc = NGX_OK;
    t = ngx_time() - 86400;
    end = t + (time_t) NGX_HOTLINE_TZ_YEARS * 366 * 86400;

    tz = ngx_array_push(h->tz);
    if (tz == NULL || localtime_r(&t, &tm) == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    tz->from = t;
    tz->offset = tm.tm_gmtoff;

    /* hour by hour; a change found is narrowed down to its second */

    for ( /* void */ ; t < end && rc == NGX_OK; t += 3600) {

        if (localtime_r(&t, &tm) == NULL) {
            rc = NGX_ERROR;
            break;
        }

        if (tm.tm_gmtoff == tz->offset) {
            continue;
        }

        lo = t - 3600;
        hi = t;

        while (hi - lo > 1) {
            mid = lo + (hi - lo) / 2;

            if (localtime_r(&mid, &tm) == NULL) {
                rc = NGX_ERROR;
                break;
            }

            if (tm.tm_gmtoff == tz->offset) {
                lo = mid;

            } else {
                hi = mid;
            }
        }

        if (h->tz->nelts == NGX_HOTLINE_TZ_MAX) {
            break;
        }

        tz = ngx_array_push(h->tz);
        if (tz == NULL || localtime_r(&hi, &tm) == NULL) {
            rc = NGX_ERROR;
            break;
        }

        tz->from = hi;
        tz->offset = tm.tm_gmtoff;
    }

done:

    if (old) {
        (void) setenv("TZ", old, 1);
        free(old);

    } else {
        (void) unsetenv("TZ");
    }

    tzset();

    return rc;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid time zone \"%V\" in \"hotline_hours\": a "
                       "name of the time zone database, e.g. "
                       "Europe/Istanbul or UTC", zone);
    return NGX_ERROR;
}


/* days: a bit per day, Monday first */

static ngx_int_t
ngx_http_hotline_hours_days(ngx_str_t *s, ngx_uint_t *days)
{
    u_char      *p, *last;
    ngx_uint_t   i, from, to, d;

    *days = 0;

    if (s->len == 1 && s->data[0] == '*') {
        *days = 0x7f;
        return NGX_OK;
    }

    p = s->data;
    last = s->data + s->len;

    while (p < last) {

        /* a day, or a range of days */

        from = 7;
        to = 7;

        for (i = 0; i < 7; i++) {
            if (last - p >= 3 && ngx_strncmp(p, ngx_http_hotline_days[i], 3)
                                 == 0)
            {
                from = i;
                break;
            }
        }

        if (from == 7) {
            return NGX_ERROR;
        }

        p += 3;
        to = from;

        if (p < last && *p == '-') {
            p++;
            to = 7;

            for (i = 0; i < 7; i++) {
                if (last - p >= 3
                    && ngx_strncmp(p, ngx_http_hotline_days[i], 3) == 0)
                {
                    to = i;
                    break;
                }
            }

            if (to == 7) {
                return NGX_ERROR;
            }

            p += 3;
        }

        for (d = from; ; d = (d + 1) % 7) {
            *days |= 1 << d;

            if (d == to) {
                break;
            }
        }

        if (p < last) {
            if (*p != ',') {
                return NGX_ERROR;
            }

            p++;

            if (p == last) {
                return NGX_ERROR;
            }
        }
    }

    return *days ? NGX_OK : NGX_ERROR;
}


/* HH:MM, 00:00 to 24:00, into the minute of the day */

static ngx_int_t
ngx_http_hotline_hours_time(u_char *p, u_char *last, ngx_uint_t *minute)
{
    ngx_int_t  hh, mm;

    if (last - p != 5 || p[2] != ':') {
        return NGX_ERROR;
    }

    hh = ngx_atoi(p, 2);
    mm = ngx_atoi(p + 3, 2);

    if (hh == NGX_ERROR || mm == NGX_ERROR || hh > 24 || mm > 59
        || (hh == 24 && mm != 0))
    {
        return NGX_ERROR;
    }

    *minute = hh * 60 + mm;

    return NGX_OK;
}


/* the minutes [from, to) of the week are open */

static void
ngx_http_hotline_hours_set(ngx_http_hotline_hours_t *h, ngx_uint_t from,
    ngx_uint_t to)
{
    ngx_uint_t  m;

    for (m = from; m < to; m++) {
        h->week[m / 8] |= (u_char) (1 << (m % 8));
    }
}


/* the zone's offset from UTC at t, in seconds */

static ngx_int_t
ngx_http_hotline_hours_offset(ngx_http_hotline_hours_t *h, int64_t t)
{
    ngx_uint_t              i;
    ngx_http_hotline_tz_t  *tz;

    tz = h->tz->elts;

    for (i = h->tz->nelts; i > 1 && tz[i - 1].from > t; i--) {
        /* void */
    }

    return tz[i - 1].offset;
}


/* whether the minute of the week at UTC t is open */

static ngx_uint_t
ngx_http_hotline_hours_open_minute(ngx_http_hotline_hours_t *h, int64_t t)
{
    int64_t     local;
    ngx_uint_t  m;

    local = t + ngx_http_hotline_hours_offset(h, t);

    /* 1970-01-01 was a Thursday: day 3 of a week that starts on Monday */
    m = (ngx_uint_t) (((local / 86400 + 3) % 7) * 1440 + local % 86400 / 60);

    return (h->week[m / 8] >> (m % 8)) & 1;
}


ngx_uint_t
ngx_http_hotline_hours_open(ngx_http_hotline_hours_t *h, time_t now)
{
    return h == NULL || ngx_http_hotline_hours_open_minute(h, now);
}


/*
 * when support opens (closed now) or closes (open now) next, in seconds
 * since the epoch; 0: never within a week (always open)
 */

time_t
ngx_http_hotline_hours_next(ngx_http_hotline_hours_t *h, time_t now)
{
    int64_t     t;
    ngx_uint_t  open, m;

    if (h == NULL) {
        return 0;
    }

    open = ngx_http_hotline_hours_open_minute(h, now);

    /* minute by minute, from the next whole minute */

    t = now - now % 60 + 60;

    for (m = 0; m < NGX_HOTLINE_WEEK + 120; m++, t += 60) {
        if (ngx_http_hotline_hours_open_minute(h, t) != open) {
            return (time_t) t;
        }
    }

    return 0;
}
