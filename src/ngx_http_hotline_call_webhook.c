
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_proto.h"
#include "ngx_http_hotline_call_types.h"
#include "ngx_http_hotline_call_op.h"
#include "ngx_http_hotline_call_webhook.h"
#include "ngx_http_hotline_webhook.h"


/*
 * The call events for webhooks (docs/webhooks.md), from an operation of
 * the call model that committed: called once, by the worker that ran it,
 * so an event is sent once whichever store holds the calls.  What an
 * event says is what the call's history record says too.
 */


/* the most the names and a reason of an event take, escaped */
#define NGX_HOTLINE_WH_DATA                                                   \
    (512 + 6 * (NGX_HOTLINE_CUSTOMER_NAME_MAX + 2 * NGX_HOTLINE_NAME_MAX      \
                + NGX_HOTLINE_REASON_MAX))


static void ngx_http_hotline_call_webhook_queued(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_call_webhook_accepted(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_call_webhook_transferred(
    ngx_http_hotline_op_t *op);
static void ngx_http_hotline_call_webhook_ended(ngx_http_hotline_op_t *op);
static void ngx_http_hotline_call_webhook_more(ngx_http_hotline_op_t *op,
    ngx_uint_t type, u_char *call_id, u_char *name, size_t len);
static u_char *ngx_http_hotline_call_webhook_id(u_char *p, u_char *call_id);
static u_char *ngx_http_hotline_call_webhook_name(u_char *p, u_char *name,
    size_t len);


void
ngx_http_hotline_call_webhooks(ngx_http_hotline_op_t *op)
{
    switch (op->kind) {

    case NGX_HOTLINE_OP_JOIN:
        ngx_http_hotline_call_webhook_queued(op);
        break;

    case NGX_HOTLINE_OP_ACCEPT:
        ngx_http_hotline_call_webhook_accepted(op);
        break;

    case NGX_HOTLINE_OP_TRANSFER:
        ngx_http_hotline_call_webhook_transferred(op);
        break;

    case NGX_HOTLINE_OP_RATE:
        ngx_http_hotline_call_webhook_more(op, NGX_HOTLINE_WH_RATED,
                                           op->me.call_id, NULL, 0);
        break;

    case NGX_HOTLINE_OP_MESSAGE:
        ngx_http_hotline_call_webhook_more(op, NGX_HOTLINE_WH_MESSAGE,
                                           op->rec.call_id,
                                           op->rec.customer,
                                           op->rec.customer_len);

        if (op->me.version == 0) {
            /* a message instead of a call: no call was queued to end */
            return;
        }

        break;

    default:
        break;
    }

    if (op->ends) {
        ngx_http_hotline_call_webhook_ended(op);
    }
}


static void
ngx_http_hotline_call_webhook_queued(ngx_http_hotline_op_t *op)
{
    u_char                    *p;
    ngx_http_hotline_party_t  *c;
    u_char                     data[NGX_HOTLINE_WH_DATA];

    if (!ngx_http_hotline_webhook_wanted(NGX_HOTLINE_WH_QUEUED)) {
        return;
    }

    c = &op->me;

    p = ngx_http_hotline_call_webhook_id(data, c->call_id);
    p = ngx_cpymem(p, ",\"customer\":", sizeof(",\"customer\":") - 1);
    p = ngx_http_hotline_json_str(p, c->name, c->name_len);
    p = ngx_sprintf(p, ",\"joined\":%L}", c->joined);

    ngx_http_hotline_webhook_emit(NGX_HOTLINE_WH_QUEUED, data, p - data);
}


/* the agent (op->me) took the customer (op->other, as it was read) */

static void
ngx_http_hotline_call_webhook_accepted(ngx_http_hotline_op_t *op)
{
    u_char                    *p;
    int64_t                    now;
    ngx_http_hotline_party_t  *c, *a;
    u_char                     data[NGX_HOTLINE_WH_DATA];

    if (!ngx_http_hotline_webhook_wanted(NGX_HOTLINE_WH_ACCEPTED)) {
        return;
    }

    a = &op->me;
    c = &op->other;
    now = ngx_http_hotline_now();

    p = ngx_http_hotline_call_webhook_id(data, c->call_id);
    p = ngx_cpymem(p, ",\"customer\":", sizeof(",\"customer\":") - 1);
    p = ngx_http_hotline_json_str(p, c->name, c->name_len);
    p = ngx_cpymem(p, ",\"agent\":", sizeof(",\"agent\":") - 1);
    p = ngx_http_hotline_json_str(p, a->name, a->name_len);
    p = ngx_sprintf(p, ",\"joined\":%L,\"accepted\":%L,\"waited\":%L,"
                    "\"transfers\":%ui}",
                    c->joined, now, (now - c->joined + 500) / 1000,
                    c->transfers);

    ngx_http_hotline_webhook_emit(NGX_HOTLINE_WH_ACCEPTED, data, p - data);
}


/* the customer (op->other, as the commit left it) back in the queue */

static void
ngx_http_hotline_call_webhook_transferred(ngx_http_hotline_op_t *op)
{
    u_char                    *p;
    ngx_http_hotline_party_t  *c;
    u_char                     data[NGX_HOTLINE_WH_DATA];

    if (!ngx_http_hotline_webhook_wanted(NGX_HOTLINE_WH_TRANSFERRED)) {
        return;
    }

    c = &op->other;

    p = ngx_http_hotline_call_webhook_id(data, c->call_id);
    p = ngx_cpymem(p, ",\"from\":", sizeof(",\"from\":") - 1);
    p = ngx_http_hotline_json_str(p, c->from, c->from_len);
    p = ngx_cpymem(p, ",\"to\":", sizeof(",\"to\":") - 1);
    p = ngx_http_hotline_call_webhook_name(p, c->target, c->target_len);
    p = ngx_cpymem(p, ",\"reason\":", sizeof(",\"reason\":") - 1);
    p = ngx_http_hotline_json_str(p, c->why, c->why_len);
    p = ngx_sprintf(p, ",\"transfers\":%ui}", c->transfers);

    ngx_http_hotline_webhook_emit(NGX_HOTLINE_WH_TRANSFERRED, data,
                                  p - data);
}


/* the call's record, without the transcript, notes and messages */

static void
ngx_http_hotline_call_webhook_ended(ngx_http_hotline_op_t *op)
{
    u_char                          *p, *q, *last;
    int64_t                          answered;
    ngx_int_t                        hold;
    ngx_http_hotline_call_record_t  *rec;
    u_char                           data[NGX_HOTLINE_WH_DATA];

    static u_char  held[] = ",\"hold\":";

    if (!ngx_http_hotline_webhook_wanted(NGX_HOTLINE_WH_ENDED)) {
        return;
    }

    rec = &op->rec;

    /* the desk's members begin with the time on hold, in seconds */

    hold = 0;

    if (rec->extra.len > sizeof(held) - 1
        && ngx_strncmp(rec->extra.data, held, sizeof(held) - 1) == 0)
    {
        q = rec->extra.data + sizeof(held) - 1;
        last = rec->extra.data + rec->extra.len;

        for (p = q; p < last && p - q < 10 && *p >= '0' && *p <= '9'; p++) {
            /* void */
        }

        hold = ngx_atoi(q, p - q);
        hold = (hold == NGX_ERROR) ? 0 : hold;
    }

    answered = rec->accepted ? rec->accepted : rec->ended;

    p = ngx_http_hotline_call_webhook_id(data, rec->call_id);
    p = ngx_cpymem(p, ",\"customer\":", sizeof(",\"customer\":") - 1);
    p = ngx_http_hotline_json_str(p, rec->customer, rec->customer_len);
    p = ngx_cpymem(p, ",\"agent\":", sizeof(",\"agent\":") - 1);
    p = ngx_http_hotline_call_webhook_name(p, rec->agent, rec->agent_len);

    p = ngx_sprintf(p, ",\"reason\":\"%V\",\"by\":\"%s\",\"joined\":%L,"
                    "\"accepted\":",
                    &ngx_http_hotline_end_reasons[rec->reason],
                    rec->by == NGX_HOTLINE_ROLE_CUSTOMER ? "customer"
                                                         : "agent",
                    rec->joined);

    if (rec->accepted) {
        p = ngx_sprintf(p, "%L", rec->accepted);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_sprintf(p, ",\"ended\":%L,\"waited\":%L,\"duration\":%ui,"
                    "\"hold\":%i,\"recorded\":%s}",
                    rec->ended, (answered - rec->joined + 500) / 1000,
                    rec->duration, hold, rec->recorded ? "true" : "false");

    ngx_http_hotline_webhook_emit(NGX_HOTLINE_WH_ENDED, data, p - data);
}


/*
 * a message or a rating: its members, as the history keeps them
 * (op->more: ,"message":{..} or ,"rating":n,"comment":"..")
 */

static void
ngx_http_hotline_call_webhook_more(ngx_http_hotline_op_t *op,
    ngx_uint_t type, u_char *call_id, u_char *name, size_t len)
{
    u_char  *p, *data;

    if (!ngx_http_hotline_webhook_wanted(type)) {
        return;
    }

    data = ngx_alloc(NGX_HOTLINE_WH_DATA + op->more.len, ngx_cycle->log);
    if (data == NULL) {
        return;
    }

    p = ngx_http_hotline_call_webhook_id(data, call_id);

    if (name) {
        p = ngx_cpymem(p, ",\"customer\":", sizeof(",\"customer\":") - 1);
        p = ngx_http_hotline_json_str(p, name, len);
    }

    p = ngx_cpymem(p, op->more.data, op->more.len);
    *p++ = '}';

    ngx_http_hotline_webhook_emit(type, data, p - data);

    ngx_free(data);
}


/* {"call_id":"<hex>" */

static u_char *
ngx_http_hotline_call_webhook_id(u_char *p, u_char *call_id)
{
    p = ngx_cpymem(p, "{\"call_id\":\"", sizeof("{\"call_id\":\"") - 1);
    p = ngx_http_hotline_hex(p, call_id, NGX_HOTLINE_ID_LEN);
    *p++ = '"';

    return p;
}


/* a name, or null */

static u_char *
ngx_http_hotline_call_webhook_name(u_char *p, u_char *name, size_t len)
{
    if (name == NULL || len == 0) {
        return ngx_cpymem(p, "null", 4);
    }

    return ngx_http_hotline_json_str(p, name, len);
}
