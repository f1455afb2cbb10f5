/*
 * hotline-recorder: VP8 RTP depacketizer (RFC 7741).
 *
 * Packets come in sequence order from the jitter buffer; a frame starts at
 * a packet with S=1 and PID=0 and ends at the packet with the marker bit.
 * Any gap is reported by the caller through rec_vp8_reset().
 */

#include <stdlib.h>
#include <string.h>

#include "rtp.h"


void
rec_vp8_init(rec_vp8_t *vp8)
{
    memset(vp8, 0, sizeof(rec_vp8_t));
}


void
rec_vp8_free(rec_vp8_t *vp8)
{
    free(vp8->buf);
    memset(vp8, 0, sizeof(rec_vp8_t));
}


void
rec_vp8_reset(rec_vp8_t *vp8)
{
    vp8->active = 0;
    vp8->len = 0;
    vp8->key = 0;
}


static int
rec_vp8_append(rec_vp8_t *vp8, const u_char *p, size_t len)
{
    size_t   size;
    u_char  *nb;

    if (vp8->len + len > REC_VP8_MAX_FRAME) {
        return REC_ERROR;
    }

    if (vp8->len + len > vp8->size) {
        size = vp8->size ? vp8->size : 65536;

        while (size < vp8->len + len) {
            size *= 2;
        }

        nb = realloc(vp8->buf, size);
        if (nb == NULL) {
            return REC_ERROR;
        }

        vp8->buf = nb;
        vp8->size = size;
    }

    memcpy(vp8->buf + vp8->len, p, len);
    vp8->len += len;

    return REC_OK;
}


int
rec_vp8_push(rec_vp8_t *vp8, const rec_rtp_t *rtp)
{
    size_t         off, len;
    unsigned       start, pid;
    const u_char  *p;

    p = rtp->payload;
    len = rtp->payload_len;

    if (len < 1) {
        return REC_ERROR;
    }

    off = 1;

    if (p[0] & 0x80) {                    /* X */
        if (len < 2) {
            return REC_ERROR;
        }

        off = 2;

        if (p[1] & 0x80) {                /* I: picture id */
            if (off >= len) {
                return REC_ERROR;
            }

            off += (p[off] & 0x80) ? 2 : 1;
        }

        if (p[1] & 0x40) {                /* L: TL0PICIDX */
            off++;
        }

        if (p[1] & 0x30) {                /* T or K */
            off++;
        }
    }

    if (off >= len) {
        return REC_ERROR;
    }

    start = (p[0] >> 4) & 0x01;
    pid = p[0] & 0x07;

    if (start && pid == 0) {
        /* a new frame: anything unfinished is lost */

        rec_vp8_reset(vp8);
        vp8->active = 1;
        vp8->ts = rtp->ts;
        vp8->key = !(p[off] & 0x01);

        if (vp8->key) {
            if (len - off < 10 || p[off + 3] != 0x9d || p[off + 4] != 0x01
                || p[off + 5] != 0x2a)
            {
                rec_vp8_reset(vp8);
                return REC_ERROR;
            }

            vp8->width = (p[off + 6] | p[off + 7] << 8) & 0x3fff;
            vp8->height = (p[off + 8] | p[off + 9] << 8) & 0x3fff;

            if (vp8->width == 0 || vp8->height == 0) {
                rec_vp8_reset(vp8);
                return REC_ERROR;
            }
        }

    } else if (!vp8->active || rtp->ts != vp8->ts) {
        rec_vp8_reset(vp8);
        return REC_DECLINED;
    }

    if (rec_vp8_append(vp8, p + off, len - off) != REC_OK) {
        rec_vp8_reset(vp8);
        return REC_ERROR;
    }

    if (!rtp->marker) {
        return REC_AGAIN;
    }

    vp8->active = 0;

    return REC_OK;
}
