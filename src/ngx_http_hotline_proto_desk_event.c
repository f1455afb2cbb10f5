
/*
 * Copyright (C) hotline authors
 */


/*
 * The desk's buffered server messages (its events as the parties get
 * them): written with the C library only, like ngx_http_hotline_proto.c,
 * so that the event decoder and its fuzz target link them alone.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto_desk.h"


const char  *ngx_http_hotline_shows[4] = {
    "available", "away", "busy", "wrapup"
};


static u_char *ngx_http_hotline_proto_until(u_char *p, int64_t until);


u_char *
ngx_http_hotline_proto_presence(u_char *p, ngx_uint_t state, int64_t until)
{
    p += snprintf((char *) p, 64, "{\"type\":\"presence\",\"state\":\"%s\"",
                  ngx_http_hotline_shows[state & 3]);

    return ngx_http_hotline_proto_until(p, until);
}


u_char *
ngx_http_hotline_proto_hold(u_char *p, ngx_uint_t on)
{
    p += snprintf((char *) p, 48, "{\"type\":\"hold\",\"state\":\"%s\"",
                  on ? "on" : "off");

    return p;
}


u_char *
ngx_http_hotline_proto_transferred(u_char *p, ngx_uint_t state,
    ngx_str_t *to, ngx_str_t *reason, int64_t until)
{
    static const char  *states[] = { "waiting", "open", "out" };

    p += snprintf((char *) p, 64,
                  "{\"type\":\"transfer\",\"state\":\"%s\",\"to\":",
                  states[state % 3]);

    if (to->len) {
        p = ngx_http_hotline_json_str(p, to->data, to->len);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, ",\"reason\":", sizeof(",\"reason\":") - 1);
    p = ngx_http_hotline_json_str(p, reason->data, reason->len);

    return ngx_http_hotline_proto_until(p, until);
}


/*
 * the peer came back from scratch (a reloaded page): "back", and its
 * media start over
 */

u_char *
ngx_http_hotline_proto_peer_new(u_char *p)
{
    return ngx_cpymem(p, "{\"type\":\"peer\",\"state\":\"back\","
                      "\"fresh\":true",
                      sizeof("{\"type\":\"peer\",\"state\":\"back\","
                             "\"fresh\":true") - 1);
}


/* ,"until":ms when there is one */

static u_char *
ngx_http_hotline_proto_until(u_char *p, int64_t until)
{
    if (until) {
        p += snprintf((char *) p, 32, ",\"until\":%lld", (long long) until);
    }

    return p;
}
