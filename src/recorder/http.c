/*
 * hotline-recorder: HTTP listener on TCP (host:port) or a Unix socket
 * (unix:/path) driven by the GLib main loop.
 */

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
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


#define REC_HTTP_TIMEOUT  10000     /* ms for a whole request */
#define REC_HTTP_BUF      (REC_HTTP_MAX_HEADER + REC_HTTP_MAX_BODY + 1)
#define REC_HTTP_MAX_CONN 256       /* requests being read at once */


static unsigned  rec_http_nconn;


struct rec_http_conn_s {
    int       fd;
    guint     io;
    guint     timer;
    size_t    len;
    char      buf[REC_HTTP_BUF];
};


static void
rec_http_close(rec_http_conn_t *c)
{
    if (c->io) {
        g_source_remove(c->io);
    }

    if (c->timer) {
        g_source_remove(c->timer);
    }

    close(c->fd);
    free(c);
    rec_http_nconn--;
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
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default:  return "Unknown";
    }
}


static void
rec_http_write_all(int fd, const char *p, size_t len)
{
    ssize_t        n;
    struct pollfd  pfd;

    while (len > 0) {
        n = write(fd, p, len);

        if (n > 0) {
            p += n;
            len -= (size_t) n;
            continue;
        }

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0 && errno == EAGAIN) {
            pfd.fd = fd;
            pfd.events = POLLOUT;

            if (poll(&pfd, 1, 2000) == 1) {
                continue;
            }
        }

        return;
    }
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

    rec_http_write_all(c->fd, hdr, (size_t) n);

    if (len > 0) {
        rec_http_write_all(c->fd, body, len);
    }

    rec_http_close(c);
}


void
rec_http_error(rec_http_conn_t *c, int status, const char *headers,
    const char *reason)
{
    char  body[512];
    int   n;

    n = snprintf(body, sizeof(body), "%d %s: %s\n", status,
                 rec_http_status_text(status), reason);

    if (n < 0 || n >= (int) sizeof(body)) {
        n = 0;
    }

    rec_http_respond(c, status, headers, "text/plain; charset=utf-8", body,
                     (size_t) n);
}


static gboolean
rec_http_timeout(gpointer data)
{
    rec_http_conn_t  *c;

    c = data;
    c->timer = 0;
    rec_http_error(c, 408, NULL, "request not received in time");

    return G_SOURCE_REMOVE;
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

    /* the connection is answered now: stop watching it */

    c->io = 0;

    if (c->timer) {
        g_source_remove(c->timer);
        c->timer = 0;
    }

    if (rc == REC_ERROR) {
        rec_metrics.bad_requests++;
        rec_http_error(c, status, NULL, err);
        return G_SOURCE_REMOVE;
    }

    rec_whip_handle(c, &r);

    return G_SOURCE_REMOVE;
}


static gboolean
rec_http_accept(gint fd, GIOCondition cond, gpointer data)
{
    int               s;
    rec_http_conn_t  *c;

    (void) cond;
    (void) data;

    for ( ;; ) {
        s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (s == -1) {
            return G_SOURCE_CONTINUE;
        }

        if (rec_http_nconn >= REC_HTTP_MAX_CONN) {
            /* bounded memory: slow clients do not pile up */
            close(s);
            continue;
        }

        c = malloc(sizeof(rec_http_conn_t));
        if (c == NULL) {
            close(s);
            continue;
        }

        rec_http_nconn++;

        c->fd = s;
        c->len = 0;
        c->io = g_unix_fd_add(s, G_IO_IN | G_IO_HUP | G_IO_ERR,
                              rec_http_read, c);
        c->timer = g_timeout_add(REC_HTTP_TIMEOUT, rec_http_timeout, c);
    }
}


int
rec_http_listen(const char *addr)
{
    int                  fd, one, rc;
    char                 host[256], *colon;
    struct addrinfo      hints, *res;
    struct sockaddr_un   sun;

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
