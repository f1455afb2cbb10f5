
/*
 * Copyright (C) hotline authors
 */


/*
 * libFuzzer target for src/ngx_http_hotline_telegram.c: the cleaning of
 * user text (customer names) before it goes into a Telegram message, and
 * the parsing of the Bot API's answers.  The first byte picks which; the
 * rest is the input.
 *
 * clean: the output is at most max bytes, valid UTF-8 (checked here by an
 * independent decoder), with no control character but '\n'; an input
 * that is already such text and fits comes out unchanged.
 * answer: retry_after within 1h, the description printable ASCII.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_curl.h"
#include "ngx_http_hotline_telegram.h"


#define fz_check(cond)  if (!(cond)) { __builtin_trap(); }


/* bytes of one valid UTF-8 character at p (RFC 3629 table), or 0 */

static size_t
fz_utf8(const u_char *p, size_t n)
{
    u_char  c = p[0];

    if (c <= 0x7f) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) {
            return 0;
        }

        if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f)) {
            return 0;
        }

        return 3;
    }

    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80
            || (p[3] & 0xc0) != 0x80)
        {
            return 0;
        }

        if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)) {
            return 0;
        }

        return 4;
    }

    return 0;
}


static ngx_uint_t
fz_clean_text(const u_char *p, size_t n)
{
    size_t  i, k;

    for (i = 0; i < n; i += k) {
        k = fz_utf8(p + i, n - i);

        if (k == 0) {
            return 0;
        }

        if (k == 1 && ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f)) {
            return 0;
        }
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                              *src, *dst;
    size_t                               i, len, max, n;
    ngx_str_t                            body;
    ngx_http_hotline_telegram_answer_t   answer;

    if (size < 2) {
        return 0;
    }

    len = size - 2;

    if (data[0] & 1) {
        body.data = (u_char *) data + 2;
        body.len = len;

        ngx_http_hotline_telegram_answer(&body, &answer);

        fz_check(answer.ok <= 1);
        fz_check(answer.retry_after <= 3600 * 1000);
        fz_check(answer.description_len <= NGX_HOTLINE_TG_DESC_MAX);

        for (i = 0; i < answer.description_len; i++) {
            fz_check(answer.description[i] >= 0x20
                     && answer.description[i] < 0x7f);
        }

        return 0;
    }

    max = data[1] ? data[1] : 256;

    /* copies: ASan sees any read or write past them */

    src = malloc(len ? len : 1);
    dst = malloc(ngx_min(len, max) + 1);
    fz_check(src && dst);

    ngx_memcpy(src, data + 2, len);

    n = ngx_http_hotline_telegram_clean(dst, src, len, max);

    fz_check(n <= max && n <= len);
    fz_check(fz_clean_text(dst, n));

    if (len <= max && fz_clean_text(src, len)) {
        fz_check(n == len && ngx_memcmp(dst, src, len) == 0);
    }

    free(src);
    free(dst);

    return 0;
}
