/*
 * hotline-recorder: libsrtp2 sessions for one DTLS-SRTP association.
 */

#ifndef _REC_SRTP_H_INCLUDED_
#define _REC_SRTP_H_INCLUDED_


#include <srtp2/srtp.h>

#include "dtls.h"


typedef struct {
    srtp_t   in;
    srtp_t   out;
} rec_srtp_t;


int rec_srtp_init(void);
int rec_srtp_create(rec_srtp_t *s, const rec_dtls_keys_t *keys);
int rec_srtp_unprotect(rec_srtp_t *s, u_char *buf, size_t *len);
int rec_srtp_unprotect_rtcp(rec_srtp_t *s, u_char *buf, size_t *len);
/* buf must have SRTP_MAX_TRAILER_LEN spare bytes after len */
int rec_srtp_protect_rtcp(rec_srtp_t *s, u_char *buf, size_t *len);
void rec_srtp_free(rec_srtp_t *s);


#endif /* _REC_SRTP_H_INCLUDED_ */
