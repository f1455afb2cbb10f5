/*
 * hotline-recorder: work outside the media path (finalizing a file left
 * by a killed recorder, merging a call's files) runs in child processes
 * of this binary, at most --jobs at once, at nice --job-nice; each prints
 * one JSON line that the main loop hands to the job's callback.
 */

#ifndef _REC_JOBS_H_INCLUDED_
#define _REC_JOBS_H_INCLUDED_


#include <jansson.h>

#include "rec.h"


/* result: the job's JSON line (NULL when it printed none), borrowed */
typedef void (*rec_job_done_pt)(void *data, int status, json_t *result);


int rec_jobs_init(const char *self);
/*
 * Queues "hotline-recorder --job KIND ARGS..." (args NULL terminated,
 * copied); "key" (a call id, copied) marks what the job works on.
 */
int rec_job_submit(const char *kind, const char *const *args,
    const char *key, rec_job_done_pt done, void *data);
/* a queued or running job works on key */
int rec_job_busy(const char *key);
unsigned rec_jobs_running(void);
unsigned rec_jobs_queued(void);
/* waits for the running jobs (on shutdown), drops the queued ones */
void rec_jobs_shutdown(void);

/* the job side: main() hands "--job KIND ARGS..." here */
int rec_job_main(int argc, char **argv);
int rec_repair_main(int argc, char **argv);
int rec_merge_main(int argc, char **argv);


#endif /* _REC_JOBS_H_INCLUDED_ */
