/*
 * hotline-recorder: logging to stderr, one line per event.
 */

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <sys/time.h>

#include "rec.h"


int  rec_log_level = REC_LOG_INFO;


static const char  *rec_log_levels[] = { "error", "warn", "info", "debug" };


void
rec_log(int level, const char *fmt, ...)
{
    va_list         ap;
    struct tm       tm;
    struct timeval  tv;
    char            line[1024];
    char            ts[32];

    if (level > rec_log_level) {
        return;
    }

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    fprintf(stderr, "%s.%03dZ [%s] %s\n", ts, (int) (tv.tv_usec / 1000),
            rec_log_levels[level], line);
}
