/*
 * hotline-recorder: RTCP compound packet walker (sender reports) and
 * feedback messages (RFC 4585 PLI and generic NACK).
 */

#include <string.h>

#include "rtp.h"


#define rec_get32(p)                                                          \
    ((uint32_t) (p)[0] << 24 | (uint32_t) (p)[1] << 16                        \
     | (uint32_t) (p)[2] << 8 | (p)[3])

#define rec_put32(p, v)                                                       \
    (p)[0] = (u_char) ((v) >> 24); (p)[1] = (u_char) ((v) >> 16);             \
    (p)[2] = (u_char) ((v) >> 8); (p)[3] = (u_char) (v)


int
rec_rtcp_parse(const u_char *p, size_t len, rec_rtcp_sr_handler_pt h,
    void *data)
{
    size_t         plen;
    unsigned       n;
    rec_rtcp_sr_t  sr;

    if (len < 4 || len > REC_RTP_MAX_PACKET) {
        return REC_ERROR;
    }

    for (n = 0; len > 0; n++) {

        if (len < 4 || (p[0] >> 6) != 2 || n > 64) {
            return REC_ERROR;
        }

        plen = ((size_t) (p[2] << 8 | p[3]) + 1) * 4;

        if (plen > len) {
            return REC_ERROR;
        }

        if (p[1] == 200) {
            if (plen < 28) {
                return REC_ERROR;
            }

            sr.ssrc = rec_get32(p + 4);
            sr.ntp = (uint64_t) rec_get32(p + 8) << 32 | rec_get32(p + 12);
            sr.rtp_ts = rec_get32(p + 16);

            if (h != NULL) {
                h(data, &sr);
            }
        }

        p += plen;
        len -= plen;
    }

    return REC_OK;
}


size_t
rec_rtcp_pli(u_char *buf, uint32_t sender, uint32_t media)
{
    buf[0] = 0x80 | 1;          /* FMT 1: PLI */
    buf[1] = 206;               /* PSFB */
    buf[2] = 0;
    buf[3] = 2;
    rec_put32(buf + 4, sender);
    rec_put32(buf + 8, media);

    return 12;
}


size_t
rec_rtcp_nack(u_char *buf, uint32_t sender, uint32_t media, uint16_t pid,
    uint16_t blp)
{
    buf[0] = 0x80 | 1;          /* FMT 1: generic NACK */
    buf[1] = 205;               /* RTPFB */
    buf[2] = 0;
    buf[3] = 3;
    rec_put32(buf + 4, sender);
    rec_put32(buf + 8, media);
    buf[12] = (u_char) (pid >> 8);
    buf[13] = (u_char) pid;
    buf[14] = (u_char) (blp >> 8);
    buf[15] = (u_char) blp;

    return 16;
}


/* draft-alvestrand-rmcat-remb: the bitrate the sender may use */

size_t
rec_rtcp_remb(u_char *buf, uint32_t sender, uint32_t media, uint64_t bps)
{
    unsigned  exp;

    for (exp = 0; bps >= (1u << 18) && exp < 63; exp++) {
        bps >>= 1;
    }

    buf[0] = 0x80 | 15;         /* FMT 15: application layer feedback */
    buf[1] = 206;               /* PSFB */
    buf[2] = 0;
    buf[3] = 5;
    rec_put32(buf + 4, sender);
    rec_put32(buf + 8, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = 1;
    buf[17] = (u_char) (exp << 2 | (bps >> 16));
    buf[18] = (u_char) (bps >> 8);
    buf[19] = (u_char) bps;
    rec_put32(buf + 20, media);

    return 24;
}


/* RFC 3550 receiver report, at most 31 blocks */

size_t
rec_rtcp_rr(u_char *buf, uint32_t sender, const rec_rtcp_block_t *blocks,
    unsigned n)
{
    u_char    *p;
    unsigned   i;
    uint32_t   lost;

    n = n > 31 ? 31 : n;

    buf[0] = (u_char) (0x80 | n);
    buf[1] = 201;
    buf[2] = 0;
    buf[3] = (u_char) (1 + 6 * n);
    rec_put32(buf + 4, sender);

    p = buf + 8;

    for (i = 0; i < n; i++) {
        lost = (uint32_t) (blocks[i].lost > 0x7fffff ? 0x7fffff
                           : blocks[i].lost < -0x800000 ? -0x800000
                           : blocks[i].lost) & 0xffffff;

        rec_put32(p, blocks[i].ssrc);
        rec_put32(p + 4, (uint32_t) blocks[i].fraction << 24 | lost);
        rec_put32(p + 8, blocks[i].ext_seq);
        rec_put32(p + 12, blocks[i].jitter);
        rec_put32(p + 16, blocks[i].lsr);
        rec_put32(p + 20, blocks[i].dlsr);
        p += 24;
    }

    return (size_t) (p - buf);
}
