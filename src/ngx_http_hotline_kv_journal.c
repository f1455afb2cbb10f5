
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_kv_journal.h"
#include "ngx_http_hotline_auth.h"


/*
 * The journal of the embedded store's durable keyed values (revoked
 * tokens, lockouts, bans: NGX_HOTLINE_KV_DURABLE), so that they outlive
 * the zone: a restart of nginx, or a reload that changes the zone's size.
 * One line a record,
 *
 *     <expires, ms since the epoch> <key> <value>
 *
 * key and value escaped as URI components; expires 0 says the key was
 * deleted.  Lines are appended with one write() each to a file opened
 * with O_APPEND (by the master, like a log), after the zone's mutex is
 * released.  The master reads it when it loads the configuration; the
 * first worker of a new zone puts what has not expired into the zone.
 * A clean start (not a reload, not a binary upgrade) rewrites it with the
 * live records only, so it stays as small as the state it keeps.  The
 * journal belongs to the configuration (hotline_state_file of the auth
 * module), so that a reload that fails leaves the one in use alone.
 */


#define NGX_HOTLINE_JOURNAL_MAX     (16 * 1024 * 1024)
#define NGX_HOTLINE_JOURNAL_LINE    (24 + 3 * 256 + 3 * 512 + 4)


static ngx_int_t ngx_http_hotline_kv_journal_read(ngx_conf_t *cf,
    ngx_http_hotline_kv_journal_t *j, ngx_str_t *path);
static ngx_int_t ngx_http_hotline_kv_journal_line(ngx_conf_t *cf,
    ngx_http_hotline_kv_journal_t *j, u_char *p, u_char *last);
static int ngx_libc_cdecl ngx_http_hotline_kv_journal_cmp(const void *one,
    const void *two);
static ngx_int_t ngx_http_hotline_kv_journal_compact(ngx_conf_t *cf,
    ngx_http_hotline_kv_journal_t *j, ngx_str_t *path);
static u_char *ngx_http_hotline_kv_journal_format(u_char *p, int64_t expires,
    ngx_str_t *key, ngx_str_t *value);
static int64_t ngx_http_hotline_kv_journal_now(void);


/*
 * At configuration time, in the master: reads what the journal holds,
 * rewrites it on a clean start, and opens it for appending.  NULL on an
 * error (logged).
 */

ngx_http_hotline_kv_journal_t *
ngx_http_hotline_kv_journal_open(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_str_t                       path;
    ngx_http_hotline_kv_journal_t  *j;

    j = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_kv_journal_t));
    if (j == NULL) {
        return NULL;
    }

    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        /* nginx -s: only a signal is sent */
        return j;
    }

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NULL;
    }

    j->entries = ngx_array_create(cf->pool, 16,
                                  sizeof(ngx_http_hotline_kv_entry_t));
    if (j->entries == NULL) {
        return NULL;
    }

    if (ngx_http_hotline_kv_journal_read(cf, j, &path) != NGX_OK) {
        return NULL;
    }

    /*
     * Rewritten only when no worker of an older generation may append
     * to it: not on a reload, a binary upgrade, or for nginx -t.
     */

    if (!ngx_test_config && !ngx_inherited
        && ngx_is_init_cycle(cf->cycle->old_cycle)
        && ngx_http_hotline_kv_journal_compact(cf, j, &path) != NGX_OK)
    {
        return NULL;
    }

    j->file = ngx_conf_open_file(cf->cycle, name);
    if (j->file == NULL) {
        return NULL;
    }

    return j;
}


/* the journal of the configuration in use, NULL: none */

ngx_http_hotline_kv_journal_t *
ngx_http_hotline_kv_journal(void)
{
    ngx_http_hotline_auth_main_conf_t  *amcf;

    if (ngx_cycle->conf_ctx == NULL
        || ngx_cycle->conf_ctx[ngx_http_module.index] == NULL)
    {
        return NULL;
    }

    amcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_hotline_auth_module);

    return amcf ? amcf->journal : NULL;
}


/* appends a record (ttl 0: the key was deleted); not under the mutex */

void
ngx_http_hotline_kv_journal_write(ngx_str_t *key, ngx_str_t *value,
    ngx_msec_t ttl)
{
    u_char                         *p;
    ssize_t                         n;
    int64_t                         expires;
    ngx_str_t                       none;
    ngx_http_hotline_kv_journal_t  *j;
    u_char                          line[NGX_HOTLINE_JOURNAL_LINE];

    j = ngx_http_hotline_kv_journal();

    if (j == NULL || j->file == NULL || j->file->fd == NGX_INVALID_FILE
        || key->len > 256 || (value && value->len > 512))
    {
        return;
    }

    ngx_str_null(&none);

    expires = ttl ? ngx_http_hotline_kv_journal_now() + (int64_t) ttl : 0;

    p = ngx_http_hotline_kv_journal_format(line, expires, key,
                                           value ? value : &none);

    n = ngx_write_fd(j->file->fd, line, p - line);

    if (n != p - line) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "hotline: writing the state journal \"%V\" failed",
                      &j->file->name);
    }
}


static u_char *
ngx_http_hotline_kv_journal_format(u_char *p, int64_t expires, ngx_str_t *key,
    ngx_str_t *value)
{
    p = ngx_sprintf(p, "%L ", expires);
    p = (u_char *) ngx_escape_uri(p, key->data, key->len,
                                  NGX_ESCAPE_URI_COMPONENT);
    *p++ = ' ';
    p = (u_char *) ngx_escape_uri(p, value->data, value->len,
                                  NGX_ESCAPE_URI_COMPONENT);
    *p++ = '\n';

    return p;
}


/* the records not expired, the last line of a key winning */

static ngx_int_t
ngx_http_hotline_kv_journal_read(ngx_conf_t *cf,
    ngx_http_hotline_kv_journal_t *j, ngx_str_t *path)
{
    u_char                       *buf, *p, *last, *eol;
    off_t                         size, offset;
    ssize_t                       n;
    int64_t                       now;
    ngx_uint_t                    i, k;
    ngx_file_t                    file;
    ngx_file_info_t               fi;
    ngx_http_hotline_kv_entry_t  *e;

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = *path;
    file.log = cf->log;

    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", path);
        (void) ngx_close_file(file.fd);
        return NGX_ERROR;
    }

    size = ngx_file_size(&fi);
    offset = 0;

    if (size > NGX_HOTLINE_JOURNAL_MAX) {
        /* the newest part: a cut first line is skipped as malformed */
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "state journal \"%V\" is larger than %d bytes, "
                           "only its end is read", path,
                           NGX_HOTLINE_JOURNAL_MAX);

        offset = size - NGX_HOTLINE_JOURNAL_MAX;
        size = NGX_HOTLINE_JOURNAL_MAX;
    }

    buf = ngx_alloc((size_t) size + 1, cf->log);
    if (buf == NULL) {
        (void) ngx_close_file(file.fd);
        return NGX_ERROR;
    }

    n = size ? ngx_read_file(&file, buf, (size_t) size, offset) : 0;

    (void) ngx_close_file(file.fd);

    if (n == NGX_ERROR) {
        ngx_free(buf);
        return NGX_ERROR;
    }

    last = buf + n;

    for (p = buf; p < last; p = eol + 1) {
        eol = ngx_strlchr(p, last, '\n');

        if (eol == NULL) {
            /* a line still being written when it was read */
            break;
        }

        if (ngx_http_hotline_kv_journal_line(cf, j, p, eol) != NGX_OK) {
            ngx_free(buf);
            return NGX_ERROR;
        }
    }

    ngx_free(buf);

    /* by key, in the order of the lines: the last line of a key wins */

    e = j->entries->elts;
    n = j->entries->nelts;

    ngx_qsort(e, (size_t) n, sizeof(ngx_http_hotline_kv_entry_t),
              ngx_http_hotline_kv_journal_cmp);

    now = ngx_http_hotline_kv_journal_now();

    for (i = 0, k = 0; i < (ngx_uint_t) n; i++) {
        if (i + 1 < (ngx_uint_t) n
            && e[i].key.len == e[i + 1].key.len
            && ngx_memcmp(e[i].key.data, e[i + 1].key.data, e[i].key.len)
               == 0)
        {
            continue;
        }

        if (e[i].expires > now) {
            e[k++] = e[i];
        }
    }

    j->entries->nelts = k;

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_hotline_kv_journal_cmp(const void *one, const void *two)
{
    const ngx_http_hotline_kv_entry_t  *a = one;
    const ngx_http_hotline_kv_entry_t  *b = two;

    ngx_int_t  rc;

    rc = ngx_memn2cmp(a->key.data, b->key.data, a->key.len, b->key.len);

    if (rc) {
        return (int) rc;
    }

    return (a->seq > b->seq) - (a->seq < b->seq);
}


/* one line: NGX_OK also for a malformed one (skipped) */

static ngx_int_t
ngx_http_hotline_kv_journal_line(ngx_conf_t *cf,
    ngx_http_hotline_kv_journal_t *j, u_char *p, u_char *last)
{
    u_char                       *sp, *sp2, *dst;
    int64_t                       expires;
    ngx_str_t                     key, value;
    ngx_http_hotline_kv_entry_t  *e;

    sp = ngx_strlchr(p, last, ' ');
    sp2 = sp ? ngx_strlchr(sp + 1, last, ' ') : NULL;

    if (sp == NULL || sp2 == NULL || sp == p || sp2 == sp + 1
        || sp2 - sp - 1 > 3 * 256 || last - sp2 - 1 > 3 * 512)
    {
        return NGX_OK;
    }

    expires = ngx_atoof(p, sp - p);

    if (expires == NGX_ERROR) {
        return NGX_OK;
    }

    key.data = ngx_pnalloc(cf->pool, (sp2 - sp - 1) + (last - sp2 - 1) + 1);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    sp++;
    dst = key.data;
    ngx_unescape_uri(&dst, &sp, sp2 - sp, 0);
    key.len = dst - key.data;

    sp2++;
    value.data = dst;
    ngx_unescape_uri(&dst, &sp2, last - sp2, 0);
    value.len = dst - value.data;

    if (key.len == 0 || key.len > 256 || value.len > 512) {
        return NGX_OK;
    }

    e = ngx_array_push(j->entries);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->key = key;
    e->value = value;
    e->expires = expires;
    e->seq = j->entries->nelts;

    return NGX_OK;
}


/* the live records into a new file, which then replaces the journal */

static ngx_int_t
ngx_http_hotline_kv_journal_compact(ngx_conf_t *cf,
    ngx_http_hotline_kv_journal_t *j, ngx_str_t *path)
{
    u_char                       *p;
    size_t                        len;
    ssize_t                       n;
    int64_t                       now;
    ngx_fd_t                      fd;
    ngx_str_t                     tmp;
    ngx_uint_t                    i;
    ngx_http_hotline_kv_entry_t  *e;
    u_char                        line[NGX_HOTLINE_JOURNAL_LINE];

    len = path->len + sizeof(".new");

    tmp.data = ngx_pnalloc(cf->pool, len);
    if (tmp.data == NULL) {
        return NGX_ERROR;
    }

    tmp.len = ngx_sprintf(tmp.data, "%V.new%Z", path) - tmp.data - 1;

    fd = ngx_open_file(tmp.data, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &tmp);
        return NGX_ERROR;
    }

    now = ngx_http_hotline_kv_journal_now();
    e = j->entries->elts;

    for (i = 0; i < j->entries->nelts; i++) {
        if (e[i].expires <= now) {
            continue;
        }

        p = ngx_http_hotline_kv_journal_format(line, e[i].expires,
                                               &e[i].key, &e[i].value);

        n = ngx_write_fd(fd, line, p - line);

        if (n != p - line) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               ngx_write_fd_n " \"%V\" failed", &tmp);
            (void) ngx_close_file(fd);
            (void) ngx_delete_file(tmp.data);
            return NGX_ERROR;
        }
    }

    if (fsync(fd) == -1 || ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "fsync() \"%V\" failed", &tmp);
        (void) ngx_delete_file(tmp.data);
        return NGX_ERROR;
    }

    if (ngx_rename_file(tmp.data, path->data) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_rename_file_n " \"%V\" to \"%V\" failed",
                           &tmp, path);
        (void) ngx_delete_file(tmp.data);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static int64_t
ngx_http_hotline_kv_journal_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}
