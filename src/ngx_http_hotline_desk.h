
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_DESK_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_DESK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * ngx_http_hotline_desk_module: the support desk's settings (presence,
 * wrap-up, dispositions, transfers, transcripts), http level, so that the
 * call model reads them with the cycle alone (ngx_http_hotline_desk()).
 */


#define NGX_HOTLINE_DISPOSITION_MAX   32      /* bytes of one */
#define NGX_HOTLINE_DISPOSITIONS      16      /* at most */


typedef struct {
    int64_t                        from;           /* UTC seconds */
    ngx_int_t                      offset;         /* east of UTC, s */
} ngx_http_hotline_tz_t;


typedef struct {
    ngx_str_t                      zone;
    ngx_array_t                   *tz;             /* changes of offset */
    u_char                         week[7 * 1440 / 8];  /* open minutes,
                                                       Monday 00:00 first */
} ngx_http_hotline_hours_t;


typedef struct {
    ngx_msec_t                     wrapup_time;    /* 0: no wrap-up */
    ngx_msec_t                     away_after;     /* 0: never */
    ngx_msec_t                     transfer_timeout;
    ngx_array_t                   *dispositions;   /* of ngx_str_t */
    size_t                         transcript;     /* bytes; 0: none */
    ngx_msec_t                     retention;      /* of transcripts in
                                                      the history; 0:
                                                      kept */
    ngx_msec_t                     rating_time;    /* 0: no ratings */
    ngx_http_hotline_hours_t      *hours;          /* NULL: always open */
} ngx_http_hotline_desk_conf_t;


extern ngx_module_t  ngx_http_hotline_desk_module;


/* the settings of the running configuration */
ngx_http_hotline_desk_conf_t *ngx_http_hotline_desk(void);

/* ngx_http_hotline_hours.c: hotline_hours */
char *ngx_http_hotline_hours(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_uint_t ngx_http_hotline_hours_open(ngx_http_hotline_hours_t *h,
    time_t now);
time_t ngx_http_hotline_hours_next(ngx_http_hotline_hours_t *h, time_t now);

/* ngx_http_hotline_desk_status.c: hotline_desk_status */
char *ngx_http_hotline_desk_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the index of a disposition; NGX_ERROR: not one of the list */
ngx_int_t ngx_http_hotline_disposition(u_char *name, size_t len);


#endif /* _NGX_HTTP_HOTLINE_DESK_H_INCLUDED_ */
