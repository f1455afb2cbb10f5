/*
 * hotline-recorder: SDP offer parser and answer builder.
 */

#ifndef _REC_SDP_H_INCLUDED_
#define _REC_SDP_H_INCLUDED_


#include "rec.h"


#define REC_SDP_MAX_LEN         65536
#define REC_SDP_MAX_LINE        4096
#define REC_SDP_MAX_LINES       2048
#define REC_SDP_MAX_MEDIA       8
#define REC_SDP_MAX_CANDIDATES  32

#define REC_SDP_AUDIO           1
#define REC_SDP_VIDEO           2
#define REC_SDP_OTHER           3

#define REC_SDP_SENDRECV        0
#define REC_SDP_SENDONLY        1
#define REC_SDP_RECVONLY        2
#define REC_SDP_INACTIVE        3


typedef struct {
    int            kind;
    int            rejected;          /* port 0 or no usable codec */
    int            direction;
    char           mid[33];
    char           fmts[256];         /* format list for a rejected line */
    char           proto[32];
    int            pt;                /* chosen payload type, -1: none */
    unsigned       clock;
    unsigned       channels;
} rec_sdp_media_t;


typedef struct {
    char             ufrag[257];
    char             pwd[257];
    u_char           fingerprint[32];  /* sha-256 */
    int              has_fingerprint;
    int              setup_active;     /* offerer is actpass or active */
    char             bundle[256];
    unsigned         n_media;
    rec_sdp_media_t  media[REC_SDP_MAX_MEDIA];
    unsigned         n_candidates;
    char             candidates[REC_SDP_MAX_CANDIDATES][512];
} rec_sdp_offer_t;


typedef struct {
    const char   *ufrag;
    const char   *pwd;
    const char   *fingerprint;         /* "AB:CD:..." */
    const char  **candidates;          /* "candidate:..." lines */
    unsigned      n_candidates;
    uint64_t      session_id;
} rec_sdp_answer_params_t;


/*
 * Returns REC_OK, or REC_ERROR with a short human readable reason in err.
 */
int rec_sdp_parse_offer(rec_sdp_offer_t *offer, const char *sdp, size_t len,
    char *err, size_t errlen);

/*
 * Parses a trickle-ice-sdpfrag body: ufrag (may be empty) and candidates.
 */
int rec_sdp_parse_frag(rec_sdp_offer_t *frag, const char *body, size_t len,
    char *err, size_t errlen);

/*
 * Returns a malloc()ed NUL terminated answer or NULL.
 */
char *rec_sdp_build_answer(const rec_sdp_offer_t *offer,
    const rec_sdp_answer_params_t *p);


#endif /* _REC_SDP_H_INCLUDED_ */
