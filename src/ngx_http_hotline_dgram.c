
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_hotline_dgram.h"


void
ngx_http_hotline_dgram_addr(struct sockaddr_un *sa, socklen_t *len,
    const char *name, ngx_pid_t pid)
{
    u_char  *p;

    ngx_memzero(sa, sizeof(struct sockaddr_un));
    sa->sun_family = AF_UNIX;

    /* the abstract namespace: sun_path starts with a NUL */
    p = ngx_sprintf((u_char *) sa->sun_path + 1, "%s.%P", name, pid);

    *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                        + (p - (u_char *) sa->sun_path));
}


ngx_connection_t *
ngx_http_hotline_dgram_open(ngx_cycle_t *cycle, const char *name,
    ngx_uint_t passcred, ngx_event_handler_pt handler, ngx_socket_t *out)
{
    int                  on;
    socklen_t            len;
    ngx_socket_t         s;
    ngx_connection_t    *c;
    struct sockaddr_un   sa;

    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "hotline: socket(AF_UNIX) failed");
        return NULL;
    }

    ngx_http_hotline_dgram_addr(&sa, &len, name, ngx_pid);

    on = 1;

    if ((passcred
         && setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(int)) == -1)
        || bind(s, (struct sockaddr *) &sa, len) == -1
        || ngx_nonblocking(s) == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "hotline: %s socket failed", name);
        (void) ngx_close_socket(s);
        return NULL;
    }

    c = ngx_get_connection(s, cycle->log);
    if (c == NULL) {
        (void) ngx_close_socket(s);
        return NULL;
    }

    c->read->handler = handler;
    c->read->log = cycle->log;
    c->write->log = cycle->log;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NULL;
    }

    *out = socket(AF_UNIX, SOCK_DGRAM, 0);

    if (*out == (ngx_socket_t) -1 || ngx_nonblocking(*out) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "hotline: %s socket failed", name);

        if (*out != (ngx_socket_t) -1) {
            (void) ngx_close_socket(*out);
            *out = (ngx_socket_t) -1;
        }

        ngx_close_connection(c);
        return NULL;
    }

    return c;
}
