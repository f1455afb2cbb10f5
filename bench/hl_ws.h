
/*
 * Copyright (C) hotline authors
 *
 * RFC 6455 framing helpers shared by the load generator (hl_load) and the
 * bare relay (bare_relay): frame header parsing and encoding, masking and
 * the Sec-WebSocket-Accept computation.  No I/O, no allocation.
 */


#ifndef _HL_WS_H_INCLUDED_
#define _HL_WS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define HL_WS_OP_CONT     0x0
#define HL_WS_OP_TEXT     0x1
#define HL_WS_OP_BINARY   0x2
#define HL_WS_OP_CLOSE    0x8
#define HL_WS_OP_PING     0x9
#define HL_WS_OP_PONG     0xa

#define HL_WS_MAX_HEADER  14
#define HL_WS_KEY_LEN     24       /* base64 of 16 bytes */
#define HL_WS_ACCEPT_LEN  28       /* base64 of a SHA-1 digest */


typedef struct {
    unsigned   fin;
    unsigned   rsv;
    unsigned   opcode;
    unsigned   masked;
    uint8_t    mask[4];
    uint64_t   len;                /* payload length */
    size_t     header_len;
} hl_ws_header_t;


/*
 * Returns 1 and fills h when p[0..n) holds a complete header, 0 when more
 * bytes are needed, -1 when the header is invalid (64-bit length with the
 * top bit set, control frame longer than 125 bytes or fragmented).
 */
int hl_ws_parse_header(const uint8_t *p, size_t n, hl_ws_header_t *h);

/* Writes a FIN frame header to dst (HL_WS_MAX_HEADER bytes); mask may be
 * NULL (server to client).  Returns its length. */
size_t hl_ws_write_header(uint8_t *dst, unsigned opcode, uint64_t len,
    const uint8_t *mask);

/* XORs p[0..n) with mask, starting at the payload offset off. */
void hl_ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/* base64 of 16 random bytes: a client key (HL_WS_KEY_LEN chars + NUL). */
int hl_ws_make_key(char key[HL_WS_KEY_LEN + 1]);

/* The Sec-WebSocket-Accept value for key (HL_WS_ACCEPT_LEN chars + NUL). */
int hl_ws_accept(const char *key, size_t key_len,
    char accept[HL_WS_ACCEPT_LEN + 1]);

/* Finds the value of HTTP header name (case-insensitive) in the header
 * block hdr[0..n); returns its start and sets *len, or NULL. */
const char *hl_http_header(const char *hdr, size_t n, const char *name,
    size_t *len);


#endif /* _HL_WS_H_INCLUDED_ */
