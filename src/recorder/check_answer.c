/*
 * hotline-recorder: what an answer of the call check means (check.c):
 * its status, and the module's error code and message from its JSON body
 * when they are plain text.
 */

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "check.h"


/* a code or message of the answer, if it is plain text: [a-z0-9_] codes */

static const char *
rec_check_field(json_t *j, const char *name, int code)
{
    size_t       i, len;
    const char  *s;

    s = json_string_value(json_object_get(j, name));

    if (s == NULL) {
        return NULL;
    }

    len = strlen(s);

    if (len == 0 || len > (code ? 32 : 200)) {
        return NULL;
    }

    for (i = 0; i < len; i++) {
        if (code ? !((s[i] >= 'a' && s[i] <= 'z')
                     || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')
                 : (s[i] < 0x20 || s[i] > 0x7e))
        {
            return NULL;
        }
    }

    return s;
}


void
rec_check_result(rec_check_result_t *res, long status, const char *body,
    size_t len)
{
    json_t        *j;
    unsigned       i;
    const char    *code, *msg;
    json_error_t   e;

    static const struct {
        long         status;
        const char  *code;
        const char  *msg;
    }  known[] = {
        { 200, "", "the call is in progress" },
        { 401, "unauthorized", "not a recording token of a call" },
        { 410, "call_ended", "the call of this token is not in progress" },
        { 429, "recording_limit", "this call has as many recordings as "
                                  "it may" },
        { 503, "unavailable", "the call check cannot say now" },
    };

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (known[i].status == status) {
            break;
        }
    }

    if (i == sizeof(known) / sizeof(known[0])) {
        res->status = 503;
        strcpy(res->error, "check_failed");

        if (status == 0) {
            snprintf(res->reason, sizeof(res->reason),
                     "check_failed: the call check did not answer");

        } else {
            snprintf(res->reason, sizeof(res->reason),
                     "check_failed: the call check answered %ld", status);
        }

        return;
    }

    res->status = (int) status;
    code = NULL;
    msg = NULL;

    j = status == 200 ? NULL
                      : json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);

    if (json_is_object(j)) {
        code = rec_check_field(j, "error", 1);
        msg = rec_check_field(j, "message", 0);
    }

    snprintf(res->error, sizeof(res->error), "%s",
             code ? code : known[i].code);
    snprintf(res->reason, sizeof(res->reason), "%s%s%s", res->error,
             res->error[0] ? ": " : "", msg ? msg : known[i].msg);

    json_decref(j);
}
