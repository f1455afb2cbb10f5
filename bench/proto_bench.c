
/*
 * Copyright (C) hotline authors
 *
 * proto_bench: the cost of parsing one signaling message, in one process,
 * for the module's parser (the in-place tokenizer) and for the parser it
 * replaced (jansson's json_loadb for every message, kept as the fuzz
 * oracle in fuzz/proto_jansson.c), alternating in rounds so that both see
 * the same machine.  Messages as the load generator and the pages send
 * them: chat, ice, an offer with an SDP, media, and a chat with escapes.
 *
 *   proto_bench [-r rounds] [-n messages per round] [-m message name] [-T]
 *
 * -T: the tokenizer alone (for perf stat and perf record).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_proto.h"
#include "proto_jansson.h"


typedef ngx_uint_t (*pb_parse_pt)(u_char *data, size_t len, ngx_uint_t role,
    ngx_http_hotline_msg_t *m, u_char *out, size_t size);


typedef struct {
    const char  *name;
    ngx_str_t    text;
} pb_msg_t;


static pb_msg_t  pb_msgs[] = {
    { "chat", ngx_string(
      "{\"type\":\"chat\",\"id\":\"m42\",\"text\":\"t=1234567890123 call=7 "
      "from=agent n=42 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxx\"}") },
    { "ice", ngx_string(
      "{\"type\":\"ice\",\"id\":\"i7\",\"candidate\":{\"candidate\":"
      "\"candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx "
      "raddr 192.168.1.20 rport 46154 generation 0 ufrag EsAw network-cost "
      "999\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0,\"usernameFragment\":"
      "\"EsAw\"}}") },
    { "offer", ngx_string(
      "{\"type\":\"offer\",\"id\":\"o1\",\"sdp\":\"v=0\\r\\no=- "
      "4611731400430051336 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n"
      "a=group:BUNDLE 0\\r\\na=extmap-allow-mixed\\r\\na=msid-semantic: WMS"
      "\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\\r\\n"
      "c=IN IP4 0.0.0.0\\r\\na=rtcp:9 IN IP4 0.0.0.0\\r\\na=ice-ufrag:EsAw"
      "\\r\\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\\r\\na=ice-options:trickle"
      "\\r\\na=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF"
      ":5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\\r\\n"
      "a=setup:actpass\\r\\na=mid:0\\r\\na=sendrecv\\r\\na=rtcp-mux\\r\\n"
      "a=rtpmap:111 opus/48000/2\\r\\na=rtcp-fb:111 transport-cc\\r\\n"
      "a=fmtp:111 minptime=10;useinbandfec=1\\r\\n\"}") },
    { "media", ngx_string(
      "{\"type\":\"media\",\"id\":\"x9\",\"audio\":true,\"video\":false}") },
    { "chat, escaped", ngx_string(
      "{\"type\":\"chat\",\"id\":\"m43\",\"text\":\"Merhaba, \\u00c7a\\u011f"
      "r\\u0131 \\\"quoted\\\"\\nline two\\ttab \\ud83d\\ude00\"}") },
    { NULL, ngx_null_string }
};


/* the thread's CPU time: the machine is shared, waiting for a core is not
 * the parser's cost */

static uint64_t
pb_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}


static double
pb_run(pb_parse_pt parse, pb_msg_t *msg, u_char *out, size_t size,
    unsigned n)
{
    unsigned                 i;
    uint64_t                 t0;
    ngx_http_hotline_msg_t   m;

    t0 = pb_now();

    for (i = 0; i < n; i++) {
        if (parse(msg->text.data, msg->text.len, 2, &m, out, size)
            != NGX_HOTLINE_OK)
        {
            fprintf(stderr, "proto_bench: %s refused\n", msg->name);
            exit(1);
        }
    }

    return (double) (pb_now() - t0) / n;
}


static int
pb_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int        o, alone;
    char      *only;
    u_char    *out;
    size_t     size;
    double     t[2][64], med[2];
    unsigned   r, rounds, n, k;
    pb_msg_t  *msg;

    rounds = 15;
    n = 100000;
    only = NULL;
    alone = 0;

    while ((o = getopt(argc, argv, "r:n:m:T")) != -1) {
        switch (o) {
        case 'r': rounds = (unsigned) atoi(optarg); break;
        case 'n': n = (unsigned) atoi(optarg); break;
        case 'm': only = optarg; break;
        case 'T': alone = 1; break;
        default:
            fprintf(stderr, "usage: proto_bench [-r rounds] [-n count]"
                    " [-m message] [-T]\n");
            return 2;
        }
    }

    if (rounds == 0 || rounds > 64 || n == 0) {
        fprintf(stderr, "proto_bench: -r 1..64, -n > 0\n");
        return 2;
    }

    size = 64 * 1024;
    out = malloc(size);
    if (out == NULL) {
        return 1;
    }

    printf("%-16s %14s %14s %8s   (ns of CPU per message, median of %u rounds"
           " of %u)\n", "message", "tokenizer", "jansson", "ratio", rounds,
           n);

    for (msg = pb_msgs; msg->name; msg++) {

        if (only && strcmp(only, msg->name) != 0) {
            continue;
        }

        for (r = 0; r < rounds; r++) {
            /* alternate which goes first */
            for (k = 0; k < 2; k++) {
                if ((k + r) & 1) {
                    t[1][r] = alone ? 0 : pb_run(hl_ref_proto_parse, msg, out,
                                                 size, n);

                } else {
                    t[0][r] = pb_run(ngx_http_hotline_proto_parse, msg, out,
                                     size, n);
                }
            }
        }

        qsort(t[0], rounds, sizeof(double), pb_cmp);
        qsort(t[1], rounds, sizeof(double), pb_cmp);

        med[0] = t[0][rounds / 2];
        med[1] = t[1][rounds / 2];

        printf("%-16s %14.0f %14.0f %7.1fx   (%zu bytes; tokenizer"
               " %.0f-%.0f, jansson %.0f-%.0f)\n", msg->name, med[0], med[1],
               med[1] / med[0], msg->text.len, t[0][0], t[0][rounds - 1],
               t[1][0], t[1][rounds - 1]);
    }

    free(out);

    return 0;
}
