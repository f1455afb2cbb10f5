/*
 * hotline-recorder: common definitions.
 */

#ifndef _REC_H_INCLUDED_
#define _REC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>


#define REC_OK          0
#define REC_ERROR      -1
#define REC_AGAIN      -2
#define REC_DECLINED   -5


#define REC_LOG_ERR     0
#define REC_LOG_WARN    1
#define REC_LOG_INFO    2
#define REC_LOG_DEBUG   3


#define REC_ROLE_CUSTOMER  0
#define REC_ROLE_AGENT     1


/* a call's id, as a token's claim and a directory's name */
#define REC_CALL_ID_MAX    64

static inline int
rec_call_id_valid(const char *s)
{
    size_t  n;

    n = s ? strlen(s) : 0;

    return n > 0 && n <= REC_CALL_ID_MAX
           && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}


#define REC_MAX_ICE_ADDRS  8
#define REC_MAX_ICE_SERVERS 8


typedef struct {
    char          *listen;
    char          *prefix;
    char          *recordings_dir;
    char          *secret_file;
    u_char         secret[4096];
    size_t         secret_len;
    char          *ice_addrs[REC_MAX_ICE_ADDRS];
    unsigned       n_ice_addrs;
    char          *ice_servers[REC_MAX_ICE_SERVERS];
    unsigned       n_ice_servers;
    char          *turn_secret_file;
    u_char         turn_secret[1024];
    size_t         turn_secret_len;
    unsigned       turn_ttl;         /* seconds */
    unsigned       max_sessions;
    unsigned       max_recordings;   /* per call and role */
    unsigned       max_conn_per_addr;
    unsigned       max_duration;     /* seconds */
    unsigned       idle_timeout;     /* seconds */
    uint64_t       min_free_disk;    /* bytes */
    uint64_t       video_bitrate;    /* bit/s announced in REMB, 0: off */
    char          *admin_token_file;
    u_char         admin_token[256];
    size_t         admin_token_len;
    char          *check_url;        /* hotline_recording_check */
    unsigned       check_timeout;    /* ms */
    char          *event_url;
    char          *event_secret_file;
    u_char         event_secret[1024];
    size_t         event_secret_len;
    unsigned       complete_after;   /* seconds */
    unsigned       retention_days;
    uint64_t       retention_max_bytes;
    unsigned       retention_interval;   /* seconds */
    int            merge;            /* merge each call into call.webm */
    unsigned       jobs;             /* running at once */
    unsigned       batch_ms;         /* wake-ups at most this often */
    int            job_nice;
    unsigned       port_min;
    unsigned       port_max;
} rec_conf_t;


extern rec_conf_t  rec_conf;
extern int         rec_log_level;


void rec_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *rec_role_name(int role);
int64_t rec_now_ms(void);
int rec_random_hex(char *buf, size_t bytes);


#endif /* _REC_H_INCLUDED_ */
