
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
    ngx_msec_t                     wrapup_time;    /* 0: no wrap-up */
    ngx_msec_t                     away_after;     /* 0: never */
    ngx_msec_t                     transfer_timeout;
    ngx_array_t                   *dispositions;   /* of ngx_str_t */
    size_t                         transcript;     /* bytes; 0: none */
    ngx_msec_t                     rating_time;    /* 0: no ratings */
} ngx_http_hotline_desk_conf_t;


extern ngx_module_t  ngx_http_hotline_desk_module;


/* the settings of the running configuration */
ngx_http_hotline_desk_conf_t *ngx_http_hotline_desk(void);

/* the index of a disposition; NGX_ERROR: not one of the list */
ngx_int_t ngx_http_hotline_disposition(u_char *name, size_t len);


#endif /* _NGX_HTTP_HOTLINE_DESK_H_INCLUDED_ */
