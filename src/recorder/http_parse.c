/*
 * hotline-recorder: bounded HTTP/1.x request parser: request line,
 * the few headers WHIP needs, and a Content-Length body.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"


static int
rec_http_copy(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size) {
        return REC_ERROR;
    }

    memcpy(dst, src, len);
    dst[len] = '\0';

    return REC_OK;
}


int
rec_http_media_type(const char *content_type, const char *type)
{
    size_t  n;

    n = strcspn(content_type, ";");

    while (n > 0 && (content_type[n - 1] == ' '
                     || content_type[n - 1] == '\t'))
    {
        n--;
    }

    return n == strlen(type) && strncasecmp(content_type, type, n) == 0;
}


int
rec_http_parse(rec_http_req_t *r, const char *buf, size_t len, int *status,
    const char **err)
{
    char          *end;
    size_t         i, hlen, n, vlen;
    const char    *p, *eol, *line, *colon, *v, *sp1, *sp2;
    unsigned long  cl;

    memset(r, 0, sizeof(rec_http_req_t));
    *status = 400;
    *err = "malformed request";

    /* find the end of the header */

    p = NULL;

    for (i = 0; i + 3 < len; i++) {
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r'
            && buf[i + 3] == '\n')
        {
            p = buf + i;
            break;
        }
    }

    if (p == NULL) {
        if (len >= REC_HTTP_MAX_HEADER) {
            *status = 431;
            *err = "request header too large";
            return REC_ERROR;
        }

        return REC_AGAIN;
    }

    hlen = (size_t) (p - buf) + 4;

    if (hlen > REC_HTTP_MAX_HEADER) {
        *status = 431;
        *err = "request header too large";
        return REC_ERROR;
    }

    r->header_len = hlen;

    /* request line */

    eol = memchr(buf, '\r', hlen);
    sp1 = memchr(buf, ' ', (size_t) (eol - buf));
    if (sp1 == NULL) {
        return REC_ERROR;
    }

    sp2 = memchr(sp1 + 1, ' ', (size_t) (eol - sp1 - 1));
    if (sp2 == NULL) {
        return REC_ERROR;
    }

    if (rec_http_copy(r->method, sizeof(r->method), buf,
                      (size_t) (sp1 - buf)) != REC_OK
        || strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(r->method)
        || r->method[0] == '\0')
    {
        *err = "bad method";
        return REC_ERROR;
    }

    if (rec_http_copy(r->path, sizeof(r->path), sp1 + 1,
                      (size_t) (sp2 - sp1 - 1)) != REC_OK)
    {
        *status = 414;
        *err = "URI too long";
        return REC_ERROR;
    }

    if (r->path[0] != '/') {
        *err = "bad request target";
        return REC_ERROR;
    }

    r->path[strcspn(r->path, "#")] = '\0';

    if ((p = strchr(r->path, '?')) != NULL) {
        if (rec_http_copy(r->query, sizeof(r->query), p + 1, strlen(p + 1))
            != REC_OK)
        {
            *status = 414;
            *err = "query too long";
            return REC_ERROR;
        }

        r->path[p - r->path] = '\0';
    }

    n = (size_t) (eol - sp2 - 1);

    if (!((n == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0)
          || (n == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)))
    {
        *status = 505;
        *err = "HTTP version not supported";
        return REC_ERROR;
    }

    /* headers */

    line = eol + 2;

    while (line < buf + hlen - 2) {
        eol = memchr(line, '\r', (size_t) (buf + hlen - line));

        if (eol == NULL || eol[1] != '\n') {
            return REC_ERROR;
        }

        colon = memchr(line, ':', (size_t) (eol - line));

        if (colon == NULL || colon == line) {
            *err = "malformed header line";
            return REC_ERROR;
        }

        for (v = line; v < colon; v++) {
            if (*v <= ' ' || *v >= 0x7f) {
                *err = "malformed header name";
                return REC_ERROR;
            }
        }

        v = colon + 1;

        while (v < eol && (*v == ' ' || *v == '\t')) {
            v++;
        }

        vlen = (size_t) (eol - v);

        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) {
            vlen--;
        }

        n = (size_t) (colon - line);

#define rec_hdr(name) (n == sizeof(name) - 1                                  \
                       && strncasecmp(line, name, n) == 0)

        if (rec_hdr("Content-Type")) {
            if (rec_http_copy(r->content_type, sizeof(r->content_type), v,
                              vlen) != REC_OK)
            {
                *err = "Content-Type too long";
                return REC_ERROR;
            }

        } else if (rec_hdr("Authorization")) {
            if (rec_http_copy(r->authorization, sizeof(r->authorization), v,
                              vlen) != REC_OK)
            {
                *status = 431;
                *err = "Authorization header too large";
                return REC_ERROR;
            }

        } else if (rec_hdr("If-Match")) {
            if (rec_http_copy(r->if_match, sizeof(r->if_match), v, vlen)
                != REC_OK)
            {
                *err = "If-Match too long";
                return REC_ERROR;
            }

        } else if (rec_hdr("Content-Length")) {
            if (r->has_length || vlen == 0 || vlen > 9
                || strspn(v, "0123456789") < vlen)
            {
                *err = "bad Content-Length";
                return REC_ERROR;
            }

            cl = strtoul(v, &end, 10);
            r->content_length = cl;
            r->has_length = 1;

        } else if (rec_hdr("Transfer-Encoding")) {
            *status = 411;
            *err = "chunked bodies are not supported, send Content-Length";
            return REC_ERROR;
        }

#undef rec_hdr

        line = eol + 2;
    }

    if (r->content_length > REC_HTTP_MAX_BODY) {
        *status = 413;
        *err = "request body too large";
        return REC_ERROR;
    }

    if (len - hlen < r->content_length) {
        return REC_AGAIN;
    }

    if (len - hlen > r->content_length) {
        *err = "unexpected bytes after the request body";
        return REC_ERROR;
    }

    r->body = buf + hlen;
    r->body_len = r->content_length;

    return REC_OK;
}
