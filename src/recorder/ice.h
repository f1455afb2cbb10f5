/*
 * hotline-recorder: full ICE (RFC 8445) with libnice, one bundled
 * component with rtcp-mux.
 */

#ifndef _REC_ICE_H_INCLUDED_
#define _REC_ICE_H_INCLUDED_


#include <agent.h>

#include "rec.h"


#define REC_ICE_CONNECTED  1
#define REC_ICE_FAILED     2


typedef void (*rec_ice_recv_pt)(void *data, u_char *buf, size_t len);
typedef void (*rec_ice_state_pt)(void *data, int state);


typedef struct {
    NiceAgent         *agent;
    guint              stream;
    rec_ice_recv_pt    recv;
    rec_ice_state_pt   state;
    void              *data;
} rec_ice_t;


int rec_ice_create(rec_ice_t *ice, rec_ice_recv_pt recv,
    rec_ice_state_pt state, void *data);
/* g_free() the strings, g_strfreev() the candidate list */
int rec_ice_local(rec_ice_t *ice, gchar **ufrag, gchar **pwd,
    gchar ***candidates);
int rec_ice_remote(rec_ice_t *ice, const char *ufrag, const char *pwd);
int rec_ice_add_candidates(rec_ice_t *ice, char (*c)[512], unsigned n);
int rec_ice_send(rec_ice_t *ice, const u_char *buf, size_t len);
void rec_ice_free(rec_ice_t *ice);


#endif /* _REC_ICE_H_INCLUDED_ */
