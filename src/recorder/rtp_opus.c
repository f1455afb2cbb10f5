/*
 * hotline-recorder: Opus RTP payload (RFC 7587): one Opus packet per RTP
 * packet; checked against the TOC rules of RFC 6716, section 3.
 */

#include "rtp.h"


static const unsigned  rec_opus_frame_samples[32] = {
    480, 960, 1920, 2880,      /* SILK NB */
    480, 960, 1920, 2880,      /* SILK MB */
    480, 960, 1920, 2880,      /* SILK WB */
    480, 960,                  /* Hybrid SWB */
    480, 960,                  /* Hybrid FB */
    120, 240, 480, 960,        /* CELT NB */
    120, 240, 480, 960,        /* CELT WB */
    120, 240, 480, 960,        /* CELT SWB */
    120, 240, 480, 960         /* CELT FB */
};


/* samples at 48 kHz in a packet, 0 if the packet is malformed */

unsigned
rec_opus_samples(const u_char *p, size_t len)
{
    unsigned  frames, samples;

    if (len < 1) {
        return 0;
    }

    switch (p[0] & 0x03) {

    case 0:
        frames = 1;
        break;

    case 1:
    case 2:
        frames = 2;
        break;

    default:
        if (len < 2) {
            return 0;
        }

        frames = p[1] & 0x3f;
        break;
    }

    samples = frames * rec_opus_frame_samples[p[0] >> 3];

    /* at most 120 ms per packet */

    if (frames == 0 || samples > 5760) {
        return 0;
    }

    return samples;
}


int
rec_opus_check(const u_char *p, size_t len)
{
    if (len == 0 || len > 1275 * 3 + 7) {
        return REC_ERROR;
    }

    return rec_opus_samples(p, len) ? REC_OK : REC_ERROR;
}
