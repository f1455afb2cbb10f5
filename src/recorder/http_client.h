/*
 * hotline-recorder: outgoing HTTP requests on the GLib main loop
 * (libcurl's multi interface: nothing blocks, the loop goes on reading
 * media while a request waits).
 */

#ifndef _REC_HTTP_CLIENT_H_INCLUDED_
#define _REC_HTTP_CLIENT_H_INCLUDED_


#include <curl/curl.h>

#include "rec.h"


typedef struct rec_http_out_s  rec_http_out_t;

/*
 * rc: libcurl's result (CURLE_OK: an answer came, status is its status);
 * easy is cleaned up when this returns
 */
typedef void (*rec_http_out_done_pt)(void *data, CURL *easy, CURLcode rc,
    long status);


int rec_http_client_init(void);
/*
 * runs easy (set up by the caller); done is called once, from the main
 * loop, never from within this call; NULL: it could not be started
 */
rec_http_out_t *rec_http_out_start(CURL *easy, rec_http_out_done_pt done,
    void *data);
/* the request is dropped, done is not called */
void rec_http_out_cancel(rec_http_out_t *o);


#endif /* _REC_HTTP_CLIENT_H_INCLUDED_ */
