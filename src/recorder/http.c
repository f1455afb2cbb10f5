/*
 * hotline-recorder: HTTP listener on TCP (host:port) or a Unix socket
 * (unix:/path) driven by the GLib main loop; one request per connection
 * (nginx in front does keep-alive and TLS).
 *
 * Nothing blocks the loop: requests are read and answers written as the
 * socket allows, each within REC_HTTP_TIMEOUT.  At most REC_HTTP_MAX_CONN
 * connections and --max-conn-per-addr per TCP client address are open;
 * when all are taken, the oldest connection that has not sent a whole
 * request yet is closed for a new one, so idle connections cannot lock
 * clients out.  Refused requests are logged at info with their reason.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "http.h"
#include "metrics.h"


#define REC_HTTP_TIMEOUT  10000     /* ms to read a request, to answer */
#define REC_HTTP_BUF      (REC_HTTP_MAX_HEADER + REC_HTTP_MAX_BODY + 1)
#define REC_HTTP_MAX_CONN 256       /* connections open at once */


struct rec_http_conn_s {
    int        fd;
    guint      io;
    guint      timer;
    int        answering;          /* the request is in, the answer out */
    void     (*cancel)(void *data);   /* the answer waits (rec_http_wait) */
    void      *cancel_data;
    int        tcp;
    char       peer[INET6_ADDRSTRLEN];
    char       method[16];
    char       path[128];
    char      *out;
    size_t     out_len;
    size_t     out_sent;
    GList      link;               /* in rec_http_conns, oldest first */
    size_t     len;
    char       buf[REC_HTTP_BUF];
};


static GQueue               rec_http_conns = G_QUEUE_INIT;
static GHashTable          *rec_http_per_addr;  /* peer -> connections */
static rec_http_handler_pt  rec_http_handler;   /* rec_http_listen()'s */


static void
rec_http_close(rec_http_conn_t *c)
{
    guint    n;
    void   (*cancel)(void *data);

    /* whoever was to answer is told the connection is gone */

    cancel = c->cancel;

    if (cancel != NULL) {
        c->cancel = NULL;
        cancel(c->cancel_data);
    }

    if (c->io) {
        g_source_remove(c->io);
    }

    if (c->timer) {
        g_source_remove(c->timer);
    }

    if (c->tcp) {
        n = GPOINTER_TO_UINT(g_hash_table_lookup(rec_http_per_addr,
                                                 c->peer));
        if (n <= 1) {
            g_hash_table_remove(rec_http_per_addr, c->peer);

        } else {
            g_hash_table_insert(rec_http_per_addr, g_strdup(c->peer),
                                GUINT_TO_POINTER(n - 1));
        }
    }

    g_queue_unlink(&rec_http_conns, &c->link);
    close(c->fd);
    free(c->out);
    free(c);
}


static const char *
rec_http_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default:  return "Unknown";
    }
}


static gboolean
rec_http_timeout(gpointer data)
{
    rec_http_conn_t  *c;

    c = data;
    c->timer = 0;

    if (c->answering) {
        rec_log(REC_LOG_INFO, "http: %s %s from %s: the answer was not "
                "taken in time", c->method, c->path, c->peer);
        rec_http_close(c);
        return G_SOURCE_REMOVE;
    }

    if (c->cancel != NULL) {
        c->cancel(c->cancel_data);
        c->cancel = NULL;
        rec_http_error(c, 503, "Retry-After: 5\r\n",
                       "no answer in time");
        return G_SOURCE_REMOVE;
    }

    rec_http_error(c, 408, NULL, "request not received in time");

    return G_SOURCE_REMOVE;
}


/* writes what the socket takes; REC_AGAIN: wait until it is writable */

static int
rec_http_flush(rec_http_conn_t *c)
{
    ssize_t  n;

    while (c->out_sent < c->out_len) {
        n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                 MSG_NOSIGNAL);

        if (n > 0) {
            c->out_sent += (size_t) n;
            continue;
        }

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return REC_AGAIN;
        }

        return REC_ERROR;
    }

    return REC_OK;
}


/*
 * the answer comes later (the call check): the connection waits for it
 * at most REC_HTTP_TIMEOUT, and is not closed for a newer one meanwhile;
 * cancel(data) runs if it closes before the answer
 */

void
rec_http_wait(rec_http_conn_t *c, void (*cancel)(void *data), void *data)
{
    c->cancel = cancel;
    c->cancel_data = data;

    if (c->timer) {
        g_source_remove(c->timer);
    }

    c->timer = g_timeout_add(REC_HTTP_TIMEOUT, rec_http_timeout, c);
}


static gboolean
rec_http_writable(gint fd, GIOCondition cond, gpointer data)
{
    rec_http_conn_t  *c;

    (void) fd;
    (void) cond;

    c = data;

    if (rec_http_flush(c) == REC_AGAIN) {
        return G_SOURCE_CONTINUE;
    }

    c->io = 0;
    rec_http_close(c);

    return G_SOURCE_REMOVE;
}


void
rec_http_respond(rec_http_conn_t *c, int status, const char *headers,
    const char *type, const char *body, size_t len)
{
    int   n;
    char  hdr[4096];

    n = snprintf(hdr, sizeof(hdr),
                 "HTTP/1.1 %d %s\r\n"
                 "Server: hotline-recorder\r\n"
                 "Cache-Control: no-store\r\n"
                 "Connection: close\r\n"
                 "%s%s%s"
                 "Content-Length: %zu\r\n"
                 "%s\r\n",
                 status, rec_http_status_text(status),
                 type ? "Content-Type: " : "", type ? type : "",
                 type ? "\r\n" : "", len, headers ? headers : "");

    if (n < 0 || n >= (int) sizeof(hdr)) {
        n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 500 Internal Server Error"
                     "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        len = 0;
    }

    c->answering = 1;
    c->cancel = NULL;

    if (c->io) {
        g_source_remove(c->io);
        c->io = 0;
    }

    c->out = malloc((size_t) n + len);

    if (c->out == NULL) {
        rec_http_close(c);
        return;
    }

    memcpy(c->out, hdr, (size_t) n);

    if (len > 0) {
        memcpy(c->out + n, body, len);
    }

    c->out_len = (size_t) n + len;
    c->out_sent = 0;

    if (rec_http_flush(c) != REC_AGAIN) {
        rec_http_close(c);
        return;
    }

    /* a slow reader: the rest when the socket takes it, or never */

    if (c->timer) {
        g_source_remove(c->timer);
    }

    c->timer = g_timeout_add(REC_HTTP_TIMEOUT, rec_http_timeout, c);
    c->io = g_unix_fd_add(c->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
                          rec_http_writable, c);
}


void
rec_http_error(rec_http_conn_t *c, int status, const char *headers,
    const char *reason)
{
    char  body[512];
    int   n;

    rec_log(status >= 500 ? REC_LOG_ERR : REC_LOG_INFO,
            "http: %d %s %s from %s: %s", status,
            c->method[0] ? c->method : "-", c->path[0] ? c->path : "-",
            c->peer, reason);

    n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
                 rec_http_status_text(status), reason);

    if (n < 0 || n >= (int) sizeof(body)) {
        n = 0;
    }

    rec_http_respond(c, status, headers, "text/plain; charset=utf-8", body,
                     (size_t) n);
}


/* for the log: printable characters only, cut to size */

static void
rec_http_log_copy(char *dst, size_t size, const char *src)
{
    size_t  i;

    for (i = 0; i + 1 < size && src[i] != '\0'; i++) {
        dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
    }

    dst[i] = '\0';
}


static gboolean
rec_http_read(gint fd, GIOCondition cond, gpointer data)
{
    int               rc, status;
    ssize_t           n;
    const char       *err;
    rec_http_req_t    r;
    rec_http_conn_t  *c;

    (void) cond;

    c = data;

    n = read(fd, c->buf + c->len, REC_HTTP_BUF - 1 - c->len);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return G_SOURCE_CONTINUE;
    }

    if (n <= 0) {
        c->io = 0;
        rec_http_close(c);
        return G_SOURCE_REMOVE;
    }

    c->len += (size_t) n;
    c->buf[c->len] = '\0';

    rc = rec_http_parse(&r, c->buf, c->len, &status, &err);

    if (rc == REC_AGAIN) {
        if (c->len < REC_HTTP_BUF - 1) {
            return G_SOURCE_CONTINUE;
        }

        rc = REC_ERROR;
        status = 413;
        err = "request too large";
    }

    /* the request is in: stop reading, the answer goes out */

    c->io = 0;
    rec_http_log_copy(c->method, sizeof(c->method), r.method);
    rec_http_log_copy(c->path, sizeof(c->path), r.path);

    if (rc == REC_ERROR) {
        rec_metrics.bad_requests++;
        rec_http_error(c, status, NULL, err);
        return G_SOURCE_REMOVE;
    }

    rec_http_handler(c, &r);

    return G_SOURCE_REMOVE;
}


/* room for one more: the oldest connection still sending its request */

static int
rec_http_evict(void)
{
    GList            *l;
    rec_http_conn_t  *c;

    for (l = rec_http_conns.head; l != NULL; l = l->next) {
        c = l->data;

        if (!c->answering && c->cancel == NULL) {
            rec_metrics.http_evicted++;
            rec_log(REC_LOG_INFO, "http: %u connections open, closing the "
                    "oldest idle one from %s", rec_http_conns.length,
                    c->peer);
            rec_http_close(c);
            return REC_OK;
        }
    }

    return REC_ERROR;
}


static gboolean
rec_http_accept(gint fd, GIOCondition cond, gpointer data)
{
    int                       s;
    guint                     n;
    socklen_t                 alen;
    rec_http_conn_t          *c;
    struct sockaddr_storage   sa;

    (void) cond;
    (void) data;

    for ( ;; ) {
        alen = sizeof(sa);
        s = accept4(fd, (struct sockaddr *) &sa, &alen,
                    SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (s == -1) {
            return G_SOURCE_CONTINUE;
        }

        c = malloc(sizeof(rec_http_conn_t));
        if (c == NULL) {
            close(s);
            continue;
        }

        memset(c, 0, offsetof(rec_http_conn_t, buf));
        c->fd = s;
        c->link.data = c;
        strcpy(c->peer, "unix");

        if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6) {
            c->tcp = 1;
            (void) inet_ntop(sa.ss_family, sa.ss_family == AF_INET
                             ? (void *) &((struct sockaddr_in *) &sa)
                                          ->sin_addr
                             : (void *) &((struct sockaddr_in6 *) &sa)
                                          ->sin6_addr,
                             c->peer, sizeof(c->peer));

            /* one address cannot hold every connection */

            n = GPOINTER_TO_UINT(g_hash_table_lookup(rec_http_per_addr,
                                                     c->peer));

            if (n >= rec_conf.max_conn_per_addr) {
                rec_metrics.http_refused++;
                rec_log(REC_LOG_DEBUG, "http: %u connections from %s "
                        "already, closed", n, c->peer);
                close(s);
                free(c);
                continue;
            }
        }

        if (rec_http_conns.length >= REC_HTTP_MAX_CONN
            && rec_http_evict() != REC_OK)
        {
            rec_metrics.http_refused++;
            close(s);
            free(c);
            continue;
        }

        if (c->tcp) {
            n = GPOINTER_TO_UINT(g_hash_table_lookup(rec_http_per_addr,
                                                     c->peer));
            g_hash_table_insert(rec_http_per_addr, g_strdup(c->peer),
                                GUINT_TO_POINTER(n + 1));
        }

        g_queue_push_tail_link(&rec_http_conns, &c->link);
        c->io = g_unix_fd_add(s, G_IO_IN | G_IO_HUP | G_IO_ERR,
                              rec_http_read, c);
        c->timer = g_timeout_add(REC_HTTP_TIMEOUT, rec_http_timeout, c);
    }
}


int
rec_http_listen(const char *addr, rec_http_handler_pt handler)
{
    int                  fd, one, rc;
    char                 host[256], *colon;
    struct addrinfo      hints, *res;
    struct sockaddr_un   sun;

    rec_http_handler = handler;

    if (rec_http_per_addr == NULL) {
        rec_http_per_addr = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                  g_free, NULL);
    }

    if (strncmp(addr, "unix:", 5) == 0) {
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;

        if (strlen(addr + 5) >= sizeof(sun.sun_path)) {
            return REC_ERROR;
        }

        strcpy(sun.sun_path, addr + 5);
        (void) unlink(sun.sun_path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd == -1
            || bind(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0
            || listen(fd, 128) != 0)
        {
            rec_log(REC_LOG_ERR, "http: cannot listen on %s: %s", addr,
                    strerror(errno));
            return REC_ERROR;
        }

        g_unix_fd_add(fd, G_IO_IN, rec_http_accept, NULL);
        return REC_OK;
    }

    if (snprintf(host, sizeof(host), "%s", addr) >= (int) sizeof(host)) {
        return REC_ERROR;
    }

    colon = strrchr(host, ':');
    if (colon == NULL) {
        rec_log(REC_LOG_ERR, "http: listen address needs a port: %s", addr);
        return REC_ERROR;
    }

    *colon = '\0';

    if (host[0] == '[') {
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;

    rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc != 0) {
        rec_log(REC_LOG_ERR, "http: bad listen address %s: %s", addr,
                gai_strerror(rc));
        return REC_ERROR;
    }

    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    one = 1;

    if (fd == -1
        || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || bind(fd, res->ai_addr, res->ai_addrlen) != 0
        || listen(fd, 128) != 0)
    {
        rec_log(REC_LOG_ERR, "http: cannot listen on %s: %s", addr,
                strerror(errno));
        freeaddrinfo(res);
        return REC_ERROR;
    }

    freeaddrinfo(res);
    g_unix_fd_add(fd, G_IO_IN, rec_http_accept, NULL);

    return REC_OK;
}
