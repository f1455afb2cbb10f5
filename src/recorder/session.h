/*
 * hotline-recorder: one WHIP session = one participant's recording.
 */

#ifndef _REC_SESSION_H_INCLUDED_
#define _REC_SESSION_H_INCLUDED_


#include <limits.h>

#include <jansson.h>

#include "dtls.h"
#include "ice.h"
#include "jitter.h"
#include "mux.h"
#include "rtp.h"
#include "sdp.h"
#include "srtp.h"


#define REC_SESSION_NEW        0
#define REC_SESSION_CONNECTED  1
#define REC_SESSION_SECURE     2
#define REC_SESSION_CLOSED     3


typedef struct {
    int            kind;              /* REC_MUX_AUDIO or REC_MUX_VIDEO */
    int            on;
    int            pt;
    unsigned       clock;
    uint32_t       ssrc;
    int            have_ssrc;
    rec_jitter_t   jb;
    rec_vp8_t      vp8;

    int            have_ts;
    uint32_t       last_ts32;
    int64_t        ext_ts;
    int64_t        first_ext;
    int64_t        offset_ns;
    int64_t        last_ns;

    int            have_sr;
    uint64_t       sr_ntp;
    uint32_t       sr_rtp;

    int            need_key;
    int64_t        last_pli;          /* ms */

    /* RFC 3550 A.1 / A.3 receive statistics for receiver reports */
    int            have_seq;
    uint16_t       max_seq;
    uint32_t       cycles;
    uint32_t       base_seq;
    uint32_t       received;
    uint32_t       expected_prior;
    uint32_t       received_prior;
    int64_t        last_transit;      /* ms */
    double         jitter;            /* in clock units */
    uint32_t       lsr;
    int64_t        lsr_arrival;       /* ms */
    int64_t        first_wall_us;

    uint64_t       packets;
    uint64_t       lost;
    uint64_t       late;
    uint64_t       bytes;
    uint64_t       plis;
    uint64_t       nacks;
    uint64_t       ssrc_changes;
} rec_track_t;


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

    rec_track_t      track[2];
    rec_mux_t        mux;
    int              mux_open;
    uint32_t         local_ssrc;

    char             dir[PATH_MAX];
    char             file[64];
    char             path[PATH_MAX];

    int64_t          created;         /* ms, monotonic */
    int64_t          connected;
    int64_t          last_media;
    int64_t          last_report;
    int64_t          epoch;           /* first media packet, ms */
    int              have_epoch;
    int              synced;
    int64_t          start_wall_us;   /* wall clock of epoch */
    int64_t          wall0_us;        /* wall clock of time 0 in the file */
    int64_t          created_wall_us;
    int64_t          end_wall_us;

    unsigned         destroy_idle;
    int              manifest_written;
} rec_session_t;


int rec_sessions_init(void);
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

/* track.c */
void rec_track_init(rec_track_t *t, int kind, const rec_sdp_media_t *m);
void rec_track_free(rec_track_t *t);
void rec_track_rtp(rec_session_t *s, rec_track_t *t, const rec_rtp_t *rtp,
    int64_t now);
void rec_track_drain(rec_session_t *s, rec_track_t *t, int64_t now);
void rec_track_sr(rec_session_t *s, const rec_rtcp_sr_t *sr);
void rec_track_tick(rec_session_t *s, rec_track_t *t, int64_t now);
void rec_tracks_report(rec_session_t *s, int64_t now);
void rec_session_send_rtcp(rec_session_t *s, u_char *buf, size_t len);

/* manifest.c */
int rec_manifest_write(rec_session_t *s, int final);
int rec_manifest_put(const char *dir, const char *call, const char *id,
    json_t *entry, int merge);
int rec_manifest_set(const char *dir, const char *call, json_t *fields);
json_t *rec_manifest_time(int64_t us);


#endif /* _REC_SESSION_H_INCLUDED_ */
