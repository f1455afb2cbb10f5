/*
 * hotline-recorder: frames of both tracks wait in a queue sorted by
 * timestamp so that the muxer sees them in order.
 *
 * The file starts when the video size is known from a keyframe and both
 * tracks are on one clock (or after REC_MUX_KEY_WAIT / REC_MUX_SYNC_WAIT
 * without), so it never starts on a delta frame and clock corrections
 * made before it starts move whole tracks.  After that a frame is written
 * once the other track has caught up with it: a frame of its own with a
 * later timestamp is queued, or it has been quiet for REC_MUX_MARGIN
 * longer than the frame's time (camera off, DTX).  Timestamps are never
 * changed: a frame behind what was written is dropped and counted.
 */

#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "mux.h"


#define REC_MUX_EMIT_READY  0      /* what need not wait any more */
#define REC_MUX_EMIT_ONE    1      /* the oldest frame, to make room */
#define REC_MUX_EMIT_ALL    2      /* everything: the end */


static int rec_mux_start(rec_mux_t *m);
static int rec_mux_try_start(rec_mux_t *m, int64_t now);
static int rec_mux_waits(rec_mux_t *m, rec_mux_frame_t *f, int64_t now);
static void rec_mux_write(rec_mux_t *m, rec_mux_frame_t *f);
static int rec_mux_emit(rec_mux_t *m, int64_t now, int how);
static void rec_mux_sort(rec_mux_t *m);


int
rec_mux_open(rec_mux_t *m, const char *path, int audio, int video)
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
    m->need_sync = audio && video;
    m->first_add = -1;
    m->kind_add[0] = -1;
    m->kind_add[1] = -1;
    m->first_ts[0] = -1;
    m->first_ts[1] = -1;
    m->add_ts[0] = -1;
    m->add_ts[1] = -1;
    m->last_ms[0] = -1;
    m->last_ms[1] = -1;
    m->width = 640;
    m->height = 480;

    return REC_OK;
}


void
rec_mux_keyframe(rec_mux_t *m, unsigned width, unsigned height)
{
    if (!m->ready && !m->have_key) {
        m->width = width;
        m->height = height;
    }

    m->have_key = 1;
}


void
rec_mux_synced(rec_mux_t *m)
{
    m->need_sync = 0;
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


static int
rec_mux_try_start(rec_mux_t *m, int64_t now)
{
    if (m->ready) {
        return REC_OK;
    }

    if (m->nqueue == 0) {
        return REC_AGAIN;
    }

    if (m->has[REC_MUX_VIDEO] && !m->have_key
        && now - m->first_add < REC_MUX_KEY_WAIT)
    {
        return REC_AGAIN;
    }

    if (m->need_sync && m->kind_add[0] >= 0 && m->kind_add[1] >= 0
        && now - (m->kind_add[0] > m->kind_add[1] ? m->kind_add[0]
                                                  : m->kind_add[1])
           < REC_MUX_SYNC_WAIT)
    {
        return REC_AGAIN;
    }

    return rec_mux_start(m);
}


int
rec_mux_add(rec_mux_t *m, int kind, const u_char *data, size_t len,
    int64_t ts, int64_t duration, int key, int64_t now)
{
    unsigned          i;
    rec_mux_frame_t  *f;

    if (m->failed || !m->has[kind]) {
        return REC_ERROR;
    }

    /* bounded memory: a full queue writes out its oldest frames early */

    while (m->nqueue > 0
           && (m->nqueue == REC_MUX_MAX_QUEUE
               || m->queued_bytes + len > REC_MUX_MAX_BYTES))
    {
        if (rec_mux_start(m) != REC_OK
            || rec_mux_emit(m, now, REC_MUX_EMIT_ONE) != REC_OK)
        {
            return REC_ERROR;
        }
    }

    f = malloc(sizeof(rec_mux_frame_t) + len);
    if (f == NULL) {
        return REC_ERROR;
    }

    f->ts = ts;
    f->duration = duration;
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
    m->nkind[kind]++;
    m->queued_bytes += len;

    if (m->first_add < 0) {
        m->first_add = now;
    }

    if (m->kind_add[kind] < 0) {
        m->kind_add[kind] = now;
    }

    if (f->ts > m->max_ts) {
        m->max_ts = f->ts;
    }

    if (f->ts > m->add_ts[kind]) {
        m->add_ts[kind] = f->ts;
    }

    m->add_time[kind] = now;

    return rec_mux_tick(m, now);
}


/*
 * Whether f must wait for the other track: it has nothing queued (else
 * that frame is later than f, the queue is sorted), and either it never
 * sent anything and the file is younger than the margin, or its latest
 * frame plus the time since it came is not yet a margin past f.
 */

static int
rec_mux_waits(rec_mux_t *m, rec_mux_frame_t *f, int64_t now)
{
    int      k;
    int64_t  horizon;

    k = f->kind == REC_MUX_AUDIO ? REC_MUX_VIDEO : REC_MUX_AUDIO;

    if (!m->has[k] || m->nkind[k] > 0) {
        return 0;
    }

    if (m->add_ts[k] < 0) {
        return now - m->first_add < REC_MUX_MARGIN;
    }

    horizon = m->add_ts[k]
              + (now - m->add_time[k] - REC_MUX_MARGIN) * 1000000;

    return f->ts > horizon;
}


static void
rec_mux_write(rec_mux_t *m, rec_mux_frame_t *f)
{
    int64_t   ms;
    uint64_t  size;

    ms = f->ts / 1000000;

    /*
     * the file stores milliseconds: a frame behind what was written, or
     * in the same millisecond as the track's previous one, cannot be
     * written with its own time; it is dropped, never re-stamped
     */

    if (f->ts < 0 || f->ts < m->last_ts || ms <= m->last_ms[f->kind]) {
        m->late[f->kind]++;
        return;
    }

    if (m->failed) {
        return;
    }

    if (rec_webm_write(m->webm, m->track[f->kind], f->data, f->len,
                       (uint64_t) ms * 1000000, f->key) != 0)
    {
        rec_log(REC_LOG_ERR, "mux: write failed");
        m->failed = 1;
        return;
    }

    m->last_ts = f->ts;
    m->last_ms[f->kind] = ms;
    m->frames[f->kind]++;
    m->bytes += f->len;

    if (m->first_ts[f->kind] < 0) {
        m->first_ts[f->kind] = ms * 1000000;
    }

    m->end_ts[f->kind] = ms * 1000000 + f->duration;

    if (f->kind == REC_MUX_VIDEO && f->key) {
        m->keyframes++;
    }

    size = rec_webm_size(m->webm);
    rec_metrics.bytes_written += size - m->file_bytes;
    m->file_bytes = size;
}


static int
rec_mux_emit(rec_mux_t *m, int64_t now, int how)
{
    unsigned          i, n;
    rec_mux_frame_t  *f;

    for (n = 0; n < m->nqueue; n++) {
        f = m->queue[n];

        if (how == REC_MUX_EMIT_READY
            && f->ts + REC_MUX_MAX_SPAN > m->max_ts
            && rec_mux_waits(m, f, now))
        {
            break;
        }

        rec_mux_write(m, f);

        m->nkind[f->kind]--;
        m->queued_bytes -= f->len;
        free(f);

        if (how == REC_MUX_EMIT_ONE) {
            n++;
            break;          /* one frame to make room */
        }
    }

    for (i = n; i < m->nqueue; i++) {
        m->queue[i - n] = m->queue[i];
    }

    m->nqueue -= n;

    return m->failed ? REC_ERROR : REC_OK;
}


static void
rec_mux_sort(rec_mux_t *m)
{
    unsigned          i, j;
    rec_mux_frame_t  *f;

    for (i = 1; i < m->nqueue; i++) {
        f = m->queue[i];

        for (j = i; j > 0 && m->queue[j - 1]->ts > f->ts; j--) {
            m->queue[j] = m->queue[j - 1];
        }

        m->queue[j] = f;
    }
}


void
rec_mux_shift(rec_mux_t *m, int kind, int64_t delta)
{
    unsigned  i;

    for (i = 0; i < m->nqueue; i++) {
        if (m->queue[i]->kind == kind) {
            m->queue[i]->ts += delta;
        }

        if (m->queue[i]->ts > m->max_ts) {
            m->max_ts = m->queue[i]->ts;
        }
    }

    if (m->add_ts[kind] >= 0) {
        m->add_ts[kind] += delta;
    }

    rec_mux_sort(m);
}


int
rec_mux_tick(rec_mux_t *m, int64_t now)
{
    int  rc;

    if (m->failed) {
        return REC_ERROR;
    }

    rc = rec_mux_try_start(m, now);

    if (rc == REC_AGAIN) {
        return REC_OK;
    }

    if (rc != REC_OK) {
        return REC_ERROR;
    }

    return rec_mux_emit(m, now, REC_MUX_EMIT_READY);
}


int
rec_mux_close(rec_mux_t *m)
{
    int       rc;
    int64_t   end;
    uint64_t  size;
    unsigned  i;

    rc = REC_OK;

    if (m->webm == NULL) {
        return REC_OK;
    }

    if (m->nqueue > 0) {
        if (rec_mux_start(m) != REC_OK) {
            rc = REC_ERROR;
        }

        if (rec_mux_emit(m, 0, REC_MUX_EMIT_ALL) != REC_OK) {
            rc = REC_ERROR;
        }
    }

    for (i = 0; i < m->nqueue; i++) {
        free(m->queue[i]);
    }

    m->nqueue = 0;

    end = m->end_ts[0] > m->end_ts[1] ? m->end_ts[0] : m->end_ts[1];

    if (end > 0) {
        rec_webm_set_duration(m->webm, (uint64_t) end);
    }

    /* the cues and sizes written when finalizing count too */

    size = m->file_bytes;

    if (rec_webm_close(m->webm, &size) != 0) {
        rc = REC_ERROR;
    }

    if (size > m->file_bytes) {
        rec_metrics.bytes_written += size - m->file_bytes;
        m->file_bytes = size;
    }

    m->webm = NULL;
    free(m->queue);
    m->queue = NULL;

    return rc;
}
