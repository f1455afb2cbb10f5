
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_history.h"


/*
 * Call history: every ended call appends one JSON line to a journal file
 * (opened by the master like a log, so it survives reloads, restarts and
 * log rotation with USR1), read back newest first (the history location:
 * ngx_http_hotline_history_query.c).  Lines are written with
 * one write() each to a file opened with O_APPEND: workers never
 * interleave within a line.  Only personal data is ever taken out of a
 * line, in place, as long as it was (ngx_http_hotline_history_rewrite():
 * an expired transcript, an erased call).
 */


#define NGX_HOTLINE_HISTORY_BLOCK   65536


static ngx_int_t ngx_http_hotline_history_today(u_char *line, size_t len,
    off_t offset, void *data);
static ngx_int_t ngx_http_hotline_history_erase_line(u_char *line,
    size_t len, off_t offset, void *data);
static void ngx_http_hotline_history_own(ngx_conf_t *cf, ngx_fd_t fd,
    ngx_str_t *path);


/*
 * The journal of the running configuration: set by each worker from its
 * cycle (ngx_http_hotline_history_init_worker()), never by the parsing of
 * a configuration, which may fail or be replaced and take it along.
 */
static ngx_http_hotline_journal_t  *ngx_http_hotline_jr;

/* lines formatted as calls end, written after the operation */
static u_char            ngx_http_hotline_pending[8192];
static size_t            ngx_http_hotline_npending;


/*
 * The default journal: hotline_calls.jsonl beside the access log nginx was
 * built to write (/var/log/nginx/ on Debian, the prefix's logs/ for a
 * default build), a directory every installation of that nginx has.
 */

ngx_int_t
ngx_http_hotline_history_default(ngx_conf_t *cf, ngx_str_t *name)
{
    return ngx_http_hotline_log_dir_file(cf, "hotline_calls.jsonl", name);
}


ngx_http_hotline_journal_t *
ngx_http_hotline_history_open(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_fd_t                     fd;
    ngx_str_t                   *path;
    ngx_pool_cleanup_t          *cln;
    ngx_pool_cleanup_file_t     *clnf;
    ngx_http_hotline_journal_t  *jr;

    jr = ngx_pcalloc(cf->pool, sizeof(ngx_http_hotline_journal_t));
    if (jr == NULL) {
        return NULL;
    }

    jr->file = ngx_conf_open_file(cf->cycle, name);

    if (jr->file == NULL) {
        return NULL;
    }

    /* the name nginx keeps is not NUL-terminated: a copy to read it */

    path = &jr->path;

    path->len = jr->file->name.len;
    path->data = ngx_pnalloc(cf->pool, path->len + 1);
    if (path->data == NULL) {
        return NULL;
    }

    ngx_cpystrn(path->data, jr->file->name.data, path->len + 1);

    /*
     * Workers may not be allowed to open it (it is the master's, in a
     * directory of the master's): they read through a descriptor opened
     * here, as logs are written through one, until a USR1 log rotation
     * gives them a new file (ngx_http_hotline_history_fd()).  Created
     * here first, readable by its owner and group only: it holds
     * customers' names.
     */

    cln = ngx_pool_cleanup_add(cf->cycle->pool,
                               sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        return NULL;
    }

    /* read-write: a record's personal data is rewritten in place */

    fd = ngx_open_file(path->data, NGX_FILE_RDWR, NGX_FILE_CREATE_OR_OPEN,
                       0640);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", path);
        return NULL;
    }

    ngx_http_hotline_history_own(cf, fd, path);

    clnf = cln->data;
    clnf->fd = fd;
    clnf->name = path->data;
    clnf->log = &cf->cycle->new_log;  /* cf->log is the old cycle's */
    cln->handler = ngx_pool_cleanup_file;

    jr->fd = fd;
    jr->cln = clnf;

    return jr;
}


/*
 * The journal belongs to the workers' user, as nginx makes a log it
 * reopens (USR1): a worker rewrites the rotated files beside it
 * (ngx_http_hotline_history_rotated.c), among them the first one, which
 * the master made.  The user is the one nginx will use: the "user"
 * directive's, or NGX_USER when it has none (it is set after the http
 * block is parsed).
 */

static void
ngx_http_hotline_history_own(ngx_conf_t *cf, ngx_fd_t fd, ngx_str_t *path)
{
#if !(NGX_WIN32)
    ngx_uid_t         user;
    struct passwd    *pwd;
    ngx_core_conf_t  *ccf;

    if (geteuid() != 0) {
        return;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    user = ccf->user;

    if (user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        pwd = getpwnam(NGX_USER);
        if (pwd == NULL) {
            return;
        }

        user = pwd->pw_uid;
    }

    if (fchown(fd, user, (gid_t) -1) == -1) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, ngx_errno,
                           "chown(\"%V\") failed: workers cannot rewrite "
                           "it once it is rotated", path);
    }
#endif
}


/* a worker writes and reads the journal of its own cycle (or none) */

void
ngx_http_hotline_history_init_worker(ngx_http_hotline_journal_t *jr)
{
    ngx_http_hotline_jr = jr;
}


ngx_uint_t
ngx_http_hotline_history_kept(void)
{
    return ngx_http_hotline_jr != NULL;
}


/*
 * The descriptor to read the journal through.  USR1 reopens the one the
 * journal is written through (nginx reopens it with the logs, the master
 * giving the new file to the workers' user): when that is another file
 * now, the worker reads the new one too.
 */

ngx_fd_t
ngx_http_hotline_history_fd(ngx_log_t *log)
{
    ngx_fd_t         fd;
    ngx_file_info_t  wi, ri;

    fd = ngx_http_hotline_jr->fd;

    if (ngx_fd_info(ngx_http_hotline_jr->file->fd, &wi) == NGX_FILE_ERROR
        || ngx_fd_info(fd, &ri) == NGX_FILE_ERROR
        || (ngx_file_uniq(&wi) == ngx_file_uniq(&ri)
            && wi.st_dev == ri.st_dev))
    {
        return fd;
    }

    fd = ngx_open_file(ngx_http_hotline_jr->path.data, NGX_FILE_RDWR,
                       NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        /* read only: personal data is then left out, not rewritten */
        fd = ngx_open_file(ngx_http_hotline_jr->path.data, NGX_FILE_RDONLY,
                           NGX_FILE_OPEN, 0);
    }

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_open_file_n " \"%V\" after a log rotation failed, "
                      "the history is read from the old file",
                      &ngx_http_hotline_jr->path);
        return ngx_http_hotline_jr->fd;
    }

    (void) ngx_close_file(ngx_http_hotline_jr->fd);

    ngx_http_hotline_jr->fd = fd;
    ngx_http_hotline_jr->cln->fd = fd;

    return fd;
}


/* formats the record of an ended call (or an amendment of one) */

void
ngx_http_hotline_history_add(ngx_http_hotline_call_record_t *rec)
{
    u_char   *p, *line;
    size_t    size;
    ssize_t   n;

    if (ngx_http_hotline_jr == NULL) {
        return;
    }

    size = ngx_http_hotline_history_size(rec) + 1;

    if (size > sizeof(ngx_http_hotline_pending)) {
        /* with a transcript: a line of its own, at once */

        ngx_http_hotline_history_flush();

        line = ngx_alloc(size, ngx_cycle->log);
        if (line == NULL) {
            return;
        }

        p = ngx_http_hotline_history_json(line, line + size - 1, rec);
        *p++ = '\n';

        n = ngx_write_fd(ngx_http_hotline_jr->file->fd, line, p - line);

        if (n != p - line) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "hotline: writing the call history \"%V\" failed",
                          &ngx_http_hotline_jr->file->name);
        }

        ngx_free(line);
        return;
    }

    if (sizeof(ngx_http_hotline_pending) - ngx_http_hotline_npending < size) {
        ngx_http_hotline_history_flush();
    }

    p = ngx_http_hotline_pending + ngx_http_hotline_npending;
    p = ngx_http_hotline_history_json(p, p + size - 1, rec);
    *p++ = '\n';

    ngx_http_hotline_npending = p - ngx_http_hotline_pending;
}


/* the most a record's JSON takes */

size_t
ngx_http_hotline_history_size(ngx_http_hotline_call_record_t *rec)
{
    return NGX_HOTLINE_HISTORY_LINE + rec->extra.len
           + sizeof(",\"transcript\":") + rec->transcript.len;
}


/*
 * A record as one JSON object (a journal line, a history answer's
 * element); names are at most NGX_HOTLINE_CUSTOMER_NAME_MAX bytes, without
 * control characters (quotes and backslashes double), so it fits in
 * NGX_HOTLINE_HISTORY_LINE.
 */

u_char *
ngx_http_hotline_history_json(u_char *p, u_char *last,
    ngx_http_hotline_call_record_t *rec)
{
    u_char  id[NGX_HOTLINE_ID_HEX];

    (void) ngx_http_hotline_hex(id, rec->call_id, NGX_HOTLINE_ID_LEN);

    if (rec->amend) {
        /* later members of a call's record, merged in by readers */
        p = ngx_slprintf(p, last, "{\"amend\":\"%*s\",\"at\":%L",
                         (size_t) NGX_HOTLINE_ID_HEX, id, rec->ended);
        p = ngx_cpymem(p, rec->extra.data, rec->extra.len);
        *p++ = '}';
        return p;
    }

    p = ngx_cpymem(p, "{\"call_id\":\"", sizeof("{\"call_id\":\"") - 1);
    p = ngx_cpymem(p, id, NGX_HOTLINE_ID_HEX);
    p = ngx_cpymem(p, "\",\"customer\":", sizeof("\",\"customer\":") - 1);
    p = ngx_http_hotline_json_str(p, rec->customer, rec->customer_len);
    p = ngx_cpymem(p, ",\"agent\":", sizeof(",\"agent\":") - 1);

    if (rec->agent_len) {
        p = ngx_http_hotline_json_str(p, rec->agent, rec->agent_len);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_slprintf(p, last, ",\"joined\":%L,\"accepted\":", rec->joined);

    if (rec->accepted) {
        p = ngx_slprintf(p, last, "%L", rec->accepted);

    } else {
        p = ngx_slprintf(p, last, "null");
    }

    p = ngx_slprintf(p, last,
                     ",\"ended\":%L,\"outcome\":\"%V\",\"by\":\"%s\","
                     "\"duration\":%ui,\"recorded\":%s",
                     rec->ended,
                     &ngx_http_hotline_end_reasons[rec->reason],
                     rec->by == NGX_HOTLINE_ROLE_CUSTOMER ? "customer"
                                                          : "agent",
                     rec->duration, rec->recorded ? "true" : "false");

    /* the desk's members and the transcript: JSON the model wrote */

    p = ngx_cpymem(p, rec->extra.data, rec->extra.len);

    if (rec->transcript.len) {
        p = ngx_cpymem(p, ",\"transcript\":",
                       sizeof(",\"transcript\":") - 1);
        p = ngx_cpymem(p, rec->transcript.data, rec->transcript.len);
    }

    *p++ = '}';

    return p;
}


/* after the zone lock: writes what ended calls left */

void
ngx_http_hotline_history_flush(void)
{
    ssize_t  n;

    if (ngx_http_hotline_npending == 0) {
        return;
    }

    n = ngx_write_fd(ngx_http_hotline_jr->file->fd, ngx_http_hotline_pending,
                     ngx_http_hotline_npending);

    if (n != (ssize_t) ngx_http_hotline_npending) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "hotline: writing the call history \"%V\" failed",
                      &ngx_http_hotline_jr->file->name);
    }

    ngx_http_hotline_npending = 0;
}


/*
 * The calls of the current UTC day in the journal: seeds the daily count
 * when the zone is new (a restart), so the daily limit holds across it.
 */

ngx_uint_t
ngx_http_hotline_history_count_today(ngx_log_t *log)
{
    off_t            size;
    ngx_fd_t         fd;
    ngx_uint_t       n;
    ngx_file_info_t  fi;

    if (ngx_http_hotline_jr == NULL
        || ngx_http_hotline_jr->fd == NGX_INVALID_FILE)
    {
        return 0;
    }

    fd = ngx_http_hotline_jr->fd;
    n = 0;

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {
        size = ngx_file_size(&fi);
        (void) ngx_http_hotline_history_scan(fd, size, log,
                                             ngx_http_hotline_history_today,
                                             &n);
    }

    return n;
}


static ngx_int_t
ngx_http_hotline_history_today(u_char *line, size_t len, off_t offset,
    void *data)
{
    ngx_uint_t  *n = data;

    json_t        *j;
    json_int_t     ended;
    json_error_t   err;

    if (ngx_http_hotline_is_amend(line, len)) {
        return NGX_OK;
    }

    j = json_loadb((char *) line, len, 0, &err);
    if (j == NULL) {
        return NGX_OK;
    }

    ended = json_integer_value(json_object_get(j, "ended"));
    json_decref(j);

    if (ended / 1000 / 86400 != ngx_time() / 86400) {
        return NGX_DONE;
    }

    (*n)++;

    return NGX_OK;
}


/*
 * Reads the journal backwards from end, calling handler for each line with
 * its offset, newest first, until the handler returns NGX_DONE or the
 * file's start.  A line longer than NGX_HOTLINE_HISTORY_MAX is skipped.
 */

ngx_int_t
ngx_http_hotline_history_scan(ngx_fd_t fd, off_t end, ngx_log_t *log,
    ngx_http_hotline_line_pt handler, void *data)
{
    u_char     *buf, *p, *line_end;
    off_t       start;
    size_t      carry, n;
    ssize_t     got;
    ngx_int_t   rc;

    buf = ngx_alloc(NGX_HOTLINE_HISTORY_BLOCK + NGX_HOTLINE_HISTORY_MAX, log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    /* buf holds [start, start + n) of the file and a carried line part */

    carry = 0;
    rc = NGX_OK;

    while (end > 0 && rc == NGX_OK) {
        n = (size_t) ngx_min(end, NGX_HOTLINE_HISTORY_BLOCK);
        start = end - n;

        ngx_memmove(buf + n, buf, carry);

        got = pread(fd, buf, n, start);

        if (got != (ssize_t) n) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "hotline: reading the call history failed");
            rc = NGX_ERROR;
            break;
        }

        line_end = buf + n + carry;

        for (p = line_end; p > buf; p--) {
            if (p[-1] != '\n' || p == line_end) {
                continue;
            }

            /* [p, line_end) is a whole line */

            if (line_end - p > 1) {
                rc = handler(p, line_end - p, start + (p - buf), data);
                if (rc != NGX_OK) {
                    break;
                }
            }

            line_end = p;
        }

        if (rc != NGX_OK) {
            break;
        }

        carry = line_end - buf;

        if (start == 0) {
            if (carry > 1) {
                rc = handler(buf, carry, 0, data);
            }

            break;
        }

        if (carry > NGX_HOTLINE_HISTORY_MAX) {
            /* a line too long to be ours: dropped */
            carry = 0;
        }

        end = start;
    }

    ngx_free(buf);

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/*
 * Rewrites the journal's line at offset without what it must no longer
 * hold (ngx_http_hotline_history_forget(); erase: all its personal data),
 * as long as it was, padded with spaces: the other lines and the pages'
 * cursors stay where they are.  Workers that rewrite a line at once write
 * the same bytes.
 */

ngx_int_t
ngx_http_hotline_history_rewrite(ngx_fd_t fd, off_t offset, u_char *line,
    size_t len, int64_t expired, ngx_uint_t erase, ngx_log_t *log)
{
    char          *s;
    size_t         n;
    json_t        *j;
    u_char        *buf;
    ssize_t        w;
    json_error_t   err;

    j = json_loadb((char *) line, len, 0, &err);

    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return NGX_DECLINED;
    }

    if (ngx_http_hotline_history_forget(j, expired, erase) != NGX_OK) {
        json_decref(j);
        return NGX_DECLINED;
    }

    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);

    if (s == NULL) {
        return NGX_ERROR;
    }

    n = ngx_strlen(s);

    if (n > len) {
        /* not shorter: a line another writer made, left as it is */
        free(s);
        return NGX_DECLINED;
    }

    buf = ngx_alloc(len, log);
    if (buf == NULL) {
        free(s);
        return NGX_ERROR;
    }

    ngx_memcpy(buf, s, n);
    ngx_memset(buf + n, ' ', len - n);
    free(s);

    w = pwrite(fd, buf, len, offset);
    ngx_free(buf);

    if (w != (ssize_t) len) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "hotline: rewriting a record of the call history "
                      "\"%V\" failed", &ngx_http_hotline_jr->path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Erases the personal data of q->call_id's lines in the journal (its
 * record and its amendments, which come after it), in place, and in the
 * rotated files beside it: NGX_DECLINED when the journal has no record
 * of it.
 */

typedef struct {
    ngx_str_t                         *ids;       /* sorted, distinct */
    ngx_uint_t                         n;
    ngx_fd_t                           fd;
    ngx_uint_t                         found;     /* records */
    ngx_uint_t                         whole;     /* the whole file */
    ngx_log_t                         *log;
} ngx_http_hotline_erase_scan_t;


static ngx_int_t ngx_http_hotline_history_erase_fd(ngx_fd_t fd,
    ngx_http_hotline_erase_scan_t *es);
static ngx_int_t ngx_http_hotline_history_erase_rotated(ngx_fd_t fd,
    ngx_str_t *path, void *data);
static int ngx_libc_cdecl ngx_http_hotline_id_cmp(const void *one,
    const void *two);


ngx_int_t
ngx_http_hotline_history_erase_journal(ngx_http_hotline_history_query_t *q)
{
    return ngx_http_hotline_history_erase_ids(&q->call_id, 1, q->log);
}


ngx_uint_t
ngx_http_hotline_history_journal_on(void)
{
    return ngx_http_hotline_jr != NULL;
}


/* the journal's name, NUL-terminated */

ngx_str_t *
ngx_http_hotline_history_path(void)
{
    return &ngx_http_hotline_jr->path;
}


/*
 * The same for calls ids[0..n-1] (32 hex digits each; sorted here): the
 * journal is read back until all their records are found, every rotated
 * file whole.  NGX_OK when a record of one was found in any of them.
 */

ngx_int_t
ngx_http_hotline_history_erase_ids(ngx_str_t *ids, ngx_uint_t n,
    ngx_log_t *log)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i, k, compressed;
    ngx_http_hotline_erase_scan_t  es;

    if (ngx_http_hotline_jr == NULL || n == 0) {
        return NGX_DECLINED;
    }

    ngx_http_hotline_history_flush();

    ngx_qsort(ids, n, sizeof(ngx_str_t), ngx_http_hotline_id_cmp);

    for (i = 1, k = 1; i < n; i++) {
        if (ngx_http_hotline_id_cmp(&ids[i], &ids[k - 1]) != 0) {
            ids[k++] = ids[i];
        }
    }

    es.ids = ids;
    es.n = k;
    es.found = 0;
    es.whole = 0;
    es.log = log;

    rc = ngx_http_hotline_history_erase_fd(ngx_http_hotline_history_fd(log),
                                           &es);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    compressed = 0;

    if (ngx_http_hotline_history_rotated(&ngx_http_hotline_jr->path, log,
                                         ngx_http_hotline_history_erase_rotated,
                                         &es, &compressed)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (compressed) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hotline: %ui compressed rotated files of the call "
                      "history \"%V\" cannot be rewritten: erased calls "
                      "stay in them until they are removed", compressed,
                      &ngx_http_hotline_jr->path);
    }

    return es.found ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_http_hotline_history_erase_rotated(ngx_fd_t fd, ngx_str_t *path,
    void *data)
{
    ngx_http_hotline_erase_scan_t  *es = data;

    /* a whole file: a call's record may be in an older one */

    (void) path;

    es->whole = 1;

    return ngx_http_hotline_history_erase_fd(fd, es);
}


static ngx_int_t
ngx_http_hotline_history_erase_fd(ngx_fd_t fd,
    ngx_http_hotline_erase_scan_t *es)
{
    ngx_file_info_t  fi;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return NGX_ERROR;
    }

    es->fd = fd;

    return ngx_http_hotline_history_scan(fd, ngx_file_size(&fi), es->log,
                                         ngx_http_hotline_history_erase_line,
                                         es);
}


static int ngx_libc_cdecl
ngx_http_hotline_id_cmp(const void *one, const void *two)
{
    const ngx_str_t  *a = one;
    const ngx_str_t  *b = two;

    return ngx_strncasecmp(a->data, b->data, NGX_HOTLINE_ID_HEX);
}


static ngx_int_t
ngx_http_hotline_history_erase_line(u_char *line, size_t len, off_t offset,
    void *data)
{
    ngx_http_hotline_erase_scan_t  *es = data;

    size_t      n;
    ngx_str_t   id;

    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }

    /* {"amend":"<id>", or {"call_id":"<id>", as the journal writes them */

    if (ngx_http_hotline_is_amend(line, len)) {
        n = sizeof("{\"amend\":\"") - 1;

    } else if (len > sizeof("{\"call_id\":\"") - 1
               && ngx_strncmp(line, "{\"call_id\":\"",
                              sizeof("{\"call_id\":\"") - 1) == 0)
    {
        n = sizeof("{\"call_id\":\"") - 1;

    } else {
        return NGX_OK;
    }

    if (len <= n + NGX_HOTLINE_ID_HEX || line[n + NGX_HOTLINE_ID_HEX] != '"') {
        return NGX_OK;
    }

    id.data = line + n;
    id.len = NGX_HOTLINE_ID_HEX;

    if (bsearch(&id, es->ids, es->n, sizeof(ngx_str_t),
                ngx_http_hotline_id_cmp)
        == NULL)
    {
        return NGX_OK;
    }

    if (ngx_http_hotline_history_rewrite(es->fd, offset, line, len, 0, 1,
                                         es->log)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    if (line[2] == 'c') {
        es->found++;
    }

    /* all the records: their amendments come after them, all seen */

    return (!es->whole && es->found == es->n) ? NGX_DONE : NGX_OK;
}
