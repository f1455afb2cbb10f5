/*
 * hotline-recorder: a queue of jobs run as child processes, at most
 * --jobs at once, each at nice --job-nice, so that finalizing and merging
 * files never takes the CPU or the main loop from live recording.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "jobs.h"


#define REC_JOB_MAX_OUTPUT  65536


typedef struct {
    char             **argv;
    char              *key;
    rec_job_done_pt    done;
    void              *data;
    GPid               pid;
    int                out;
} rec_job_t;


static GQueue   rec_jobs_pending = G_QUEUE_INIT;
static GList   *rec_jobs_active;
static char    *rec_jobs_self;


static void rec_jobs_next(void);


int
rec_jobs_init(const char *self)
{
    rec_jobs_self = g_strdup(self);

    return rec_jobs_self != NULL ? REC_OK : REC_ERROR;
}


static void
rec_job_free(rec_job_t *j)
{
    g_strfreev(j->argv);
    g_free(j->key);
    g_free(j);
}


int
rec_job_submit(const char *kind, const char *const *args, const char *key,
    rec_job_done_pt done, void *data)
{
    guint       i, n;
    rec_job_t  *j;

    for (n = 0; args[n] != NULL; n++) {
        /* void */
    }

    j = g_new0(rec_job_t, 1);
    j->argv = g_new0(char *, n + 4);
    j->argv[0] = g_strdup(rec_jobs_self);
    j->argv[1] = g_strdup("--job");
    j->argv[2] = g_strdup(kind);

    for (i = 0; i < n; i++) {
        j->argv[3 + i] = g_strdup(args[i]);
    }

    j->key = g_strdup(key);
    j->done = done;
    j->data = data;
    j->out = -1;

    g_queue_push_tail(&rec_jobs_pending, j);

    rec_log(REC_LOG_INFO, "job %s %s: queued (%u running, %u waiting)",
            kind, key, g_list_length(rec_jobs_active),
            g_queue_get_length(&rec_jobs_pending));

    rec_jobs_next();

    return REC_OK;
}


static int
rec_job_is(gconstpointer a, gconstpointer key)
{
    return strcmp(((const rec_job_t *) a)->key, key);
}


int
rec_job_busy(const char *key)
{
    return g_list_find_custom(rec_jobs_active, key, rec_job_is) != NULL
           || g_queue_find_custom(&rec_jobs_pending, key, rec_job_is)
              != NULL;
}


unsigned
rec_jobs_running(void)
{
    return g_list_length(rec_jobs_active);
}


unsigned
rec_jobs_queued(void)
{
    return g_queue_get_length(&rec_jobs_pending);
}


/* in the child, between fork and exec: below the media path */

static void
rec_job_setup(gpointer data)
{
    (void) data;

    (void) setpriority(PRIO_PROCESS, 0, rec_conf.job_nice);
}


static void
rec_job_exited(GPid pid, gint wstatus, gpointer data)
{
    int           status;
    char         *nl;
    json_t       *result;
    ssize_t       n;
    GString      *out;
    rec_job_t    *j;
    json_error_t  jerr;

    j = data;
    rec_jobs_active = g_list_remove(rec_jobs_active, j);
    g_spawn_close_pid(pid);

    /* the child is gone: its output is all in the pipe */

    out = g_string_sized_new(256);

    for ( ;; ) {
        char  buf[4096];

        n = read(j->out, buf, sizeof(buf));

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0 || out->len + (size_t) n > REC_JOB_MAX_OUTPUT) {
            break;
        }

        g_string_append_len(out, buf, n);
    }

    close(j->out);

    nl = strchr(out->str, '\n');
    if (nl != NULL) {
        *nl = '\0';
    }

    result = json_loads(out->str, 0, &jerr);
    status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

    rec_log(status == 0 ? REC_LOG_INFO : REC_LOG_WARN, "job %s %s: %s %d",
            j->argv[2], j->key, status >= 0 ? "exit" : "killed by signal",
            status >= 0 ? status : WTERMSIG(wstatus));

    if (j->done != NULL) {
        j->done(j->data, status, result);
    }

    json_decref(result);
    g_string_free(out, TRUE);
    rec_job_free(j);

    rec_jobs_next();
}


static void
rec_jobs_next(void)
{
    GError     *err;
    rec_job_t  *j;

    while (g_list_length(rec_jobs_active) < rec_conf.jobs
           && (j = g_queue_pop_head(&rec_jobs_pending)) != NULL)
    {
        err = NULL;

        if (!g_spawn_async_with_pipes(NULL, j->argv, NULL,
                                      G_SPAWN_DO_NOT_REAP_CHILD
                                      | G_SPAWN_STDIN_FROM_DEV_NULL,
                                      rec_job_setup, NULL, &j->pid, NULL,
                                      &j->out, NULL, &err))
        {
            rec_log(REC_LOG_ERR, "job %s %s: cannot start: %s", j->argv[2],
                    j->key, err->message);
            g_error_free(err);

            if (j->done != NULL) {
                j->done(j->data, -1, NULL);
            }

            rec_job_free(j);
            continue;
        }

        rec_jobs_active = g_list_prepend(rec_jobs_active, j);
        g_child_watch_add(j->pid, rec_job_exited, j);
    }
}


void
rec_jobs_shutdown(void)
{
    GList      *l;
    rec_job_t  *j;

    while ((j = g_queue_pop_head(&rec_jobs_pending)) != NULL) {
        rec_job_free(j);
    }

    /* the next start does them again: their output is not in place yet */

    for (l = rec_jobs_active; l != NULL; l = l->next) {
        j = l->data;
        (void) kill(j->pid, SIGTERM);
        (void) waitpid(j->pid, NULL, 0);
        close(j->out);
        rec_log(REC_LOG_INFO, "job %s %s: stopped", j->argv[2], j->key);
    }
}


int
rec_job_main(int argc, char **argv)
{
    /* argv: --job KIND ARGS... */

    if (argc >= 3 && strcmp(argv[2], "repair") == 0) {
        return rec_repair_main(argc - 3, argv + 3);
    }

    if (argc >= 3 && strcmp(argv[2], "merge") == 0) {
        return rec_merge_main(argc - 3, argv + 3);
    }

    fprintf(stderr, "hotline-recorder: unknown job\n");

    return 2;
}
