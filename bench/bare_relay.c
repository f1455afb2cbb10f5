
/*
 * Copyright (C) hotline authors
 *
 * bare_relay: the machine's practical limit for `make bench`.  A bare
 * WebSocket relay: no JSON, no auth, no state store.  N threads (2, like
 * nginx's 2 workers), each with its own epoll set and its own SO_REUSEPORT
 * listener.  Two connections to /pair/<n> are partners: every data frame
 * of one is written to the other, whichever thread owns it (the writer
 * takes the pair's lock and writes to the partner's socket itself).  The
 * upgrade answer says which thread took the connection (X-Worker).
 * With -A it also answers every text frame that names an "id" with
 * {"type":"ack","id":...} to its sender, as the module does: the same
 * frames out per frame in.
 *
 *   bare_relay -p PORT [-a 127.0.0.1] [-t 2] [-A] [-P pidfile] [-T seconds]
 */


#define _GNU_SOURCE  1                 /* accept4, memmem */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hl_ws.h"


#define BR_MAX_THREADS  8
#define BR_PAIRS        (16 * 4096)
#define BR_HTTP_MAX     4096
#define BR_FRAME_MAX    (1024 * 1024)
#define BR_OUT_MAX      (16 * 1024 * 1024)
#define BR_EVENTS       256


enum {
    BR_HTTP = 0,
    BR_OPEN,
    BR_DEAD
};


typedef struct br_conn_s  br_conn_t;

typedef struct {
    pthread_mutex_t  lock;         /* the two sides and their output */
    br_conn_t       *side[2];
} br_pair_t;


struct br_conn_s {
    int          fd;
    int          state;
    int          side;
    br_pair_t   *pair;
    br_conn_t   *next_dead;

    uint8_t     *in;
    size_t       in_len;
    size_t       in_cap;

    uint8_t     *out;              /* under pair->lock once paired */
    size_t       out_pos;
    size_t       out_len;
    size_t       out_cap;
};


typedef struct {
    int          index;
    int          ep;
    int          lfd;
    br_conn_t   *dead;             /* freed after each pass */
    pthread_t    tid;
} br_thread_t;


static br_pair_t     *br_pairs;
static int            br_acks;
static br_thread_t    br_threads[BR_MAX_THREADS];
static struct sockaddr_in  br_addr;


static void *br_thread(void *arg);
static void br_accept(br_thread_t *t);
static void br_read(br_thread_t *t, br_conn_t *c);
static int br_http(br_thread_t *t, br_conn_t *c);
static int br_frames(br_thread_t *t, br_conn_t *c);
static int br_append(br_conn_t *c, const void *p, size_t n);
static int br_ack(br_conn_t *c, const uint8_t *payload, size_t len);
static int br_flush(br_conn_t *c);
static void br_close(br_thread_t *t, br_conn_t *c);
static int br_reserve(uint8_t **buf, size_t *cap, size_t need);


int
main(int argc, char **argv)
{
    int             o, i, nthreads, seconds, sig;
    FILE           *f;
    sigset_t        set;
    const char     *pid_file;
    struct rlimit   rl;

    nthreads = 2;
    seconds = 600;
    pid_file = NULL;

    memset(&br_addr, 0, sizeof(br_addr));
    br_addr.sin_family = AF_INET;
    br_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    while ((o = getopt(argc, argv, "Aa:p:t:P:T:")) != -1) {
        switch (o) {
        case 'a':
            if (inet_pton(AF_INET, optarg, &br_addr.sin_addr) != 1
                || (ntohl(br_addr.sin_addr.s_addr) >> 24) != 127)
            {
                fprintf(stderr, "bare_relay: -a takes a 127.0.0.0/8"
                        " address\n");
                return 2;
            }
            break;
        case 'A': br_acks = 1; break;
        case 'p': br_addr.sin_port = htons((uint16_t) atoi(optarg)); break;
        case 't': nthreads = atoi(optarg); break;
        case 'P': pid_file = optarg; break;
        case 'T': seconds = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: bare_relay -p PORT [-a ADDR] [-t N] [-A]"
                    " [-P pidfile] [-T max-seconds]\n");
            return 2;
        }
    }

    if (br_addr.sin_port == 0 || nthreads < 1 || nthreads > BR_MAX_THREADS
        || seconds < 1)
    {
        fprintf(stderr, "bare_relay: bad arguments\n");
        return 2;
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    signal(SIGPIPE, SIG_IGN);

    /* the threads never take the stop signals: main waits for them */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    br_pairs = calloc(BR_PAIRS, sizeof(br_pair_t));
    if (br_pairs == NULL) {
        return 1;
    }

    for (i = 0; i < BR_PAIRS; i++) {
        pthread_mutex_init(&br_pairs[i].lock, NULL);
    }

    for (i = 0; i < nthreads; i++) {
        br_threads[i].index = i;

        if (pthread_create(&br_threads[i].tid, NULL, br_thread,
                           &br_threads[i])
            != 0)
        {
            fprintf(stderr, "bare_relay: pthread_create failed\n");
            return 1;
        }
    }

    if (pid_file) {
        f = fopen(pid_file, "w");
        if (f == NULL) {
            perror("bare_relay: pid file");
            return 1;
        }

        fprintf(f, "%d\n", (int) getpid());
        fclose(f);
    }

    /* bounded in time even if nobody stops it */
    alarm((unsigned) seconds);

    sigwait(&set, &sig);

    if (pid_file) {
        unlink(pid_file);
    }

    return 0;
}


static void *
br_thread(void *arg)
{
    int                 i, n, one;
    br_conn_t          *c;
    br_thread_t        *t;
    struct epoll_event  ev, events[BR_EVENTS];

    t = arg;

    t->ep = epoll_create1(EPOLL_CLOEXEC);
    t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (t->ep == -1 || t->lfd == -1) {
        perror("bare_relay: socket");
        exit(1);
    }

    one = 1;
    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));

    if (bind(t->lfd, (struct sockaddr *) &br_addr, sizeof(br_addr)) != 0
        || listen(t->lfd, 4096) != 0)
    {
        perror("bare_relay: bind/listen");
        exit(1);
    }

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;

    if (epoll_ctl(t->ep, EPOLL_CTL_ADD, t->lfd, &ev) != 0) {
        perror("bare_relay: epoll_ctl");
        exit(1);
    }

    for ( ;; ) {
        n = epoll_wait(t->ep, events, BR_EVENTS, -1);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("bare_relay: epoll_wait");
            exit(1);
        }

        for (i = 0; i < n; i++) {
            c = events[i].data.ptr;

            if (c == NULL) {
                br_accept(t);
                continue;
            }

            if (c->state == BR_DEAD) {
                continue;
            }

            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP
                                    | EPOLLRDHUP))
            {
                br_read(t, c);
            }

            if ((events[i].events & EPOLLOUT) && c->state != BR_DEAD) {
                if (c->pair) {
                    pthread_mutex_lock(&c->pair->lock);
                }

                if (br_flush(c) != 0) {
                    shutdown(c->fd, SHUT_RDWR);
                }

                if (c->pair) {
                    pthread_mutex_unlock(&c->pair->lock);
                }
            }
        }

        while (t->dead) {
            c = t->dead;
            t->dead = c->next_dead;
            free(c->in);
            free(c->out);
            free(c);
        }
    }

    return NULL;
}


static void
br_accept(br_thread_t *t)
{
    int                 fd, one, k;
    br_conn_t          *c;
    struct epoll_event  ev;

    for (k = 0; k < 256; k++) {
        fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            return;
        }

        one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

        c = calloc(1, sizeof(br_conn_t));
        if (c == NULL) {
            close(fd);
            continue;
        }

        c->fd = fd;
        c->state = BR_HTTP;

        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = c;

        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
        }
    }
}


static void
br_read(br_thread_t *t, br_conn_t *c)
{
    ssize_t   n;
    unsigned  loops;

    for (loops = 0; loops < 100000; loops++) {
        if (c->in_cap - c->in_len < 4096
            && br_reserve(&c->in, &c->in_cap, c->in_len + 16384) != 0)
        {
            br_close(t, c);
            return;
        }

        n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);

        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                return;
            }

            br_close(t, c);
            return;
        }

        c->in_len += n;

        if (c->state == BR_HTTP && br_http(t, c) != 0) {
            return;
        }

        if (c->state == BR_OPEN && c->in_len && br_frames(t, c) != 0) {
            return;
        }
    }
}


static int
br_http(br_thread_t *t, br_conn_t *c)
{
    int           n, side;
    char         *p, *e, accept[HL_WS_ACCEPT_LEN + 1], buf[256];
    size_t        hlen, klen;
    br_pair_t    *pair;
    unsigned long id;
    const char   *key;

    p = memchr(c->in, '\n', c->in_len);

    /* the request is small: look for its end */
    e = NULL;
    if (p) {
        for (e = (char *) c->in; e + 3 < (char *) c->in + c->in_len; e++) {
            if (e[0] == '\r' && e[1] == '\n' && e[2] == '\r'
                && e[3] == '\n')
            {
                break;
            }
        }

        if (e + 3 >= (char *) c->in + c->in_len) {
            e = NULL;
        }
    }

    if (e == NULL) {
        if (c->in_len > BR_HTTP_MAX) {
            br_close(t, c);
            return -1;
        }
        return 0;
    }

    hlen = e + 4 - (char *) c->in;

    key = hl_http_header((char *) c->in, hlen, "Sec-WebSocket-Key", &klen);

    if (c->in_len < 12 || memcmp(c->in, "GET /pair/", 10) != 0
        || key == NULL || hl_ws_accept(key, klen, accept) != 0)
    {
        n = snprintf(buf, sizeof(buf), "HTTP/1.1 400 Bad Request\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n");
        if (write(c->fd, buf, n) < 0) {
            /* closing anyway */
        }
        br_close(t, c);
        return -1;
    }

    id = strtoul((char *) c->in + 10, &p, 10);

    if (id >= BR_PAIRS || (*p != ' ' && *p != '?')) {
        n = snprintf(buf, sizeof(buf), "HTTP/1.1 404 Not Found\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n");
        if (write(c->fd, buf, n) < 0) {
            /* closing anyway */
        }
        br_close(t, c);
        return -1;
    }

    pair = &br_pairs[id];

    pthread_mutex_lock(&pair->lock);

    side = pair->side[0] == NULL ? 0 : pair->side[1] == NULL ? 1 : -1;

    if (side < 0) {
        pthread_mutex_unlock(&pair->lock);

        n = snprintf(buf, sizeof(buf), "HTTP/1.1 409 Conflict\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n");
        if (write(c->fd, buf, n) < 0) {
            /* closing anyway */
        }
        br_close(t, c);
        return -1;
    }

    pair->side[side] = c;
    c->pair = pair;
    c->side = side;
    c->state = BR_OPEN;

    n = snprintf(buf, sizeof(buf), "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\nX-Worker: %d\r\n\r\n",
                 accept, t->index);

    if (br_append(c, buf, n) != 0 || br_flush(c) != 0) {
        shutdown(c->fd, SHUT_RDWR);
    }

    pthread_mutex_unlock(&pair->lock);

    memmove(c->in, c->in + hlen, c->in_len - hlen);
    c->in_len -= hlen;

    return 0;
}


static int
br_frames(br_thread_t *t, br_conn_t *c)
{
    int             rc, err, close_it;
    size_t          pos, hlen;
    uint8_t        *payload, hdr[HL_WS_MAX_HEADER];
    br_conn_t      *peer;
    hl_ws_header_t  h;

    pos = 0;
    err = 0;
    close_it = 0;

    /* one lock and one write to the partner per read */
    pthread_mutex_lock(&c->pair->lock);

    peer = c->pair->side[1 - c->side];

    while (!close_it) {
        rc = hl_ws_parse_header(c->in + pos, c->in_len - pos, &h);

        if (rc == 0) {
            break;
        }

        if (rc < 0 || !h.masked || h.len > BR_FRAME_MAX) {
            close_it = 1;
            break;
        }

        if (c->in_len - pos < h.header_len + h.len) {
            break;
        }

        payload = c->in + pos + h.header_len;
        pos += h.header_len + h.len;

        hl_ws_mask(payload, (size_t) h.len, h.mask, 0);

        switch (h.opcode) {

        case HL_WS_OP_TEXT:
        case HL_WS_OP_BINARY:
        case HL_WS_OP_CONT:
            if (peer == NULL) {
                break;
            }

            hlen = hl_ws_write_header(hdr, h.opcode, h.len, NULL);
            hdr[0] = (uint8_t) ((h.fin << 7) | h.opcode);

            if (br_append(peer, hdr, hlen) != 0
                || br_append(peer, payload, (size_t) h.len) != 0)
            {
                shutdown(peer->fd, SHUT_RDWR);
                peer = NULL;
                break;
            }

            if (br_acks && h.opcode == HL_WS_OP_TEXT) {
                err |= br_ack(c, payload, (size_t) h.len);
            }

            break;

        case HL_WS_OP_PING:
            hlen = hl_ws_write_header(hdr, HL_WS_OP_PONG, h.len, NULL);
            err |= br_append(c, hdr, hlen);
            err |= br_append(c, payload, (size_t) h.len);
            break;

        case HL_WS_OP_PONG:
            break;

        case HL_WS_OP_CLOSE:
            hlen = hl_ws_write_header(hdr, HL_WS_OP_CLOSE,
                                      h.len >= 2 ? 2 : 0, NULL);
            err |= br_append(c, hdr, hlen);
            err |= br_append(c, payload, h.len >= 2 ? 2 : 0);
            close_it = 1;
            break;

        default:
            close_it = 1;
        }
    }

    if (peer && br_flush(peer) != 0) {
        shutdown(peer->fd, SHUT_RDWR);
    }

    err |= br_flush(c);

    pthread_mutex_unlock(&c->pair->lock);

    if (close_it || err) {
        br_close(t, c);
        return -1;
    }

    if (pos) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }

    return 0;
}


static int
br_append(br_conn_t *c, const void *p, size_t n)
{
    if (c->out_pos == c->out_len) {
        c->out_pos = 0;
        c->out_len = 0;
    }

    if (c->out_len + n > BR_OUT_MAX
        || br_reserve(&c->out, &c->out_cap, c->out_len + n) != 0)
    {
        return -1;
    }

    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;

    return 0;
}


/* {"type":"ack","id":"<id>"} for a message that names an id */

static int
br_ack(br_conn_t *c, const uint8_t *payload, size_t len)
{
    int       n;
    uint8_t  *id, *end, hdr[HL_WS_MAX_HEADER];
    size_t    hlen;
    char      buf[128];

    id = memmem(payload, len, "\"id\":\"", 6);
    if (id == NULL) {
        return 0;
    }

    id += 6;
    end = memchr(id, '"', payload + len - id);

    if (end == NULL || end - id > 64) {
        return 0;
    }

    n = snprintf(buf, sizeof(buf), "{\"type\":\"ack\",\"id\":\"%.*s\"}",
                 (int) (end - id), (char *) id);

    hlen = hl_ws_write_header(hdr, HL_WS_OP_TEXT, n, NULL);

    if (br_append(c, hdr, hlen) != 0 || br_append(c, buf, n) != 0) {
        return -1;
    }

    return 0;
}


static int
br_flush(br_conn_t *c)
{
    ssize_t  n;

    while (c->out_pos < c->out_len) {
        n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);

        if (n < 0) {
            if (errno == EAGAIN) {
                return 0;
            }

            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        c->out_pos += n;
    }

    c->out_pos = 0;
    c->out_len = 0;

    return 0;
}


static void
br_close(br_thread_t *t, br_conn_t *c)
{
    if (c->state == BR_DEAD) {
        return;
    }

    /* the partner's thread reaches c only through the pair, locked */
    if (c->pair) {
        pthread_mutex_lock(&c->pair->lock);
        c->pair->side[c->side] = NULL;
        pthread_mutex_unlock(&c->pair->lock);
        c->pair = NULL;
    }

    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);

    c->fd = -1;
    c->state = BR_DEAD;
    c->next_dead = t->dead;
    t->dead = c;
}


static int
br_reserve(uint8_t **buf, size_t *cap, size_t need)
{
    size_t    n;
    uint8_t  *p;

    if (need <= *cap) {
        return 0;
    }

    n = *cap ? *cap : 1024;
    while (n < need) {
        n *= 2;
    }

    p = realloc(*buf, n);
    if (p == NULL) {
        return -1;
    }

    *buf = p;
    *cap = n;

    return 0;
}
