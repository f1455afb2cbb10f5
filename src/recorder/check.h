/*
 * hotline-recorder: the call check (--check-url): before a recording
 * starts, nginx (hotline_recording_check) says whether the token's call
 * is still in progress and may have one more recording.
 */

#ifndef _REC_CHECK_H_INCLUDED_
#define _REC_CHECK_H_INCLUDED_


#include "rec.h"


#define REC_CHECK_MAX_BODY  4096    /* bytes of an answer at most */


typedef struct rec_check_s  rec_check_t;

typedef struct {
    int     status;         /* what the WHIP client is answered, 200: go */
    char    error[33];      /* the check's error code: call_ended ... */
    char    reason[256];    /* "<error>: <message>" for the client, log */
} rec_check_result_t;


typedef void (*rec_check_done_pt)(void *data, const rec_check_result_t *res);


/*
 * asks --check-url with the (verified) token; done is called once, from
 * the main loop; NULL: it could not be started
 */
rec_check_t *rec_check_start(const char *token, rec_check_done_pt done,
    void *data);
/* the request is dropped, done is not called */
void rec_check_cancel(rec_check_t *ck);

/* what an answer means: status and body of the check (0: none came) */
void rec_check_result(rec_check_result_t *res, long status,
    const char *body, size_t len);


#endif /* _REC_CHECK_H_INCLUDED_ */
