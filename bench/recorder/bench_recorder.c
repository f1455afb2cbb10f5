/*
 * hotline-recorder benchmark.
 *
 *  1. media, in process: one participant's pre-built SRTP stream (see
 *     stream.c) is fed as fast as possible through the recorder's input
 *     path (SRTP unprotect, RTP parse, jitter
 *     buffer, depacketizers, interleaver, libwebm, disk) of N concurrent
 *     sessions; reports CPU ms per stream-second and streams per core.
 *  2. DTLS: full DTLS 1.2 + use_srtp handshakes against the recorder's
 *     server (fingerprint check, key export) per CPU second.
 *
 * usage: bench_recorder [SECONDS_OF_MEDIA] [SESSIONS] [HANDSHAKES]
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "metrics.h"
#include "session.h"
#include "stream.h"


rec_conf_t  rec_conf;


static double
cpu_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static bench_pkt_t  *pkts;
static size_t        npkts;


static void
bench_keys(rec_dtls_keys_t *k, int profile)
{
    memset(k, 0, sizeof(*k));
    k->profile = profile;
    k->len = profile == REC_SRTP_AEAD_AES_128_GCM ? 28 : 30;
    RAND_bytes(k->remote, sizeof(k->remote));
    RAND_bytes(k->local, sizeof(k->local));
}


static int
bench_media(unsigned seconds, unsigned nsess, int profile, const char *dir)
{
    size_t            i, len;
    double            t0, cpu;
    u_char            buf[1500 + SRTP_MAX_TRAILER_LEN];
    unsigned          j;
    srtp_t            tx;
    srtp_policy_t     pol;
    rec_session_t   **ss;
    rec_sdp_media_t   am, vm;
    rec_dtls_keys_t   keys;
    u_char          **enc;
    size_t           *enclen;
    uint64_t          bytes;

    bench_keys(&keys, profile);

    /* the publisher's side: protect every packet once (pre-recorded) */

    memset(&pol, 0, sizeof(pol));
    srtp_crypto_policy_set_from_profile_for_rtp(&pol.rtp,
        profile == REC_SRTP_AEAD_AES_128_GCM
        ? srtp_profile_aead_aes_128_gcm : srtp_profile_aes128_cm_sha1_80);
    srtp_crypto_policy_set_from_profile_for_rtcp(&pol.rtcp,
        profile == REC_SRTP_AEAD_AES_128_GCM
        ? srtp_profile_aead_aes_128_gcm : srtp_profile_aes128_cm_sha1_80);
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = keys.remote;
    pol.window_size = 1024;

    if (srtp_create(&tx, &pol) != srtp_err_status_ok) {
        return 1;
    }

    enc = malloc(npkts * sizeof(u_char *));
    enclen = malloc(npkts * sizeof(size_t));

    for (i = 0; i < npkts; i++) {
        int  n = (int) pkts[i].len;

        memcpy(buf, pkts[i].data, pkts[i].len);
        srtp_protect(tx, buf, &n);
        enc[i] = malloc((size_t) n);
        memcpy(enc[i], buf, (size_t) n);
        enclen[i] = (size_t) n;
    }

    srtp_dealloc(tx);

    memset(&am, 0, sizeof(am));
    am.pt = 111;
    am.clock = 48000;
    memset(&vm, 0, sizeof(vm));
    vm.pt = 96;
    vm.clock = 90000;

    ss = calloc(nsess, sizeof(rec_session_t *));

    for (j = 0; j < nsess; j++) {
        rec_session_t  *s = calloc(1, sizeof(rec_session_t));

        snprintf(s->id, sizeof(s->id), "bench%u", j);
        snprintf(s->call, sizeof(s->call), "bench");
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
        snprintf(s->file, sizeof(s->file), "bench-%u.webm", j);
        snprintf(s->path, sizeof(s->path), "%s/%s", dir, s->file);
        rec_track_init(&s->media.track[REC_MUX_AUDIO], REC_MUX_AUDIO, &am);
        rec_track_init(&s->media.track[REC_MUX_VIDEO], REC_MUX_VIDEO, &vm);
        s->media.id = s->id;
        s->media.send_rtcp = rec_session_send_rtcp;
        s->media.data = s;

        if (rec_srtp_create(&s->srtp, &keys) != REC_OK
            || rec_mux_open(&s->media.mux, s->path, 1, 1) != REC_OK)
        {
            return 1;
        }

        s->mux_open = 1;
        s->have_srtp = 1;
        s->state = REC_SESSION_SECURE;
        ss[j] = s;
    }

    /* every session receives the same stream, interleaved packet by packet
     * as concurrent streams would arrive */

    t0 = cpu_now();

    for (i = 0; i < npkts; i++) {
        for (j = 0; j < nsess; j++) {
            len = enclen[i];
            memcpy(buf, enc[i], len);
            rec_session_input(ss[j], buf, len);
        }
    }

    bytes = 0;

    for (j = 0; j < nsess; j++) {
        rec_session_end(ss[j], "bench");
        bytes += ss[j]->media.mux.bytes;
    }

    cpu = cpu_now() - t0;

    while (g_main_context_iteration(NULL, FALSE)) {
        /* void: run the session destroy handlers */
    }

    printf("media %s: %u sessions x %u s (audio+video), %zu packets each: "
           "cpu %.3f s, %.3f ms cpu per stream-second, %.0f streams per "
           "core; media bytes written %llu, packets lost %llu\n",
           profile == REC_SRTP_AEAD_AES_128_GCM ? "AES-128-GCM"
                                                 : "AES-CM-128-HMAC-SHA1-80",
           nsess, seconds, npkts, cpu, cpu * 1000 / (nsess * seconds),
           (nsess * seconds) / cpu,
           (unsigned long long) bytes,
           (unsigned long long) rec_metrics.packets_lost);

    for (i = 0; i < npkts; i++) {
        free(enc[i]);
    }

    free(enc);
    free(enclen);
    free(ss);

    return 0;
}


/* DTLS: a client SSL over memory BIOs against the recorder's server */

typedef struct {
    BIO   *to_client;
} bench_link_t;


static int
bench_send_to_client(void *data, const u_char *buf, size_t len)
{
    bench_link_t  *l = data;

    /* one datagram per write: deliver right away */
    BIO_write(l->to_client, buf, (int) len);

    return REC_OK;
}


static int
bench_dtls(unsigned n)
{
    int               rc, done;
    double            ts, server;
    u_char            fp[32], buf[4096];
    double            t0, cpu;
    unsigned          i, ok, k;
    SSL              *c;
    BIO              *crbio, *cwbio;
    SSL_CTX          *cctx, *sctx;
    rec_dtls_t       *d;
    const char       *reason, *f;
    bench_link_t      link;
    rec_dtls_keys_t   keys;

    sctx = rec_dtls_ctx();
    cctx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_use_certificate(cctx, SSL_CTX_get0_certificate(sctx));
    SSL_CTX_use_PrivateKey(cctx, SSL_CTX_get0_privatekey(sctx));
    SSL_CTX_set_tlsext_use_srtp(cctx, "SRTP_AEAD_AES_128_GCM:"
                                "SRTP_AES128_CM_SHA1_80");
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);

    f = rec_dtls_fingerprint();
    for (k = 0; k < 32; k++) {
        fp[k] = (u_char) strtoul(f + 3 * k, NULL, 16);
    }

    ok = 0;
    server = 0;
    t0 = cpu_now();

    for (i = 0; i < n; i++) {
        c = SSL_new(cctx);
        crbio = BIO_new(BIO_s_mem());
        cwbio = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(crbio, -1);
        BIO_set_mem_eof_return(cwbio, -1);
        SSL_set_bio(c, crbio, cwbio);
        SSL_set_connect_state(c);

        link.to_client = crbio;
        ts = cpu_now();
        d = rec_dtls_create(bench_send_to_client, &link, fp);
        server += cpu_now() - ts;
        done = 0;

        for (k = 0; k < 20 && done != 3; k++) {
            if (SSL_do_handshake(c) == 1) {
                done |= 1;
            }

            /* client datagrams: the memory BIO keeps record boundaries
             * per write only loosely, so hand over whole flights */
            while ((rc = BIO_read(cwbio, buf, sizeof(buf))) > 0) {
                int r;

                ts = cpu_now();
                r = rec_dtls_input(d, buf, (size_t) rc, &keys, &reason);
                server += cpu_now() - ts;

                if (r == REC_OK) {
                    done |= 2;

                } else if (r == REC_ERROR) {
                    fprintf(stderr, "dtls: %s\n", reason);
                    k = 100;
                    break;
                }
            }
        }

        if (done == 3) {
            ok++;
        }

        ts = cpu_now();
        rec_dtls_free(d);
        server += cpu_now() - ts;
        SSL_free(c);
    }

    cpu = cpu_now() - t0;

    printf("dtls: %u/%u handshakes (DTLS 1.2, ECDHE, ECDSA P-256, use_srtp, "
           "fingerprint check, key export): both sides %.3f s cpu; "
           "recorder side %.3f s cpu = %.0f handshakes per core-second\n",
           ok, n, cpu, server, ok / server);

    SSL_CTX_free(cctx);

    return ok == n ? 0 : 1;
}


int
main(int argc, char **argv)
{
    unsigned  seconds, nsess, nhs;
    char      dir[] = "/tmp/rec-bench-XXXXXX";
    char      cmd[256];
    int       rc;

    seconds = argc > 1 ? (unsigned) atoi(argv[1]) : 60;
    nsess = argc > 2 ? (unsigned) atoi(argv[2]) : 20;
    nhs = argc > 3 ? (unsigned) atoi(argv[3]) : 1000;

    rec_log_level = REC_LOG_WARN;
    rec_conf.idle_timeout = 30;

    if (mkdtemp(dir) == NULL || rec_dtls_init() != REC_OK
        || rec_srtp_init() != REC_OK || rec_sessions_init() != REC_OK)
    {
        fprintf(stderr, "init failed\n");
        return 1;
    }

    npkts = bench_stream_build(seconds, &pkts);

    rc = bench_media(seconds, nsess, REC_SRTP_AES128_CM_SHA1_80, dir);
    rc |= bench_media(seconds, nsess, REC_SRTP_AEAD_AES_128_GCM, dir);
    rc |= bench_dtls(nhs);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        rc = 1;
    }

    return rc;
}
