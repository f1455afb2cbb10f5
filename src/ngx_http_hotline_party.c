
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_call.h"


/*
 * Party records: a version byte, role, state, flags, end reason, the
 * token, call id
 * and peer, ticket, joined and accepted (8 bytes each, little-endian),
 * then name, display name and address, each after a length byte.
 */

#define NGX_HOTLINE_PARTY_V1       1
#define NGX_HOTLINE_PARTY_FIXED    (5 + 3 * NGX_HOTLINE_ID_LEN + 3 * 8)


static u_char *
ngx_http_hotline_put64(u_char *p, uint64_t v)
{
    ngx_uint_t  i;

    for (i = 0; i < 8; i++) {
        *p++ = (u_char) (v >> (8 * i));
    }

    return p;
}


static uint64_t
ngx_http_hotline_get64(u_char *p)
{
    uint64_t    v;
    ngx_uint_t  i;

    v = 0;

    for (i = 0; i < 8; i++) {
        v |= (uint64_t) p[i] << (8 * i);
    }

    return v;
}


size_t
ngx_http_hotline_party_encode(u_char *buf, ngx_http_hotline_party_t *party)
{
    u_char  *p;

    p = buf;

    *p++ = NGX_HOTLINE_PARTY_V1;
    *p++ = (u_char) party->role;
    *p++ = (u_char) party->state;
    *p++ = (u_char) ((party->has_peer ? 1 : 0) | (party->recorded ? 2 : 0));
    *p++ = (u_char) party->reason;

    p = ngx_cpymem(p, party->token, NGX_HOTLINE_ID_LEN);
    p = ngx_cpymem(p, party->call_id, NGX_HOTLINE_ID_LEN);
    p = ngx_cpymem(p, party->peer, NGX_HOTLINE_ID_LEN);

    p = ngx_http_hotline_put64(p, party->ticket);
    p = ngx_http_hotline_put64(p, (uint64_t) party->joined);
    p = ngx_http_hotline_put64(p, (uint64_t) party->accepted);

    *p++ = (u_char) party->name_len;
    p = ngx_cpymem(p, party->name, party->name_len);
    *p++ = (u_char) party->display_len;
    p = ngx_cpymem(p, party->display, party->display_len);
    *p++ = (u_char) party->addr_len;
    p = ngx_cpymem(p, party->addr, party->addr_len);

    return p - buf;
}


ngx_int_t
ngx_http_hotline_party_decode(ngx_str_t *value,
    ngx_http_hotline_party_t *party)
{
    u_char  *p, *last;
    size_t   n;

    ngx_memzero(party, sizeof(ngx_http_hotline_party_t));

    p = value->data;
    last = p + value->len;

    if (value->len < NGX_HOTLINE_PARTY_FIXED + 3
        || p[0] != NGX_HOTLINE_PARTY_V1)
    {
        return NGX_ERROR;
    }

    party->role = p[1];
    party->state = p[2];
    party->has_peer = (p[3] & 1) ? 1 : 0;
    party->recorded = (p[3] & 2) ? 1 : 0;
    party->reason = p[4];
    p += 5;

    ngx_memcpy(party->token, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;
    ngx_memcpy(party->call_id, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;
    ngx_memcpy(party->peer, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;

    party->ticket = ngx_http_hotline_get64(p);
    party->joined = (int64_t) ngx_http_hotline_get64(p + 8);
    party->accepted = (int64_t) ngx_http_hotline_get64(p + 16);
    p += 24;

    n = *p++;
    if (n > NGX_HOTLINE_CUSTOMER_NAME_MAX || (size_t) (last - p) < n + 1) {
        return NGX_ERROR;
    }

    party->name_len = n;
    ngx_memcpy(party->name, p, n);
    p += n;

    n = *p++;
    if (n > NGX_HOTLINE_NAME_MAX || (size_t) (last - p) < n + 1) {
        return NGX_ERROR;
    }

    party->display_len = n;
    ngx_memcpy(party->display, p, n);
    p += n;

    n = *p++;
    if (n > NGX_SOCKADDR_STRLEN || (size_t) (last - p) != n) {
        return NGX_ERROR;
    }

    party->addr_len = n;
    ngx_memcpy(party->addr, p, n);

    if (party->role != NGX_HOTLINE_ROLE_CUSTOMER
        && party->role != NGX_HOTLINE_ROLE_AGENT)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}

