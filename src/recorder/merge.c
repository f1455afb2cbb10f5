/*
 * hotline-recorder: the merged recording of a call.
 */

#include "merge.h"


int
rec_merge_start(const char *call, const char *dir, json_t *manifest,
    rec_merge_done_pt done, void *data)
{
    (void) call;
    (void) dir;
    (void) manifest;
    (void) done;
    (void) data;

    return REC_DECLINED;
}
