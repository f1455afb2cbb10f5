/*
 * hotline-recorder: the operators' endpoint, with the bearer token of
 * --admin-token-file (compared in constant time); without that option
 * every /admin/ path is unknown.
 *
 *   GET    /admin/recordings          the calls: their manifests, whether
 *                                     a session is open, their bytes
 *                                     (?limit=N&after=CALL: a page)
 *   DELETE /admin/sessions/<session>  stops a running recording
 *                                     (ending_reason "admin_stop")
 */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "calls.h"
#include "http.h"
#include "metrics.h"
#include "session.h"


static int
rec_admin_auth(rec_http_conn_t *c, rec_http_req_t *r)
{
    size_t       n;
    const char  *tok;

    tok = r->authorization + 7;
    n = strlen(r->authorization) >= 7 ? strlen(tok) : 0;

    if (strncasecmp(r->authorization, "Bearer ", 7) != 0
        || n != rec_conf.admin_token_len
        || CRYPTO_memcmp(tok, rec_conf.admin_token, n) != 0)
    {
        rec_metrics.auth_failures++;
        rec_http_error(c, 401, "WWW-Authenticate: Bearer "
                       "realm=\"hotline-recorder admin\"\r\n",
                       "the admin token is required");
        return REC_ERROR;
    }

    return REC_OK;
}


static uint64_t
rec_admin_bytes(const char *dir)
{
    DIR            *d;
    char            path[PATH_MAX];
    uint64_t        bytes;
    struct stat     st;
    struct dirent  *e;

    bytes = 0;
    d = opendir(dir);

    if (d == NULL) {
        return 0;
    }

    while ((e = readdir(d)) != NULL) {
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name)
            < (int) sizeof(path)
            && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        {
            bytes += (uint64_t) st.st_size;
        }
    }

    closedir(d);

    return bytes;
}


/* a query parameter: its value (up to '&') in buf, or NULL */

static const char *
rec_admin_param(const char *query, const char *name, char *buf, size_t size)
{
    size_t       n, len;
    const char  *p;

    n = strlen(name);

    for (p = query; p != NULL && *p != '\0'; p = strchr(p, '&'), p += p != NULL)
    {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            len = strcspn(p + n + 1, "&");

            if (len >= size) {
                return NULL;
            }

            memcpy(buf, p + n + 1, len);
            buf[len] = '\0';

            return buf;
        }
    }

    return NULL;
}


static int
rec_admin_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


/*
 * The calls in name order, "limit" at a time (default 100, at most 1000)
 * after "after": each answer reads a bounded number of manifests, so a
 * directory of many calls never holds up the main loop for long.
 */

static void
rec_admin_list(rec_http_conn_t *c, rec_http_req_t *r)
{
    DIR            *d;
    char            dir[PATH_MAX], *body, lim[16], after[80], *end;
    size_t          n, i, taken;
    json_t         *calls, *m, *out;
    uint64_t        bytes;
    GPtrArray      *names;
    unsigned long   limit;
    struct dirent  *e;

    limit = 100;

    if (rec_admin_param(r->query, "limit", lim, sizeof(lim)) != NULL) {
        limit = strtoul(lim, &end, 10);

        if (*end != '\0' || limit < 1 || limit > 1000) {
            rec_http_error(c, 400, NULL, "limit must be 1 to 1000");
            return;
        }
    }

    if (rec_admin_param(r->query, "after", after, sizeof(after)) == NULL) {
        after[0] = '\0';
    }

    d = opendir(rec_conf.recordings_dir);
    if (d == NULL) {
        rec_http_error(c, 500, NULL, "cannot read the recordings directory");
        return;
    }

    names = g_ptr_array_new_with_free_func(g_free);

    while ((e = readdir(d)) != NULL) {
        n = strlen(e->d_name);

        if (n > 0 && n <= 64 && e->d_name[0] != '.'
            && strcmp(e->d_name, after) > 0)
        {
            g_ptr_array_add(names, g_strdup(e->d_name));
        }
    }

    closedir(d);

    qsort(names->pdata, names->len, sizeof(gpointer), rec_admin_cmp);

    calls = json_array();
    taken = 0;

    for (i = 0; i < names->len && taken < limit; i++) {
        if (snprintf(dir, sizeof(dir), "%s/%s", rec_conf.recordings_dir,
                     (char *) names->pdata[i]) >= (int) sizeof(dir))
        {
            continue;
        }

        m = rec_call_manifest(dir);

        if (!json_is_object(m)) {
            json_decref(m);
            continue;
        }

        bytes = rec_admin_bytes(dir);

        json_object_set_new(m, "open", json_boolean(
            rec_session_find_call(names->pdata[i]) != NULL));
        json_object_set_new(m, "bytes", json_integer((json_int_t) bytes));
        json_array_append_new(calls, m);
        taken++;
    }

    out = json_pack("{s:o,s:o,s:i}", "calls", calls, "next",
                    i < names->len && taken > 0
                    ? json_string(names->pdata[i - 1]) : json_null(),
                    "sessions", rec_sessions_count());
    g_ptr_array_free(names, TRUE);

    body = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);

    if (body == NULL) {
        rec_http_error(c, 500, NULL, "out of memory");
        return;
    }

    rec_http_respond(c, 200, NULL, "application/json", body, strlen(body));
    free(body);
}


static void
rec_admin_stop(rec_http_conn_t *c, const char *id)
{
    char            body[128];
    rec_session_t  *s;

    s = strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32
        ? rec_session_find(id) : NULL;

    if (s == NULL) {
        rec_http_error(c, 404, NULL, "no such session");
        return;
    }

    rec_log(REC_LOG_INFO, "session %s: stopped by an admin request", s->id);
    rec_session_end(s, "admin_stop");

    snprintf(body, sizeof(body), "{\"session\":\"%s\",\"state\":"
             "\"finished\"}\n", id);
    rec_http_respond(c, 200, NULL, "application/json", body, strlen(body));
}


void
rec_admin_handle(rec_http_conn_t *c, rec_http_req_t *r)
{
    const char  *rest;

    if (rec_conf.admin_token_len == 0) {
        rec_http_error(c, 404, NULL, "not found");
        return;
    }

    if (rec_admin_auth(c, r) != REC_OK) {
        return;
    }

    rest = r->path + sizeof("/admin/") - 1;

    if (strcmp(rest, "recordings") == 0) {
        if (strcmp(r->method, "GET") != 0) {
            rec_http_error(c, 405, "Allow: GET\r\n", "use GET");
            return;
        }

        rec_admin_list(c, r);
        return;
    }

    if (strncmp(rest, "sessions/", 9) == 0) {
        if (strcmp(r->method, "DELETE") != 0) {
            rec_http_error(c, 405, "Allow: DELETE\r\n", "use DELETE");
            return;
        }

        rec_admin_stop(c, rest + 9);
        return;
    }

    rec_http_error(c, 404, NULL, "not found");
}
