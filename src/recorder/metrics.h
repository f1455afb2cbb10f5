/*
 * hotline-recorder: process wide counters, Prometheus text format.
 */

#ifndef _REC_METRICS_H_INCLUDED_
#define _REC_METRICS_H_INCLUDED_


#include "rec.h"


typedef struct {
    uint64_t   sessions_total;
    uint64_t   sessions_failed;
    uint64_t   bytes_written;
    uint64_t   rtp_packets;
    uint64_t   rtcp_packets;
    uint64_t   packets_lost;
    uint64_t   bad_packets;
    uint64_t   srtp_errors;
    uint64_t   keyframe_requests;
    uint64_t   nacks;
    uint64_t   dtls_failures;
    uint64_t   ice_failures;
    uint64_t   auth_failures;
    uint64_t   capacity_refusals;
    uint64_t   disk_refusals;
    uint64_t   bad_requests;
    uint64_t   http_refused;
    uint64_t   http_evicted;
    uint64_t   recordings_completed;
    uint64_t   recordings_recovered;
    uint64_t   calls_completed;
    uint64_t   merges;
    uint64_t   merge_failures;
    uint64_t   merge_cpu_ms;
    uint64_t   events_sent;
    uint64_t   event_failures;
    uint64_t   retention_age;
    uint64_t   retention_disk;
    uint64_t   retention_bytes;
    uint64_t   retention_empty;
    uint64_t   checks_ok;               /* the call check's answers */
    uint64_t   checks_unauthorized;
    uint64_t   checks_ended;
    uint64_t   checks_limit;
    uint64_t   checks_unavailable;
    uint64_t   checks_failed;
    uint64_t   check_ms;
    uint64_t   recordings_bytes;        /* gauge, from the last sweep */
} rec_metrics_t;


extern rec_metrics_t  rec_metrics;


/* malloc()ed text */
char *rec_metrics_text(unsigned active, uint64_t disk_free, size_t *len);


#endif /* _REC_METRICS_H_INCLUDED_ */
