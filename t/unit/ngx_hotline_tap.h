
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGX_HOTLINE_TAP_H_INCLUDED_
#define _NGX_HOTLINE_TAP_H_INCLUDED_


/*
 * Minimal TAP producer for the unit tests: one header, included by each
 * test program (one binary per unit).  The plan is printed at the end.
 */


#include <stdio.h>
#include <stdarg.h>
#include <string.h>


static unsigned  ngx_tap_run;
static unsigned  ngx_tap_failed;


static inline int
ngx_tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    ngx_tap_run++;

    printf("%s %u - ", pass ? "ok" : "not ok", ngx_tap_run);

    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);

    printf("\n");

    if (!pass) {
        ngx_tap_failed++;
        printf("#   failed at %s line %d\n", file, line);
    }

    fflush(stdout);

    return pass;
}


static inline int
ngx_tap_is(long long got, long long expected, const char *file, int line,
    const char *name)
{
    if (ngx_tap_ok(got == expected, file, line, "%s", name)) {
        return 1;
    }

    printf("#          got: %lld\n#     expected: %lld\n", got, expected);

    return 0;
}


static inline int
ngx_tap_is_str(const char *got, const char *expected, const char *file,
    int line, const char *name)
{
    int  pass;

    pass = (got == NULL && expected == NULL)
           || (got && expected && strcmp(got, expected) == 0);

    if (ngx_tap_ok(pass, file, line, "%s", name)) {
        return 1;
    }

    printf("#          got: %s\n#     expected: %s\n",
           got ? got : "(null)", expected ? expected : "(null)");

    return 0;
}


static inline int
ngx_tap_done(void)
{
    printf("1..%u\n", ngx_tap_run);

    if (ngx_tap_failed) {
        printf("# failed %u of %u\n", ngx_tap_failed, ngx_tap_run);
    }

    return ngx_tap_failed ? 1 : 0;
}


#define ok(cond, ...)                                                        \
    ngx_tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is(got, expected, name)                                              \
    ngx_tap_is((long long) (got), (long long) (expected), __FILE__,         \
               __LINE__, name)

#define is_str(got, expected, name)                                          \
    ngx_tap_is_str(got, expected, __FILE__, __LINE__, name)

#define diag(...)                                                            \
    do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)


#endif /* _NGX_HOTLINE_TAP_H_INCLUDED_ */
