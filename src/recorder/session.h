/*
 * hotline-recorder: one WHIP session = one participant's recording.
 */

#ifndef _REC_SESSION_H_INCLUDED_
#define _REC_SESSION_H_INCLUDED_


#include <limits.h>

#include <jansson.h>

#include "dtls.h"
#include "ice.h"
#include "rtp.h"
#include "sdp.h"
#include "srtp.h"
#include "track.h"


#define REC_SESSION_NEW        0
#define REC_SESSION_CONNECTED  1
#define REC_SESSION_SECURE     2
#define REC_SESSION_CLOSED     3


typedef struct rec_session_s {
    char             id[33];
    char             call[65];
    int              role;
    int              state;
    const char      *reason;

    rec_ice_t        ice;
    rec_dtls_t      *dtls;
    rec_srtp_t       srtp;
    int              have_srtp;
    int              srtp_profile;    /* REC_SRTP_*, 0 before DTLS */
    char             ufrag[257];
    char             mids[REC_SDP_MAX_MEDIA * 34 + 2];

    rec_media_t      media;           /* the tracks and their file */
    int              mux_open;

    char             dir[PATH_MAX];
    char             file[64];
    char             path[PATH_MAX];

    int64_t          created;         /* ms, monotonic */
    int64_t          connected;
    int64_t          last_media;
    int              have_epoch;      /* media.epoch is set */
    int64_t          start_wall_us;   /* wall clock of epoch */
    int64_t          created_wall_us;
    int64_t          end_wall_us;

    unsigned         destroy_idle;
    int              manifest_written;
} rec_session_t;


/*
 * Told when a session of a call starts (ended 0) and when one ends
 * (ended 1): calls.c listens, to complete the call's recording.
 */
typedef void (*rec_session_call_pt)(const char *call, int ended);


int rec_sessions_init(void);
void rec_sessions_on_call(rec_session_call_pt handler);
unsigned rec_sessions_count(void);
rec_session_t *rec_session_find(const char *id);
rec_session_t *rec_session_find_role(const char *call, int role);
rec_session_t *rec_session_find_call(const char *call);
/*
 * Creates the session, its ICE agent and output file, and returns the SDP
 * answer (malloc()ed) in *answer.  On failure *status is the HTTP status
 * and *err the reason.
 */
rec_session_t *rec_session_create(const rec_sdp_offer_t *offer,
    const char *call, int role, char **answer, int *status,
    const char **err);
int rec_session_trickle(rec_session_t *s, rec_sdp_offer_t *frag,
    const char **err);
void rec_session_end(rec_session_t *s, const char *reason);
/* a datagram from ICE (DTLS, SRTP or SRTCP); the benchmark calls it too */
void rec_session_input(void *data, u_char *buf, size_t len);
void rec_sessions_end_all(const char *reason);
/* the tracks' RTCP (rec_media_t's send_rtcp), data: the session */
void rec_session_send_rtcp(void *data, u_char *buf, size_t len);

/* manifest.c */
int rec_manifest_write(rec_session_t *s, int final);
int rec_manifest_put(const char *dir, const char *call, const char *id,
    json_t *entry, int merge);
int rec_manifest_set(const char *dir, const char *call, json_t *fields);
json_t *rec_manifest_time(int64_t us);


#endif /* _REC_SESSION_H_INCLUDED_ */
