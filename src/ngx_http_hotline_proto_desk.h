
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HTTP_HOTLINE_PROTO_DESK_H_INCLUDED_
#define _NGX_HTTP_HOTLINE_PROTO_DESK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_proto.h"


/*
 * The support desk's messages (docs/protocol.md): validation of what
 * clients send (presence, hold, transfer, note, rate, message, claim,
 * done) and serialization of what the server sends about them.  The
 * signaling messages' parser (ngx_http_hotline_proto.c) answers bad_type
 * for these; the session then asks this one.
 */


#define NGX_HOTLINE_MSG_PRESENCE      32
#define NGX_HOTLINE_MSG_HOLD          33
#define NGX_HOTLINE_MSG_TRANSFER      34
#define NGX_HOTLINE_MSG_NOTE          35
#define NGX_HOTLINE_MSG_RATE          36
#define NGX_HOTLINE_MSG_LEAVE         37
#define NGX_HOTLINE_MSG_CLAIM         38
#define NGX_HOTLINE_MSG_DONE          39

/* lengths of what people type, in characters */
#define NGX_HOTLINE_NOTE_MAX          2000
#define NGX_HOTLINE_COMMENT_MAX       500
#define NGX_HOTLINE_REASON_CHARS      64
#define NGX_HOTLINE_CONTACT_MAX       128

/* the ETA when no agent takes calls */
#define NGX_HOTLINE_ETA_UNKNOWN       ((ngx_uint_t) -1)


typedef struct {
    ngx_uint_t        presence;          /* presence: 0 available, 1 away */
    ngx_uint_t        on;                /* hold */
    ngx_uint_t        rating;            /* rate: 1-5 */
    ngx_uint_t        callback;          /* message: a callback request */
    ngx_int_t         disposition;       /* note: -1 none, else its index */

    ngx_str_t         to;                /* transfer: an agent, or none */
    ngx_str_t         reason;            /* transfer */
    ngx_str_t         text;              /* note, message */
    ngx_str_t         comment;           /* rate */
    ngx_str_t         name;              /* message */
    ngx_str_t         contact;           /* message */
} ngx_http_hotline_desk_msg_t;


/*
 * Parses a desk message for role into m (type, id, field) and d, copying
 * its strings into out (size bytes, at least len); NGX_HOTLINE_E_BAD_TYPE
 * when it is no desk message either (m is then left as it was).
 * dispositions: the names a note may give (ngx_str_t).
 */
ngx_uint_t ngx_http_hotline_desk_parse(u_char *data, size_t len,
    ngx_uint_t role, ngx_array_t *dispositions, ngx_http_hotline_msg_t *m,
    ngx_http_hotline_desk_msg_t *d, u_char *out, size_t size);

/*
 * what a console is told after its welcome: its presence, the desk's
 * settings (times in seconds); room: 256 + 40 per disposition
 */
u_char *ngx_http_hotline_proto_desk(u_char *p, ngx_uint_t presence,
    int64_t until, ngx_array_t *dispositions, ngx_msec_t away_after,
    ngx_msec_t wrapup, ngx_msec_t transfer_timeout, uint64_t replay_to);

/* what a customer that comes back is told: where its call is */
u_char *ngx_http_hotline_proto_desk_customer(u_char *p, const char *state,
    uint64_t replay_to);

/* the lines of a call's transcript (JSON objects); room: 128 + theirs */
u_char *ngx_http_hotline_proto_transcript(u_char *p, u_char *call_id,
    ngx_str_t *lines, ngx_uint_t n);

/*
 * what the desk keeps of a message: a note's JSON object, a rating's,
 * a message's and a claim's (or done's) members of a record; each needs
 * at most ngx_http_hotline_proto_desk_size() bytes
 */
size_t ngx_http_hotline_proto_desk_size(ngx_http_hotline_desk_msg_t *d,
    size_t sub_len);
u_char *ngx_http_hotline_proto_note(u_char *p, ngx_http_hotline_desk_msg_t *d,
    ngx_str_t *disposition, u_char *sub, size_t sub_len, int64_t now);
u_char *ngx_http_hotline_proto_rating(u_char *p,
    ngx_http_hotline_desk_msg_t *d);
u_char *ngx_http_hotline_proto_message(u_char *p,
    ngx_http_hotline_desk_msg_t *d);
u_char *ngx_http_hotline_proto_handled(u_char *p, const char *what,
    u_char *sub, size_t sub_len, int64_t now);

/* what an agent shows, by NGX_HOTLINE_SHOWS_* */
extern const char  *ngx_http_hotline_shows[4];

/*
 * buffered server messages: no closing brace, "seq" is added on send
 * (ngx_http_hotline_proto_desk_event.c: no nginx core, the records'
 * fuzz target links it)
 */
u_char *ngx_http_hotline_proto_presence(u_char *p, ngx_uint_t state,
    int64_t until);
u_char *ngx_http_hotline_proto_hold(u_char *p, ngx_uint_t on);
u_char *ngx_http_hotline_proto_peer_new(u_char *p);
u_char *ngx_http_hotline_proto_transferred(u_char *p, ngx_uint_t state,
    ngx_str_t *to, ngx_str_t *reason, int64_t until);


#endif /* _NGX_HTTP_HOTLINE_PROTO_DESK_H_INCLUDED_ */
