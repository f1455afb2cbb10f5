
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_hotline.h"
#include "ngx_http_hotline_store.h"
#include "ngx_http_hotline_zone.h"
#include "ngx_http_hotline_store_shm_objs.h"
#include "ngx_http_hotline_store_shm_handoff.h"
#include "ngx_http_hotline_store_shm_handoff_body.h"
#include "ngx_http_hotline_doorbell.h"
#include "ngx_http_hotline_alloc.h"


/*
 * The calls of the embedded store outlive its zone (hotline_handoff_file):
 * the last worker of a zone to exit writes the store's objects to the
 * handoff file, and the first worker of a new zone reads them back.
 *
 *   a restart (quit or stop, then start): the new zone takes what the old
 *   one held when its last worker exited, if that is not older than
 *   hotline_resume_timeout (the parties' grace periods go on);
 *
 *   a binary upgrade (USR2, WINCH, QUIT): while the old master lives (its
 *   pid file renamed to .oldbin) the new generation's store is pending:
 *   it does not serve signaling (503, the old workers do), and it takes
 *   the old zone's calls as soon as the last old worker has written them
 *   (after WINCH); its clients, closed with 1001, resume on it.
 *
 *   a reload that changes hotline_zone's size (nginx makes a new zone):
 *   the new zone is pending in the same way until the last worker of the
 *   old one has written its calls as it exits, the old workers are all
 *   gone, or hotline_resume_timeout has passed; the old workers close
 *   their clients with 1001 as they shut down.
 *
 * A reload at the same size keeps its zone: its old workers find workers
 * of the new generation registered, and write nothing.
 *
 * The file: a header (magic, when written, the next ticket and
 * generation, the number of objects and the body's length), the objects,
 * and the CRC32 of the body.  In the host's byte order: it is read back
 * by the same build on the same machine; anything else is refused.
 */


#define NGX_HOTLINE_HANDOFF_CHECK    100    /* ms, while pending */


static ngx_int_t ngx_http_hotline_handoff_read(ngx_log_t *log,
    ngx_msec_t max_age, ngx_uint_t newer);
static ngx_uint_t ngx_http_hotline_handoff_old_master(ngx_cycle_t *cycle);
static ngx_uint_t ngx_http_hotline_handoff_oldbin(ngx_cycle_t *cycle,
    ngx_pid_t pid);
static void ngx_http_hotline_handoff_old_workers(void);
static ngx_uint_t ngx_http_hotline_handoff_old_alive(void);
static ngx_uint_t ngx_http_hotline_handoff_runs(ngx_pid_t pid);
static void ngx_http_hotline_handoff_check(ngx_event_t *ev);
static int64_t ngx_http_hotline_handoff_now(void);


static ngx_fd_t     ngx_http_hotline_handoff_fd = NGX_INVALID_FILE;
static ngx_pid_t    ngx_http_hotline_handoff_parent;
static ngx_msec_t   ngx_http_hotline_handoff_age;
static ngx_event_t  ngx_http_hotline_handoff_ev;

/* a reload onto a new zone: the processes of the generations before it */
static ngx_pid_t    ngx_http_hotline_handoff_old[NGX_MAX_PROCESSES];
static ngx_uint_t   ngx_http_hotline_handoff_nold;


/*
 * The default: beside the pid file, named after it (/run/nginx.pid ->
 * /run/nginx.hotline_handoff.state).  Two nginx instances on one host
 * never share a pid file, so they never take over each other's calls; a
 * binary upgrade keeps the path.  A "pid" directive after the http block
 * is not seen yet: the compiled-in path is taken then.
 */

ngx_int_t
ngx_http_hotline_handoff_default(ngx_conf_t *cf, ngx_str_t *name)
{
    u_char           *p;
    size_t            len;
    ngx_str_t         pid;
    ngx_core_conf_t  *ccf;

    static const char  suffix[] = ".hotline_handoff.state";

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    if (ccf->pid.len) {
        pid = ccf->pid;

    } else {
        ngx_str_set(&pid, NGX_PID_PATH);
    }

    len = pid.len;

    if (len > 4 && ngx_strncmp(pid.data + len - 4, ".pid", 4) == 0) {
        len -= 4;
    }

    name->len = len + sizeof(suffix) - 1;
    name->data = ngx_pnalloc(cf->pool, name->len + 1);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(name->data, pid.data, len);
    ngx_memcpy(p, suffix, sizeof(suffix));

    return NGX_OK;
}


/*
 * At configuration time, in the master: the file, opened for the workers
 * (they may not be allowed to open it themselves).
 */

ngx_int_t
ngx_http_hotline_handoff_open(ngx_conf_t *cf, ngx_str_t *name, ngx_fd_t *fd)
{
    ngx_str_t                  path;
    ngx_pool_cleanup_t        *cln;
    ngx_pool_cleanup_file_t   *clnf;

    *fd = NGX_INVALID_FILE;

    if (ngx_test_config || ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_OK;
    }

    /*
     * the first configuration of a master that inherited its sockets: a
     * binary upgrade, the old master its parent (its workers learn it by
     * fork())
     */

    ngx_http_hotline_handoff_parent =
        (ngx_inherited && ngx_is_init_cycle(cf->cycle->old_cycle))
        ? getppid() : 0;

    path = *name;

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->cycle->pool,
                               sizeof(ngx_pool_cleanup_file_t));
    if (cln == NULL) {
        return NGX_ERROR;
    }

    /* it holds customers' names: the owner's only */

    *fd = ngx_open_file(path.data, NGX_FILE_RDWR, NGX_FILE_CREATE_OR_OPEN,
                        0600);
    if (*fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &path);
        return NGX_ERROR;
    }

    clnf = cln->data;
    clnf->fd = *fd;
    clnf->name = path.data;
    clnf->log = &cf->cycle->new_log;
    cln->handler = ngx_pool_cleanup_file;

    return NGX_OK;
}


/*
 * After the configuration, in the master (the workers may not read the
 * pid file's directory): the parent is an old master that hands its
 * calls over, or nginx just found NGINX in its environment.
 */

void
ngx_http_hotline_handoff_upgrade(ngx_cycle_t *cycle)
{
    if (ngx_http_hotline_handoff_parent == 0
        || ngx_http_hotline_handoff_oldbin(cycle,
                                           ngx_http_hotline_handoff_parent))
    {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "hotline: NGINX is in nginx's environment, but no old "
                  "master's pid file (.oldbin) names the parent: not a "
                  "binary upgrade");

    ngx_http_hotline_handoff_parent = 0;
}


/*
 * A worker starts, with the zone locked; made: it made the store in a new
 * zone.  The calls of the zone before it come now, or (a binary upgrade)
 * once the old generation has written them.
 */

void
ngx_http_hotline_handoff_start(ngx_cycle_t *cycle, ngx_fd_t fd,
    ngx_msec_t max_age, ngx_uint_t made)
{
    ngx_http_hotline_handoff_fd = fd;
    ngx_http_hotline_handoff_age = max_age;

    if (fd == NGX_INVALID_FILE) {
        return;
    }

    if (ngx_http_hotline_zone->replaces) {
        ngx_http_hotline_handoff_old_workers();
    }

    if (made) {
        if (ngx_http_hotline_handoff_old_master(cycle)) {
            ngx_http_hotline_shm->pending = 1;
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "hotline: a binary upgrade: signaling waits for "
                          "the calls of the old workers");

        } else if (ngx_http_hotline_zone->replaces) {
            ngx_http_hotline_shm->pending = 1;
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "hotline: a reload onto a zone of another size: "
                          "signaling waits for the calls of the old "
                          "workers");

        } else if (!ngx_http_hotline_zone->reloaded) {
            /*
             * a start; a reload that adds the zone starts it empty: the
             * file is an older run's
             */
            (void) ngx_http_hotline_handoff_read(cycle->log, max_age, 0);
        }
    }

    if (ngx_http_hotline_shm->pending) {
        ngx_http_hotline_timer_init(&ngx_http_hotline_handoff_ev,
                                    ngx_http_hotline_handoff_check, cycle);
        ngx_add_timer(&ngx_http_hotline_handoff_ev,
                      NGX_HOTLINE_HANDOFF_CHECK);
    }
}


/* while pending: the old generation's calls, or its end without them */

static void
ngx_http_hotline_handoff_check(ngx_event_t *ev)
{
    ngx_cycle_t  *cycle;

    cycle = ev->data;

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    if (ngx_http_hotline_shm->pending) {

        if (ngx_http_hotline_handoff_read(ev->log,
                                          ngx_http_hotline_handoff_age, 1)
            != NGX_DECLINED)
        {
            /* taken, or as much of it as could be */
            ngx_http_hotline_shm->pending = 0;

        } else if (ngx_http_hotline_handoff_parent) {

            if (!ngx_http_hotline_handoff_old_master(cycle)) {
                ngx_http_hotline_shm->pending = 0;
                ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                              "hotline: the old master is gone without "
                              "handing its calls over");
            }

        } else if (!ngx_http_hotline_handoff_old_alive()) {
            ngx_http_hotline_shm->pending = 0;
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "hotline: the old workers are gone without "
                          "handing their calls over");

        } else if (ngx_http_hotline_handoff_now() - ngx_http_hotline_zone->made
                   > (int64_t) ngx_http_hotline_handoff_age)
        {
            /* by now the parties they had are past their grace period */
            ngx_http_hotline_shm->pending = 0;
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "hotline: the old workers have not handed their "
                          "calls over within hotline_resume_timeout: "
                          "signaling goes on without them");
        }
    }

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    if (ngx_http_hotline_shm->pending && !ngx_exiting) {
        ngx_add_timer(ev, NGX_HOTLINE_HANDOFF_CHECK);
    }
}


/*
 * A worker exits (its mailbox gone): the last of its zone writes the
 * store down.  A reload's old workers find the new ones and write nothing.
 */

void
ngx_http_hotline_handoff_exit(ngx_cycle_t *cycle)
{
    u_char                           *buf, *p;
    size_t                            size;
    ssize_t                           n;
    ngx_http_hotline_shm_t           *shm;
    ngx_http_hotline_handoff_head_t   h;

    if (ngx_http_hotline_handoff_ev.timer_set) {
        ngx_del_timer(&ngx_http_hotline_handoff_ev);
    }

    if (ngx_http_hotline_handoff_fd == NGX_INVALID_FILE) {
        return;
    }

    ngx_shmtx_lock(&ngx_http_hotline_shpool->mutex);

    shm = ngx_http_hotline_shm;

    if (ngx_http_hotline_mailbox_count() != 0 || shm == NULL || shm->pending) {
        ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
        return;
    }

    size = ngx_http_hotline_handoff_body_size();

    buf = ngx_alloc(sizeof(h) + size + sizeof(uint32_t), cycle->log);
    if (buf == NULL) {
        ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);
        return;
    }

    ngx_memcpy(h.magic, NGX_HOTLINE_HANDOFF_MAGIC, sizeof(h.magic));
    h.written = (uint64_t) ngx_http_hotline_handoff_now();
    h.next_ticket = shm->next_ticket;
    h.next_gen = shm->next_gen;

    p = ngx_http_hotline_handoff_body_write(buf + sizeof(h), &h.objects);

    ngx_shmtx_unlock(&ngx_http_hotline_shpool->mutex);

    h.bytes = p - (buf + sizeof(h));
    *(uint32_t *) p = ngx_crc32_long(buf + sizeof(h), h.bytes);
    p += sizeof(uint32_t);
    ngx_memcpy(buf, &h, sizeof(h));

    n = 0;

    if (ftruncate(ngx_http_hotline_handoff_fd, 0) == -1
        || (n = pwrite(ngx_http_hotline_handoff_fd, buf, p - buf, 0))
           != p - buf
        || fsync(ngx_http_hotline_handoff_fd) == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      "hotline: writing the calls for the next start "
                      "failed (%z of %uz bytes)", n, (size_t) (p - buf));

    } else {
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "hotline: %uL objects of the calls written for the "
                      "next start", h.objects);
    }

    ngx_free(buf);
}


/*
 * With the zone locked: the file's calls into the new zone, if it holds
 * some not older than max_age (newer: written since this zone was made),
 * and then the file is emptied.  NGX_DECLINED: nothing to take.
 */

static ngx_int_t
ngx_http_hotline_handoff_read(ngx_log_t *log, ngx_msec_t max_age,
    ngx_uint_t newer)
{
    u_char                           *buf;
    ssize_t                           n;
    ngx_int_t                         rc;
    int64_t                           age, took;
    struct timeval                    tv;
    ngx_file_info_t                   fi;
    ngx_http_hotline_handoff_head_t   h;

    if (ngx_fd_info(ngx_http_hotline_handoff_fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) < (off_t) (sizeof(h) + sizeof(uint32_t)))
    {
        return NGX_DECLINED;
    }

    n = pread(ngx_http_hotline_handoff_fd, &h, sizeof(h), 0);

    if (newer
        && (n != sizeof(h)
            || (int64_t) h.written < ngx_http_hotline_zone->made))
    {
        /* the old generation has not written yet, or is writing now */
        return NGX_DECLINED;
    }

    if (n != sizeof(h)
        || ngx_memcmp(h.magic, NGX_HOTLINE_HANDOFF_MAGIC, sizeof(h.magic))
           != 0)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hotline: the handoff file holds no calls that this "
                      "build can read: ignored");
        (void) ftruncate(ngx_http_hotline_handoff_fd, 0);
        return NGX_DECLINED;
    }

    if (h.bytes > (uint64_t) ngx_file_size(&fi) - sizeof(h)
                  - sizeof(uint32_t))
    {
        if (newer) {
            /* being written: the next check reads it */
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hotline: the handoff file is incomplete: ignored");
        (void) ftruncate(ngx_http_hotline_handoff_fd, 0);
        return NGX_DECLINED;
    }

    age = ngx_http_hotline_handoff_now() - (int64_t) h.written;

    if (age > (int64_t) max_age || age < -1000) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "hotline: the calls of the last run are %L ms old, "
                      "older than hotline_resume_timeout: not taken", age);
        (void) ftruncate(ngx_http_hotline_handoff_fd, 0);
        return NGX_DECLINED;
    }

    buf = ngx_alloc(h.bytes + sizeof(uint32_t), log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    n = pread(ngx_http_hotline_handoff_fd, buf, h.bytes + sizeof(uint32_t),
              sizeof(h));

    if (n != (ssize_t) (h.bytes + sizeof(uint32_t))
        || ngx_crc32_long(buf, h.bytes) != *(uint32_t *) (buf + h.bytes))
    {
        ngx_free(buf);

        if (newer) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "hotline: the handoff file is incomplete: ignored");
        (void) ftruncate(ngx_http_hotline_handoff_fd, 0);
        return NGX_DECLINED;
    }

    /* how long the zone stays locked for it: the clock, not the cache */
    ngx_gettimeofday(&tv);
    took = (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;

    rc = ngx_http_hotline_handoff_body_read(buf, buf + h.bytes, &h, log);

    ngx_gettimeofday(&tv);
    took = (int64_t) tv.tv_sec * 1000000 + tv.tv_usec - took;

    ngx_free(buf);

    (void) ftruncate(ngx_http_hotline_handoff_fd, 0);

    if (rc == NGX_OK) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "hotline: %uL objects of the calls taken over, "
                      "written %L ms ago, read in %L us",
                      h.objects, age, took);
    }

    return rc;
}


/*
 * A binary upgrade under way: the master that exec()ed this one (it
 * inherited its sockets, in its first configuration) still runs.
 */

static ngx_uint_t
ngx_http_hotline_handoff_old_master(ngx_cycle_t *cycle)
{
    ngx_pid_t  pid;

    pid = ngx_http_hotline_handoff_parent;

    return pid > 1 && ngx_http_hotline_handoff_runs(pid);
}


/*
 * nginx takes its sockets from NGINX in its environment as a binary
 * upgrade's; it is one when the old master, which renamed its pid file to
 * .oldbin before it exec()ed this master, is the parent that file names.
 * NGINX may also just be there (a script's variable, a container's): then
 * no old generation will hand its calls over, and the parent (a shell, a
 * supervisor) may live as long as nginx does.
 */

static ngx_uint_t
ngx_http_hotline_handoff_oldbin(ngx_cycle_t *cycle, ngx_pid_t pid)
{
    u_char            buf[NGX_INT64_LEN + 2];
    ssize_t           n;
    ngx_fd_t          fd;
    ngx_core_conf_t  *ccf;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ccf->oldpid.data == NULL) {
        return 0;
    }

    fd = ngx_open_file(ccf->oldpid.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return 0;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));

    (void) ngx_close_file(fd);

    while (n > 0 && (buf[n - 1] == LF || buf[n - 1] == CR)) {
        n--;
    }

    return n > 0 && ngx_atoi(buf, n) == (ngx_int_t) pid;
}


/*
 * A worker of a reload's new zone: the master forked it before it told
 * the old generation to shut down, so the master's table of processes,
 * as fork() copied it, still lists them: every process but the ones this
 * reload started (just_spawn), this one among them.
 */

static void
ngx_http_hotline_handoff_old_workers(void)
{
    ngx_int_t  i;

    ngx_http_hotline_handoff_nold = 0;

    for (i = 0; i < ngx_last_process; i++) {

        if (i == ngx_process_slot
            || ngx_processes[i].pid == -1
            || ngx_processes[i].pid == ngx_pid
            || ngx_processes[i].just_spawn
            || ngx_processes[i].exited)
        {
            continue;
        }

        ngx_http_hotline_handoff_old[ngx_http_hotline_handoff_nold++] =
                                                      ngx_processes[i].pid;
    }
}


/* one of them still runs (or is not reaped yet) */

static ngx_uint_t
ngx_http_hotline_handoff_old_alive(void)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_hotline_handoff_nold; /* void */ ) {

        if (ngx_http_hotline_handoff_runs(ngx_http_hotline_handoff_old[i])) {
            return 1;
        }

        ngx_http_hotline_handoff_old[i] =
            ngx_http_hotline_handoff_old[--ngx_http_hotline_handoff_nold];
    }

    return 0;
}


/* a process of that pid runs, or is not reaped yet */

static ngx_uint_t
ngx_http_hotline_handoff_runs(ngx_pid_t pid)
{
    return kill(pid, 0) == 0 || ngx_errno == NGX_EPERM;
}


static int64_t
ngx_http_hotline_handoff_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}
