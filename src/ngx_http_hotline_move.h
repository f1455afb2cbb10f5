
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_MOVE_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_MOVE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Connections handed from one worker of a node to another
 * (ngx_http_hotline_move.c): a descriptor and the bytes that say what it
 * is, in one datagram, from a worker of the same generation only.
 */

#define NGX_HOTLINE_MOVE_MAX  1024        /* a hand-over's bytes */


/* fd is the handler's: it closes it, or keeps it */
typedef void (*ngx_http_hotline_move_pt)(ngx_socket_t fd, u_char *msg,
    size_t len);


/* this generation of workers (made in the master, random) */
extern uint64_t  ngx_http_hotline_generation;

/* handler: a hand-over to take; refuse: one that came as the worker exits */
ngx_int_t ngx_http_hotline_move_init(ngx_cycle_t *cycle,
    ngx_http_hotline_move_pt handler, ngx_http_hotline_move_pt refuse);
void ngx_http_hotline_move_done(void);
ngx_uint_t ngx_http_hotline_move_busy(ngx_pid_t pid);
ngx_int_t ngx_http_hotline_move_send(ngx_pid_t pid, ngx_socket_t fd,
    u_char *msg, size_t len);


#endif /* _NGX_HTTP_HOTLINE_MOVE_H_INCLUDED_ */
