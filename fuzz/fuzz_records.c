
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for the records the call model reads back from the
 * store (a shared memory zone, or a Redis anyone on its network may
 * write): the party record (src/ngx_http_hotline_party.c) and the inbox
 * event (src/ngx_http_hotline_event.c).
 *
 * The first input byte picks the codec, the rest is the record, in a
 * buffer of exactly its size (ASan sees every read past it).  A record
 * the decoder takes must keep its bounds (names, address, token), come
 * back byte for byte from the encoder (nothing invented, nothing lost but
 * the unused flag bits; a customer that only waits comes back as version
 * 3, its shortest), and an event must turn into a server message
 * within the room the session gives it that is valid JSON (UTF-8 names
 * aside: the session's names were checked when they came in).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_party.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_ws_frame.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void
fz_party(u_char *in, size_t n)
{
    u_char                    *out, written;
    size_t                     len, tail;
    ngx_str_t                  v;
    ngx_uint_t                 i, desk, waits;
    ngx_http_hotline_party_t   party, again;

    v.data = in;
    v.len = n;

    if (ngx_http_hotline_party_decode(&v, &party) != NGX_OK) {
        return;
    }

    fz_check(party.role == NGX_HOTLINE_ROLE_CUSTOMER
             || party.role == NGX_HOTLINE_ROLE_AGENT);
    fz_check(party.name_len <= NGX_HOTLINE_CUSTOMER_NAME_MAX);
    fz_check(party.display_len <= NGX_HOTLINE_NAME_MAX);
    fz_check(party.addr_len <= NGX_SOCKADDR_STRLEN);

    /*
     * the version written: 2 when a desk field is set, else 1 (a version
     * 2 record with all of them empty shrinks by its desk part: 3 bytes,
     * 3 times 8, a call id, three empty strings' length bytes)
     */

    desk = party.presence || party.rated || party.has_last || party.over
           || party.transfers || party.until || party.held || party.hold_ms
           || party.target_len || party.from_len || party.why_len;

    for (i = 0; i < NGX_HOTLINE_ID_LEN; i++) {
        desk |= party.last_call[i];
    }

    tail = 3 + 24 + NGX_HOTLINE_ID_LEN + 3;

    /*
     * version 3: a customer that only waits (no peer, end, display name
     * or desk field, its call id its id), 35 bytes and its two strings
     */

    waits = party.role == NGX_HOTLINE_ROLE_CUSTOMER
            && party.state == NGX_HOTLINE_WAITING
            && !party.has_peer && !party.recorded && party.reason == 0
            && party.accepted == 0 && party.display_len == 0 && !desk
            && memcmp(party.call_id, party.token, NGX_HOTLINE_ID_LEN) == 0;

    for (i = 0; i < NGX_HOTLINE_ID_LEN; i++) {
        waits &= (party.peer[i] == 0);
    }

    fz_check(in[0] != 3 || waits);

    out = malloc(n);
    fz_check(out != NULL);

    len = ngx_http_hotline_party_encode(out, &party);

    written = out[0];

    if (waits) {
        fz_check(written == 3
                 && len == 35 + party.name_len + party.addr_len);
        /* version 3 in, the same bytes out */
        fz_check(in[0] != 3 || (len == n && memcmp(out, in, n) == 0));
        goto again;
    }

    fz_check(written == (desk ? 2 : 1));
    fz_check(out[3] == (in[3] & 3));
    out[3] = in[3];

    if (desk) {
        /* version 2 in, the same bytes out */
        fz_check(in[0] == 2 && len == n);
        /* the desk's flags: the three it knows */
        tail += party.target_len + party.from_len + party.why_len;
        fz_check(out[n - tail + 1] == (in[n - tail + 1] & 7));
        out[n - tail + 1] = in[n - tail + 1];

    } else {
        /* version 1, or version 2 without its empty desk part */
        fz_check(len == (in[0] == 1 ? n : n - tail));
        out[0] = in[0];
    }

    fz_check(memcmp(out, in, len) == 0);
    out[0] = written;

again:

    v.data = out;
    v.len = len;

    fz_check(ngx_http_hotline_party_decode(&v, &again) == NGX_OK);
    fz_check(again.role == party.role && again.state == party.state
             && again.reason == party.reason
             && again.ticket == party.ticket
             && again.joined == party.joined
             && again.accepted == party.accepted
             && again.has_peer == party.has_peer
             && again.recorded == party.recorded
             && again.presence == party.presence
             && again.rated == party.rated && again.over == party.over
             && again.has_last == party.has_last
             && again.transfers == party.transfers
             && again.until == party.until && again.held == party.held
             && again.hold_ms == party.hold_ms
             && memcmp(again.last_call, party.last_call,
                       NGX_HOTLINE_ID_LEN) == 0
             && again.target_len == party.target_len
             && again.from_len == party.from_len
             && again.why_len == party.why_len
             && memcmp(again.token, party.token, NGX_HOTLINE_ID_LEN) == 0
             && memcmp(again.call_id, party.call_id, NGX_HOTLINE_ID_LEN)
                == 0
             && again.name_len == party.name_len
             && memcmp(again.name, party.name, party.name_len) == 0
             && again.addr_len == party.addr_len
             && memcmp(again.addr, party.addr, party.addr_len) == 0);

    free(out);
}


static int
fz_utf8(u_char *p, size_t n)
{
    uint32_t  state;

    state = 0;

    return ngx_http_hotline_utf8_check(&state, p, n) == NGX_OK && state == 0;
}


static void
fz_event(u_char *in, size_t n, ngx_uint_t with_url)
{
    u_char                    *out, *last, *json;
    size_t                     room;
    json_t                    *j;
    ngx_str_t                  url;
    json_error_t               err;
    ngx_http_hotline_event_t   ev;

    ngx_memzero(&ev, sizeof(ngx_http_hotline_event_t));

    if (ngx_http_hotline_event_decode(in, n, &ev) != NGX_OK) {
        return;
    }

    switch (ev.type) {

    case NGX_HOTLINE_EV_RELAY:
        fz_check(ev.json.data == in + 1 && ev.json.len == n - 1);
        break;

    case NGX_HOTLINE_EV_ACCEPTED:
        fz_check(ev.name.len <= NGX_HOTLINE_CUSTOMER_NAME_MAX);
        fz_check(ev.name.data >= in && ev.name.data + ev.name.len <= in + n);
        fz_check(ev.token.data >= in
                 && ev.token.data + ev.token.len <= in + n);
        break;

    case NGX_HOTLINE_EV_PEER:
    case NGX_HOTLINE_EV_GAP:
    case NGX_HOTLINE_EV_HOLD:
        break;

    case NGX_HOTLINE_EV_PRESENCE:
        fz_check(ev.state <= NGX_HOTLINE_SHOWS_WRAPUP);
        break;

    case NGX_HOTLINE_EV_TRANSFER:
        fz_check(ev.state <= NGX_HOTLINE_TRANSFER_OUT);
        fz_check(ev.name.len <= NGX_HOTLINE_NAME_MAX);
        fz_check(ev.name.data >= in && ev.name.data + ev.name.len <= in + n);
        fz_check(ev.token.data >= in
                 && ev.token.data + ev.token.len <= in + n);
        break;

    case NGX_HOTLINE_EV_ENDED:
        fz_check(ev.reason < NGX_HOTLINE_END_MAX);
        fz_check(ev.answered <= 1);
        break;

    default:
        fz_check(0);
    }

    /* back to the same bytes */

    out = malloc(NGX_HOTLINE_EVENT_CODE_MAX + n);
    fz_check(out != NULL);

    last = ngx_http_hotline_event_encode(out, &ev);

    if (ev.type == NGX_HOTLINE_EV_ENDED
        && n == 1 + NGX_HOTLINE_ID_LEN + 6)
    {
        /* an end written before "answered": written again with it, 0 */
        fz_check((size_t) (last - out) == n + 1 && out[n] == 0);

    } else {
        fz_check((size_t) (last - out) == n);
    }

    fz_check(memcmp(out, in, n) == 0);

    free(out);

    /* the message, in the room the session has for it, then its seq */

    ngx_str_set(&url, "https://rec.example.com/whip");

    room = n + NGX_HOTLINE_EVENT_MAX + url.len;
    json = malloc(room);
    fz_check(json != NULL);

    last = ngx_http_hotline_event_json(json, &ev, with_url ? &url : NULL);

    fz_check(last >= json && (size_t) (last - json) <= room);

    if (ev.type != NGX_HOTLINE_EV_RELAY
        && (ev.type != NGX_HOTLINE_EV_ACCEPTED
            || fz_utf8(ev.name.data, ev.name.len))
        && (ev.type != NGX_HOTLINE_EV_TRANSFER
            || (fz_utf8(ev.name.data, ev.name.len)
                && fz_utf8(ev.token.data, ev.token.len))))
    {
        j = json_loadb((char *) json, last - json, JSON_DISABLE_EOF_CHECK,
                       &err);
        fz_check(j == NULL);     /* no closing brace yet */

        out = malloc((last - json) + 1);
        fz_check(out != NULL);
        memcpy(out, json, last - json);
        out[last - json] = '}';

        j = json_loadb((char *) out, (last - json) + 1, JSON_ALLOW_NUL,
                       &err);
        fz_check(j != NULL && json_is_object(j));
        json_decref(j);
        free(out);
    }

    free(json);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char  *in;
    size_t   n;

    if (size < 1) {
        return 0;
    }

    n = size - 1;

    in = malloc(n ? n : 1);
    fz_check(in != NULL);
    memcpy(in, data + 1, n);

    if (data[0] & 1) {
        fz_party(in, n);

    } else {
        fz_event(in, n, data[0] & 2);
    }

    free(in);

    return 0;
}
