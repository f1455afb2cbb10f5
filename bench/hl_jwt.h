
/*
 * Copyright (C) hotline authors
 *
 * Mints the agents' HS256 JWTs for the load generator.
 */


#ifndef _HL_JWT_H_INCLUDED_
#define _HL_JWT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>


/* Reads an HS256 key file (trailing newline stripped, as the module does).
 * Returns the key length, or -1. */
int hl_jwt_read_key(const char *path, uint8_t *key, size_t size);

/* Writes header.payload.signature with claims sub, role "agent" and exp
 * to out (NUL-terminated).  Returns its length, or -1 if out is short. */
int hl_jwt_mint(const uint8_t *key, size_t key_len, const char *sub,
    time_t exp, char *out, size_t size);


#endif /* _HL_JWT_H_INCLUDED_ */
