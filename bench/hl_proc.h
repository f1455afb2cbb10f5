
/*
 * Copyright (C) hotline authors
 *
 * What the load generator reads about the server under test from /proc:
 * its processes (a master and its workers), their memory (Pss, Rss), their
 * CPU time, and which worker holds each accepted TCP connection.
 */


#ifndef _HL_PROC_H_INCLUDED_
#define _HL_PROC_H_INCLUDED_


#include <stdint.h>
#include <sys/types.h>


#define HL_PROC_MAX  16


typedef struct {
    int       n;                   /* pid[0] is the main process */
    pid_t     pid[HL_PROC_MAX];    /* then its children, by pid */
} hl_procs_t;


typedef struct {
    uint64_t  key;                 /* hl_proc_key() of the peer address */
    int       proc;                /* index in hl_procs_t */
} hl_sockmap_entry_t;


typedef struct {
    size_t               n;
    hl_sockmap_entry_t  *e;        /* sorted by key */
} hl_sockmap_t;


int hl_procs_find(pid_t main, hl_procs_t *p);
pid_t hl_pid_from_file(const char *path);

/* Pss and Rss in KiB of every process (each may be NULL), and their sums. */
int hl_procs_mem(const hl_procs_t *p, long *pss_sum, long *rss_sum,
    long *pss_each);

/* utime + stime of a process (all its threads), in seconds. */
double hl_proc_cpu(pid_t pid);

/* The connections established to the local TCP port, by the address of
 * their peer, with the process of p that holds them. */
int hl_sockmap_build(const hl_procs_t *p, unsigned port, hl_sockmap_t *m);
int hl_sockmap_find(const hl_sockmap_t *m, uint32_t addr, unsigned port);
void hl_sockmap_free(hl_sockmap_t *m);

/* addr as in struct in_addr (network order), port in host order. */
#define hl_proc_key(addr, port)  (((uint64_t) (addr) << 16) | (port))


#endif /* _HL_PROC_H_INCLUDED_ */
