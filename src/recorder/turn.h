/*
 * hotline-recorder: TURN REST credentials (coturn use-auth-secret) for
 * the ICE servers announced in Link headers.
 */

#ifndef _REC_TURN_H_INCLUDED_
#define _REC_TURN_H_INCLUDED_


#include "rec.h"


/* a turn: or turns: URL */
int rec_turn_url(const char *url);
/*
 * The Link headers (RFC 9725 4.6) of the configured ICE servers in buf;
 * TURN servers only with credentials: when "credentials" is set (an
 * authorized request) a fresh username and password, valid for
 * --turn-ttl, else they are left out.
 */
int rec_turn_links(char *buf, size_t size, int credentials);


#endif /* _REC_TURN_H_INCLUDED_ */
