
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/evp.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_party.h"


/*
 * Party records: a version byte, role, state, flags, end reason, the
 * token, call id
 * and peer, ticket, joined and accepted (8 bytes each, little-endian),
 * then name, display name and address, each after a length byte.
 *
 * Version 2 appends the support desk's fields: presence, more flags, the
 * deadline, on hold since, time on hold before (8 bytes each), the number
 * of transfers, an agent's last call, then a transfer's target, its
 * origin and its reason, each after a length byte.  A version 1 record
 * reads with those fields empty: a party none of them is set for is
 * written so, 46 bytes shorter.
 *
 * Version 3 is a customer that waits and has nothing else yet (no peer,
 * no end, no desk field, its call id its id): the version byte, its id,
 * ticket and joined, then name and address after a length byte; the rest
 * reads as empty.  35 bytes and the two strings: a zone's 64-byte chunk
 * when name and address take up to 29 bytes ("Ayşe Yılmaz" from
 * 203.0.113.254), 128 bytes up to 93.
 */

#define NGX_HOTLINE_PARTY_V1       1
#define NGX_HOTLINE_PARTY_V2       2
#define NGX_HOTLINE_PARTY_V3       3
#define NGX_HOTLINE_PARTY_FIXED    (5 + 3 * NGX_HOTLINE_ID_LEN + 3 * 8)
#define NGX_HOTLINE_PARTY_FIXED2   (3 + 3 * 8 + NGX_HOTLINE_ID_LEN)
#define NGX_HOTLINE_PARTY_FIXED3   (1 + NGX_HOTLINE_ID_LEN + 2 * 8)


/*
 * A customer's party id, which is its call's id too: the first 16 bytes
 * of SHA-256 over a label and the party's resume token.  The call id is
 * shown (to agents, in the history, in webhooks); the token cannot be
 * had from it, and is kept nowhere on the server.  A party is found by
 * either: from the token, its id is computed; there is no index record
 * from the call id to the party.  (An agent's id is its token.)
 */

#define NGX_HOTLINE_CUSTOMER_ID_LABEL  "hotline customer id"


static ngx_uint_t ngx_http_hotline_party_desk(ngx_http_hotline_party_t *party);
static ngx_uint_t ngx_http_hotline_party_waits(
    ngx_http_hotline_party_t *party);
static ngx_int_t ngx_http_hotline_party_decode3(u_char *p, u_char *last,
    ngx_http_hotline_party_t *party);
static u_char *ngx_http_hotline_put_str(u_char *p, u_char *s, size_t len);
static u_char *ngx_http_hotline_get_str(u_char *p, u_char *last, u_char *dst,
    size_t *len, size_t max);


ngx_int_t
ngx_http_hotline_customer_id(u_char *id, u_char *token)
{
    u_char        in[sizeof(NGX_HOTLINE_CUSTOMER_ID_LABEL) - 1
                     + NGX_HOTLINE_ID_LEN];
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  n;

    ngx_memcpy(ngx_cpymem(in, NGX_HOTLINE_CUSTOMER_ID_LABEL,
                          sizeof(NGX_HOTLINE_CUSTOMER_ID_LABEL) - 1),
               token, NGX_HOTLINE_ID_LEN);

    if (EVP_Digest(in, sizeof(in), md, &n, EVP_sha256(), NULL) != 1
        || n < NGX_HOTLINE_ID_LEN)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(id, md, NGX_HOTLINE_ID_LEN);

    return NGX_OK;
}


/* little-endian 64-bit integers of records and events */

u_char *
ngx_http_hotline_put64(u_char *p, uint64_t v)
{
    ngx_uint_t  i;

    for (i = 0; i < 8; i++) {
        *p++ = (u_char) (v >> (8 * i));
    }

    return p;
}


uint64_t
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
    u_char      *p;
    ngx_uint_t   desk;

    p = buf;

    if (ngx_http_hotline_party_waits(party)) {
        *p++ = NGX_HOTLINE_PARTY_V3;
        p = ngx_cpymem(p, party->token, NGX_HOTLINE_ID_LEN);
        p = ngx_http_hotline_put64(p, party->ticket);
        p = ngx_http_hotline_put64(p, (uint64_t) party->joined);
        p = ngx_http_hotline_put_str(p, party->name, party->name_len);
        p = ngx_http_hotline_put_str(p, party->addr, party->addr_len);

        return p - buf;
    }

    desk = ngx_http_hotline_party_desk(party);

    *p++ = desk ? NGX_HOTLINE_PARTY_V2 : NGX_HOTLINE_PARTY_V1;
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

    p = ngx_http_hotline_put_str(p, party->name, party->name_len);
    p = ngx_http_hotline_put_str(p, party->display, party->display_len);
    p = ngx_http_hotline_put_str(p, party->addr, party->addr_len);

    if (!desk) {
        return p - buf;
    }

    /* version 2 */

    *p++ = (u_char) party->presence;
    *p++ = (u_char) ((party->rated ? 1 : 0) | (party->has_last ? 2 : 0)
                     | (party->over ? 4 : 0));
    *p++ = (u_char) ngx_min(party->transfers, 255);

    p = ngx_http_hotline_put64(p, (uint64_t) party->until);
    p = ngx_http_hotline_put64(p, (uint64_t) party->held);
    p = ngx_http_hotline_put64(p, (uint64_t) party->hold_ms);
    p = ngx_cpymem(p, party->last_call, NGX_HOTLINE_ID_LEN);

    p = ngx_http_hotline_put_str(p, party->target, party->target_len);
    p = ngx_http_hotline_put_str(p, party->from, party->from_len);
    p = ngx_http_hotline_put_str(p, party->why, party->why_len);

    return p - buf;
}


/* whether version 3 says all of it: a customer that only waits */

static ngx_uint_t
ngx_http_hotline_party_waits(ngx_http_hotline_party_t *party)
{
    static u_char  none[NGX_HOTLINE_ID_LEN];

    return party->role == NGX_HOTLINE_ROLE_CUSTOMER
           && party->state == NGX_HOTLINE_WAITING
           && !party->has_peer && !party->recorded && party->reason == 0
           && party->accepted == 0 && party->display_len == 0
           && ngx_memcmp(party->call_id, party->token, NGX_HOTLINE_ID_LEN)
              == 0
           && ngx_memcmp(party->peer, none, NGX_HOTLINE_ID_LEN) == 0
           && !ngx_http_hotline_party_desk(party);
}


/* whether any of version 2's fields is set: otherwise version 1 says it */

static ngx_uint_t
ngx_http_hotline_party_desk(ngx_http_hotline_party_t *party)
{
    ngx_uint_t  i;

    if (party->presence || party->rated || party->has_last || party->over
        || party->transfers || party->until || party->held || party->hold_ms
        || party->target_len || party->from_len || party->why_len)
    {
        return 1;
    }

    for (i = 0; i < NGX_HOTLINE_ID_LEN; i++) {
        if (party->last_call[i]) {
            return 1;
        }
    }

    return 0;
}


static u_char *
ngx_http_hotline_put_str(u_char *p, u_char *s, size_t len)
{
    *p++ = (u_char) len;
    return ngx_cpymem(p, s, len);
}


/* a string after its length byte; NULL: it does not fit */

static u_char *
ngx_http_hotline_get_str(u_char *p, u_char *last, u_char *dst, size_t *len,
    size_t max)
{
    size_t  n;

    if (p >= last) {
        return NULL;
    }

    n = *p++;

    if (n > max || (size_t) (last - p) < n) {
        return NULL;
    }

    ngx_memcpy(dst, p, n);
    *len = n;

    return p + n;
}


ngx_int_t
ngx_http_hotline_party_decode(ngx_str_t *value,
    ngx_http_hotline_party_t *party)
{
    u_char      *p, *last;
    ngx_uint_t   v;

    ngx_memzero(party, sizeof(ngx_http_hotline_party_t));

    p = value->data;
    last = p + value->len;

    if (value->len && p[0] == NGX_HOTLINE_PARTY_V3) {
        return ngx_http_hotline_party_decode3(p, last, party);
    }

    if (value->len < NGX_HOTLINE_PARTY_FIXED + 3
        || (p[0] != NGX_HOTLINE_PARTY_V1 && p[0] != NGX_HOTLINE_PARTY_V2))
    {
        return NGX_ERROR;
    }

    v = p[0];

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

    p = ngx_http_hotline_get_str(p, last, party->name, &party->name_len,
                                 NGX_HOTLINE_CUSTOMER_NAME_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_hotline_get_str(p, last, party->display,
                                 &party->display_len, NGX_HOTLINE_NAME_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_hotline_get_str(p, last, party->addr, &party->addr_len,
                                 NGX_SOCKADDR_STRLEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (v == NGX_HOTLINE_PARTY_V1) {
        if (p != last) {
            return NGX_ERROR;
        }

    } else {
        if ((size_t) (last - p) < NGX_HOTLINE_PARTY_FIXED2 + 3) {
            return NGX_ERROR;
        }

        party->presence = p[0];
        party->rated = (p[1] & 1) ? 1 : 0;
        party->has_last = (p[1] & 2) ? 1 : 0;
        party->over = (p[1] & 4) ? 1 : 0;
        party->transfers = p[2];
        p += 3;

        party->until = (int64_t) ngx_http_hotline_get64(p);
        party->held = (int64_t) ngx_http_hotline_get64(p + 8);
        party->hold_ms = (int64_t) ngx_http_hotline_get64(p + 16);
        p += 24;

        ngx_memcpy(party->last_call, p, NGX_HOTLINE_ID_LEN);
        p += NGX_HOTLINE_ID_LEN;

        p = ngx_http_hotline_get_str(p, last, party->target,
                                     &party->target_len,
                                     NGX_HOTLINE_NAME_MAX);
        if (p == NULL) {
            return NGX_ERROR;
        }

        p = ngx_http_hotline_get_str(p, last, party->from, &party->from_len,
                                     NGX_HOTLINE_NAME_MAX);
        if (p == NULL) {
            return NGX_ERROR;
        }

        p = ngx_http_hotline_get_str(p, last, party->why, &party->why_len,
                                     NGX_HOTLINE_REASON_MAX);
        if (p != last) {
            return NGX_ERROR;
        }
    }

    if (party->role != NGX_HOTLINE_ROLE_CUSTOMER
        && party->role != NGX_HOTLINE_ROLE_AGENT)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_hotline_party_decode3(u_char *p, u_char *last,
    ngx_http_hotline_party_t *party)
{
    if ((size_t) (last - p) < NGX_HOTLINE_PARTY_FIXED3 + 2) {
        return NGX_ERROR;
    }

    party->role = NGX_HOTLINE_ROLE_CUSTOMER;
    party->state = NGX_HOTLINE_WAITING;
    p++;

    ngx_memcpy(party->token, p, NGX_HOTLINE_ID_LEN);
    ngx_memcpy(party->call_id, p, NGX_HOTLINE_ID_LEN);
    p += NGX_HOTLINE_ID_LEN;

    party->ticket = ngx_http_hotline_get64(p);
    party->joined = (int64_t) ngx_http_hotline_get64(p + 8);
    p += 16;

    p = ngx_http_hotline_get_str(p, last, party->name, &party->name_len,
                                 NGX_HOTLINE_CUSTOMER_NAME_MAX);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_hotline_get_str(p, last, party->addr, &party->addr_len,
                                 NGX_SOCKADDR_STRLEN);
    if (p != last) {
        return NGX_ERROR;
    }

    return NGX_OK;
}
