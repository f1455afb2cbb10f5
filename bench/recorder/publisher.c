/*
 * hotline-recorder benchmark: N synthetic WHIP publishers built from the
 * same libraries as the recorder (libnice full ICE as the controlling
 * agent, OpenSSL DTLS client with use_srtp, libsrtp2) send the pre-built
 * stream of stream.c at real-time rate to a running recorder over
 * loopback; the recorder's CPU time (from /proc/PID/stat) over the
 * streaming window gives CPU per stream-second and streams per core.
 *
 * usage: publisher URL SECRET_FILE RECORDER_PID STREAMS SECONDS
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <agent.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <srtp2/srtp.h>

#include "ngx_http_hotline_jwt_core.h"
#include "stream.h"


typedef struct {
    unsigned     idx;
    NiceAgent   *agent;
    guint        stream;
    SSL         *ssl;
    BIO         *rbio;
    BIO         *wbio;
    srtp_t       tx;
    int          secure;
    int          failed;
    char         location[256];
    char         token[1024];
    size_t       next;
    int64_t      start;
    uint64_t     sent;
} pub_t;


static SSL_CTX      *ctx;
static char          fingerprint[100];
static bench_pkt_t  *pkts;
static size_t        npkts;
static pub_t        *pubs;
static unsigned      npubs, seconds;
static int           streaming;
static int64_t       stream_end;


static void
die(const char *msg)
{
    fprintf(stderr, "publisher: %s\n", msg);
    exit(1);
}


static void
mint_token(pub_t *p, const u_char *secret, size_t slen)
{
    char  claims[256];
    int   n;

    n = snprintf(claims, sizeof(claims),
                 "{\"call\":\"bench-%u\",\"role\":\"customer\",\"exp\":%ld}",
                 p->idx, (long) time(NULL) + 3600);

    (void) ngx_hotline_jwt_sign((const u_char *) claims, (size_t) n, secret,
                                slen, (u_char *) p->token, sizeof(p->token));
}


static void
make_cert(void)
{
    u_char      md[EVP_MAX_MD_SIZE];
    unsigned    i, n;
    X509       *x;
    EVP_PKEY   *k;
    X509_NAME  *name;

    k = EVP_EC_gen("P-256");
    x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const u_char *) "bench", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, k, EVP_sha256());

    ctx = SSL_CTX_new(DTLS_client_method());
    if (ctx == NULL || SSL_CTX_use_certificate(ctx, x) != 1
        || SSL_CTX_use_PrivateKey(ctx, k) != 1
        || SSL_CTX_set_tlsext_use_srtp(ctx, getenv("BENCH_SRTP_PROFILE")
                                       ? getenv("BENCH_SRTP_PROFILE")
                                       : "SRTP_AEAD_AES_128_GCM:"
                                         "SRTP_AES128_CM_SHA1_80") != 0)
    {
        die("SSL_CTX");
    }

    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);

    X509_digest(x, EVP_sha256(), md, &n);
    for (i = 0; i < n; i++) {
        snprintf(fingerprint + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
    }

    X509_free(x);
    EVP_PKEY_free(k);
}


/* blocking HTTP/1.0 exchange; returns the status, body in *body */

static int
http(const char *url, const char *method, const char *path,
    const char *token, const char *body, char *resp, size_t size,
    char *location, size_t lsize)
{
    int                 fd, port, status;
    char                host[64], req[16384];
    ssize_t             n;
    size_t              got;
    const char         *p, *b;
    struct sockaddr_in  sa;

    if (sscanf(url, "http://%63[^:]:%d", host, &port) != 2) {
        die("bad url");
    }

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    inet_pton(AF_INET, host, &sa.sin_addr);

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        die("connect");
    }

    n = snprintf(req, sizeof(req),
                 "%s %s HTTP/1.0\r\nHost: %s\r\n"
                 "Authorization: Bearer %s\r\n"
                 "Content-Type: application/sdp\r\n"
                 "Content-Length: %zu\r\n\r\n%s",
                 method, path, host, token, body ? strlen(body) : 0,
                 body ? body : "");

    if (write(fd, req, (size_t) n) != n) {
        die("write");
    }

    got = 0;

    while (got < size - 1
           && (n = read(fd, resp + got, size - 1 - got)) > 0)
    {
        got += (size_t) n;
    }

    resp[got] = '\0';
    close(fd);

    status = 0;
    sscanf(resp, "HTTP/1.%*d %d", &status);

    if (location != NULL) {
        location[0] = '\0';
        p = strstr(resp, "\r\nLocation: ");
        if (p != NULL) {
            sscanf(p + 12, "%255[^\r]", location);
        }
        (void) lsize;
    }

    b = strstr(resp, "\r\n\r\n");
    if (b != NULL) {
        memmove(resp, b + 4, strlen(b + 4) + 1);
    }

    return status;
}


static void
flush_dtls(pub_t *p)
{
    int     n;
    u_char  buf[4096];

    while ((n = BIO_read(p->wbio, buf, sizeof(buf))) > 0) {
        nice_agent_send(p->agent, p->stream, 1, (guint) n,
                        (const gchar *) buf);
    }
}


static const char  *profile_name = "?";


static void
secure(pub_t *p)
{
    int                       gcm;
    size_t                    kl, sl;
    u_char                    km[60], key[30];
    srtp_policy_t             pol;
    SRTP_PROTECTION_PROFILE  *prof;

    prof = SSL_get_selected_srtp_profile(p->ssl);
    if (prof == NULL) {
        die("no SRTP profile");
    }

    gcm = prof->id == SRTP_AEAD_AES_128_GCM;
    profile_name = gcm ? "AES-128-GCM" : "AES-CM-128-HMAC-SHA1-80";
    kl = 16;
    sl = gcm ? 12 : 14;

    if (SSL_export_keying_material(p->ssl, km, 2 * (kl + sl),
                                   "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0)
        != 1)
    {
        die("export");
    }

    /* client: our key is the first one, our salt the first salt */
    memcpy(key, km, kl);
    memcpy(key + kl, km + 2 * kl, sl);

    memset(&pol, 0, sizeof(pol));
    srtp_crypto_policy_set_from_profile_for_rtp(&pol.rtp,
        gcm ? srtp_profile_aead_aes_128_gcm : srtp_profile_aes128_cm_sha1_80);
    srtp_crypto_policy_set_from_profile_for_rtcp(&pol.rtcp,
        gcm ? srtp_profile_aead_aes_128_gcm : srtp_profile_aes128_cm_sha1_80);
    pol.ssrc.type = ssrc_any_outbound;
    pol.key = key;
    pol.window_size = 1024;

    if (srtp_create(&p->tx, &pol) != srtp_err_status_ok) {
        die("srtp_create");
    }

    p->secure = 1;
}


static void
on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf,
    gpointer data)
{
    pub_t  *p = data;

    (void) agent;
    (void) stream;
    (void) comp;

    if (len > 0 && (u_char) buf[0] >= 20 && (u_char) buf[0] <= 63) {
        BIO_write(p->rbio, buf, (int) len);

        if (!p->secure) {
            if (SSL_do_handshake(p->ssl) == 1) {
                secure(p);
            }

            flush_dtls(p);
        }
    }

    /* RTCP feedback (PLI, NACK) is ignored: the stream is pre-recorded */
}


static void
on_state(NiceAgent *agent, guint stream, guint comp, guint state,
    gpointer data)
{
    pub_t  *p = data;

    (void) agent;
    (void) stream;
    (void) comp;

    if (state == NICE_COMPONENT_STATE_READY && p->ssl == NULL) {
        p->ssl = SSL_new(ctx);
        p->rbio = BIO_new(BIO_s_mem());
        p->wbio = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(p->rbio, -1);
        SSL_set_bio(p->ssl, p->rbio, p->wbio);
        SSL_set_connect_state(p->ssl);
        SSL_do_handshake(p->ssl);
        flush_dtls(p);

    } else if (state == NICE_COMPONENT_STATE_FAILED) {
        p->failed = 1;
    }
}


static void
start(pub_t *p, const char *url, const char *path)
{
    char          offer[8192], resp[16384], *line, *save, *sdp;
    gchar        *ufrag, *pwd;
    GSList       *cands, *l, *remote;
    size_t        n;
    NiceAddress   addr;
    NiceCandidate *c;

    p->agent = nice_agent_new(g_main_context_default(),
                              NICE_COMPATIBILITY_RFC5245);
    g_object_set(p->agent, "controlling-mode", TRUE, "upnp", FALSE,
                 "ice-tcp", FALSE, NULL);
    nice_address_init(&addr);
    nice_address_set_from_string(&addr, "127.0.0.1");
    nice_agent_add_local_address(p->agent, &addr);
    p->stream = nice_agent_add_stream(p->agent, 1);
    g_signal_connect(p->agent, "component-state-changed",
                     G_CALLBACK(on_state), p);
    nice_agent_attach_recv(p->agent, p->stream, 1, g_main_context_default(),
                           on_recv, p);
    nice_agent_gather_candidates(p->agent, p->stream);
    nice_agent_get_local_credentials(p->agent, p->stream, &ufrag, &pwd);

    n = (size_t) snprintf(offer, sizeof(offer),
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "a=group:BUNDLE 0 1\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
        "a=fingerprint:sha-256 %s\r\na=setup:actpass\r\na=mid:0\r\n"
        "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n",
        ufrag, pwd, fingerprint);

    cands = nice_agent_get_local_candidates(p->agent, p->stream, 1);
    for (l = cands; l != NULL; l = l->next) {
        sdp = nice_agent_generate_local_candidate_sdp(p->agent, l->data);
        n += (size_t) snprintf(offer + n, sizeof(offer) - n, "%s\r\n", sdp);
        g_free(sdp);
    }
    g_slist_free_full(cands, (GDestroyNotify) nice_candidate_free);

    snprintf(offer + n, sizeof(offer) - n,
             "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
             "a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\n"
             "a=rtpmap:96 VP8/90000\r\n");

    if (http(url, "POST", path, p->token, offer, resp, sizeof(resp),
             p->location, sizeof(p->location)) != 201)
    {
        fprintf(stderr, "%s\n", resp);
        die("POST not answered 201");
    }

    g_free(ufrag);
    g_free(pwd);

    /* the answer: credentials and candidates of the bundle transport */

    ufrag = NULL;
    pwd = NULL;
    remote = NULL;

    for (line = strtok_r(resp, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save))
    {
        if (strncmp(line, "a=ice-ufrag:", 12) == 0 && ufrag == NULL) {
            ufrag = g_strdup(line + 12);

        } else if (strncmp(line, "a=ice-pwd:", 10) == 0 && pwd == NULL) {
            pwd = g_strdup(line + 10);

        } else if (strncmp(line, "a=candidate:", 12) == 0) {
            c = nice_agent_parse_remote_candidate_sdp(p->agent, p->stream,
                                                      line);
            if (c != NULL) {
                remote = g_slist_append(remote, c);
            }
        }
    }

    if (ufrag == NULL || pwd == NULL || remote == NULL) {
        die("bad answer");
    }

    nice_agent_set_remote_credentials(p->agent, p->stream, ufrag, pwd);
    nice_agent_set_remote_candidates(p->agent, p->stream, 1, remote);
    g_slist_free_full(remote, (GDestroyNotify) nice_candidate_free);
    g_free(ufrag);
    g_free(pwd);
}


static int64_t
now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}


static gboolean
tick(gpointer data)
{
    int           len;
    u_char        buf[1600];
    int64_t       t;
    unsigned      i;
    pub_t        *p;
    bench_pkt_t  *k;

    (void) data;

    t = now_ms();

    for (i = 0; i < npubs; i++) {
        p = &pubs[i];

        if (p->ssl != NULL && !p->secure) {
            DTLSv1_handle_timeout(p->ssl);
            flush_dtls(p);
        }

        if (!streaming || !p->secure) {
            continue;
        }

        if (p->start == 0) {
            p->start = t;
        }

        while (p->next < npkts && pkts[p->next].ms <= t - p->start) {
            k = &pkts[p->next++];
            memcpy(buf, k->data, k->len);
            buf[11] = (u_char) (buf[11] + i);      /* distinct SSRCs */
            len = (int) k->len;

            if (srtp_protect(p->tx, buf, &len) == srtp_err_status_ok) {
                nice_agent_send(p->agent, p->stream, 1, (guint) len,
                                (const gchar *) buf);
                p->sent++;
            }
        }
    }

    return G_SOURCE_CONTINUE;
}


static double
proc_cpu(long pid)
{
    char                buf[2048], path[64], *s;
    FILE               *f;
    unsigned long long  ut, st;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        die("cannot read the recorder's /proc stat");
    }

    fclose(f);
    s = strrchr(buf, ')');

    if (s == NULL || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                            "%*u %*u %llu %llu", &ut, &st) != 2)
    {
        die("bad /proc stat");
    }

    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}


static long
proc_rss_kb(long pid)
{
    char   buf[256], path[64];
    long   kb;
    FILE  *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    kb = -1;

    while (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
        if (sscanf(buf, "VmRSS: %ld kB", &kb) == 1) {
            break;
        }
    }

    if (f != NULL) {
        fclose(f);
    }

    return kb;
}


static double
self_cpu(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    char           path[256], resp[4096], secret[512], *q;
    FILE          *f;
    size_t         slen;
    long           pid, rss0, rss1;
    double         c0, c1, s0, s1, wall;
    int64_t        deadline, t0;
    unsigned       i, ready, ok;
    uint64_t       sent;

    if (argc != 6) {
        die("usage: publisher URL SECRET_FILE RECORDER_PID STREAMS SECONDS");
    }

    npubs = (unsigned) atoi(argv[4]);
    seconds = (unsigned) atoi(argv[5]);
    pid = atol(argv[3]);

    f = fopen(argv[2], "r");
    if (f == NULL) {
        die("secret file");
    }
    slen = fread(secret, 1, sizeof(secret), f);
    fclose(f);
    while (slen > 0 && (secret[slen - 1] == '\n' || secret[slen - 1] == '\r'))
    {
        slen--;
    }

    /* URL is http://host:port/prefix */
    q = strchr(argv[1] + 7, '/');
    snprintf(path, sizeof(path), "%s", q ? q : "/whip");

    srtp_init();
    make_cert();
    npkts = bench_stream_build(seconds, &pkts);

    pubs = calloc(npubs, sizeof(pub_t));
    rss0 = proc_rss_kb(pid);

    for (i = 0; i < npubs; i++) {
        pubs[i].idx = i;
        mint_token(&pubs[i], (u_char *) secret, slen);
        start(&pubs[i], argv[1], path);
    }

    g_timeout_add(5, tick, NULL);

    deadline = now_ms() + 30000;
    ready = 0;

    while (ready < npubs && now_ms() < deadline) {
        g_main_context_iteration(NULL, TRUE);

        for (ready = 0, i = 0; i < npubs; i++) {
            ready += pubs[i].secure;
        }
    }

    if (ready < npubs) {
        fprintf(stderr, "publisher: only %u of %u connected\n", ready, npubs);
        return 1;
    }

    /* stream for SECONDS at real-time rate */

    c0 = proc_cpu(pid);
    s0 = self_cpu();
    t0 = now_ms();
    streaming = 1;
    stream_end = t0 + (int64_t) seconds * 1000 + 100;

    while (now_ms() < stream_end) {
        g_main_context_iteration(NULL, TRUE);
    }

    /* let the recorder drain what is in flight */
    deadline = now_ms() + 300;
    while (now_ms() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }

    c1 = proc_cpu(pid);
    s1 = self_cpu();
    rss1 = proc_rss_kb(pid);
    wall = (now_ms() - t0) / 1000.0;

    sent = 0;
    ok = 0;

    for (i = 0; i < npubs; i++) {
        sent += pubs[i].sent;
        if (http(argv[1], "DELETE", pubs[i].location, pubs[i].token, NULL,
                 resp, sizeof(resp), NULL, 0) == 200)
        {
            ok++;
        }
    }

    printf("network: %u publishers x %u s at real-time rate over loopback "
           "(libnice ICE, DTLS-SRTP %s, Opus ~32 "
           "kbit/s + VP8 ~1 Mbit/s each), %llu packets sent; recorder cpu "
           "%.2f s in %.1f s wall = %.3f ms cpu per stream-second, %.0f "
           "streams per core (publisher cpu %.2f s); recorder RSS +%ld KiB "
           "= %ld KiB per session; %u/%u DELETE 200\n",
           npubs, seconds, profile_name, (unsigned long long) sent,
           c1 - c0, wall,
           (c1 - c0) * 1000 / (npubs * (double) seconds),
           npubs * (double) seconds / (c1 - c0 > 0 ? c1 - c0 : 1e-9),
           s1 - s0, rss1 - rss0, (rss1 - rss0) / (long) npubs, ok, npubs);

    return ok == npubs ? 0 : 1;
}
