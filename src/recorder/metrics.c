/*
 * hotline-recorder: Prometheus exposition of the counters.
 */

#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"


rec_metrics_t  rec_metrics;


#define rec_metric(name, type, help, value)                                   \
    n += snprintf(buf + n, size - n,                                          \
                  "# HELP hotline_recorder_" name " " help "\n"               \
                  "# TYPE hotline_recorder_" name " " type "\n"               \
                  "hotline_recorder_" name " %llu\n",                         \
                  (unsigned long long) (value));                              \
    if (n >= size) {                                                          \
        free(buf);                                                            \
        return NULL;                                                          \
    }


char *
rec_metrics_text(unsigned active, uint64_t disk_free, size_t *len)
{
    char    *buf;
    size_t   n, size;

    size = 16384;
    n = 0;

    buf = malloc(size);
    if (buf == NULL) {
        return NULL;
    }

    rec_metric("sessions", "gauge", "Open recording sessions.", active);
    rec_metric("sessions_total", "counter", "Sessions created.",
               rec_metrics.sessions_total);
    rec_metric("sessions_failed_total", "counter",
               "Sessions ended by an error.", rec_metrics.sessions_failed);
    rec_metric("recordings_completed_total", "counter",
               "Recordings finalized.", rec_metrics.recordings_completed);
    rec_metric("recordings_recovered_total", "counter",
               "Recordings of a killed recorder finalized at start.",
               rec_metrics.recordings_recovered);
    rec_metric("calls_completed_total", "counter",
               "Calls whose recording is complete.",
               rec_metrics.calls_completed);
    rec_metric("merges_total", "counter",
               "Calls merged into one file.", rec_metrics.merges);
    rec_metric("merge_failures_total", "counter",
               "Merge jobs that failed.", rec_metrics.merge_failures);
    rec_metric("merge_cpu_milliseconds_total", "counter",
               "CPU time of the merge jobs.", rec_metrics.merge_cpu_ms);
    rec_metric("events_sent_total", "counter",
               "Signed events delivered.", rec_metrics.events_sent);
    rec_metric("event_failures_total", "counter",
               "Event delivery attempts that failed.",
               rec_metrics.event_failures);
    rec_metric("retention_deleted_calls_age_total", "counter",
               "Calls deleted for their age (--retention-days).",
               rec_metrics.retention_age);
    rec_metric("retention_deleted_calls_disk_total", "counter",
               "Calls deleted for disk use (--retention-max-mb).",
               rec_metrics.retention_disk);
    rec_metric("retention_deleted_bytes_total", "counter",
               "Bytes of the calls deleted by retention.",
               rec_metrics.retention_bytes);
    rec_metric("retention_empty_files_deleted_total", "counter",
               "Empty (0-byte) recordings deleted.",
               rec_metrics.retention_empty);
    rec_metric("recordings_bytes", "gauge",
               "Bytes in the recordings directory at the last sweep.",
               rec_metrics.recordings_bytes);
    rec_metric("bytes_written_total", "counter",
               "Media bytes written to WebM files.",
               rec_metrics.bytes_written);
    rec_metric("rtp_packets_total", "counter", "RTP packets received.",
               rec_metrics.rtp_packets);
    rec_metric("rtcp_packets_total", "counter", "RTCP packets received.",
               rec_metrics.rtcp_packets);
    rec_metric("packets_lost_total", "counter",
               "RTP packets never received.", rec_metrics.packets_lost);
    rec_metric("bad_packets_total", "counter",
               "Malformed RTP/RTCP packets or payloads.",
               rec_metrics.bad_packets);
    rec_metric("srtp_errors_total", "counter",
               "Packets failing SRTP authentication.",
               rec_metrics.srtp_errors);
    rec_metric("keyframe_requests_total", "counter", "PLIs sent.",
               rec_metrics.keyframe_requests);
    rec_metric("nacks_total", "counter", "Generic NACKs sent.",
               rec_metrics.nacks);
    rec_metric("dtls_failures_total", "counter",
               "DTLS handshakes failed or fingerprints mismatched.",
               rec_metrics.dtls_failures);
    rec_metric("ice_failures_total", "counter", "ICE failures.",
               rec_metrics.ice_failures);
    rec_metric("auth_failures_total", "counter",
               "Requests refused for a missing or bad token.",
               rec_metrics.auth_failures);
    rec_metric("capacity_refusals_total", "counter",
               "Sessions refused at capacity.",
               rec_metrics.capacity_refusals);
    rec_metric("disk_refusals_total", "counter",
               "Sessions refused for low disk space.",
               rec_metrics.disk_refusals);
    rec_metric("bad_requests_total", "counter",
               "Malformed HTTP requests or SDP offers.",
               rec_metrics.bad_requests);
    rec_metric("http_connections_refused_total", "counter",
               "Connections closed at once: too many from one address.",
               rec_metrics.http_refused);
    rec_metric("http_connections_evicted_total", "counter",
               "Idle connections closed to make room for new ones.",
               rec_metrics.http_evicted);
    n += snprintf(buf + n, size - n,
                  "# HELP hotline_recorder_call_checks_total Answers of the "
                  "call check (--check-url) to new recordings.\n"
                  "# TYPE hotline_recorder_call_checks_total counter\n"
                  "hotline_recorder_call_checks_total{result=\"ok\"} %llu\n"
                  "hotline_recorder_call_checks_total{result="
                  "\"unauthorized\"} %llu\n"
                  "hotline_recorder_call_checks_total{result="
                  "\"call_ended\"} %llu\n"
                  "hotline_recorder_call_checks_total{result="
                  "\"recording_limit\"} %llu\n"
                  "hotline_recorder_call_checks_total{result="
                  "\"unavailable\"} %llu\n"
                  "hotline_recorder_call_checks_total{result="
                  "\"failed\"} %llu\n",
                  (unsigned long long) rec_metrics.checks_ok,
                  (unsigned long long) rec_metrics.checks_unauthorized,
                  (unsigned long long) rec_metrics.checks_ended,
                  (unsigned long long) rec_metrics.checks_limit,
                  (unsigned long long) rec_metrics.checks_unavailable,
                  (unsigned long long) rec_metrics.checks_failed);
    if (n >= size) {
        free(buf);
        return NULL;
    }

    rec_metric("call_check_milliseconds_total", "counter",
               "Time spent waiting for the call check.",
               rec_metrics.check_ms);
    rec_metric("disk_free_bytes", "gauge",
               "Free space in the recordings directory.", disk_free);

    *len = n;

    return buf;
}
