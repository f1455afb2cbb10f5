
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_history.h"


/*
 * The journal's rotated files: the files beside it whose names are the
 * journal's followed by "." or "-" (logrotate's <name>.1, <name>.2,
 * dateext's <name>-20261203), which an erasure and the transcript sweep
 * rewrite like the journal.  Compressed ones (.gz, .bz2, .xz, .zst, .lz4,
 * .Z) cannot be rewritten in place: they are passed over and counted
 * (docs/directives.md: delaycompress, or no compress).
 */


static ngx_str_t  ngx_http_hotline_compressed[] = {
    ngx_string(".gz"),
    ngx_string(".bz2"),
    ngx_string(".xz"),
    ngx_string(".zst"),
    ngx_string(".lz4"),
    ngx_string(".Z"),
    ngx_null_string
};


/*
 * handler(fd, path, data) for each rotated file of journal (a NUL-
 * terminated path), opened read-write; *compressed counts those passed
 * over.  A file that cannot be opened is logged and passed over: as an
 * error for a caller that counts (an erasure), else (the sweep, every
 * tick) at the info level.
 */

ngx_int_t
ngx_http_hotline_history_rotated(ngx_str_t *journal, ngx_log_t *log,
    ngx_http_hotline_rotated_pt handler, void *data, ngx_uint_t *compressed)
{
    u_char     *base, *name, *p;
    size_t      dlen, blen, len;
    ngx_fd_t    fd;
    ngx_dir_t   dir;
    ngx_int_t   rc;
    ngx_uint_t  level;
    ngx_str_t   path, dname, *z;
    u_char      buf[NGX_MAX_PATH + 1];

    for (base = journal->data + journal->len;
         base > journal->data && base[-1] != '/';
         base--)
    {
        /* void */
    }

    dlen = base - journal->data;
    blen = journal->data + journal->len - base;

    if (dlen == 0 || dlen + 1 > NGX_MAX_PATH) {
        return NGX_OK;
    }

    p = ngx_cpymem(buf, journal->data, dlen);
    *p = '\0';

    dname.data = buf;
    dname.len = dlen;

    if (ngx_open_dir(&dname, &dir) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      ngx_open_dir_n " \"%s\" failed: the rotated call "
                      "history files are not rewritten", buf);
        return NGX_OK;
    }

    rc = NGX_OK;
    level = compressed ? NGX_LOG_ERR : NGX_LOG_INFO;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            break;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        if (len <= blen + 1 || ngx_strncmp(name, base, blen) != 0
            || (name[blen] != '.' && name[blen] != '-')
            || dlen + len > NGX_MAX_PATH)
        {
            continue;
        }

        for (z = ngx_http_hotline_compressed; z->len; z++) {
            if (len > blen + z->len
                && ngx_strncmp(name + len - z->len, z->data, z->len) == 0)
            {
                break;
            }
        }

        if (z->len) {
            if (compressed) {
                (*compressed)++;
            }

            continue;
        }

        p = ngx_cpymem(buf + dlen, name, len);
        *p = '\0';

        path.data = buf;
        path.len = dlen + len;

        fd = ngx_open_file(buf, NGX_FILE_RDWR, NGX_FILE_OPEN, 0);

        if (fd == NGX_INVALID_FILE) {
            ngx_log_error(level, log, ngx_errno,
                          ngx_open_file_n " \"%V\" failed: this rotated "
                          "call history file is not rewritten", &path);
            continue;
        }

        rc = handler(fd, &path, data);

        if (ngx_close_file(fd) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          ngx_close_file_n " \"%V\" failed", &path);
        }

        if (rc == NGX_ERROR) {
            break;
        }
    }

    (void) ngx_close_dir(&dir);

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}
