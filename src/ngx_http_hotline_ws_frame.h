
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_WS_FRAME_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_WS_FRAME_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * RFC 6455 frame parser and encoder.  Pure code: it calls no nginx
 * function (macros and types only), so unit tests and fuzz targets link
 * it alone.  The parser is incremental: feed it whatever bytes arrived,
 * it consumes them and reports complete control frames and complete
 * (reassembled, unmasked, UTF-8 checked) data messages.
 */


#define NGX_HOTLINE_WS_OP_CONT        0x0
#define NGX_HOTLINE_WS_OP_TEXT        0x1
#define NGX_HOTLINE_WS_OP_BINARY      0x2
#define NGX_HOTLINE_WS_OP_CLOSE       0x8
#define NGX_HOTLINE_WS_OP_PING        0x9
#define NGX_HOTLINE_WS_OP_PONG        0xa

#define NGX_HOTLINE_WS_CLOSE_NORMAL        1000
#define NGX_HOTLINE_WS_CLOSE_GOING_AWAY    1001
#define NGX_HOTLINE_WS_CLOSE_PROTOCOL      1002
#define NGX_HOTLINE_WS_CLOSE_UNSUPPORTED   1003
#define NGX_HOTLINE_WS_CLOSE_NO_STATUS     1005
#define NGX_HOTLINE_WS_CLOSE_BAD_DATA      1007
#define NGX_HOTLINE_WS_CLOSE_POLICY        1008
#define NGX_HOTLINE_WS_CLOSE_TOO_BIG       1009
#define NGX_HOTLINE_WS_CLOSE_INTERNAL      1011
#define NGX_HOTLINE_WS_CLOSE_TRY_LATER     1013

#define NGX_HOTLINE_WS_MAX_HEADER     14
#define NGX_HOTLINE_WS_MAX_CONTROL    125


typedef void *(*ngx_http_hotline_ws_alloc_pt)(size_t size, void *data);
typedef void (*ngx_http_hotline_ws_free_pt)(void *p, void *data);


typedef struct {
    /* set by the caller before the first call, never changed by parser */
    size_t                        max_message;   /* bytes, > 0 */
    ngx_http_hotline_ws_alloc_pt  alloc;
    ngx_http_hotline_ws_free_pt   free;
    void                         *data;          /* passed to alloc/free */

    /* result of the last NGX_OK: a control frame or a whole message */
    ngx_uint_t                    opcode;        /* TEXT, BINARY, CLOSE,
                                                    PING, PONG */
    u_char                       *payload;       /* unmasked */
    size_t                        len;
    ngx_uint_t                    close_code;    /* CLOSE: 1005 if none */

    /* result of NGX_ERROR */
    ngx_uint_t                    error_code;    /* 1002, 1007, 1009 */
    const char                   *error;         /* static text */

    /* private state */
    uint64_t                      frame_len;
    uint64_t                      frame_got;
    u_char                       *ctrl;          /* a control frame's
                                                    payload, allocated
                                                    while one is read */
    u_char                       *msg;
    size_t                        msg_len;
    size_t                        msg_size;
    uint32_t                      utf8;
    u_char                        mask[4];
    u_char                        hdr[NGX_HOTLINE_WS_MAX_HEADER];
    u_char                        state;
    u_char                        hdr_len;
    u_char                        hdr_need;
    u_char                        frame_opcode;
    u_char                        frame_fin;
    u_char                        msg_opcode;    /* 0: no message open */
} ngx_http_hotline_ws_parser_t;


/*
 * Consumes bytes from *pos up to last, advancing *pos.
 *   NGX_OK     a control frame or a complete data message is in
 *              opcode/payload/len (payload stays valid until the next
 *              call or ngx_http_hotline_ws_parser_release(), a control
 *              frame's until ..._release_control()); bytes may remain
 *              in [*pos, last): call again.
 *   NGX_AGAIN  all input consumed, need more bytes.
 *   NGX_ERROR  protocol violation: error_code and error are set; the
 *              connection must be failed with that close code.
 * Allocation failure is reported as NGX_ERROR with error_code 1011.
 */
ngx_int_t ngx_http_hotline_ws_parse(ngx_http_hotline_ws_parser_t *p,
    u_char **pos, u_char *last);

/* frees the message buffer (keeps idle connections small) */
void ngx_http_hotline_ws_parser_release(ngx_http_hotline_ws_parser_t *p);
/* frees the message buffer if no message is open in it */
void ngx_http_hotline_ws_parser_trim(ngx_http_hotline_ws_parser_t *p);
/* frees a control frame's payload once it is used: it is not kept */
void ngx_http_hotline_ws_parser_release_control(
    ngx_http_hotline_ws_parser_t *p);
/*
 * 1: between frames, no message open, no buffer held; a zeroed parser
 * with the caller's fields set goes on the same from here
 */
ngx_uint_t ngx_http_hotline_ws_parser_idle(ngx_http_hotline_ws_parser_t *p);

/*
 * Writes an unmasked server frame header (FIN set) for a payload of len
 * bytes into dst (NGX_HOTLINE_WS_MAX_HEADER bytes room), returns its size.
 */
size_t ngx_http_hotline_ws_frame_header(u_char *dst, ngx_uint_t opcode,
    size_t len);

/*
 * Incremental strict UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF).  *state starts at 0; returns
 * NGX_ERROR as soon as the bytes cannot be valid UTF-8.  A message is
 * complete and valid only if *state is 0 at its end.
 */
ngx_int_t ngx_http_hotline_utf8_check(uint32_t *state, u_char *p, size_t n);


#endif /* _NGX_HTTP_HOTLINE_WS_FRAME_H_INCLUDED_ */
