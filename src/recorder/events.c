/*
 * hotline-recorder: signed events POSTed to --event-url (libcurl on the
 * main loop, http_client.c: nothing blocks).
 *
 * The signature, in the manner of Stripe's webhook signatures:
 *
 *   Hotline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 *                      "<t>.<body>")>
 *
 * with the secret of --event-secret-file.  A delivery that fails (no
 * connection, a timeout, a status other than 2xx) is tried again after
 * 1, 2, 4 ... 300 s, REC_EVENT_TRIES times in all.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "events.h"
#include "http_client.h"
#include "metrics.h"


#define REC_EVENT_TRIES    10
#define REC_EVENT_TIMEOUT  10000      /* ms for one attempt */


typedef struct {
    char               *body;
    char                id[40];
    unsigned            tries;
    struct curl_slist  *headers;
    rec_event_done_pt   done;
    void               *data;
} rec_event_t;


static void rec_event_done(void *data, CURL *easy, CURLcode rc,
    long status);
static int rec_event_start(rec_event_t *e);


/* "t=<t>,v1=<hex hmac>" for body */

int
rec_event_sign(const u_char *secret, size_t slen, const char *body,
    time_t t, char *out, size_t size)
{
    int            n;
    char          *msg;
    u_char         md[EVP_MAX_MD_SIZE];
    size_t         len;
    unsigned       i, mdlen;
    static const char  hex[] = "0123456789abcdef";

    len = strlen(body) + 32;
    msg = malloc(len);
    if (msg == NULL) {
        return REC_ERROR;
    }

    n = snprintf(msg, len, "%lld.%s", (long long) t, body);

    if (n < 0 || (size_t) n >= len
        || HMAC(EVP_sha256(), secret, (int) slen, (u_char *) msg, (size_t) n,
                md, &mdlen) == NULL)
    {
        free(msg);
        return REC_ERROR;
    }

    free(msg);

    n = snprintf(out, size, "t=%lld,v1=", (long long) t);

    if (n < 0 || (size_t) n + 2 * mdlen + 1 > size) {
        return REC_ERROR;
    }

    for (i = 0; i < mdlen; i++) {
        out[n++] = hex[md[i] >> 4];
        out[n++] = hex[md[i] & 0x0f];
    }

    out[n] = '\0';

    return REC_OK;
}


static void
rec_event_free(rec_event_t *e)
{
    curl_slist_free_all(e->headers);
    free(e->body);
    g_free(e);
}


static gboolean
rec_event_retry(gpointer data)
{
    rec_event_t  *e;

    e = data;

    if (rec_event_start(e) != REC_OK) {
        if (e->done != NULL) {
            e->done(e->data, 0);
        }

        rec_event_free(e);
    }

    return G_SOURCE_REMOVE;
}


static int
rec_event_start(rec_event_t *e)
{
    CURL  *easy;
    char   hdr[160], sig[128];

    e->tries++;

    /* signed at each attempt: the time in it is the time it is sent */

    if (rec_event_sign(rec_conf.event_secret, rec_conf.event_secret_len,
                       e->body, time(NULL), sig, sizeof(sig)) != REC_OK)
    {
        return REC_ERROR;
    }

    curl_slist_free_all(e->headers);
    e->headers = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(hdr, sizeof(hdr), "Hotline-Signature: %s", sig);
    e->headers = curl_slist_append(e->headers, hdr);
    snprintf(hdr, sizeof(hdr), "Hotline-Event-Id: %s", e->id);
    e->headers = curl_slist_append(e->headers, hdr);
    e->headers = curl_slist_append(e->headers, "Expect:");

    easy = curl_easy_init();

    if (easy == NULL || e->headers == NULL) {
        if (easy != NULL) {
            curl_easy_cleanup(easy);
        }

        return REC_ERROR;
    }

    curl_easy_setopt(easy, CURLOPT_URL, rec_conf.event_url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, e->body);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, e->headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) REC_EVENT_TIMEOUT);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "hotline-recorder");

    if (rec_http_out_start(easy, rec_event_done, e) == NULL) {
        curl_easy_cleanup(easy);
        return REC_ERROR;
    }

    return REC_OK;
}


static void
rec_event_done(void *data, CURL *easy, CURLcode rc, long status)
{
    unsigned      delay;
    rec_event_t  *e;

    (void) easy;

    e = data;

    if (rc == CURLE_OK && status >= 200 && status < 300) {
        rec_metrics.events_sent++;
        rec_log(REC_LOG_INFO, "event %s: delivered (%ld)", e->id, status);

        if (e->done != NULL) {
            e->done(e->data, 1);
        }

        rec_event_free(e);
        return;
    }

    rec_metrics.event_failures++;

    if (e->tries >= REC_EVENT_TRIES) {
        rec_log(REC_LOG_ERR, "event %s: given up after %u attempts",
                e->id, e->tries);

        if (e->done != NULL) {
            e->done(e->data, 0);
        }

        rec_event_free(e);
        return;
    }

    delay = e->tries < 9 ? 1u << (e->tries - 1) : 300;
    delay = delay > 300 ? 300 : delay;

    rec_log(REC_LOG_WARN, "event %s: attempt %u failed (%s), again in %u s",
            e->id, e->tries,
            rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status", delay);

    g_timeout_add_seconds(delay, rec_event_retry, e);
}


int
rec_event_send(json_t *event, rec_event_done_pt done, void *data)
{
    rec_event_t  *e;

    if (rec_conf.event_url == NULL) {
        return REC_DECLINED;
    }

    e = g_new0(rec_event_t, 1);
    snprintf(e->id, sizeof(e->id), "%s",
             json_string_value(json_object_get(event, "id")));
    e->body = json_dumps(event, JSON_COMPACT | JSON_SORT_KEYS);
    e->done = done;
    e->data = data;

    if (e->body == NULL || rec_event_start(e) != REC_OK) {
        rec_event_free(e);
        return REC_ERROR;
    }

    return REC_OK;
}
