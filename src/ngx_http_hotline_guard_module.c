
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_guard.h"


/*
 * ngx_http_hotline_guard_module: the CSP nonce variable, the
 * Content-Security-Policy and security headers, and the origin (CSRF)
 * guard for state-changing requests.
 *
 * The headers are added by a header filter, as add_header does: a
 * response is only final once it is sent (an index or try_files internal
 * redirect, an error_page, a filter that replaces the response all come
 * after the phases), and the filter sees the location that produced it.
 * This filter runs before add_header's: it adds the policy and removes
 * the security headers the response brought (an application's); the
 * security headers themselves come after add_header's
 * (ngx_http_hotline_headers_filter_module), where the operator's own
 * add_header of one of them wins.
 * The origin guard runs in the rewrite phase, before the rewrite module's
 * own handler, so neither "return" nor "rewrite" in a guarded location
 * lets a request through unchecked, and "satisfy any" cannot waive it.
 */


static ngx_int_t ngx_http_hotline_guard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_guard_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_hotline_csp_nonce_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hotline_guard_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_hotline_guard_init(ngx_conf_t *cf);
static void *ngx_http_hotline_guard_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_guard_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_hotline_guard_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_guard_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_hotline_csp(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_hsts(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_str_t  ngx_http_hotline_csp_nonce_name =
    ngx_string("hotline_csp_nonce");

static ngx_str_t  ngx_http_hotline_client_name =
    ngx_string("hotline_client_prefix");

static ngx_conf_num_bounds_t  ngx_http_hotline_ipv6_prefix_bounds = {
    ngx_conf_check_num_bounds, 1, 128
};

/* "hotline_csp on" */
static ngx_str_t  ngx_http_hotline_csp_default =
    ngx_string("default-src 'self'; "
               "script-src 'self' 'nonce-$hotline_csp_nonce'; "
               "style-src 'self'; img-src 'self' data:; "
               "media-src 'self' blob:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'");

static ngx_str_t  ngx_http_hotline_hsts_default =
    ngx_string("max-age=31536000");


static ngx_command_t  ngx_http_hotline_guard_commands[] = {

    { ngx_string("hotline_csp"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_csp,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_security_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_guard_loc_conf_t, security_headers),
      NULL },

    { ngx_string("hotline_hsts"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE123,
      ngx_http_hotline_hsts,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_ipv6_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_guard_main_conf_t, ipv6_prefix),
      &ngx_http_hotline_ipv6_prefix_bounds },

    { ngx_string("hotline_origin_guard"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_guard_loc_conf_t, origin_guard),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_hotline_guard_module_ctx = {
    ngx_http_hotline_guard_add_variables,  /* preconfiguration */
    ngx_http_hotline_guard_init,           /* postconfiguration */

    ngx_http_hotline_guard_create_main_conf, /* create main configuration */
    ngx_http_hotline_guard_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hotline_guard_create_loc_conf, /* create location configuration */
    ngx_http_hotline_guard_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_guard_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_guard_module_ctx,    /* module context */
    ngx_http_hotline_guard_commands,       /* module directives */
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


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_int_t
ngx_http_hotline_guard_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    ngx_http_hotline_loc_conf_t        *hlcf;
    ngx_http_hotline_guard_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_guard_module);

    if (!glcf->origin_guard || r != r->main) {
        return NGX_DECLINED;
    }

    /* one allow-list for the WebSocket handshakes and this guard */

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);

    if (ngx_http_hotline_origin_guard(r, hlcf->origins) == NGX_OK) {
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hotline: \"%V\" request without an allowed origin",
                  &r->method_name);

    rc = ngx_http_hotline_json_error(r, NGX_HTTP_FORBIDDEN,
                                     "forbidden_origin",
                                     "a state-changing request needs an "
                                     "allowed Origin");

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_hotline_guard_header_filter(ngx_http_request_t *r)
{
    ngx_http_hotline_guard_loc_conf_t  *glcf;

    if (r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_guard_module);

    if (glcf->csp
        && ngx_http_hotline_csp_header(r, glcf->csp, glcf->csp_checked)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (glcf->security_headers) {
        ngx_http_hotline_security_clear(r, &glcf->hsts);
    }

    return ngx_http_next_header_filter(r);
}


/*
 * $hotline_csp_nonce: made once per request and kept in the request's
 * variable cache, which (unlike module contexts) lives through internal
 * redirects, so the header and every sub_filter stamp agree; subrequests
 * (SSI, for example) take the main request's.
 */

static ngx_int_t
ngx_http_hotline_csp_nonce_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                            nonce;
    ngx_http_variable_value_t           *mv;
    ngx_http_hotline_guard_main_conf_t  *gmcf;

    if (r != r->main) {
        gmcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_guard_module);

        mv = ngx_http_get_indexed_variable(r->main, gmcf->nonce_index);
        if (mv == NULL || mv->not_found) {
            return NGX_ERROR;
        }

        *v = *mv;
        return NGX_OK;
    }

    if (ngx_http_hotline_csp_nonce(r->pool, &nonce) != NGX_OK) {
        return NGX_ERROR;
    }

    v->len = nonce.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = nonce.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_guard_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_hotline_csp_nonce_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_hotline_csp_nonce_variable;

    var = ngx_http_add_variable(cf, &ngx_http_hotline_client_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_hotline_client_variable;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_guard_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                 *h;
    ngx_http_core_main_conf_t           *cmcf;
    ngx_http_hotline_guard_main_conf_t  *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_hotline_guard_module);

    gmcf->nonce_index = ngx_http_get_variable_index(cf,
                                            &ngx_http_hotline_csp_nonce_name);
    if (gmcf->nonce_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hotline_guard_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_hotline_guard_header_filter;

    return NGX_OK;
}


static void *
ngx_http_hotline_guard_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_guard_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_guard_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    gmcf->nonce_index = NGX_ERROR;
    gmcf->ipv6_prefix = NGX_CONF_UNSET_UINT;

    return gmcf;
}


static char *
ngx_http_hotline_guard_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_hotline_guard_main_conf_t *gmcf = conf;

    ngx_conf_init_uint_value(gmcf->ipv6_prefix, 64);

    return NGX_CONF_OK;
}


static void *
ngx_http_hotline_guard_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_guard_loc_conf_t  *glcf;

    glcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_guard_loc_conf_t));
    if (glcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     glcf->hsts = { 0, NULL };
     */

    glcf->csp = NGX_CONF_UNSET_PTR;
    glcf->security_headers = NGX_CONF_UNSET;
    glcf->origin_guard = NGX_CONF_UNSET;

    return glcf;
}


static char *
ngx_http_hotline_guard_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_hotline_guard_loc_conf_t *prev = parent;
    ngx_http_hotline_guard_loc_conf_t *conf = child;

    if (conf->csp == NGX_CONF_UNSET_PTR) {
        conf->csp_checked = prev->csp_checked;
    }

    ngx_conf_merge_ptr_value(conf->csp, prev->csp, NULL);
    ngx_conf_merge_value(conf->security_headers, prev->security_headers, 0);
    ngx_conf_merge_value(conf->origin_guard, prev->origin_guard, 0);

    if (conf->hsts.data == NULL) {
        conf->hsts = prev->hsts;
    }

    if (conf->hsts.data == NULL) {
        conf->hsts = ngx_http_hotline_hsts_default;
    }

    return NGX_CONF_OK;
}


/* hotline_csp <policy> | on | off */

static char *
ngx_http_hotline_csp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_guard_loc_conf_t *glcf = conf;

    ngx_str_t                         *value, *policy;
    ngx_http_compile_complex_value_t   ccv;

    if (glcf->csp != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    policy = &value[1];

    if (ngx_strcmp(policy->data, "off") == 0) {
        glcf->csp = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(policy->data, "on") == 0) {
        policy = &ngx_http_hotline_csp_default;
    }

    if (policy->len == 0) {
        return "needs a policy, \"on\" or \"off\"";
    }

    if (ngx_http_hotline_csp_valid(policy) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_csp\" refuses a policy with "
                           "'unsafe-inline' or control characters: inline "
                           "scripts take the nonce of "
                           "$hotline_csp_nonce instead");
        return NGX_CONF_ERROR;
    }

    glcf->csp = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (glcf->csp == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = policy;
    ccv.complex_value = glcf->csp;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    glcf->csp_checked = ngx_http_hotline_csp_checked_once(policy);

    return NGX_CONF_OK;
}


/* hotline_hsts off | <max-age> [includeSubDomains] [preload] */

static char *
ngx_http_hotline_hsts(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_guard_loc_conf_t *glcf = conf;

    u_char      *p;
    time_t       max_age;
    ngx_str_t   *value, age;
    ngx_uint_t   i, subdomains, preload;

    if (glcf->hsts.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {

        if (cf->args->nelts > 2) {
            return "takes no parameters after \"off\"";
        }

        ngx_str_set(&glcf->hsts, "");
        return NGX_CONF_OK;
    }

    age = value[1];

    if (age.len > sizeof("max-age=") - 1
        && ngx_strncasecmp(age.data, (u_char *) "max-age=",
                           sizeof("max-age=") - 1) == 0)
    {
        age.data += sizeof("max-age=") - 1;
        age.len -= sizeof("max-age=") - 1;
    }

    max_age = ngx_parse_time(&age, 1);

    if (max_age == (time_t) NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid max-age \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    subdomains = 0;
    preload = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcasecmp(value[i].data, (u_char *) "includeSubDomains")
            == 0)
        {
            subdomains = 1;

        } else if (ngx_strcasecmp(value[i].data, (u_char *) "preload") == 0) {
            preload = 1;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", expected "
                               "\"includeSubDomains\" or \"preload\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    if (preload && (!subdomains || max_age < 31536000)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"preload\" needs \"includeSubDomains\" and a "
                           "max-age of at least 1 year");
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, sizeof("max-age=; includeSubDomains; preload")
                              - 1 + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    glcf->hsts.data = p;

    p = ngx_sprintf(p, "max-age=%T", max_age);

    if (subdomains) {
        p = ngx_cpymem(p, "; includeSubDomains",
                       sizeof("; includeSubDomains") - 1);
    }

    if (preload) {
        p = ngx_cpymem(p, "; preload", sizeof("; preload") - 1);
    }

    glcf->hsts.len = p - glcf->hsts.data;

    return NGX_CONF_OK;
}
