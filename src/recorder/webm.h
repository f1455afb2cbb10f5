/*
 * hotline-recorder: C API of the libwebm (mkvmuxer) shim.
 */

#ifndef _REC_WEBM_H_INCLUDED_
#define _REC_WEBM_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#ifdef __cplusplus
extern "C" {
#endif


typedef struct rec_webm_s  rec_webm_t;
typedef struct rec_webm_reader_s  rec_webm_reader_t;


typedef struct {
    int        has_audio;       /* an Opus track */
    int        has_video;       /* a VP8 track */
    unsigned   channels;
    unsigned   width;
    unsigned   height;
} rec_webm_info_t;


typedef struct {
    int                   video;
    int                   key;
    uint64_t              ts_ns;
    const unsigned char  *data;     /* valid until the next call */
    size_t                len;
} rec_webm_frame_t;


rec_webm_t *rec_webm_open(const char *path);
/* returns the track number (> 0) or 0 on error */
uint64_t rec_webm_add_opus(rec_webm_t *w, unsigned channels,
    unsigned pre_skip);
uint64_t rec_webm_add_vp8(rec_webm_t *w, unsigned width, unsigned height);
int rec_webm_write(rec_webm_t *w, uint64_t track, const unsigned char *data,
    size_t len, uint64_t ts_ns, int key);
int rec_webm_flush(rec_webm_t *w);
/* bytes in the file so far (the highest position written) */
uint64_t rec_webm_size(rec_webm_t *w);
/* the segment duration written when finalizing */
void rec_webm_set_duration(rec_webm_t *w, uint64_t ns);
/* finalizes (duration, cues) and frees; returns 0 or -1, *size the file's */
int rec_webm_close(rec_webm_t *w, uint64_t *size);


/* webm_read.cc: the Opus and VP8 frames of a file, in file order */
rec_webm_reader_t *rec_webm_read_open(const char *path,
    rec_webm_info_t *info);
/* 1: a frame, 0: the end (or where a killed writer stopped), -1: error */
int rec_webm_read_next(rec_webm_reader_t *r, rec_webm_frame_t *f);
void rec_webm_read_close(rec_webm_reader_t *r);


#ifdef __cplusplus
}
#endif


#endif /* _REC_WEBM_H_INCLUDED_ */
