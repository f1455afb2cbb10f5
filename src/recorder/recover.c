/*
 * hotline-recorder: on start, recordings that a killed recorder left
 * "recording" in their manifest are finalized by a repair job (duration,
 * cues) and their manifest entries finished with ending_reason
 * "interrupted", the end time of the file's last write and what the file
 * really holds.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "calls.h"
#include "jobs.h"
#include "metrics.h"
#include "recover.h"
#include "session.h"


typedef struct {
    char     dir[PATH_MAX];
    char     call[65];
    char     id[64];
    char     path[PATH_MAX];
    char     tmp[PATH_MAX];
    int64_t  mtime_us;
} rec_recover_t;


static json_t *
rec_recover_entry(int64_t end_us)
{
    return json_pack("{s:s,s:s,s:o}", "state", "finished", "ending_reason",
                     "interrupted", "ended_at", rec_manifest_time(end_us));
}


static void
rec_recover_done(void *data, int status, json_t *res)
{
    const char     *key;
    json_t         *e, *tracks, *t, *v;
    rec_recover_t  *r;

    r = data;
    e = rec_recover_entry(r->mtime_us);

    if (status != 0 || !json_is_object(res)
        || json_object_get(res, "error") != NULL
        || rename(r->tmp, r->path) != 0)
    {
        rec_log(REC_LOG_ERR, "recover: %s could not be finalized: %s",
                r->path, json_is_string(json_object_get(res, "error"))
                         ? json_string_value(json_object_get(res, "error"))
                         : strerror(errno));
        (void) unlink(r->tmp);
        json_object_set_new(e, "finalized", json_false());

    } else {
        json_object_set_new(e, "finalized", json_true());
        json_object_set_new(e, "size", json_copy(json_object_get(res,
                                                                 "size")));
        json_object_set_new(e, "duration", json_real(
            (double) json_integer_value(json_object_get(res, "duration_ms"))
            / 1000.0));

        tracks = json_object();

        json_object_foreach(json_object_get(res, "tracks"), key, v) {
            json_int_t  first, end;

            first = json_integer_value(json_object_get(v, "first_ms"));
            end = json_integer_value(json_object_get(v, "end_ms"));

            t = json_pack("{s:O,s:f,s:f}", "frames",
                          json_object_get(v, "frames"),
                          "start", (double) first / 1000.0,
                          "duration", (double) (end - first) / 1000.0);
            json_object_set_new(tracks, key, t);
        }

        json_object_set_new(e, "tracks", tracks);
        rec_metrics.recordings_recovered++;

        rec_log(REC_LOG_INFO, "recover: %s finalized, %.3f s", r->path,
                (double) json_integer_value(json_object_get(res,
                                                            "duration_ms"))
                / 1000.0);
    }

    (void) rec_manifest_put(r->dir, r->call, r->id, e, 1);
    rec_call_ended(r->call, 1);
    g_free(r);
}


static void
rec_recover_participant(const char *dir, const char *call, json_t *p)
{
    const char     *id, *file;
    struct stat     st;
    rec_recover_t  *r;
    const char     *args[3];

    id = json_string_value(json_object_get(p, "session"));
    file = json_string_value(json_object_get(p, "file"));

    if (id == NULL || file == NULL || strchr(file, '/') != NULL
        || file[0] == '.' || strlen(id) >= sizeof(r->id)
        || strlen(call) >= sizeof(r->call))
    {
        return;
    }

    r = g_new0(rec_recover_t, 1);
    snprintf(r->dir, sizeof(r->dir), "%s", dir);
    memcpy(r->call, call, strlen(call) + 1);
    memcpy(r->id, id, strlen(id) + 1);

    if (snprintf(r->path, sizeof(r->path), "%s/%s", dir, file)
        >= (int) sizeof(r->path)
        || snprintf(r->tmp, sizeof(r->tmp), "%s/.%s.repair", dir, file)
           >= (int) sizeof(r->tmp))
    {
        g_free(r);
        return;
    }

    /* nothing was written: nothing to finalize */

    if (stat(r->path, &st) != 0 || st.st_size == 0) {
        (void) rec_manifest_put(dir, call, id, json_pack(
            "{s:s,s:s,s:o,s:i,s:f,s:b}", "state", "finished",
            "ending_reason", "interrupted", "ended_at",
            rec_manifest_time(g_get_real_time()), "size", 0, "duration", 0.0,
            "finalized", 1), 1);
        rec_log(REC_LOG_INFO, "recover: %s was empty", r->path);
        g_free(r);
        return;
    }

    r->mtime_us = (int64_t) st.st_mtim.tv_sec * 1000000
                  + st.st_mtim.tv_nsec / 1000;

    args[0] = r->path;
    args[1] = r->tmp;
    args[2] = NULL;

    (void) rec_job_submit("repair", args, call, rec_recover_done, r);
}


static void
rec_recover_call(const char *dir, const char *call)
{
    char          path[PATH_MAX];
    size_t        i;
    json_t       *root, *parts, *p, *state;
    json_error_t  jerr;

    if (snprintf(path, sizeof(path), "%s/manifest.json", dir)
        >= (int) sizeof(path))
    {
        return;
    }

    root = json_load_file(path, 0, &jerr);
    parts = json_object_get(root, "participants");

    for (i = 0; i < json_array_size(parts); i++) {
        p = json_array_get(parts, i);
        state = json_object_get(p, "state");

        if (json_is_string(state)
            && strcmp(json_string_value(state), "recording") == 0)
        {
            rec_recover_participant(dir, call, p);
        }
    }

    json_decref(root);
}


int
rec_recover_start(void)
{
    DIR            *d, *cd;
    char            dir[PATH_MAX], tmp[PATH_MAX];
    size_t          n;
    struct dirent  *e, *ce;

    d = opendir(rec_conf.recordings_dir);
    if (d == NULL) {
        return REC_ERROR;
    }

    while ((e = readdir(d)) != NULL) {
        if (!rec_call_id_valid(e->d_name)
            || snprintf(dir, sizeof(dir), "%s/%s", rec_conf.recordings_dir,
                        e->d_name) >= (int) sizeof(dir))
        {
            continue;
        }

        /* what a job interrupted by a kill left: done again */

        cd = opendir(dir);
        if (cd == NULL) {
            continue;
        }

        while ((ce = readdir(cd)) != NULL) {
            n = strlen(ce->d_name);

            if (ce->d_name[0] == '.' && n > 7
                && (strcmp(ce->d_name + n - 7, ".repair") == 0
                    || strcmp(ce->d_name + n - 6, ".merge") == 0)
                && snprintf(tmp, sizeof(tmp), "%s/%s", dir, ce->d_name)
                   < (int) sizeof(tmp))
            {
                (void) unlink(tmp);
            }
        }

        closedir(cd);

        rec_recover_call(dir, e->d_name);
    }

    closedir(d);

    return REC_OK;
}
