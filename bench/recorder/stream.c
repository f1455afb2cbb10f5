/*
 * hotline-recorder benchmark: the pre-built ("pre-recorded") RTP stream
 * of one participant.  Payloads are random bytes behind valid Opus TOC
 * bytes and VP8 payload descriptors / keyframe headers: the recorder does
 * not decode media, so their content does not change its cost.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <srtp2/srtp.h>

#include "stream.h"


static bench_pkt_t  *pkts;
static size_t        npkts, cap;


static void
add_pkt(unsigned ms, int pt, uint16_t seq, uint32_t ts, uint32_t ssrc,
    int marker, const u_char *payload, size_t len)
{
    u_char  *p;

    if (npkts == cap) {
        cap = cap ? cap * 2 : 4096;
        pkts = realloc(pkts, cap * sizeof(bench_pkt_t));
        if (pkts == NULL) {
            abort();
        }
    }

    p = malloc(12 + len + SRTP_MAX_TRAILER_LEN);
    if (p == NULL) {
        abort();
    }

    p[0] = 0x80;
    p[1] = (u_char) ((marker ? 0x80 : 0) | pt);
    p[2] = (u_char) (seq >> 8);
    p[3] = (u_char) seq;
    p[4] = (u_char) (ts >> 24);
    p[5] = (u_char) (ts >> 16);
    p[6] = (u_char) (ts >> 8);
    p[7] = (u_char) ts;
    p[8] = (u_char) (ssrc >> 24);
    p[9] = (u_char) (ssrc >> 16);
    p[10] = (u_char) (ssrc >> 8);
    p[11] = (u_char) ssrc;
    memcpy(p + 12, payload, len);

    pkts[npkts].data = p;
    pkts[npkts].len = 12 + len;
    pkts[npkts].ms = ms;
    npkts++;
}


size_t
bench_stream_build(unsigned seconds, bench_pkt_t **out)
{
    u_char    frame[60000], pl[1200];
    size_t    flen, off, n;
    unsigned  ms, f, key, next_video;
    uint16_t  aseq, vseq;

    aseq = 1000;
    vseq = 2000;
    f = 0;
    next_video = 0;
    RAND_bytes(frame, sizeof(frame));

    for (ms = 0; ms < seconds * 1000; ms++) {

        if (ms % 20 == 0) {
            pl[0] = 0x78;                      /* CELT FB 20 ms */
            RAND_bytes(pl + 1, 79);
            add_pkt(ms, BENCH_AUDIO_PT, aseq++, ms * 48, BENCH_AUDIO_SSRC,
                    0, pl, 80);
        }

        if (ms != next_video) {
            continue;
        }

        key = f % 90 == 0;
        flen = key ? 30000 : 4166;             /* ~1 Mbit/s at 30 fps */

        frame[0] = key ? 0x10 : 0x11;          /* P bit */
        if (key) {
            frame[3] = 0x9d;
            frame[4] = 0x01;
            frame[5] = 0x2a;
            frame[6] = 0x80;                   /* 640 */
            frame[7] = 0x02;
            frame[8] = 0xe0;                   /* 480 */
            frame[9] = 0x01;
        }

        for (off = 0; off < flen; off += n) {
            n = flen - off > 1097 ? 1097 : flen - off;
            pl[0] = off == 0 ? 0x90 : 0x80;    /* X, S for the first */
            pl[1] = 0x80;                      /* I: 7 bit picture id */
            pl[2] = (u_char) (f & 0x7f);
            memcpy(pl + 3, frame + off, n);
            add_pkt(ms, BENCH_VIDEO_PT, vseq++, f * 3000, BENCH_VIDEO_SSRC,
                    off + n == flen, pl, 3 + n);
        }

        f++;
        next_video = f * 1000 / 30;
    }

    *out = pkts;

    return npkts;
}
