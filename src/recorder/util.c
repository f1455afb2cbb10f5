/*
 * hotline-recorder: small helpers (clock, CSPRNG ids, role names).
 */

#include <time.h>

#include <openssl/rand.h>

#include "rec.h"


const char *
rec_role_name(int role)
{
    return role == REC_ROLE_AGENT ? "agent" : "customer";
}


int64_t
rec_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int
rec_random_hex(char *buf, size_t bytes)
{
    size_t          i;
    unsigned char   rnd[64];
    static const char  hex[] = "0123456789abcdef";

    if (bytes > sizeof(rnd) || RAND_bytes(rnd, (int) bytes) != 1) {
        return REC_ERROR;
    }

    for (i = 0; i < bytes; i++) {
        buf[2 * i] = hex[rnd[i] >> 4];
        buf[2 * i + 1] = hex[rnd[i] & 0x0f];
    }

    buf[2 * bytes] = '\0';

    return REC_OK;
}
