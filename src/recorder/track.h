/*
 * hotline-recorder: a session's received tracks (track.c): reorder,
 * depacketize, put on the participant's clock, request keyframes and
 * retransmissions, and hand frames to the muxer.
 */

#ifndef _REC_TRACK_H_INCLUDED_
#define _REC_TRACK_H_INCLUDED_


#include "jitter.h"
#include "mux.h"
#include "rtp.h"
#include "sdp.h"


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


/* sends an RTCP packet of the tracks' (the session: SRTCP over ICE) */
typedef void (*rec_media_send_pt)(void *data, u_char *buf, size_t len);


/* a session's media: its two tracks into one file */
typedef struct {
    rec_track_t        track[2];
    rec_mux_t          mux;
    uint32_t           local_ssrc;
    int64_t            epoch;         /* first media packet, ms */
    int                synced;
    int64_t            wall0_us;      /* wall clock of time 0 in the file */
    int                have_skew;
    int64_t            skew_us;       /* least (our wall clock - the
                                         sender's) at a sender report */
    int64_t            sender0_us;    /* rec_media_sender_start(), 0 */
    int64_t            last_report;
    const char        *id;            /* the session's, for log lines */
    rec_media_send_pt  send_rtcp;
    void              *data;          /* of send_rtcp */
} rec_media_t;


void rec_track_init(rec_track_t *t, int kind, const rec_sdp_media_t *m);
void rec_track_free(rec_track_t *t);
void rec_track_rtp(rec_media_t *m, rec_track_t *t, const rec_rtp_t *rtp,
    int64_t now);
void rec_track_drain(rec_media_t *m, rec_track_t *t, int64_t now);
void rec_track_sr(rec_media_t *m, const rec_rtcp_sr_t *sr);
void rec_track_tick(rec_media_t *m, rec_track_t *t, int64_t now);
void rec_tracks_report(rec_media_t *m, int64_t now);
/*
 * The sender's wall clock (us since the epoch, from its sender reports)
 * at time 0 in the file; REC_DECLINED before a track has a sender report
 * and a first frame.
 */
int rec_media_sender_start(rec_media_t *m, int64_t *us);


#endif /* _REC_TRACK_H_INCLUDED_ */
