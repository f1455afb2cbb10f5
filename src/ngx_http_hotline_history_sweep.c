
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_desk.h"
#include "ngx_http_hotline_history.h"
#include "ngx_http_hotline_alloc.h"


/*
 * hotline_transcript_retention on the node's journal: the first worker
 * goes through the journal from its start, which is in time order, and
 * rewrites the transcripts of calls that ended longer ago than the
 * retention out of it (ngx_http_hotline_history_rewrite()), up to the
 * first call that ended later; the next tick goes on from there.  A tick
 * reads at most NGX_HOTLINE_SWEEP_TICK bytes.  After a restart or a log
 * rotation it starts again from the start of the file: lines without a
 * transcript cost a substring search.  The rotated files beside the
 * journal (ngx_http_hotline_history_rotated()) are swept alike, each
 * from where the sweep got to in it (up to NGX_HOTLINE_SWEEP_FILES of
 * them; the file itself, not its name, which rotations change).
 */


#define NGX_HOTLINE_SWEEP_TICK     (16 * NGX_HOTLINE_HISTORY_MAX)
#define NGX_HOTLINE_SWEEP_FILES    64


/* how far the sweep got in a file */
typedef struct {
    ngx_file_uniq_t              file;
    off_t                        swept;       /* checked below */
    ngx_uint_t                   seen;        /* in the last walk */
} ngx_http_hotline_swept_t;


typedef struct {
    int64_t                      expired;
    off_t                        budget;      /* bytes left this tick */
    ngx_log_t                   *log;
} ngx_http_hotline_sweep_t;


static void ngx_http_hotline_sweep_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_hotline_sweep_rotated(ngx_fd_t fd,
    ngx_str_t *path, void *data);
static void ngx_http_hotline_sweep_file(ngx_fd_t fd, off_t *swept,
    ngx_http_hotline_sweep_t *sw);
static size_t ngx_http_hotline_sweep_lines(ngx_fd_t fd, off_t at,
    u_char *buf, size_t n, int64_t expired, ngx_uint_t *stop,
    ngx_log_t *log);


static ngx_event_t               ngx_http_hotline_sweep_ev;
static ngx_msec_t                ngx_http_hotline_sweep_interval;
static ngx_http_hotline_swept_t  ngx_http_hotline_swept;     /* the journal */
static ngx_http_hotline_swept_t  ngx_http_hotline_rotated[
                                     NGX_HOTLINE_SWEEP_FILES];
static ngx_uint_t                ngx_http_hotline_nrotated;


void
ngx_http_hotline_history_sweep_start(ngx_cycle_t *cycle)
{
    ngx_http_hotline_desk_conf_t  *dcf;

    dcf = ngx_http_hotline_desk();

    if (dcf->retention == 0 || ngx_worker != 0) {
        return;
    }

    /* a quarter of the retention, from 1 s to 1 min */

    ngx_http_hotline_sweep_interval = ngx_min(ngx_max(dcf->retention / 4,
                                                      1000),
                                              60000);

    ngx_memzero(&ngx_http_hotline_swept, sizeof(ngx_http_hotline_swept_t));
    ngx_http_hotline_nrotated = 0;

    ngx_http_hotline_timer_init(&ngx_http_hotline_sweep_ev,
                                ngx_http_hotline_sweep_handler, cycle);

    ngx_add_timer(&ngx_http_hotline_sweep_ev,
                  ngx_http_hotline_sweep_interval);
}


static void
ngx_http_hotline_sweep_handler(ngx_event_t *ev)
{
    ngx_fd_t                   fd;
    ngx_uint_t                 i, k;
    ngx_file_info_t            fi;
    ngx_http_hotline_sweep_t   sw;

    sw.expired = ngx_http_hotline_now()
                 - (int64_t) ngx_http_hotline_desk()->retention;
    sw.budget = NGX_HOTLINE_SWEEP_TICK;
    sw.log = ev->log;

    /* the rotated files first: the oldest calls are in them */

    for (i = 0; i < ngx_http_hotline_nrotated; i++) {
        ngx_http_hotline_rotated[i].seen = 0;
    }

    (void) ngx_http_hotline_history_rotated(
                            ngx_http_hotline_history_path(), ev->log,
                            ngx_http_hotline_sweep_rotated, &sw, NULL);

    /* files gone (removed by the rotation) are forgotten */

    for (i = 0, k = 0; i < ngx_http_hotline_nrotated; i++) {
        if (ngx_http_hotline_rotated[i].seen) {
            ngx_http_hotline_rotated[k++] = ngx_http_hotline_rotated[i];
        }
    }

    ngx_http_hotline_nrotated = k;

    fd = ngx_http_hotline_history_fd(ev->log);

    if (ngx_fd_info(fd, &fi) != NGX_FILE_ERROR) {

        if (ngx_file_uniq(&fi) != ngx_http_hotline_swept.file) {
            /* another file (a rotation): from its start */
            ngx_http_hotline_swept.file = ngx_file_uniq(&fi);
            ngx_http_hotline_swept.swept = 0;
        }

        ngx_http_hotline_sweep_file(fd, &ngx_http_hotline_swept.swept, &sw);
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, ngx_http_hotline_sweep_interval);
    }
}


static ngx_int_t
ngx_http_hotline_sweep_rotated(ngx_fd_t fd, ngx_str_t *path, void *data)
{
    ngx_http_hotline_sweep_t  *sw = data;

    ngx_uint_t                 i;
    ngx_file_info_t            fi;
    ngx_http_hotline_swept_t  *f;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return NGX_OK;
    }

    for (i = 0; i < ngx_http_hotline_nrotated; i++) {
        if (ngx_http_hotline_rotated[i].file == ngx_file_uniq(&fi)) {
            break;
        }
    }

    if (i == ngx_http_hotline_nrotated) {
        if (i == NGX_HOTLINE_SWEEP_FILES) {
            /* more rotated files than that: the others another time */
            return NGX_OK;
        }

        ngx_http_hotline_nrotated++;
        ngx_http_hotline_rotated[i].file = ngx_file_uniq(&fi);
        ngx_http_hotline_rotated[i].swept = 0;
    }

    f = &ngx_http_hotline_rotated[i];
    f->seen = 1;

    ngx_http_hotline_sweep_file(fd, &f->swept, sw);

    return NGX_OK;
}


/* a file from *swept, within the tick's budget */

static void
ngx_http_hotline_sweep_file(ngx_fd_t fd, off_t *swept,
    ngx_http_hotline_sweep_t *sw)
{
    off_t             size;
    size_t            n, used;
    u_char           *buf;
    ssize_t           got;
    ngx_uint_t        stop;
    ngx_file_info_t   fi;

    if (sw->budget <= 0 || ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        return;
    }

    size = ngx_file_size(&fi);

    if (*swept > size) {
        /* truncated (logrotate's copytruncate): from its start */
        *swept = 0;
    }

    if (*swept == size) {
        return;
    }

    buf = ngx_alloc(NGX_HOTLINE_HISTORY_MAX, sw->log);
    if (buf == NULL) {
        return;
    }

    while (sw->budget > 0) {
        n = (size_t) ngx_min(size - *swept, NGX_HOTLINE_HISTORY_MAX);

        if (n == 0) {
            break;
        }

        got = pread(fd, buf, n, *swept);

        if (got != (ssize_t) n) {
            ngx_log_error(NGX_LOG_ALERT, sw->log, ngx_errno,
                          "hotline: reading the call history failed");
            break;
        }

        sw->budget -= got;

        stop = 0;
        used = ngx_http_hotline_sweep_lines(fd, *swept, buf, n, sw->expired,
                                            &stop, sw->log);

        if (used == 0 && n == NGX_HOTLINE_HISTORY_MAX) {
            /* a line too long to be ours: passed over */
            used = n;
        }

        *swept += used;

        if (stop || used == 0) {
            /* a call within the retention, or a line being written */
            break;
        }
    }

    ngx_free(buf);
}


/*
 * The whole lines of buf (the file from offset at) up to
 * the first record of a call that ended at or after expired (*stop set):
 * expired transcripts rewritten out; returns the bytes gone through.
 */

static size_t
ngx_http_hotline_sweep_lines(ngx_fd_t fd, off_t at, u_char *buf, size_t n,
    int64_t expired, ngx_uint_t *stop, ngx_log_t *log)
{
    u_char      *p, *nl, *e, *last;
    int64_t      ended;
    ngx_uint_t   k;

    last = buf + n;

    for (p = buf; p < last; p = nl + 1) {
        nl = ngx_strlchr(p, last, '\n');

        if (nl == NULL) {
            break;
        }

        if (nl - p < 2 || ngx_strncmp(p, "{\"call_id\":", 11) != 0) {
            /* an amendment, a torn line */
            continue;
        }

        e = ngx_strlcasestrn(p, nl, (u_char *) ",\"ended\":", 9 - 1);

        if (e == NULL) {
            continue;
        }

        /* milliseconds: 13 digits until the year 2286, at most 15 read */

        for (e += 9, ended = 0, k = 0;
             e < nl && *e >= '0' && *e <= '9' && k < 15;
             e++, k++)
        {
            ended = ended * 10 + (*e - '0');
        }

        if (ended >= expired) {
            *stop = 1;
            break;
        }

        if (ngx_strlcasestrn(p, nl, (u_char *) ",\"transcript\":", 14 - 1)
            != NULL)
        {
            (void) ngx_http_hotline_history_rewrite(fd, at + (p - buf),
                                                    p, nl - p, expired, 0,
                                                    log);
        }
    }

    return p - buf;
}
