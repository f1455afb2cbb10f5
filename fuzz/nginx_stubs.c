
/*
 * Copyright (C) hotline authors
 */


#include "nginx_stubs.h"


static void       *fz_pool[FZ_POOL_ALLOCS];
static ngx_uint_t  fz_npool;


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    (void) pool;

    if (fz_npool == FZ_POOL_ALLOCS) {
        return NULL;
    }

    p = malloc(size ? size : 1);
    fz_pool[fz_npool++] = p;

    return p;
}


void
fz_pool_reset(void)
{
    ngx_uint_t  i;

    for (i = 0; i < fz_npool; i++) {
        free(fz_pool[i]);
    }

    fz_npool = 0;
}


uintptr_t
ngx_escape_html(u_char *dst, u_char *src, size_t size)
{
    (void) dst;
    (void) src;
    (void) size;
    __builtin_trap();
}


uintptr_t
ngx_escape_json(u_char *dst, u_char *src, size_t size)
{
    (void) dst;
    (void) src;
    (void) size;
    __builtin_trap();
}
