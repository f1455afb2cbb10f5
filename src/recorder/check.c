/*
 * hotline-recorder: the call check (--check-url).
 *
 * A recording token is good until its "exp" by its signature alone.  With
 * --check-url the recorder asks nginx (a location with
 * hotline_recording_check) before each new recording:
 *
 *   GET <check-url>
 *   Authorization: Bearer <the WHIP client's token>
 *
 *   200                            the call is in progress: record
 *   401 {"error":"unauthorized"}   not a recording token of the module
 *   410 {"error":"call_ended"}     the call ended (hang-up, ban, gone)
 *   429 {"error":"recording_limit"} its role has all its recordings
 *   503 {"error":"unavailable"}    the module's store cannot say
 *
 * These go to the WHIP client as they are (status and error code).  Any
 * other answer, none within --check-timeout, a connection refused, an
 * answer over REC_CHECK_MAX_BODY: 503 check_failed, logged as an error;
 * a recording never starts without a 200.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_client.h"
#include "jwt.h"
#include "metrics.h"


struct rec_check_s {
    rec_http_out_t      *out;
    struct curl_slist   *headers;
    rec_check_done_pt    done;
    void                *data;
    int64_t              start;
    size_t               len;
    int                  too_large;
    char                 body[REC_CHECK_MAX_BODY];
};


static size_t
rec_check_write(char *p, size_t size, size_t n, void *data)
{
    rec_check_t  *ck;

    ck = data;
    n *= size;

    if (n > sizeof(ck->body) - ck->len) {
        ck->too_large = 1;
        return 0;
    }

    memcpy(ck->body + ck->len, p, n);
    ck->len += n;

    return n;
}


static void
rec_check_free(rec_check_t *ck)
{
    curl_slist_free_all(ck->headers);
    free(ck);
}


static void
rec_check_done(void *data, CURL *easy, CURLcode rc, long status)
{
    rec_check_t         *ck;
    rec_check_result_t   res;

    (void) easy;

    ck = data;
    ck->out = NULL;

    rec_metrics.check_ms += (uint64_t) (rec_now_ms() - ck->start);

    if (rc != CURLE_OK) {
        rec_log(REC_LOG_ERR, "check: GET %s failed: %s", rec_conf.check_url,
                ck->too_large ? "answer too large"
                              : curl_easy_strerror(rc));
        status = 0;
    }

    rec_check_result(&res, status, ck->body, ck->len);

    switch (status) {
    case 200:
        rec_metrics.checks_ok++;
        break;

    case 401:
        rec_metrics.checks_unauthorized++;
        break;

    case 410:
        rec_metrics.checks_ended++;
        break;

    case 429:
        rec_metrics.checks_limit++;
        break;

    case 503:
        rec_metrics.checks_unavailable++;
        rec_log(REC_LOG_WARN, "check: GET %s: %s", rec_conf.check_url,
                res.reason);
        break;

    default:
        rec_metrics.checks_failed++;

        if (rc == CURLE_OK) {
            rec_log(REC_LOG_ERR, "check: GET %s: %s", rec_conf.check_url,
                    res.reason);
        }

        break;
    }

    ck->done(ck->data, &res);

    rec_check_free(ck);
}


rec_check_t *
rec_check_start(const char *token, rec_check_done_pt done, void *data)
{
    CURL         *easy;
    char          hdr[REC_JWT_MAX_LEN + 32];
    rec_check_t  *ck;

    if (strlen(token) > REC_JWT_MAX_LEN) {
        return NULL;
    }

    ck = calloc(1, sizeof(rec_check_t));
    if (ck == NULL) {
        return NULL;
    }

    ck->done = done;
    ck->data = data;
    ck->start = rec_now_ms();

    /* the token is a verified JWT: base64url and dots, nothing to escape */

    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
    ck->headers = curl_slist_append(NULL, hdr);

    if (ck->headers != NULL) {
        ck->headers = curl_slist_append(ck->headers,
                                        "Accept: application/json");
    }

    easy = ck->headers ? curl_easy_init() : NULL;

    if (easy == NULL) {
        rec_check_free(ck);
        return NULL;
    }

    curl_easy_setopt(easy, CURLOPT_URL, rec_conf.check_url);
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, ck->headers);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) rec_conf.check_timeout);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    /* straight to nginx: no proxy from the environment, no redirect */
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "hotline-recorder");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, rec_check_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, ck);

    ck->out = rec_http_out_start(easy, rec_check_done, ck);

    if (ck->out == NULL) {
        curl_easy_cleanup(easy);
        rec_check_free(ck);
        return NULL;
    }

    return ck;
}


void
rec_check_cancel(rec_check_t *ck)
{
    if (ck->out != NULL) {
        rec_http_out_cancel(ck->out);
    }

    rec_check_free(ck);
}
