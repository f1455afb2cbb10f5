/*
 * hotline-recorder: recordings that look after themselves.  Every
 * --retention-interval seconds (and at start):
 *
 *   - empty (0-byte) WebM files, what sessions that never received media
 *     leave, are deleted;
 *   - calls whose newest file is older than --retention-days are deleted
 *     (the call's directory, manifest included);
 *   - while the recordings take more than --retention-max-mb, the calls
 *     whose newest file is the oldest are deleted.
 *
 * A call with an open session, a job, or a completion under way is never
 * touched.
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
#include "retention.h"
#include "session.h"


typedef struct {
    char      call[65];
    uint64_t  bytes;
    time_t    newest;
    int       open;
} rec_retention_call_t;


static int
rec_retention_open(const char *call)
{
    return rec_session_find_call(call) != NULL || rec_job_busy(call)
           || rec_call_busy(call);
}


/* the call's size and newest file; its empty WebM files go */

static int
rec_retention_scan(const char *dir, rec_retention_call_t *c)
{
    DIR            *d;
    char            path[PATH_MAX];
    size_t          n;
    struct stat     st;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return REC_ERROR;
    }

    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (e->d_name[1] == '\0'
                                    || (e->d_name[1] == '.'
                                        && e->d_name[2] == '\0')))
        {
            continue;
        }

        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name)
            >= (int) sizeof(path)
            || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        {
            continue;
        }

        n = strlen(e->d_name);

        if (!c->open && st.st_size == 0 && n > 5
            && strcmp(e->d_name + n - 5, ".webm") == 0)
        {
            if (unlink(path) == 0) {
                rec_metrics.retention_empty++;
                rec_log(REC_LOG_INFO, "retention: deleted the empty %s",
                        path);
            }

            continue;
        }

        c->bytes += (uint64_t) st.st_size;

        if (st.st_mtime > c->newest) {
            c->newest = st.st_mtime;
        }
    }

    closedir(d);

    return REC_OK;
}


static int
rec_retention_delete(rec_retention_call_t *c, const char *why)
{
    DIR            *d;
    char            dir[PATH_MAX], path[PATH_MAX];
    struct dirent  *e;

    if (snprintf(dir, sizeof(dir), "%s/%s", rec_conf.recordings_dir, c->call)
        >= (int) sizeof(dir))
    {
        return REC_ERROR;
    }

    d = opendir(dir);
    if (d == NULL) {
        return REC_ERROR;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0
            && snprintf(path, sizeof(path), "%s/%s", dir, e->d_name)
               < (int) sizeof(path))
        {
            (void) unlink(path);
        }
    }

    closedir(d);

    if (rmdir(dir) != 0) {
        rec_log(REC_LOG_ERR, "retention: cannot delete %s: %s", dir,
                strerror(errno));
        return REC_ERROR;
    }

    rec_metrics.retention_bytes += c->bytes;

    if (strcmp(why, "age") == 0) {
        rec_metrics.retention_age++;

    } else {
        rec_metrics.retention_disk++;
    }

    rec_log(REC_LOG_INFO, "retention: deleted call %s (%llu bytes, %s)",
            c->call, (unsigned long long) c->bytes, why);

    return REC_OK;
}


static int
rec_retention_oldest(const void *a, const void *b)
{
    const rec_retention_call_t  *x = a, *y = b;

    return x->newest < y->newest ? -1 : x->newest > y->newest;
}


void
rec_retention_sweep(void)
{
    DIR                    *d;
    char                    dir[PATH_MAX];
    time_t                  now;
    size_t                  n, cap, i, len;
    uint64_t                total, max;
    struct dirent          *e;
    rec_retention_call_t   *calls, *c;

    d = opendir(rec_conf.recordings_dir);
    if (d == NULL) {
        return;
    }

    now = time(NULL);
    n = 0;
    cap = 64;
    calls = malloc(cap * sizeof(rec_retention_call_t));
    total = 0;

    while (calls != NULL && (e = readdir(d)) != NULL) {
        if (!rec_call_id_valid(e->d_name)
            || snprintf(dir, sizeof(dir), "%s/%s", rec_conf.recordings_dir,
                        e->d_name) >= (int) sizeof(dir))
        {
            continue;
        }

        if (n == cap) {
            cap *= 2;
            c = realloc(calls, cap * sizeof(rec_retention_call_t));

            if (c == NULL) {
                break;
            }

            calls = c;
        }

        c = &calls[n];
        memset(c, 0, sizeof(rec_retention_call_t));

        /* a call id (rec_call_id_valid()): it fits */
        len = strlen(e->d_name);

        if (len >= sizeof(c->call)) {
            continue;
        }

        memcpy(c->call, e->d_name, len + 1);
        c->open = rec_retention_open(c->call);

        if (rec_retention_scan(dir, c) != REC_OK) {
            continue;
        }

        if (!c->open && rec_conf.retention_days
            && now - c->newest > (time_t) rec_conf.retention_days * 86400
            && rec_retention_delete(c, "age") == REC_OK)
        {
            continue;
        }

        total += c->bytes;
        n++;
    }

    closedir(d);

    if (calls == NULL) {
        return;
    }

    /* over the cap: the calls touched longest ago first */

    max = rec_conf.retention_max_bytes;

    if (max && total > max) {
        qsort(calls, n, sizeof(rec_retention_call_t), rec_retention_oldest);

        for (i = 0; i < n && total > max; i++) {
            if (!calls[i].open
                && rec_retention_delete(&calls[i], "disk") == REC_OK)
            {
                total -= calls[i].bytes;
            }
        }

        if (total > max) {
            rec_log(REC_LOG_WARN, "retention: recordings take %llu bytes, "
                    "over --retention-max-mb, and the rest is in use",
                    (unsigned long long) total);
        }
    }

    rec_metrics.recordings_bytes = total;
    free(calls);
}


static gboolean
rec_retention_tick(gpointer data)
{
    (void) data;

    rec_retention_sweep();

    return G_SOURCE_CONTINUE;
}


static gboolean
rec_retention_first(gpointer data)
{
    (void) data;

    rec_retention_sweep();

    return G_SOURCE_REMOVE;
}


int
rec_retention_init(void)
{
    g_timeout_add_seconds(rec_conf.retention_interval, rec_retention_tick,
                          NULL);
    g_idle_add_full(G_PRIORITY_LOW, rec_retention_first, NULL, NULL);

    return REC_OK;
}
