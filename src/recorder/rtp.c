/*
 * hotline-recorder: RTP header parser (RFC 3550) and demultiplexing.
 */

#include <string.h>

#include "rtp.h"


/* RFC 5761: RTCP packet types 192..223 share the byte with PT+M */

int
rec_rtp_is_rtcp(const u_char *p, size_t len)
{
    return len >= 2 && p[1] >= 192 && p[1] <= 223;
}


int
rec_rtp_parse(rec_rtp_t *rtp, const u_char *p, size_t len)
{
    size_t   off, ext, pad;
    unsigned cc;

    if (len < 12 || len > REC_RTP_MAX_PACKET || (p[0] >> 6) != 2) {
        return REC_ERROR;
    }

    cc = p[0] & 0x0f;
    off = 12 + cc * 4;

    if (off > len) {
        return REC_ERROR;
    }

    if (p[0] & 0x10) {
        if (off + 4 > len) {
            return REC_ERROR;
        }

        ext = ((size_t) p[off + 2] << 8 | p[off + 3]) * 4;
        off += 4 + ext;

        if (off > len) {
            return REC_ERROR;
        }
    }

    pad = 0;

    if (p[0] & 0x20) {
        pad = p[len - 1];

        if (pad == 0 || off + pad > len) {
            return REC_ERROR;
        }
    }

    rtp->marker = p[1] >> 7;
    rtp->pt = p[1] & 0x7f;
    rtp->seq = (uint16_t) (p[2] << 8 | p[3]);
    rtp->ts = (uint32_t) p[4] << 24 | (uint32_t) p[5] << 16
              | (uint32_t) p[6] << 8 | p[7];
    rtp->ssrc = (uint32_t) p[8] << 24 | (uint32_t) p[9] << 16
                | (uint32_t) p[10] << 8 | p[11];
    rtp->payload = p + off;
    rtp->payload_len = len - off - pad;

    return REC_OK;
}
