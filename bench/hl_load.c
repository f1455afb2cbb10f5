
/*
 * Copyright (C) hotline authors
 *
 * hl_load: the load generator of `make bench`.  One thread, one epoll set,
 * its own minimal WebSocket client.
 *
 *   hl_load relay ...   N calls (a customer and an agent connection each,
 *                       on different server workers where possible) send
 *                       chat messages to each other at an aggregate rate
 *                       (--rate, 0: as fast as a window of unanswered
 *                       messages per sender allows); reports messages/s
 *                       delivered to the peer and the latency from the
 *                       sender's clock to the receiver's.
 *   hl_load relay --bare ...   the same against bare_relay (/pair/<n>).
 *   hl_load idle ...    N customer connections that join and stay; reports
 *                       the server's memory (Pss) before and after, and
 *                       the time from the first connect to the last
 *                       "welcome" (monotonic clock, comparable between
 *                       the processes of one run).
 *   hl_load queue ...   N customers join and wait, --agents K agents come
 *                       online; then --rounds R times the K agents accept
 *                       the K oldest calls at once, and R times one after
 *                       the other, and hang up; reports, per mode,
 *                       the accept latency (accept sent -> "accepted") and
 *                       the position messages the waiting customers got
 *                       per accept, until each had its new position.
 *
 * The last line of a run is "RESULT key=value ..." for bench/run.sh.
 */


#define _GNU_SOURCE  1                 /* memmem */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hl_hist.h"
#include "hl_jwt.h"
#include "hl_proc.h"
#include "hl_result.h"
#include "hl_team.h"
#include "hl_ws.h"


#define HL_IN_MIN         4096
#define HL_BUF_MAX        (8 * 1024 * 1024)
#define HL_HTTP_MAX       8192
#define HL_EVENTS         512
#define HL_SETUP_MS       10000       /* bound of each setup step */
#define HL_SETUP_ALL_MS   30000       /* ... and of the whole setup */
#define HL_DRAIN_MS       3000
#define HL_IDLE_MS        60000       /* default of --join-timeout */
#define HL_IDLE_INFLIGHT  256
#define HL_RATE_INFLIGHT  512         /* per sender, rate mode */
#define HL_MAX_CALLS      4096
#define HL_MAX_CONNS      60000


enum {
    HL_CONNECTING = 0,
    HL_HANDSHAKE,
    HL_OPEN,
    HL_DEAD
};


enum {
    HL_CUSTOMER = 0,
    HL_AGENT
};


typedef struct hl_conn_s  hl_conn_t;

struct hl_conn_s {
    int           fd;
    unsigned      state:2;
    unsigned      role:1;
    unsigned      dirty:1;
    unsigned      welcomed:1;
    unsigned      accepted:1;
    unsigned      ended:1;
    unsigned      refused:1;
    unsigned      close_sent:1;
    unsigned      reread:1;
    int           worker;          /* -1: unknown */
    int           http_status;
    uint32_t      id;              /* pair (relay) or connection (idle) */
    uint32_t      laddr;           /* network order */
    unsigned      lport;
    hl_conn_t    *peer;
    char          key[HL_WS_KEY_LEN + 1];

    uint8_t      *in;
    size_t        in_len;
    size_t        in_cap;

    uint8_t      *out;
    size_t        out_pos;
    size_t        out_len;
    size_t        out_cap;

    uint8_t      *msg;             /* a fragmented message */
    size_t        msg_len;
    size_t        msg_cap;
    unsigned      msg_op;

    char          call_id[80];

    uint32_t      position;        /* queue: the last one received */
    uint32_t      pos0;            /* ... at the start of the round */
    uint64_t      t_accept;        /* queue: the agent's accept sent */

    uint64_t      sent;            /* chat messages sent */
    uint64_t      delivered;       /* ... of which the peer received */
    uint64_t      rejected;        /* ... answered with an error instead */
    uint64_t      acks;
};


typedef struct {
    /* options */
    int           relay;
    int           queue;
    int           bare;
    char          host[64];
    unsigned      port;
    unsigned      n;               /* calls (relay), connections (idle) */
    double        rate;
    double        duration;
    double        warmup;
    unsigned      window;
    unsigned      size;
    unsigned      sources;
    unsigned      join_timeout;    /* idle: seconds for all to join */
    unsigned      hold;            /* idle: seconds held after joining */
    unsigned      rounds;
    unsigned      pair_base;
    unsigned      gen_procs;
    int           bare_acks;
    const char   *secret_file;
    const char   *origin;
    char          origin_buf[256];
    const char   *pid_file;
    const char   *label;
    int           verbose;

    uint8_t       jwt_key[512];
    int           jwt_key_len;
    uint32_t      host_addr;

    int           ep;
    int           tfd;
    uint64_t      rnd;

    hl_conn_t   **all;
    size_t        nall;
    size_t        call;

    hl_conn_t   **dirty;           /* output to write */
    size_t        ndirty;

    hl_conn_t   **reread;          /* input left unread */
    size_t        nreread;
    size_t        pending;         /* idle: not yet welcomed */
    uint64_t      t_first;         /* idle: the first connect */
    uint64_t      t_welcome;       /* idle: the last "welcome" */

    hl_conn_t   **senders;
    size_t        nsenders;
    size_t        rr;

    /* measurement */
    int           sending;
    uint64_t      t_start;
    uint64_t      t_warm;
    uint64_t      t_end;
    uint64_t      scheduled;
    uint64_t      skipped;
    uint64_t      sent_total;
    uint64_t      recv_total;
    uint64_t      recv_window;
    uint64_t      bad_payload;
    hl_hist_t     hist;

    /* what went wrong, by name */
    hl_count_t    errors[HL_CODES];
    hl_count_t    closes[HL_CODES];
    hl_count_t    refusals[HL_CODES];
    uint64_t      others;

    /* queue mode */
    unsigned      agents;
    uint64_t      positions;       /* position messages received */
    uint64_t      queue_msgs;      /* queue messages the agents got */
    uint64_t      t_position;      /* the last position message */
    uint64_t      accepted_n;      /* agents' accepts answered */

    unsigned      agent_seq;
    unsigned      conn_seq;
    uint64_t      setup_end;       /* deadline of the whole setup */

    int           index;           /* of this generator process */
    hl_team_t     team;

    pid_t         main_pid;
    hl_procs_t    procs;

    char          scratch[HL_HTTP_MAX];
} hl_ctx_t;


static hl_ctx_t  hl;

/* idle: SIGUSR1 ends the hold (--hold) early */
static volatile sig_atomic_t  hl_hold_end;


static uint64_t hl_now(void);
static void hl_usage(void);
static int hl_options(int argc, char **argv);
static void hl_raise_nofile(unsigned need);

static hl_conn_t *hl_conn_open(int role, const char *path,
    const char *token, uint32_t id);
static void hl_conn_close(hl_conn_t *c);
static void hl_conn_fail(hl_conn_t *c, const char *why);
static void hl_conn_event(hl_conn_t *c, uint32_t events);
static void hl_conn_read(hl_conn_t *c);
static int hl_conn_handshake(hl_conn_t *c);
static int hl_conn_frames(hl_conn_t *c);
static void hl_conn_flush(hl_conn_t *c);
static int hl_reserve(uint8_t **buf, size_t *cap, size_t need);
static int hl_send(hl_conn_t *c, unsigned op, const void *p, size_t n);
static void hl_on_open(hl_conn_t *c);
static void hl_on_text(hl_conn_t *c, const char *p, size_t n);
static void hl_on_chat(hl_conn_t *c, const char *p, size_t n);

static uint64_t hl_json_uint(const char *p, size_t n, const char *key);
static int hl_poll(int timeout_ms);
static int hl_run_until(int (*done)(void *), void *data, uint64_t ms);
static const char *hl_json_str(const char *p, size_t n, const char *key,
    size_t *len);

static int hl_loop_init(void);
static int hl_relay(void);
static int hl_relay_gen(int index);
static void hl_sleep_until(uint64_t t);
static void hl_relay_report(hl_result_t *r, double *cpu, double secs);
static int hl_relay_setup(void);
static int hl_relay_batch(hl_conn_t **cust, unsigned n);
static void hl_assign_workers(hl_conn_t **c, unsigned n);
static void hl_count_cross(hl_result_t *r, int end);
static void hl_send_chat(hl_conn_t *s);
static void hl_top_up(hl_conn_t *s);
static void hl_tick(void);
static int hl_relay_measure(hl_result_t *r);
static void hl_relay_teardown(hl_result_t *r);
static int hl_idle(void);
static int hl_queue(void);


int
main(int argc, char **argv)
{
    int  rc;

    signal(SIGPIPE, SIG_IGN);

    if (hl_options(argc, argv) != 0) {
        hl_usage();
        return 2;
    }

    hl_raise_nofile(hl.relay ? 8 * hl.n + 256
                    : hl.queue ? hl.n / hl.gen_procs + hl.agents + 256
                    : hl.n + 256);

    if (hl.pid_file) {
        hl.main_pid = hl_pid_from_file(hl.pid_file);
        if (hl.main_pid <= 0 || hl_procs_find(hl.main_pid, &hl.procs) != 0) {
            fprintf(stderr, "hl_load: no server process from %s\n",
                    hl.pid_file);
            return 1;
        }
    }

    if (hl.relay) {
        return hl_relay();
    }

    if (hl.queue) {
        /* each process of the run has its own event loop */
        return hl_queue();
    }

    if (hl_loop_init() != 0) {
        return 1;
    }

    rc = hl_idle();

    return rc;
}


/* the event loop's epoll set and timer: per process */

static int
hl_loop_init(void)
{
    struct epoll_event  ev;

    hl.rnd = hl_now() ^ ((uint64_t) getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;

    hl.ep = epoll_create1(EPOLL_CLOEXEC);
    hl.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

    if (hl.ep == -1 || hl.tfd == -1) {
        perror("hl_load: epoll/timerfd");
        return -1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = NULL;

    if (epoll_ctl(hl.ep, EPOLL_CTL_ADD, hl.tfd, &ev) == -1) {
        perror("hl_load: epoll_ctl");
        return -1;
    }

    return 0;
}


static void
hl_usage(void)
{
    fprintf(stderr,
        "usage: hl_load relay|idle|queue --port P [options]\n"
        "  --host A          server address (127.0.0.1)\n"
        "  --bare            relay: speak to bare_relay (/pair/<n>)\n"
        "  -n, --calls N     relay: calls; idle, queue: customers\n"
        "  --agents K        queue: agents, the accepts of a burst (50)\n"
        "  --rounds R        queue: rounds of each mode (2): all agents\n"
        "                    accept at once, then one after the other\n"
        "  --rate R          relay: messages/s over all senders, 0: max\n"
        "  --duration S      relay: measured seconds (5)\n"
        "  --warmup S        relay: seconds sent before measuring (1)\n"
        "  --window W        relay --rate 0: unanswered messages per"
        " sender (8)\n"
        "  --size B          chat text bytes (200)\n"
        "  --secret FILE     HS256 key file for the agents' JWT\n"
        "  --origin URL      Origin header (http://host:port)\n"
        "  --pid-file FILE   server main pid: CPU, memory, workers\n"
        "  --sources K       spread over source addresses 127.0.0.2..\n"
        "  --join-timeout S  idle: seconds for all to join (60)\n"
        "  --hold S          idle: seconds to hold them once joined (1;\n"
        "                    SIGUSR1 ends it early)\n"
        "  --rounds R        relay: tries to put the peers on different"
        " workers (8)\n"
        "  --procs K         relay: generator processes (1), the calls\n"
        "                    and the rate split between them; queue:\n"
        "                    the processes holding the customers\n"
        "  --acks            relay --bare: the bare relay acks (-A)\n"
        "  --label NAME      name of the run in the RESULT line\n"
        "  --verbose         print what the server sends (setup only)\n");
}


static int
hl_options(int argc, char **argv)
{
    int  o;

    static struct option  opts[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "bare", no_argument, NULL, 'b' },
        { "calls", required_argument, NULL, 'n' },
        { "conns", required_argument, NULL, 'n' },
        { "rate", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, 'w' },
        { "window", required_argument, NULL, 'W' },
        { "size", required_argument, NULL, 's' },
        { "secret", required_argument, NULL, 'k' },
        { "origin", required_argument, NULL, 'o' },
        { "pid-file", required_argument, NULL, 'P' },
        { "sources", required_argument, NULL, 'S' },
        { "join-timeout", required_argument, NULL, 'J' },
        { "hold", required_argument, NULL, 'D' },
        { "rounds", required_argument, NULL, 'R' },
        { "label", required_argument, NULL, 'l' },
        { "procs", required_argument, NULL, 'K' },
        { "acks", no_argument, NULL, 'A' },
        { "agents", required_argument, NULL, 'a' },

        { "verbose", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 }
    };

    if (argc < 2) {
        return -1;
    }

    if (strcmp(argv[1], "relay") == 0) {
        hl.relay = 1;

    } else if (strcmp(argv[1], "queue") == 0) {
        hl.queue = 1;

    } else if (strcmp(argv[1], "idle") != 0) {
        return -1;
    }

    snprintf(hl.host, sizeof(hl.host), "127.0.0.1");
    hl.n = 100;
    hl.duration = 5;
    hl.warmup = 1;
    hl.window = 8;
    hl.size = 200;
    hl.rounds = hl.queue ? 2 : 8;
    hl.agents = 50;
    hl.gen_procs = 1;
    hl.join_timeout = HL_IDLE_MS / 1000;
    hl.hold = 1;
    hl.label = argv[1];

    optind = 2;

    while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
        switch (o) {
        case 'H': snprintf(hl.host, sizeof(hl.host), "%s", optarg); break;
        case 'p': hl.port = (unsigned) atoi(optarg); break;
        case 'b': hl.bare = 1; break;
        case 'n': hl.n = (unsigned) atoi(optarg); break;
        case 'r': hl.rate = atof(optarg); break;
        case 'd': hl.duration = atof(optarg); break;
        case 'w': hl.warmup = atof(optarg); break;
        case 'W': hl.window = (unsigned) atoi(optarg); break;
        case 's': hl.size = (unsigned) atoi(optarg); break;
        case 'k': hl.secret_file = optarg; break;
        case 'o': hl.origin = optarg; break;
        case 'P': hl.pid_file = optarg; break;
        case 'S': hl.sources = (unsigned) atoi(optarg); break;
        case 'J': hl.join_timeout = (unsigned) atoi(optarg); break;
        case 'D': hl.hold = (unsigned) atoi(optarg); break;
        case 'R': hl.rounds = (unsigned) atoi(optarg); break;
        case 'l': hl.label = optarg; break;
        case 'K': hl.gen_procs = (unsigned) atoi(optarg); break;
        case 'A': hl.bare_acks = 1; break;
        case 'a': hl.agents = (unsigned) atoi(optarg); break;

        case 'v': hl.verbose = 1; break;
        default: return -1;
        }
    }

    if (hl.port == 0 || hl.port > 65535 || hl.n == 0
        || inet_pton(AF_INET, hl.host, &hl.host_addr) != 1
        || (ntohl(hl.host_addr) >> 24) != 127)
    {
        fprintf(stderr, "hl_load: need --port and a 127.0.0.0/8 --host\n");
        return -1;
    }

    if (hl.relay && hl.n > HL_MAX_CALLS) {
        fprintf(stderr, "hl_load: at most %d calls\n", HL_MAX_CALLS);
        return -1;
    }

    if (!hl.relay && hl.n > HL_MAX_CONNS) {
        fprintf(stderr, "hl_load: at most %d connections\n", HL_MAX_CONNS);
        return -1;
    }

    if (hl.duration <= 0 || hl.duration > 120 || hl.warmup < 0
        || hl.warmup > 30 || hl.rate < 0 || hl.rate > 1e7
        || hl.window == 0 || hl.window > 1024 || hl.sources > 200
        || hl.join_timeout == 0 || hl.join_timeout > 3600 || hl.hold > 3600
        || hl.size < 64 || hl.size > 4000 || hl.rounds == 0
        || hl.rounds > 64 || hl.gen_procs == 0
        || hl.gen_procs > HL_TEAM_MAX || hl.gen_procs > hl.n)
    {
        fprintf(stderr, "hl_load: option out of range\n");
        return -1;
    }

    if (hl.queue && (hl.agents == 0 || hl.agents > 1000)) {
        fprintf(stderr, "hl_load: --agents: 1 to 1000\n");
        return -1;
    }

    if ((hl.relay && !hl.bare) || hl.queue) {
        if (hl.secret_file == NULL) {
            fprintf(stderr, "hl_load: relay and queue need --secret\n");
            return -1;
        }

        hl.jwt_key_len = hl_jwt_read_key(hl.secret_file, hl.jwt_key,
                                         sizeof(hl.jwt_key));
        if (hl.jwt_key_len < 0) {
            fprintf(stderr, "hl_load: cannot read %s\n", hl.secret_file);
            return -1;
        }
    }

    if (hl.origin) {
        snprintf(hl.origin_buf, sizeof(hl.origin_buf), "%s", hl.origin);

    } else {
        snprintf(hl.origin_buf, sizeof(hl.origin_buf), "http://%s:%u",
                 hl.host, hl.port);
    }

    /* bare_relay pair slots of consecutive runs should not meet */
    hl.pair_base = (unsigned) (getpid() % 16) * HL_MAX_CALLS;

    return 0;
}


static void
hl_raise_nofile(unsigned need)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }

    if (rl.rlim_cur < need) {
        rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need)
                      ? need : rl.rlim_max;

        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < need) {
            fprintf(stderr, "hl_load: RLIMIT_NOFILE is %lu, want %u\n",
                    (unsigned long) rl.rlim_cur, need);
        }
    }
}


static uint64_t
hl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}


static uint64_t
hl_random(void)
{
    /* xorshift64*: masking keys, not secrets */
    hl.rnd ^= hl.rnd >> 12;
    hl.rnd ^= hl.rnd << 25;
    hl.rnd ^= hl.rnd >> 27;

    return hl.rnd * 0x2545f4914f6cdd1dULL;
}


/* connections */


static hl_conn_t *
hl_conn_open(int role, const char *path, const char *token, uint32_t id)
{
    int                  fd, one, n;
    hl_conn_t           *c, **all;
    socklen_t            len;
    struct sockaddr_in   sa;
    struct epoll_event   ev;

    if (hl.nall == hl.call) {
        hl.call = hl.call ? 2 * hl.call : 1024;

        all = realloc(hl.all, hl.call * sizeof(hl_conn_t *));
        if (all == NULL) {
            return NULL;
        }

        hl.all = all;

        all = realloc(hl.dirty, hl.call * sizeof(hl_conn_t *));
        if (all == NULL) {
            return NULL;
        }
        hl.dirty = all;

        all = realloc(hl.reread, hl.call * sizeof(hl_conn_t *));
        if (all == NULL) {
            return NULL;
        }
        hl.reread = all;
    }

    c = calloc(1, sizeof(hl_conn_t));
    if (c == NULL) {
        return NULL;
    }

    hl.pending++;
    c->fd = -1;
    c->role = role;
    c->id = id;
    c->worker = -1;
    hl.all[hl.nall++] = c;

    if (hl_ws_make_key(c->key) != 0) {
        hl_conn_fail(c, "key");
        return c;
    }

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        hl_conn_fail(c, "socket");
        return c;
    }

    c->fd = fd;
    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;

    if (hl.sources) {
        /* more 4-tuples than one source address gives */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                   sizeof(one));
        sa.sin_addr.s_addr = htonl(0x7f000002 + hl.conn_seq % hl.sources);

        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
            hl_conn_fail(c, "bind");
            return c;
        }
    }

    hl.conn_seq++;

    if (hl.t_first == 0) {
        hl.t_first = hl_now();
    }

    sa.sin_addr.s_addr = hl.host_addr;
    sa.sin_port = htons(hl.port);

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0
        && errno != EINPROGRESS)
    {
        hl_conn_fail(c, "connect");
        return c;
    }

    len = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *) &sa, &len) == 0) {
        c->laddr = sa.sin_addr.s_addr;
        c->lport = ntohs(sa.sin_port);
    }

    n = snprintf(hl.scratch, sizeof(hl.scratch),
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s:%u\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "Origin: %s\r\n"
                 "%s%s%s"
                 "\r\n",
                 path, hl.host, hl.port, c->key, hl.origin_buf,
                 token ? "Authorization: Bearer " : "",
                 token ? token : "", token ? "\r\n" : "");

    if (n < 0 || (size_t) n >= sizeof(hl.scratch)
        || hl_reserve(&c->out, &c->out_cap, n) != 0)
    {
        hl_conn_fail(c, "request");
        return c;
    }

    memcpy(c->out, hl.scratch, n);
    c->out_len = n;
    c->state = HL_CONNECTING;

    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;

    if (epoll_ctl(hl.ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        hl_conn_fail(c, "epoll");
        return c;
    }

    return c;
}


static void
hl_conn_close(hl_conn_t *c)
{
    if (c->state == HL_DEAD) {
        return;
    }

    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
    }

    c->state = HL_DEAD;

    if (!c->welcomed) {
        hl.pending--;
    }

    free(c->in);
    free(c->out);
    free(c->msg);
    c->in = NULL;
    c->out = NULL;
    c->msg = NULL;
    c->in_len = c->in_cap = 0;
    c->out_len = c->out_pos = c->out_cap = 0;
    c->msg_len = c->msg_cap = 0;
}


static void
hl_conn_fail(hl_conn_t *c, const char *why)
{
    if (c->state != HL_DEAD) {
        hl_count(hl.refusals, why, strlen(why));
        hl_conn_close(c);
    }
}


static void
hl_conn_event(hl_conn_t *c, uint32_t events)
{
    int        err;
    socklen_t  len;

    if (c->state == HL_DEAD) {
        return;
    }

    if (c->state == HL_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
            return;
        }

        err = 0;
        len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);

        if (err != 0) {
            hl_conn_fail(c, "connect");
            return;
        }

        c->state = HL_HANDSHAKE;
        hl_conn_flush(c);
    }

    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        hl_conn_read(c);
    }

    if ((events & EPOLLOUT) && c->state != HL_DEAD && c->out_len) {
        hl_conn_flush(c);
    }
}


static void
hl_conn_read(hl_conn_t *c)
{
    ssize_t   n;
    unsigned  loops;

    for (loops = 0; loops < 256 && c->state != HL_DEAD; loops++) {

        if (c->in_cap - c->in_len < 1024
            && hl_reserve(&c->in, &c->in_cap,
                          c->in_len + (c->in_cap > HL_IN_MIN
                                       ? c->in_cap : HL_IN_MIN))
               != 0)
        {
            hl_conn_fail(c, "input too big");
            return;
        }

        n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);

        if (n == 0) {
            if (c->state == HL_HANDSHAKE) {
                hl_conn_fail(c, "eof in handshake");

            } else {
                hl_count(hl.closes, "eof", 3);
                hl_conn_close(c);
            }
            return;
        }

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }

            hl_count(hl.closes, "reset", 5);
            hl_conn_close(c);
            return;
        }

        c->in_len += n;

        if (c->state == HL_HANDSHAKE && hl_conn_handshake(c) != 0) {
            return;
        }

        if (c->state == HL_OPEN && hl_conn_frames(c) != 0) {
            return;
        }
    }

    /* more may be left: edge-triggered, so come back on the next pass */
    if (c->state != HL_DEAD && !c->reread) {
        c->reread = 1;
        hl.reread[hl.nreread++] = c;
    }
}


static int
hl_conn_handshake(hl_conn_t *c)
{
    char        *p, accept[HL_WS_ACCEPT_LEN + 1], code[16];
    size_t       hlen, len;
    const char  *v;

    p = memmem(c->in, c->in_len, "\r\n\r\n", 4);

    if (p == NULL) {
        if (c->in_len > HL_HTTP_MAX) {
            hl_conn_fail(c, "response too big");
            return -1;
        }
        return 0;
    }

    hlen = p + 4 - (char *) c->in;

    if (hlen < 12 || memcmp(c->in, "HTTP/1.1 ", 9) != 0) {
        hl_conn_fail(c, "bad response");
        return -1;
    }

    c->http_status = atoi((char *) c->in + 9);

    if (c->http_status != 101) {
        snprintf(code, sizeof(code), "http%03d", c->http_status % 1000);
        c->refused = 1;
        hl_conn_fail(c, code);
        return -1;
    }

    v = hl_http_header((char *) c->in, hlen, "Sec-WebSocket-Accept", &len);

    if (v == NULL || hl_ws_accept(c->key, HL_WS_KEY_LEN, accept) != 0
        || len != HL_WS_ACCEPT_LEN || memcmp(v, accept, len) != 0)
    {
        hl_conn_fail(c, "bad accept");
        return -1;
    }

    v = hl_http_header((char *) c->in, hlen, "X-Worker", &len);
    if (v && len) {
        c->worker = atoi(v);
    }

    memmove(c->in, c->in + hlen, c->in_len - hlen);
    c->in_len -= hlen;
    c->state = HL_OPEN;

    hl_on_open(c);

    return c->state == HL_DEAD ? -1 : 0;
}


static int
hl_conn_frames(hl_conn_t *c)
{
    int             rc;
    size_t          pos, total;
    uint8_t        *payload;
    unsigned        code;
    hl_ws_header_t  h;
    char            name[16];

    pos = 0;

    while (c->state == HL_OPEN) {
        rc = hl_ws_parse_header(c->in + pos, c->in_len - pos, &h);

        if (rc == 0) {
            break;
        }

        if (rc < 0 || h.rsv) {
            hl_count(hl.closes, "bad frame", 9);
            hl_conn_close(c);
            return -1;
        }

        if (h.len > HL_BUF_MAX) {
            hl_count(hl.closes, "huge frame", 10);
            hl_conn_close(c);
            return -1;
        }

        total = h.header_len + (size_t) h.len;

        if (c->in_len - pos < total) {
            /* make sure the whole frame fits */
            if (hl_reserve(&c->in, &c->in_cap, total) != 0) {
                hl_conn_fail(c, "input too big");
                return -1;
            }
            break;
        }

        payload = c->in + pos + h.header_len;
        pos += total;

        if (h.masked) {
            hl_ws_mask(payload, (size_t) h.len, h.mask, 0);
        }

        switch (h.opcode) {

        case HL_WS_OP_TEXT:
        case HL_WS_OP_BINARY:
            if (h.fin) {
                hl_on_text(c, (char *) payload, (size_t) h.len);
                break;
            }

            c->msg_op = h.opcode;
            c->msg_len = 0;

            /* fall through */

        case HL_WS_OP_CONT:
            if (hl_reserve(&c->msg, &c->msg_cap, c->msg_len + h.len) != 0) {
                hl_conn_fail(c, "message too big");
                return -1;
            }

            memcpy(c->msg + c->msg_len, payload, (size_t) h.len);
            c->msg_len += h.len;

            if (h.fin) {
                hl_on_text(c, (char *) c->msg, c->msg_len);
                c->msg_len = 0;
            }
            break;

        case HL_WS_OP_PING:
            hl_send(c, HL_WS_OP_PONG, payload, (size_t) h.len);
            break;

        case HL_WS_OP_PONG:
            break;

        case HL_WS_OP_CLOSE:
            code = h.len >= 2 ? ((unsigned) payload[0] << 8 | payload[1])
                              : 1005;
            snprintf(name, sizeof(name), "%u", code);
            hl_count(hl.closes, name, strlen(name));

            if (!c->close_sent) {
                c->close_sent = 1;
                hl_send(c, HL_WS_OP_CLOSE, payload, h.len >= 2 ? 2 : 0);
                hl_conn_flush(c);
            }

            hl_conn_close(c);
            return -1;

        default:
            hl_count(hl.closes, "bad opcode", 10);
            hl_conn_close(c);
            return -1;
        }
    }

    if (c->state == HL_DEAD) {
        return -1;
    }

    if (pos) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }

    return 0;
}


static void
hl_conn_flush(hl_conn_t *c)
{
    ssize_t  n;

    if (c->state == HL_DEAD || c->state == HL_CONNECTING) {
        return;
    }

    while (c->out_pos < c->out_len) {
        n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);

        if (n < 0) {
            if (errno == EAGAIN) {
                return;
            }

            if (errno == EINTR) {
                continue;
            }

            hl_count(hl.closes, "write error", 11);
            hl_conn_close(c);
            return;
        }

        c->out_pos += n;
    }

    c->out_pos = 0;
    c->out_len = 0;
}


static int
hl_reserve(uint8_t **buf, size_t *cap, size_t need)
{
    size_t    n;
    uint8_t  *p;

    if (need <= *cap) {
        return 0;
    }

    if (need > HL_BUF_MAX) {
        return -1;
    }

    n = *cap ? *cap : 256;
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


static int
hl_send(hl_conn_t *c, unsigned op, const void *p, size_t n)
{
    size_t    hlen;
    uint8_t   mask[4];
    uint64_t  r;

    if (c->state == HL_DEAD) {
        return -1;
    }

    if (c->out_pos && c->out_pos == c->out_len) {
        c->out_pos = c->out_len = 0;
    }

    if (hl_reserve(&c->out, &c->out_cap, c->out_len + n + HL_WS_MAX_HEADER)
        != 0)
    {
        hl_count(hl.closes, "send buffer full", 16);
        hl_conn_close(c);
        return -1;
    }

    r = hl_random();
    memcpy(mask, &r, 4);

    hlen = hl_ws_write_header(c->out + c->out_len, op, n, mask);
    memcpy(c->out + c->out_len + hlen, p, n);
    hl_ws_mask(c->out + c->out_len + hlen, n, mask, 0);
    c->out_len += hlen + n;

    if (!c->dirty) {
        c->dirty = 1;
        hl.dirty[hl.ndirty++] = c;
    }

    return 0;
}


/* what the client does */


static void
hl_on_open(hl_conn_t *c)
{
    int  n;

    if (hl.bare || c->role != HL_CUSTOMER) {
        return;
    }

    n = snprintf(hl.scratch, sizeof(hl.scratch),
                 "{\"type\":\"join\",\"name\":\"customer %u\"}",
                 (unsigned) c->id);

    hl_send(c, HL_WS_OP_TEXT, hl.scratch, n);
}


static void
hl_on_text(hl_conn_t *c, const char *p, size_t n)
{
    size_t       len;
    const char  *type, *v;

    if (hl.verbose && !hl.sending) {
        fprintf(stderr, "%s %u <- %.*s\n",
                c->role == HL_CUSTOMER ? "customer" : "agent",
                (unsigned) c->id, (int) (n > 300 ? 300 : n), p);
    }

    if (hl.bare && !hl.bare_acks) {
        hl_on_chat(c, p, n);
        return;
    }

    type = hl_json_str(p, n, "type", &len);

    if (type == NULL) {
        hl.others++;
        return;
    }

#define hl_is(s)  (len == sizeof(s) - 1 && memcmp(type, s, len) == 0)

    if (hl_is("chat")) {
        hl_on_chat(c, p, n);

    } else if (hl_is("ack")) {
        v = hl_json_str(p, n, "id", &len);

        /* the agent's "accept" is acked too; count chat acks only */
        if (v && len > 1 && v[0] == 'm') {
            c->acks++;
        }

    } else if (hl_is("welcome")) {
        if (!c->welcomed) {
            c->welcomed = 1;
            hl.pending--;
            hl.t_welcome = hl_now();
        }

        v = hl_json_str(p, n, "call_id", &len);
        if (v && len < sizeof(c->call_id)) {
            memcpy(c->call_id, v, len);
            c->call_id[len] = '\0';
        }

    } else if (hl_is("accepted")) {
        c->accepted = 1;

        if (c->t_accept) {
            hl_hist_add(&hl.hist, hl_now() - c->t_accept);
            c->t_accept = 0;
            hl.accepted_n++;
        }

    } else if (hl_is("position")) {
        hl.positions++;
        hl.t_position = hl_now();
        c->position = (uint32_t) hl_json_uint(p, n, "position");

    } else if (hl_is("queue")) {
        hl.queue_msgs++;

    } else if (hl_is("ended")) {
        c->ended = 1;

    } else if (hl_is("error")) {
        v = hl_json_str(p, n, "code", &len);
        hl_count(hl.errors, v ? v : "?", v ? len : 1);

        v = hl_json_str(p, n, "id", &len);
        if (v && len == 3 && memcmp(v, "acc", 3) == 0) {
            c->refused = 1;

        } else if (v && len > 1 && v[0] == 'm') {
            /* a chat message that will never reach the peer */
            c->rejected++;

            if (hl.sending && hl.rate == 0) {
                hl_top_up(c);
            }
        }

    } else {
        hl.others++;
    }

#undef hl_is
}


static void
hl_on_chat(hl_conn_t *c, const char *p, size_t n)
{
    char        *end;
    size_t       len;
    uint64_t     now, ts;
    hl_conn_t   *s;
    const char  *v;

    now = hl_now();

    v = hl_json_str(p, n, "text", &len);

    if (v == NULL || len < 3 || v[0] != 't' || v[1] != '=') {
        hl.bad_payload++;
        return;
    }

    ts = strtoull(v + 2, &end, 10);

    if (end == v + 2 || ts > now) {
        hl.bad_payload++;
        return;
    }

    hl.recv_total++;

    if (now >= hl.t_warm && now < hl.t_end) {
        hl.recv_window++;
        hl_hist_add(&hl.hist, now - ts);
    }

    s = c->peer;
    if (s == NULL) {
        return;
    }

    s->delivered++;

    if (hl.sending && hl.rate == 0) {
        hl_top_up(s);
    }
}


/* the event loop */


static int
hl_poll(int timeout_ms)
{
    int                 i, n;
    size_t              k, m;
    hl_conn_t          *c;
    struct epoll_event  ev[HL_EVENTS];

    if (hl.ndirty || hl.nreread) {
        timeout_ms = 0;
    }

    n = epoll_wait(hl.ep, ev, HL_EVENTS, timeout_ms);

    if (n < 0) {
        if (errno == EINTR) {
            return 0;
        }
        perror("hl_load: epoll_wait");
        return -1;
    }

    /* input left unread by the bounded read loop; reads may add more */
    m = hl.nreread;

    for (k = 0; k < m; k++) {
        c = hl.reread[k];
        c->reread = 0;
        hl_conn_read(c);
    }

    memmove(hl.reread, hl.reread + m, (hl.nreread - m) * sizeof(hl_conn_t *));
    hl.nreread -= m;

    for (i = 0; i < n; i++) {
        if (ev[i].data.ptr == NULL) {
            hl_tick();
            continue;
        }

        hl_conn_event(ev[i].data.ptr, ev[i].events);
    }

    /* write what this pass produced, one write per connection */
    for (k = 0; k < hl.ndirty; k++) {
        c = hl.dirty[k];
        c->dirty = 0;

        if (c->state == HL_OPEN || c->state == HL_HANDSHAKE) {
            hl_conn_flush(c);
        }
    }

    hl.ndirty = 0;

    return 0;
}


static int
hl_run_until(int (*done)(void *), void *data, uint64_t ms)
{
    uint64_t  deadline;

    deadline = hl_now() + ms * 1000000;

    if (hl.setup_end && deadline > hl.setup_end) {
        deadline = hl.setup_end;
    }

    while (!done(data)) {
        if (hl_now() >= deadline) {
            return -1;
        }

        if (hl_poll(10) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * The string value of "key" in a flat JSON text, without unescaping (the
 * values this client reads hold no escapes).  Good enough for the
 * module's messages; not a JSON parser.
 */

static const char *
hl_json_str(const char *p, size_t n, const char *key, size_t *len)
{
    size_t       klen;
    const char  *end, *s, *v, *q;

    klen = strlen(key);
    end = p + n;
    s = p;

    while (s < end) {
        s = memchr(s, '"', end - s);
        if (s == NULL || (size_t) (end - s) < klen + 2) {
            return NULL;
        }

        if (memcmp(s + 1, key, klen) != 0 || s[klen + 1] != '"') {
            s++;
            continue;
        }

        v = s + klen + 2;
        while (v < end && (*v == ' ' || *v == ':')) {
            v++;
        }

        if (v >= end || *v != '"') {
            s = v;
            continue;
        }

        v++;
        q = memchr(v, '"', end - v);
        if (q == NULL) {
            return NULL;
        }

        *len = q - v;
        return v;
    }

    return NULL;
}


/* the unsigned number value of "key" in a flat JSON text, 0 if none */

static uint64_t
hl_json_uint(const char *p, size_t n, const char *key)
{
    size_t       klen;
    const char  *end, *s;

    klen = strlen(key);
    end = p + n;

    for (s = p; s + klen + 3 < end; s++) {
        if (s[0] == '"' && memcmp(s + 1, key, klen) == 0
            && s[klen + 1] == '"' && s[klen + 2] == ':')
        {
            return strtoull(s + klen + 3, NULL, 10);
        }
    }

    return 0;
}


/* relay mode */


static int
hl_all_open(void *data)
{
    unsigned     i;
    hl_conn_t  **c;

    c = ((hl_conn_t ***) data)[0];

    for (i = 0; c[i]; i++) {
        if (c[i]->state == HL_DEAD) {
            continue;
        }

        if (c[i]->state != HL_OPEN) {
            return 0;
        }

        /* a customer has its call id, an agent its welcome */
        if (!hl.bare && !c[i]->welcomed) {
            return 0;
        }
    }

    return 1;
}


static int
hl_all_accepted(void *data)
{
    unsigned     i;
    hl_conn_t  **c, *a;

    c = ((hl_conn_t ***) data)[0];

    for (i = 0; c[i]; i++) {
        if (c[i]->state == HL_OPEN && !c[i]->accepted && !c[i]->refused) {
            return 0;
        }

        a = c[i]->peer;

        if (a && a->state == HL_OPEN && !a->accepted && !a->refused) {
            return 0;
        }
    }

    return 1;
}


/*
 * The coordinator: forks --procs generator processes (hl_relay_gen), each
 * with its share of the calls and of the rate, starts their measured
 * window together, reads the server's CPU time over it, and reports the
 * sum of their results.
 */

static int
hl_relay(void)
{
    int          i, k, ok;
    double       cpu0[HL_PROC_MAX], cpu[HL_PROC_MAX];
    uint64_t     t0, t_warm, t_end;
    hl_result_t  sum;

    i = hl_team_fork(&hl.team, (int) hl.gen_procs);

    if (i >= 0) {
        hl.index = i;
        k = hl_relay_gen(i);
        fflush(stdout);
        fflush(stderr);
        _exit(k);
    }

    if (i == -2) {
        fprintf(stderr, "hl_load: cannot start the generator processes\n");
        return 1;
    }

    t0 = hl_team_go(&hl.team, HL_SETUP_ALL_MS + HL_SETUP_MS);

    if (t0 == 0) {
        fprintf(stderr, "hl_load: a generator process was not ready\n");
        t0 = hl_now();
    }

    t_warm = t0 + (uint64_t) (hl.warmup * 1e9);
    t_end = t_warm + (uint64_t) (hl.duration * 1e9);

    hl_sleep_until(t_warm);

    for (k = 0; k < hl.procs.n; k++) {
        cpu0[k] = hl_proc_cpu(hl.procs.pid[k]);
    }

    hl_sleep_until(t_end);

    for (k = 0; k < hl.procs.n; k++) {
        cpu[k] = hl_proc_cpu(hl.procs.pid[k]) - cpu0[k];
    }

    ok = hl_team_wait(&hl.team, 2 * HL_DRAIN_MS + 5000, &sum);

    hl_relay_report(&sum, cpu, hl.duration);

    return (ok == hl.team.procs && sum.pairs) ? 0 : 1;
}


/* A generator process: its calls, the window, its result. */

static int
hl_relay_gen(int index)
{
    int           rc;
    size_t        k;
    unsigned      i, first;
    hl_conn_t    *c;
    hl_result_t  *r;

    r = &hl.team.sh->res[index];

    /* this process' share: calls first..first+n, rate / procs */
    first = 0;

    for (i = 0; i < (unsigned) index; i++) {
        first += hl.n / hl.gen_procs + (i < hl.n % hl.gen_procs);
    }

    hl.pair_base += first;
    hl.n = hl.n / hl.gen_procs + ((unsigned) index < hl.n % hl.gen_procs);
    hl.rate /= hl.gen_procs;
    r->calls = hl.n;

    if (hl_loop_init() != 0 || hl_relay_setup() != 0) {
        hl_team_ready(&hl.team);
        return 1;
    }

    hl_count_cross(r, 0);

    hl.senders = malloc(2 * r->pairs * sizeof(hl_conn_t *) + 1);
    if (hl.senders == NULL) {
        hl_team_ready(&hl.team);
        return 1;
    }

    for (k = 0; k < hl.nall; k++) {
        c = hl.all[k];

        if (c->role == HL_CUSTOMER && c->state == HL_OPEN && c->peer
            && c->peer->state == HL_OPEN)
        {
            hl.senders[hl.nsenders++] = c;
            hl.senders[hl.nsenders++] = c->peer;
        }
    }

    r->senders = (unsigned) hl.nsenders;

    hl.t_start = hl_team_ready(&hl.team);

    if (hl.t_start == 0 || r->pairs == 0) {
        rc = 1;
        goto done;
    }

    rc = hl_relay_measure(r);

    /* where the parties are now: a server may have moved them */
    r->cross_end = r->cross;

    if (rc == 0 && !hl.bare) {
        hl_assign_workers(hl.all, hl.nall);
        hl_count_cross(r, 1);
        hl_relay_teardown(r);
    }

    r->ok = (rc == 0);

done:

    memcpy(r->errors, hl.errors, sizeof(hl.errors));
    memcpy(r->closes, hl.closes, sizeof(hl.closes));
    memcpy(r->refusals, hl.refusals, sizeof(hl.refusals));

    return rc;
}


static void
hl_sleep_until(uint64_t t)
{
    struct timespec  ts;

    ts.tv_sec = (time_t) (t / 1000000000);
    ts.tv_nsec = (long) (t % 1000000000);

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)
           == EINTR)
    {
        /* again */
    }
}


static int
hl_relay_setup(void)
{
    int         n;
    char        path[64];
    unsigned    i, b, batch;
    hl_conn_t  *cust[65];

    /* batches keep the module's queue, and its broadcasts to the agents
     * already online, short */
    batch = 64;
    hl.setup_end = hl_now() + (uint64_t) HL_SETUP_ALL_MS * 1000000;

    for (b = 0; b < hl.n; b += batch) {
        n = 0;

        for (i = b; i < hl.n && i < b + batch; i++) {
            if (hl.bare) {
                snprintf(path, sizeof(path), "/pair/%u", hl.pair_base + i);

            } else {
                snprintf(path, sizeof(path), "/ws/customer");
            }

            cust[n] = hl_conn_open(HL_CUSTOMER, path, NULL, i);
            if (cust[n] == NULL) {
                return -1;
            }
            n++;
        }

        cust[n] = NULL;

        if (hl_relay_batch(cust, n) != 0) {
            return -1;
        }
    }

    hl.setup_end = 0;

    return 0;
}


static int
hl_relay_batch(hl_conn_t **cust, unsigned n)
{
    int         len;
    char        path[64], sub[32], token[1024], msg[160];
    time_t      exp;
    unsigned    i, j, r, na, left;
    hl_conn_t  *att[65], *a, *u, **arg[1];

    arg[0] = cust;

    if (hl_run_until(hl_all_open, arg, HL_SETUP_MS) != 0) {
        fprintf(stderr, "hl_load: customers not open in time\n");
    }

    if (!hl.bare) {
        hl_assign_workers(cust, n);
    }

    exp = time(NULL) + 3600;

    /* after --rounds, two more rounds for attempts refused meanwhile */
    for (r = 0; r < hl.rounds + 2; r++) {
        na = 0;
        left = 0;

        for (i = 0; i < n; i++) {
            u = cust[i];

            if (u->state != HL_OPEN || u->peer) {
                continue;
            }

            left++;

            if (hl.bare) {
                snprintf(path, sizeof(path), "/pair/%u", hl.pair_base + u->id);
                att[na] = hl_conn_open(HL_AGENT, path, NULL, u->id);

            } else {
                /* unique per run: a name of an earlier run would take
                 * over that run's session (and maybe its call) */
                snprintf(sub, sizeof(sub), "agent%u",
                         (unsigned) (getpid() % 100000) * 10000
                         + ++hl.agent_seq);

                if (hl_jwt_mint(hl.jwt_key, hl.jwt_key_len, sub, exp, token,
                                sizeof(token))
                    < 0)
                {
                    return -1;
                }

                att[na] = hl_conn_open(HL_AGENT, "/ws/agent", token, u->id);
            }

            if (att[na] == NULL) {
                return -1;
            }

            na++;
        }

        if (left == 0) {
            break;
        }

        att[na] = NULL;
        arg[0] = att;

        if (hl_run_until(hl_all_open, arg, HL_SETUP_MS) != 0) {
            fprintf(stderr, "hl_load: agents not open in time\n");
        }

        if (!hl.bare) {
            hl_assign_workers(att, na);
        }

        /* pair each agent with a customer on the other worker; in the
         * last round, with any */
        for (j = 0; j < na; j++) {
            a = att[j];

            if (a->state != HL_OPEN) {
                continue;
            }

            u = NULL;

            for (i = 0; i < n; i++) {
                if (cust[i]->state != HL_OPEN || cust[i]->peer) {
                    continue;
                }

                if (hl.bare && cust[i]->id != a->id) {
                    continue;
                }

                if (r + 1 >= hl.rounds || a->worker < 0
                    || cust[i]->worker < 0 || cust[i]->worker != a->worker)
                {
                    u = cust[i];
                    break;
                }
            }

            if (u == NULL) {
                hl_conn_close(a);
                continue;
            }

            u->peer = a;
            a->peer = u;

            if (hl.bare) {
                u->accepted = 1;
                a->accepted = 1;
                continue;
            }

            len = snprintf(msg, sizeof(msg),
                           "{\"type\":\"accept\",\"call_id\":\"%s\","
                           "\"id\":\"acc\"}", u->call_id);
            hl_send(a, HL_WS_OP_TEXT, msg, len);
        }
    }

    if (hl.bare) {
        return 0;
    }

    arg[0] = cust;

    if (hl_run_until(hl_all_accepted, arg, HL_SETUP_MS) != 0) {
        fprintf(stderr, "hl_load: calls not accepted in time\n");
    }

    for (i = 0; i < n; i++) {
        u = cust[i];

        if (u->peer && (!u->accepted || u->refused || !u->peer->accepted
                        || u->peer->refused))
        {
            /* not a call: leave both out */
            hl_conn_close(u->peer);
            hl_conn_close(u);
        }
    }

    return 0;
}


/* the calls set up, and where their parties are (end: cross_end only) */

static void
hl_count_cross(hl_result_t *r, int end)
{
    unsigned    k, pairs, cross, same, unknown;
    hl_conn_t  *c;

    pairs = 0;
    cross = 0;
    same = 0;
    unknown = 0;

    for (k = 0; k < hl.nall; k++) {
        c = hl.all[k];

        if (c->role != HL_CUSTOMER || c->state != HL_OPEN || c->peer == NULL
            || c->peer->state != HL_OPEN)
        {
            continue;
        }

        pairs++;

        if (c->worker < 0 || c->peer->worker < 0) {
            unknown++;

        } else if (c->worker != c->peer->worker) {
            cross++;

        } else {
            same++;
        }
    }

    if (end) {
        r->cross_end = cross;
        return;
    }

    r->pairs = pairs;
    r->cross = cross;
    r->same = same;
    r->unknown = unknown;
}


static void
hl_assign_workers(hl_conn_t **c, unsigned n)
{
    unsigned      i;
    hl_sockmap_t  m;

    if (hl.main_pid <= 0) {
        return;
    }

    /* workers may have been replaced since the start */
    hl_procs_find(hl.main_pid, &hl.procs);

    if (hl_sockmap_build(&hl.procs, hl.port, &m) != 0) {
        return;
    }

    for (i = 0; i < n; i++) {
        if (c[i]->state == HL_OPEN) {
            c[i]->worker = hl_sockmap_find(&m, c[i]->laddr, c[i]->lport) - 1;
        }
    }

    hl_sockmap_free(&m);
}


static void
hl_send_chat(hl_conn_t *s)
{
    int   n, t;
    char  text[4100], buf[4200];

    t = snprintf(text, sizeof(text), "t=%llu call=%u from=%s n=%llu ",
                 (unsigned long long) hl_now(), (unsigned) s->id,
                 s->role == HL_CUSTOMER ? "customer" : "agent",
                 (unsigned long long) s->sent);

    /* pad the text to --size bytes */
    if ((unsigned) t < hl.size) {
        memset(text + t, 'x', hl.size - t);
        t = hl.size;
    }

    n = snprintf(buf, sizeof(buf),
                 "{\"type\":\"chat\",\"id\":\"m%llu\",\"text\":\"%.*s\"}",
                 (unsigned long long) s->sent, t, text);

    if (hl_send(s, HL_WS_OP_TEXT, buf, n) == 0) {
        s->sent++;
        hl.sent_total++;
    }
}


static void
hl_top_up(hl_conn_t *s)
{
    while (s->state == HL_OPEN
           && s->sent - s->delivered - s->rejected < hl.window)
    {
        hl_send_chat(s);
    }
}


static void
hl_tick(void)
{
    uint64_t   exp, due, now;
    hl_conn_t *s;

    if (read(hl.tfd, &exp, sizeof(exp)) != sizeof(exp)) {
        return;
    }

    if (!hl.sending || hl.rate == 0) {
        return;
    }

    now = hl_now();
    due = (uint64_t) ((double) (now - hl.t_start) * hl.rate / 1e9);

    while (hl.scheduled < due) {
        hl.scheduled++;

        s = hl.senders[hl.rr++ % hl.nsenders];

        if (s->state != HL_OPEN
            || s->sent - s->delivered - s->rejected >= HL_RATE_INFLIGHT)
        {
            hl.skipped++;
            continue;
        }

        hl_send_chat(s);
    }
}


static int
hl_drained(void *data)
{
    size_t      k;
    hl_conn_t  *s;

    (void) data;

    for (k = 0; k < hl.nsenders; k++) {
        s = hl.senders[k];

        if (s->state == HL_OPEN && s->peer->state == HL_OPEN
            && (s->delivered + s->rejected < s->sent
                || ((!hl.bare || hl.bare_acks)
                    && s->acks + s->rejected < s->sent)))
        {
            return 0;
        }
    }

    return 1;
}


static int
hl_relay_measure(hl_result_t *r)
{
    size_t             i;
    double             gen0, gen1;
    struct rusage      ru;
    struct itimerspec  its;
    uint64_t           period;

    memset(&its, 0, sizeof(its));

    if (hl.rate > 0) {
        /* a tick per message, between 50 us and 1 ms */
        period = (uint64_t) (1e9 / hl.rate);
        period = period < 50000 ? 50000 : period > 1000000 ? 1000000 : period;
        its.it_interval.tv_nsec = (long) period;
        its.it_value.tv_nsec = (long) period;

        if (timerfd_settime(hl.tfd, 0, &its, NULL) != 0) {
            perror("hl_load: timerfd_settime");
            return -1;
        }
    }

    /* hl.t_start: the common start of every generator process */
    while (hl_now() < hl.t_start) {
        if (hl_poll(1) != 0) {
            return -1;
        }
    }

    hl.t_warm = hl.t_start + (uint64_t) (hl.warmup * 1e9);
    hl.t_end = hl.t_warm + (uint64_t) (hl.duration * 1e9);
    hl.sending = 1;

    if (hl.rate == 0) {
        for (i = 0; i < hl.nsenders; i++) {
            hl_top_up(hl.senders[i]);
        }
    }

    /* warm-up, then the measured window */
    while (hl_now() < hl.t_warm) {
        if (hl_poll(1) != 0) {
            return -1;
        }
    }

    getrusage(RUSAGE_SELF, &ru);
    gen0 = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
           + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

    while (hl_now() < hl.t_end) {
        if (hl_poll(1) != 0) {
            return -1;
        }
    }

    getrusage(RUSAGE_SELF, &ru);
    gen1 = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
           + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

    hl.sending = 0;

    memset(&its, 0, sizeof(its));
    timerfd_settime(hl.tfd, 0, &its, NULL);

    r->gen_cpu = gen1 - gen0;
    r->recv_window = hl.recv_window;
    r->skipped = hl.skipped;

    hl_run_until(hl_drained, NULL, HL_DRAIN_MS);

    for (i = 0; i < hl.nsenders; i++) {
        r->sent += hl.senders[i]->sent;
        r->acks += hl.senders[i]->acks;
        r->delivered += hl.senders[i]->delivered;
        r->rejected += hl.senders[i]->rejected;
    }

    r->bad_payload = hl.bad_payload;
    memcpy(&r->hist, &hl.hist, sizeof(hl_hist_t));

    return 0;
}


/*
 * The run's report: per server process and per generator process CPU,
 * the message counts, throughput, throughput per core of server CPU,
 * latency, and the RESULT line.
 */

static void
hl_relay_report(hl_result_t *r, double *cpu, double secs)
{
    int        k;
    long       pss, rss;
    double     mps, server_cpu, gen_max, g;
    uint64_t   lost;

    printf("%s: cpu over the window (%% of one core):", hl.label);

    server_cpu = 0;

    for (k = 0; k < hl.procs.n; k++) {
        server_cpu += cpu[k];
        printf(" %s%d=%.0f", k ? "worker" : "main", (int) hl.procs.pid[k],
               100 * cpu[k] / secs);
    }

    gen_max = 0;

    for (k = 0; k < hl.team.procs; k++) {
        g = hl.team.sh->res[k].gen_cpu;
        gen_max = g > gen_max ? g : gen_max;

        printf(" hl_load%s%d=%.0f", hl.team.procs > 1 ? "#" : "",
               hl.team.procs > 1 ? k : 0, 100 * g / secs);
    }

    printf("\n");

    printf("%s: %u of %u calls set up by %d generator process%s:"
           " %u cross-worker, %u same-worker, %u unknown;"
           " %u cross-worker at the end\n", hl.label,
           r->pairs, r->calls, hl.team.procs, hl.team.procs > 1 ? "es" : "",
           r->cross, r->same, r->unknown, r->cross_end);

    lost = r->sent - r->delivered - r->rejected;
    mps = (double) r->recv_window / secs;

    printf("%s: %u senders, sent %llu, delivered %llu, refused with an"
           " error %llu, lost %llu, acks %llu, skipped %llu, bad %llu\n",
           hl.label, r->senders, (unsigned long long) r->sent,
           (unsigned long long) r->delivered,
           (unsigned long long) r->rejected, (unsigned long long) lost,
           (unsigned long long) r->acks, (unsigned long long) r->skipped,
           (unsigned long long) r->bad_payload);

    printf("%s: %.0f msgs/s delivered in %.1f s; latency us: p50 %.0f"
           " p99 %.0f p99.9 %.0f max %.0f mean %.0f (%llu samples)\n",
           hl.label, mps, secs,
           hl_hist_quantile(&r->hist, 0.50) / 1e3,
           hl_hist_quantile(&r->hist, 0.99) / 1e3,
           hl_hist_quantile(&r->hist, 0.999) / 1e3,
           r->hist.max / 1e3,
           r->hist.count ? (double) r->hist.sum / r->hist.count / 1e3 : 0,
           (unsigned long long) r->hist.count);

    if (server_cpu > 0) {
        printf("%s: %.0f msgs/s per core of server CPU (%.2f us of server"
               " CPU per message)\n", hl.label, mps * secs / server_cpu,
               mps > 0 ? 1e6 * server_cpu / (mps * secs) : 0);
    }

    if (gen_max / secs > 0.9) {
        printf("%s: a generator process used %.0f%% of a core: add"
               " --procs\n", hl.label, 100 * gen_max / secs);
    }

    if (!hl.bare) {
        printf("%s: hangup: %u of %u parties got \"ended\"\n", hl.label,
               r->ended, r->senders);
    }

    hl_count_print("refused", r->refusals);
    hl_count_print("errors", r->errors);
    hl_count_print("closes", r->closes);

    if (hl.pid_file && hl_procs_mem(&hl.procs, &pss, &rss, NULL) == 0) {
        printf("%s: server Pss %ld KiB, Rss %ld KiB\n", hl.label, pss, rss);
    }

    printf("RESULT label=%s calls=%u cross=%u cross_end=%u rate=%.0f"
           " mps=%.0f"
           " p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f sent=%llu"
           " delivered=%llu acks=%llu skipped=%llu errors=%llu"
           " server_cpu=%.0f gen_cpu=%.0f gen_procs=%d gen_max=%.0f"
           " per_core=%.0f\n",
           hl.label, r->pairs, r->cross, r->cross_end, hl.rate, mps,
           hl_hist_quantile(&r->hist, 0.50) / 1e3,
           hl_hist_quantile(&r->hist, 0.99) / 1e3,
           hl_hist_quantile(&r->hist, 0.999) / 1e3,
           r->hist.max / 1e3,
           (unsigned long long) r->sent, (unsigned long long) r->delivered,
           (unsigned long long) r->acks, (unsigned long long) r->skipped,
           (unsigned long long) hl_count_total(r->errors),
           100 * server_cpu / secs, 100 * r->gen_cpu / secs, hl.team.procs,
           100 * gen_max / secs,
           server_cpu > 0 ? mps * secs / server_cpu : 0);
}


static int
hl_all_ended(void *data)
{
    size_t  k;

    (void) data;

    for (k = 0; k < hl.nsenders; k++) {
        if (hl.senders[k]->state == HL_OPEN && !hl.senders[k]->ended) {
            return 0;
        }
    }

    return 1;
}


static void
hl_relay_teardown(hl_result_t *r)
{
    size_t     k;
    hl_conn_t *c;

    static const char  hangup[] = "{\"type\":\"hangup\"}";

    for (k = 0; k < hl.nsenders; k++) {
        c = hl.senders[k];

        if (c->role == HL_CUSTOMER) {
            hl_send(c, HL_WS_OP_TEXT, hangup, sizeof(hangup) - 1);
        }
    }

    hl_run_until(hl_all_ended, NULL, HL_DRAIN_MS);

    for (k = 0; k < hl.nsenders; k++) {
        r->ended += hl.senders[k]->ended;
    }
}


/* idle mode */


static int
hl_idle_done(void *data)
{
    (void) data;

    return hl.nall == hl.n && hl.pending == 0;
}


static void
hl_idle_signal(int signo)
{
    (void) signo;

    hl_hold_end = 1;
}


static int
hl_idle(void)
{
    int                k, w;
    long               pss0, rss0, pss1, rss1, each0[HL_PROC_MAX];
    long               each1[HL_PROC_MAX];
    size_t             joined, dead;
    uint64_t           deadline, settle, t_last;
    unsigned           per[HL_PROC_MAX + 1];
    hl_sockmap_t       m;
    struct sigaction   sa;

    if (hl.main_pid <= 0) {
        fprintf(stderr, "hl_load: idle needs --pid-file\n");
        return 1;
    }

    if (hl_procs_mem(&hl.procs, &pss0, &rss0, each0) != 0) {
        fprintf(stderr, "hl_load: cannot read the server's smaps_rollup\n");
        return 1;
    }

    /* no SA_RESTART: the signal interrupts epoll_wait() */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = hl_idle_signal;
    sigemptyset(&sa.sa_mask);

    if (sigaction(SIGUSR1, &sa, NULL) != 0) {
        perror("hl_load: sigaction");
        return 1;
    }

    deadline = hl_now() + (uint64_t) hl.join_timeout * 1000000000;

    /* open with a bounded number of handshakes in flight */
    while (!hl_idle_done(NULL)) {
        if (hl_now() >= deadline) {
            fprintf(stderr, "hl_load: idle: not all joined in time\n");

            /* the ones not welcomed go: what is held is what joined */
            for (k = 0; (size_t) k < hl.nall; k++) {
                if (!hl.all[k]->welcomed) {
                    hl_conn_close(hl.all[k]);
                }
            }

            break;
        }

        while (hl.nall < hl.n && hl.pending < HL_IDLE_INFLIGHT) {
            if (hl_conn_open(HL_CUSTOMER, "/ws/customer", NULL,
                             (uint32_t) hl.nall)
                == NULL)
            {
                return 1;
            }
        }

        if (hl_poll(10) != 0) {
            return 1;
        }
    }

    joined = 0;

    for (k = 0; (size_t) k < hl.nall; k++) {
        joined += (hl.all[k]->state != HL_DEAD && hl.all[k]->welcomed);
    }

    /* the admission is over: welcomes from here on are not counted */
    t_last = hl.t_welcome;

    /* a script waits for this line to look at the server meanwhile */
    printf("%s: joined %zu of %u, %.3f s from the first connect to the"
           " last welcome\n", hl.label, joined, hl.n,
           t_last > hl.t_first ? (double) (t_last - hl.t_first) / 1e9 : 0);
    fflush(stdout);

    /* let the workers settle (and answer any ping); --hold S (or
       HL_IDLE_HOLD=S more) holds the connections, to look at the server
       meanwhile, until SIGUSR1 */
    settle = hl_now() + (uint64_t) hl.hold * 1000000000;

    if (getenv("HL_IDLE_HOLD") != NULL) {
        settle += (uint64_t) atoi(getenv("HL_IDLE_HOLD")) * 1000000000;
    }

    while (hl_now() < settle && !hl_hold_end) {
        if (hl_poll(50) != 0) {
            return 1;
        }
    }

    joined = 0;
    dead = 0;

    for (k = 0; (size_t) k < hl.nall; k++) {
        if (hl.all[k]->state == HL_DEAD) {
            dead++;

        } else if (hl.all[k]->welcomed) {
            joined++;
        }
    }

    hl_procs_find(hl.main_pid, &hl.procs);

    if (hl_procs_mem(&hl.procs, &pss1, &rss1, each1) != 0) {
        fprintf(stderr, "hl_load: cannot read the server's smaps_rollup\n");
        return 1;
    }

    memset(per, 0, sizeof(per));

    if (hl_sockmap_build(&hl.procs, hl.port, &m) == 0) {
        for (k = 0; (size_t) k < hl.nall; k++) {
            if (hl.all[k]->state == HL_OPEN) {
                w = hl_sockmap_find(&m, hl.all[k]->laddr, hl.all[k]->lport);
                per[w < 0 ? HL_PROC_MAX : w]++;
            }
        }

        hl_sockmap_free(&m);
    }

    printf("%s: %zu connections open and joined, %zu closed or refused\n",
           hl.label, joined, dead);

    printf("%s: per process (pid: Pss before -> after KiB, connections):",
           hl.label);

    for (k = 0; k < hl.procs.n; k++) {
        printf(" %d: %ld -> %ld, %u;", (int) hl.procs.pid[k], each0[k],
               each1[k], per[k]);
    }

    printf("\n");

    printf("%s: server Pss %ld -> %ld KiB, Rss %ld -> %ld KiB\n", hl.label,
           pss0, pss1, rss0, rss1);

    hl_count_print("refused", hl.refusals);
    hl_count_print("errors", hl.errors);
    hl_count_print("closes", hl.closes);

    printf("%s: %.2f KiB Pss per joined idle connection\n", hl.label,
           joined ? (double) (pss1 - pss0) / joined : 0);

    printf("RESULT label=%s conns=%zu pss0=%ld pss1=%ld rss0=%ld rss1=%ld"
           " kib_per_conn=%.2f rss_kib_per_conn=%.2f t_first=%llu"
           " t_welcome=%llu\n", hl.label, joined,
           pss0, pss1, rss0, rss1,
           joined ? (double) (pss1 - pss0) / joined : 0,
           joined ? (double) (rss1 - rss0) / joined : 0,
           (unsigned long long) hl.t_first, (unsigned long long) t_last);

    return joined == hl.n ? 0 : 1;
}


/*
 * queue mode: N customers wait, K agents accept the K oldest calls at
 * once (a burst), R times.  The customers are held by --procs processes
 * (a process may hold only so many descriptors), the agents by the one
 * that forked them, which runs the rounds; they meet in shared memory.
 * Per round, every holder notes the positions its customers had before
 * it; the round is over when every agent has its "accepted" and every
 * customer behind them has its position moved up by K.  Counted: the
 * position messages the customers got in the round, per accept, and the
 * accept latency.
 */

#define HL_QUEUE_JOIN_MS   600000     /* 50,000 joins on a loaded machine */
#define HL_QUEUE_QUIET_MS  2000       /* no position message: settled */
#define HL_QUEUE_SETTLE_MS 120000
#define HL_QUEUE_ROUND_MS  120000


typedef struct {
    volatile uint32_t  ready;         /* joining is over */
    volatile uint32_t  joined;
    volatile uint32_t  round;         /* the positions before it noted */
    volatile uint32_t  remaining;     /* customers not moved up yet */
    volatile uint32_t  done;          /* final positions checked */
    volatile uint32_t  waiting;
    volatile uint32_t  bad;
    volatile uint64_t  positions;     /* position messages received */
    volatile uint64_t  t_position;    /* the last one */
} hl_holder_t;


typedef struct {
    volatile uint32_t  round;
    volatile uint32_t  stop;
    hl_holder_t        h[HL_TEAM_MAX];
    volatile uint8_t   seen[];        /* final positions, 1..n */
} hl_qshared_t;


static hl_qshared_t  *hl_qsh;
static uint32_t       hl_qsh_max;   /* the last index of seen */


/* the CPU seconds of the server's processes (--pid-file), 0 without */

static double
hl_proc_cpu_sum(void)
{
    int     k;
    double  sum;

    sum = 0;

    for (k = 0; hl.main_pid > 0 && k < hl.procs.n; k++) {
        sum += hl_proc_cpu(hl.procs.pid[k]);
    }

    return sum;
}


static uint32_t
hl_holder_remaining(void)
{
    size_t      k;
    uint32_t    n;
    hl_conn_t  *c;

    n = 0;

    for (k = 0; k < hl.nall; k++) {
        c = hl.all[k];

        if (c->state == HL_OPEN && c->pos0 > hl.agents
            && c->position != c->pos0 - hl.agents)
        {
            n++;
        }
    }

    return n;
}


/* a process holding "share" customers until the coordinator stops it */

static int
hl_holder(int index, unsigned share)
{
    size_t        k;
    uint32_t      round, old;
    uint64_t      deadline;
    hl_conn_t    *c;
    hl_holder_t  *h;

    h = &hl_qsh->h[index];
    hl.n = share;

    if (hl_loop_init() != 0) {
        return 1;
    }

    deadline = hl_now() + (uint64_t) HL_QUEUE_JOIN_MS * 1000000;

    while (hl.nall < share || hl.pending) {
        if (hl_now() >= deadline || getppid() == 1) {
            break;
        }

        while (hl.nall < share && hl.pending < HL_IDLE_INFLIGHT) {
            if (hl_conn_open(HL_CUSTOMER, "/ws/customer", NULL,
                             (uint32_t) (index * 1000000 + hl.nall))
                == NULL)
            {
                return 1;
            }
        }

        if (hl_poll(10) != 0) {
            return 1;
        }

        h->joined = (uint32_t) (hl.nall - hl.pending);
        h->positions = hl.positions;
        h->t_position = hl.t_position;
    }

    h->joined = 0;

    for (k = 0; k < hl.nall; k++) {
        h->joined += (hl.all[k]->state == HL_OPEN && hl.all[k]->welcomed);
    }

    __sync_synchronize();
    h->ready = 1;

    round = 0;

    /* bounded: the coordinator gives up within an hour */
    deadline = hl_now() + 3600ULL * 1000000000;

    while (!hl_qsh->stop && hl_now() < deadline && getppid() != 1) {
        if (hl_poll(10) != 0) {
            return 1;
        }

        h->positions = hl.positions;
        h->t_position = hl.t_position;

        if (hl_qsh->round != round) {
            round = hl_qsh->round;

            for (k = 0; k < hl.nall; k++) {
                hl.all[k]->pos0 = hl.all[k]->position;
            }

            h->remaining = hl_holder_remaining();
            __sync_synchronize();
            h->round = round;
            continue;
        }

        if (h->remaining) {
            h->remaining = hl_holder_remaining();
        }
    }

    /* the final positions: each of 1..waiting once */
    for (k = 0; k < hl.nall; k++) {
        c = hl.all[k];

        if (c->state != HL_OPEN || c->accepted) {
            continue;
        }

        h->waiting++;

        if (c->position == 0 || c->position > hl_qsh_max) {
            h->bad++;
            continue;
        }

        old = __sync_fetch_and_add(&hl_qsh->seen[c->position], 1);
        if (old) {
            h->bad++;
        }
    }

    hl_count_print("refused", hl.refusals);
    hl_count_print("errors", hl.errors);
    hl_count_print("closes", hl.closes);
    fflush(stdout);

    __sync_synchronize();
    h->done = 1;

    return 0;
}


static uint64_t
hl_qsum_positions(void)
{
    int       i;
    uint64_t  n;

    n = 0;

    for (i = 0; i < (int) hl.gen_procs; i++) {
        n += hl_qsh->h[i].positions;
    }

    return n;
}


static int
hl_queue_quiet(void *data)
{
    int       i;
    uint64_t  t, last;

    (void) data;

    if (hl.pending) {
        return 0;
    }

    last = hl.t_position;

    for (i = 0; i < (int) hl.gen_procs; i++) {
        t = hl_qsh->h[i].t_position;
        last = t > last ? t : last;
    }

    return hl_now() - last > (uint64_t) HL_QUEUE_QUIET_MS * 1000000;
}


static int
hl_queue_noted(void *data)
{
    int  i;

    for (i = 0; i < (int) hl.gen_procs; i++) {
        if (hl_qsh->h[i].round != *(uint32_t *) data) {
            return 0;
        }
    }

    return 1;
}


/* every agent answered, every customer behind them moved up by K */

static int
hl_queue_round_done(void *data)
{
    int  i;

    (void) data;

    if (hl.accepted_n < hl.agents) {
        return 0;
    }

    for (i = 0; i < (int) hl.gen_procs; i++) {
        if (hl_qsh->h[i].remaining) {
            return 0;
        }
    }

    return 1;
}


/* wait (at most ms) until every holder has set its flag at offset off */

static int
hl_holders_set(size_t off, uint64_t ms)
{
    int       i, all;
    uint64_t  deadline;

    deadline = hl_now() + ms * 1000000;

    for ( ;; ) {
        all = 1;

        for (i = 0; i < (int) hl.gen_procs; i++) {
            if (*(volatile uint32_t *) ((char *) &hl_qsh->h[i] + off) == 0) {
                all = 0;
            }
        }

        if (all) {
            return 0;
        }

        if (hl_now() >= deadline) {
            return -1;
        }

        if (hl.nall) {
            if (hl_poll(10) != 0) {
                return -1;
            }

        } else {
            usleep(10000);
        }
    }
}


static int
hl_agent_accepted(void *data)
{
    hl_conn_t  *a = data;

    return a->accepted || a->state != HL_OPEN;
}


/* what one mode's rounds measured */

typedef struct {
    uint64_t     positions;
    uint64_t     queue_msgs;
    uint64_t     accepts;
    uint64_t     busy_ns;
    double       cpu;
    unsigned     done;
    hl_hist_t    hist;
} hl_qstats_t;


/*
 * --rounds rounds of one mode: all agents accept at once (a burst), or
 * one after the other (serial: a burst over many event-loop turns); each
 * round ends with the calls hung up and the positions settled.
 */

static int
hl_queue_rounds(hl_conn_t **agents, int serial, hl_qstats_t *st)
{
    int          len;
    char         msg[160];
    double       cpu0;
    size_t       k;
    uint64_t     t1, pos0;
    uint32_t     round;
    unsigned     r;
    hl_conn_t   *c;
    static uint32_t  rounds;

    memset(st, 0, sizeof(hl_qstats_t));
    memset(&hl.hist, 0, sizeof(hl_hist_t));

    for (r = 0; r < hl.rounds; r++) {
        for (k = 0; k < hl.agents; k++) {
            if (agents[k]->state != HL_OPEN || !agents[k]->welcomed) {
                fprintf(stderr, "hl_load: queue: agent %zu is gone\n", k);
                return -1;
            }
        }

        /* the holders note the positions before the round */
        round = ++rounds;
        hl_qsh->round = round;

        if (hl_run_until(hl_queue_noted, &round, HL_SETUP_MS) != 0) {
            fprintf(stderr, "hl_load: queue: a holder is gone\n");
            return -1;
        }

        pos0 = hl_qsum_positions();
        hl.queue_msgs = 0;
        hl.accepted_n = 0;
        cpu0 = hl_proc_cpu_sum();
        t1 = hl_now();

        for (k = 0; k < hl.agents; k++) {
            c = agents[k];
            c->accepted = 0;
            c->t_accept = hl_now();
            len = snprintf(msg, sizeof(msg),
                           "{\"type\":\"accept\",\"id\":\"acc\"}");
            hl_send(c, HL_WS_OP_TEXT, msg, len);

            if (serial
                && hl_run_until(hl_agent_accepted, c, HL_SETUP_MS) != 0)
            {
                break;
            }
        }

        if (hl_run_until(hl_queue_round_done, NULL, HL_QUEUE_ROUND_MS) != 0) {
            fprintf(stderr, "hl_load: queue: round %u: %lu of %u accepted,"
                    " positions not all moved\n", r,
                    (unsigned long) hl.accepted_n, hl.agents);
            return -1;
        }

        st->busy_ns += hl_now() - t1;
        st->cpu += hl_proc_cpu_sum() - cpu0;
        st->positions += hl_qsum_positions() - pos0;
        st->queue_msgs += hl.queue_msgs;
        st->accepts += hl.accepted_n;
        st->done++;

        /* end the calls, and let the positions settle (not counted) */
        for (k = 0; k < hl.agents; k++) {
            hl_send(agents[k], HL_WS_OP_TEXT, "{\"type\":\"hangup\"}",
                    sizeof("{\"type\":\"hangup\"}") - 1);
        }

        hl.t_position = hl_now();

        if (hl_run_until(hl_queue_quiet, NULL, HL_QUEUE_SETTLE_MS) != 0) {
            fprintf(stderr, "hl_load: queue: positions did not settle\n");
            return -1;
        }
    }

    st->hist = hl.hist;

    return 0;
}


static void
hl_queue_report(const char *mode, hl_qstats_t *st, size_t wrong)
{
    double  a;

    a = st->accepts ? (double) st->accepts : 1;

    printf("%s %s: %u customers, %u agents, %u rounds: %lu accepts,"
           " accept latency p50 %.2f ms p99 %.2f ms max %.2f ms\n",
           hl.label, mode, hl.n, hl.agents, st->done,
           (unsigned long) st->accepts,
           hl_hist_quantile(&st->hist, 0.50) / 1e6,
           hl_hist_quantile(&st->hist, 0.99) / 1e6, st->hist.max / 1e6);
    printf("%s %s: position messages per accept %.1f, queue messages to"
           " agents per accept %.2f, server CPU per accept %.2f ms,"
           " accepts to settled positions %.0f ms a round\n", hl.label,
           mode, st->positions / a, st->queue_msgs / a, st->cpu * 1e3 / a,
           st->done ? (double) st->busy_ns / st->done / 1e6 : 0);
    printf("RESULT label=%s mode=%s customers=%u agents=%u accepts=%lu"
           " p50_ms=%.3f p99_ms=%.3f max_ms=%.3f pos_per_accept=%.2f"
           " queue_per_accept=%.3f cpu_ms_per_accept=%.3f"
           " settle_ms=%.0f wrong=%zu\n", hl.label, mode, hl.n, hl.agents,
           (unsigned long) st->accepts,
           hl_hist_quantile(&st->hist, 0.50) / 1e6,
           hl_hist_quantile(&st->hist, 0.99) / 1e6, st->hist.max / 1e6,
           st->positions / a, st->queue_msgs / a, st->cpu * 1e3 / a,
           st->done ? (double) st->busy_ns / st->done / 1e6 : 0, wrong);
}


static int
hl_queue(void)
{
    int           i, status, alive, rc;
    char          sub[32], token[1024];
    pid_t         pid[HL_TEAM_MAX];
    time_t        exp;
    size_t        size, k, waiting, bad, joined;
    uint64_t      t0;
    unsigned      r, share;
    hl_conn_t   **agents;
    hl_qstats_t   burst, serial;

    size = sizeof(hl_qshared_t) + hl.n + 1;
    hl_qsh = mmap(NULL, size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (hl_qsh == MAP_FAILED) {
        perror("hl_load: mmap");
        return 1;
    }

    memset((void *) hl_qsh, 0, size);
    hl_qsh_max = hl.n;
    fflush(stdout);
    t0 = hl_now();

    for (i = 0; i < (int) hl.gen_procs; i++) {
        share = hl.n / hl.gen_procs + ((unsigned) i < hl.n % hl.gen_procs);

        pid[i] = fork();

        if (pid[i] == 0) {
            _exit(hl_holder(i, share));
        }

        if (pid[i] < 0) {
            perror("hl_load: fork");
            hl_qsh->stop = 1;
            return 1;
        }
    }

    if (hl_loop_init() != 0) {
        hl_qsh->stop = 1;
        return 1;
    }

    (void) hl_holders_set(offsetof(hl_holder_t, ready), HL_QUEUE_JOIN_MS);

    joined = 0;

    for (i = 0; i < (int) hl.gen_procs; i++) {
        joined += hl_qsh->h[i].joined;
    }

    printf("%s: %zu of %u customers joined in %.1f s (%u processes)\n",
           hl.label, joined, hl.n, (double) (hl_now() - t0) / 1e9,
           hl.gen_procs);

    /* a connection of 100 lost on a loaded machine is noted, not fatal */
    agents = calloc(hl.agents, sizeof(hl_conn_t *));
    if (agents == NULL || joined + joined / 100 < hl.n) {
        hl_qsh->stop = 1;
        return 1;
    }

    exp = time(NULL) + 3600;

    for (r = 0; r < hl.agents; r++) {
        snprintf(sub, sizeof(sub), "qagent%u",
                 (unsigned) (getpid() % 100000) * 1000 + r);

        if (hl_jwt_mint(hl.jwt_key, hl.jwt_key_len, sub, exp, token,
                        sizeof(token))
            < 0)
        {
            hl_qsh->stop = 1;
            return 1;
        }

        agents[r] = hl_conn_open(HL_AGENT, "/ws/agent", token, r);
        if (agents[r] == NULL) {
            hl_qsh->stop = 1;
            return 1;
        }
    }

    hl.t_position = hl_now();

    if (hl_run_until(hl_queue_quiet, NULL, HL_QUEUE_SETTLE_MS) != 0) {
        fprintf(stderr, "hl_load: queue: positions did not settle\n");
        hl_qsh->stop = 1;
        return 1;
    }

    /* both modes on the same queue: 50,000 joins take minutes */
    memset(&serial, 0, sizeof(hl_qstats_t));
    rc = hl_queue_rounds(agents, 0, &burst);
    if (rc == 0) {
        rc = hl_queue_rounds(agents, 1, &serial);
    }

    /* the final positions: 1..waiting, each once */
    hl_qsh->stop = 1;
    (void) hl_holders_set(offsetof(hl_holder_t, done), HL_SETUP_MS);

    waiting = 0;
    bad = 0;

    for (i = 0; i < (int) hl.gen_procs; i++) {
        waiting += hl_qsh->h[i].waiting;
        bad += hl_qsh->h[i].bad;
    }

    for (k = waiting + 1; k <= hl.n; k++) {
        bad += hl_qsh->seen[k];
    }

    alive = 0;

    for (i = 0; i < (int) hl.gen_procs; i++) {
        if (waitpid(pid[i], &status, 0) == pid[i]
            && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        {
            alive++;
        }
    }

    hl_count_print("agents' errors", hl.errors);

    hl_queue_report("burst", &burst, bad);
    hl_queue_report("serial", &serial, bad);

    printf("%s: %zu still waiting, %zu with a wrong final position\n",
           hl.label, waiting, bad);

    free(agents);

    return (rc == 0 && bad == 0 && alive == (int) hl.gen_procs) ? 0 : 1;
}
