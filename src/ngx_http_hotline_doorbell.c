
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline_doorbell.h"
#include "ngx_http_hotline_dgram.h"
#include "ngx_http_hotline_move.h"


/*
 * Cross-worker wake-ups.  Each worker owns a mailbox in the node's zone:
 * a bounded list of parties with new messages, and a flag saying that
 * the queue changed.  Producers push under the zone lock; after they
 * unlock, the owner is woken by a one-byte datagram on its doorbell, a
 * Unix datagram socket in the abstract namespace named after the worker
 * pid, so that workers of an old and a new generation (during a reload)
 * reach each other too.  A datagram carries no data: a forged one only
 * makes a worker look at its own mailbox.
 */


#define NGX_HOTLINE_MAILBOX_RING   1024
#define NGX_HOTLINE_RING_PENDING   64


typedef struct {
    ngx_queue_t          link;
    ngx_pid_t            pid;
    uint64_t             generation;     /* ngx_http_hotline_generation */
    ngx_uint_t           conns[3];
    ngx_uint_t           n;
    ngx_uint_t           flags;          /* NGX_HOTLINE_MAIL_QUEUE, ... */
    ngx_http_hotline_worker_store_t  store;
    ngx_http_hotline_mail_t  ring[NGX_HOTLINE_MAILBOX_RING];
} ngx_http_hotline_mailbox_t;


static void ngx_http_hotline_doorbell_read(ngx_event_t *rev);
static ngx_http_hotline_mailbox_t *ngx_http_hotline_mailbox(ngx_pid_t pid);
static void ngx_http_hotline_ring_later(ngx_pid_t pid);
static void ngx_http_hotline_wake_handler(ngx_event_t *ev);


static ngx_http_hotline_mailbox_t  *ngx_http_hotline_mine;
static ngx_connection_t            *ngx_http_hotline_bell;
static ngx_socket_t                 ngx_http_hotline_bell_out = -1;
static void                       (*ngx_http_hotline_wake)(void);
static ngx_event_t                  ngx_http_hotline_wake_ev;

static ngx_pid_t    ngx_http_hotline_pending[NGX_HOTLINE_RING_PENDING];
static ngx_uint_t   ngx_http_hotline_npending;
static ngx_uint_t   ngx_http_hotline_pending_all;


ngx_int_t
ngx_http_hotline_doorbell_init(ngx_cycle_t *cycle, void (*handler)(void))
{
    ngx_http_hotline_mailbox_t  *mb;

    ngx_http_hotline_wake = handler;

    ngx_http_hotline_wake_ev.handler = ngx_http_hotline_wake_handler;
    ngx_http_hotline_wake_ev.log = cycle->log;
    ngx_http_hotline_wake_ev.data = cycle;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    mb = ngx_slab_calloc_locked(ngx_http_hotline_shpool,
                                sizeof(ngx_http_hotline_mailbox_t));
    if (mb == NULL) {
        ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "hotline: no room for a mailbox in the zone");
        return NGX_ERROR;
    }

    mb->pid = ngx_pid;
    mb->generation = ngx_http_hotline_generation;

    /* the embedded store is always up; the Redis store says otherwise */
    mb->store.pid = ngx_pid;
    mb->store.state = NGX_HOTLINE_STORE_UP;
    mb->store.since = ngx_current_msec;

    ngx_queue_insert_tail(&ngx_http_hotline_zone->mailboxes, &mb->link);

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    ngx_http_hotline_mine = mb;

    ngx_http_hotline_bell = ngx_http_hotline_dgram_open(cycle, "ngx_hotline",
                                0, ngx_http_hotline_doorbell_read,
                                &ngx_http_hotline_bell_out);

    return ngx_http_hotline_bell ? NGX_OK : NGX_ERROR;
}


void
ngx_http_hotline_doorbell_done(void)
{
    if (ngx_http_hotline_mine) {
        ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);
        ngx_queue_remove(&ngx_http_hotline_mine->link);
        ngx_slab_free_locked(ngx_http_hotline_shpool, ngx_http_hotline_mine);
        ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
        ngx_http_hotline_mine = NULL;
    }

    if (ngx_http_hotline_wake_ev.posted) {
        ngx_delete_posted_event(&ngx_http_hotline_wake_ev);
    }

    if (ngx_http_hotline_bell) {
        ngx_close_connection(ngx_http_hotline_bell);
        ngx_http_hotline_bell = NULL;
    }

    if (ngx_http_hotline_bell_out != (ngx_socket_t) -1) {
        (void) ngx_close_socket(ngx_http_hotline_bell_out);
        ngx_http_hotline_bell_out = -1;
    }
}


static void
ngx_http_hotline_doorbell_read(ngx_event_t *rev)
{
    u_char             buf[64];
    ssize_t            n;
    ngx_connection_t  *c;

    c = rev->data;

    for ( ;; ) {
        n = recv(c->fd, buf, sizeof(buf), 0);

        if (n >= 0) {
            continue;
        }

        if (ngx_socket_errno == NGX_EAGAIN) {
            break;
        }

        if (ngx_socket_errno == NGX_EINTR) {
            continue;
        }

        ngx_log_error(NGX_LOG_ALERT, rev->log, ngx_socket_errno,
                      "hotline: doorbell recv() failed");
        break;
    }

    rev->ready = 0;

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, rev->log, 0,
                      "hotline: doorbell event failed");
    }

    ngx_http_hotline_wake();
}


static void
ngx_http_hotline_wake_handler(ngx_event_t *ev)
{
    ngx_http_hotline_wake();
}


/* sends the wake-ups collected under the lock; call after unlocking */

void
ngx_http_hotline_doorbell_flush(void)
{
    u_char                       b;
    socklen_t                    len;
    ngx_uint_t                   i, n;
    ngx_pid_t                    pids[NGX_HOTLINE_RING_PENDING];
    ngx_queue_t                 *q;
    struct sockaddr_un           sa;
    ngx_http_hotline_mailbox_t  *mb;

    if (ngx_http_hotline_pending_all) {
        ngx_http_hotline_pending_all = 0;
        ngx_http_hotline_npending = 0;
        n = 0;

        ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

        for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
             q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes)
             && n < NGX_HOTLINE_RING_PENDING;
             q = ngx_queue_next(q))
        {
            mb = ngx_queue_data(q, ngx_http_hotline_mailbox_t, link);
            pids[n++] = mb->pid;
        }

        ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    } else {
        n = ngx_http_hotline_npending;
        ngx_memcpy(pids, ngx_http_hotline_pending, n * sizeof(ngx_pid_t));
        ngx_http_hotline_npending = 0;
    }

    b = 0;

    for (i = 0; i < n; i++) {

        if (pids[i] == ngx_pid) {
            /* never re-enter the caller: run after the current event */
            if (!ngx_http_hotline_wake_ev.posted) {
                ngx_post_event(&ngx_http_hotline_wake_ev, &ngx_posted_events);
            }

            continue;
        }

        ngx_http_hotline_dgram_addr(&sa, &len, "ngx_hotline", pids[i]);

        /*
         * EAGAIN: the peer's socket buffer is full of wake-ups it has
         * not read yet, so it will look at its mailbox anyway
         */

        (void) sendto(ngx_http_hotline_bell_out, &b, 1, 0,
                      (struct sockaddr *) &sa, len);
    }
}


static ngx_http_hotline_mailbox_t *
ngx_http_hotline_mailbox(ngx_pid_t pid)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_mailbox_t  *mb;

    if (ngx_http_hotline_mine && ngx_http_hotline_mine->pid == pid) {
        return ngx_http_hotline_mine;
    }

    for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
         q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes);
         q = ngx_queue_next(q))
    {
        mb = ngx_queue_data(q, ngx_http_hotline_mailbox_t, link);

        if (mb->pid == pid) {
            return mb;
        }
    }

    return NULL;
}


static void
ngx_http_hotline_ring_later(ngx_pid_t pid)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_hotline_npending; i++) {
        if (ngx_http_hotline_pending[i] == pid) {
            return;
        }
    }

    if (i == NGX_HOTLINE_RING_PENDING) {
        ngx_http_hotline_pending_all = 1;
        return;
    }

    ngx_http_hotline_pending[ngx_http_hotline_npending++] = pid;
}


/* the functions below run with the zone locked */

void
ngx_http_hotline_mailbox_push(ngx_pid_t pid, void *inbox, uint64_t gen,
    ngx_uint_t kind)
{
    ngx_http_hotline_mail_t     *m;
    ngx_http_hotline_mailbox_t  *mb;

    mb = ngx_http_hotline_mailbox(pid);
    if (mb == NULL) {
        return;
    }

    if (mb->n < NGX_HOTLINE_MAILBOX_RING) {
        m = &mb->ring[mb->n++];
        m->inbox = inbox;
        m->gen = gen;
        m->kind = kind;

    } else {
        /* the owner will look at all of its sessions */
        mb->flags |= NGX_HOTLINE_MAIL_OVERFLOW;
    }

    if (mb->n == 1 || (mb->flags & NGX_HOTLINE_MAIL_OVERFLOW)) {
        ngx_http_hotline_ring_later(pid);
    }
}


void
ngx_http_hotline_mailbox_broadcast(ngx_uint_t flag)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_mailbox_t  *mb;

    for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
         q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes);
         q = ngx_queue_next(q))
    {
        mb = ngx_queue_data(q, ngx_http_hotline_mailbox_t, link);

        if (!(mb->flags & flag)) {
            mb->flags |= flag;
            ngx_http_hotline_ring_later(mb->pid);
        }
    }
}


/*
 * Takes this worker's mailbox: up to max entries, and the flags.  An
 * entry may name an inbox that was freed or moved since: its gen tells.
 */

ngx_uint_t
ngx_http_hotline_mailbox_take(ngx_http_hotline_mail_t *mail, ngx_uint_t max,
    ngx_uint_t *flags)
{
    ngx_uint_t                   n;
    ngx_http_hotline_mailbox_t  *mb;

    mb = ngx_http_hotline_mine;

    if (mb == NULL) {
        *flags = 0;
        return 0;
    }

    n = ngx_min(mb->n, max);

    ngx_memcpy(mail, mb->ring, n * sizeof(ngx_http_hotline_mail_t));

    if (n < mb->n) {
        ngx_memmove(mb->ring, &mb->ring[n],
                    (mb->n - n) * sizeof(ngx_http_hotline_mail_t));
        ngx_http_hotline_ring_later(ngx_pid);
    }

    mb->n -= n;

    *flags = mb->flags;
    mb->flags = 0;

    return n;
}


void
ngx_http_hotline_mailbox_conns(ngx_uint_t role, ngx_int_t delta)
{
    if (ngx_http_hotline_mine && role < 3) {
        ngx_http_hotline_mine->conns[role] += delta;
    }
}


void
ngx_http_hotline_mailbox_totals(ngx_uint_t *conns)
{
    ngx_queue_t                 *q;
    ngx_http_hotline_mailbox_t  *mb;

    conns[0] = conns[1] = conns[2] = 0;

    for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
         q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes);
         q = ngx_queue_next(q))
    {
        mb = ngx_queue_data(q, ngx_http_hotline_mailbox_t, link);

        conns[1] += mb->conns[1];
        conns[2] += mb->conns[2];
    }
}


/* this worker's link to the store changed */

void
ngx_http_hotline_mailbox_store(ngx_uint_t state, ngx_msec_t retry,
    ngx_uint_t failures)
{
    ngx_http_hotline_worker_store_t  *ws;

    if (ngx_http_hotline_mine == NULL) {
        return;
    }

    ws = &ngx_http_hotline_mine->store;

    if (ws->state != state) {
        ws->since = ngx_current_msec;
    }

    ws->state = state;
    ws->retry = retry;
    ws->failures = failures;
}


ngx_uint_t
ngx_http_hotline_mailbox_count(void)
{
    ngx_uint_t    n;
    ngx_queue_t  *q;

    n = 0;

    for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
         q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes);
         q = ngx_queue_next(q))
    {
        n++;
    }

    return n;
}


/* every worker's link to the store, up to max of them */

ngx_uint_t
ngx_http_hotline_mailbox_stores(ngx_http_hotline_worker_store_t *ws,
    ngx_uint_t max)
{
    ngx_uint_t                   n;
    ngx_queue_t                 *q;
    ngx_http_hotline_mailbox_t  *mb;

    n = 0;

    for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
         q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes)
         && n < max;
         q = ngx_queue_next(q))
    {
        mb = ngx_queue_data(q, ngx_http_hotline_mailbox_t, link);
        ws[n++] = mb->store;
    }

    return n;
}


ngx_uint_t
ngx_http_hotline_mailbox_alive(ngx_pid_t pid)
{
    return ngx_http_hotline_mailbox(pid) != NULL;
}


/* the generation of a worker (0: no such worker) */

uint64_t
ngx_http_hotline_mailbox_generation(ngx_pid_t pid)
{
    ngx_http_hotline_mailbox_t  *mb;

    mb = ngx_http_hotline_mailbox(pid);

    return mb ? mb->generation : 0;
}


/*
 * Drops the mailboxes of workers that died without saying so (a crash):
 * returns 1 if one was dropped, so that the caller detaches the parties
 * that such a worker held.
 */

ngx_uint_t
ngx_http_hotline_mailbox_reap(void)
{
    ngx_uint_t                   reaped;
    ngx_queue_t                 *q, *next;
    ngx_http_hotline_mailbox_t  *mb;

    reaped = 0;

    for (q = ngx_queue_head(&ngx_http_hotline_zone->mailboxes);
         q != ngx_queue_sentinel(&ngx_http_hotline_zone->mailboxes);
         q = next)
    {
        next = ngx_queue_next(q);
        mb = ngx_queue_data(q, ngx_http_hotline_mailbox_t, link);

        if (mb->pid == ngx_pid) {
            continue;
        }

        if (kill(mb->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
            ngx_queue_remove(q);
            ngx_slab_free_locked(ngx_http_hotline_shpool, mb);
            reaped = 1;
        }
    }

    return reaped;
}
