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


#ifdef __cplusplus
}
#endif


#endif /* _REC_WEBM_H_INCLUDED_ */
