/*
 * hotline-recorder: retention of the recordings (retention.c).
 */

#ifndef _REC_RETENTION_H_INCLUDED_
#define _REC_RETENTION_H_INCLUDED_


#include "rec.h"


int rec_retention_init(void);
void rec_retention_sweep(void);


#endif /* _REC_RETENTION_H_INCLUDED_ */
