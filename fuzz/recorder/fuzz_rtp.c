/*
 * libFuzzer target: RTP header parser, RTCP compound walker, Opus and VP8
 * depacketizers and the jitter buffer, fed a stream of packets cut from
 * the input (2 byte length prefixes).
 */

#include <stdlib.h>
#include <string.h>

#include "jitter.h"
#include "rtp.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
rec_fuzz_sr(void *data, const rec_rtcp_sr_t *sr)
{
    (void) sr;
    (*(unsigned *) data)++;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t         len;
    unsigned       srs, lost, n;
    uint16_t       first;
    int64_t        now;
    rec_rtp_t      rtp;
    rec_vp8_t      vp8;
    rec_jitter_t  *jb;
    rec_jb_pkt_t  *pkt;

    jb = malloc(sizeof(rec_jitter_t));
    if (jb == NULL) {
        return 0;
    }

    rec_jitter_init(jb, 100);
    rec_vp8_init(&vp8);
    srs = 0;
    now = 0;

    while (size >= 2) {
        len = (size_t) (data[0] << 8 | data[1]) % 1600;
        data += 2;
        size -= 2;

        if (len > size) {
            len = size;
        }

        now += 7;

        if (rec_rtp_is_rtcp(data, len)) {
            (void) rec_rtcp_parse(data, len, rec_fuzz_sr, &srs);

        } else if (rec_rtp_parse(&rtp, data, len) == REC_OK) {
            if (rtp.payload + rtp.payload_len > data + len) {
                abort();
            }

            (void) rec_opus_samples(rtp.payload, rtp.payload_len);
            (void) rec_opus_check(rtp.payload, rtp.payload_len);
            (void) rec_jitter_put(jb, &rtp, now, &first, &n);

            while ((pkt = rec_jitter_get(jb, now, &lost)) != NULL) {
                if (lost) {
                    rec_vp8_reset(&vp8);
                }

                if (rec_vp8_push(&vp8, &pkt->rtp) == REC_OK
                    && vp8.len > REC_VP8_MAX_FRAME)
                {
                    abort();
                }

                free(pkt);
            }
        }

        data += len;
        size -= len;
    }

    while ((pkt = rec_jitter_get(jb, -1, &lost)) != NULL) {
        free(pkt);
    }

    rec_jitter_reset(jb);
    rec_vp8_free(&vp8);
    free(jb);

    return 0;
}
