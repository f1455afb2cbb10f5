/*
 * hotline-recorder: DTLS-SRTP server side (RFC 5763, RFC 5764).
 */

#ifndef _REC_DTLS_H_INCLUDED_
#define _REC_DTLS_H_INCLUDED_


#include "rec.h"


#define REC_SRTP_AES128_CM_SHA1_80   0x0001
#define REC_SRTP_AEAD_AES_128_GCM    0x0007

#define REC_SRTP_MAX_KEY             32     /* key + salt */


typedef struct rec_dtls_s  rec_dtls_t;

typedef int (*rec_dtls_send_pt)(void *data, const u_char *buf, size_t len);


typedef struct {
    int      profile;
    size_t   len;                           /* key + salt */
    u_char   remote[REC_SRTP_MAX_KEY];      /* the browser's (client) */
    u_char   local[REC_SRTP_MAX_KEY];
} rec_dtls_keys_t;


int rec_dtls_init(void);
const char *rec_dtls_fingerprint(void);
/* "SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80" (RFC 5764 names) */
const char *rec_dtls_profile_name(int profile);
rec_dtls_t *rec_dtls_create(rec_dtls_send_pt send, void *data,
    const u_char *peer_fingerprint);
/*
 * REC_AGAIN: handshake in progress, REC_OK: handshake just completed and
 * keys are filled in, REC_DECLINED: application data or alert ignored,
 * REC_DONE: peer closed, REC_ERROR: failure (reason in *reason).
 */
#define REC_DONE  -4
int rec_dtls_input(rec_dtls_t *d, const u_char *buf, size_t len,
    rec_dtls_keys_t *keys, const char **reason);
void rec_dtls_timer(rec_dtls_t *d);
void rec_dtls_free(rec_dtls_t *d);

/* benchmark / test helper: the server context */
void *rec_dtls_ctx(void);


#endif /* _REC_DTLS_H_INCLUDED_ */
