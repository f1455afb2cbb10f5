
/*
 * Copyright (C) hotline authors
 */


#ifndef _NGINX_STUBS_H_INCLUDED_
#define _NGINX_STUBS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Stand-ins for the nginx core functions the fuzzed sources call (a fuzz
 * target links those sources, not nginx): ngx_pnalloc() takes from a pool
 * of at most FZ_POOL_ALLOCS blocks (NULL past them, as a pool out of
 * memory) that fz_pool_reset() frees after each input; the others trap,
 * as no target reaches them.
 */

#define FZ_POOL_ALLOCS  16


void fz_pool_reset(void);


#endif /* _NGINX_STUBS_H_INCLUDED_ */
