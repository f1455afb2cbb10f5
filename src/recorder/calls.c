/*
 * hotline-recorder: when a call's recording is complete.
 *
 * A call is complete --complete-after seconds after its last session
 * ended, with no session open again meanwhile and every manifest entry
 * finished (a recording a killed recorder left is finished by its repair
 * job first).  Then the call's manifest gets "completed_at", and a signed
 * "recording.completed" event (events.c) is POSTed to --event-url; its
 * delivery is noted in the manifest ("event"), and an event not
 * delivered is sent again when the recorder starts.
 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "calls.h"
#include "events.h"
#include "merge.h"
#include "metrics.h"
#include "session.h"


typedef struct {
    char     call[65];
    char     dir[PATH_MAX];
    guint    timer;
    int      busy;              /* completing: a job or an event */
} rec_call_t;


static GHashTable  *rec_calls;          /* call -> rec_call_t */


static void rec_call_complete(rec_call_t *c, json_t *merged);
static void rec_call_started(const char *call);
static void rec_call_session(const char *call, int ended);


static rec_call_t *
rec_call_get(const char *call)
{
    rec_call_t  *c;

    c = g_hash_table_lookup(rec_calls, call);

    if (c == NULL) {
        c = g_new0(rec_call_t, 1);
        snprintf(c->call, sizeof(c->call), "%s", call);
        snprintf(c->dir, sizeof(c->dir), "%s/%s", rec_conf.recordings_dir,
                 call);
        g_hash_table_insert(rec_calls, c->call, c);
    }

    return c;
}


static void
rec_call_forget(rec_call_t *c)
{
    if (c->timer == 0 && !c->busy) {
        g_hash_table_remove(rec_calls, c->call);
        g_free(c);
    }
}


json_t *
rec_call_manifest(const char *dir)
{
    char          path[PATH_MAX];
    json_error_t  jerr;

    if (snprintf(path, sizeof(path), "%s/manifest.json", dir)
        >= (int) sizeof(path))
    {
        return NULL;
    }

    return json_load_file(path, 0, &jerr);
}


/* 1: every entry finished, 0: not yet, -1: no manifest */

static int
rec_call_finished(json_t *root)
{
    size_t       i;
    json_t      *parts;
    const char  *state;

    parts = json_object_get(root, "participants");

    if (!json_is_array(parts) || json_array_size(parts) == 0) {
        return -1;
    }

    for (i = 0; i < json_array_size(parts); i++) {
        state = json_string_value(json_object_get(json_array_get(parts, i),
                                                  "state"));
        if (state == NULL || strcmp(state, "finished") != 0) {
            return 0;
        }
    }

    return 1;
}


static void
rec_call_event_done(void *data, int delivered)
{
    rec_call_t  *c;

    c = data;
    c->busy = 0;

    (void) rec_manifest_set(c->dir, c->call, json_pack(
        "{s:{s:b,s:o}}", "event", "delivered", delivered,
        delivered ? "delivered_at" : "given_up_at",
        rec_manifest_time(g_get_real_time())));

    rec_call_forget(c);
}


/*
 * The event: what a CRM needs to fetch the files (paths relative to
 * --recordings), and the manifest itself.
 */

static json_t *
rec_call_event(rec_call_t *c, json_t *root)
{
    char         id[33], path[200];
    size_t       i;
    json_t      *ev, *files, *p;
    const char  *file;

    if (rec_random_hex(id, 16) != REC_OK) {
        return NULL;
    }

    files = json_array();

    for (i = 0; i < json_array_size(json_object_get(root, "participants"));
         i++)
    {
        p = json_array_get(json_object_get(root, "participants"), i);
        file = json_string_value(json_object_get(p, "file"));

        if (file == NULL
            || json_integer_value(json_object_get(p, "size")) <= 0)
        {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", c->call, file);

        json_array_append_new(files, json_pack(
            "{s:O,s:s,s:O,s:O,s:O,s:O}", "role", json_object_get(p, "role"),
            "path", path, "size", json_object_get(p, "size"),
            "duration", json_object_get(p, "duration"),
            "started_at", json_object_get(p, "started_at"),
            "ending_reason", json_object_get(p, "ending_reason")));
    }

    ev = json_pack("{s:s+,s:s,s:I,s:s,s:O,s:o,s:O,s:O}",
                   "id", "evt_", id, "type", "recording.completed",
                   "created", (json_int_t) time(NULL), "call", c->call,
                   "completed_at", json_object_get(root, "completed_at"),
                   "files", files,
                   "merged", json_object_get(root, "merged") != NULL
                             ? json_object_get(root, "merged") : json_null(),
                   "manifest", root);

    return ev;
}


static void
rec_call_complete(rec_call_t *c, json_t *merged)
{
    int      rc;
    json_t  *root, *fields, *ev;

    root = rec_call_manifest(c->dir);

    if (json_object_get(root, "completed_at") == NULL) {
        fields = json_pack("{s:o}", "completed_at",
                           rec_manifest_time(g_get_real_time()));

        if (merged != NULL) {
            json_object_set(fields, "merged", merged);
        }

        (void) rec_manifest_set(c->dir, c->call, fields);
        rec_metrics.calls_completed++;
        rec_log(REC_LOG_INFO, "call %s: recording complete", c->call);

        json_decref(root);
        root = rec_call_manifest(c->dir);
    }

    ev = root != NULL ? rec_call_event(c, root) : NULL;
    json_decref(root);

    rc = ev != NULL ? rec_event_send(ev, rec_call_event_done, c)
                    : REC_DECLINED;
    json_decref(ev);

    c->busy = rc == REC_OK;
    rec_call_forget(c);
}


static void
rec_call_merged(void *data, json_t *merged)
{
    rec_call_complete(data, merged);
}


static gboolean
rec_call_due(gpointer data)
{
    int          done;
    json_t      *root, *event;
    rec_call_t  *c;

    c = data;
    c->timer = 0;

    if (c->busy || rec_session_find_call(c->call) != NULL) {
        rec_call_forget(c);
        return G_SOURCE_REMOVE;
    }

    root = rec_call_manifest(c->dir);
    done = rec_call_finished(root);
    event = json_object_get(root, "event");

    if (done != 1
        || (json_object_get(root, "completed_at") != NULL
            && (rec_conf.event_url == NULL
                || json_is_true(json_object_get(event, "delivered")))))
    {
        json_decref(root);
        rec_call_forget(c);
        return G_SOURCE_REMOVE;
    }

    c->busy = 1;

    /* the merged file first, once (merge.c), then the event */

    if (json_object_get(root, "completed_at") == NULL
        && rec_merge_start(c->call, c->dir, root, rec_call_merged, c)
           == REC_OK)
    {
        json_decref(root);
        return G_SOURCE_REMOVE;
    }

    json_decref(root);
    c->busy = 0;
    rec_call_complete(c, NULL);

    return G_SOURCE_REMOVE;
}


/* what the sessions tell (rec_sessions_on_call()) */

static void
rec_call_session(const char *call, int ended)
{
    if (ended) {
        rec_call_ended(call, rec_conf.complete_after);

    } else {
        rec_call_started(call);
    }
}


static void
rec_call_started(const char *call)
{
    rec_call_t  *c;

    c = g_hash_table_lookup(rec_calls, call);

    if (c != NULL && c->timer) {
        g_source_remove(c->timer);
        c->timer = 0;
        rec_call_forget(c);
    }
}


void
rec_call_ended(const char *call, unsigned delay)
{
    rec_call_t  *c;

    if (rec_calls == NULL) {
        return;
    }

    c = rec_call_get(call);

    if (c->timer) {
        g_source_remove(c->timer);
    }

    c->timer = g_timeout_add_seconds(delay, rec_call_due, c);
}


int
rec_call_busy(const char *call)
{
    return rec_calls != NULL && g_hash_table_lookup(rec_calls, call) != NULL;
}


/* at start: complete what a stop interrupted, send undelivered events */

int
rec_calls_init(void)
{
    DIR            *d;
    char            dir[PATH_MAX];
    json_t         *root;
    struct dirent  *e;

    rec_calls = g_hash_table_new(g_str_hash, g_str_equal);
    rec_sessions_on_call(rec_call_session);

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

        /* only the calls with something left to do get a check */

        root = rec_call_manifest(dir);

        if (json_is_object(root)
            && (json_object_get(root, "completed_at") == NULL
                || (rec_conf.event_url != NULL
                    && !json_is_true(json_object_get(
                           json_object_get(root, "event"), "delivered")))))
        {
            rec_call_ended(e->d_name, 1);
        }

        json_decref(root);
    }

    closedir(d);

    return REC_OK;
}
