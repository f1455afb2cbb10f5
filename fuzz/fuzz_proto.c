
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for the signaling message parser: any bytes, as either
 * role.  Checks beyond "no crash": a relayed message is a JSON object
 * prefix that becomes valid JSON once closed, and never carries more than
 * the input could justify.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_http_hotline_proto.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                  *out, *p, *copy;
    size_t                   room;
    json_t                  *j;
    ngx_uint_t               role, rc;
    json_error_t             err;
    ngx_http_hotline_msg_t   m;
    u_char                   buf[NGX_HOTLINE_ERROR_MAX];

    if (size < 1) {
        return 0;
    }

    role = (data[0] & 1) + 1;
    data++;
    size--;

    /* the module passes a buffer this large, and copies the input first */

    room = 6 * size + 1024;

    out = malloc(room + 16);
    copy = malloc(size + 1);

    if (out == NULL || copy == NULL) {
        free(out);
        free(copy);
        return 0;
    }

    memcpy(copy, data, size);

    rc = ngx_http_hotline_proto_parse(copy, size, role, &m, out, room);

    if (rc >= NGX_HOTLINE_E_MAX) {
        __builtin_trap();
    }

    /* the error message the server would send is valid JSON */

    p = ngx_http_hotline_proto_error(buf, rc, &m);

    j = json_loadb((char *) buf, p - buf, 0, &err);
    if (j == NULL) {
        __builtin_trap();
    }

    json_decref(j);

    if (rc == NGX_HOTLINE_OK && m.relay) {

        if (m.out_len > size + NGX_HOTLINE_RELAY_EXTRA || m.out != out) {
            __builtin_trap();
        }

        m.out[m.out_len] = '}';

        j = json_loadb((char *) m.out, m.out_len + 1, 0, &err);
        if (j == NULL || !json_is_object(j)) {
            __builtin_trap();
        }

        json_decref(j);
    }

    free(out);
    free(copy);

    return 0;
}
