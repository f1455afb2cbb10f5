
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_session.h"
#include "ngx_http_hotline_call.h"
#include "ngx_http_hotline_call_queue.h"
#include "ngx_http_hotline_store.h"


/*
 * What an agent's ban does beyond the call it names: the client (its
 * address, an IPv6 one by prefix: ngx_http_hotline_client.c) is banned
 * for hotline_ban_time, durably and with every worker of every node told;
 * the client's other waiting calls end as banned too, connected or not;
 * and every worker closes the client's sessions with 4005, a call in
 * progress hung up first.  Joins and resumes from a banned client are
 * refused (ngx_http_hotline_session.c).
 */


static void ngx_http_hotline_ban_sweep(void *data, ngx_uint_t err,
    u_char *call_ids, ngx_uint_t n);
static void ngx_http_hotline_ban_swept(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);
static void ngx_http_hotline_ban_found(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv);
static void ngx_http_hotline_ban_hung_up(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res);


/* "ban:<client>", in a static buffer: the store copies the key */

ngx_str_t *
ngx_http_hotline_ban_key(u_char *addr, size_t len)
{
    static ngx_str_t  key;
    static u_char     buf[sizeof("ban:") - 1 + NGX_SOCKADDR_STRLEN];

    len = ngx_min(len, (size_t) NGX_SOCKADDR_STRLEN);

    key.data = buf;
    key.len = ngx_cpymem(ngx_cpymem(buf, "ban:", sizeof("ban:") - 1),
                         addr, len)
              - buf;

    return &key;
}


/*
 * agent s banned a call of the client res->addr: the ban is stored, and
 * stored() called once it is (the agent's ack waits for it: a join from
 * the client after the ack is refused, on every worker and node); NGX_OK
 * if stored() will be called, NGX_DECLINED if there is no ban to store
 */

ngx_int_t
ngx_http_hotline_ban_client(ngx_http_hotline_session_t *s,
    ngx_http_hotline_result_t *res, ngx_http_hotline_kv_pt stored,
    void *data)
{
    ngx_str_t   value, addr;
    ngx_msec_t  ttl;

    ttl = (ngx_msec_t) ngx_http_hotline_main_conf()->ban_time * 1000;

    if (ttl == 0 || res->addr_len == 0) {
        return NGX_DECLINED;
    }

    addr.data = res->addr;
    addr.len = res->addr_len;

    s->ws.pending++;
    ngx_http_hotline_call_waiting_from(&addr, ngx_http_hotline_ban_sweep, s);

    /*
     * last: with the embedded store stored() runs before kv_set()
     * returns, and the ack it sends may release the session
     */

    ngx_str_set(&value, "1");

    ngx_http_hotline_store()->kv_set(
                  ngx_http_hotline_ban_key(res->addr, res->addr_len),
                  &value, ttl, NGX_HOTLINE_KV_DURABLE|NGX_HOTLINE_KV_NOTIFY,
                  stored, data);

    return NGX_OK;
}


/* the client's other waiting calls, banned by the same agent */

static void
ngx_http_hotline_ban_sweep(void *data, ngx_uint_t err, u_char *call_ids,
    ngx_uint_t n)
{
    ngx_http_hotline_session_t *s = data;

    ngx_uint_t  i;

    if (err != NGX_HOTLINE_OK) {
        ngx_log_error(NGX_LOG_WARN, s->ws.connection->log, 0,
                      "hotline: the other calls of a banned client could "
                      "not be looked up (error %ui)", err);
    }

    for (i = 0; i < n && !s->ws.closed; i++) {
        s->ws.pending++;
        ngx_http_hotline_call_ban(&s->ref, call_ids + i * NGX_HOTLINE_ID_LEN,
                                  ngx_http_hotline_ban_swept, s);
    }

    ngx_http_hotline_ws_release(&s->ws);
}


static void
ngx_http_hotline_ban_swept(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_session_t *s = data;

    u_char  id[NGX_HOTLINE_ID_HEX];

    if (err == NGX_HOTLINE_OK) {
        (void) ngx_http_hotline_hex(id, res->call_id, NGX_HOTLINE_ID_LEN);

        ngx_log_error(NGX_LOG_NOTICE, s->ws.connection->log, 0,
                      "hotline: agent \"%*s\" banned call_id=%*s of the "
                      "same client too", s->agent->sub_len, s->agent->sub,
                      (size_t) NGX_HOTLINE_ID_HEX, id);
    }

    /* not_found, taken: it ended or was accepted meanwhile */

    ngx_http_hotline_ws_release(&s->ws);
}


/* bans are on (hotline_ban_time), and the session's client has an address */

ngx_uint_t
ngx_http_hotline_ban_applies(ngx_http_hotline_session_t *s)
{
    return ngx_http_hotline_main_conf()->ban_time && s->ws.addr.len;
}


/* a ban was set somewhere: is this customer's client banned? */

void
ngx_http_hotline_ban_check(ngx_http_hotline_session_t *s)
{
    if (s->role != NGX_HOTLINE_ROLE_CUSTOMER
        || !ngx_http_hotline_ban_applies(s)
        || s->ws.closing || s->ws.closed)
    {
        return;
    }

    s->ws.pending++;
    ngx_http_hotline_store()->kv_get(ngx_http_hotline_ban_key(s->ws.addr.data,
                                                              s->ws.addr.len),
                                     ngx_http_hotline_ban_found, s);
}


static void
ngx_http_hotline_ban_found(void *data, ngx_uint_t err,
    ngx_http_hotline_kv_t *kv)
{
    ngx_http_hotline_session_t *s = data;

    if (err != NGX_HOTLINE_OK || !kv->found || s->ws.closing || s->ws.closed)
    {
        ngx_http_hotline_ws_release(&s->ws);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, s->ws.connection->log, 0,
                  "hotline: the session of a banned client is closed");

    s->banned = 1;

    if (s->established && !s->waiting) {
        /* in a call with another agent: it ends now, not after a grace */
        ngx_http_hotline_call_hangup(&s->ref, ngx_http_hotline_ban_hung_up,
                                     s);
        return;
    }

    /* a waiting call is ended as banned by the agent's sweep */

    ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_BANNED, "banned");
    ngx_http_hotline_ws_release(&s->ws);
}


static void
ngx_http_hotline_ban_hung_up(void *data, ngx_uint_t err,
    ngx_http_hotline_result_t *res)
{
    ngx_http_hotline_session_t *s = data;

    if (!s->ws.closing && !s->ws.closed) {
        ngx_http_hotline_ws_close(&s->ws, NGX_HOTLINE_CLOSE_BANNED, "banned");
    }

    ngx_http_hotline_ws_release(&s->ws);
}
