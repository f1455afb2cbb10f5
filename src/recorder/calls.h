/*
 * hotline-recorder: a call's recording is complete (calls.c).
 */

#ifndef _REC_CALLS_H_INCLUDED_
#define _REC_CALLS_H_INCLUDED_


#include <jansson.h>

#include "rec.h"


int rec_calls_init(void);
/* the call may be complete "delay" seconds from now */
void rec_call_ended(const char *call, unsigned delay);
/* completing, or about to be checked */
int rec_call_busy(const char *call);
/* <dir>/manifest.json as JSON, NULL when there is none */
json_t *rec_call_manifest(const char *dir);


#endif /* _REC_CALLS_H_INCLUDED_ */
