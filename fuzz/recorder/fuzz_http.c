/*
 * libFuzzer target: HTTP request parser.
 */

#include <stdlib.h>
#include <string.h>

#include "http.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              status;
    char            *buf;
    const char      *err;
    rec_http_req_t   r;

    /* the server keeps its buffer NUL terminated */

    buf = malloc(size + 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);
    buf[size] = '\0';

    if (rec_http_parse(&r, buf, size, &status, &err) == REC_OK) {
        if (r.body + r.body_len > buf + size) {
            abort();
        }

        (void) rec_http_media_type(r.content_type, "application/sdp");
    }

    free(buf);

    return 0;
}
