
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto_desk.h"


/*
 * The support desk's server messages (what clients send is read in
 * ngx_http_hotline_proto_desk_parse.c).
 */


static u_char *ngx_http_hotline_proto_replay_to(u_char *p,
    uint64_t replay_to);



u_char *
ngx_http_hotline_proto_desk(u_char *p, ngx_uint_t presence, int64_t until,
    ngx_array_t *dispositions, ngx_msec_t away_after, ngx_msec_t wrapup,
    ngx_msec_t transfer_timeout, uint64_t replay_to)
{
    ngx_str_t   *d;
    ngx_uint_t   i;

    p = ngx_sprintf(p, "{\"type\":\"desk\",\"presence\":\"%s\"",
                    ngx_http_hotline_shows[presence & 3]);

    if (until) {
        p = ngx_sprintf(p, ",\"until\":%L", until);
    }

    p = ngx_cpymem(p, ",\"dispositions\":[",
                   sizeof(",\"dispositions\":[") - 1);

    d = dispositions->elts;

    for (i = 0; i < dispositions->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        /* [a-z0-9_-]: nothing to escape */
        *p++ = '"';
        p = ngx_cpymem(p, d[i].data, d[i].len);
        *p++ = '"';
    }

    p = ngx_sprintf(p, "],\"away_after\":%M,\"wrapup\":%M,"
                    "\"transfer_timeout\":%M",
                    away_after / 1000, wrapup / 1000, transfer_timeout / 1000);

    return ngx_http_hotline_proto_replay_to(p, replay_to);
}


/*
 * ,"replay_to":n} for a party back from scratch: what is replayed up to
 * that seq was sent to the page it was before (its media negotiation is
 * of a peer connection that is gone)
 */

static u_char *
ngx_http_hotline_proto_replay_to(u_char *p, uint64_t replay_to)
{
    if (replay_to) {
        p = ngx_sprintf(p, ",\"replay_to\":%uL", replay_to);
    }

    *p++ = '}';

    return p;
}


u_char *
ngx_http_hotline_proto_transcript(u_char *p, u_char *call_id,
    ngx_str_t *lines, ngx_uint_t n)
{
    ngx_uint_t  i;

    p = ngx_cpymem(p, "{\"type\":\"transcript\",\"call_id\":\"",
                   sizeof("{\"type\":\"transcript\",\"call_id\":\"") - 1);
    p = ngx_hex_dump(p, call_id, 16);
    p = ngx_cpymem(p, "\",\"lines\":[", sizeof("\",\"lines\":[") - 1);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        /* our own JSON objects, as the relay wrote them */
        p = ngx_cpymem(p, lines[i].data, lines[i].len);
    }

    *p++ = ']';
    *p++ = '}';

    return p;
}


/* strings are escaped again by ngx_http_hotline_json_str(): 6 a byte */

size_t
ngx_http_hotline_proto_desk_size(ngx_http_hotline_desk_msg_t *d,
    size_t sub_len)
{
    return 256 + 6 * (d->text.len + d->comment.len + d->contact.len
                      + d->reason.len + d->to.len + sub_len);
}


u_char *
ngx_http_hotline_proto_note(u_char *p, ngx_http_hotline_desk_msg_t *d,
    ngx_str_t *disposition, u_char *sub, size_t sub_len, int64_t now)
{
    p = ngx_cpymem(p, "{\"type\":\"note\",\"text\":",
                   sizeof("{\"type\":\"note\",\"text\":") - 1);
    p = ngx_http_hotline_json_str(p, d->text.data, d->text.len);

    if (disposition) {
        /* [a-z0-9_-] */
        p = ngx_sprintf(p, ",\"disposition\":\"%V\"", disposition);
    }

    p = ngx_cpymem(p, ",\"by\":", sizeof(",\"by\":") - 1);
    p = ngx_http_hotline_json_str(p, sub, sub_len);

    return ngx_sprintf(p, ",\"ts\":%L}", now);
}


u_char *
ngx_http_hotline_proto_rating(u_char *p, ngx_http_hotline_desk_msg_t *d)
{
    p = ngx_sprintf(p, ",\"rating\":%ui", d->rating);

    if (d->comment.len) {
        p = ngx_cpymem(p, ",\"comment\":", sizeof(",\"comment\":") - 1);
        p = ngx_http_hotline_json_str(p, d->comment.data, d->comment.len);
    }

    return p;
}


u_char *
ngx_http_hotline_proto_message(u_char *p, ngx_http_hotline_desk_msg_t *d)
{
    p = ngx_sprintf(p, ",\"message\":{\"kind\":\"%s\",\"contact\":",
                    d->callback ? "callback" : "message");
    p = ngx_http_hotline_json_str(p, d->contact.data, d->contact.len);
    p = ngx_cpymem(p, ",\"text\":", sizeof(",\"text\":") - 1);
    p = ngx_http_hotline_json_str(p, d->text.data, d->text.len);
    *p++ = '}';

    return p;
}


/* ,"<what>":{"by":"<agent>","at":ms}: a message claimed or done */

u_char *
ngx_http_hotline_proto_handled(u_char *p, const char *what, u_char *sub,
    size_t sub_len, int64_t now)
{
    p = ngx_sprintf(p, ",\"%s\":{\"by\":", what);
    p = ngx_http_hotline_json_str(p, sub, sub_len);

    return ngx_sprintf(p, ",\"at\":%L}", now);
}


/* a customer that comes back: where its call is */

u_char *
ngx_http_hotline_proto_desk_customer(u_char *p, const char *state,
    uint64_t replay_to)
{
    p = ngx_sprintf(p, "{\"type\":\"desk\",\"state\":\"%s\"", state);

    return ngx_http_hotline_proto_replay_to(p, replay_to);
}
