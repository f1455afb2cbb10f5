/*
 * hotline-recorder: reorder buffer indexed by RTP sequence number.
 *
 * A missing packet is waited for at most "latency" milliseconds after a
 * later packet arrived, or until the buffer is three quarters full; then
 * it is counted as lost and the packets after it are released.
 */

#include <stdlib.h>
#include <string.h>

#include "jitter.h"


#define REC_JB_MASK  (REC_JB_SIZE - 1)


void
rec_jitter_init(rec_jitter_t *jb, int64_t latency)
{
    memset(jb, 0, sizeof(rec_jitter_t));
    jb->latency = latency;
}


void
rec_jitter_reset(rec_jitter_t *jb)
{
    unsigned  i;

    for (i = 0; i < REC_JB_SIZE; i++) {
        free(jb->slot[i]);
        jb->slot[i] = NULL;
    }

    jb->count = 0;
    jb->started = 0;
}


int
rec_jitter_put(rec_jitter_t *jb, const rec_rtp_t *rtp, int64_t now,
    uint16_t *nack_first, unsigned *nack_n)
{
    int16_t        diff;
    rec_jb_pkt_t  *pkt;

    *nack_n = 0;

    if (!jb->started) {
        jb->started = 1;
        jb->next = rtp->seq;
        jb->highest = rtp->seq;
    }

    diff = (int16_t) (rtp->seq - jb->next);

    if (diff < 0) {
        return REC_DECLINED;        /* late or duplicate */
    }

    if (diff >= REC_JB_SIZE) {
        /* a jump (or a new sender): start over from this packet */
        rec_jitter_reset(jb);
        jb->started = 1;
        jb->next = rtp->seq;
        jb->highest = rtp->seq;
    }

    if (jb->slot[rtp->seq & REC_JB_MASK] != NULL) {
        return REC_DECLINED;
    }

    pkt = malloc(sizeof(rec_jb_pkt_t) + rtp->payload_len);
    if (pkt == NULL) {
        return REC_ERROR;
    }

    pkt->arrival = now;
    pkt->rtp = *rtp;
    pkt->len = rtp->payload_len;
    memcpy(pkt->data, rtp->payload, rtp->payload_len);
    pkt->rtp.payload = pkt->data;

    jb->slot[rtp->seq & REC_JB_MASK] = pkt;
    jb->count++;

    diff = (int16_t) (rtp->seq - jb->highest);

    if (diff > 0) {
        if (diff > 1) {
            *nack_first = (uint16_t) (jb->highest + 1);
            *nack_n = (unsigned) diff - 1;
        }

        jb->highest = rtp->seq;
    }

    return REC_OK;
}


rec_jb_pkt_t *
rec_jitter_get(rec_jitter_t *jb, int64_t now, unsigned *lost)
{
    unsigned       i;
    rec_jb_pkt_t  *pkt;

    *lost = 0;

    if (jb->count == 0) {
        return NULL;
    }

    pkt = jb->slot[jb->next & REC_JB_MASK];

    if (pkt == NULL) {
        for (i = 1; i < REC_JB_SIZE; i++) {
            pkt = jb->slot[(jb->next + i) & REC_JB_MASK];
            if (pkt != NULL) {
                break;
            }
        }

        if (pkt == NULL) {
            jb->count = 0;
            return NULL;
        }

        if (now >= 0 && now - pkt->arrival < jb->latency
            && jb->count < REC_JB_SIZE * 3 / 4)
        {
            return NULL;
        }

        *lost = i;
        jb->next = (uint16_t) (jb->next + i);
    }

    jb->slot[jb->next & REC_JB_MASK] = NULL;
    jb->next++;
    jb->count--;

    return pkt;
}
