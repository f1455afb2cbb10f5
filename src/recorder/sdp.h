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


/* ICE and DTLS attributes of one transport (session or media level) */

typedef struct {
    char           ufrag[257];
    char           pwd[257];
    u_char         fingerprint[32];    /* sha-256 */
    int            has_fingerprint;
    int            setup_active;       /* a=setup:actpass or active */
} rec_sdp_transport_t;


typedef struct {
    int            kind;
    int            rejected;          /* port 0 or no usable codec */
    int            port_zero;
    int            bundle_only;       /* a=bundle-only (RFC 8843) */
    int            in_bundle;         /* its mid is in the BUNDLE group */
    int            direction;
    char           mid[33];
    char           fmts[256];         /* format list for a rejected line */
    char           proto[32];
    int            pt;                /* chosen payload type, -1: none */
    unsigned       clock;
    unsigned       channels;
    rec_sdp_transport_t  tp;          /* media level attributes */
} rec_sdp_media_t;


/*
 * After rec_sdp_parse_offer(): ufrag, pwd, fingerprint and candidates are
 * those of the one transport the recorder uses: the transport of the
 * first accepted media section of the BUNDLE group (RFC 8843: every
 * bundled section uses it, whatever its own attributes say; a client
 * with one ICE transport per section, as aiortc, offers several), or of
 * the only accepted section without BUNDLE.
 */

typedef struct {
    char             ufrag[257];
    char             pwd[257];
    u_char           fingerprint[32];  /* sha-256 */
    int              has_fingerprint;
    int              setup_active;     /* offerer is actpass or active */
    int              has_bundle;       /* the offer has a BUNDLE group */
    char             bundle[256];
    /* " mid mid ": the sections that share the transport */
    char             mids[REC_SDP_MAX_MEDIA * 34 + 2];
    rec_sdp_transport_t  session;      /* session level attributes */
    unsigned         n_media;
    rec_sdp_media_t  media[REC_SDP_MAX_MEDIA];
    unsigned         n_candidates;
    char             candidates[REC_SDP_MAX_CANDIDATES][512];
    int              cand_media[REC_SDP_MAX_CANDIDATES];   /* -1: session */
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
 * Parses a trickle-ice-sdpfrag body (RFC 8840): ufrag (may be empty) and
 * candidates; candidates under an a=mid that is not in "mids" (the
 * offer's mids, see above) belong to another transport and are left out.
 */
int rec_sdp_parse_frag(rec_sdp_offer_t *frag, const char *body, size_t len,
    const char *mids, char *err, size_t errlen);

/*
 * Returns a malloc()ed NUL terminated answer or NULL.
 */
char *rec_sdp_build_answer(const rec_sdp_offer_t *offer,
    const rec_sdp_answer_params_t *p);


#endif /* _REC_SDP_H_INCLUDED_ */
