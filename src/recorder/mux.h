/*
 * hotline-recorder: interleaving of one participant's audio and video
 * frames in timestamp order before they reach the WebM writer.
 */

#ifndef _REC_MUX_H_INCLUDED_
#define _REC_MUX_H_INCLUDED_


#include "rec.h"
#include "webm.h"


#define REC_MUX_AUDIO      0
#define REC_MUX_VIDEO      1

#define REC_MUX_DELAY_NS   (400LL * 1000000)   /* reorder window */
#define REC_MUX_WAIT_MS    5000                /* for the first keyframe */
#define REC_MUX_MAX_QUEUE  2048
#define REC_MUX_MAX_BYTES  (32 * 1024 * 1024)  /* queued, per session */
#define REC_OPUS_PRE_SKIP  312


typedef struct {
    int64_t   ts;               /* ns */
    int       kind;
    int       key;
    size_t    len;
    u_char    data[];
} rec_mux_frame_t;


typedef struct {
    rec_webm_t        *webm;
    int                has[2];
    uint64_t           track[2];
    int                ready;
    unsigned           width;
    unsigned           height;
    int64_t            opened;          /* ms */

    rec_mux_frame_t  **queue;
    unsigned           nqueue;
    size_t             queued_bytes;
    int64_t            max_ts;
    int64_t            last_ts;
    int64_t            last_kind_ts[2];

    uint64_t           frames[2];
    uint64_t           keyframes;
    uint64_t           bytes;
    int64_t            first_ts[2];
    int64_t            end_ts[2];
    int                failed;
} rec_mux_t;


int rec_mux_open(rec_mux_t *m, const char *path, int audio, int video,
    int64_t now);
void rec_mux_video_size(rec_mux_t *m, unsigned width, unsigned height);
int rec_mux_add(rec_mux_t *m, int kind, const u_char *data, size_t len,
    int64_t ts, int64_t duration, int key);
int rec_mux_tick(rec_mux_t *m, int64_t now);
int rec_mux_close(rec_mux_t *m);


#endif /* _REC_MUX_H_INCLUDED_ */
