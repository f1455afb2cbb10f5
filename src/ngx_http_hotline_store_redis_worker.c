
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store_redis_state.h"


/*
 * A worker's Redis store, started and stopped: its parts are made in
 * order from the bottom up, and each lower one is given the functions of
 * the higher ones that it tells what happened, so that none of them
 * calls up.  The connections tell that they are up (the consumers catch
 * up, what waited for the replicas goes, worker 0 asks whether Redis
 * keeps its data on disk), that they are lost (what waited for the
 * replicas is answered first), and where the master is asked (Sentinel).
 */


static void ngx_http_hotline_rworker_up(void);


ngx_int_t
ngx_http_hotline_rworker_init(ngx_cycle_t *cycle)
{
    ngx_http_hotline_redis_conf_t   *rcf;
    ngx_http_hotline_main_conf_t    *hmcf;
    ngx_http_hotline_rconn_hooks_t   hooks;

    hmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_hotline_module);
    rcf = hmcf->redis;

    if (ngx_http_hotline_rcache_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    hooks.locate = rcf->nsentinels ? ngx_http_hotline_rsentinel_ask : NULL;
    hooks.up = ngx_http_hotline_rworker_up;
    hooks.lost = ngx_http_hotline_rdurable_lost;
    hooks.message = ngx_http_hotline_rcache_message;

    if (ngx_http_hotline_rconn_init(cycle, &hooks) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_hotline_rdurable_init(cycle, ngx_http_hotline_rcache_durable,
                                   ngx_http_hotline_rcache_unheld);

    if (rcf->nsentinels) {
        ngx_http_hotline_rsentinel_init(cycle);
    }

    ngx_http_hotline_rconn_connect();

    return NGX_OK;
}


/* the connections are set up: what they missed, and what waited */

static void
ngx_http_hotline_rworker_up(void)
{
    /* what was published while the subscriber was away */
    ngx_http_hotline_rcache_resync();

    /* what waited for replicas meanwhile */
    ngx_http_hotline_rdurable_up();

    if (ngx_worker == 0) {
        /* once a node: does this Redis keep the calls on disk? */
        ngx_http_hotline_rpersist_check();
    }
}


void
ngx_http_hotline_rworker_exit(void)
{
    ngx_http_hotline_rconn_exit();

    if (ngx_http_hotline_rs->conf->nsentinels) {
        ngx_http_hotline_rsentinel_exit();
    }

    ngx_http_hotline_rdurable_exit();
    ngx_http_hotline_rcache_exit();
}
