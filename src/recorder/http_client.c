/*
 * hotline-recorder: outgoing HTTP requests on the GLib main loop, for
 * the signed events (events.c) and the call check (check.c).  libcurl's
 * multi interface tells which sockets to watch and when to wake it up;
 * GLib watches them; nothing blocks.
 */

#include <stdlib.h>

#include <glib.h>
#include <glib-unix.h>

#include "http_client.h"


struct rec_http_out_s {
    CURL                  *easy;
    rec_http_out_done_pt   done;
    void                  *data;
};


static CURLM  *rec_curl;
static guint   rec_curl_timer;


static void rec_http_client_check(void);


static gboolean
rec_http_client_fd(gint fd, GIOCondition cond, gpointer data)
{
    int  running, action;

    (void) data;

    action = ((cond & G_IO_IN) ? CURL_CSELECT_IN : 0)
             | ((cond & G_IO_OUT) ? CURL_CSELECT_OUT : 0)
             | ((cond & (G_IO_ERR | G_IO_HUP)) ? CURL_CSELECT_ERR : 0);

    (void) curl_multi_socket_action(rec_curl, fd, action, &running);
    rec_http_client_check();

    return G_SOURCE_CONTINUE;
}


static int
rec_http_client_socket(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
    guint         *src;
    GIOCondition   cond;

    (void) easy;
    (void) userp;

    src = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (src != NULL) {
            g_source_remove(*src);
            g_free(src);
            curl_multi_assign(rec_curl, s, NULL);
        }

        return 0;
    }

    if (src == NULL) {
        src = g_new0(guint, 1);
        curl_multi_assign(rec_curl, s, src);

    } else {
        g_source_remove(*src);
    }

    cond = G_IO_ERR | G_IO_HUP;

    if (what & CURL_POLL_IN) {
        cond |= G_IO_IN;
    }

    if (what & CURL_POLL_OUT) {
        cond |= G_IO_OUT;
    }

    *src = g_unix_fd_add(s, cond, rec_http_client_fd, NULL);

    return 0;
}


static gboolean
rec_http_client_timeout(gpointer data)
{
    int  running;

    (void) data;

    rec_curl_timer = 0;
    (void) curl_multi_socket_action(rec_curl, CURL_SOCKET_TIMEOUT, 0,
                                    &running);
    rec_http_client_check();

    return G_SOURCE_REMOVE;
}


static int
rec_http_client_timer(CURLM *multi, long ms, void *userp)
{
    (void) multi;
    (void) userp;

    if (rec_curl_timer) {
        g_source_remove(rec_curl_timer);
        rec_curl_timer = 0;
    }

    if (ms >= 0) {
        rec_curl_timer = g_timeout_add((guint) ms, rec_http_client_timeout,
                                       NULL);
    }

    return 0;
}


int
rec_http_client_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return REC_ERROR;
    }

    rec_curl = curl_multi_init();
    if (rec_curl == NULL) {
        return REC_ERROR;
    }

    curl_multi_setopt(rec_curl, CURLMOPT_SOCKETFUNCTION,
                      rec_http_client_socket);
    curl_multi_setopt(rec_curl, CURLMOPT_TIMERFUNCTION,
                      rec_http_client_timer);

    return REC_OK;
}


rec_http_out_t *
rec_http_out_start(CURL *easy, rec_http_out_done_pt done, void *data)
{
    rec_http_out_t  *o;

    o = malloc(sizeof(rec_http_out_t));
    if (o == NULL) {
        return NULL;
    }

    o->easy = easy;
    o->done = done;
    o->data = data;

    curl_easy_setopt(easy, CURLOPT_PRIVATE, o);

    if (curl_multi_add_handle(rec_curl, easy) != CURLM_OK) {
        free(o);
        return NULL;
    }

    return o;
}


void
rec_http_out_cancel(rec_http_out_t *o)
{
    curl_multi_remove_handle(rec_curl, o->easy);
    curl_easy_cleanup(o->easy);
    free(o);
}


static void
rec_http_client_check(void)
{
    int              left;
    long             status;
    CURL            *easy;
    CURLMsg         *msg;
    CURLcode         rc;
    rec_http_out_t  *o;

    while ((msg = curl_multi_info_read(rec_curl, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        rc = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &o);
        status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(rec_curl, easy);

        o->done(o->data, easy, rc, status);

        curl_easy_cleanup(easy);
        free(o);
    }
}
