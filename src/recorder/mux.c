/*
 * hotline-recorder: frames of both tracks wait in a short queue sorted by
 * timestamp (REC_MUX_DELAY_NS) so that the muxer sees them in order; the
 * file starts only when the video size is known from a keyframe (or after
 * REC_MUX_WAIT_MS without one), so it never starts on a delta frame.
 */

#include <stdlib.h>
#include <string.h>

#include "mux.h"


static int rec_mux_start(rec_mux_t *m);
static int rec_mux_emit(rec_mux_t *m, int64_t upto);


int
rec_mux_open(rec_mux_t *m, const char *path, int audio, int video,
    int64_t now)
{
    memset(m, 0, sizeof(rec_mux_t));

    m->queue = calloc(REC_MUX_MAX_QUEUE, sizeof(rec_mux_frame_t *));
    if (m->queue == NULL) {
        return REC_ERROR;
    }

    m->webm = rec_webm_open(path);
    if (m->webm == NULL) {
        free(m->queue);
        m->queue = NULL;
        return REC_ERROR;
    }

    m->has[REC_MUX_AUDIO] = audio;
    m->has[REC_MUX_VIDEO] = video;
    m->opened = now;
    m->first_ts[0] = -1;
    m->first_ts[1] = -1;
    m->last_kind_ts[0] = -1;
    m->last_kind_ts[1] = -1;
    m->last_ts = 0;
    m->width = 640;
    m->height = 480;

    return REC_OK;
}


void
rec_mux_video_size(rec_mux_t *m, unsigned width, unsigned height)
{
    if (!m->ready) {
        m->width = width;
        m->height = height;
        (void) rec_mux_start(m);
    }
}


static int
rec_mux_start(rec_mux_t *m)
{
    if (m->ready) {
        return REC_OK;
    }

    if (m->has[REC_MUX_AUDIO]) {
        m->track[REC_MUX_AUDIO] = rec_webm_add_opus(m->webm, 1,
                                                    REC_OPUS_PRE_SKIP);
        if (m->track[REC_MUX_AUDIO] == 0) {
            m->failed = 1;
            return REC_ERROR;
        }
    }

    if (m->has[REC_MUX_VIDEO]) {
        m->track[REC_MUX_VIDEO] = rec_webm_add_vp8(m->webm, m->width,
                                                   m->height);
        if (m->track[REC_MUX_VIDEO] == 0) {
            m->failed = 1;
            return REC_ERROR;
        }
    }

    m->ready = 1;

    return REC_OK;
}


int
rec_mux_add(rec_mux_t *m, int kind, const u_char *data, size_t len,
    int64_t ts, int64_t duration, int key)
{
    unsigned          i;
    rec_mux_frame_t  *f;

    if (m->failed || !m->has[kind]) {
        return REC_ERROR;
    }

    /* bounded memory: a full queue writes out its oldest frames early */

    while (m->nqueue == REC_MUX_MAX_QUEUE
           || (m->nqueue > 0 && m->queued_bytes + len > REC_MUX_MAX_BYTES))
    {
        if (!m->ready && rec_mux_start(m) != REC_OK) {
            return REC_ERROR;
        }

        if (rec_mux_emit(m, m->queue[0]->ts) != REC_OK) {
            return REC_ERROR;
        }
    }

    f = malloc(sizeof(rec_mux_frame_t) + len);
    if (f == NULL) {
        return REC_ERROR;
    }

    f->ts = ts < 0 ? 0 : ts;
    f->kind = kind;
    f->key = key;
    f->len = len;
    memcpy(f->data, data, len);

    /* insertion sort from the end: frames are nearly in order */

    for (i = m->nqueue; i > 0 && m->queue[i - 1]->ts > f->ts; i--) {
        m->queue[i] = m->queue[i - 1];
    }

    m->queue[i] = f;
    m->nqueue++;
    m->queued_bytes += len;

    if (f->ts > m->max_ts) {
        m->max_ts = f->ts;
    }

    if (m->first_ts[kind] < 0 || f->ts < m->first_ts[kind]) {
        m->first_ts[kind] = f->ts;
    }

    if (f->ts + duration > m->end_ts[kind]) {
        m->end_ts[kind] = f->ts + duration;
    }

    if (!m->ready) {
        if (m->has[REC_MUX_VIDEO]) {
            return REC_OK;      /* until the first keyframe */
        }

        if (rec_mux_start(m) != REC_OK) {
            return REC_ERROR;
        }
    }

    return rec_mux_emit(m, m->max_ts - REC_MUX_DELAY_NS);
}


static int
rec_mux_emit(rec_mux_t *m, int64_t upto)
{
    unsigned          i, n;
    int64_t           ts;
    rec_mux_frame_t  *f;

    for (n = 0; n < m->nqueue && m->queue[n]->ts <= upto; n++) {
        f = m->queue[n];

        /*
         * the muxer needs non-decreasing timestamps, a decoder strictly
         * increasing ones per track (a lip sync shift may move a track
         * back a little)
         */

        ts = f->ts < m->last_ts ? m->last_ts : f->ts;

        /* in whole TimecodeScale units, as the file stores them */

        ts -= ts % 1000000;

        if (m->last_kind_ts[f->kind] >= 0
            && ts <= m->last_kind_ts[f->kind])
        {
            ts = m->last_kind_ts[f->kind] + 1000000;
        }

        m->last_kind_ts[f->kind] = ts;

        if (!m->failed
            && rec_webm_write(m->webm, m->track[f->kind], f->data, f->len,
                              (uint64_t) ts, f->key) != 0)
        {
            rec_log(REC_LOG_ERR, "mux: write failed");
            m->failed = 1;
        }

        m->last_ts = ts;
        m->frames[f->kind]++;
        m->bytes += f->len;
        m->queued_bytes -= f->len;

        if (f->kind == REC_MUX_VIDEO && f->key) {
            m->keyframes++;
        }

        free(f);
    }

    for (i = n; i < m->nqueue; i++) {
        m->queue[i - n] = m->queue[i];
    }

    m->nqueue -= n;

    return m->failed ? REC_ERROR : REC_OK;
}


int
rec_mux_tick(rec_mux_t *m, int64_t now)
{
    if (!m->ready) {
        if (now - m->opened < REC_MUX_WAIT_MS || m->nqueue == 0) {
            return REC_OK;
        }

        if (rec_mux_start(m) != REC_OK) {
            return REC_ERROR;
        }
    }

    return rec_mux_emit(m, m->max_ts - REC_MUX_DELAY_NS);
}


int
rec_mux_close(rec_mux_t *m)
{
    int      rc;
    int64_t  end;

    rc = REC_OK;

    if (m->webm == NULL) {
        return REC_OK;
    }

    if (m->nqueue > 0) {
        if (rec_mux_start(m) != REC_OK) {
            rc = REC_ERROR;
        }

        if (rec_mux_emit(m, INT64_MAX) != REC_OK) {
            rc = REC_ERROR;
        }
    }

    end = m->end_ts[0] > m->end_ts[1] ? m->end_ts[0] : m->end_ts[1];

    if (end > 0) {
        rec_webm_set_duration(m->webm, (uint64_t) end);
    }

    if (rec_webm_close(m->webm) != 0) {
        rc = REC_ERROR;
    }

    m->webm = NULL;
    free(m->queue);
    m->queue = NULL;

    return rc;
}
