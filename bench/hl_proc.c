
/*
 * Copyright (C) hotline authors
 */


#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl_proc.h"


typedef struct {
    unsigned long  inode;
    int            proc;
} hl_inode_t;


static int hl_cmp_pid(const void *a, const void *b);
static int hl_cmp_inode(const void *a, const void *b);
static int hl_cmp_key(const void *a, const void *b);


pid_t
hl_pid_from_file(const char *path)
{
    long   pid;
    FILE  *f;

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }

    if (fscanf(f, "%ld", &pid) != 1) {
        pid = -1;
    }

    fclose(f);

    return (pid_t) pid;
}


int
hl_procs_find(pid_t main, hl_procs_t *p)
{
    int             n;
    long            ppid;
    char            path[300], buf[512], *s;
    FILE           *f;
    DIR            *d;
    struct dirent  *de;

    p->n = 1;
    p->pid[0] = main;

    d = opendir("/proc");
    if (d == NULL) {
        return -1;
    }

    while ((de = readdir(d)) != NULL && p->n < HL_PROC_MAX) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);

        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }

        n = (int) fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);

        if (n <= 0) {
            continue;
        }

        buf[n] = '\0';

        /* "pid (comm) state ppid ...": comm may hold spaces */
        s = strrchr(buf, ')');
        if (s == NULL || sscanf(s + 1, " %*c %ld", &ppid) != 1) {
            continue;
        }

        if (ppid == main) {
            p->pid[p->n++] = (pid_t) atol(de->d_name);
        }
    }

    closedir(d);

    qsort(p->pid + 1, p->n - 1, sizeof(pid_t), hl_cmp_pid);

    return 0;
}


int
hl_procs_mem(const hl_procs_t *p, long *pss_sum, long *rss_sum,
    long *pss_each)
{
    int    i, rc;
    long   v, pss, rss;
    char   path[64], line[256];
    FILE  *f;

    *pss_sum = 0;
    *rss_sum = 0;
    rc = 0;

    for (i = 0; i < p->n; i++) {
        snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int) p->pid[i]);

        f = fopen(path, "r");
        if (f == NULL) {
            rc = -1;
            continue;
        }

        pss = 0;
        rss = 0;

        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "Pss: %ld kB", &v) == 1) {
                pss = v;

            } else if (sscanf(line, "Rss: %ld kB", &v) == 1) {
                rss = v;
            }
        }

        fclose(f);

        *pss_sum += pss;
        *rss_sum += rss;

        if (pss_each) {
            pss_each[i] = pss;
        }
    }

    return rc;
}


double
hl_proc_cpu(pid_t pid)
{
    int            n;
    char           path[64], buf[1024], *s;
    FILE          *f;
    unsigned long  ut, st;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    n = (int) fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);

    if (n <= 0) {
        return 0;
    }

    buf[n] = '\0';

    s = strrchr(buf, ')');
    if (s == NULL
        || sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
                  " %lu %lu", &ut, &st)
           != 2)
    {
        return 0;
    }

    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}


int
hl_sockmap_build(const hl_procs_t *p, unsigned port, hl_sockmap_t *m)
{
    int             i;
    char            path[300], link[64], line[256];
    FILE           *f;
    DIR            *d;
    size_t          ni, ci, nm, cm;
    unsigned        lport, rport, st;
    hl_inode_t     *in, *hit, k, *tmp;
    unsigned long   inode;
    struct dirent  *de;
    unsigned int    laddr, raddr;
    ssize_t         len;
    hl_sockmap_entry_t  *e, *tmpe;

    m->n = 0;
    m->e = NULL;

    ni = 0;
    ci = 1024;
    in = malloc(ci * sizeof(hl_inode_t));
    if (in == NULL) {
        return -1;
    }

    for (i = 1; i < p->n; i++) {
        snprintf(path, sizeof(path), "/proc/%d/fd", (int) p->pid[i]);

        d = opendir(path);
        if (d == NULL) {
            continue;
        }

        while ((de = readdir(d)) != NULL) {
            snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int) p->pid[i],
                     de->d_name);

            len = readlink(path, link, sizeof(link) - 1);
            if (len <= 0) {
                continue;
            }

            link[len] = '\0';

            if (sscanf(link, "socket:[%lu]", &inode) != 1) {
                continue;
            }

            if (ni == ci) {
                ci *= 2;
                tmp = realloc(in, ci * sizeof(hl_inode_t));
                if (tmp == NULL) {
                    closedir(d);
                    free(in);
                    return -1;
                }
                in = tmp;
            }

            in[ni].inode = inode;
            in[ni].proc = i;
            ni++;
        }

        closedir(d);
    }

    qsort(in, ni, sizeof(hl_inode_t), hl_cmp_inode);

    f = fopen("/proc/net/tcp", "r");
    if (f == NULL) {
        free(in);
        return -1;
    }

    nm = 0;
    cm = 1024;
    e = malloc(cm * sizeof(hl_sockmap_entry_t));
    if (e == NULL) {
        fclose(f);
        free(in);
        return -1;
    }

    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, " %*u: %8X:%4X %8X:%4X %2X %*x:%*x %*x:%*x %*x"
                   " %*u %*u %lu", &laddr, &lport, &raddr, &rport, &st,
                   &inode)
            != 6)
        {
            continue;
        }

        if (lport != port || st != 1) {
            continue;
        }

        k.inode = inode;
        hit = bsearch(&k, in, ni, sizeof(hl_inode_t), hl_cmp_inode);
        if (hit == NULL) {
            continue;
        }

        if (nm == cm) {
            cm *= 2;
            tmpe = realloc(e, cm * sizeof(hl_sockmap_entry_t));
            if (tmpe == NULL) {
                break;
            }
            e = tmpe;
        }

        e[nm].key = hl_proc_key(raddr, rport);
        e[nm].proc = hit->proc;
        nm++;
    }

    fclose(f);
    free(in);

    qsort(e, nm, sizeof(hl_sockmap_entry_t), hl_cmp_key);

    m->n = nm;
    m->e = e;

    return 0;
}


int
hl_sockmap_find(const hl_sockmap_t *m, uint32_t addr, unsigned port)
{
    hl_sockmap_entry_t   k, *hit;

    k.key = hl_proc_key(addr, port);

    hit = bsearch(&k, m->e, m->n, sizeof(hl_sockmap_entry_t), hl_cmp_key);

    return hit ? hit->proc : -1;
}


void
hl_sockmap_free(hl_sockmap_t *m)
{
    free(m->e);
    m->e = NULL;
    m->n = 0;
}


static int
hl_cmp_pid(const void *a, const void *b)
{
    return *(const pid_t *) a - *(const pid_t *) b;
}


static int
hl_cmp_inode(const void *a, const void *b)
{
    unsigned long  x, y;

    x = ((const hl_inode_t *) a)->inode;
    y = ((const hl_inode_t *) b)->inode;

    return (x > y) - (x < y);
}


static int
hl_cmp_key(const void *a, const void *b)
{
    uint64_t  x, y;

    x = ((const hl_sockmap_entry_t *) a)->key;
    y = ((const hl_sockmap_entry_t *) b)->key;

    return (x > y) - (x < y);
}
