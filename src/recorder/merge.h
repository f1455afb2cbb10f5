/*
 * hotline-recorder: the merged recording of a call (merge.c).
 */

#ifndef _REC_MERGE_H_INCLUDED_
#define _REC_MERGE_H_INCLUDED_


#include <jansson.h>

#include "rec.h"


/* merged: what the manifest says of the merged file, NULL when none */
typedef void (*rec_merge_done_pt)(void *data, json_t *merged);


/*
 * Queues the merge job of a call whose files are final; REC_DECLINED
 * when there is nothing to merge.
 */
int rec_merge_start(const char *call, const char *dir, json_t *manifest,
    rec_merge_done_pt done, void *data);


#endif /* _REC_MERGE_H_INCLUDED_ */
