/*
 * hotline-recorder unit tests (TAP): jitter buffer, VP8 and Opus
 * depacketizers, RTCP feedback packets, base64url, SDP answer, the call
 * check's answers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jitter.h"
#include "jwt.h"
#include "ngx_http_hotline_jwt_core.h"
#include "rtp.h"
#include "sdp.h"


static int  tests, failed;


#define ok(cond, name)                                                        \
    do {                                                                      \
        tests++;                                                              \
        if (cond) {                                                           \
            printf("ok %d - %s\n", tests, name);                              \
        } else {                                                              \
            failed++;                                                         \
            printf("not ok %d - %s\n", tests, name);                          \
        }                                                                     \
    } while (0)


static rec_rtp_t
mk(uint16_t seq, uint32_t ts, int marker, const u_char *p, size_t len)
{
    rec_rtp_t  r;

    memset(&r, 0, sizeof(r));
    r.seq = seq;
    r.ts = ts;
    r.marker = (uint8_t) marker;
    r.payload = p;
    r.payload_len = len;

    return r;
}


static void
test_jitter(void)
{
    u_char         p[1] = { 0 };
    unsigned       lost, n, i;
    uint16_t       first, order[8];
    rec_rtp_t      r;
    rec_jitter_t   jb;
    rec_jb_pkt_t  *pkt;

    rec_jitter_init(&jb, 50);

    /* 65534, 65535 (wrap) then 1 before 0 */

    r = mk(65534, 0, 0, p, 1);
    ok(rec_jitter_put(&jb, &r, 0, &first, &n) == REC_OK, "jb put first");
    r = mk(65535, 0, 0, p, 1);
    rec_jitter_put(&jb, &r, 1, &first, &n);
    r = mk(1, 0, 0, p, 1);
    rec_jitter_put(&jb, &r, 2, &first, &n);
    ok(n == 1 && first == 0, "jb reports the gap for NACK");
    r = mk(0, 0, 0, p, 1);
    rec_jitter_put(&jb, &r, 3, &first, &n);

    i = 0;
    while ((pkt = rec_jitter_get(&jb, 3, &lost)) != NULL && i < 8) {
        order[i++] = pkt->rtp.seq;
        free(pkt);
    }

    ok(i == 4 && order[0] == 65534 && order[1] == 65535 && order[2] == 0
       && order[3] == 1, "jb reorders across the wrap");

    r = mk(0, 0, 0, p, 1);
    ok(rec_jitter_put(&jb, &r, 4, &first, &n) == REC_DECLINED,
       "jb drops a late duplicate");

    /* a gap is waited for, then skipped */

    r = mk(3, 0, 0, p, 1);
    rec_jitter_put(&jb, &r, 10, &first, &n);
    ok(rec_jitter_get(&jb, 20, &lost) == NULL, "jb waits for a gap");
    pkt = rec_jitter_get(&jb, 61, &lost);
    ok(pkt != NULL && pkt->rtp.seq == 3 && lost == 1,
       "jb gives up after the latency and counts the loss");
    free(pkt);

    rec_jitter_reset(&jb);
}


static void
test_vp8(void)
{
    int        rc;
    rec_rtp_t  r;
    rec_vp8_t  v;
    u_char     k1[] = { 0x90, 0x80, 0x01, 0x10, 0x02, 0x00, 0x9d, 0x01,
                        0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa };
    u_char     k2[] = { 0x80, 0x80, 0x01, 0xbb, 0xcc };
    u_char     d1[] = { 0x10, 0x01, 0x02 };
    u_char     bad[] = { 0x90, 0x80, 0x01, 0x10, 0x02, 0x00, 0x00, 0x00 };

    rec_vp8_init(&v);

    r = mk(1, 100, 0, k1, sizeof(k1));
    ok(rec_vp8_push(&v, &r) == REC_AGAIN, "vp8 first packet of a frame");
    r = mk(2, 100, 1, k2, sizeof(k2));
    rc = rec_vp8_push(&v, &r);
    ok(rc == REC_OK && v.key && v.len == 11 + 2, "vp8 keyframe assembled");
    ok(v.width == 640 && v.height == 480, "vp8 keyframe size");

    r = mk(3, 200, 1, d1, sizeof(d1));
    rc = rec_vp8_push(&v, &r);
    ok(rc == REC_OK && !v.key && v.len == 2, "vp8 delta frame, no X byte");

    r = mk(5, 300, 1, k2, sizeof(k2));
    ok(rec_vp8_push(&v, &r) == REC_DECLINED,
       "vp8 continuation without a start is dropped");

    r = mk(6, 400, 1, bad, sizeof(bad));
    ok(rec_vp8_push(&v, &r) == REC_ERROR, "vp8 keyframe without start code");

    r = mk(7, 400, 1, k1, 2);
    ok(rec_vp8_push(&v, &r) == REC_ERROR, "vp8 truncated descriptor");

    rec_vp8_free(&v);
}


static void
test_rtp(void)
{
    u_char     pkt[64], buf[32];
    rec_rtp_t  r;

    memset(pkt, 0, sizeof(pkt));
    pkt[0] = 0x90 | 0x20 | 1;   /* X, P, CC=1 */
    pkt[1] = 0x80 | 111;
    pkt[3] = 7;
    /* csrc 12..15, extension header 16..19 with length 1, data 20..23 */
    pkt[18] = 0;
    pkt[19] = 1;
    pkt[40 - 1] = 4;            /* 4 padding bytes */

    ok(rec_rtp_parse(&r, pkt, 40) == REC_OK && r.marker && r.pt == 111
       && r.seq == 7 && r.payload == pkt + 24 && r.payload_len == 12,
       "rtp csrc, extension and padding");

    pkt[39] = 30;
    ok(rec_rtp_parse(&r, pkt, 40) == REC_ERROR, "rtp padding overflow");

    pkt[0] = 0x40;
    ok(rec_rtp_parse(&r, pkt, 40) == REC_ERROR, "rtp version 1 refused");

    ok(rec_rtcp_pli(buf, 1, 0x01020304) == 12 && buf[1] == 206
       && buf[0] == 0x81 && buf[11] == 4, "PLI layout");
    ok(rec_rtcp_nack(buf, 1, 2, 500, 3) == 16 && buf[1] == 205
       && buf[12] == 1 && buf[13] == 0xf4 && buf[15] == 3, "NACK layout");

    ok(rec_rtcp_remb(buf, 1, 0x0a0b0c0d, 1500000) == 24 && buf[0] == 0x8f
       && memcmp(buf + 12, "REMB", 4) == 0 && buf[16] == 1
       && (((uint32_t) (buf[17] & 3) << 16 | buf[18] << 8 | buf[19])
           << (buf[17] >> 2)) <= 1500000
       && (((uint32_t) (buf[17] & 3) << 16 | buf[18] << 8 | buf[19])
           << (buf[17] >> 2)) > 1490000
       && buf[23] == 0x0d, "REMB layout and 18 bit mantissa");

    {
        u_char            rr[64];
        rec_rtcp_block_t  b;

        memset(&b, 0, sizeof(b));
        b.ssrc = 0x11223344;
        b.fraction = 25;
        b.lost = -1;
        b.ext_seq = 0x00010005;
        b.lsr = 0xaabbccdd;
        b.dlsr = 65536;

        ok(rec_rtcp_rr(rr, 7, &b, 1) == 32 && rr[0] == 0x81
           && rr[1] == 201 && rr[3] == 7 && rr[8] == 0x11 && rr[12] == 25
           && rr[13] == 0xff && rr[15] == 0xff && rr[17] == 1
           && rr[19] == 5 && rr[24] == 0xaa && rr[29] == 1,
           "RR layout, negative cumulative loss in 24 bits");
        ok(rec_rtcp_parse(rr, 32, NULL, NULL) == REC_OK,
           "our RR parses as RTCP");
    }

    ok(rec_opus_samples((const u_char *) "\x78", 1) == 960,
       "opus 20 ms CELT FB");
    ok(rec_opus_samples((const u_char *) "\x7b\x03", 2) == 2880,
       "opus code 3, three frames");
    ok(rec_opus_samples((const u_char *) "\x7b", 1) == 0,
       "opus code 3 without count");
}


static void
test_b64(void)
{
    u_char  out[16];
    size_t  n;

#define b64(s)                                                                \
    (n = sizeof(out),                                                         \
     ngx_hotline_b64url_decode(out, &n, (const u_char *) s, sizeof(s) - 1))

    ok(b64("aGk") == NGX_HOTLINE_JWT_OK && n == 2 && memcmp(out, "hi", 2) == 0,
       "b64url decode");
    ok(b64("aGk=") != NGX_HOTLINE_JWT_OK, "b64url refuses padding");
    ok(b64("aGl") != NGX_HOTLINE_JWT_OK, "b64url refuses non-canonical bits");
    ok(b64("a+k") != NGX_HOTLINE_JWT_OK, "b64url refuses '+'");

#undef b64
}


/* offers as webrtcbin (max-bundle) and aiortc make them */

static const char  gst_offer[] =
    "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "a=ice-options:trickle\r\na=group:BUNDLE audio0 video1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\na=ice-ufrag:UzR86CwMf4u4YFCHZBa/vCqw+1XU+GKs\r\n"
    "a=ice-pwd:9UHV41+ekGPVhHBQBu9bK3t7JSvzdvMo\r\na=rtcp-mux\r\n"
    "a=sendonly\r\na=rtpmap:111 OPUS/48000/2\r\na=mid:audio0\r\n"
    "a=fingerprint:sha-256 48:FE:38:C2:0C:3F:EF:69:A4:B4:7C:0D:DF:E1:27:34:"
    "DD:1E:2D:85:5B:85:CD:00:72:FF:C9:81:6B:47:37:F0\r\n"
    "a=candidate:1 1 UDP 2015363327 127.0.0.1 53097 typ host\r\n"
    "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
    "a=setup:actpass\r\na=ice-ufrag:UzR86CwMf4u4YFCHZBa/vCqw+1XU+GKs\r\n"
    "a=ice-pwd:9UHV41+ekGPVhHBQBu9bK3t7JSvzdvMo\r\na=bundle-only\r\n"
    "a=rtcp-mux\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\na=mid:video1\r\n"
    "a=fingerprint:sha-256 48:FE:38:C2:0C:3F:EF:69:A4:B4:7C:0D:DF:E1:27:34:"
    "DD:1E:2D:85:5B:85:CD:00:72:FF:C9:81:6B:47:37:F0\r\n";

static const char  aio_offer[] =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 96 0\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\n"
    "a=mid:0\r\na=rtcp-mux\r\na=rtpmap:96 opus/48000/2\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=candidate:a 1 udp 2130706431 127.0.0.2 49160 typ host\r\n"
    "a=end-of-candidates\r\na=ice-ufrag:TzrY\r\n"
    "a=ice-pwd:NhxmVDPlXTEfMnWMV5jMKV\r\n"
    "a=fingerprint:sha-256 24:00:BA:5E:41:7D:71:C0:6E:E3:17:73:5A:75:3E:B5:"
    "66:43:6A:D3:BB:1E:4C:46:B3:98:47:D2:41:8B:36:91\r\na=setup:actpass\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 97 98\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\n"
    "a=mid:1\r\na=rtcp-mux\r\na=rtpmap:97 VP8/90000\r\n"
    "a=rtpmap:98 rtx/90000\r\n"
    "a=candidate:b 1 udp 2130706431 127.0.0.2 45592 typ host\r\n"
    "a=end-of-candidates\r\na=ice-ufrag:pczC\r\n"
    "a=ice-pwd:marzcOADeTdLQSsvVuHbfi\r\n"
    "a=fingerprint:sha-256 24:00:BA:5E:41:7D:71:C0:6E:E3:17:73:5A:75:3E:B5:"
    "66:43:6A:D3:BB:1E:4C:46:B3:98:47:D2:41:8B:36:91\r\na=setup:actpass\r\n";


static char *
answer(const rec_sdp_offer_t *o)
{
    const char               *cands[1] = { "candidate:1 1 UDP 1 127.0.0.1 "
                                           "9 typ host" };
    rec_sdp_answer_params_t   ap = { "abcd", "abcdefghijklmnopqrstuvwx",
                                     "00:11", cands, 1, 1 };

    return rec_sdp_build_answer(o, &ap);
}


static void
test_sdp(void)
{
    char              err[256], *a, *sdp;
    rec_sdp_offer_t  *o;

    o = malloc(sizeof(rec_sdp_offer_t));

    /* webrtcbin: video bundle-only with port 0, accepted with port 9 */

    ok(rec_sdp_parse_offer(o, gst_offer, sizeof(gst_offer) - 1, err,
                           sizeof(err)) == REC_OK, "webrtcbin offer parses");
    ok(!o->media[1].rejected && o->media[1].bundle_only,
       "bundle-only video section accepted");
    a = answer(o);
    ok(a != NULL && strstr(a, "a=group:BUNDLE audio0 video1\r\n") != NULL,
       "answer bundles both");
    ok(a != NULL && strstr(a, "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n") != NULL,
       "answer: video with port 9");
    ok(a != NULL && strstr(a, "bundle-only") == NULL,
       "answer never says bundle-only");
    ok(a != NULL && strstr(strstr(a, "m=video"), "a=fingerprint:") != NULL,
       "answer: the video section has a fingerprint");
    free(a);

    /* aiortc: a transport per section, the first one is used */

    ok(rec_sdp_parse_offer(o, aio_offer, sizeof(aio_offer) - 1, err,
                           sizeof(err)) == REC_OK,
       "aiortc offer (two ICE transports) parses");
    ok(strcmp(o->ufrag, "TzrY") == 0
       && strcmp(o->pwd, "NhxmVDPlXTEfMnWMV5jMKV") == 0,
       "the transport of the first bundled section");
    ok(o->n_candidates == 1 && strstr(o->candidates[0], " 49160 ") != NULL,
       "only that transport's candidates");
    ok(strcmp(o->mids, " 0 ") == 0, "its mid noted for trickle ICE");
    ok(!o->media[0].rejected && !o->media[1].rejected && o->media[1].pt == 97,
       "both sections accepted");

    sdp = "a=ice-ufrag:TzrY\r\na=mid:1\r\n"
          "a=candidate:c 1 udp 1 127.0.0.2 1 typ host\r\na=mid:0\r\n"
          "a=candidate:d 1 udp 1 127.0.0.2 2 typ host\r\n";
    ok(rec_sdp_parse_frag(o, sdp, strlen(sdp), " 0 ", err, sizeof(err))
       == REC_OK
       && o->n_candidates == 1 && strstr(o->candidates[0], "d 1") != NULL,
       "trickle: candidates of another transport left out");

    /* without BUNDLE: one section on one transport */

    sdp = strdup(aio_offer);
    memcpy(strstr(sdp, "a=group:BUNDLE 0 1"), "a=x-nobundle:0 1  ", 18);
    ok(rec_sdp_parse_offer(o, sdp, strlen(sdp), err, sizeof(err)) == REC_OK
       && !o->media[0].rejected && o->media[1].rejected,
       "no BUNDLE: the first section only");
    a = answer(o);
    ok(a != NULL && strstr(a, "a=group:BUNDLE") == NULL,
       "no BUNDLE offered, none answered");
    free(a);
    free(sdp);

    /* bundle-only outside the group is declined */

    sdp = strdup(gst_offer);
    memcpy(strstr(sdp, "video1\r\nm=audio") , "videoX", 6);
    ok(rec_sdp_parse_offer(o, sdp, strlen(sdp), err, sizeof(err)) == REC_OK
       && o->media[1].rejected, "bundle-only outside the group declined");
    free(sdp);

    free(o);
}


static void
test_check(void)
{
    rec_check_result_t  r;

#define answer(status, body)                                                  \
    rec_check_result(&r, status, body, sizeof(body) - 1)

    answer(200, "{\"call\":\"ab\",\"recording\":1}");
    ok(r.status == 200, "check: 200 goes on");

    answer(410, "{\"error\":\"call_ended\",\"message\":\"it ended\"}");
    ok(r.status == 410 && strcmp(r.error, "call_ended") == 0
       && strcmp(r.reason, "call_ended: it ended") == 0,
       "check: 410 passed on with the module's code and message");

    answer(429, "{\"error\":\"recording_limit\"}");
    ok(r.status == 429 && strcmp(r.error, "recording_limit") == 0
       && strstr(r.reason, "recording_limit: ") == r.reason,
       "check: 429 without a message");

    answer(401, "not json");
    ok(r.status == 401 && strcmp(r.error, "unauthorized") == 0,
       "check: 401 whatever its body");

    answer(410, "{\"error\":\"Bad Code\",\"message\":\"a\nb\"}");
    ok(r.status == 410 && strcmp(r.error, "call_ended") == 0
       && strchr(r.reason, '\n') == NULL,
       "check: a code or message that is not plain text is not taken");

    answer(410, "{\"error\":\"a\",\"error\":\"b\"}");
    ok(strcmp(r.error, "call_ended") == 0, "check: duplicate keys refused");

    answer(503, "{\"error\":\"unavailable\"}");
    ok(r.status == 503 && strcmp(r.error, "unavailable") == 0,
       "check: the store cannot say: 503 unavailable");

    answer(404, "<html>");
    ok(r.status == 503 && strcmp(r.error, "check_failed") == 0
       && strcmp(r.reason, "check_failed: the call check answered 404") == 0,
       "check: any other status is check_failed");

    answer(0, "");
    ok(r.status == 503 && strcmp(r.error, "check_failed") == 0,
       "check: no answer is check_failed");

#undef answer
}


int
main(void)
{
    test_jitter();
    test_vp8();
    test_rtp();
    test_b64();
    test_sdp();
    test_check();

    printf("1..%d\n", tests);

    return failed ? 1 : 0;
}
