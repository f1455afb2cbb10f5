
/*
 * Copyright (C) hotline authors
 */


/*
 * Unit tests for src/ngx_http_hotline_party.c: a party record reads back
 * as it was written, in the version its fields need (3: a customer that
 * only waits); the layout's bytes
 * are checked against the format's description, not the encoder's code.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include "ngx_http_hotline_party.h"
#include "ngx_hotline_tap.h"


#define T_NAME     "customer 1234"
#define T_ADDR     "127.0.0.2"

/* version, role, state, flags, reason; 3 ids; 3 integers; 3 lengths */
#define T_V1_LEN   (5 + 3 * 16 + 3 * 8 + 3)
/* presence, flags, transfers; 3 integers; a call id; 3 lengths */
#define T_V2_LEN   (3 + 3 * 8 + 16 + 3)


static void
t_customer(ngx_http_hotline_party_t *p)
{
    ngx_uint_t  i;

    ngx_memzero(p, sizeof(ngx_http_hotline_party_t));

    p->role = NGX_HOTLINE_ROLE_CUSTOMER;
    p->state = NGX_HOTLINE_WAITING;

    for (i = 0; i < NGX_HOTLINE_ID_LEN; i++) {
        p->token[i] = (u_char) (0xa0 + i);
        p->call_id[i] = (u_char) (0x10 + i);
    }

    p->ticket = 4242;
    p->joined = 1764800000123LL;

    p->name_len = sizeof(T_NAME) - 1;
    ngx_memcpy(p->name, T_NAME, p->name_len);
    p->addr_len = sizeof(T_ADDR) - 1;
    ngx_memcpy(p->addr, T_ADDR, p->addr_len);
}


/* every field the record keeps; the attached flag is the store's */

static int
t_same(ngx_http_hotline_party_t *a, ngx_http_hotline_party_t *b)
{
    return a->role == b->role && a->state == b->state
           && a->reason == b->reason
           && ngx_memcmp(a->token, b->token, NGX_HOTLINE_ID_LEN) == 0
           && ngx_memcmp(a->call_id, b->call_id, NGX_HOTLINE_ID_LEN) == 0
           && ngx_memcmp(a->peer, b->peer, NGX_HOTLINE_ID_LEN) == 0
           && a->ticket == b->ticket && a->joined == b->joined
           && a->accepted == b->accepted
           && a->name_len == b->name_len
           && ngx_memcmp(a->name, b->name, a->name_len) == 0
           && a->display_len == b->display_len
           && ngx_memcmp(a->display, b->display, a->display_len) == 0
           && a->addr_len == b->addr_len
           && ngx_memcmp(a->addr, b->addr, a->addr_len) == 0
           && a->presence == b->presence && a->until == b->until
           && a->held == b->held && a->hold_ms == b->hold_ms
           && a->transfers == b->transfers
           && ngx_memcmp(a->last_call, b->last_call, NGX_HOTLINE_ID_LEN) == 0
           && a->target_len == b->target_len
           && ngx_memcmp(a->target, b->target, a->target_len) == 0
           && a->from_len == b->from_len
           && ngx_memcmp(a->from, b->from, a->from_len) == 0
           && a->why_len == b->why_len
           && ngx_memcmp(a->why, b->why, a->why_len) == 0
           && a->has_peer == b->has_peer && a->recorded == b->recorded
           && a->rated == b->rated && a->over == b->over
           && a->has_last == b->has_last;
}


static u_char  t_buf[2048];


/* written, its version byte and length, read back the same */

static void
t_round(ngx_http_hotline_party_t *p, ngx_uint_t version, size_t len,
    const char *what)
{
    ngx_str_t                 v;
    ngx_http_hotline_party_t  back;

    v.data = t_buf;
    v.len = ngx_http_hotline_party_encode(t_buf, p);

    is(t_buf[0], version, what);
    is(v.len, len, what);
    is(ngx_http_hotline_party_decode(&v, &back), NGX_OK, what);
    ok(t_same(p, &back), "%s: read back as written", what);
}


int
main(void)
{
    size_t                    base, base3;
    ngx_str_t                 v;
    ngx_http_hotline_party_t  p, back;

    base = T_V1_LEN + sizeof(T_NAME) - 1 + sizeof(T_ADDR) - 1;

    /* a waiting customer: no support desk field, version 1 */

    t_customer(&p);
    t_round(&p, 1, base, "waiting customer");
    ok(base <= 128 - 16, "its record is %uz bytes: a 128-byte chunk, with "
       "room for a name 16 bytes longer", base);

    /* one whose call id is its id (as every new one's): version 3 */

    t_customer(&p);
    ngx_memcpy(p.call_id, p.token, NGX_HOTLINE_ID_LEN);
    base3 = 1 + 16 + 2 * 8 + 2 + sizeof(T_NAME) - 1 + sizeof(T_ADDR) - 1;
    t_round(&p, 3, base3, "waiting customer, its id its call's");
    ok(base3 <= 64, "its record is %uz bytes: a 64-byte chunk", base3);

    p.name_len = sizeof("Ayşe Yılmaz") - 1;
    ngx_memcpy(p.name, "Ayşe Yılmaz", p.name_len);
    p.addr_len = sizeof("203.0.113.254") - 1;
    ngx_memcpy(p.addr, "203.0.113.254", p.addr_len);
    t_round(&p, 3, 35 + p.name_len + p.addr_len, "a longer name");
    ok(35 + p.name_len + p.addr_len <= 64, "still a 64-byte chunk");

    /* anything more than waiting: not version 3 */

#define T_NOT3(what, set)                                                    \
    t_customer(&p);                                                          \
    ngx_memcpy(p.call_id, p.token, NGX_HOTLINE_ID_LEN);                     \
    set;                                                                     \
    v.len = ngx_http_hotline_party_encode(t_buf, &p);                        \
    ok(t_buf[0] != 3, "%s: not version 3", what);                            \
    v.data = t_buf;                                                          \
    is(ngx_http_hotline_party_decode(&v, &back), NGX_OK, what);              \
    ok(t_same(&p, &back), "%s: read back as written", what)

    T_NOT3("an agent", p.role = NGX_HOTLINE_ROLE_AGENT);
    T_NOT3("in a call", p.state = NGX_HOTLINE_ACTIVE);
    T_NOT3("a peer", (p.has_peer = 1, p.peer[0] = 1));
    T_NOT3("a peer's bytes only", p.peer[15] = 1);
    T_NOT3("recorded", p.recorded = 1);
    T_NOT3("an end's reason", p.reason = 2);
    T_NOT3("accepted", p.accepted = 1764800004000LL);
    T_NOT3("a display name", (p.display_len = 1, p.display[0] = 'x'));
    T_NOT3("another call id", p.call_id[0] ^= 1);
    T_NOT3("a desk field", p.transfers = 1);

    /* each desk field alone makes it version 2, and is kept */

#define T_DESK(what, set)                                                    \
    t_customer(&p);                                                          \
    set;                                                                     \
    t_round(&p, 2, base + T_V2_LEN + (p.target_len + p.from_len            \
                                      + p.why_len), what)

    T_DESK("presence away", p.presence = NGX_HOTLINE_AWAY);
    T_DESK("rated", p.rated = 1);
    T_DESK("over", p.over = 1);
    T_DESK("transfers", p.transfers = 3);
    T_DESK("until", p.until = 1764800009999LL);
    T_DESK("held", p.held = 1764800001000LL);
    T_DESK("hold_ms", p.hold_ms = 2500);
    T_DESK("a last call without the flag", p.last_call[15] = 7);
    T_DESK("a last call", (p.has_last = 1, p.last_call[0] = 9));
    T_DESK("target", (p.target_len = 5,
                      ngx_memcpy(p.target, "alice", 5)));
    T_DESK("from", (p.from_len = 3, ngx_memcpy(p.from, "bob", 3)));
    T_DESK("why", (p.why_len = 8, ngx_memcpy(p.why, "language", 8)));

    /* an agent in a call, every field set */

    t_customer(&p);
    p.role = NGX_HOTLINE_ROLE_AGENT;
    p.state = NGX_HOTLINE_ACTIVE;
    p.has_peer = 1;
    p.recorded = 1;
    p.peer[3] = 0x33;
    p.accepted = 1764800004000LL;
    p.display_len = 5;
    ngx_memcpy(p.display, "Alice", 5);
    p.presence = NGX_HOTLINE_AWAY;
    p.has_last = 1;
    p.last_call[1] = 1;
    p.transfers = 1;
    p.why_len = 3;
    ngx_memcpy(p.why, "why", 3);
    t_round(&p, 2, base + 5 + T_V2_LEN + 3, "agent, all fields");

    /* bad records: cut short, a byte too many, an unknown version */

    t_customer(&p);
    v.data = t_buf;
    v.len = ngx_http_hotline_party_encode(t_buf, &p);

    v.len--;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 1 cut short: refused");
    v.len += 2;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 1 with a byte more: refused");
    v.len--;
    t_buf[0] = 4;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 4: refused");

    ngx_memcpy(p.call_id, p.token, NGX_HOTLINE_ID_LEN);
    v.len = ngx_http_hotline_party_encode(t_buf, &p);
    is(t_buf[0], 3, "version 3 again");
    v.len--;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 3 cut short: refused");
    v.len += 2;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 3 with a byte more: refused");
    v.len = 34;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 3 without its strings: refused");
    v.len = 1;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 3, one byte: refused");

    p.rated = 1;
    v.len = ngx_http_hotline_party_encode(t_buf, &p);
    v.len -= T_V2_LEN;
    is(ngx_http_hotline_party_decode(&v, &back), NGX_ERROR,
       "version 2 without its fields: refused");

    return ngx_tap_done();
}
