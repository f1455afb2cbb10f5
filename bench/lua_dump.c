
/*
 * Copyright (C) hotline authors
 */

/*
 * lua_dump NAME: prints the Redis store's script NAME ("commit", "read",
 * ...) as the module sends it, for bench/relay_script.sh.  Linked with
 * src/ngx_http_hotline_store_redis_lua.c alone: the scripts are data.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_store_redis.h"


int
main(int argc, char **argv)
{
    ngx_uint_t  i;

    if (argc != 2) {
        fprintf(stderr, "usage: lua_dump NAME\n");
        return 2;
    }

    for (i = 0; i < NGX_HOTLINE_LUA_N; i++) {
        if (strcmp(ngx_http_hotline_lua[i].name, argv[1]) == 0) {
            fputs(ngx_http_hotline_lua[i].body, stdout);
            return 0;
        }
    }

    fprintf(stderr, "lua_dump: no script \"%s\"\n", argv[1]);
    return 1;
}
