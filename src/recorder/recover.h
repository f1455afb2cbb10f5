/*
 * hotline-recorder: finalizing the recordings a killed recorder left.
 */

#ifndef _REC_RECOVER_H_INCLUDED_
#define _REC_RECOVER_H_INCLUDED_


#include "rec.h"


/* scans --recordings and queues a repair job for each open recording */
int rec_recover_start(void);


#endif /* _REC_RECOVER_H_INCLUDED_ */
