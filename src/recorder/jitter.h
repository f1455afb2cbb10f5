/*
 * hotline-recorder: per track reorder (jitter) buffer.
 */

#ifndef _REC_JITTER_H_INCLUDED_
#define _REC_JITTER_H_INCLUDED_


#include "rtp.h"


#define REC_JB_SIZE  512        /* power of two */


typedef struct {
    int64_t       arrival;      /* ms */
    rec_rtp_t     rtp;          /* payload points into data */
    size_t        len;
    u_char        data[];
} rec_jb_pkt_t;


typedef struct {
    rec_jb_pkt_t  *slot[REC_JB_SIZE];
    uint16_t       next;        /* next sequence number to hand out */
    uint16_t       highest;
    int            started;
    unsigned       count;
    int64_t        latency;     /* ms a gap is waited for */
} rec_jitter_t;


void rec_jitter_init(rec_jitter_t *jb, int64_t latency);
void rec_jitter_reset(rec_jitter_t *jb);
/*
 * Stores a copy; *nack_first and *nack_n describe newly detected missing
 * packets.  REC_DECLINED for late or duplicate packets.
 */
int rec_jitter_put(rec_jitter_t *jb, const rec_rtp_t *rtp, int64_t now,
    uint16_t *nack_first, unsigned *nack_n);
/*
 * Returns the next packet in order (to be free()d) or NULL; *lost tells how
 * many packets were given up on just before it.  now < 0 drains.
 */
rec_jb_pkt_t *rec_jitter_get(rec_jitter_t *jb, int64_t now, unsigned *lost);


#endif /* _REC_JITTER_H_INCLUDED_ */
