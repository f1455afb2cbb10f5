
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_DGRAM_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_DGRAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/un.h>


/*
 * A worker's Unix datagram sockets in the abstract namespace, named
 * "<name>.<pid>" (ngx_http_hotline_dgram.c): the doorbell's and the
 * hand-overs'.  Workers of an old and a new generation reach each other
 * by pid; anyone on the machine may send to them.
 */

void ngx_http_hotline_dgram_addr(struct sockaddr_un *sa, socklen_t *len,
    const char *name, ngx_pid_t pid);

/*
 * This worker's socket, read by handler (passcred: with SO_PASSCRED, the
 * sender's credentials come with every datagram), and an unbound one to
 * send from (*out); NULL: logged
 */
ngx_connection_t *ngx_http_hotline_dgram_open(ngx_cycle_t *cycle,
    const char *name, ngx_uint_t passcred, ngx_event_handler_pt handler,
    ngx_socket_t *out);


#endif /* _NGX_HTTP_HOTLINE_DGRAM_H_INCLUDED_ */
