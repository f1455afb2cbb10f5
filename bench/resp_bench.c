
/*
 * Copyright (C) hotline authors
 *
 * resp_bench: what looking at Redis' bytes before hiredis costs a
 * message, in one process: the walk (src/ngx_http_hotline_resp.c, no
 * reply object) against a parse by a second hiredis reader (reply
 * objects made and freed: the check of 2026-12-06, ddb7a9c), in rounds
 * that alternate, on what a worker reads: a channel message carrying a
 * relayed chat (subscriber connection) and a relay's answer (command
 * connection), 64 of them to a read.
 *
 *   resp_bench [-r rounds] [-n reads per round]
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <time.h>

#include "ngx_http_hotline_resp.h"


#define RB_BATCH  64


static u_char *
rb_fill(u_char *p, const char *one, size_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < RB_BATCH; i++) {
        p = ngx_cpymem(p, one, len);
    }

    return p;
}


static double
rb_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e9 + ts.tv_nsec;
}


/* the walk: every reply of the read, and the check a subscriber makes
 * (the command connection's is a count) */

static ngx_uint_t
rb_walk(u_char *p, u_char *last, ngx_uint_t subscribed)
{
    size_t                          used;
    ngx_uint_t                      n;
    ngx_http_hotline_resp_reply_t   r;

    for (n = 0; ngx_http_hotline_resp_next(p, last, &r, &used) == NGX_OK;
         n++)
    {
        if (subscribed && !ngx_http_hotline_resp_pushed(&r)) {
            return 0;
        }

        p += used;
    }

    return n;
}


/* a second hiredis reader: the reply objects, made and freed */

static ngx_uint_t
rb_hiredis(redisReader *rd, u_char *p, u_char *last)
{
    void        *reply;
    ngx_uint_t   n;

    if (redisReaderFeed(rd, (char *) p, last - p) != REDIS_OK) {
        return 0;
    }

    for (n = 0; redisReaderGetReply(rd, &reply) == REDIS_OK && reply; n++) {
        freeReplyObject(reply);
    }

    return n;
}


int
main(int argc, char **argv)
{
    u_char        *bufs[2], *ends[2];
    double         t, walk[2], hi[2];
    ngx_uint_t     rounds, reads, i, r, k, n;
    redisReader   *rd;

    static char    message[] =
        "*3\r\n$7\r\nmessage\r\n$25\r\nhl:w:node-a:4242:12345678\r\n"
        "$222\r\n"
        "{\"t\":\"chat\",\"seq\":4242,\"text\":\"t=1234567890123 call=7 "
        "from=agent n=42 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\r\n";
    static char    answer[] = "*3\r\n:0\r\n:4242\r\n:15872\r\n";
    static char   *names[2] = { "channel message", "relay answer" };

    rounds = 10;
    reads = 20000;

    for (i = 1; i + 1 < (ngx_uint_t) argc; i += 2) {
        if (ngx_strcmp(argv[i], "-r") == 0) {
            rounds = strtoul(argv[i + 1], NULL, 10);

        } else if (ngx_strcmp(argv[i], "-n") == 0) {
            reads = strtoul(argv[i + 1], NULL, 10);
        }
    }

    for (k = 0; k < 2; k++) {
        bufs[k] = malloc(RB_BATCH * (sizeof(message) + sizeof(answer)));
        if (bufs[k] == NULL) {
            return 1;
        }
        walk[k] = hi[k] = 0;
    }

    ends[0] = rb_fill(bufs[0], message, sizeof(message) - 1);
    ends[1] = rb_fill(bufs[1], answer, sizeof(answer) - 1);

    rd = redisReaderCreate();
    if (rd == NULL) {
        return 1;
    }

    for (r = 0; r < rounds; r++) {
        for (k = 0; k < 2; k++) {
            t = rb_now();
            for (i = 0, n = 0; i < reads; i++) {
                n += rb_walk(bufs[k], ends[k], k == 0);
            }
            walk[k] += rb_now() - t;

            if (n != reads * RB_BATCH) {
                fprintf(stderr, "resp_bench: the walk took %lu\n",
                        (unsigned long) n);
                return 1;
            }

            t = rb_now();
            for (i = 0, n = 0; i < reads; i++) {
                n += rb_hiredis(rd, bufs[k], ends[k]);
            }
            hi[k] += rb_now() - t;

            if (n != reads * RB_BATCH) {
                fprintf(stderr, "resp_bench: hiredis read %lu\n",
                        (unsigned long) n);
                return 1;
            }
        }
    }

    for (k = 0; k < 2; k++) {
        printf("%-16s walk %6.1f ns   hiredis reader %6.1f ns   "
               "(per message, %lu rounds of %lu reads of %d)\n",
               names[k], walk[k] / (rounds * reads * RB_BATCH),
               hi[k] / (rounds * reads * RB_BATCH), (unsigned long) rounds,
               (unsigned long) reads, RB_BATCH);
    }

    redisReaderFree(rd);

    return 0;
}
