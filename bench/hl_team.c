
/*
 * Copyright (C) hotline authors
 */


#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hl_team.h"


static uint64_t
hl_team_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}


int
hl_team_fork(hl_team_t *t, int procs)
{
    int    i;
    pid_t  pid;

    memset(t, 0, sizeof(hl_team_t));

    if (procs < 1 || procs > HL_TEAM_MAX) {
        return -2;
    }

    t->sh = mmap(NULL, sizeof(hl_team_shared_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (t->sh == MAP_FAILED) {
        return -2;
    }

    if (pipe(t->ready) != 0 || pipe(t->go) != 0) {
        return -2;
    }

    /* what is buffered now must not be printed once per process */
    fflush(stdout);
    fflush(stderr);

    for (i = 0; i < procs; i++) {
        pid = fork();

        if (pid == -1) {
            perror("hl_load: fork");
            break;
        }

        if (pid == 0) {
            close(t->ready[0]);
            close(t->go[1]);
            t->procs = procs;
            return i;
        }

        t->pid[i] = pid;
    }

    t->procs = i;

    close(t->ready[1]);
    close(t->go[0]);

    return i ? -1 : -2;
}


uint64_t
hl_team_ready(hl_team_t *t)
{
    char     c;
    ssize_t  n;

    c = 'r';

    if (write(t->ready[1], &c, 1) != 1) {
        return 0;
    }

    close(t->ready[1]);

    /* the coordinator closes its end: read returns 0 */
    do {
        n = read(t->go[0], &c, 1);
    } while (n == -1 && errno == EINTR);

    close(t->go[0]);

    return t->sh->t0;
}


uint64_t
hl_team_go(hl_team_t *t, uint64_t ms)
{
    int            ready, rc;
    char           buf[HL_TEAM_MAX];
    ssize_t        n;
    uint64_t       deadline, now;
    struct pollfd  pfd;

    deadline = hl_team_now() + ms * 1000000;
    ready = 0;

    while (ready < t->procs) {
        now = hl_team_now();
        if (now >= deadline) {
            break;
        }

        pfd.fd = t->ready[0];
        pfd.events = POLLIN;

        rc = poll(&pfd, 1, (int) ((deadline - now) / 1000000 + 1));
        if (rc < 0 && errno != EINTR) {
            break;
        }

        if (rc <= 0) {
            continue;
        }

        n = read(t->ready[0], buf, sizeof(buf));
        if (n <= 0) {
            /* every process has closed its end: some died */
            break;
        }

        ready += (int) n;
    }

    t->sh->t0 = hl_team_now() + 20000000;
    __sync_synchronize();

    close(t->go[1]);

    return ready == t->procs ? t->sh->t0 : 0;
}


int
hl_team_wait(hl_team_t *t, uint64_t ms, hl_result_t *sum)
{
    int       i, ok, status, left;
    pid_t     pid;
    uint64_t  deadline;

    deadline = hl_team_now() + ms * 1000000;
    left = t->procs;
    ok = 0;

    while (left > 0) {
        pid = waitpid(-1, &status, WNOHANG);

        if (pid > 0) {
            for (i = 0; i < t->procs; i++) {
                if (t->pid[i] == pid) {
                    t->pid[i] = 0;
                    left--;
                    ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
                }
            }
            continue;
        }

        if (pid == -1 && errno != EINTR) {
            break;
        }

        if (hl_team_now() >= deadline) {
            for (i = 0; i < t->procs; i++) {
                if (t->pid[i]) {
                    fprintf(stderr, "hl_load: process %d did not finish in"
                            " time\n", (int) t->pid[i]);
                    kill(t->pid[i], SIGKILL);
                    waitpid(t->pid[i], &status, 0);
                    t->pid[i] = 0;
                }
            }
            break;
        }

        usleep(10000);
    }

    close(t->ready[0]);

    memset(sum, 0, sizeof(hl_result_t));

    for (i = 0; i < t->procs; i++) {
        hl_result_merge(sum, &t->sh->res[i]);
    }

    return ok;
}
