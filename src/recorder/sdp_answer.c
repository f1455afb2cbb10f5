/*
 * hotline-recorder: SDP answer (recvonly, BUNDLE, rtcp-mux, passive DTLS).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"


typedef struct {
    char    *buf;
    size_t   len;
    size_t   size;
    int      failed;
} rec_sdp_buf_t;


static void
rec_sdp_append(rec_sdp_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


static void
rec_sdp_append(rec_sdp_buf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    if (b->failed) {
        return;
    }

    va_start(ap, fmt);
    n = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
    va_end(ap);

    if (n < 0 || (size_t) n >= b->size - b->len) {
        b->failed = 1;
        return;
    }

    b->len += n;
}


char *
rec_sdp_build_answer(const rec_sdp_offer_t *offer,
    const rec_sdp_answer_params_t *p)
{
    unsigned                i, k;
    rec_sdp_buf_t           b;
    const rec_sdp_media_t  *m;

    b.size = 16384 + p->n_candidates * 256;
    b.len = 0;
    b.failed = 0;
    b.buf = malloc(b.size);

    if (b.buf == NULL) {
        return NULL;
    }

    rec_sdp_append(&b, "v=0\r\n"
                   "o=hotline-recorder %llu 1 IN IP4 127.0.0.1\r\n"
                   "s=-\r\n"
                   "t=0 0\r\n",
                   (unsigned long long) p->session_id);

    /*
     * the accepted sections of the offered BUNDLE group, each with port 9
     * and the transport attributes (a bundle-only section of the offer
     * included: RFC 8843 7.3, the answer never says bundle-only)
     */

    if (offer->has_bundle) {
        rec_sdp_append(&b, "a=group:BUNDLE");

        for (i = 0; i < offer->n_media; i++) {
            if (!offer->media[i].rejected) {
                rec_sdp_append(&b, " %s", offer->media[i].mid);
            }
        }

        rec_sdp_append(&b, "\r\n");
    }

    rec_sdp_append(&b, "a=msid-semantic: WMS\r\n");

    for (i = 0; i < offer->n_media; i++) {
        m = &offer->media[i];

        if (m->rejected) {
            rec_sdp_append(&b, "m=%s 0 %s %s\r\n"
                           "c=IN IP4 0.0.0.0\r\n"
                           "a=mid:%s\r\n"
                           "a=inactive\r\n",
                           m->kind == REC_SDP_AUDIO ? "audio"
                           : m->kind == REC_SDP_VIDEO ? "video"
                           : "application",
                           m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF",
                           m->fmts[0] ? m->fmts : "0", m->mid);
            continue;
        }

        rec_sdp_append(&b, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\n"
                       "c=IN IP4 0.0.0.0\r\n"
                       "a=rtcp:9 IN IP4 0.0.0.0\r\n"
                       "a=ice-ufrag:%s\r\n"
                       "a=ice-pwd:%s\r\n"
                       "a=fingerprint:sha-256 %s\r\n"
                       "a=setup:passive\r\n"
                       "a=mid:%s\r\n"
                       "a=recvonly\r\n"
                       "a=rtcp-mux\r\n"
                       "a=rtcp-rsize\r\n",
                       m->kind == REC_SDP_AUDIO ? "audio" : "video",
                       m->pt, p->ufrag, p->pwd, p->fingerprint, m->mid);

        if (m->kind == REC_SDP_AUDIO) {
            rec_sdp_append(&b, "a=rtpmap:%d opus/48000/2\r\n"
                           "a=fmtp:%d minptime=10;useinbandfec=1\r\n",
                           m->pt, m->pt);

        } else {
            rec_sdp_append(&b, "a=rtpmap:%d VP8/90000\r\n"
                           "a=rtcp-fb:%d goog-remb\r\n"
                           "a=rtcp-fb:%d nack\r\n"
                           "a=rtcp-fb:%d nack pli\r\n",
                           m->pt, m->pt, m->pt, m->pt);
        }

        for (k = 0; k < p->n_candidates; k++) {
            rec_sdp_append(&b, "a=%s\r\n", p->candidates[k]);
        }

        rec_sdp_append(&b, "a=end-of-candidates\r\n");
    }

    if (b.failed) {
        free(b.buf);
        return NULL;
    }

    return b.buf;
}
