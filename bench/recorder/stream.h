/*
 * hotline-recorder benchmark: one participant's pre-built RTP stream.
 */

#ifndef _BENCH_STREAM_H_INCLUDED_
#define _BENCH_STREAM_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>


#define BENCH_AUDIO_PT    111
#define BENCH_VIDEO_PT    96
#define BENCH_AUDIO_SSRC  0x1111
#define BENCH_VIDEO_SSRC  0x2222


typedef struct {
    u_char    *data;        /* plaintext RTP, room for the SRTP trailer */
    size_t     len;
    unsigned   ms;          /* send time */
} bench_pkt_t;


/* Opus 20 ms ~32 kbit/s + VP8 640x480 30 fps ~1 Mbit/s, keyframe every
 * 3 s, 1100 byte packets; returns the packet count */
size_t bench_stream_build(unsigned seconds, bench_pkt_t **pkts);


#endif /* _BENCH_STREAM_H_INCLUDED_ */
