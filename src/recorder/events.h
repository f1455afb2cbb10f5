/*
 * hotline-recorder: signed events (recording.completed) POSTed to
 * --event-url, retried with backoff; see events.c for the signature.
 */

#ifndef _REC_EVENTS_H_INCLUDED_
#define _REC_EVENTS_H_INCLUDED_


#include <time.h>

#include <jansson.h>

#include "rec.h"


/* delivered: 1, given up: 0 */
typedef void (*rec_event_done_pt)(void *data, int delivered);


/*
 * POSTs event (its "id" names it in Hotline-Event-Id); REC_DECLINED
 * without --event-url
 */
int rec_event_send(json_t *event, rec_event_done_pt done, void *data);
/* "t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>" */
int rec_event_sign(const u_char *secret, size_t slen, const char *body,
    time_t t, char *out, size_t size);


#endif /* _REC_EVENTS_H_INCLUDED_ */
