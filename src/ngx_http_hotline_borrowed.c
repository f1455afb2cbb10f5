
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_hotline_borrowed.h"


/*
 * nginx connections around sockets that another library owns (libcurl's
 * multi interface, hiredis' asynchronous API): their events are
 * level-triggered, as the library may leave data unread, and the
 * connection goes back to nginx without the socket, which the library
 * closes.
 */


/* the event is watched while want says so */

ngx_int_t
ngx_http_hotline_borrowed_watch(ngx_event_t *ev, ngx_uint_t event,
    ngx_uint_t want)
{
    if (want && !ev->active) {
        return ngx_add_event(ev, event, NGX_LEVEL_EVENT);
    }

    if (!want && ev->active) {
        return ngx_del_event(ev, event, 0);
    }

    return NGX_OK;
}


/*
 * the connection goes, the socket stays the library's; closed: the
 * library closed it already, the event method forgot it (NGX_CLOSE_EVENT:
 * no system call)
 */

void
ngx_http_hotline_borrowed_release(ngx_connection_t *c, ngx_uint_t closed)
{
    ngx_uint_t  flags;

    flags = closed ? NGX_CLOSE_EVENT : 0;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    ngx_free_connection(c);

    /* events of this pass of the event loop for it are stale now */
    c->fd = (ngx_socket_t) -1;
}
