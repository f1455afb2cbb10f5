
/*
 * Copyright (C) hotline authors
 *
 * One relay run in several load generator processes, so that the
 * generator is never what limits the server: the processes set up their
 * share of the calls, wait for each other, start their measured window at
 * one common instant, and leave their results in shared memory for the
 * coordinating process (the one that forked them) to add up.
 */


#ifndef _HL_TEAM_H_INCLUDED_
#define _HL_TEAM_H_INCLUDED_


#include <stdint.h>
#include <sys/types.h>

#include "hl_result.h"


#define HL_TEAM_MAX  16


typedef struct {
    uint64_t      t0;              /* the common start, CLOCK_MONOTONIC */
    hl_result_t   res[HL_TEAM_MAX];
} hl_team_shared_t;


typedef struct {
    int                procs;
    int                ready[2];   /* each process writes one byte */
    int                go[2];      /* closed by the coordinator: start */
    pid_t              pid[HL_TEAM_MAX];
    hl_team_shared_t  *sh;
} hl_team_t;


/*
 * Forks procs processes.  Returns the index (0..procs-1) in each of them,
 * -1 in the coordinator, -2 on failure (nothing forked).
 */
int hl_team_fork(hl_team_t *t, int procs);

/* A process: it is set up; waits for the start and returns t0. */
uint64_t hl_team_ready(hl_team_t *t);

/*
 * The coordinator: waits (at most ms) until every process is ready, then
 * starts them all at now + 20 ms and returns that instant (0: a process
 * died or was not ready in time; the others are started anyway).
 */
uint64_t hl_team_go(hl_team_t *t, uint64_t ms);

/*
 * The coordinator: waits (at most ms, then kills) for every process and
 * adds up their results into sum; returns how many exited with status 0.
 */
int hl_team_wait(hl_team_t *t, uint64_t ms, hl_result_t *sum);


#endif /* _HL_TEAM_H_INCLUDED_ */
