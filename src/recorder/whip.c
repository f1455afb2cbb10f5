/*
 * hotline-recorder: WHIP (RFC 9725) resources, health and metrics.
 *
 *   POST    <prefix>            application/sdp offer -> 201 + answer
 *   DELETE  <prefix>/<session>  stop and finalize the recording
 *   PATCH   <prefix>/<session>  application/trickle-ice-sdpfrag
 *   OPTIONS <prefix>[/...]
 *   GET     /health, /metrics
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>

#include <glib.h>

#include "check.h"
#include "http.h"
#include "jwt.h"
#include "metrics.h"
#include "session.h"
#include "turn.h"


static uint64_t
rec_whip_disk_free(void)
{
    struct statvfs  vfs;

    if (statvfs(rec_conf.recordings_dir, &vfs) != 0) {
        return 0;
    }

    return (uint64_t) vfs.f_bavail * vfs.f_frsize;
}


/*
 * A session is started only with an unexpired token; PATCH and DELETE on
 * a running session take the same token even after it expired (a call
 * may outlast it), still with its signature, call and role checked.
 */

static int
rec_whip_auth(rec_http_conn_t *c, rec_http_req_t *r, rec_jwt_claims_t *cl,
    int check_exp, const char **token)
{
    const char  *tok, *err;
    char         hdr[256];

    if (strncasecmp(r->authorization, "Bearer ", 7) != 0) {
        rec_metrics.auth_failures++;
        rec_http_error(c, 401, "WWW-Authenticate: Bearer realm=\"hotline\""
                       "\r\n", "a Bearer token is required");
        return REC_ERROR;
    }

    tok = r->authorization + 7;

    while (*tok == ' ') {
        tok++;
    }

    if (rec_jwt_verify(tok, strlen(tok), rec_conf.secret,
                       rec_conf.secret_len,
                       check_exp ? (int64_t) time(NULL) : -1, cl, &err)
        != REC_OK)
    {
        rec_metrics.auth_failures++;
        snprintf(hdr, sizeof(hdr), "WWW-Authenticate: Bearer "
                 "realm=\"hotline\", error=\"invalid_token\"\r\n");
        rec_http_error(c, 401, hdr, err);
        return REC_ERROR;
    }

    if (token != NULL) {
        *token = tok;
    }

    return REC_OK;
}


/* a POST waiting for the call check */

typedef struct {
    rec_http_conn_t   *conn;
    rec_check_t       *check;
    rec_sdp_offer_t   *offer;
    rec_jwt_claims_t   claims;
} rec_whip_pending_t;


/*
 * the same participant publishing again (page reload, network change)
 * replaces its previous session, which is finalized once the new one
 * exists; the new one records into the next file (customer-2.webm...)
 */

static int
rec_whip_capacity(rec_http_conn_t *c, rec_jwt_claims_t *cl)
{
    rec_session_t  *old;

    old = rec_session_find_role(cl->call, cl->role);

    if (rec_sessions_count() - (old != NULL) >= rec_conf.max_sessions) {
        rec_metrics.capacity_refusals++;
        rec_http_error(c, 503, "Retry-After: 5\r\n",
                       "recorder at capacity");
        return REC_ERROR;
    }

    return REC_OK;
}


static void
rec_whip_start(rec_http_conn_t *c, rec_sdp_offer_t *offer,
    rec_jwt_claims_t *cl)
{
    int              status;
    char            *answer, *hdrs;
    char             links[2048];
    const char      *reason;
    rec_session_t   *s, *old;

    if (rec_whip_capacity(c, cl) != REC_OK) {
        return;
    }

    old = rec_session_find_role(cl->call, cl->role);

    s = rec_session_create(offer, cl->call, cl->role, &answer, &status,
                           &reason);

    if (s == NULL) {
        rec_http_error(c, status, NULL, reason);
        return;
    }

    if (old != NULL) {
        rec_session_end(old, "replaced");
    }

    (void) rec_turn_links(links, sizeof(links), 1);

    hdrs = g_strdup_printf("Location: %s/%s\r\nETag: \"%s\"\r\n%s",
                           rec_conf.prefix, s->id, s->id, links);

    rec_http_respond(c, 201, hdrs, "application/sdp", answer,
                     strlen(answer));

    g_free(hdrs);
    free(answer);
}


static void
rec_whip_pending_free(rec_whip_pending_t *p)
{
    free(p->offer);
    free(p);
}


/* the client went away before the check answered */

static void
rec_whip_pending_cancel(void *data)
{
    rec_whip_pending_t  *p;

    p = data;

    rec_check_cancel(p->check);
    rec_whip_pending_free(p);
}


static void
rec_whip_checked(void *data, const rec_check_result_t *res)
{
    int                  role;
    rec_session_t       *s;
    rec_whip_pending_t  *p;

    p = data;
    p->check = NULL;

    if (res->status == 200) {
        rec_whip_start(p->conn, p->offer, &p->claims);
        rec_whip_pending_free(p);
        return;
    }

    /* the call ended: what of it is still recorded ends too */

    if (res->status == 410) {
        for (role = REC_ROLE_CUSTOMER; role <= REC_ROLE_AGENT; role++) {
            s = rec_session_find_role(p->claims.call, role);

            if (s != NULL) {
                rec_log(REC_LOG_INFO, "session %s: call %s ended, "
                        "finalizing", s->id, s->call);
                rec_session_end(s, "call_ended");
            }
        }
    }

    rec_http_error(p->conn, res->status,
                   res->status == 401
                   ? "WWW-Authenticate: Bearer realm=\"hotline\", "
                     "error=\"invalid_token\"\r\n"
                   : res->status == 503 ? "Retry-After: 5\r\n" : NULL,
                   res->reason);

    rec_whip_pending_free(p);
}


static void
rec_whip_post(rec_http_conn_t *c, rec_http_req_t *r)
{
    char                 err[256];
    const char          *token;
    rec_sdp_offer_t     *offer;
    rec_jwt_claims_t     cl;
    rec_whip_pending_t  *p;

    if (rec_whip_auth(c, r, &cl, 1, &token) != REC_OK) {
        return;
    }

    if (!rec_http_media_type(r->content_type, "application/sdp")) {
        rec_metrics.bad_requests++;
        rec_http_error(c, 415, "Accept-Post: application/sdp\r\n",
                       "Content-Type must be application/sdp");
        return;
    }

    if (rec_conf.min_free_disk
        && rec_whip_disk_free() < rec_conf.min_free_disk)
    {
        rec_metrics.disk_refusals++;
        rec_http_error(c, 507, NULL, "not enough free disk space to record");
        return;
    }

    if (rec_whip_capacity(c, &cl) != REC_OK) {
        return;
    }

    offer = malloc(sizeof(rec_sdp_offer_t));
    if (offer == NULL) {
        rec_http_error(c, 500, NULL, "out of memory");
        return;
    }

    if (rec_sdp_parse_offer(offer, r->body, r->body_len, err, sizeof(err))
        != REC_OK)
    {
        free(offer);
        rec_metrics.bad_requests++;
        rec_http_error(c, 400, NULL, err);
        return;
    }

    if (rec_conf.check_url == NULL) {
        rec_whip_start(c, offer, &cl);
        free(offer);
        return;
    }

    /*
     * all that can be said here is said: the call check last, since its
     * 200 counts a recording of the call
     */

    p = malloc(sizeof(rec_whip_pending_t));
    if (p == NULL) {
        free(offer);
        rec_http_error(c, 500, NULL, "out of memory");
        return;
    }

    p->conn = c;
    p->offer = offer;
    p->claims = cl;
    p->check = rec_check_start(token, rec_whip_checked, p);

    if (p->check == NULL) {
        rec_whip_pending_free(p);
        rec_http_error(c, 500, NULL, "cannot ask the call check");
        return;
    }

    rec_http_wait(c, rec_whip_pending_cancel, p);
}


static void
rec_whip_resource(rec_http_conn_t *c, rec_http_req_t *r, const char *id)
{
    const char       *err;
    rec_session_t    *s;
    rec_sdp_offer_t  *frag;
    rec_jwt_claims_t  cl;
    char              msg[256];

    if (strcmp(r->method, "OPTIONS") == 0) {
        rec_http_respond(c, 204, "Allow: DELETE, PATCH, OPTIONS\r\n"
                         "Accept-Patch: application/trickle-ice-sdpfrag\r\n",
                         NULL, NULL, 0);
        return;
    }

    if (strcmp(r->method, "DELETE") != 0 && strcmp(r->method, "PATCH") != 0)
    {
        rec_http_error(c, 405, "Allow: DELETE, PATCH, OPTIONS\r\n",
                       "method not allowed on a WHIP session");
        return;
    }

    if (rec_whip_auth(c, r, &cl, 0, NULL) != REC_OK) {
        return;
    }

    s = rec_session_find(id);

    /* another call's token sees the same answer as an unknown session */

    if (s == NULL || s->role != cl.role || strcmp(s->call, cl.call) != 0) {
        rec_http_error(c, 404, NULL, "no such WHIP session");
        return;
    }

    if (strcmp(r->method, "DELETE") == 0) {
        rec_session_end(s, "client_delete");
        rec_http_respond(c, 200, NULL, NULL, NULL, 0);
        return;
    }

    /* RFC 9725 4.3.1: the entity tag of the session, or "*" */

    snprintf(msg, sizeof(msg), "\"%s\"", s->id);

    if (r->if_match[0] != '\0' && strcmp(r->if_match, "*") != 0
        && strcmp(r->if_match, msg) != 0)
    {
        rec_http_error(c, 412, NULL, "If-Match does not match the "
                       "session's ETag");
        return;
    }

    if (!rec_http_media_type(r->content_type,
                             "application/trickle-ice-sdpfrag"))
    {
        rec_http_error(c, 415, "Accept-Patch: application/"
                       "trickle-ice-sdpfrag\r\n",
                       "Content-Type must be "
                       "application/trickle-ice-sdpfrag");
        return;
    }

    frag = malloc(sizeof(rec_sdp_offer_t));
    if (frag == NULL) {
        rec_http_error(c, 500, NULL, "out of memory");
        return;
    }

    if (rec_sdp_parse_frag(frag, r->body, r->body_len, s->mids, msg,
                           sizeof(msg))
        != REC_OK)
    {
        free(frag);
        rec_metrics.bad_requests++;
        rec_http_error(c, 400, NULL, msg);
        return;
    }

    if (rec_session_trickle(s, frag, &err) != REC_OK) {
        free(frag);
        rec_http_error(c, 422, NULL, err);
        return;
    }

    free(frag);
    rec_http_respond(c, 204, NULL, NULL, NULL, 0);
}


static void
rec_whip_health(rec_http_conn_t *c)
{
    int        ok;
    char       body[256];
    int        n;
    uint64_t   disk;

    disk = rec_whip_disk_free();
    ok = !rec_conf.min_free_disk || disk >= rec_conf.min_free_disk;

    n = snprintf(body, sizeof(body),
                 "{\"status\":\"%s\",\"sessions\":%u,\"max_sessions\":%u,"
                 "\"disk_free_bytes\":%llu}\n",
                 ok ? "ok" : "disk_low", rec_sessions_count(),
                 rec_conf.max_sessions, (unsigned long long) disk);

    rec_http_respond(c, ok ? 200 : 503, NULL, "application/json", body,
                     (size_t) n);
}


static void
rec_whip_metrics(rec_http_conn_t *c)
{
    char    *text;
    size_t   len;

    text = rec_metrics_text(rec_sessions_count(), rec_whip_disk_free(),
                            &len);
    if (text == NULL) {
        rec_http_error(c, 500, NULL, "out of memory");
        return;
    }

    rec_http_respond(c, 200, NULL, "text/plain; version=0.0.4", text, len);
    free(text);
}


/*
 * TURN credentials only for a valid token: they let whoever has them
 * relay traffic through the TURN server
 */

static void
rec_whip_options(rec_http_conn_t *c, rec_http_req_t *r)
{
    int                cred;
    char               links[2048];
    char              *hdrs;
    const char        *tok, *err;
    rec_jwt_claims_t   cl;

    tok = r->authorization + 7;
    cred = strncasecmp(r->authorization, "Bearer ", 7) == 0
           && rec_jwt_verify(tok, strlen(tok), rec_conf.secret,
                             rec_conf.secret_len, (int64_t) time(NULL), &cl,
                             &err)
              == REC_OK;

    (void) rec_turn_links(links, sizeof(links), cred);

    hdrs = g_strdup_printf("Allow: POST, OPTIONS\r\n"
                           "Accept-Post: application/sdp\r\n%s", links);

    rec_http_respond(c, 204, hdrs, NULL, NULL, 0);
    g_free(hdrs);
}


void
rec_whip_handle(rec_http_conn_t *c, rec_http_req_t *r)
{
    size_t       plen;
    const char  *rest;

    rec_log(REC_LOG_DEBUG, "http: %s %s", r->method, r->path);

    if (strcmp(r->path, "/health") == 0 && strcmp(r->method, "GET") == 0) {
        rec_whip_health(c);
        return;
    }

    if (strcmp(r->path, "/metrics") == 0 && strcmp(r->method, "GET") == 0) {
        rec_whip_metrics(c);
        return;
    }

    if (strncmp(r->path, "/admin/", 7) == 0) {
        rec_admin_handle(c, r);
        return;
    }

    plen = strlen(rec_conf.prefix);

    if (strncmp(r->path, rec_conf.prefix, plen) != 0
        || (r->path[plen] != '\0' && r->path[plen] != '/'))
    {
        rec_http_error(c, 404, NULL, "not found");
        return;
    }

    rest = r->path + plen;

    if (*rest == '/') {
        rest++;
    }

    if (*rest == '\0') {
        if (strcmp(r->method, "POST") == 0) {
            rec_whip_post(c, r);

        } else if (strcmp(r->method, "OPTIONS") == 0) {
            rec_whip_options(c, r);

        } else {
            rec_http_error(c, 405, "Allow: POST, OPTIONS\r\n",
                           "use POST with an SDP offer");
        }

        return;
    }

    if (strlen(rest) != 32 || strspn(rest, "0123456789abcdef") != 32) {
        rec_http_error(c, 404, NULL, "no such WHIP session");
        return;
    }

    rec_whip_resource(c, r, rest);
}
