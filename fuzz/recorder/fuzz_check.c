/*
 * libFuzzer target: the call check's answers (check_answer.c).  The
 * first two input bytes select the status, the rest is the body.
 */

#include <string.h>

#include "check.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long                 status;
    rec_check_result_t   r;

    static const long  statuses[] = { 200, 401, 410, 429, 503, 404, 0, 500 };

    if (size < 1 || size > REC_CHECK_MAX_BODY + 1) {
        return 0;
    }

    status = statuses[data[0] & 7];

    rec_check_result(&r, status, (const char *) data + 1, size - 1);

    if (r.status == 200 ? status != 200
                        : memchr(r.reason, '\0', sizeof(r.reason)) == NULL)
    {
        __builtin_trap();
    }

    return 0;
}
