/*
 * hotline-recorder: RTP and RTCP packets, Opus and VP8 depacketizers.
 */

#ifndef _REC_RTP_H_INCLUDED_
#define _REC_RTP_H_INCLUDED_


#include "rec.h"


#define REC_RTP_MAX_PACKET  1500


typedef struct {
    uint8_t         pt;
    uint8_t         marker;
    uint16_t        seq;
    uint32_t        ts;
    uint32_t        ssrc;
    const u_char   *payload;
    size_t          payload_len;
} rec_rtp_t;


typedef struct {
    uint32_t        ssrc;
    uint64_t        ntp;          /* 32.32 fixed point */
    uint32_t        rtp_ts;
} rec_rtcp_sr_t;


typedef struct {
    uint32_t        ssrc;
    uint8_t         fraction;     /* lost since the last report, /256 */
    int32_t         lost;         /* cumulative, 24 bits */
    uint32_t        ext_seq;      /* extended highest sequence number */
    uint32_t        jitter;
    uint32_t        lsr;          /* middle 32 bits of the last SR */
    uint32_t        dlsr;         /* 1/65536 s since that SR */
} rec_rtcp_block_t;


typedef void (*rec_rtcp_sr_handler_pt)(void *data, const rec_rtcp_sr_t *sr);


/* VP8 depacketizer state */

#define REC_VP8_MAX_FRAME   (4 * 1024 * 1024)

typedef struct {
    u_char         *buf;
    size_t          len;
    size_t          size;
    uint32_t        ts;
    int             active;        /* collecting a frame */
    int             key;
    unsigned        width;
    unsigned        height;
} rec_vp8_t;


int rec_rtp_is_rtcp(const u_char *p, size_t len);
int rec_rtp_parse(rec_rtp_t *rtp, const u_char *p, size_t len);
int rec_rtcp_parse(const u_char *p, size_t len, rec_rtcp_sr_handler_pt h,
    void *data);
size_t rec_rtcp_pli(u_char *buf, uint32_t sender, uint32_t media);
size_t rec_rtcp_rr(u_char *buf, uint32_t sender,
    const rec_rtcp_block_t *blocks, unsigned n);
size_t rec_rtcp_remb(u_char *buf, uint32_t sender, uint32_t media,
    uint64_t bps);
size_t rec_rtcp_nack(u_char *buf, uint32_t sender, uint32_t media,
    uint16_t pid, uint16_t blp);

int rec_opus_check(const u_char *p, size_t len);
unsigned rec_opus_samples(const u_char *p, size_t len);

void rec_vp8_init(rec_vp8_t *vp8);
void rec_vp8_free(rec_vp8_t *vp8);
void rec_vp8_reset(rec_vp8_t *vp8);
/*
 * Feeds one in-order packet.  Returns REC_OK when a complete frame is in
 * vp8->buf (vp8->len bytes, vp8->key), REC_AGAIN when more packets are
 * needed, REC_DECLINED for a packet that is dropped (no frame start seen),
 * REC_ERROR for a malformed packet.
 */
int rec_vp8_push(rec_vp8_t *vp8, const rec_rtp_t *rtp);


#endif /* _REC_RTP_H_INCLUDED_ */
