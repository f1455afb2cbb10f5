
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_auth.h"


/*
 * ngx_http_hotline_auth_module: the directives of agent login (agents,
 * one-time code endpoints, logout, token lifetime, the per-IP limit of
 * the code endpoints), their configuration, the request context the
 * handlers share, and the access check.
 *
 * hotline_auth_jwt: an access-phase check, in the manner of nginx's auth
 * modules, that lets a request through only with a valid agent token
 * (Authorization: Bearer or the session cookie) that was not revoked.
 * The claims are variables: $hotline_jwt_sub, $hotline_jwt_role,
 * $hotline_jwt_jti, $hotline_jwt_exp.  Refused requests get 401 with a
 * JSON body and WWW-Authenticate: Bearer (under "satisfy any" the 401 is
 * left to nginx, so another module may still allow the request).
 */


#define NGX_HOTLINE_JWT_TTL_DEFAULT   (8 * 60 * 60)
#define NGX_HOTLINE_JWT_TTL_MIN       60
#define NGX_HOTLINE_JWT_TTL_MAX       (30 * 24 * 60 * 60)

#define NGX_HOTLINE_VAR_SUB   0
#define NGX_HOTLINE_VAR_ROLE  1
#define NGX_HOTLINE_VAR_JTI   2
#define NGX_HOTLINE_VAR_EXP   3


static ngx_int_t ngx_http_hotline_auth_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_hotline_auth_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_hotline_state_open(ngx_conf_t *cf);
static void *ngx_http_hotline_auth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_auth_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_hotline_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_hotline_auth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_hotline_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_auth_jwt(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_hotline_otp_ip_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_hotline_need_zone(ngx_conf_t *cf);
static ngx_int_t ngx_http_hotline_access_handler(ngx_http_request_t *r);
static void ngx_http_hotline_access_checked(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk);
static ngx_int_t ngx_http_hotline_access_result(ngx_http_request_t *r,
    ngx_http_hotline_auth_ctx_t *ctx);
static ngx_int_t ngx_http_hotline_access_send(ngx_http_request_t *r,
    ngx_int_t rc);
static ngx_int_t ngx_http_hotline_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_hotline_access_variables(ngx_conf_t *cf);


static ngx_command_t  ngx_http_hotline_auth_commands[] = {

    { ngx_string("hotline_agent"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_hotline_agent_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_agents_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_hotline_agents_file,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("hotline_state_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_hotline_auth_main_conf_t, state_file),
      NULL },

    { ngx_string("hotline_otp_request"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HOTLINE_ENDPOINT_OTP_REQUEST,
      NULL },

    { ngx_string("hotline_otp_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HOTLINE_ENDPOINT_OTP_VERIFY,
      NULL },

    { ngx_string("hotline_logout"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HOTLINE_ENDPOINT_LOGOUT,
      NULL },

    { ngx_string("hotline_recording_check"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_hotline_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HOTLINE_ENDPOINT_RECORDING,
      NULL },

    { ngx_string("hotline_auth_jwt"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_hotline_auth_jwt,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_auth_loc_conf_t, auth_jwt),
      NULL },

    { ngx_string("hotline_jwt_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_hotline_auth_loc_conf_t, jwt_ttl),
      NULL },

    { ngx_string("hotline_otp_ip_rate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_hotline_otp_ip_rate,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_variable_t  ngx_http_hotline_access_vars[] = {

    { ngx_string("hotline_jwt_sub"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_SUB, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hotline_jwt_role"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_ROLE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hotline_jwt_jti"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_JTI, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("hotline_jwt_exp"), NULL, ngx_http_hotline_jwt_variable,
      NGX_HOTLINE_VAR_EXP, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_hotline_auth_module_ctx = {
    ngx_http_hotline_auth_preconfiguration, /* preconfiguration */
    ngx_http_hotline_auth_init,            /* postconfiguration */

    ngx_http_hotline_auth_create_main_conf, /* create main configuration */
    ngx_http_hotline_auth_init_main_conf,  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_hotline_auth_create_loc_conf, /* create location configuration */
    ngx_http_hotline_auth_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_hotline_auth_module = {
    NGX_MODULE_V1,
    &ngx_http_hotline_auth_module_ctx,     /* module context */
    ngx_http_hotline_auth_commands,        /* module directives */
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


ngx_http_hotline_auth_ctx_t *
ngx_http_hotline_auth_ctx(ngx_http_request_t *r)
{
    ngx_http_hotline_auth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_auth_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_hotline_auth_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_hotline_auth_module);
    }

    return ctx;
}


static ngx_int_t
ngx_http_hotline_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_http_hotline_auth_ctx_t       *ctx;
    ngx_http_hotline_loc_conf_t       *hlcf;
    ngx_http_hotline_auth_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_auth_module);

    if (!alcf->auth_jwt) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_hotline_auth_module);

    if (ctx && ctx->access_waiting) {
        return NGX_AGAIN;
    }

    if (ctx && ctx->access_done) {
        /* back after the store answered */
        return ngx_http_hotline_access_result(r, ctx);
    }

    ctx = ngx_http_hotline_auth_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_hotline_module);

    ctx->access.done = ngx_http_hotline_access_checked;
    ctx->access.data = ctx;

    rc = ngx_http_hotline_token_check(r, &hlcf->jwt_secret,
                                      NGX_HOTLINE_TOKEN_BEARER
                                      |NGX_HOTLINE_TOKEN_COOKIE,
                                      &ctx->access);

    if (rc == NGX_AGAIN) {
        ctx->access_waiting = 1;
        r->write_event_handler = ngx_http_request_empty_handler;
        return NGX_AGAIN;
    }

    ctx->access_done = 1;

    return ngx_http_hotline_access_result(r, ctx);
}


static void
ngx_http_hotline_access_checked(ngx_http_request_t *r,
    ngx_http_hotline_token_t *tk)
{
    ngx_http_hotline_auth_ctx_t  *ctx = tk->data;

    ctx->access_waiting = 0;
    ctx->access_done = 1;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_hotline_access_result(ngx_http_request_t *r,
    ngx_http_hotline_auth_ctx_t *ctx)
{
    ngx_table_elt_t           *h;
    ngx_http_hotline_token_t  *tk;
    ngx_http_core_loc_conf_t  *clcf;

    tk = &ctx->access;

    switch (tk->rc) {

    case NGX_OK:
        ctx->access_ok = 1;
        return NGX_OK;

    case NGX_ERROR:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    case NGX_HOTLINE_TOKEN_UNAVAILABLE:
        return ngx_http_hotline_access_send(r,
                   ngx_http_hotline_store_error(r,
                                                NGX_HOTLINE_E_UNAVAILABLE));
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "hotline: token rejected: %s", tk->reason);

    if (tk->token.len) {
        h = ngx_http_hotline_add_header(r, "WWW-Authenticate",
                                        (u_char *) "Bearer realm=\"hotline\", "
                                                   "error=\"invalid_token\"",
                                        sizeof("Bearer realm=\"hotline\", "
                                               "error=\"invalid_token\"")
                                        - 1);
    } else {
        h = ngx_http_hotline_add_header(r, "WWW-Authenticate",
                                        (u_char *) "Bearer realm=\"hotline\"",
                                        sizeof("Bearer realm=\"hotline\"")
                                        - 1);
    }

    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.www_authenticate = h;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    return ngx_http_hotline_access_send(r,
               ngx_http_hotline_json_error(r, NGX_HTTP_UNAUTHORIZED,
                                           "unauthorized",
                                           "a valid agent token is "
                                           "required"));
}


/* the answer is sent: the request ends here, the phases stop */

static ngx_int_t
ngx_http_hotline_access_send(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static ngx_int_t
ngx_http_hotline_access_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_hotline_access_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_jwt_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                         *p;
    ngx_http_hotline_auth_ctx_t    *ctx;
    ngx_http_hotline_jwt_claims_t  *claims;

    /* subrequests are not checked: they see the main request's claims */

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_hotline_auth_module);

    if (ctx == NULL || !ctx->access_ok) {
        v->not_found = 1;
        return NGX_OK;
    }

    claims = &ctx->access.claims;

    switch (data) {

    case NGX_HOTLINE_VAR_SUB:
        v->data = claims->sub;
        v->len = claims->sub_len;
        break;

    case NGX_HOTLINE_VAR_ROLE:
        v->data = claims->role;
        v->len = claims->role_len;
        break;

    case NGX_HOTLINE_VAR_JTI:
        v->data = claims->jti;
        v->len = claims->jti_len;
        break;

    default: /* NGX_HOTLINE_VAR_EXP */
        p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%L", claims->exp) - p;
        break;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_auth_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_hotline_access_variables(cf);
}


static ngx_int_t
ngx_http_hotline_auth_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_hotline_access_handler;

    return ngx_http_hotline_state_open(cf);
}


/*
 * The journal of the durable state (revoked tokens, lockouts, bans) of
 * the embedded store; a distributed store keeps it itself.
 */

static ngx_int_t
ngx_http_hotline_state_open(ngx_conf_t *cf)
{
    ngx_http_hotline_main_conf_t       *hmcf;
    ngx_http_hotline_auth_main_conf_t  *amcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hotline_module);
    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_hotline_auth_module);

    /* beside the history's default journal: /var/log/nginx/ on Debian */

    if (amcf->state_file.data == NULL
        && ngx_http_hotline_log_dir_file(cf, "hotline_state.journal",
                                         &amcf->state_file)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->shm_zone == NULL || hmcf->redis
        || ngx_strcmp(amcf->state_file.data, "off") == 0)
    {
        return NGX_OK;
    }

    amcf->journal = ngx_http_hotline_kv_journal_open(cf, &amcf->state_file);

    return amcf->journal ? NGX_OK : NGX_ERROR;
}


static void *
ngx_http_hotline_auth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_auth_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_auth_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     amcf->agents = NULL;
     *     amcf->agents_file = { 0, NULL };
     *     amcf->state_file = { 0, NULL };
     *     amcf->journal = NULL;
     */

    return amcf;
}


static char *
ngx_http_hotline_auth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_hotline_auth_main_conf_t *amcf = conf;

    return ngx_http_hotline_agents_init(cf, amcf);
}


static void *
ngx_http_hotline_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_hotline_auth_loc_conf_t  *alcf;

    alcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_auth_loc_conf_t));
    if (alcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     alcf->endpoint = 0;
     */

    alcf->auth_jwt = NGX_CONF_UNSET;
    alcf->jwt_ttl = NGX_CONF_UNSET;
    alcf->ip_interval = NGX_CONF_UNSET_MSEC;
    alcf->ip_burst = NGX_CONF_UNSET_UINT;

    return alcf;
}


static char *
ngx_http_hotline_auth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_hotline_auth_loc_conf_t *prev = parent;
    ngx_http_hotline_auth_loc_conf_t *conf = child;

    ngx_http_hotline_loc_conf_t  *hlcf;

    ngx_conf_merge_value(conf->auth_jwt, prev->auth_jwt, 0);
    ngx_conf_merge_sec_value(conf->jwt_ttl, prev->jwt_ttl,
                             NGX_HOTLINE_JWT_TTL_DEFAULT);

    /* 20 a minute, 10 at once */

    if (conf->ip_interval == NGX_CONF_UNSET_MSEC) {
        conf->ip_interval = (prev->ip_interval == NGX_CONF_UNSET_MSEC)
                            ? 3000 : prev->ip_interval;
        conf->ip_burst = (prev->ip_burst == NGX_CONF_UNSET_UINT)
                         ? 9 : prev->ip_burst;
    }

    if (conf->jwt_ttl < NGX_HOTLINE_JWT_TTL_MIN
        || conf->jwt_ttl > NGX_HOTLINE_JWT_TTL_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hotline_jwt_ttl\" must be between 1m and 30d");
        return NGX_CONF_ERROR;
    }

    if (!conf->auth_jwt
        && (conf->endpoint == 0
            || conf->endpoint == NGX_HOTLINE_ENDPOINT_RECORDING))
    {
        /* (the recording check verifies with the recorder's key) */
        return NGX_CONF_OK;
    }

    /*
     * While locations are merged, cf->ctx holds this location's
     * configurations; ngx_http_hotline_module's is merged already.
     */

    hlcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_hotline_module);

    if (hlcf->jwt_secret.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" requires \"hotline_jwt_secret_file\"",
                           conf->endpoint == NGX_HOTLINE_ENDPOINT_OTP_REQUEST
                           ? "hotline_otp_request"
                           : conf->endpoint == NGX_HOTLINE_ENDPOINT_OTP_VERIFY
                           ? "hotline_otp_verify"
                           : conf->endpoint == NGX_HOTLINE_ENDPOINT_LOGOUT
                           ? "hotline_logout" : "hotline_auth_jwt");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * hotline_otp_request, hotline_otp_verify, hotline_logout,
 * hotline_recording_check
 */

static char *
ngx_http_hotline_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_auth_loc_conf_t *alcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (alcf->endpoint) {
        return "is duplicate";
    }

    alcf->endpoint = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    switch (alcf->endpoint) {

    case NGX_HOTLINE_ENDPOINT_OTP_REQUEST:
        clcf->handler = ngx_http_hotline_otp_request_handler;
        break;

    case NGX_HOTLINE_ENDPOINT_OTP_VERIFY:
        clcf->handler = ngx_http_hotline_otp_verify_handler;
        break;

    case NGX_HOTLINE_ENDPOINT_RECORDING:
        clcf->handler = ngx_http_hotline_recording_check_handler;
        break;

    default: /* NGX_HOTLINE_ENDPOINT_LOGOUT */
        clcf->handler = ngx_http_hotline_logout_handler;
        break;
    }

    ngx_http_hotline_need_zone(cf);

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_auth_jwt(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_auth_loc_conf_t *alcf = conf;

    char  *rv;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && alcf->auth_jwt) {
        ngx_http_hotline_need_zone(cf);
    }

    return rv;
}


/* hotline_otp_ip_rate off | <n>r/s | <n>r/m [burst=<n>] */

static char *
ngx_http_hotline_otp_ip_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_auth_loc_conf_t *alcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   burst;
    ngx_msec_t   interval;

    if (alcf->ip_interval != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2
        && value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0)
    {
        alcf->ip_interval = 0;
        alcf->ip_burst = 0;
        return NGX_CONF_OK;
    }

    if (ngx_http_hotline_conf_rate(&value[1], &interval) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid rate \"%V\", expected <n>r/s or <n>r/m "
                           "(at most 1000r/s) or \"off\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    burst = 0;

    if (cf->args->nelts == 3
        && ngx_http_hotline_conf_burst(&value[2], &burst) != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\", expected "
                           "burst=<n>", &value[2]);
        return NGX_CONF_ERROR;
    }

    alcf->ip_interval = interval;
    alcf->ip_burst = burst;

    return NGX_CONF_OK;
}


/* the store lives in the node's zone: make sure there is one */

static void
ngx_http_hotline_need_zone(ngx_conf_t *cf)
{
    ngx_http_hotline_main_conf_t  *hmcf;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_hotline_module);
    hmcf->signaling = 1;
}
