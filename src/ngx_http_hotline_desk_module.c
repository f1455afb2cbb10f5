
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_desk.h"


/*
 * ngx_http_hotline_desk_module: the directives of the support desk
 * (docs/desk.md): hotline_wrapup_time, hotline_away_after,
 * hotline_transfer_timeout, hotline_dispositions, hotline_transcript,
 * hotline_transcript_retention, hotline_rating_time, hotline_hours
 * (ngx_http_hotline_hours.c).
 */


static void *ngx_http_hotline_desk_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_desk_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_hotline_dispositions(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_hotline_desk_value(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* a time (ms) or a size directive's bounds; off: "off" is 0 */
typedef struct {
    size_t                         min;
    size_t                         max;
    ngx_uint_t                     off;
    ngx_uint_t                     size;
} ngx_http_hotline_desk_bounds_t;


static ngx_http_hotline_desk_bounds_t  ngx_http_hotline_wrapup_bounds = {
    1000, 3600000, 1, 0
};

static ngx_http_hotline_desk_bounds_t  ngx_http_hotline_away_bounds = {
    60000, 86400000, 1, 0
};

static ngx_http_hotline_desk_bounds_t  ngx_http_hotline_transfer_bounds = {
    5000, 600000, 0, 0
};

static ngx_http_hotline_desk_bounds_t  ngx_http_hotline_transcript_bounds = {
    1024, 262144, 1, 1
};

/* 1s .. 400d, the most the Redis history keeps a transcript */
static ngx_http_hotline_desk_bounds_t  ngx_http_hotline_retention_bounds = {
    1000, 34560000000, 1, 0
};

static ngx_http_hotline_desk_bounds_t  ngx_http_hotline_rating_bounds = {
    1000, 86400000, 1, 0
};


static ngx_command_t  ngx_http_hotline_desk_commands[] = {

    { ngx_string("hotline_wrapup_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_desk_value,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_desk_conf_t, wrapup_time),
      &ngx_http_hotline_wrapup_bounds },

    { ngx_string("hotline_away_after"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_desk_value,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_desk_conf_t, away_after),
      &ngx_http_hotline_away_bounds },

    { ngx_string("hotline_transfer_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_desk_value,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_desk_conf_t, transfer_timeout),
      &ngx_http_hotline_transfer_bounds },

    { ngx_string("hotline_transcript"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_desk_value,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_desk_conf_t, transcript),
      &ngx_http_hotline_transcript_bounds },

    { ngx_string("hotline_transcript_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_desk_value,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_desk_conf_t, retention),
      &ngx_http_hotline_retention_bounds },

    { ngx_string("hotline_rating_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_desk_value,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_desk_conf_t, rating_time),
      &ngx_http_hotline_rating_bounds },

    { ngx_string("hotline_hours"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_hotline_hours,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_dispositions"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_hotline_dispositions,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_desk_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_desk_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hotline_desk_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_hotline_desk_create_main_conf, /* create main configuration */
    ngx_http_hotline_desk_init_main_conf,  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_desk_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_desk_module_ctx,     /* module context */
    ngx_http_hotline_desk_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_hotline_desk_conf_t *
ngx_http_hotline_desk(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hotline_desk_module);
}


ngx_int_t
ngx_http_hotline_disposition(u_char *name, size_t len)
{
    ngx_str_t                     *d;
    ngx_uint_t                     i;
    ngx_http_hotline_desk_conf_t  *dcf;

    dcf = ngx_http_hotline_desk();
    d = dcf->dispositions->elts;

    for (i = 0; i < dcf->dispositions->nelts; i++) {
        if (d[i].len == len && ngx_strncmp(d[i].data, name, len) == 0) {
            return i;
        }
    }

    return NGX_ERROR;
}


static void *
ngx_http_hotline_desk_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_desk_conf_t  *dcf;

    dcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_desk_conf_t));
    if (dcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     dcf->dispositions = NULL;
     */

    dcf->wrapup_time = NGX_CONF_UNSET_MSEC;
    dcf->away_after = NGX_CONF_UNSET_MSEC;
    dcf->transfer_timeout = NGX_CONF_UNSET_MSEC;
    dcf->transcript = NGX_CONF_UNSET_SIZE;
    dcf->retention = NGX_CONF_UNSET_MSEC;
    dcf->rating_time = NGX_CONF_UNSET_MSEC;

    return dcf;
}


static char *
ngx_http_hotline_desk_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_hotline_desk_conf_t *dcf = conf;

    ngx_str_t   *d;
    ngx_uint_t   i;

    static ngx_str_t  defaults[] = {
        ngx_string("solved"),
        ngx_string("follow-up"),
        ngx_string("spam")
    };

    ngx_conf_init_msec_value(dcf->wrapup_time, 0);
    ngx_conf_init_msec_value(dcf->away_after, 0);
    ngx_conf_init_msec_value(dcf->transfer_timeout, 30000);
    ngx_conf_init_size_value(dcf->transcript, 16384);
    ngx_conf_init_msec_value(dcf->retention, 0);
    ngx_conf_init_msec_value(dcf->rating_time, 600000);

    if (dcf->dispositions == NULL) {
        dcf->dispositions = ngx_array_create(cf->pool, 3, sizeof(ngx_str_t));
        if (dcf->dispositions == NULL) {
            return NGX_CONF_ERROR;
        }

        for (i = 0; i < 3; i++) {
            d = ngx_array_push(dcf->dispositions);
            if (d == NULL) {
                return NGX_CONF_ERROR;
            }

            *d = defaults[i];
        }
    }

    return NGX_CONF_OK;
}


/*
 * hotline_<time> [off |] <time>, hotline_<size> [off |] <size>, within
 * the directive's bounds (a time in ms into an ngx_msec_t, a size into a
 * size_t)
 */

static char *
ngx_http_hotline_desk_value(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    size_t                           v;
    ngx_str_t                       *value;
    ngx_http_hotline_desk_bounds_t  *b;

    b = cmd->post;

    if (b->size ? *(size_t *) (p + cmd->offset) != NGX_CONF_UNSET_SIZE
                : *(ngx_msec_t *) (p + cmd->offset) != NGX_CONF_UNSET_MSEC)
    {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (b->off && ngx_strcmp(value[1].data, "off") == 0) {
        v = 0;

    } else {
        v = b->size ? (size_t) ngx_parse_size(&value[1])
                    : (size_t) ngx_parse_time(&value[1], 0);

        if (v == (size_t) NGX_ERROR || v < b->min || v > b->max) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\": expected "
                               "%s%s from %uz%s to %uz%s", &value[1],
                               &cmd->name, b->off ? "off or " : "",
                               b->size ? "a size" : "a time",
                               b->size ? b->min / 1024 : b->min / 1000,
                               b->size ? "k" : "s",
                               b->size ? b->max / 1024 : b->max / 1000,
                               b->size ? "k" : "s");
            return NGX_CONF_ERROR;
        }
    }

    if (b->size) {
        *(size_t *) (p + cmd->offset) = v;

    } else {
        *(ngx_msec_t *) (p + cmd->offset) = (ngx_msec_t) v;
    }

    return NGX_CONF_OK;
}


/*
 * hotline_dispositions <name> ...: what an agent may file a call as,
 * 1-32 bytes of [a-z0-9_-] each, at most 16
 */

static char *
ngx_http_hotline_dispositions(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_desk_conf_t *dcf = conf;

    u_char      c;
    ngx_str_t  *value, *d;
    ngx_uint_t  i, k, j;

    if (dcf->dispositions) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts - 1 > NGX_HOTLINE_DISPOSITIONS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes at most %d names", &cmd->name,
                           NGX_HOTLINE_DISPOSITIONS);
        return NGX_CONF_ERROR;
    }

    dcf->dispositions = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                         sizeof(ngx_str_t));
    if (dcf->dispositions == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (value[i].len == 0 || value[i].len > NGX_HOTLINE_DISPOSITION_MAX) {
            goto invalid;
        }

        for (k = 0; k < value[i].len; k++) {
            c = value[i].data[k];

            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || c == '-' || c == '_'))
            {
                goto invalid;
            }
        }

        d = dcf->dispositions->elts;

        for (j = 0; j < dcf->dispositions->nelts; j++) {
            if (d[j].len == value[i].len
                && ngx_strncmp(d[j].data, value[i].data, d[j].len) == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\" is named twice in \"%V\"",
                                   &value[i], &cmd->name);
                return NGX_CONF_ERROR;
            }
        }

        d = ngx_array_push(dcf->dispositions);
        if (d == NULL) {
            return NGX_CONF_ERROR;
        }

        *d = value[i];
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid disposition \"%V\" in \"%V\": 1-%d of "
                       "a-z, 0-9, \"-\" and \"_\"", &value[i], &cmd->name,
                       NGX_HOTLINE_DISPOSITION_MAX);
    return NGX_CONF_ERROR;
}

