
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/evp.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_auth.h"      /* ngx_http_hotline_kv_call() */


/*
 * ngx_http_hotline_limit_module: request rate limits kept in the store,
 * so every worker (and, with a shared backend, every node) counts
 * against the same budget.  The store runs GCRA: a key may have burst
 * events at once and then one per interval; it answers how long until
 * the next one would pass, which becomes Retry-After.
 *
 * The limits are checked in the preaccess phase, as limit_req's are: not
 * skipped by "satisfy any", and before access checks that cost more
 * (token verification).  A request is limited once: an internal redirect
 * does not count it again.
 *
 * The store answers asynchronously: the embedded backend before limit()
 * returns, a network backend later from the event loop.  While an answer
 * is out the request is held (r->main->count) and the phase handler
 * returns NGX_AGAIN; the answer resumes the phases.  The operation goes
 * through ngx_http_hotline_kv_call(), which drops an answer that comes
 * after the request was terminated.
 */


#define NGX_HOTLINE_LIMIT_ZONE_MAX   64


typedef struct {
    ngx_http_complex_value_t       key;
    ngx_str_t                      prefix;       /* "rl:<zone>:" */
    ngx_msec_t                     interval;
    ngx_uint_t                     burst;
    ngx_uint_t                     status;
} ngx_http_hotline_limit_t;


typedef struct {
    ngx_uint_t                     zones;        /* unnamed limits so far */
    ngx_int_t                      status_index; /* $hotline_limit_status */
} ngx_http_hotline_limit_main_conf_t;


typedef struct {
    ngx_array_t                   *limits;       /* NULL: none here */
} ngx_http_hotline_limit_loc_conf_t;


typedef struct {
    ngx_uint_t                     index;        /* the limit checked */
    ngx_http_hotline_kv_call_t     call;         /* its store operation */
    unsigned                       pending:1;    /* the answer is out */
    unsigned                       answered:1;   /* ... and came in */
} ngx_http_hotline_limit_ctx_t;


#define NGX_HOTLINE_LIMIT_PASSED       1
#define NGX_HOTLINE_LIMIT_REJECTED     2
#define NGX_HOTLINE_LIMIT_UNAVAILABLE  3


static ngx_int_t ngx_http_hotline_limit_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_limit_check(ngx_http_request_t *r,
    ngx_http_hotline_limit_ctx_t *ctx, ngx_http_hotline_limit_t *limit);
static ngx_int_t ngx_http_hotline_limit_key(ngx_http_request_t *r,
    ngx_http_hotline_limit_t *limit, ngx_str_t *key);
static void ngx_http_hotline_limit_resume(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call);
static void ngx_http_hotline_limit_wait(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_limit_reject(ngx_http_request_t *r,
    ngx_http_hotline_limit_t *limit, ngx_msec_t retry_after);
static ngx_int_t ngx_http_hotline_limit_unavailable(ngx_http_request_t *r);
static void ngx_http_hotline_limit_set_status(ngx_http_request_t *r,
    ngx_uint_t status);
static ngx_int_t ngx_http_hotline_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hotline_limit_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_hotline_limit_init(ngx_conf_t *cf);
static void *ngx_http_hotline_limit_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_hotline_limit_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_limit_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_hotline_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_str_t  ngx_http_hotline_limit_status_name =
    ngx_string("hotline_limit_status");

static ngx_str_t  ngx_http_hotline_limit_statuses[] = {
    ngx_null_string,
    ngx_string("PASSED"),
    ngx_string("REJECTED"),
    ngx_string("UNAVAILABLE")
};


static ngx_command_t  ngx_http_hotline_limit_commands[] = {

    { ngx_string("hotline_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_hotline_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hotline_limit_module_ctx = {
    ngx_http_hotline_limit_add_variables,  /* preconfiguration */
    ngx_http_hotline_limit_init,           /* postconfiguration */

    ngx_http_hotline_limit_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hotline_limit_create_loc_conf, /* create location configuration */
    ngx_http_hotline_limit_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_limit_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_limit_module_ctx,    /* module context */
    ngx_http_hotline_limit_commands,       /* module directives */
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


static ngx_int_t
ngx_http_hotline_limit_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_http_hotline_limit_t            *limit;
    ngx_http_variable_value_t           *vv;
    ngx_http_hotline_limit_ctx_t        *ctx;
    ngx_http_hotline_limit_loc_conf_t   *llcf;
    ngx_http_hotline_limit_main_conf_t  *lmcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_limit_module);

    if (llcf->limits == NULL) {
        return NGX_DECLINED;
    }

    /* decided before an internal redirect: the variable cache survives */

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_limit_module);
    vv = &r->variables[lmcf->status_index];

    if (vv->valid && !vv->not_found) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_limit_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_limit_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_hotline_limit_module);
    }

    if (ctx->pending) {
        /* woken up before the answer came in */
        return NGX_AGAIN;
    }

    limit = llcf->limits->elts;

    for ( ;; ) {

        if (ctx->answered) {
            ctx->answered = 0;

            if (ctx->call.err != NGX_HOTLINE_OK) {
                ngx_http_hotline_limit_set_status(r,
                                             NGX_HOTLINE_LIMIT_UNAVAILABLE);
                rc = ngx_http_hotline_limit_unavailable(r);
                ngx_http_finalize_request(r, rc);
                return NGX_DONE;
            }

            if (ctx->call.kv.retry_after) {
                ngx_http_hotline_limit_set_status(r,
                                                NGX_HOTLINE_LIMIT_REJECTED);
                rc = ngx_http_hotline_limit_reject(r, &limit[ctx->index],
                                                   ctx->call.kv.retry_after);
                ngx_http_finalize_request(r, rc);
                return NGX_DONE;
            }

            ctx->index++;
        }

        if (ctx->index == llcf->limits->nelts) {
            ngx_http_hotline_limit_set_status(r, NGX_HOTLINE_LIMIT_PASSED);
            return NGX_DECLINED;
        }

        rc = ngx_http_hotline_limit_check(r, ctx, &limit[ctx->index]);

        if (rc == NGX_DECLINED) {
            /* no key: this limit does not apply */
            ctx->index++;
            continue;
        }

        if (rc == NGX_AGAIN) {
            r->main->count++;
            r->write_event_handler = ngx_http_hotline_limit_wait;
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* NGX_OK: answered already */
    }
}


/*
 * Asks the store about one limit: NGX_OK when the answer is in,
 * NGX_AGAIN when it will come later, NGX_DECLINED for an empty key.
 */

static ngx_int_t
ngx_http_hotline_limit_check(ngx_http_request_t *r,
    ngx_http_hotline_limit_ctx_t *ctx, ngx_http_hotline_limit_t *limit)
{
    ngx_int_t  rc;
    ngx_str_t  key;

    rc = ngx_http_hotline_limit_key(r, limit, &key);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->call.request = r;
    ctx->call.resume = ngx_http_hotline_limit_resume;
    ctx->call.data = ctx;

    rc = ngx_http_hotline_kv_call(&ctx->call, NGX_HOTLINE_KV_LIMIT, &key,
                                  NULL, limit->interval, limit->burst);

    if (rc == NGX_AGAIN) {
        ctx->pending = 1;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->answered = 1;

    return NGX_OK;
}


/*
 * "rl:<zone>:" and the key's value; a value too long for the store is
 * replaced by its SHA-256, so distinct values stay distinct.
 */

static ngx_int_t
ngx_http_hotline_limit_key(ngx_http_request_t *r,
    ngx_http_hotline_limit_t *limit, ngx_str_t *key)
{
    u_char        *p;
    u_char         md[EVP_MAX_MD_SIZE];
    ngx_str_t      value;
    unsigned int   n;

    if (ngx_http_complex_value(r, &limit->key, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    if (value.len == 0) {
        return NGX_DECLINED;
    }

    if (limit->prefix.len + value.len <= NGX_HOTLINE_KV_KEY) {
        p = ngx_pnalloc(r->pool, limit->prefix.len + value.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        key->data = p;
        p = ngx_cpymem(p, limit->prefix.data, limit->prefix.len);
        p = ngx_cpymem(p, value.data, value.len);
        key->len = p - key->data;

        return NGX_OK;
    }

    if (EVP_Digest(value.data, value.len, md, &n, EVP_sha256(), NULL) != 1) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "hotline: EVP_Digest() failed");
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, limit->prefix.len + 1 + 2 * n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;
    p = ngx_cpymem(p, limit->prefix.data, limit->prefix.len);
    *p++ = '#';
    p = ngx_hex_dump(p, md, n);
    key->len = p - key->data;

    return NGX_OK;
}


/* a late answer: the request goes on from the preaccess phase */

static void
ngx_http_hotline_limit_resume(ngx_http_request_t *r,
    ngx_http_hotline_kv_call_t *call)
{
    ngx_http_hotline_limit_ctx_t *ctx = call->data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hotline limit: late answer, retry after %M",
                   call->kv.retry_after);

    ctx->pending = 0;
    ctx->answered = 1;

    r->main->count--;
    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


static void
ngx_http_hotline_limit_wait(ngx_http_request_t *r)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "hotline limit: waiting for the store");
}


static ngx_int_t
ngx_http_hotline_limit_reject(ngx_http_request_t *r,
    ngx_http_hotline_limit_t *limit, ngx_msec_t retry_after)
{
    u_char      *p;
    ngx_uint_t   seconds;

    /* whole seconds, rounded up: retrying then is never too early */

    seconds = (retry_after + 999) / 1000;

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "hotline: limited by \"%V\", retry after %Mms",
                  &limit->prefix, retry_after);

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_hotline_add_header(r, "Retry-After", p,
                                    ngx_sprintf(p, "%ui", seconds) - p)
        == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_hotline_json_error(r, limit->status, "rate_limited",
                                       "too many requests, retry later");
}


static ngx_int_t
ngx_http_hotline_limit_unavailable(ngx_http_request_t *r)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "hotline: the store cannot check a rate limit");

    return ngx_http_hotline_json_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "unavailable",
                                       "the service is temporarily "
                                       "unavailable");
}


static void
ngx_http_hotline_limit_set_status(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_http_variable_value_t           *vv;
    ngx_http_hotline_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_limit_module);
    vv = &r->variables[lmcf->status_index];

    vv->len = ngx_http_hotline_limit_statuses[status].len;
    vv->data = ngx_http_hotline_limit_statuses[status].data;
    vv->valid = 1;
    vv->no_cacheable = 0;
    vv->not_found = 0;
}


/* $hotline_limit_status: set by the handler; empty when nothing applied */

static ngx_int_t
ngx_http_hotline_limit_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    v->not_found = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_limit_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_hotline_limit_status_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_hotline_limit_status_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_limit_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                 *h;
    ngx_http_core_main_conf_t           *cmcf;
    ngx_http_hotline_limit_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_hotline_limit_module);

    lmcf->status_index = ngx_http_get_variable_index(cf,
                                        &ngx_http_hotline_limit_status_name);
    if (lmcf->status_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hotline_limit_handler;

    return NGX_OK;
}


static void *
ngx_http_hotline_limit_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_limit_main_conf_t  *lmcf;

    lmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_limit_main_conf_t));
    if (lmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lmcf->zones = 0;
     */

    lmcf->status_index = NGX_ERROR;

    return lmcf;
}


static void *
ngx_http_hotline_limit_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_limit_loc_conf_t  *llcf;

    llcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_limit_loc_conf_t));
    if (llcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     llcf->limits = NULL;
     */

    return llcf;
}


static char *
ngx_http_hotline_limit_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_hotline_limit_loc_conf_t *prev = parent;
    ngx_http_hotline_limit_loc_conf_t *conf = child;

    /* as limit_req: the limits of the nearest level that has some */

    if (conf->limits == NULL) {
        conf->limits = prev->limits;
    }

    return NGX_CONF_OK;
}


/*
 * hotline_limit key=<value> rate=<n>r/s|r/m [burst=<n>] [status=<code>]
 *               [zone=<name>];
 */

static char *
ngx_http_hotline_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_limit_loc_conf_t *llcf = conf;

    u_char                              *p;
    ngx_int_t                            n;
    ngx_str_t                           *value, s, key, zone;
    ngx_uint_t                           i;
    ngx_http_hotline_limit_t            *limit;
    ngx_http_compile_complex_value_t     ccv;
    ngx_http_hotline_main_conf_t        *hmcf;
    ngx_http_hotline_limit_main_conf_t  *lmcf;

    value = cf->args->elts;

    if (llcf->limits == NULL) {
        llcf->limits = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_hotline_limit_t));
        if (llcf->limits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    limit = ngx_array_push(llcf->limits);
    if (limit == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(limit, sizeof(ngx_http_hotline_limit_t));

    limit->status = 429;
    ngx_str_null(&key);
    ngx_str_null(&zone);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "key=", 4) == 0) {
            key.data = value[i].data + 4;
            key.len = value[i].len - 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {
            s.data = value[i].data + 5;
            s.len = value[i].len - 5;

            if (ngx_http_hotline_conf_rate(&s, &limit->interval) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid rate \"%V\": expected "
                                   "<n>r/s (at most 1000r/s) or <n>r/m",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "burst=", 6) == 0) {
            if (ngx_http_hotline_conf_burst(&value[i], &limit->burst)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid burst \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "status=", 7) == 0) {
            n = ngx_atoi(value[i].data + 7, value[i].len - 7);

            if (n < 400 || n > 599 || n == 444 || n == 499) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid status \"%V\": expected a code "
                                   "from 400 to 599", &value[i]);
                return NGX_CONF_ERROR;
            }

            limit->status = n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            zone.data = value[i].data + 5;
            zone.len = value[i].len - 5;

            if (zone.len == 0 || zone.len > NGX_HOTLINE_LIMIT_ZONE_MAX) {
                goto bad_zone;
            }

            for (p = zone.data; p < zone.data + zone.len; p++) {
                if (!(isalnum(*p) || *p == '_' || *p == '-' || *p == '.')) {
                    goto bad_zone;
                }
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (key.data == NULL || key.len == 0) {
        return "needs key=<value>, for example key=$binary_remote_addr";
    }

    if (limit->interval == 0) {
        return "needs rate=<n>r/s or rate=<n>r/m";
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &key;
    ccv.complex_value = &limit->key;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /*
     * Unnamed limits are numbered in the order of the configuration, the
     * same on every node that shares a configuration and across reloads
     * of an unchanged one.
     */

    lmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_hotline_limit_module);

    p = ngx_pnalloc(cf->pool, sizeof("rl::") - 1
                              + ngx_max(NGX_HOTLINE_LIMIT_ZONE_MAX,
                                        NGX_INT_T_LEN));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    limit->prefix.data = p;

    if (zone.len) {
        p = ngx_sprintf(p, "rl:%V:", &zone);

    } else {
        p = ngx_sprintf(p, "rl:%ui:", ++lmcf->zones);
    }

    limit->prefix.len = p - limit->prefix.data;

    /* the store's zone must exist even without a signaling location */

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hotline_module);
    hmcf->signaling = 1;

    return NGX_CONF_OK;

bad_zone:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid zone \"%V\": 1 to %d letters, digits, "
                       "\"_\", \"-\" or \".\"",
                       &value[i], NGX_HOTLINE_LIMIT_ZONE_MAX);
    return NGX_CONF_ERROR;
}


