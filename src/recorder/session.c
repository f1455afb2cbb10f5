/*
 * hotline-recorder: session lifecycle: ICE -> DTLS -> SRTP -> tracks ->
 * WebM, a 20 ms tick for timers, limits and reaping, and the final
 * manifest when the session ends for whatever reason.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/rand.h>

#include "metrics.h"
#include "session.h"


#define REC_TICK_MS          20
#define REC_CONNECT_TIMEOUT  20000     /* ms from answer to DTLS done */


static GHashTable          *rec_sessions;
static rec_session_call_pt  rec_session_on_call;


static void rec_session_ice_state(void *data, int state);
static int rec_session_dtls_send(void *data, const u_char *buf, size_t len);
static void rec_session_tick(rec_session_t *s);
static gboolean rec_sessions_tick(gpointer data);
static gboolean rec_session_destroy(gpointer data);


int
rec_sessions_init(void)
{
    rec_sessions = g_hash_table_new(g_str_hash, g_str_equal);

    if (rec_sessions == NULL) {
        return REC_ERROR;
    }

    /* one timer for all sessions: jitter buffer deadlines, DTLS
     * retransmissions, limits and reaping */

    g_timeout_add(REC_TICK_MS, rec_sessions_tick, NULL);

    return REC_OK;
}


void
rec_sessions_on_call(rec_session_call_pt handler)
{
    rec_session_on_call = handler;
}


unsigned
rec_sessions_count(void)
{
    return g_hash_table_size(rec_sessions);
}


rec_session_t *
rec_session_find(const char *id)
{
    return g_hash_table_lookup(rec_sessions, id);
}


rec_session_t *
rec_session_find_call(const char *call)
{
    gpointer        value;
    GHashTableIter  it;

    g_hash_table_iter_init(&it, rec_sessions);

    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (strcmp(((rec_session_t *) value)->call, call) == 0) {
            return value;
        }
    }

    return NULL;
}


rec_session_t *
rec_session_find_role(const char *call, int role)
{
    gpointer        value;
    GHashTableIter  it;
    rec_session_t  *s;

    g_hash_table_iter_init(&it, rec_sessions);

    while (g_hash_table_iter_next(&it, NULL, &value)) {
        s = value;

        if (s->role == role && strcmp(s->call, call) == 0) {
            return s;
        }
    }

    return NULL;
}


/*
 * <recordings>/<call>/<role>.webm; a participant who publishes again gets
 * <role>-2.webm and so on, --max-recordings per call and role at most:
 * REC_DECLINED when they are all taken
 */

static int
rec_session_paths(rec_session_t *s, const char *call, int role)
{
    unsigned     i;
    struct stat  st;

    if (snprintf(s->dir, sizeof(s->dir), "%s/%s", rec_conf.recordings_dir,
                 call) >= (int) sizeof(s->dir))
    {
        return REC_ERROR;
    }

    if (mkdir(s->dir, 0750) != 0 && errno != EEXIST) {
        rec_log(REC_LOG_ERR, "session: mkdir \"%s\": %s", s->dir,
                strerror(errno));
        return REC_ERROR;
    }

    for (i = 1; i <= rec_conf.max_recordings; i++) {
        if (i == 1) {
            snprintf(s->file, sizeof(s->file), "%s.webm",
                     rec_role_name(role));

        } else {
            snprintf(s->file, sizeof(s->file), "%s-%u.webm",
                     rec_role_name(role), i);
        }

        if (snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, s->file)
            >= (int) sizeof(s->path))
        {
            return REC_ERROR;
        }

        if (stat(s->path, &st) != 0 && errno == ENOENT) {
            return REC_OK;
        }
    }

    return REC_DECLINED;
}


rec_session_t *
rec_session_create(const rec_sdp_offer_t *offer, const char *call, int role,
    char **answer, int *status, const char **err)
{
    int                       audio, video, rc;
    gchar                    *ufrag, *pwd, **cands;
    static char               msg[160];
    unsigned                  i;
    rec_sdp_offer_t          *o;
    rec_session_t            *s;
    rec_sdp_answer_params_t   ap;

    *status = 500;
    *err = "internal error";
    *answer = NULL;

    s = calloc(1, sizeof(rec_session_t));
    o = malloc(sizeof(rec_sdp_offer_t));

    if (s == NULL || o == NULL) {
        free(s);
        free(o);
        return NULL;
    }

    memcpy(o, offer, sizeof(rec_sdp_offer_t));

    if (rec_random_hex(s->id, 16) != REC_OK
        || RAND_bytes((u_char *) &s->media.local_ssrc, 4) != 1)
    {
        goto failed;
    }

    snprintf(s->call, sizeof(s->call), "%s", call);
    s->role = role;
    s->created = rec_now_ms();
    s->created_wall_us = g_get_real_time();
    snprintf(s->ufrag, sizeof(s->ufrag), "%s", o->ufrag);
    snprintf(s->mids, sizeof(s->mids), "%s", o->mids);

    /* one audio and one video track; further sections are declined */

    audio = -1;
    video = -1;

    for (i = 0; i < o->n_media; i++) {
        if (o->media[i].rejected) {
            continue;
        }

        if (o->media[i].kind == REC_SDP_AUDIO && audio < 0) {
            audio = (int) i;

        } else if (o->media[i].kind == REC_SDP_VIDEO && video < 0) {
            video = (int) i;

        } else {
            o->media[i].rejected = 1;
        }
    }

    rec_track_init(&s->media.track[REC_MUX_AUDIO], REC_MUX_AUDIO,
                   audio >= 0 ? &o->media[audio] : NULL);
    rec_track_init(&s->media.track[REC_MUX_VIDEO], REC_MUX_VIDEO,
                   video >= 0 ? &o->media[video] : NULL);

    s->media.id = s->id;
    s->media.send_rtcp = rec_session_send_rtcp;
    s->media.data = s;

    rc = rec_session_paths(s, call, role);

    if (rc == REC_DECLINED) {
        snprintf(msg, sizeof(msg), "call %s has %u %s recordings already, "
                 "the most it may have (--max-recordings)", call,
                 rec_conf.max_recordings, rec_role_name(role));
        *status = 409;
        *err = msg;
        goto failed;
    }

    if (rc != REC_OK) {
        *err = "cannot create the recording directory";
        goto failed;
    }

    if (rec_ice_create(&s->ice, rec_session_input, rec_session_ice_state, s)
        != REC_OK)
    {
        *err = "cannot create an ICE agent";
        goto failed;
    }

    if (rec_ice_remote(&s->ice, o->ufrag, o->pwd) != REC_OK) {
        *status = 400;
        *err = "ICE credentials refused";
        goto failed;
    }

    (void) rec_ice_add_candidates(&s->ice, o->candidates, o->n_candidates);

    s->dtls = rec_dtls_create(rec_session_dtls_send, s, o->fingerprint);
    if (s->dtls == NULL) {
        goto failed;
    }

    if (rec_mux_open(&s->media.mux, s->path, audio >= 0, video >= 0)
        != REC_OK)
    {
        *err = "cannot create the recording file";
        goto failed;
    }

    s->mux_open = 1;

    if (rec_ice_local(&s->ice, &ufrag, &pwd, &cands) != REC_OK) {
        *err = "no local ICE candidate";
        goto failed;
    }

    ap.ufrag = ufrag;
    ap.pwd = pwd;
    ap.fingerprint = rec_dtls_fingerprint();
    ap.candidates = (const char **) cands;
    ap.n_candidates = g_strv_length(cands);
    RAND_bytes((u_char *) &ap.session_id, sizeof(ap.session_id));
    ap.session_id &= 0x7fffffffffffffffULL;

    *answer = rec_sdp_build_answer(o, &ap);

    g_free(ufrag);
    g_free(pwd);
    g_strfreev(cands);

    if (*answer == NULL) {
        goto failed;
    }

    g_hash_table_insert(rec_sessions, s->id, s);
    rec_metrics.sessions_total++;
    if (rec_session_on_call) {
        rec_session_on_call(s->call, 0);
    }

    (void) rec_manifest_write(s, 0);

    rec_log(REC_LOG_INFO, "session %s: created, call %s, %s, audio %s, "
            "video %s, file %s", s->id, s->call, rec_role_name(role),
            audio >= 0 ? "yes" : "no", video >= 0 ? "yes" : "no", s->file);

    free(o);

    return s;

failed:

    free(*answer);
    *answer = NULL;

    if (s->mux_open) {
        (void) rec_mux_close(&s->media.mux);
        (void) unlink(s->path);
    }

    rec_dtls_free(s->dtls);
    rec_ice_free(&s->ice);
    rec_track_free(&s->media.track[0]);
    rec_track_free(&s->media.track[1]);
    free(s);
    free(o);

    return NULL;
}


int
rec_session_trickle(rec_session_t *s, rec_sdp_offer_t *frag,
    const char **err)
{
    if (frag->ufrag[0] != '\0' && strcmp(frag->ufrag, s->ufrag) != 0) {
        *err = "ICE restart is not supported";
        return REC_DECLINED;
    }

    (void) rec_ice_add_candidates(&s->ice, frag->candidates,
                                  frag->n_candidates);

    return REC_OK;
}


void
rec_session_send_rtcp(void *data, u_char *buf, size_t len)
{
    rec_session_t  *s;

    s = data;

    if (!s->have_srtp || s->state == REC_SESSION_CLOSED) {
        return;
    }

    if (rec_srtp_protect_rtcp(&s->srtp, buf, &len) != REC_OK) {
        return;
    }

    (void) rec_ice_send(&s->ice, buf, len);
}


static int
rec_session_dtls_send(void *data, const u_char *buf, size_t len)
{
    rec_session_t  *s;

    s = data;

    return rec_ice_send(&s->ice, buf, len);
}


static void
rec_session_ice_state(void *data, int state)
{
    rec_session_t  *s;

    s = data;

    if (s->state == REC_SESSION_CLOSED) {
        return;
    }

    if (state == REC_ICE_CONNECTED && s->state == REC_SESSION_NEW) {
        s->state = REC_SESSION_CONNECTED;
        s->connected = rec_now_ms();
        rec_log(REC_LOG_INFO, "session %s: ICE connected", s->id);

    } else if (state == REC_ICE_FAILED) {
        rec_metrics.ice_failures++;
        rec_session_end(s, "ice_failed");
    }
}


static void
rec_session_sr(void *data, const rec_rtcp_sr_t *sr)
{
    rec_session_t  *s;

    s = data;

    rec_track_sr(&s->media, sr);
}


static void
rec_session_media(rec_session_t *s, u_char *buf, size_t len)
{
    int64_t       now;
    unsigned      i;
    rec_rtp_t     rtp;
    rec_track_t  *t;
    u_char        pkt[REC_RTP_MAX_PACKET + SRTP_MAX_TRAILER_LEN];

    if (len > REC_RTP_MAX_PACKET + SRTP_MAX_TRAILER_LEN || len < 12) {
        rec_metrics.bad_packets++;
        return;
    }

    memcpy(pkt, buf, len);

    if (rec_rtp_is_rtcp(pkt, len)) {
        if (rec_srtp_unprotect_rtcp(&s->srtp, pkt, &len) != REC_OK) {
            rec_metrics.srtp_errors++;
            return;
        }

        rec_metrics.rtcp_packets++;

        if (rec_rtcp_parse(pkt, len, rec_session_sr, s) != REC_OK) {
            rec_metrics.bad_packets++;
        }

        return;
    }

    if (rec_srtp_unprotect(&s->srtp, pkt, &len) != REC_OK) {
        rec_metrics.srtp_errors++;
        return;
    }

    if (rec_rtp_parse(&rtp, pkt, len) != REC_OK) {
        rec_metrics.bad_packets++;
        return;
    }

    rec_metrics.rtp_packets++;

    for (i = 0; i < 2; i++) {
        t = &s->media.track[i];

        if (t->on && t->pt == rtp.pt) {
            break;
        }
    }

    if (i == 2) {
        return;         /* rtx, red, padding probes: not negotiated */
    }

    now = rec_now_ms();
    s->last_media = now;

    if (!s->have_epoch) {
        s->have_epoch = 1;
        s->media.epoch = now;
        s->start_wall_us = g_get_real_time();
        s->media.wall0_us = s->start_wall_us;
    }

    rec_track_rtp(&s->media, t, &rtp, now);
}


void
rec_session_input(void *data, u_char *buf, size_t len)
{
    int               rc;
    const char       *reason;
    rec_session_t    *s;
    rec_dtls_keys_t   keys;

    s = data;

    if (s->state == REC_SESSION_CLOSED || len == 0) {
        return;
    }

    /* RFC 7983 demultiplexing */

    if (buf[0] >= 20 && buf[0] <= 63) {
        rc = rec_dtls_input(s->dtls, buf, len, &keys, &reason);

        if (rc == REC_OK) {
            /* the profile is kept before the keys are wiped */
            s->srtp_profile = keys.profile;
            rc = rec_srtp_create(&s->srtp, &keys);
            OPENSSL_cleanse(&keys, sizeof(keys));

            if (rc != REC_OK) {
                rec_metrics.dtls_failures++;
                rec_session_end(s, "srtp_failed");
                return;
            }

            s->have_srtp = 1;
            s->state = REC_SESSION_SECURE;
            s->last_media = rec_now_ms();

            rec_log(REC_LOG_INFO, "session %s: DTLS-SRTP established, "
                    "profile %s", s->id,
                    rec_dtls_profile_name(s->srtp_profile));
            return;
        }

        if (rc == REC_ERROR) {
            rec_log(REC_LOG_WARN, "session %s: %s", s->id, reason);
            rec_metrics.dtls_failures++;
            rec_session_end(s, strstr(reason, "fingerprint")
                               ? "dtls_fingerprint_mismatch"
                               : "dtls_failed");
            return;
        }

        if (rc == REC_DONE) {
            rec_session_end(s, "peer_closed");
        }

        return;
    }

    if (buf[0] >= 128 && buf[0] <= 191 && s->have_srtp) {
        rec_session_media(s, buf, len);
        return;
    }

    rec_metrics.bad_packets++;
}


static void
rec_session_tick(rec_session_t *s)
{
    int64_t          now, prev;
    struct statvfs   vfs;

    now = rec_now_ms();

    rec_dtls_timer(s->dtls);

    if (s->have_srtp) {
        rec_track_tick(&s->media, &s->media.track[REC_MUX_AUDIO], now);
        rec_track_tick(&s->media, &s->media.track[REC_MUX_VIDEO], now);
        rec_tracks_report(&s->media, now);

        (void) rec_mux_tick(&s->media.mux, now);

        if (s->media.mux.failed) {
            rec_session_end(s, "write_failed");
            return;
        }
    }

    if (s->state != REC_SESSION_SECURE) {
        if (now - s->created > REC_CONNECT_TIMEOUT) {
            rec_session_end(s, "connect_timeout");
            return;
        }

        return;
    }

    if (now - s->last_media > (int64_t) rec_conf.idle_timeout * 1000) {
        rec_session_end(s, "idle");
        return;
    }

    if (s->have_epoch && rec_conf.max_duration
        && now - s->media.epoch >= (int64_t) rec_conf.max_duration * 1000)
    {
        rec_session_end(s, "max_duration");
        return;
    }

    /* once a second: free disk space */

    prev = (now - REC_TICK_MS) / 1000;

    if (prev != now / 1000 && rec_conf.min_free_disk
        && statvfs(s->dir, &vfs) == 0
        && (uint64_t) vfs.f_bavail * vfs.f_frsize < rec_conf.min_free_disk)
    {
        rec_metrics.disk_refusals++;
        rec_session_end(s, "disk_full");
        return;
    }

}


static gboolean
rec_sessions_tick(gpointer data)
{
    GList  *l, *list;

    (void) data;

    if (g_hash_table_size(rec_sessions) == 0) {
        return G_SOURCE_CONTINUE;
    }

    list = g_hash_table_get_values(rec_sessions);

    for (l = list; l != NULL; l = l->next) {
        rec_session_tick(l->data);
    }

    g_list_free(list);

    return G_SOURCE_CONTINUE;
}


/* the ending reasons that are failures (sessions_failed_total) */

static int
rec_session_failure(const char *reason)
{
    static const char  *failures[] = {
        "ice_failed", "dtls_failed", "dtls_fingerprint_mismatch",
        "srtp_failed", "connect_timeout", "write_failed", "disk_full", NULL
    };

    const char  **f;

    for (f = failures; *f != NULL; f++) {
        if (strcmp(reason, *f) == 0) {
            return 1;
        }
    }

    return 0;
}


void
rec_session_end(rec_session_t *s, const char *reason)
{
    if (s->state == REC_SESSION_CLOSED) {
        return;
    }

    s->state = REC_SESSION_CLOSED;
    s->reason = reason;
    s->end_wall_us = g_get_real_time();

    if (rec_session_failure(reason)) {
        rec_metrics.sessions_failed++;
    }

    if (s->have_srtp) {
        rec_track_drain(&s->media, &s->media.track[REC_MUX_AUDIO], -1);
        rec_track_drain(&s->media, &s->media.track[REC_MUX_VIDEO], -1);
    }

    if (s->mux_open) {
        if (rec_mux_close(&s->media.mux) != REC_OK) {
            rec_log(REC_LOG_ERR, "session %s: finalizing %s failed", s->id,
                    s->path);
        }

        s->mux_open = 0;
    }

    rec_metrics.recordings_completed++;

    (void) rec_manifest_write(s, 1);

    rec_log(REC_LOG_INFO, "session %s: ended (%s), audio frames %llu, "
            "video frames %llu, lost %llu, late %llu", s->id, reason,
            (unsigned long long) s->media.mux.frames[REC_MUX_AUDIO],
            (unsigned long long) s->media.mux.frames[REC_MUX_VIDEO],
            (unsigned long long) (s->media.track[0].lost
                                  + s->media.track[1].lost),
            (unsigned long long) (s->media.mux.late[0]
                                  + s->media.mux.late[1]));

    g_hash_table_remove(rec_sessions, s->id);
    if (rec_session_on_call) {
        rec_session_on_call(s->call, 1);
    }

    /* the ICE agent may be on the stack: free it from the main loop */

    s->destroy_idle = g_idle_add(rec_session_destroy, s);
}


static gboolean
rec_session_destroy(gpointer data)
{
    rec_session_t  *s;

    s = data;

    rec_dtls_free(s->dtls);

    if (s->have_srtp) {
        rec_srtp_free(&s->srtp);
    }

    rec_ice_free(&s->ice);
    rec_track_free(&s->media.track[0]);
    rec_track_free(&s->media.track[1]);
    free(s);

    return G_SOURCE_REMOVE;
}


void
rec_sessions_end_all(const char *reason)
{
    GList  *l, *list;

    list = g_hash_table_get_values(rec_sessions);

    for (l = list; l != NULL; l = l->next) {
        rec_session_end(l->data, reason);
    }

    g_list_free(list);
}
