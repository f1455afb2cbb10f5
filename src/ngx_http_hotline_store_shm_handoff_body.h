
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_STORE_SHM_HANDOFF_BODY_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_STORE_SHM_HANDOFF_BODY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * The handoff file's format (ngx_http_hotline_store_shm_handoff_body.c):
 * the embedded store's objects as bytes and back.  The file
 * (ngx_http_hotline_store_shm_handoff.c) is this header, the body, and
 * the body's CRC32.  All of it runs with the zone locked.
 */

#define NGX_HOTLINE_HANDOFF_MAGIC    "HLCALLS1"


typedef struct {
    u_char                         magic[8];
    uint64_t                       written;    /* ms since the epoch */
    uint64_t                       next_ticket;
    uint64_t                       next_gen;
    uint64_t                       objects;
    uint64_t                       bytes;      /* of the body */
} ngx_http_hotline_handoff_head_t;


/* the bytes the zone's objects take as a body */
size_t ngx_http_hotline_handoff_body_size(void);

/* every object of the zone from p on; the end, and their count */
u_char *ngx_http_hotline_handoff_body_write(u_char *p, uint64_t *objects);

/*
 * h->objects objects of the body p .. last into the zone, and h's next
 * ticket and generation; NGX_ERROR: malformed or no room, what came
 * before it taken (logged)
 */
ngx_int_t ngx_http_hotline_handoff_body_read(u_char *p, u_char *last,
    ngx_http_hotline_handoff_head_t *h, ngx_log_t *log);


#endif /* _NGX_HTTP_HOTLINE_STORE_SHM_HANDOFF_BODY_H_INCLUDED_ */
