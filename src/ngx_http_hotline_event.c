
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_event.h"
#include "ngx_http_hotline_proto_desk.h"
#include "ngx_http_hotline_store.h"


/*
 * Encodings, after the type byte:
 *
 *   relay      the JSON bytes
 *   accepted   call id (16), peer role (1), name length (1), name, token
 *              length (2, little-endian), token
 *   peer       state (1)
 *   ended      call id (16), reason (1), by (1), duration (4, little-endian),
 *              answered (1; not in events written before it was added)
 *   presence   state (1), until (8, little-endian)
 *   hold       state (1)
 *   transfer   state (1), until (8), name length (1), name, reason length
 *              (1), reason
 *
 * and a gap is no event of the model but a record of the store that
 * stands for messages it lost (NGX_HOTLINE_GAP, ngx_http_hotline_store.h).
 */


u_char *
ngx_http_hotline_event_encode(u_char *p, ngx_http_hotline_event_t *ev)
{
    size_t  n;

    *p++ = (u_char) ev->type;

    switch (ev->type) {

    case NGX_HOTLINE_EV_RELAY:
        return ngx_cpymem(p, ev->json.data, ev->json.len);

    case NGX_HOTLINE_EV_ACCEPTED:
        p = ngx_cpymem(p, ev->call_id, NGX_HOTLINE_ID_LEN);
        *p++ = (u_char) ev->role;

        n = ngx_min(ev->name.len, NGX_HOTLINE_CUSTOMER_NAME_MAX);
        *p++ = (u_char) n;
        p = ngx_cpymem(p, ev->name.data, n);

        n = ngx_min(ev->token.len, NGX_HOTLINE_EVENT_CODE_MAX
                                   - 4 - NGX_HOTLINE_ID_LEN
                                   - NGX_HOTLINE_CUSTOMER_NAME_MAX);
        *p++ = (u_char) (n & 0xff);
        *p++ = (u_char) (n >> 8);
        return ngx_cpymem(p, ev->token.data, n);

    case NGX_HOTLINE_EV_PEER:
        *p++ = (u_char) ev->state;
        return p;

    case NGX_HOTLINE_EV_PRESENCE:
        *p++ = (u_char) ev->state;
        return ngx_http_hotline_put64(p, (uint64_t) ev->until);

    case NGX_HOTLINE_EV_HOLD:
        *p++ = (u_char) ev->state;
        return p;

    case NGX_HOTLINE_EV_TRANSFER:
        *p++ = (u_char) ev->state;
        p = ngx_http_hotline_put64(p, (uint64_t) ev->until);

        /* (an empty name or token may have no data: NULL) */

        n = ngx_min(ev->name.len, NGX_HOTLINE_NAME_MAX);
        *p++ = (u_char) n;

        if (n) {
            p = ngx_cpymem(p, ev->name.data, n);
        }

        n = ngx_min(ev->token.len, 255);
        *p++ = (u_char) n;

        return n ? ngx_cpymem(p, ev->token.data, n) : p;

    case NGX_HOTLINE_EV_GAP:
        p = ngx_cpymem(p, &ev->first, sizeof(uint64_t));
        return ngx_cpymem(p, &ev->last, sizeof(uint64_t));

    default: /* ended */
        p = ngx_cpymem(p, ev->call_id, NGX_HOTLINE_ID_LEN);
        *p++ = (u_char) ev->reason;
        *p++ = (u_char) ev->by;
        *p++ = (u_char) (ev->duration & 0xff);
        *p++ = (u_char) ((ev->duration >> 8) & 0xff);
        *p++ = (u_char) ((ev->duration >> 16) & 0xff);
        *p++ = (u_char) ((ev->duration >> 24) & 0xff);
        *p++ = (u_char) (ev->answered ? 1 : 0);
        return p;
    }
}


ngx_int_t
ngx_http_hotline_event_decode(u_char *data, size_t len,
    ngx_http_hotline_event_t *ev)
{
    u_char  *p, *last;
    size_t   n;

    if (len == 0) {
        return NGX_ERROR;
    }

    p = data + 1;
    last = data + len;

    ev->type = data[0];

    switch (ev->type) {

    case NGX_HOTLINE_EV_RELAY:
        ev->json.data = p;
        ev->json.len = last - p;
        return NGX_OK;

    case NGX_HOTLINE_EV_ACCEPTED:
        if (last - p < NGX_HOTLINE_ID_LEN + 2) {
            return NGX_ERROR;
        }

        ngx_memcpy(ev->call_id, p, NGX_HOTLINE_ID_LEN);
        p += NGX_HOTLINE_ID_LEN;
        ev->role = *p++;
        n = *p++;

        if ((size_t) (last - p) < n + 2
            || n > NGX_HOTLINE_CUSTOMER_NAME_MAX)
        {
            return NGX_ERROR;
        }

        ev->name.data = p;
        ev->name.len = n;
        p += n;

        n = p[0] | (p[1] << 8);
        p += 2;

        if ((size_t) (last - p) != n) {
            return NGX_ERROR;
        }

        ev->token.data = p;
        ev->token.len = n;

        /* a JWT, written into JSON as it is: base64url and dots only */

        for ( /* void */ ; p < last; p++) {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                  || (*p >= '0' && *p <= '9')
                  || *p == '-' || *p == '_' || *p == '.'))
            {
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    case NGX_HOTLINE_EV_PEER:
        if (last - p != 1) {
            return NGX_ERROR;
        }

        ev->state = *p;
        return NGX_OK;

    case NGX_HOTLINE_EV_GAP:
        if (len != NGX_HOTLINE_GAP_LEN) {
            return NGX_ERROR;
        }

        ngx_memcpy(&ev->first, p, sizeof(uint64_t));
        ngx_memcpy(&ev->last, p + sizeof(uint64_t), sizeof(uint64_t));

        if (ev->first > ev->last || ev->last > NGX_HOTLINE_SEQ_MAX) {
            return NGX_ERROR;
        }

        return NGX_OK;

    case NGX_HOTLINE_EV_PRESENCE:
        if (last - p != 9 || *p > NGX_HOTLINE_SHOWS_WRAPUP) {
            return NGX_ERROR;
        }

        ev->state = *p;
        ev->until = (int64_t) ngx_http_hotline_get64(p + 1);
        return NGX_OK;

    case NGX_HOTLINE_EV_HOLD:
        if (last - p != 1) {
            return NGX_ERROR;
        }

        ev->state = *p;
        return NGX_OK;

    case NGX_HOTLINE_EV_TRANSFER:
        if (last - p < 11 || p[0] > NGX_HOTLINE_TRANSFER_OUT) {
            return NGX_ERROR;
        }

        ev->state = p[0];
        ev->until = (int64_t) ngx_http_hotline_get64(p + 1);
        p += 9;

        n = *p++;
        if ((size_t) (last - p) < n + 1 || n > NGX_HOTLINE_NAME_MAX) {
            return NGX_ERROR;
        }

        ev->name.data = p;
        ev->name.len = n;
        p += n;

        n = *p++;
        if ((size_t) (last - p) != n) {
            return NGX_ERROR;
        }

        ev->token.data = p;
        ev->token.len = n;
        return NGX_OK;

    case NGX_HOTLINE_EV_ENDED:
        if (last - p != NGX_HOTLINE_ID_LEN + 6
            && last - p != NGX_HOTLINE_ID_LEN + 7)
        {
            return NGX_ERROR;
        }

        ev->answered = (last - p == NGX_HOTLINE_ID_LEN + 7)
                       ? p[NGX_HOTLINE_ID_LEN + 6] : 0;

        if (ev->answered > 1) {
            return NGX_ERROR;
        }

        ngx_memcpy(ev->call_id, p, NGX_HOTLINE_ID_LEN);
        p += NGX_HOTLINE_ID_LEN;
        ev->reason = p[0];
        ev->by = p[1];
        ev->duration = p[2] | (p[3] << 8) | (p[4] << 16)
                       | ((ngx_uint_t) p[5] << 24);

        if (ev->reason >= NGX_HOTLINE_END_MAX) {
            return NGX_ERROR;
        }

        return NGX_OK;

    default:
        return NGX_ERROR;
    }
}


u_char *
ngx_http_hotline_event_json(u_char *p, ngx_http_hotline_event_t *ev,
    ngx_str_t *recorder_url)
{
    switch (ev->type) {

    case NGX_HOTLINE_EV_RELAY:
        return ngx_cpymem(p, ev->json.data, ev->json.len);

    case NGX_HOTLINE_EV_ACCEPTED:
        p = ngx_http_hotline_proto_accepted(p, ev->call_id, ev->role,
                                            ev->name.data, ev->name.len);

        if (ev->token.len && recorder_url && recorder_url->len) {
            p = ngx_cpymem(p, ",\"recording\":{\"url\":\"",
                           sizeof(",\"recording\":{\"url\":\"") - 1);
            p = ngx_cpymem(p, recorder_url->data, recorder_url->len);
            p = ngx_cpymem(p, "\",\"token\":\"",
                           sizeof("\",\"token\":\"") - 1);
            p = ngx_cpymem(p, ev->token.data, ev->token.len);
            p = ngx_cpymem(p, "\"}", 2);
        }

        return p;

    case NGX_HOTLINE_EV_PEER:
        if (ev->state == NGX_HOTLINE_PEER_NEW) {
            return ngx_http_hotline_proto_peer_new(p);
        }

        return ngx_http_hotline_proto_peer(p, ev->state
                                              == NGX_HOTLINE_PEER_BACK);

    case NGX_HOTLINE_EV_PRESENCE:
        return ngx_http_hotline_proto_presence(p, ev->state, ev->until);

    case NGX_HOTLINE_EV_HOLD:
        return ngx_http_hotline_proto_hold(p, ev->state);

    case NGX_HOTLINE_EV_TRANSFER:
        return ngx_http_hotline_proto_transferred(p, ev->state, &ev->name,
                                                  &ev->token, ev->until);

    case NGX_HOTLINE_EV_GAP:
        return ngx_http_hotline_proto_gap(p, ev->first, ev->last);

    default: /* ended */
        return ngx_http_hotline_proto_ended(p, ev->call_id, ev->reason,
                                            ev->by, ev->duration);
    }
}
