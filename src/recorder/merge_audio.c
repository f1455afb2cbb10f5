/*
 * hotline-recorder: the merged recording's audio.  Each input's Opus
 * frames are decoded (libopus) onto the call's timeline at their file
 * time plus the input's offset; the customer's go to the left channel,
 * the agent's to the right; every 20 ms of the call is encoded again as
 * one stereo Opus frame.  Gaps (DTX, a participant not there yet) are
 * silence.
 */

#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "merge_job.h"


#define REC_MERGE_RING      (REC_MERGE_RATE * 4)     /* samples, per side */
#define REC_MERGE_MAX_PKT   4000
#define REC_MERGE_BITRATE   64000


typedef struct {
    rec_webm_reader_t  *r;
    OpusDecoder        *dec;
    int                 side;
    int64_t             offset_ns;
    int                 done;
    int                 have;           /* a frame read, not decoded yet */
    int64_t             start;          /* its first sample, call time */
    size_t              len;
    u_char              data[REC_MERGE_MAX_PKT];
} rec_merge_ain_t;


struct rec_merge_audio_s {
    rec_merge_ain_t    *in;
    unsigned            n;
    OpusEncoder        *enc;
    int64_t             pos;            /* the next frame's first sample */
    int64_t             end;            /* past the last sample written */
    int16_t             ring[2][REC_MERGE_RING];
    int16_t             pcm[5760];
    int16_t             out[2 * REC_MERGE_FRAME];
};


/* the input's next audio frame, 0 at its end */

static int
rec_merge_audio_read(rec_merge_ain_t *i)
{
    int               rc;
    rec_webm_frame_t  f;

    while ((rc = rec_webm_read_next(i->r, &f)) == 1) {
        if (f.video || f.len == 0 || f.len > sizeof(i->data)) {
            continue;
        }

        memcpy(i->data, f.data, f.len);
        i->len = f.len;
        i->start = (i->offset_ns + (int64_t) f.ts_ns) * REC_MERGE_RATE
                   / 1000000000;
        i->have = 1;

        return 1;
    }

    return rc;
}


rec_merge_audio_t *
rec_merge_audio_open(rec_merge_input_t *in, unsigned n, unsigned *pre_skip)
{
    int                 err;
    unsigned            k;
    opus_int32          lookahead;
    rec_webm_info_t     info;
    rec_merge_audio_t  *a;
    rec_merge_ain_t    *i;

    a = calloc(1, sizeof(rec_merge_audio_t));
    if (a == NULL) {
        return NULL;
    }

    a->in = calloc(n, sizeof(rec_merge_ain_t));
    if (a->in == NULL) {
        free(a);
        return NULL;
    }

    for (k = 0; k < n; k++) {
        i = &a->in[a->n];
        i->r = rec_webm_read_open(in[k].path, &info);

        if (i->r == NULL || !info.has_audio) {
            rec_webm_read_close(i->r);
            continue;
        }

        i->dec = opus_decoder_create(REC_MERGE_RATE, 1, &err);
        if (i->dec == NULL) {
            rec_webm_read_close(i->r);
            continue;
        }

        i->side = in[k].side;
        i->offset_ns = in[k].offset_ns;
        a->n++;
    }

    if (a->n == 0) {
        rec_merge_audio_close(a);
        return NULL;
    }

    a->enc = opus_encoder_create(REC_MERGE_RATE, 2, OPUS_APPLICATION_VOIP,
                                 &err);
    if (a->enc == NULL) {
        rec_merge_audio_close(a);
        return NULL;
    }

    opus_encoder_ctl(a->enc, OPUS_SET_BITRATE(REC_MERGE_BITRATE));
    opus_encoder_ctl(a->enc, OPUS_GET_LOOKAHEAD(&lookahead));
    *pre_skip = (unsigned) lookahead;

    return a;
}


static void
rec_merge_audio_decode(rec_merge_audio_t *a, rec_merge_ain_t *i)
{
    int      n, k, v;
    int64_t  s;
    int16_t *slot;

    n = opus_decode(i->dec, i->data, (opus_int32) i->len, a->pcm, 5760, 0);

    for (k = 0; k < n; k++) {
        s = i->start + k;

        /* behind the frame already out (overlap), or impossibly far */
        if (s < a->pos || s >= a->pos + REC_MERGE_RING) {
            continue;
        }

        slot = &a->ring[i->side][s % REC_MERGE_RING];
        v = *slot + a->pcm[k];
        *slot = (int16_t) (v > 32767 ? 32767 : v < -32768 ? -32768 : v);

        if (s + 1 > a->end) {
            a->end = s + 1;
        }
    }
}


int
rec_merge_audio_next(rec_merge_audio_t *a, u_char *buf, size_t size,
    size_t *len)
{
    int               n, busy;
    int64_t           end, s;
    unsigned          k;
    rec_merge_ain_t  *i;

    end = a->pos + REC_MERGE_FRAME;
    busy = 0;

    for (k = 0; k < a->n; k++) {
        i = &a->in[k];

        while (!i->done) {
            if (!i->have) {
                n = rec_merge_audio_read(i);

                if (n < 0) {
                    return -1;
                }

                if (n == 0) {
                    i->done = 1;
                    break;
                }
            }

            if (i->start >= end) {
                break;              /* a later frame's */
            }

            rec_merge_audio_decode(a, i);
            i->have = 0;
        }

        busy |= !i->done;
    }

    if (!busy && a->pos >= a->end) {
        return 0;
    }

    for (s = a->pos; s < end; s++) {
        k = (unsigned) (s % REC_MERGE_RING);
        a->out[2 * (s - a->pos)] = a->ring[REC_MERGE_LEFT][k];
        a->out[2 * (s - a->pos) + 1] = a->ring[REC_MERGE_RIGHT][k];
        a->ring[REC_MERGE_LEFT][k] = 0;
        a->ring[REC_MERGE_RIGHT][k] = 0;
    }

    a->pos = end;

    n = opus_encode(a->enc, a->out, REC_MERGE_FRAME, buf, (opus_int32) size);
    if (n < 0) {
        return -1;
    }

    *len = (size_t) n;

    return 1;
}


void
rec_merge_audio_close(rec_merge_audio_t *a)
{
    unsigned  k;

    if (a == NULL) {
        return;
    }

    for (k = 0; k < a->n; k++) {
        rec_webm_read_close(a->in[k].r);
        opus_decoder_destroy(a->in[k].dec);
    }

    if (a->enc != NULL) {
        opus_encoder_destroy(a->enc);
    }

    free(a->in);
    free(a);
}
