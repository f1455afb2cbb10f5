
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_guard.h"


/*
 * The client as the guards count it: its address (after realip), an IPv6
 * address cut to its network of hotline_ipv6_prefix bits (by default the
 * /64 that one subscriber gets whole, and an attacker with it: 2^64
 * addresses), written "2001:db8:1:2::/64".  The per-address limits of
 * the login endpoints, the cap on waiting calls and address bans key on
 * it; $hotline_client_prefix is it, for hotline_limit and limit_conn.
 */


size_t
ngx_http_hotline_client_key(ngx_http_request_t *r, u_char *buf)
{
    size_t                               n;
    ngx_connection_t                    *c;
#if (NGX_HAVE_INET6)
    u_char                              *p;
    ngx_uint_t                           i, bits;
    struct in6_addr                      a;
    struct sockaddr_in6                 *sin6;
    ngx_http_hotline_guard_main_conf_t  *gmcf;
#endif

    c = r->connection;

#if (NGX_HAVE_INET6)

    if (c->sockaddr->sa_family == AF_INET6) {
        sin6 = (struct sockaddr_in6 *) c->sockaddr;
        a = sin6->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            p = a.s6_addr + 12;
            return ngx_sprintf(buf, "%ud.%ud.%ud.%ud", p[0], p[1], p[2], p[3])
                   - buf;
        }

        gmcf = ngx_http_get_module_main_conf(r,
                                             ngx_http_hotline_guard_module);
        bits = gmcf->ipv6_prefix;

        for (i = 0; i < 16; i++) {
            if (bits >= 8 * (i + 1)) {
                continue;
            }

            a.s6_addr[i] &= (bits > 8 * i)
                            ? (u_char) (0xff << (8 * (i + 1) - bits)) : 0;
        }

        n = ngx_inet6_ntop(a.s6_addr, buf, NGX_INET6_ADDRSTRLEN);

        if (bits < 128) {
            n = ngx_sprintf(buf + n, "/%ui", bits) - buf;
        }

        return n;
    }

#endif

    n = ngx_min(c->addr_text.len, NGX_HOTLINE_CLIENT_KEY);
    ngx_memcpy(buf, c->addr_text.data, n);

    return n;
}


ngx_int_t
ngx_http_hotline_client_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_HOTLINE_CLIENT_KEY);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_http_hotline_client_key(r, p);
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}
