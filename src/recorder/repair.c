/*
 * hotline-recorder: finalizing a file a killed recorder left behind (run
 * as a job, see jobs.c): its frames, up to the last complete one on
 * disk, are written again into a new file that gets its duration and
 * cues; the job prints what it found as one JSON line.
 *
 *   hotline-recorder --job repair SRC DST
 */

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "jobs.h"
#include "mux.h"
#include "rtp.h"


#define REC_REPAIR_VIDEO_NS  33000000      /* as the live muxer counts */


static int
rec_repair(const char *src, const char *dst, json_t *out, const char **err)
{
    int                 rc, k;
    int64_t             first[2], end[2], d, duration;
    uint64_t            track[2], frames[2], size;
    json_t             *tracks, *t;
    rec_webm_t         *w;
    rec_webm_info_t     info;
    rec_webm_frame_t    f;
    rec_webm_reader_t  *r;

    r = rec_webm_read_open(src, &info);
    if (r == NULL) {
        *err = "not a WebM file";
        return REC_ERROR;
    }

    w = rec_webm_open(dst);
    if (w == NULL) {
        rec_webm_read_close(r);
        *err = "cannot create the new file";
        return REC_ERROR;
    }

    track[0] = info.has_audio ? rec_webm_add_opus(w, info.channels
                                                     ? info.channels : 1,
                                                  REC_OPUS_PRE_SKIP)
                              : 0;
    track[1] = info.has_video ? rec_webm_add_vp8(w, info.width, info.height)
                              : 0;
    frames[0] = frames[1] = 0;
    first[0] = first[1] = -1;
    end[0] = end[1] = 0;

    while ((rc = rec_webm_read_next(r, &f)) == 1) {
        k = f.video;

        if (track[k] == 0
            || rec_webm_write(w, track[k], f.data, f.len, f.ts_ns, f.key)
               != 0)
        {
            rc = -1;
            break;
        }

        d = k ? REC_REPAIR_VIDEO_NS
              : (int64_t) rec_opus_samples(f.data, f.len) * 1000000000LL
                / 48000;

        if (first[k] < 0) {
            first[k] = (int64_t) f.ts_ns;
        }

        end[k] = (int64_t) f.ts_ns + d;
        frames[k]++;
    }

    rec_webm_read_close(r);

    duration = end[0] > end[1] ? end[0] : end[1];

    if (duration > 0) {
        rec_webm_set_duration(w, (uint64_t) duration);
    }

    if (rec_webm_close(w, &size) != 0 || rc < 0) {
        *err = rc < 0 ? "cannot copy the frames" : "cannot finalize";
        return REC_ERROR;
    }

    tracks = json_object();

    for (k = 0; k < 2; k++) {
        if (track[k] == 0) {
            continue;
        }

        t = json_pack("{s:I,s:I,s:I}", "frames", (json_int_t) frames[k],
                      "first_ms", (json_int_t) (first[k] < 0 ? 0
                                                : first[k] / 1000000),
                      "end_ms", (json_int_t) (first[k] < 0 ? 0
                                              : end[k] / 1000000));
        json_object_set_new(tracks, k ? "video" : "audio", t);
    }

    json_object_set_new(out, "tracks", tracks);
    json_object_set_new(out, "duration_ms",
                        json_integer((json_int_t) (duration / 1000000)));
    json_object_set_new(out, "size", json_integer((json_int_t) size));

    return REC_OK;
}


int
rec_repair_main(int argc, char **argv)
{
    int          rc;
    json_t      *out;
    const char  *err;

    if (argc != 2) {
        fprintf(stderr, "usage: hotline-recorder --job repair SRC DST\n");
        return 2;
    }

    out = json_object();
    err = NULL;

    rc = rec_repair(argv[0], argv[1], out, &err);

    if (rc != REC_OK) {
        json_object_clear(out);
        json_object_set_new(out, "error", json_string(err));
        (void) remove(argv[1]);
    }

    json_dumpf(out, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(out);

    return rc == REC_OK ? 0 : 1;
}
