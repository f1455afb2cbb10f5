/*
 * hotline-recorder: one playable file per call.  When a call is complete
 * (calls.c) its files are merged by a job (merge_run.c, outside the
 * media path: --jobs at once, at nice --job-nice) into <call>/call.webm:
 * both voices in one stereo Opus track (customer left, agent right) and
 * both videos side by side, each file placed on the call's timeline at
 * its start on its sender's clock (rec_merge_placement()).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "jobs.h"
#include "merge.h"
#include "metrics.h"


#define REC_MERGE_FILE         "call.webm"
#define REC_MERGE_CLOCK_TRUST  500             /* ms */


typedef struct {
    char               call[65];
    char               dir[PATH_MAX];
    char               tmp[PATH_MAX];
    char               out[PATH_MAX];
    rec_merge_done_pt  done;
    void              *data;
} rec_merge_t;


/* "2026-11-23T17:20:01.410Z" in ms since the epoch, -1 if not that */

static int64_t
rec_merge_time(const char *s)
{
    int        ms;
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    ms = 0;

    if (s == NULL
        || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms)
           != 7)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm) * 1000 + ms;
}


/*
 * Where a participant's file starts on the call's timeline, ms since the
 * epoch, -1 if unknown (how: what it comes from).  The sender's clock at
 * time 0 in the file (sender_started_at: the file's RTP time on the
 * sender's NTP clock, by its sender reports) is the capture time of the
 * media, whatever delayed its first packets on the way here (a busy
 * host, a late DTLS handshake, a burst).  A sender's clock more than
 * REC_MERGE_CLOCK_TRUST off ours (at its least delayed report) is brought
 * onto ours by that offset.  A sender that sent no report: the arrival
 * of its first packet (started_at).
 */

static int64_t
rec_merge_placement(json_t *p, const char **how)
{
    int64_t  t, off;
    json_t  *skew;

    t = rec_merge_time(json_string_value(json_object_get(p,
                                                 "sender_started_at")));
    skew = json_object_get(p, "sender_clock_offset");

    if (t < 0 || !json_is_number(skew)) {
        *how = "its first packet's arrival";
        return rec_merge_time(json_string_value(json_object_get(p,
                                                        "started_at")));
    }

    off = (int64_t) (json_number_value(skew) * 1000.0);

    if (off > REC_MERGE_CLOCK_TRUST || off < -REC_MERGE_CLOCK_TRUST) {
        *how = "the sender's clock, brought onto ours";
        return t + off;
    }

    *how = "the sender's clock";

    return t;
}


static void
rec_merge_done(void *data, int status, json_t *res)
{
    json_t       *merged;
    rec_merge_t  *m;

    m = data;
    merged = NULL;

    if (status == 0 && json_is_object(res)
        && json_object_get(res, "error") == NULL
        && rename(m->tmp, m->out) == 0)
    {
        merged = json_pack("{s:s,s:O,s:f,s:s,s:s}", "file", REC_MERGE_FILE,
            "size", json_object_get(res, "size"),
            "duration", (double) json_integer_value(
                            json_object_get(res, "duration_ms")) / 1000.0,
            "audio", "opus, stereo: customer left, agent right",
            "video", json_integer_value(json_object_get(res, "video_frames"))
                     ? "vp8 1280x480: customer left, agent right" : "none");

        rec_metrics.merges++;
        rec_metrics.merge_cpu_ms += (uint64_t) json_integer_value(
                                        json_object_get(res, "cpu_ms"));

        rec_log(REC_LOG_INFO, "call %s: merged into %s, %.3f s of media in "
                "%lld ms of CPU at nice %lld", m->call, REC_MERGE_FILE,
                (double) json_integer_value(json_object_get(res,
                                                            "duration_ms"))
                / 1000.0,
                (long long) json_integer_value(json_object_get(res,
                                                               "cpu_ms")),
                (long long) json_integer_value(json_object_get(res,
                                                               "nice")));

    } else {
        rec_metrics.merge_failures++;
        rec_log(REC_LOG_ERR, "call %s: merge failed", m->call);
        (void) unlink(m->tmp);
    }

    m->done(m->data, merged);
    json_decref(merged);
    g_free(m);
}


int
rec_merge_start(const char *call, const char *dir, json_t *manifest,
    rec_merge_done_pt done, void *data)
{
    char          path[PATH_MAX], off[24];
    size_t        i, n;
    json_t       *p;
    int64_t       t, first;
    GPtrArray    *args;
    const char   *file, *role, *how;
    rec_merge_t  *m;

    if (!rec_conf.merge) {
        return REC_DECLINED;
    }

    /* the files with media, and the earliest start */

    first = INT64_MAX;
    n = 0;

    for (i = 0; i < json_array_size(json_object_get(manifest,
                                                    "participants")); i++)
    {
        p = json_array_get(json_object_get(manifest, "participants"), i);
        t = rec_merge_placement(p, &how);

        if (t < 0 || json_integer_value(json_object_get(p, "size")) <= 0) {
            continue;
        }

        first = t < first ? t : first;
        n++;
    }

    if (n == 0 || n > 64) {
        return REC_DECLINED;
    }

    m = g_new0(rec_merge_t, 1);
    snprintf(m->call, sizeof(m->call), "%s", call);
    snprintf(m->dir, sizeof(m->dir), "%s", dir);

    if (snprintf(m->tmp, sizeof(m->tmp), "%s/.%s.merge", dir, REC_MERGE_FILE)
        >= (int) sizeof(m->tmp)
        || snprintf(m->out, sizeof(m->out), "%s/%s", dir, REC_MERGE_FILE)
           >= (int) sizeof(m->out))
    {
        g_free(m);
        return REC_ERROR;
    }

    m->done = done;
    m->data = data;

    args = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(args, g_strdup(m->tmp));

    for (i = 0; i < json_array_size(json_object_get(manifest,
                                                    "participants")); i++)
    {
        p = json_array_get(json_object_get(manifest, "participants"), i);
        t = rec_merge_placement(p, &how);
        file = json_string_value(json_object_get(p, "file"));
        role = json_string_value(json_object_get(p, "role"));

        if (t < 0 || json_integer_value(json_object_get(p, "size")) <= 0
            || file == NULL || strchr(file, '/') != NULL || file[0] == '.'
            || snprintf(path, sizeof(path), "%s/%s", dir, file)
               >= (int) sizeof(path)
            || access(path, R_OK) != 0)
        {
            continue;
        }

        snprintf(off, sizeof(off), "%lld", (long long) (t - first));
        rec_log(REC_LOG_INFO, "call %s: %s placed at %s ms, by %s", call,
                file, off, how);
        g_ptr_array_add(args, g_strdup(path));
        g_ptr_array_add(args, g_strdup(role != NULL
                                       && strcmp(role, "agent") == 0
                                       ? "right" : "left"));
        g_ptr_array_add(args, g_strdup(off));
    }

    g_ptr_array_add(args, NULL);

    if (args->len < 5) {
        g_ptr_array_free(args, TRUE);
        g_free(m);
        return REC_DECLINED;
    }

    if (rec_job_submit("merge", (const char *const *) args->pdata, call,
                       rec_merge_done, m) != REC_OK)
    {
        g_ptr_array_free(args, TRUE);
        g_free(m);
        return REC_ERROR;
    }

    g_ptr_array_free(args, TRUE);

    return REC_OK;
}
