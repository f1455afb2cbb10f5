/*
 * hotline-recorder: <call>/manifest.json, updated atomically (write to a
 * temporary file, fsync, rename) each time a participant starts or ends;
 * entries of the other participant are kept.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "session.h"


json_t *
rec_manifest_time(int64_t us)
{
    char       buf[40], frac[8];
    time_t     sec;
    struct tm  tm;

    if (us <= 0) {
        return json_null();
    }

    sec = (time_t) (us / 1000000);
    gmtime_r(&sec, &tm);
    strftime(buf, sizeof(buf) - 8, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(frac, sizeof(frac), ".%03dZ", (int) (us / 1000 % 1000));
    strcat(buf, frac);

    return json_string(buf);
}


/* seconds with millisecond precision */

static json_t *
rec_manifest_seconds(int64_t ns)
{
    return json_real((double) (ns / 1000000) / 1000.0);
}


static json_t *
rec_manifest_track(rec_session_t *s, int kind)
{
    json_t       *t;
    rec_mux_t    *m;
    rec_track_t  *tr;
    int64_t       first;

    m = &s->media.mux;
    tr = &s->media.track[kind];
    first = m->first_ts[kind] < 0 ? 0 : m->first_ts[kind];

    t = json_object();
    if (t == NULL) {
        return NULL;
    }

    json_object_set_new(t, "kind", json_string(kind == REC_MUX_AUDIO
                                               ? "audio" : "video"));
    json_object_set_new(t, "codec", json_string(kind == REC_MUX_AUDIO
                                                ? "opus" : "vp8"));
    json_object_set_new(t, "clock_rate", json_integer(tr->clock));

    if (kind == REC_MUX_AUDIO) {
        json_object_set_new(t, "channels", json_integer(1));

    } else {
        json_object_set_new(t, "width", json_integer(m->width));
        json_object_set_new(t, "height", json_integer(m->height));
        json_object_set_new(t, "keyframes", json_integer(m->keyframes));
        json_object_set_new(t, "keyframe_requests",
                            json_integer(tr->plis));
        json_object_set_new(t, "nacks", json_integer(tr->nacks));
    }

    json_object_set_new(t, "started_at",
                        m->first_ts[kind] < 0 ? json_null()
                        : rec_manifest_time(s->media.wall0_us + first / 1000));
    json_object_set_new(t, "start", rec_manifest_seconds(first));
    json_object_set_new(t, "duration",
                        rec_manifest_seconds(m->first_ts[kind] < 0 ? 0
                                             : m->end_ts[kind] - first));
    json_object_set_new(t, "frames", json_integer(m->frames[kind]));
    json_object_set_new(t, "late_frames", json_integer(m->late[kind]));
    json_object_set_new(t, "packets", json_integer(tr->packets));
    json_object_set_new(t, "packets_lost", json_integer(tr->lost));
    json_object_set_new(t, "ssrc_changes", json_integer(tr->ssrc_changes));

    return t;
}


static json_t *
rec_manifest_participant(rec_session_t *s, int final)
{
    int64_t      end, sender0;
    json_t      *p, *tracks;
    struct stat  st;

    p = json_object();
    tracks = json_array();

    if (p == NULL || tracks == NULL) {
        json_decref(p);
        json_decref(tracks);
        return NULL;
    }

    end = s->media.mux.end_ts[0] > s->media.mux.end_ts[1]
          ? s->media.mux.end_ts[0] : s->media.mux.end_ts[1];

    json_object_set_new(p, "role", json_string(rec_role_name(s->role)));
    json_object_set_new(p, "session", json_string(s->id));
    json_object_set_new(p, "file", json_string(s->file));
    json_object_set_new(p, "state", json_string(final ? "finished"
                                                      : "recording"));
    json_object_set_new(p, "created_at",
                        rec_manifest_time(s->created_wall_us));
    json_object_set_new(p, "started_at",
                        s->have_epoch ? rec_manifest_time(s->media.wall0_us)
                                      : json_null());
    json_object_set_new(p, "sender_started_at",
                        rec_media_sender_start(&s->media, &sender0) == REC_OK
                        ? rec_manifest_time(sender0) : json_null());
    json_object_set_new(p, "sender_clock_offset",
                        s->media.have_skew
                        ? rec_manifest_seconds(s->media.skew_us * 1000)
                        : json_null());
    json_object_set_new(p, "ended_at", final
                        ? rec_manifest_time(s->end_wall_us) : json_null());
    json_object_set_new(p, "ending_reason",
                        final && s->reason ? json_string(s->reason)
                                           : json_null());
    json_object_set_new(p, "srtp_profile", s->srtp_profile
                        ? json_string(rec_dtls_profile_name(s->srtp_profile))
                        : json_null());
    json_object_set_new(p, "duration", rec_manifest_seconds(end));
    json_object_set_new(p, "size",
                        json_integer(stat(s->path, &st) == 0
                                     ? (json_int_t) st.st_size : 0));

    if (s->media.mux.has[REC_MUX_AUDIO]) {
        json_array_append_new(tracks, rec_manifest_track(s, REC_MUX_AUDIO));
    }

    if (s->media.mux.has[REC_MUX_VIDEO]) {
        json_array_append_new(tracks, rec_manifest_track(s, REC_MUX_VIDEO));
    }

    json_object_set_new(p, "tracks", tracks);

    return p;
}


int
rec_manifest_write(rec_session_t *s, int final)
{
    json_t  *p;

    p = rec_manifest_participant(s, final);
    if (p == NULL) {
        return REC_ERROR;
    }

    return rec_manifest_put(s->dir, s->call, s->id, p, 0);
}


/* <dir>/manifest.json, or a new one: always an object with participants */

static json_t *
rec_manifest_load(const char *dir, const char *call)
{
    char          path[PATH_MAX];
    json_t       *root, *parts;
    json_error_t  jerr;

    root = NULL;

    if (snprintf(path, sizeof(path), "%s/manifest.json", dir)
        < (int) sizeof(path))
    {
        root = json_load_file(path, 0, &jerr);
    }

    if (root == NULL || !json_is_object(root)) {
        json_decref(root);
        root = json_object();
        if (root == NULL) {
            return NULL;
        }
    }

    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "call", json_string(call));

    parts = json_object_get(root, "participants");

    if (!json_is_array(parts)) {
        json_object_set_new(root, "participants", json_array());
    }

    return root;
}


/* atomically: a temporary file, fsync, rename */

static int
rec_manifest_save(const char *dir, json_t *root)
{
    int   fd, rc;
    char  path[PATH_MAX], tmp[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/manifest.json", dir)
        >= (int) sizeof(path)
        || snprintf(tmp, sizeof(tmp), "%s/.manifest.tmp", dir)
        >= (int) sizeof(tmp))
    {
        return REC_ERROR;
    }

    rc = REC_ERROR;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

    if (fd != -1) {
        if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_SORT_KEYS
                        | JSON_REAL_PRECISION(10)) == 0
            && write(fd, "\n", 1) == 1 && fsync(fd) == 0)
        {
            rc = REC_OK;
        }

        if (close(fd) != 0) {
            rc = REC_ERROR;
        }
    }

    if (rc == REC_OK && rename(tmp, path) != 0) {
        rc = REC_ERROR;
    }

    if (rc != REC_OK) {
        rec_log(REC_LOG_ERR, "manifest: cannot write \"%s\": %s", path,
                strerror(errno));
        (void) unlink(tmp);
    }

    return rc;
}


/*
 * Replaces the entry of session "id" (or adds it) with "entry" (stolen),
 * or with "merge" set, updates the fields it has (and the tracks of the
 * same kind); other sessions' entries stay as they are.
 */

int
rec_manifest_put(const char *dir, const char *call, const char *id,
    json_t *entry, int merge)
{
    int      rc;
    size_t   i, k;
    json_t  *root, *parts, *e, *sid, *t, *nt, *tracks;

    root = rec_manifest_load(dir, call);
    if (root == NULL) {
        json_decref(entry);
        return REC_ERROR;
    }

    parts = json_object_get(root, "participants");

    for (i = 0; i < json_array_size(parts); i++) {
        e = json_array_get(parts, i);
        sid = json_object_get(e, "session");

        if (json_is_string(sid) && strcmp(json_string_value(sid), id) == 0) {
            break;
        }
    }

    if (i == json_array_size(parts)) {
        json_array_append_new(parts, entry);

    } else if (!merge) {
        json_array_set_new(parts, i, entry);

    } else {
        e = json_array_get(parts, i);
        tracks = json_object_get(e, "tracks");

        for (k = 0; k < json_array_size(tracks); k++) {
            t = json_array_get(tracks, k);
            nt = json_object_get(json_object_get(entry, "tracks"),
                                 json_string_value(json_object_get(t,
                                                                   "kind")));
            if (json_is_object(nt)) {
                json_object_update(t, nt);
            }
        }

        json_object_del(entry, "tracks");
        json_object_update(e, entry);
        json_decref(entry);
    }

    rc = rec_manifest_save(dir, root);
    json_decref(root);

    return rc;
}


/* sets top level fields (stolen) of the call's manifest */

int
rec_manifest_set(const char *dir, const char *call, json_t *fields)
{
    int      rc;
    json_t  *root;

    root = rec_manifest_load(dir, call);
    if (root == NULL) {
        json_decref(fields);
        return REC_ERROR;
    }

    json_object_del(fields, "participants");
    json_object_update(root, fields);
    json_decref(fields);

    rc = rec_manifest_save(dir, root);
    json_decref(root);

    return rc;
}
