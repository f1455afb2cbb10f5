/*
 * hotline-recorder: one received track: reorder, depacketize, put on the
 * participant's clock, request keyframes and retransmissions, and hand
 * frames to the muxer.
 */

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "metrics.h"
#include "srtp.h"
#include "track.h"


#define REC_PLI_INTERVAL   500       /* ms between keyframe requests */
#define REC_NACK_MAX       16        /* packets asked again at once */
#define REC_SYNC_MAX       (10000LL * 1000000)  /* ns, larger: bad reports */
#define REC_NTP_UNIX       2208988800LL         /* 1970 in NTP seconds */


static void rec_track_stats(rec_track_t *t, const rec_rtp_t *rtp,
    int64_t now);
static void rec_track_sync(rec_media_t *m);


void
rec_track_init(rec_track_t *t, int kind, const rec_sdp_media_t *m)
{
    memset(t, 0, sizeof(rec_track_t));

    t->kind = kind;

    if (m == NULL) {
        return;
    }

    t->on = 1;
    t->pt = m->pt;
    t->clock = m->clock;
    t->need_key = kind == REC_MUX_VIDEO;
    t->last_pli = -REC_PLI_INTERVAL;

    rec_jitter_init(&t->jb, kind == REC_MUX_VIDEO ? 150 : 60);
    rec_vp8_init(&t->vp8);
}


void
rec_track_free(rec_track_t *t)
{
    rec_jitter_reset(&t->jb);
    rec_vp8_free(&t->vp8);
}


static void
rec_track_pli(rec_media_t *m, rec_track_t *t, int64_t now)
{
    u_char  buf[12 + SRTP_MAX_TRAILER_LEN];

    if (!t->have_ssrc || now - t->last_pli < REC_PLI_INTERVAL) {
        return;
    }

    t->last_pli = now;
    t->plis++;
    rec_metrics.keyframe_requests++;

    m->send_rtcp(m->data, buf, rec_rtcp_pli(buf, m->local_ssrc, t->ssrc));
}


static void
rec_track_nack(rec_media_t *m, rec_track_t *t, uint16_t first, unsigned n)
{
    u_char    buf[16 + SRTP_MAX_TRAILER_LEN];
    unsigned  i;
    uint16_t  blp;

    if (n > REC_NACK_MAX) {
        return;             /* a burst that large: a keyframe is cheaper */
    }

    while (n > 0) {
        blp = 0;

        for (i = 1; i < n && i <= 16; i++) {
            blp |= (uint16_t) (1u << (i - 1));
        }

        m->send_rtcp(m->data, buf, rec_rtcp_nack(buf, m->local_ssrc,
                                                 t->ssrc, first, blp));
        t->nacks++;
        rec_metrics.nacks++;

        i = n > 17 ? 17 : n;
        first = (uint16_t) (first + i);
        n -= i;
    }
}


static void
rec_track_new_ssrc(rec_media_t *m, rec_track_t *t, uint32_t ssrc)
{
    if (t->have_ssrc) {
        /* a new sender stream: drain the old one, then start over */
        rec_track_drain(m, t, -1);
        rec_jitter_reset(&t->jb);
        rec_vp8_reset(&t->vp8);
        t->ssrc_changes++;
        t->have_sr = 0;
        m->synced = 0;      /* the new stream is placed again */
        t->have_seq = 0;
        t->need_key = t->kind == REC_MUX_VIDEO;
        t->last_pli = -REC_PLI_INTERVAL;
    }

    t->ssrc = ssrc;
    t->have_ssrc = 1;
    t->have_ts = 0;
}


/*
 * A frame's time in the file: the track's offset plus its RTP time since
 * the track's first frame.  The first offset comes from the arrival of
 * the first frame; the sender reports correct it (rec_track_sr()).
 */

static int64_t
rec_track_time(rec_media_t *m, rec_track_t *t, uint32_t ts,
    int64_t arrival)
{
    int64_t  ns;

    if (!t->have_ts) {
        t->have_ts = 1;
        t->ext_ts = ts;
        t->first_ext = ts;
        t->last_ts32 = ts;
        t->offset_ns = (arrival - m->epoch) * 1000000;

        /* continue after what was written of a previous SSRC */
        if (t->offset_ns <= t->last_ns && t->last_ns > 0) {
            t->offset_ns = t->last_ns + 20000000;
        }

        t->last_ns = t->offset_ns;
        rec_track_sync(m);

    } else {
        t->ext_ts += (int32_t) (ts - t->last_ts32);
        t->last_ts32 = ts;
    }

    ns = t->offset_ns
         + (t->ext_ts - t->first_ext) * 1000000000LL / (int64_t) t->clock;

    if (ns > t->last_ns) {
        t->last_ns = ns;
    }

    return ns;
}


static void
rec_track_audio(rec_media_t *m, rec_track_t *t, rec_jb_pkt_t *pkt,
    int64_t now)
{
    int64_t   ns;
    unsigned  samples;

    if (pkt->rtp.payload_len == 0) {
        return;             /* DTX keep-alive */
    }

    samples = rec_opus_samples(pkt->rtp.payload, pkt->rtp.payload_len);

    if (samples == 0
        || rec_opus_check(pkt->rtp.payload, pkt->rtp.payload_len) != REC_OK)
    {
        rec_metrics.bad_packets++;
        return;
    }

    ns = rec_track_time(m, t, pkt->rtp.ts, pkt->arrival);

    (void) rec_mux_add(&m->mux, REC_MUX_AUDIO, pkt->rtp.payload,
                       pkt->rtp.payload_len, ns,
                       (int64_t) samples * 1000000000LL / 48000, 0, now);
}


static void
rec_track_video(rec_media_t *m, rec_track_t *t, rec_jb_pkt_t *pkt,
    int64_t now)
{
    int      rc;
    int64_t  ns;

    rc = rec_vp8_push(&t->vp8, &pkt->rtp);

    if (rc == REC_ERROR) {
        rec_metrics.bad_packets++;
        return;
    }

    if (rc != REC_OK) {
        return;
    }

    if (t->need_key && !t->vp8.key) {
        rec_track_pli(m, t, now);
        return;
    }

    if (t->vp8.key) {
        t->need_key = 0;
        rec_mux_keyframe(&m->mux, t->vp8.width, t->vp8.height);
    }

    ns = rec_track_time(m, t, pkt->rtp.ts, pkt->arrival);

    (void) rec_mux_add(&m->mux, REC_MUX_VIDEO, t->vp8.buf, t->vp8.len, ns,
                       33000000, t->vp8.key, now);
}


void
rec_track_drain(rec_media_t *m, rec_track_t *t, int64_t now)
{
    int64_t        t_now;
    unsigned       lost;
    rec_jb_pkt_t  *pkt;

    t_now = now < 0 ? rec_now_ms() : now;

    while ((pkt = rec_jitter_get(&t->jb, now, &lost)) != NULL) {

        if (lost) {
            t->lost += lost;
            rec_metrics.packets_lost += lost;

            if (t->kind == REC_MUX_VIDEO) {
                rec_vp8_reset(&t->vp8);
                t->need_key = 1;
                rec_track_pli(m, t, t_now);
            }
        }

        if (t->kind == REC_MUX_AUDIO) {
            rec_track_audio(m, t, pkt, t_now);

        } else {
            rec_track_video(m, t, pkt, t_now);
        }

        free(pkt);
    }
}


void
rec_track_rtp(rec_media_t *m, rec_track_t *t, const rec_rtp_t *rtp,
    int64_t now)
{
    int       rc;
    unsigned  n;
    uint16_t  first;

    if (!t->have_ssrc || t->ssrc != rtp->ssrc) {
        rec_track_new_ssrc(m, t, rtp->ssrc);
    }

    t->packets++;
    t->bytes += rtp->payload_len;
    rec_track_stats(t, rtp, now);

    rc = rec_jitter_put(&t->jb, rtp, now, &first, &n);

    if (rc == REC_DECLINED) {
        t->late++;
        return;
    }

    if (rc != REC_OK) {
        return;
    }

    if (n > 0 && t->kind == REC_MUX_VIDEO) {
        rec_track_nack(m, t, first, n);
    }

    if (t->kind == REC_MUX_VIDEO && t->need_key) {
        rec_track_pli(m, t, now);
    }

    rec_track_drain(m, t, now);
}


void
rec_track_tick(rec_media_t *m, rec_track_t *t, int64_t now)
{
    if (!t->on) {
        return;
    }

    rec_track_drain(m, t, now);

    if (t->kind == REC_MUX_VIDEO && t->have_ssrc && t->need_key) {
        rec_track_pli(m, t, now);
    }
}


/* RFC 3550 A.1 (sequence numbers) and A.8 (interarrival jitter) */

static void
rec_track_stats(rec_track_t *t, const rec_rtp_t *rtp, int64_t now)
{
    int64_t  transit, d;

    if (!t->have_seq) {
        t->have_seq = 1;
        t->max_seq = rtp->seq;
        t->base_seq = rtp->seq;
        t->cycles = 0;
        t->received = 0;
        t->expected_prior = 0;
        t->received_prior = 0;
        t->last_transit = 0;
        t->jitter = 0;

    } else if ((int16_t) (rtp->seq - t->max_seq) > 0) {
        if (rtp->seq < t->max_seq) {
            t->cycles += 65536;
        }

        t->max_seq = rtp->seq;
    }

    t->received++;

    /* arrival in clock units minus the RTP timestamp */

    transit = now * (int64_t) t->clock / 1000 - (int64_t) rtp->ts;

    if (t->received > 1) {
        d = transit - t->last_transit;
        d = d < 0 ? -d : d;
        t->jitter += ((double) d - t->jitter) / 16;
    }

    t->last_transit = transit;
}


static int
rec_track_block(rec_track_t *t, rec_rtcp_block_t *b, int64_t now)
{
    int32_t   expected, lost_interval;
    uint32_t  ext, expected_interval, received_interval;

    if (!t->on || !t->have_seq) {
        return REC_DECLINED;
    }

    ext = t->cycles + t->max_seq;
    expected = (int32_t) (ext - t->base_seq + 1);

    expected_interval = (uint32_t) expected - t->expected_prior;
    received_interval = t->received - t->received_prior;
    t->expected_prior = (uint32_t) expected;
    t->received_prior = t->received;
    lost_interval = (int32_t) (expected_interval - received_interval);

    b->ssrc = t->ssrc;
    b->lost = expected - (int32_t) t->received;
    b->fraction = (expected_interval == 0 || lost_interval <= 0) ? 0
                  : (uint8_t) (((uint32_t) lost_interval << 8)
                               / expected_interval);
    b->ext_seq = ext;
    b->jitter = (uint32_t) t->jitter;
    b->lsr = t->have_sr ? t->lsr : 0;
    b->dlsr = t->have_sr ? (uint32_t) ((now - t->lsr_arrival) * 65536 / 1000)
                         : 0;

    return REC_OK;
}


/*
 * Once a second: a receiver report for both tracks (the sender learns
 * loss, jitter and round trip time) and a REMB for video (without it a
 * browser stays at its start bitrate), in one compound packet.
 */

void
rec_tracks_report(rec_media_t *m, int64_t now)
{
    size_t             n;
    unsigned           nb;
    rec_track_t       *v;
    rec_rtcp_block_t   blocks[2];
    u_char             buf[8 + 2 * 24 + 24 + SRTP_MAX_TRAILER_LEN];

    if (now - m->last_report < 1000) {
        return;
    }

    m->last_report = now;
    nb = 0;

    if (rec_track_block(&m->track[REC_MUX_AUDIO], &blocks[nb], now)
        == REC_OK)
    {
        nb++;
    }

    if (rec_track_block(&m->track[REC_MUX_VIDEO], &blocks[nb], now)
        == REC_OK)
    {
        nb++;
    }

    if (nb == 0) {
        return;
    }

    n = rec_rtcp_rr(buf, m->local_ssrc, blocks, nb);
    v = &m->track[REC_MUX_VIDEO];

    if (v->on && v->have_ssrc && rec_conf.video_bitrate) {
        n += rec_rtcp_remb(buf + n, m->local_ssrc, v->ssrc,
                           rec_conf.video_bitrate);
    }

    m->send_rtcp(m->data, buf, n);
}


/* a whole track moves: its offset and what it has queued */

static void
rec_track_move(rec_media_t *m, rec_track_t *t, int64_t delta)
{
    t->offset_ns += delta;
    t->last_ns += delta;
    rec_mux_shift(&m->mux, t->kind, delta);
}


/*
 * An NTP timestamp (32.32, seconds since 1900) in microseconds since the
 * Unix epoch; seconds below 2^31 are of the era that began in 2036
 * (RFC 4330, 3).
 */

static int64_t
rec_ntp_us(uint64_t ntp)
{
    int64_t  sec;

    sec = (int64_t) (ntp >> 32);

    if (sec < 0x80000000LL) {
        sec += 0x100000000LL;
    }

    return (sec - REC_NTP_UNIX) * 1000000
           + (int64_t) (((ntp & 0xffffffff) * 1000000) >> 32);
}


/* the sender's NTP time of a track's first frame, in us since the epoch */

static int64_t
rec_track_first_us(rec_track_t *t)
{
    int32_t  delta;

    delta = (int32_t) (t->sr_rtp - (uint32_t) t->first_ext);

    return rec_ntp_us(t->sr_ntp) - (int64_t) delta * 1000000 / t->clock;
}


/*
 * A frame of a track is at offset_ns + its RTP time since the first frame
 * in the file, so time 0 in the file is the first frame's NTP time less
 * the offset: audio's when it has a report (the timeline is audio's),
 * else video's.  What was found is kept for the time after an SSRC change
 * before the new stream's first report.
 */

int
rec_media_sender_start(rec_media_t *m, int64_t *us)
{
    int           k;
    rec_track_t  *t;

    for (k = REC_MUX_AUDIO; k <= REC_MUX_VIDEO; k++) {
        t = &m->track[k];

        if (t->on && t->have_sr && t->have_ts && t->clock > 0) {
            m->sender0_us = rec_track_first_us(t) - t->offset_ns / 1000;
            break;
        }
    }

    if (m->sender0_us == 0) {
        return REC_DECLINED;
    }

    *us = m->sender0_us;

    return REC_OK;
}


/* RTCP sender reports map each SSRC's RTP clock to the sender's NTP clock */

void
rec_track_sr(rec_media_t *m, const rec_rtcp_sr_t *sr)
{
    int64_t       skew;
    rec_track_t  *t, *a, *v;

    a = &m->track[REC_MUX_AUDIO];
    v = &m->track[REC_MUX_VIDEO];

    if (a->have_ssrc && a->ssrc == sr->ssrc) {
        t = a;

    } else if (v->have_ssrc && v->ssrc == sr->ssrc) {
        t = v;

    } else {
        return;
    }

    t->have_sr = 1;
    t->sr_ntp = sr->ntp;
    t->sr_rtp = sr->rtp_ts;
    t->lsr = (uint32_t) (sr->ntp >> 16);
    t->lsr_arrival = rec_now_ms();

    /*
     * how far the sender's clock is behind ours, plus the report's way
     * here: the least over the reports is the report least delayed
     */

    skew = g_get_real_time() - rec_ntp_us(sr->ntp);

    if (!m->have_skew || skew < m->skew_us) {
        m->have_skew = 1;
        m->skew_us = skew;
    }

    rec_log(REC_LOG_DEBUG, "session %s: %s SR ntp %.3f rtp %u", m->id,
            t->kind == REC_MUX_AUDIO ? "audio" : "video",
            (double) sr->ntp / 4294967296.0, sr->rtp_ts);

    rec_track_sync(m);
}


/*
 * Once both tracks have a sender report and a first frame (whichever
 * comes last), video is placed on the audio's timeline: before the file
 * starts (the muxer waits REC_MUX_SYNC_WAIT for this) by moving video,
 * and the start of both tracks to 0 or later; once it has started only
 * ever later, video or audio, so that no written timestamp is
 * contradicted.
 */

static void
rec_track_sync(rec_media_t *m)
{
    int64_t       fix, low;
    rec_track_t  *a, *v;

    a = &m->track[REC_MUX_AUDIO];
    v = &m->track[REC_MUX_VIDEO];

    if (m->synced || !a->have_sr || !v->have_sr || !a->have_ts
        || !v->have_ts)
    {
        return;
    }

    m->synced = 1;

    /* where video belongs on the audio's timeline, less where it is */

    fix = a->offset_ns
          + (rec_track_first_us(v) - rec_track_first_us(a)) * 1000
          - v->offset_ns;

    if (fix <= -REC_SYNC_MAX || fix >= REC_SYNC_MAX) {
        rec_log(REC_LOG_WARN, "session %s: sender reports %.0f ms apart "
                "from the arrival times, not used for lip sync", m->id,
                (double) fix / 1e6);
        rec_mux_synced(&m->mux);
        return;
    }

    if (!m->mux.ready) {
        rec_track_move(m, v, fix);

        low = a->offset_ns < v->offset_ns ? a->offset_ns : v->offset_ns;

        if (low < 0) {
            rec_track_move(m, a, -low);
            rec_track_move(m, v, -low);
            m->wall0_us += low / 1000;
        }

    } else if (fix > 0) {
        rec_track_move(m, v, fix);

    } else {
        rec_track_move(m, a, -fix);
    }

    rec_mux_synced(&m->mux);

    rec_log(REC_LOG_INFO, "session %s: lip sync, video %+.1f ms against "
            "audio%s", m->id, (double) fix / 1e6,
            m->mux.ready ? " (after the start: the later track moved)" : "");
}
