/*
 * hotline-recorder: interleaving of one participant's audio and video
 * frames in timestamp order before they reach the WebM writer.
 *
 * Timestamps come from the tracks (RTP time, placed on one clock with
 * the sender reports) and are never changed here: frames wait until the
 * other track has caught up with them, and a frame that comes after the
 * file has moved past its time is dropped and counted, not re-stamped.
 */

#ifndef _REC_MUX_H_INCLUDED_
#define _REC_MUX_H_INCLUDED_


#include "rec.h"
#include "webm.h"


#define REC_MUX_AUDIO      0
#define REC_MUX_VIDEO      1

#define REC_MUX_KEY_WAIT   5000                /* ms for the first keyframe */
/*
 * ms for sender reports, once both tracks came: a sender on RFC 3550's
 * schedule (6.3.1: 5 s, times 0.5 to 1.5, over e - 3/2) reports a track
 * at most 6.2 s after it began to send it (GStreamer's rtpbin does so)
 */
#define REC_MUX_SYNC_WAIT  7000
#define REC_MUX_MARGIN     500                 /* ms a quiet track is
                                                  waited for */
#define REC_MUX_MAX_SPAN   (10000LL * 1000000) /* ns queued at most */
#define REC_MUX_MAX_QUEUE  2048
#define REC_MUX_MAX_BYTES  (32 * 1024 * 1024)  /* queued, per session */
#define REC_OPUS_PRE_SKIP  312


typedef struct {
    int64_t   ts;               /* ns */
    int64_t   duration;         /* ns */
    int       kind;
    int       key;
    size_t    len;
    u_char    data[];
} rec_mux_frame_t;


typedef struct {
    rec_webm_t        *webm;
    int                has[2];
    uint64_t           track[2];
    int                ready;           /* the file has started */
    int                have_key;
    int                need_sync;
    unsigned           width;
    unsigned           height;
    int64_t            first_add;       /* ms, -1: nothing yet */
    int64_t            kind_add[2];     /* ms, the first of each kind */

    rec_mux_frame_t  **queue;           /* sorted by ts */
    unsigned           nqueue;
    unsigned           nkind[2];
    size_t             queued_bytes;
    int64_t            max_ts;
    int64_t            add_ts[2];       /* the latest ts added, per kind */
    int64_t            add_time[2];     /* ms, when it was added */
    int64_t            last_ts;         /* written */
    int64_t            last_ms[2];      /* written, in file units */

    uint64_t           frames[2];
    uint64_t           late[2];         /* dropped: behind the file */
    uint64_t           keyframes;
    uint64_t           bytes;           /* frame payload written */
    uint64_t           file_bytes;      /* the file's size */
    int64_t            first_ts[2];     /* written, -1: none */
    int64_t            end_ts[2];
    int                failed;
} rec_mux_t;


int rec_mux_open(rec_mux_t *m, const char *path, int audio, int video);
/* the first keyframe's size; the file may start */
void rec_mux_keyframe(rec_mux_t *m, unsigned width, unsigned height);
/* the tracks are on one clock; the file may start */
void rec_mux_synced(rec_mux_t *m);
int rec_mux_add(rec_mux_t *m, int kind, const u_char *data, size_t len,
    int64_t ts, int64_t duration, int key, int64_t now);
/* moves the queued frames of one track (a clock correction) */
void rec_mux_shift(rec_mux_t *m, int kind, int64_t delta);
int rec_mux_tick(rec_mux_t *m, int64_t now);
int rec_mux_close(rec_mux_t *m);


#endif /* _REC_MUX_H_INCLUDED_ */
