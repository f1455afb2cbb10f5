
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
 * transcript cost a substring search.
 */


#define NGX_HOTLINE_SWEEP_TICK     (16 * NGX_HOTLINE_HISTORY_MAX)


static void ngx_http_hotline_sweep_handler(ngx_event_t *ev);
static size_t ngx_http_hotline_sweep_lines(ngx_fd_t fd, u_char *buf,
    size_t n, int64_t expired, ngx_uint_t *stop, ngx_log_t *log);


static ngx_event_t       ngx_http_hotline_sweep_ev;
static ngx_msec_t        ngx_http_hotline_sweep_interval;
static off_t             ngx_http_hotline_swept;    /* checked below */
static ngx_file_uniq_t   ngx_http_hotline_swept_file;


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

    ngx_http_hotline_swept = 0;
    ngx_http_hotline_swept_file = 0;

    ngx_http_hotline_timer_init(&ngx_http_hotline_sweep_ev,
                                ngx_http_hotline_sweep_handler, cycle);

    ngx_add_timer(&ngx_http_hotline_sweep_ev,
                  ngx_http_hotline_sweep_interval);
}


static void
ngx_http_hotline_sweep_handler(ngx_event_t *ev)
{
    off_t             size, done;
    size_t            n, used;
    u_char           *buf;
    ssize_t           got;
    int64_t           expired;
    ngx_fd_t          fd;
    ngx_uint_t        stop;
    ngx_file_info_t   fi;

    expired = ngx_http_hotline_now()
              - (int64_t) ngx_http_hotline_desk()->retention;

    fd = ngx_http_hotline_history_fd(ev->log);

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        goto next;
    }

    if (ngx_file_uniq(&fi) != ngx_http_hotline_swept_file) {
        /* another file (a rotation): from its start */
        ngx_http_hotline_swept_file = ngx_file_uniq(&fi);
        ngx_http_hotline_swept = 0;
    }

    size = ngx_file_size(&fi);

    buf = ngx_alloc(NGX_HOTLINE_HISTORY_MAX, ev->log);
    if (buf == NULL) {
        goto next;
    }

    for (done = 0; done < NGX_HOTLINE_SWEEP_TICK; done += got) {
        n = (size_t) ngx_min(size - ngx_http_hotline_swept,
                             NGX_HOTLINE_HISTORY_MAX);

        if (n == 0) {
            break;
        }

        got = pread(fd, buf, n, ngx_http_hotline_swept);

        if (got != (ssize_t) n) {
            ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_errno,
                          "hotline: reading the call history failed");
            break;
        }

        stop = 0;
        used = ngx_http_hotline_sweep_lines(fd, buf, n, expired, &stop,
                                            ev->log);

        if (used == 0 && n == NGX_HOTLINE_HISTORY_MAX) {
            /* a line too long to be ours: passed over */
            used = n;
        }

        ngx_http_hotline_swept += used;

        if (stop || used == 0) {
            /* a call within the retention, or a line being written */
            break;
        }
    }

    ngx_free(buf);

next:

    if (!ngx_exiting) {
        ngx_add_timer(ev, ngx_http_hotline_sweep_interval);
    }
}


/*
 * The whole lines of buf (the journal from ngx_http_hotline_swept) up to
 * the first record of a call that ended at or after expired (*stop set):
 * expired transcripts rewritten out; returns the bytes gone through.
 */

static size_t
ngx_http_hotline_sweep_lines(ngx_fd_t fd, u_char *buf, size_t n,
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
            (void) ngx_http_hotline_history_rewrite(fd,
                                            ngx_http_hotline_swept + (p - buf),
                                            p, nl - p, expired, 0, log);
        }
    }

    return p - buf;
}
