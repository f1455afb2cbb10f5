
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_auth.h"


/*
 * The agents registry: who may log in, and the Telegram chat their codes
 * go to.  Agents come from hotline_agent directives and/or one
 * hotline_agents_file (one agent a line: "username chat_id display
 * name..."), both read when the configuration is loaded; a reload picks
 * up changes.  Everything is checked then, so `nginx -t` fails on a bad
 * entry.  The registry is sorted by username for a binary search.
 */


#define NGX_HOTLINE_AGENTS_FILE_MAX   (1024 * 1024)
#define NGX_HOTLINE_AGENT_NAME_MAX    64


static char *ngx_http_hotline_agent_add(ngx_conf_t *cf,
    ngx_http_hotline_auth_main_conf_t *amcf, ngx_str_t *username,
    ngx_str_t *chat_id, ngx_str_t *name, ngx_str_t *file, ngx_uint_t line);
static ngx_int_t ngx_http_hotline_chat_valid(u_char *p, size_t len);
static ngx_int_t ngx_http_hotline_name_valid(u_char *p, size_t len);
static int ngx_libc_cdecl ngx_http_hotline_agent_cmp(const void *one,
    const void *two);


/* hotline_agent <username> chat=<id> ["name=Display Name"] */

char *
ngx_http_hotline_agent_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_hotline_auth_main_conf_t *amcf = conf;

    ngx_str_t   *value, chat, name;
    ngx_uint_t   i;

    value = cf->args->elts;

    ngx_str_null(&chat);
    ngx_str_null(&name);

    for (i = 2; i < cf->args->nelts; i++) {

        if (value[i].len > 5 && ngx_strncmp(value[i].data, "chat=", 5) == 0
            && chat.data == NULL)
        {
            chat.data = value[i].data + 5;
            chat.len = value[i].len - 5;
            continue;
        }

        if (value[i].len > 5 && ngx_strncmp(value[i].data, "name=", 5) == 0
            && name.data == NULL)
        {
            name.data = value[i].data + 5;
            name.len = value[i].len - 5;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" of agent \"%V\", "
                           "expected chat=<id> and optionally "
                           "name=<display name>", &value[i], &value[1]);
        return NGX_CONF_ERROR;
    }

    if (chat.data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "agent \"%V\" has no chat=<telegram chat id>",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return ngx_http_hotline_agent_add(cf, amcf, &value[1], &chat, &name,
                                      NULL, 0);
}


/* hotline_agents_file <path> */

char *
ngx_http_hotline_agents_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_hotline_auth_main_conf_t *amcf = conf;

    u_char           *buf, *p, *last, *eol, *s;
    char             *rv;
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_str_t        *value, path, field[2], name;
    ngx_uint_t        line, i;
    ngx_file_info_t   fi;

    if (amcf->agents_file.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &path);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    if (ngx_file_size(&fi) > NGX_HOTLINE_AGENTS_FILE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "agents file \"%V\" is larger than 1m", &path);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->pool, ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, ngx_file_size(&fi) + 1);

    (void) ngx_close_file(fd);

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed", &path);
        return NGX_CONF_ERROR;
    }

    if (n > ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "agents file \"%V\" grew while it was read",
                           &path);
        return NGX_CONF_ERROR;
    }

    p = buf;
    last = buf + n;

    for (line = 1; p < last; line++, p = eol + 1) {

        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        s = eol;

        while (s > p && (s[-1] == '\r' || s[-1] == ' ' || s[-1] == '\t')) {
            s--;
        }

        while (p < s && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == s || *p == '#') {
            continue;
        }

        /* username and chat id, then the rest of the line is the name */

        for (i = 0; i < 2; i++) {
            field[i].data = p;

            while (p < s && *p != ' ' && *p != '\t') {
                p++;
            }

            field[i].len = p - field[i].data;

            while (p < s && (*p == ' ' || *p == '\t')) {
                p++;
            }
        }

        if (field[1].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "agents file \"%V\", line %ui: expected "
                               "\"username chat_id [display name]\"",
                               &path, line);
            return NGX_CONF_ERROR;
        }

        name.data = p;
        name.len = s - p;

        rv = ngx_http_hotline_agent_add(cf, amcf, &field[0], &field[1], &name,
                                        &path, line);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    amcf->agents_file = path;

    return NGX_CONF_OK;
}


static char *
ngx_http_hotline_agent_add(ngx_conf_t *cf,
    ngx_http_hotline_auth_main_conf_t *amcf, ngx_str_t *username,
    ngx_str_t *chat_id, ngx_str_t *name, ngx_str_t *file, ngx_uint_t line)
{
    u_char                    *p, *last;
    const char                *err;
    ngx_http_hotline_agent_t  *a;
    u_char                     where[NGX_MAX_PATH + 64];

    err = NULL;

    if (ngx_http_hotline_username_valid(username->data, username->len)
        != NGX_OK)
    {
        err = "username must be 1 to 64 of a-z 0-9 . _ -";

    } else if (ngx_http_hotline_chat_valid(chat_id->data, chat_id->len)
               != NGX_OK)
    {
        err = "the chat id must be a Telegram chat id (an integer)";

    } else if (name->len
               && ngx_http_hotline_name_valid(name->data, name->len)
                  != NGX_OK)
    {
        err = "the display name must be UTF-8 of at most 64 bytes, "
              "without control characters";
    }

    if (err) {
        if (file) {
            last = ngx_snprintf(where, sizeof(where) - 1,
                                "agents file \"%V\", line %ui",
                                file, line);
        } else {
            last = ngx_cpymem(where, "hotline_agent", 13);
        }

        *last = '\0';

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s: agent \"%*s\": %s",
                           where, ngx_min(username->len, 64),
                           username->data, err);
        return NGX_CONF_ERROR;
    }

    if (amcf->agents == NULL) {
        amcf->agents = ngx_array_create(cf->pool, 16,
                                        sizeof(ngx_http_hotline_agent_t));
        if (amcf->agents == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    a = ngx_array_push(amcf->agents);
    if (a == NULL) {
        return NGX_CONF_ERROR;
    }

    /* copies: the file's buffer and the arguments are not kept */

    p = ngx_pnalloc(cf->pool, username->len + chat_id->len
                              + (name->len ? name->len : username->len));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    a->username.data = p;
    a->username.len = username->len;
    p = ngx_cpymem(p, username->data, username->len);

    a->chat_id.data = p;
    a->chat_id.len = chat_id->len;
    p = ngx_cpymem(p, chat_id->data, chat_id->len);

    a->name.data = p;

    if (name->len) {
        a->name.len = name->len;
        ngx_memcpy(p, name->data, name->len);

    } else {
        a->name.len = username->len;
        ngx_memcpy(p, username->data, username->len);
    }

    return NGX_CONF_OK;
}


/* sorts the registry and refuses a username given twice */

char *
ngx_http_hotline_agents_init(ngx_conf_t *cf,
    ngx_http_hotline_auth_main_conf_t *amcf)
{
    ngx_uint_t                 i;
    ngx_http_hotline_agent_t  *a;

    if (amcf->agents == NULL || amcf->agents->nelts == 0) {
        return NGX_CONF_OK;
    }

    a = amcf->agents->elts;

    ngx_qsort(a, amcf->agents->nelts, sizeof(ngx_http_hotline_agent_t),
              ngx_http_hotline_agent_cmp);

    for (i = 1; i < amcf->agents->nelts; i++) {
        if (a[i].username.len == a[i - 1].username.len
            && ngx_strncmp(a[i].username.data, a[i - 1].username.data,
                           a[i].username.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "agent \"%V\" is configured twice",
                               &a[i].username);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


ngx_http_hotline_agent_t *
ngx_http_hotline_agent_find(ngx_http_request_t *r, ngx_str_t *username)
{
    ngx_int_t                           rc;
    ngx_uint_t                          lo, hi, mid;
    ngx_http_hotline_agent_t           *a;
    ngx_http_hotline_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_auth_module);

    if (amcf->agents == NULL) {
        return NULL;
    }

    a = amcf->agents->elts;
    lo = 0;
    hi = amcf->agents->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        rc = ngx_memn2cmp(username->data, a[mid].username.data,
                          username->len, a[mid].username.len);

        if (rc == 0) {
            return &a[mid];
        }

        if (rc < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/*
 * Whether a token's subject may be an agent: with agents configured, only
 * those listed now (a reload that drops one refuses its tokens at once);
 * without any, tokens minted elsewhere name their agents themselves.
 */

ngx_int_t
ngx_http_hotline_agent_listed(ngx_http_request_t *r, ngx_str_t *username)
{
    ngx_http_hotline_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_hotline_auth_module);

    if (amcf->agents == NULL || amcf->agents->nelts == 0
        || ngx_http_hotline_agent_find(r, username))
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_hotline_chat_valid(u_char *p, size_t len)
{
    size_t  i;

    if (len && p[0] == '-') {
        p++;
        len--;
    }

    if (len == 0 || len > 20) {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_name_valid(u_char *p, size_t len)
{
    u_char  *last;

    if (len > NGX_HOTLINE_AGENT_NAME_MAX) {
        return NGX_DECLINED;
    }

    last = p + len;

    while (p < last) {
        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f) {
                return NGX_DECLINED;
            }

            p++;
            continue;
        }

        if (ngx_utf8_decode(&p, last - p) > 0x10ffff) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_hotline_agent_cmp(const void *one, const void *two)
{
    const ngx_http_hotline_agent_t  *a = one;
    const ngx_http_hotline_agent_t  *b = two;

    return (int) ngx_memn2cmp(a->username.data, b->username.data,
                              a->username.len, b->username.len);
}
