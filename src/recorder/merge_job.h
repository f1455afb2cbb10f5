/*
 * hotline-recorder: the merge job (merge_run.c): a call's files, each
 * placed at its offset on the call's timeline, become one WebM: both
 * voices in one stereo Opus track (customer left, agent right,
 * merge_audio.c) and both videos side by side in one VP8 track
 * (merge_video.c).
 */

#ifndef _REC_MERGE_JOB_H_INCLUDED_
#define _REC_MERGE_JOB_H_INCLUDED_


#include "rec.h"
#include "webm.h"


#define REC_MERGE_LEFT       0          /* customer */
#define REC_MERGE_RIGHT      1          /* agent */

#define REC_MERGE_RATE       48000
#define REC_MERGE_FRAME      960        /* 20 ms of audio */
#define REC_MERGE_WIDTH      1280
#define REC_MERGE_HEIGHT     480
#define REC_MERGE_FPS        15


typedef struct rec_merge_audio_s  rec_merge_audio_t;
typedef struct rec_merge_video_s  rec_merge_video_t;


typedef struct {
    const char  *path;
    int          side;                  /* REC_MERGE_LEFT or _RIGHT */
    int64_t      offset_ns;             /* its time 0 on the call's */
} rec_merge_input_t;


/* NULL when no input has audio (video) */
rec_merge_audio_t *rec_merge_audio_open(rec_merge_input_t *in, unsigned n,
    unsigned *pre_skip);
/*
 * The next 20 ms stereo Opus frame of the call (at its index * 20 ms):
 * 1 a frame in buf, 0 every input is done, -1 an error.
 */
int rec_merge_audio_next(rec_merge_audio_t *a, u_char *buf, size_t size,
    size_t *len);
void rec_merge_audio_close(rec_merge_audio_t *a);

rec_merge_video_t *rec_merge_video_open(rec_merge_input_t *in, unsigned n);
/* the composed frame at t_ns, VP8: 1 a frame, 0 none, -1 an error */
int rec_merge_video_frame(rec_merge_video_t *v, int64_t t_ns,
    const u_char **data, size_t *len, int *key);
/* every input is done */
int rec_merge_video_done(rec_merge_video_t *v);
void rec_merge_video_close(rec_merge_video_t *v);


#endif /* _REC_MERGE_JOB_H_INCLUDED_ */
